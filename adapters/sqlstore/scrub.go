package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"entraide/bots"
	"entraide/core"
)

var _ bots.DeliveryScrubber = (*Store)(nil)

// snippetRunes is how much of a text is looked for in stored messages:
// enough to be specific, short enough to match a shortened quote.
const snippetRunes = 24

// ScrubDelivery implements bots.DeliveryScrubber. Candidates are found with
// LIKE on the JSON payloads, then decoded and checked, so a look-alike
// elsewhere is not touched.
func (s *Store) ScrubDelivery(ctx context.Context, accounts []core.Identity, names, texts []string) error {
	err := s.InTx(ctx, func(tx core.Store) error {
		t := tx.(*Store)
		var prefixes []string
		for _, a := range accounts {
			var rows []struct {
				ID      int64  `db:"id"`
				EventID string `db:"event_id"`
				Payload string `db:"payload"`
			}
			if err := t.selectAll(ctx, &rows, `SELECT id, event_id, payload FROM inbox WHERE platform = ? AND payload LIKE ? ESCAPE '\'`,
				string(a.Platform), likeJSON(a.User)); err != nil {
				return fmt.Errorf("inbox: %w", err)
			}
			for _, r := range rows {
				var ev bots.Event
				if json.Unmarshal([]byte(r.Payload), &ev) != nil || ev.Sender != a {
					continue
				}
				// Platform and id stay, to recognise a late duplicate.
				kept, _ := json.Marshal(bots.Event{ID: ev.ID, Platform: ev.Platform})
				if _, err := t.exec(ctx, "UPDATE inbox SET payload = ? WHERE id = ?", string(kept), r.ID); err != nil {
					return fmt.Errorf("inbox: %w", err)
				}
				prefixes = append(prefixes, string(a.Platform)+":"+r.EventID+"/")
			}
		}
		var patterns []string
		for _, a := range accounts {
			patterns = append(patterns, likeJSON(a.User))
		}
		var snippets []string
		for _, text := range texts {
			if r := []rune(strings.TrimSpace(text)); len(r) >= 8 {
				snippet := string(r[:min(len(r), snippetRunes)])
				snippets = append(snippets, snippet)
				patterns = append(patterns, likeJSON(snippet))
			}
		}
		var nameSnippets []string
		for _, n := range names {
			if n = strings.TrimSpace(n); len([]rune(n)) >= 3 {
				nameSnippets = append(nameSnippets, n)
			}
		}
		seen := map[int64]bool{}
		scrub := func(id int64, state string) error {
			if seen[id] {
				return nil
			}
			seen[id] = true
			query := "UPDATE outbox SET payload = '{}' WHERE id = ?"
			if state == "pending" {
				query = "DELETE FROM outbox WHERE id = ?"
			}
			_, err := t.exec(ctx, query, id)
			return err
		}
		type outRow struct {
			ID      int64  `db:"id"`
			State   string `db:"state"`
			Payload string `db:"payload"`
		}
		for _, p := range prefixes {
			var rows []outRow
			if err := t.selectAll(ctx, &rows, `SELECT id, state, payload FROM outbox WHERE key LIKE ? ESCAPE '\'`, likePrefix(p)); err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
			for _, r := range rows {
				if err := scrub(r.ID, r.State); err != nil {
					return fmt.Errorf("outbox: %w", err)
				}
			}
		}
		for _, p := range patterns {
			var rows []outRow
			if err := t.selectAll(ctx, &rows, `SELECT id, state, payload FROM outbox WHERE payload LIKE ? ESCAPE '\'`, p); err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
			for _, r := range rows {
				var o bots.Outgoing
				if json.Unmarshal([]byte(r.Payload), &o) != nil || !mentions(o, accounts, snippets) {
					continue
				}
				if err := scrub(r.ID, r.State); err != nil {
					return fmt.Errorf("outbox: %w", err)
				}
			}
		}
		// A name may be someone else's too: only messages already sent
		// lose their content for it; one waiting to go is left alone.
		for _, n := range nameSnippets {
			var rows []outRow
			if err := t.selectAll(ctx, &rows, `SELECT id, state, payload FROM outbox WHERE state <> 'pending' AND payload LIKE ? ESCAPE '\'`, likeJSON(n)); err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
			for _, r := range rows {
				var o bots.Outgoing
				if json.Unmarshal([]byte(r.Payload), &o) != nil || !mentions(o, nil, []string{n}) {
					continue
				}
				if err := scrub(r.ID, r.State); err != nil {
					return fmt.Errorf("outbox: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: scrub deliveries: %w", err)
	}
	return nil
}

// mentions reports whether a message goes to one of accounts, names one,
// or quotes one of the snippets.
func mentions(o bots.Outgoing, accounts []core.Identity, snippets []string) bool {
	for _, a := range accounts {
		if o.To.Platform == a.Platform && o.To.User == a.User {
			return true
		}
	}
	has := func(s string) bool {
		for _, sn := range snippets {
			if strings.Contains(s, sn) {
				return true
			}
		}
		return false
	}
	for _, sp := range o.Message.Spans {
		for _, a := range accounts {
			if sp.Who == a {
				return true
			}
		}
		if has(sp.Text) {
			return true
		}
	}
	if c := o.Message.Card; c != nil {
		if has(c.Title) || has(c.Body) || has(c.Footer) {
			return true
		}
		for _, f := range c.Fields {
			if has(f.Value) {
				return true
			}
		}
	}
	return false
}

// likeJSON is a LIKE pattern for s as it appears inside a JSON string.
func likeJSON(s string) string {
	b, _ := json.Marshal(s)
	return "%" + likeEscape(strings.Trim(string(b), `"`)) + "%"
}

// likePrefix is a LIKE pattern for strings starting with p.
func likePrefix(p string) string { return likeEscape(p) + "%" }

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
