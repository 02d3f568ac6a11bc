package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"entraide/bots"
	"entraide/core"
)

var _ bots.Queue = (*Store)(nil)

// PutEvent implements bots.Queue.
func (s *Store) PutEvent(ctx context.Context, ev bots.Event, now time.Time) (bool, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return false, fmt.Errorf("sqlstore: put event %s %s: %w", ev.Platform, ev.ID, err)
	}
	res, err := s.exec(ctx, `INSERT INTO inbox (platform, event_id, payload, state, next_at, received_at)
		VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (platform, event_id) DO NOTHING`,
		string(ev.Platform), ev.ID, string(payload), ts(now), ts(now))
	if err != nil {
		return false, fmt.Errorf("sqlstore: put event %s %s: %w", ev.Platform, ev.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: put event %s %s: %w", ev.Platform, ev.ID, err)
	}
	return n == 1, nil
}

// skipLocked is the clause that lets several PostgreSQL processes claim
// different rows at once; SQLite has one writer and needs none.
func (s *Store) skipLocked() string {
	if s.dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

type claimedRow struct {
	ID       int64  `db:"id"`
	Payload  string `db:"payload"`
	Attempts int    `db:"attempts"`
}

// claim leases up to limit due pending rows of table, oldest first.
func (s *Store) claim(ctx context.Context, table, extra string, extraArgs []any, owner string, limit int, lease time.Duration, now time.Time) ([]claimedRow, error) {
	args := []any{owner, ts(now.Add(lease)), ts(now), ts(now)}
	args = append(args, extraArgs...)
	args = append(args, limit)
	var rows []claimedRow
	err := s.selectAll(ctx, &rows, `UPDATE `+table+` SET lease_owner = ?, lease_until = ?
		WHERE id IN (SELECT id FROM `+table+`
			WHERE state = 'pending' AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?)`+extra+`
			ORDER BY id LIMIT ?`+s.skipLocked()+`)
		RETURNING id, payload, attempts`, args...)
	if err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	return rows, nil
}

// ClaimEvents implements bots.Queue.
func (s *Store) ClaimEvents(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]bots.InboxItem, error) {
	rows, err := s.claim(ctx, "inbox", "", nil, owner, limit, lease, now)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim events: %w", err)
	}
	out := make([]bots.InboxItem, 0, len(rows))
	for _, r := range rows {
		item := bots.InboxItem{ID: r.ID, Attempts: r.Attempts}
		if err := json.Unmarshal([]byte(r.Payload), &item.Event); err != nil {
			return nil, fmt.Errorf("sqlstore: claim events: decode event %d: %w", r.ID, err)
		}
		out = append(out, item)
	}
	return out, nil
}

// FinishEvent implements bots.Queue.
func (s *Store) FinishEvent(ctx context.Context, id int64, owner string, now time.Time) error {
	res, err := s.exec(ctx, `UPDATE inbox SET state = 'done', done_at = ?, lease_until = NULL
		WHERE id = ? AND state = 'pending' AND lease_owner = ?`, ts(now), id, owner)
	if err != nil {
		return fmt.Errorf("sqlstore: finish event %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: finish event %d: %w: handled elsewhere or lease lost", id, core.ErrConflict)
	}
	return nil
}

// retry releases a claimed row after a failed attempt.
func (s *Store) retry(ctx context.Context, table string, id int64, next time.Time, failed bool, lastErr string) error {
	state := "pending"
	if failed {
		state = "failed"
	}
	if len(lastErr) > 2000 {
		lastErr = lastErr[:2000]
	}
	lastErr = strings.ToValidUTF8(lastErr, "?")
	_, err := s.exec(ctx, `UPDATE `+table+` SET state = ?, attempts = attempts + 1, next_at = ?, last_error = ?,
		lease_owner = '', lease_until = NULL WHERE id = ?`, state, ts(next), lastErr, id)
	return err
}

// RetryEvent implements bots.Queue.
func (s *Store) RetryEvent(ctx context.Context, id int64, next time.Time, failed bool, lastErr string) error {
	if err := s.retry(ctx, "inbox", id, next, failed, lastErr); err != nil {
		return fmt.Errorf("sqlstore: retry event %d: %w", id, err)
	}
	return nil
}

// PutOutgoing implements bots.Queue.
func (s *Store) PutOutgoing(ctx context.Context, out []bots.Outgoing, now time.Time) error {
	for _, o := range out {
		if o.Key == "" {
			return fmt.Errorf("sqlstore: put outgoing: %w: message without key", core.ErrInvalid)
		}
		payload, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("sqlstore: put outgoing %s: %w", o.Key, err)
		}
		if _, err := s.exec(ctx, `INSERT INTO outbox (key, platform, payload, state, next_at, created_at)
			VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (key) DO NOTHING`,
			o.Key, string(o.To.Platform), string(payload), ts(now), ts(now)); err != nil {
			return fmt.Errorf("sqlstore: put outgoing %s: %w", o.Key, err)
		}
	}
	return nil
}

// ClaimOutgoing implements bots.Queue.
func (s *Store) ClaimOutgoing(ctx context.Context, owner string, platforms []core.Platform, limit int, lease time.Duration, now time.Time) ([]bots.OutboxItem, error) {
	if len(platforms) == 0 {
		return nil, nil
	}
	extra := " AND platform IN (?" + strings.Repeat(", ?", len(platforms)-1) + ")"
	args := make([]any, len(platforms))
	for i, p := range platforms {
		args[i] = string(p)
	}
	rows, err := s.claim(ctx, "outbox", extra, args, owner, limit, lease, now)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim outgoing: %w", err)
	}
	out := make([]bots.OutboxItem, 0, len(rows))
	for _, r := range rows {
		item := bots.OutboxItem{ID: r.ID, Attempts: r.Attempts}
		if err := json.Unmarshal([]byte(r.Payload), &item.Outgoing); err != nil {
			return nil, fmt.Errorf("sqlstore: claim outgoing: decode message %d: %w", r.ID, err)
		}
		out = append(out, item)
	}
	return out, nil
}

// MarkSent implements bots.Queue.
func (s *Store) MarkSent(ctx context.Context, id int64, messageID string, now time.Time) error {
	if _, err := s.exec(ctx, `UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?, lease_until = NULL
		WHERE id = ?`, ts(now), messageID, id); err != nil {
		return fmt.Errorf("sqlstore: mark message %d sent: %w", id, err)
	}
	return nil
}

// RetryOutgoing implements bots.Queue.
func (s *Store) RetryOutgoing(ctx context.Context, id int64, next time.Time, failed bool, lastErr string) error {
	if err := s.retry(ctx, "outbox", id, next, failed, lastErr); err != nil {
		return fmt.Errorf("sqlstore: retry message %d: %w", id, err)
	}
	return nil
}

// Backlog implements bots.Queue.
func (s *Store) Backlog(ctx context.Context) (events, messages int, err error) {
	if err := s.get(ctx, &events, "SELECT COUNT(*) FROM inbox WHERE state = 'pending'"); err != nil {
		return 0, 0, fmt.Errorf("sqlstore: backlog: %w", err)
	}
	if err := s.get(ctx, &messages, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'"); err != nil {
		return 0, 0, fmt.Errorf("sqlstore: backlog: %w", err)
	}
	return events, messages, nil
}
