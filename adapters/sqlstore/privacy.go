package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"entraide/core"
)

// Identities implements core.Store.
func (s *Store) Identities(ctx context.Context, person core.PersonID) ([]core.LinkedIdentity, error) {
	var rows []struct {
		Platform  string `db:"platform"`
		User      string `db:"user_id"`
		Preferred bool   `db:"preferred"`
	}
	if err := s.selectAll(ctx, &rows, `SELECT platform, user_id, preferred FROM identities WHERE person_id = ?
		ORDER BY preferred DESC, platform, user_id`, int64(person)); err != nil {
		return nil, fmt.Errorf("sqlstore: identities of person %d: %w", person, err)
	}
	out := make([]core.LinkedIdentity, len(rows))
	for i, r := range rows {
		out[i] = core.LinkedIdentity{Identity: core.Identity{Platform: core.Platform(r.Platform), User: r.User}, Preferred: i == 0}
	}
	return out, nil
}

// SetPreferredIdentity implements core.Store.
func (s *Store) SetPreferredIdentity(ctx context.Context, person core.PersonID, id core.Identity) error {
	return s.InTx(ctx, func(tx core.Store) error {
		t := tx.(*Store)
		res, err := t.exec(ctx, "UPDATE identities SET preferred = TRUE WHERE person_id = ? AND platform = ? AND user_id = ?",
			int64(person), string(id.Platform), id.User)
		if err != nil {
			return fmt.Errorf("sqlstore: prefer %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("sqlstore: prefer %s: %w", id, core.ErrNotFound)
		}
		if _, err := t.exec(ctx, "UPDATE identities SET preferred = FALSE WHERE person_id = ? AND NOT (platform = ? AND user_id = ?)",
			int64(person), string(id.Platform), id.User); err != nil {
			return fmt.Errorf("sqlstore: prefer %s: %w", id, err)
		}
		return nil
	})
}

// CreateLinkCode implements core.Store.
func (s *Store) CreateLinkCode(ctx context.Context, hash string, person core.PersonID, expires time.Time) error {
	if _, err := s.exec(ctx, "INSERT INTO link_codes (hash, person_id, expires_at) VALUES (?, ?, ?)",
		hash, int64(person), ts(expires)); err != nil {
		return fmt.Errorf("sqlstore: create link code: %w", err)
	}
	return nil
}

// UseLinkCode implements core.Store: the code is deleted as it is used, so
// that two concurrent uses cannot both succeed.
func (s *Store) UseLinkCode(ctx context.Context, hash string, at time.Time) (core.PersonID, error) {
	var row struct {
		Person  int64     `db:"person_id"`
		Expires time.Time `db:"expires_at"`
	}
	err := s.get(ctx, &row, "DELETE FROM link_codes WHERE hash = ? RETURNING person_id, expires_at", hash)
	if err != nil {
		return 0, notFound(err, "sqlstore: link code")
	}
	if !ts(at).Before(row.Expires) {
		return 0, fmt.Errorf("sqlstore: link code: %w: expired", core.ErrNotFound)
	}
	return core.PersonID(row.Person), nil
}

// mergeMoves are the tables whose rows simply change hands when two people
// become one: a person column without uniqueness.
var mergeMoves = []struct{ table, column string }{
	{"questions", "asker_id"},
	{"answers", "author_id"},
	{"subscriptions", "person_id"},
	{"offers", "poster_id"},
	{"events", "poster_id"},
	{"digests", "editor_id"},
	{"access_rules", "added_by"},
	{"audit_log", "subject_id"},
}

// mergeUnique are the tables with a person in their key: from's rows are
// copied unless into has the same, then deleted.
var mergeUnique = []struct{ table, columns, key string }{
	{"roles", "community_id, role, granted_at", "community_id, person_id, role"},
	{"offer_saves", "offer_id, saved_at", "offer_id, person_id"},
	{"rsvps", "event_id, status, at", "event_id, person_id"},
	{"notices", "kind, item_id, digest, at", "person_id, kind, item_id"},
}

// MergePeople implements core.Store.
func (s *Store) MergePeople(ctx context.Context, into, from core.PersonID, at time.Time) error {
	if into == from {
		return fmt.Errorf("sqlstore: merge person %d into itself: %w", into, core.ErrInvalid)
	}
	return s.InTx(ctx, func(tx core.Store) error {
		t := tx.(*Store)
		wrap := func(err error) error { return fmt.Errorf("sqlstore: merge person %d into %d: %w", from, into, err) }
		ids, err := t.Identities(ctx, into)
		if err != nil {
			return wrap(err)
		}
		if len(ids) == 0 {
			return wrap(core.ErrNotFound)
		}
		// The account that asked for the code stays the one messages go to.
		if err := t.SetPreferredIdentity(ctx, into, ids[0].Identity); err != nil {
			return wrap(err)
		}
		if _, err := t.exec(ctx, "UPDATE identities SET person_id = ?, preferred = FALSE, linked_at = ? WHERE person_id = ?",
			int64(into), ts(at), int64(from)); err != nil {
			return wrap(err)
		}
		for _, m := range mergeMoves {
			if _, err := t.exec(ctx, "UPDATE "+m.table+" SET "+m.column+" = ? WHERE "+m.column+" = ?", int64(into), int64(from)); err != nil {
				return wrap(fmt.Errorf("%s: %w", m.table, err))
			}
		}
		// A question routed to both keeps into's routing.
		if _, err := t.exec(ctx, `DELETE FROM routings WHERE expert_id = ? AND question_id IN
			(SELECT question_id FROM routings WHERE expert_id = ?)`, int64(from), int64(into)); err != nil {
			return wrap(err)
		}
		if _, err := t.exec(ctx, "UPDATE routings SET expert_id = ? WHERE expert_id = ?", int64(into), int64(from)); err != nil {
			return wrap(err)
		}
		for _, u := range mergeUnique {
			if _, err := t.exec(ctx, "INSERT INTO "+u.table+" (person_id, "+u.columns+") SELECT ?, "+u.columns+
				" FROM "+u.table+" WHERE person_id = ? ON CONFLICT ("+u.key+") DO NOTHING", int64(into), int64(from)); err != nil {
				return wrap(fmt.Errorf("%s: %w", u.table, err))
			}
			if _, err := t.exec(ctx, "DELETE FROM "+u.table+" WHERE person_id = ?", int64(from)); err != nil {
				return wrap(fmt.Errorf("%s: %w", u.table, err))
			}
		}
		if err := t.mergeExperts(ctx, into, from, at); err != nil {
			return wrap(err)
		}
		if _, err := t.exec(ctx, `UPDATE people SET lang = (SELECT lang FROM people WHERE id = ?) WHERE id = ? AND lang = ''`,
			int64(from), int64(into)); err != nil {
			return wrap(err)
		}
		for _, table := range []string{"login_tokens", "link_codes"} {
			if _, err := t.exec(ctx, "DELETE FROM "+table+" WHERE person_id = ?", int64(from)); err != nil {
				return wrap(err)
			}
		}
		if _, err := t.exec(ctx, "DELETE FROM people WHERE id = ?", int64(from)); err != nil {
			return wrap(err)
		}
		return nil
	})
}

// mergeExperts keeps one directory entry: into's, with from's topics and
// languages added, or from's when into has none.
func (s *Store) mergeExperts(ctx context.Context, into, from core.PersonID, at time.Time) error {
	fe, err := s.Expert(ctx, from)
	if errors.Is(err, core.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.DeleteExpert(ctx, from); err != nil {
		return err
	}
	ie, err := s.Expert(ctx, into)
	switch {
	case errors.Is(err, core.ErrNotFound):
		fe.Person = into
		fe.UpdatedAt = ts(at)
		return s.SaveExpert(ctx, fe)
	case err != nil:
		return err
	}
	ie.Topics = union(ie.Topics, fe.Topics)
	ie.Languages = union(ie.Languages, fe.Languages)
	if ie.Organisation == "" {
		ie.Organisation = fe.Organisation
	}
	ie.UpdatedAt = ts(at)
	return s.SaveExpert(ctx, ie)
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(a)+len(b))
	for _, x := range append(append([]string(nil), a...), b...) {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// SplitIdentity implements core.Store.
func (s *Store) SplitIdentity(ctx context.Context, person core.PersonID, id core.Identity, at time.Time) error {
	return s.InTx(ctx, func(tx core.Store) error {
		t := tx.(*Store)
		var pid int64
		if err := t.get(ctx, &pid, "INSERT INTO people (display_name, lang, created_at) VALUES ('', '', ?) RETURNING id", ts(at)); err != nil {
			return fmt.Errorf("sqlstore: split %s: %w", id, err)
		}
		res, err := t.exec(ctx, "UPDATE identities SET person_id = ?, preferred = FALSE, linked_at = NULL WHERE person_id = ? AND platform = ? AND user_id = ?",
			pid, int64(person), string(id.Platform), id.User)
		if err != nil {
			return fmt.Errorf("sqlstore: split %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("sqlstore: split %s: %w", id, core.ErrNotFound)
		}
		return nil
	})
}

// IdentityTenant implements core.Store.
func (s *Store) IdentityTenant(ctx context.Context, id core.Identity) (string, error) {
	var tenant string
	if err := s.get(ctx, &tenant, "SELECT tenant FROM identity_tenants WHERE platform = ? AND user_id = ?",
		string(id.Platform), id.User); err != nil {
		return "", notFound(err, "sqlstore: tenant of "+id.String())
	}
	return tenant, nil
}

// SetIdentityTenant implements core.Store.
func (s *Store) SetIdentityTenant(ctx context.Context, id core.Identity, tenant string, at time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO identity_tenants (platform, user_id, tenant, seen_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (platform, user_id) DO UPDATE SET tenant = excluded.tenant, seen_at = excluded.seen_at`,
		string(id.Platform), id.User, tenant, ts(at)); err != nil {
		return fmt.Errorf("sqlstore: tenant of %s: %w", id, err)
	}
	return nil
}

// EnsureCommunity implements core.Store.
func (s *Store) EnsureCommunity(ctx context.Context, name string, at time.Time) (core.Community, error) {
	if _, err := s.exec(ctx, "INSERT INTO communities (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", name, ts(at)); err != nil {
		return core.Community{}, fmt.Errorf("sqlstore: create community %q: %w", name, err)
	}
	return s.CommunityByName(ctx, name)
}

// CommunityByName implements core.Store.
func (s *Store) CommunityByName(ctx context.Context, name string) (core.Community, error) {
	var r struct {
		ID        int64     `db:"id"`
		Name      string    `db:"name"`
		CreatedAt time.Time `db:"created_at"`
	}
	if err := s.get(ctx, &r, "SELECT id, name, created_at FROM communities WHERE name = ?", name); err != nil {
		return core.Community{}, notFound(err, fmt.Sprintf("sqlstore: community %q", name))
	}
	return core.Community{ID: core.CommunityID(r.ID), Name: r.Name, CreatedAt: r.CreatedAt.UTC()}, nil
}

// SetRoomCommunity implements core.Store.
func (s *Store) SetRoomCommunity(ctx context.Context, room core.Room, community core.CommunityID, at time.Time) error {
	if room.ID == "" {
		return fmt.Errorf("sqlstore: move room: %w: a direct conversation belongs to no community", core.ErrInvalid)
	}
	if _, err := s.exec(ctx, `INSERT INTO rooms (platform, room_id, community_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (platform, room_id) DO UPDATE SET community_id = excluded.community_id`,
		string(room.Platform), room.ID, int64(community), ts(at)); err != nil {
		return fmt.Errorf("sqlstore: move room %s %s: %w", room.Platform, room.ID, err)
	}
	return nil
}

// CommunityRooms implements core.Store.
func (s *Store) CommunityRooms(ctx context.Context, community core.CommunityID) ([]core.Room, error) {
	var rows []struct {
		Platform string `db:"platform"`
		Room     string `db:"room_id"`
	}
	if err := s.selectAll(ctx, &rows, "SELECT platform, room_id FROM rooms WHERE community_id = ? ORDER BY platform, room_id",
		int64(community)); err != nil {
		return nil, fmt.Errorf("sqlstore: rooms of community %d: %w", community, err)
	}
	out := make([]core.Room, len(rows))
	for i, r := range rows {
		out[i] = core.Room{Platform: core.Platform(r.Platform), ID: r.Room}
	}
	return out, nil
}

// AccessRules implements core.Store.
func (s *Store) AccessRules(ctx context.Context) (map[core.CommunityID][]core.AccessRule, error) {
	var rows []struct {
		Community int64  `db:"community_id"`
		Rule      string `db:"rule"`
	}
	if err := s.selectAll(ctx, &rows, "SELECT community_id, rule FROM access_rules ORDER BY community_id, rule"); err != nil {
		return nil, fmt.Errorf("sqlstore: access rules: %w", err)
	}
	out := map[core.CommunityID][]core.AccessRule{}
	for _, r := range rows {
		out[core.CommunityID(r.Community)] = append(out[core.CommunityID(r.Community)], core.AccessRule(r.Rule))
	}
	return out, nil
}

// AddAccessRule implements core.Store.
func (s *Store) AddAccessRule(ctx context.Context, community core.CommunityID, rule core.AccessRule, by core.PersonID, at time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO access_rules (community_id, rule, added_by, added_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (community_id, rule) DO NOTHING`, int64(community), string(rule), nullID(int64(by)), ts(at)); err != nil {
		return fmt.Errorf("sqlstore: add access rule: %w", err)
	}
	return nil
}

// DeleteAccessRule implements core.Store.
func (s *Store) DeleteAccessRule(ctx context.Context, community core.CommunityID, rule core.AccessRule) error {
	res, err := s.exec(ctx, "DELETE FROM access_rules WHERE community_id = ? AND rule = ?", int64(community), string(rule))
	if err != nil {
		return fmt.Errorf("sqlstore: delete access rule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: delete access rule %s: %w", rule, core.ErrNotFound)
	}
	return nil
}

// AddAudit implements core.Store.
func (s *Store) AddAudit(ctx context.Context, e core.AuditEntry) error {
	if _, err := s.exec(ctx, "INSERT INTO audit_log (at, action, question_id, subject_id, actor) VALUES (?, ?, ?, ?, ?)",
		ts(e.At), e.Action, int64(e.Question), int64(e.Subject), e.Actor); err != nil {
		return fmt.Errorf("sqlstore: audit: %w", err)
	}
	return nil
}

// AuditLog implements core.Store.
func (s *Store) AuditLog(ctx context.Context, subject core.PersonID, limit int) ([]core.AuditEntry, error) {
	var rows []struct {
		ID       int64     `db:"id"`
		At       time.Time `db:"at"`
		Action   string    `db:"action"`
		Question int64     `db:"question_id"`
		Subject  int64     `db:"subject_id"`
		Actor    string    `db:"actor"`
	}
	query, args := "SELECT id, at, action, question_id, subject_id, actor FROM audit_log", []any{}
	if subject != 0 {
		query, args = query+" WHERE subject_id = ?", append(args, int64(subject))
	}
	if limit <= 0 {
		limit = 1000
	}
	if err := s.selectAll(ctx, &rows, query+" ORDER BY id DESC LIMIT ?", append(args, limit)...); err != nil {
		return nil, fmt.Errorf("sqlstore: audit log: %w", err)
	}
	out := make([]core.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = core.AuditEntry{ID: r.ID, At: r.At.UTC(), Action: r.Action, Question: core.QuestionID(r.Question),
			Subject: core.PersonID(r.Subject), Actor: r.Actor}
	}
	return out, nil
}

// PersonData implements core.Store.
func (s *Store) PersonData(ctx context.Context, id core.PersonID) (core.PersonData, error) {
	var d core.PersonData
	err := s.InTx(ctx, func(tx core.Store) error {
		t := tx.(*Store)
		var err error
		if d.Person, err = t.Person(ctx, id); err != nil {
			return err
		}
		if d.Accounts, err = t.Identities(ctx, id); err != nil {
			return err
		}
		for _, a := range d.Accounts {
			tenant, err := t.IdentityTenant(ctx, a.Identity)
			if err == nil {
				if d.Tenants == nil {
					d.Tenants = map[string]string{}
				}
				d.Tenants[a.Identity.String()] = tenant
			} else if !errors.Is(err, core.ErrNotFound) {
				return err
			}
		}
		if e, err := t.Expert(ctx, id); err == nil {
			d.Expert = &e
		} else if !errors.Is(err, core.ErrNotFound) {
			return err
		}
		qs, err := t.QuestionsByAsker(ctx, id)
		if err != nil {
			return err
		}
		d.Questions = make([]core.AskedQuestion, 0, len(qs))
		for _, q := range qs {
			as, err := t.Answers(ctx, q.ID)
			if err != nil {
				return err
			}
			d.Questions = append(d.Questions, core.AskedQuestion{Question: q, Answers: as})
		}
		var ans []answerRow
		if err := t.selectAll(ctx, &ans, selectAnswer+" WHERE author_id = ? ORDER BY id", int64(id)); err != nil {
			return err
		}
		d.Answers = answers(ans)
		var rr []routingRow
		if err := t.selectAll(ctx, &rr, "SELECT question_id, expert_id, status, routed_at FROM routings WHERE expert_id = ? ORDER BY routed_at, question_id", int64(id)); err != nil {
			return err
		}
		d.Routings = routings(rr)
		var roles []struct {
			Community int64  `db:"community_id"`
			Role      string `db:"role"`
		}
		if err := t.selectAll(ctx, &roles, "SELECT community_id, role FROM roles WHERE person_id = ? ORDER BY community_id, role", int64(id)); err != nil {
			return err
		}
		d.Roles = make([]core.CommunityRole, len(roles))
		for i, r := range roles {
			d.Roles[i] = core.CommunityRole{Community: core.CommunityID(r.Community), Role: core.Role(r.Role)}
		}
		if d.Subscriptions, err = t.Subscriptions(ctx, id); err != nil {
			return err
		}
		var ids []int64
		if err := t.selectAll(ctx, &ids, "SELECT offer_id FROM offer_saves WHERE person_id = ? ORDER BY offer_id", int64(id)); err != nil {
			return err
		}
		d.SavedOffers = make([]core.OfferID, len(ids))
		for i, x := range ids {
			d.SavedOffers[i] = core.OfferID(x)
		}
		var rsvps []struct {
			Event  int64     `db:"event_id"`
			Status string    `db:"status"`
			At     time.Time `db:"at"`
		}
		if err := t.selectAll(ctx, &rsvps, "SELECT event_id, status, at FROM rsvps WHERE person_id = ? ORDER BY event_id", int64(id)); err != nil {
			return err
		}
		d.RSVPs = make([]core.RSVP, len(rsvps))
		for i, r := range rsvps {
			d.RSVPs[i] = core.RSVP{Event: core.EventID(r.Event), Person: id, Status: core.RSVPStatus(r.Status), At: r.At.UTC()}
		}
		ids = nil
		if err := t.selectAll(ctx, &ids, "SELECT id FROM offers WHERE poster_id = ? ORDER BY id", int64(id)); err != nil {
			return err
		}
		d.OffersPosted = make([]core.OfferID, len(ids))
		for i, x := range ids {
			d.OffersPosted[i] = core.OfferID(x)
		}
		ids = nil
		if err := t.selectAll(ctx, &ids, "SELECT id FROM events WHERE poster_id = ? ORDER BY id", int64(id)); err != nil {
			return err
		}
		d.EventsPosted = make([]core.EventID, len(ids))
		for i, x := range ids {
			d.EventsPosted[i] = core.EventID(x)
		}
		if err := t.get(ctx, &d.Notices, "SELECT COUNT(*) FROM notices WHERE person_id = ?", int64(id)); err != nil {
			return err
		}
		d.Audit, err = t.AuditLog(ctx, id, 0)
		return err
	})
	if err != nil {
		return core.PersonData{}, fmt.Errorf("sqlstore: data of person %d: %w", id, err)
	}
	return d, nil
}

// eraseDeletes are the tables whose rows about a person go when the person
// is erased.
var eraseDeletes = []string{"experts", "roles", "subscriptions", "offer_saves", "rsvps", "notices", "login_tokens", "link_codes"}

// ErasePerson implements core.Store.
func (s *Store) ErasePerson(ctx context.Context, id core.PersonID, at time.Time) (core.Erased, error) {
	e := core.Erased{Person: id}
	err := s.InTx(ctx, func(tx core.Store) error {
		t := tx.(*Store)
		var qids, aids, answered []int64
		if err := t.selectAll(ctx, &qids, "SELECT id FROM questions WHERE asker_id = ? ORDER BY id", int64(id)); err != nil {
			return err
		}
		if err := t.selectAll(ctx, &aids, "SELECT id FROM answers WHERE author_id = ? ORDER BY id", int64(id)); err != nil {
			return err
		}
		if err := t.selectAll(ctx, &answered, "SELECT DISTINCT question_id FROM answers WHERE author_id = ?", int64(id)); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE questions SET body = '', origin_message = '', origin_thread = '', updated_at = ?,
			state = CASE WHEN state IN ('open', 'routed', 'answered') THEN 'expired' ELSE state END WHERE asker_id = ?`,
			ts(at), int64(id)); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE answers SET body = '' WHERE author_id = ?", int64(id)); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE routings SET status = 'passed' WHERE expert_id = ? AND status = 'asked'", int64(id)); err != nil {
			return err
		}
		for _, table := range eraseDeletes {
			if _, err := t.exec(ctx, "DELETE FROM "+table+" WHERE person_id = ?", int64(id)); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
		for _, m := range []struct{ table, column string }{{"offers", "poster_id"}, {"events", "poster_id"}, {"digests", "editor_id"}, {"access_rules", "added_by"}} {
			if _, err := t.exec(ctx, "UPDATE "+m.table+" SET "+m.column+" = NULL WHERE "+m.column+" = ?", int64(id)); err != nil {
				return fmt.Errorf("%s: %w", m.table, err)
			}
		}
		if err := t.scrubDigests(ctx, id, append(append([]int64(nil), qids...), answered...)); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM identity_tenants WHERE EXISTS (SELECT 1 FROM identities i
			WHERE i.person_id = ? AND i.platform = identity_tenants.platform AND i.user_id = identity_tenants.user_id)`, int64(id)); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "DELETE FROM identities WHERE person_id = ?", int64(id)); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE people SET display_name = '', lang = '', erased_at = ? WHERE id = ?", ts(at), int64(id)); err != nil {
			return err
		}
		for _, q := range qids {
			e.Questions = append(e.Questions, core.QuestionID(q))
		}
		for _, a := range aids {
			e.Answers = append(e.Answers, core.AnswerID(a))
		}
		return nil
	})
	if err != nil {
		return core.Erased{}, fmt.Errorf("sqlstore: erase person %d: %w", id, err)
	}
	return e, nil
}

// scrubDigests removes from every digest the items that name person (a new
// expert) or one of questions (theirs, or one they answered: the item
// quotes the answer).
func (s *Store) scrubDigests(ctx context.Context, person core.PersonID, questions []int64) error {
	drop := map[int64]bool{}
	for _, q := range questions {
		drop[q] = true
	}
	var rows []struct {
		ID    int64  `db:"id"`
		Items string `db:"items"`
	}
	if err := s.selectAll(ctx, &rows, "SELECT id, items FROM digests"); err != nil {
		return fmt.Errorf("digests: %w", err)
	}
	for _, r := range rows {
		var items []core.DigestItem
		if err := json.Unmarshal([]byte(r.Items), &items); err != nil {
			return fmt.Errorf("digest %d: %w", r.ID, err)
		}
		kept := items[:0]
		for _, it := range items {
			switch {
			case it.Section == core.SectionExperts && it.Ref == int64(person):
			case (it.Section == core.SectionResolved || it.Section == core.SectionWaiting) && drop[it.Ref]:
			default:
				kept = append(kept, it)
			}
		}
		if len(kept) == len(items) {
			continue
		}
		b, err := json.Marshal(kept)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, "UPDATE digests SET items = ? WHERE id = ?", string(b), r.ID); err != nil {
			return fmt.Errorf("digest %d: %w", r.ID, err)
		}
	}
	return nil
}

// ApplyRetention implements core.Store.
func (s *Store) ApplyRetention(ctx context.Context, c core.RetentionCutoffs) (core.Retained, core.Erased, error) {
	var r core.Retained
	var e core.Erased
	err := s.InTx(ctx, func(tx core.Store) error {
		t := tx.(*Store)
		count := func(res sql.Result) int { n, _ := res.RowsAffected(); return int(n) }
		if !c.Questions.IsZero() {
			var qids []int64
			if err := t.selectAll(ctx, &qids, `SELECT id FROM questions WHERE state IN ('resolved', 'expired') AND updated_at < ? AND body <> '' ORDER BY id`,
				ts(c.Questions)); err != nil {
				return err
			}
			for _, q := range qids {
				var aids []int64
				if err := t.selectAll(ctx, &aids, "SELECT id FROM answers WHERE question_id = ? AND body <> '' ORDER BY id", q); err != nil {
					return err
				}
				if _, err := t.exec(ctx, "UPDATE questions SET body = '' WHERE id = ?", q); err != nil {
					return err
				}
				if _, err := t.exec(ctx, "UPDATE answers SET body = '' WHERE question_id = ?", q); err != nil {
					return err
				}
				e.Questions = append(e.Questions, core.QuestionID(q))
				for _, a := range aids {
					e.Answers = append(e.Answers, core.AnswerID(a))
				}
			}
			r.Questions = len(qids)
		}
		if !c.Bulletin.IsZero() {
			res, err := t.exec(ctx, "DELETE FROM offers WHERE expires_at < ?", ts(c.Bulletin))
			if err != nil {
				return err
			}
			r.Offers = count(res)
			if res, err = t.exec(ctx, "DELETE FROM events WHERE ends_at < ?", ts(c.Bulletin)); err != nil {
				return err
			}
			r.Events = count(res)
		}
		if !c.Audit.IsZero() {
			res, err := t.exec(ctx, "DELETE FROM audit_log WHERE at < ?", ts(c.Audit))
			if err != nil {
				return err
			}
			r.Audit = count(res)
		}
		if !c.Pseudonyms.IsZero() {
			var ids []int64
			if err := t.selectAll(ctx, &ids, `SELECT q.id FROM questions q JOIN people p ON p.id = q.asker_id
				WHERE q.anonymous AND q.state IN ('resolved', 'expired') AND q.updated_at < ? AND p.erased_at IS NULL ORDER BY q.id`,
				ts(c.Pseudonyms)); err != nil {
				return err
			}
			if len(ids) > 0 {
				nobody, err := t.nobody(ctx, c.Pseudonyms)
				if err != nil {
					return err
				}
				for _, q := range ids {
					if _, err := t.exec(ctx, "UPDATE questions SET asker_id = ? WHERE id = ?", nobody, q); err != nil {
						return err
					}
				}
			}
			r.Pseudonyms = len(ids)
		}
		return nil
	})
	if err != nil {
		return core.Retained{}, core.Erased{}, fmt.Errorf("sqlstore: retention: %w", err)
	}
	return r, e, nil
}

// nobody returns the person without name or account that pseudonymous
// questions point to once the link to their author is dropped.
func (s *Store) nobody(ctx context.Context, at time.Time) (int64, error) {
	var id int64
	err := s.get(ctx, &id, `SELECT p.id FROM people p WHERE p.erased_at IS NOT NULL AND p.display_name = ''
		AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.person_id = p.id) ORDER BY p.id LIMIT 1`)
	if err == nil {
		return id, nil
	}
	if !errors.Is(notFound(err, ""), core.ErrNotFound) {
		return 0, err
	}
	err = s.get(ctx, &id, "INSERT INTO people (display_name, lang, created_at, erased_at) VALUES ('', '', ?, ?) RETURNING id", ts(at), ts(at))
	return id, err
}

// PurgeCheckpoints deletes the checkpoints whose key starts with prefix and
// that were last set before before: adapters' records of sent messages.
func (s *Store) PurgeCheckpoints(ctx context.Context, prefix string, before time.Time) (int64, error) {
	if prefix == "" {
		return 0, fmt.Errorf("sqlstore: purge checkpoints: %w: empty prefix", core.ErrInvalid)
	}
	res, err := s.exec(ctx, `DELETE FROM checkpoints WHERE key LIKE ? ESCAPE '\' AND updated_at < ?`, likePrefix(prefix), ts(before))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge checkpoints: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
