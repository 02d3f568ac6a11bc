package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"entraide/bots"
	"entraide/core"
)

var _ bots.Queue = (*Store)(nil)

const queryPutEvent = `INSERT INTO inbox (platform, event_id, payload, state, next_at, received_at)
	VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (platform, event_id) DO NOTHING`

// PutEvent implements bots.Queue.
func (s *Store) PutEvent(ctx context.Context, ev bots.Event, now time.Time) (bool, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return false, fmt.Errorf("sqlstore: put event %s %s: %w", ev.Platform, ev.ID, err)
	}
	res, err := s.exec(ctx, queryPutEvent, string(ev.Platform), ev.ID, string(payload), ts(now), ts(now))
	if err != nil {
		return false, fmt.Errorf("sqlstore: put event %s %s: %w", ev.Platform, ev.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: put event %s %s: %w", ev.Platform, ev.ID, err)
	}
	return n == 1, nil
}

// PutEvents implements bots.Queue: the events go in one statement, and
// those it inserted come back, which tells them from the duplicates. An
// event repeated in evs is new at most once, at its first place.
func (s *Store) PutEvents(ctx context.Context, evs []bots.Event, now time.Time) ([]bool, error) {
	type key struct {
		platform core.Platform
		id       string
	}
	fresh := make([]bool, len(evs))
	first := make(map[key]int, len(evs))
	var query strings.Builder
	query.WriteString("INSERT INTO inbox (platform, event_id, payload, state, next_at, received_at) VALUES ")
	args := make([]any, 0, 5*len(evs))
	for i, ev := range evs {
		k := key{ev.Platform, ev.ID}
		if _, seen := first[k]; seen {
			continue
		}
		first[k] = i
		payload, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: put event %s %s: %w", ev.Platform, ev.ID, err)
		}
		if len(args) > 0 {
			query.WriteString(", ")
		}
		query.WriteString("(?, ?, ?, 'pending', ?, ?)")
		args = append(args, string(ev.Platform), ev.ID, string(payload), ts(now), ts(now))
	}
	if len(args) == 0 {
		return fresh, nil
	}
	query.WriteString(" ON CONFLICT (platform, event_id) DO NOTHING RETURNING platform, event_id")
	var inserted []struct {
		Platform string `db:"platform"`
		EventID  string `db:"event_id"`
	}
	if err := s.selectAll(ctx, &inserted, query.String(), args...); err != nil {
		return nil, fmt.Errorf("sqlstore: put %d events: %w", len(evs), err)
	}
	for _, r := range inserted {
		if i, ok := first[key{core.Platform(r.Platform), r.EventID}]; ok {
			fresh[i] = true
		}
	}
	return fresh, nil
}

// pendingIndex makes SQLite look for due jobs in their partial index of
// pending rows by due time: left to itself, it scans the whole jobs table
// in id order to spare a sort, on every claim, even when nothing is due.
// The inbox's and outbox's partial indexes are in id order and chosen
// without help; PostgreSQL plans with statistics.
func pendingIndex(table string, d Dialect) string {
	if d == SQLite && table == "jobs" {
		return " INDEXED BY jobs_pending"
	}
	return ""
}

type claimedRow struct {
	ID       int64  `db:"id"`
	Payload  string `db:"payload"`
	Attempts int    `db:"attempts"`
}

// claimQuery is the statement that leases due pending rows of table. FOR
// UPDATE SKIP LOCKED lets several PostgreSQL processes claim different rows
// at once; SQLite has one writer and needs none.
func claimQuery(table, returning, extra string, d Dialect) string {
	skipLocked := ""
	if d == Postgres {
		skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	return `UPDATE ` + table + ` SET lease_owner = ?, lease_until = ?
		WHERE id IN (SELECT id FROM ` + table + pendingIndex(table, d) + `
			WHERE state = 'pending' AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?)` + extra + `
			ORDER BY id LIMIT ?` + skipLocked + `)
		RETURNING ` + returning
}

// claim leases up to limit due pending rows of table, oldest first, and
// reads the returning columns of the leased rows into dest.
func (s *Store) claim(ctx context.Context, dest any, table, returning, extra string, extraArgs []any, owner string, limit int, lease time.Duration, now time.Time) error {
	args := []any{owner, ts(now.Add(lease)), ts(now), ts(now)}
	args = append(args, extraArgs...)
	args = append(args, limit)
	return s.selectAll(ctx, dest, claimQuery(table, returning, extra, s.dialect), args...)
}

// claimPayloads claims rows that carry a JSON payload, oldest first.
func (s *Store) claimPayloads(ctx context.Context, table, extra string, extraArgs []any, owner string, limit int, lease time.Duration, now time.Time) ([]claimedRow, error) {
	var rows []claimedRow
	if err := s.claim(ctx, &rows, table, "id, payload, attempts", extra, extraArgs, owner, limit, lease, now); err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	return rows, nil
}

// ClaimEvents implements bots.Queue.
func (s *Store) ClaimEvents(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]bots.InboxItem, error) {
	rows, err := s.claimPayloads(ctx, "inbox", "", nil, owner, limit, lease, now)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim events: %w", err)
	}
	out, err := inboxItems(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim events: %w", err)
	}
	return out, nil
}

// inboxItems decodes claimed inbox rows.
func inboxItems(rows []claimedRow) ([]bots.InboxItem, error) {
	out := make([]bots.InboxItem, 0, len(rows))
	for _, r := range rows {
		item := bots.InboxItem{ID: r.ID, Attempts: r.Attempts}
		if err := json.Unmarshal([]byte(r.Payload), &item.Event); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", r.ID, err)
		}
		out = append(out, item)
	}
	return out, nil
}

// LocksEvents implements bots.EventLocker: on PostgreSQL.
func (s *Store) LocksEvents() bool { return s.dialect == Postgres }

// LockEvents implements bots.EventLocker: in a PostgreSQL transaction, it
// locks up to limit due pending events that no lease holds and no other
// transaction locked, oldest first, with FOR UPDATE SKIP LOCKED, and
// writes nothing. The transaction then finishes them without a lease
// (FinishEvent); should it roll back, or its process die, they are pending
// again at once.
func (s *Store) LockEvents(ctx context.Context, limit int, now time.Time) ([]bots.InboxItem, error) {
	if !s.inTx || s.dialect != Postgres {
		return nil, fmt.Errorf("sqlstore: lock events: only in a PostgreSQL transaction")
	}
	var rows []claimedRow
	if err := s.selectAll(ctx, &rows, `SELECT id, payload, attempts FROM inbox
		WHERE state = 'pending' AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?)
		ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`, ts(now), ts(now), limit); err != nil {
		return nil, fmt.Errorf("sqlstore: lock events: %w", err)
	}
	out, err := inboxItems(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: lock events: %w", err)
	}
	for _, r := range rows {
		if s.lockedEvents == nil {
			s.lockedEvents = map[int64]bool{}
		}
		s.lockedEvents[r.ID] = true
	}
	return out, nil
}

// finishQuery is the statement that marks a claimed row of table done:
// leased to owner, or locked by the transaction when owner is empty.
func finishQuery(table string, locked bool) string {
	if locked {
		return `UPDATE ` + table + ` SET state = 'done', done_at = ?, lease_until = NULL
		WHERE id = ? AND state = 'pending'`
	}
	return `UPDATE ` + table + ` SET state = 'done', done_at = ?, lease_until = NULL
		WHERE id = ? AND state = 'pending' AND lease_owner = ?`
}

// finish marks a claimed row done, if owner still holds it (or the
// transaction locked it: see LockEvents).
func (s *Store) finish(ctx context.Context, table string, id int64, owner string, now time.Time) error {
	args := []any{ts(now), id, owner}
	locked := table == "inbox" && s.lockedEvents[id]
	if locked {
		args = args[:2]
	}
	res, err := s.exec(ctx, finishQuery(table, locked), args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: handled elsewhere or lease lost", core.ErrConflict)
	}
	return nil
}

// FinishEvent implements bots.Queue.
func (s *Store) FinishEvent(ctx context.Context, id int64, owner string, now time.Time) error {
	if s.def != nil {
		s.def.finished = append(s.def.finished, deferredFinish{id: id, owner: owner, locked: s.lockedEvents[id], at: now})
		return nil
	}
	if err := s.finish(ctx, "inbox", id, owner, now); err != nil {
		return fmt.Errorf("sqlstore: finish event %d: %w", id, err)
	}
	return nil
}

// retry releases a claimed row after a failed attempt; set adds to what
// the statement sets (with its arguments, placed before the id).
func (s *Store) retry(ctx context.Context, table string, id int64, next time.Time, failed bool, lastErr string, set string, setArgs ...any) error {
	state := "pending"
	if failed {
		state = "failed"
	}
	if len(lastErr) > 2000 {
		lastErr = lastErr[:2000]
	}
	lastErr = strings.ToValidUTF8(lastErr, "?")
	args := append([]any{state, ts(next), lastErr}, setArgs...)
	_, err := s.exec(ctx, `UPDATE `+table+` SET state = ?, attempts = attempts + 1, next_at = ?, last_error = ?,
		lease_owner = '', lease_until = NULL`+set+` WHERE id = ?`, append(args, id)...)
	return err
}

// RetryEvent implements bots.Queue.
func (s *Store) RetryEvent(ctx context.Context, id int64, next time.Time, failed bool, lastErr string) error {
	if err := s.retry(ctx, "inbox", id, next, failed, lastErr, ""); err != nil {
		return fmt.Errorf("sqlstore: retry event %d: %w", id, err)
	}
	return nil
}

// PutOutgoing implements bots.Queue. The messages go in one statement: a
// round trip per message is most of the cost on PostgreSQL.
func (s *Store) PutOutgoing(ctx context.Context, out []bots.Outgoing, now time.Time) error {
	if len(out) == 0 {
		return nil
	}
	if s.def != nil {
		_, err := s.deferOutgoing(ctx, out, now, "", time.Time{})
		return err
	}
	query, args, err := putOutgoingQuery(out, now, "", time.Time{})
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, query, args...); err != nil {
		return fmt.Errorf("sqlstore: put %d outgoing messages: %w", len(out), err)
	}
	return nil
}

// PutOutgoingClaimed implements bots.Queue, in one statement too.
func (s *Store) PutOutgoingClaimed(ctx context.Context, out []bots.Outgoing, owner string, lease time.Duration, now time.Time) ([]bots.OutboxItem, error) {
	if len(out) == 0 {
		return nil, nil
	}
	if s.def != nil {
		return s.deferOutgoing(ctx, out, now, owner, now.Add(lease))
	}
	query, args, err := putOutgoingQuery(out, now, owner, now.Add(lease))
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ID  int64  `db:"id"`
		Key string `db:"key"`
	}
	if err := s.selectAll(ctx, &rows, query+" RETURNING id, key", args...); err != nil {
		return nil, fmt.Errorf("sqlstore: put %d outgoing messages: %w", len(out), err)
	}
	byKey := make(map[string]int64, len(rows))
	for _, r := range rows {
		byKey[r.Key] = r.ID
	}
	items := make([]bots.OutboxItem, 0, len(rows))
	for _, o := range out {
		if id, ok := byKey[o.Key]; ok {
			items = append(items, bots.OutboxItem{ID: id, Outgoing: o, Created: ts(now)})
			delete(byKey, o.Key)
		}
	}
	return items, nil
}

// ReleaseOutgoing implements bots.Queue.
func (s *Store) ReleaseOutgoing(ctx context.Context, ids []int64, owner string) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, owner)
		for _, id := range chunk {
			args = append(args, id)
		}
		if _, err := s.exec(ctx, `UPDATE outbox SET lease_owner = '', lease_until = NULL
			WHERE state = 'pending' AND lease_owner = ? AND id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...); err != nil {
			return fmt.Errorf("sqlstore: release %d outgoing messages: %w", len(chunk), err)
		}
	}
	return nil
}

// outboxRow is an outgoing message as the outbox stores it; id is zero
// until a deferring transaction gives it one.
type outboxRow struct {
	id       int64
	key      string
	platform string
	payload  string
	owner    string
	lease    sql.NullTime
	now      time.Time
}

// outboxRows checks and encodes out, leased to owner until until when owner
// is not empty.
func outboxRows(out []bots.Outgoing, now time.Time, owner string, until time.Time) ([]outboxRow, error) {
	lease := nullTime(time.Time{})
	if owner != "" {
		lease = nullTime(until)
	}
	rows := make([]outboxRow, 0, len(out))
	for _, o := range out {
		if o.Key == "" {
			return nil, fmt.Errorf("sqlstore: put outgoing: %w: message without key", core.ErrInvalid)
		}
		payload, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: put outgoing %s: %w", o.Key, err)
		}
		rows = append(rows, outboxRow{key: o.Key, platform: string(o.To.Platform), payload: string(payload), owner: owner, lease: lease, now: ts(now)})
	}
	return rows, nil
}

// insertOutboxQuery is the statement that stores rows, with their ids when
// withIDs; a row whose key is taken is skipped.
func insertOutboxQuery(rows []outboxRow, withIDs bool) (string, []any) {
	var query strings.Builder
	query.WriteString("INSERT INTO outbox (")
	if withIDs {
		query.WriteString("id, ")
	}
	query.WriteString("key, platform, payload, state, next_at, created_at, lease_owner, lease_until) VALUES ")
	args := make([]any, 0, 8*len(rows))
	for i, r := range rows {
		if i > 0 {
			query.WriteString(", ")
		}
		if withIDs {
			query.WriteString("(?, ")
			args = append(args, r.id)
		} else {
			query.WriteString("(")
		}
		query.WriteString("?, ?, ?, 'pending', ?, ?, ?, ?)")
		args = append(args, r.key, r.platform, r.payload, r.now, r.now, r.owner, r.lease)
	}
	query.WriteString(" ON CONFLICT (key) DO NOTHING")
	return query.String(), args
}

// putOutgoingQuery is the statement that stores out, leased to owner
// until until when owner is not empty.
func putOutgoingQuery(out []bots.Outgoing, now time.Time, owner string, until time.Time) (string, []any, error) {
	rows, err := outboxRows(out, now, owner, until)
	if err != nil {
		return "", nil, err
	}
	query, args := insertOutboxQuery(rows, false)
	return query, args, nil
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
	var rows []struct {
		claimedRow
		InDoubt bool      `db:"in_doubt"`
		Created time.Time `db:"created_at"`
	}
	if err := s.claim(ctx, &rows, "outbox", "id, payload, attempts, in_doubt, created_at", extra, args, owner, limit, lease, now); err != nil {
		return nil, fmt.Errorf("sqlstore: claim outgoing: %w", err)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	out := make([]bots.OutboxItem, 0, len(rows))
	for _, r := range rows {
		item := bots.OutboxItem{ID: r.ID, Attempts: r.Attempts, InDoubt: r.InDoubt, Created: r.Created}
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

// MarkAllSent implements bots.Queue: one statement per 500 messages.
func (s *Store) MarkAllSent(ctx context.Context, sent []bots.SentMessage, now time.Time) error {
	for len(sent) > 0 {
		chunk := sent[:min(len(sent), 500)]
		sent = sent[len(chunk):]
		if err := s.putReactions(ctx, chunk, now); err != nil {
			return err
		}
		var query strings.Builder
		query.WriteString("UPDATE outbox SET state = 'sent', sent_at = ?, lease_until = NULL, message_id = CASE id")
		args := make([]any, 0, 1+3*len(chunk))
		args = append(args, ts(now))
		for _, m := range chunk {
			query.WriteString(" WHEN ? THEN ?")
			args = append(args, m.ID, m.MessageID)
		}
		query.WriteString(" ELSE message_id END WHERE id IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")")
		for _, m := range chunk {
			args = append(args, m.ID)
		}
		if _, err := s.exec(ctx, query.String(), args...); err != nil {
			return fmt.Errorf("sqlstore: mark %d messages sent: %w", len(chunk), err)
		}
		for _, m := range chunk {
			if !m.Scrub {
				continue
			}
			if _, err := s.exec(ctx, "UPDATE outbox SET payload = '{}' WHERE id = ?", m.ID); err != nil {
				return fmt.Errorf("sqlstore: scrub sent message %d: %w", m.ID, err)
			}
		}
	}
	return nil
}

// putReactions records the reactions the sent messages offer, before they
// are marked: should the mark not happen, the message is sent again under
// the same id on the platforms that offer reactions (Matrix), and its
// reactions are found recorded already.
func (s *Store) putReactions(ctx context.Context, sent []bots.SentMessage, now time.Time) error {
	var query strings.Builder
	var args []any
	for _, m := range sent {
		for _, r := range m.Reactions {
			if len(args) == 0 {
				query.WriteString("INSERT INTO reactions (platform, message_id, reaction, command, undo, created_at) VALUES ")
			} else {
				query.WriteString(", ")
			}
			query.WriteString("(?, ?, ?, ?, ?, ?)")
			args = append(args, m.Platform, m.MessageID, r.Key, r.Command, r.Undo, ts(now))
		}
	}
	if len(args) == 0 {
		return nil
	}
	query.WriteString(" ON CONFLICT (platform, message_id, reaction) DO NOTHING")
	if _, err := s.exec(ctx, query.String(), args...); err != nil {
		return fmt.Errorf("sqlstore: record the reactions of %d messages: %w", len(sent), err)
	}
	return nil
}

// ReactionFor implements bots.Queue.
func (s *Store) ReactionFor(ctx context.Context, platform core.Platform, messageID, key string) (bots.Reaction, error) {
	var rows []struct {
		Command string `db:"command"`
		Undo    string `db:"undo"`
	}
	if err := s.selectAll(ctx, &rows, "SELECT command, undo FROM reactions WHERE platform = ? AND message_id = ? AND reaction = ?",
		string(platform), messageID, key); err != nil {
		return bots.Reaction{}, fmt.Errorf("sqlstore: reaction %q to %s: %w", key, messageID, err)
	}
	if len(rows) == 0 {
		return bots.Reaction{Key: key}, nil
	}
	return bots.Reaction{Key: key, Command: rows[0].Command, Undo: rows[0].Undo}, nil
}

// HandledEvent implements bots.Queue.
func (s *Store) HandledEvent(ctx context.Context, platform core.Platform, eventID string) (bots.Event, bool, error) {
	var payloads []string
	if err := s.selectAll(ctx, &payloads, "SELECT payload FROM inbox WHERE platform = ? AND event_id = ?", string(platform), eventID); err != nil {
		return bots.Event{}, false, fmt.Errorf("sqlstore: event %s of %s: %w", eventID, platform, err)
	}
	if len(payloads) == 0 {
		return bots.Event{}, false, nil
	}
	var ev bots.Event
	if err := json.Unmarshal([]byte(payloads[0]), &ev); err != nil {
		return bots.Event{}, false, fmt.Errorf("sqlstore: event %s of %s: %w", eventID, platform, err)
	}
	return ev, true, nil
}

// MarkSentAndDoubt implements bots.Queue: one message sent and the next in
// doubt take one statement.
func (s *Store) MarkSentAndDoubt(ctx context.Context, sent []bots.SentMessage, doubt int64, now time.Time) error {
	switch {
	case doubt == 0:
		return s.MarkAllSent(ctx, sent, now)
	case len(sent) != 1:
		if err := s.MarkAllSent(ctx, sent, now); err != nil {
			return err
		}
		if _, err := s.exec(ctx, "UPDATE outbox SET in_doubt = TRUE WHERE id = ? AND state = 'pending'", doubt); err != nil {
			return fmt.Errorf("sqlstore: mark message %d in doubt: %w", doubt, err)
		}
		return nil
	}
	m := sent[0]
	if err := s.putReactions(ctx, sent, now); err != nil {
		return err
	}
	if _, err := s.exec(ctx, `UPDATE outbox SET
		state = CASE WHEN id = ? THEN 'sent' ELSE state END,
		sent_at = CASE WHEN id = ? THEN ? ELSE sent_at END,
		lease_until = CASE WHEN id = ? THEN NULL ELSE lease_until END,
		message_id = CASE WHEN id = ? THEN ? ELSE message_id END,
		in_doubt = CASE WHEN id = ? AND state = 'pending' THEN TRUE ELSE in_doubt END
		WHERE id IN (?, ?)`, m.ID, m.ID, ts(now), m.ID, m.ID, m.MessageID, doubt, m.ID, doubt); err != nil {
		return fmt.Errorf("sqlstore: mark message %d sent and %d in doubt: %w", m.ID, doubt, err)
	}
	if m.Scrub {
		if _, err := s.exec(ctx, "UPDATE outbox SET payload = '{}' WHERE id = ?", m.ID); err != nil {
			return fmt.Errorf("sqlstore: scrub sent message %d: %w", m.ID, err)
		}
	}
	return nil
}

// RetryOutgoing implements bots.Queue, in one statement with the doubt.
func (s *Store) RetryOutgoing(ctx context.Context, id int64, next time.Time, failed bool, lastErr string, inDoubt bool) error {
	if err := s.retry(ctx, "outbox", id, next, failed, lastErr, ", in_doubt = ?", inDoubt); err != nil {
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

const queryScheduleJob = `INSERT INTO jobs (kind, key, payload, state, next_at, created_at)
	VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (key) DO NOTHING`

// ScheduleJob implements core.Store.
func (s *Store) ScheduleJob(ctx context.Context, j core.Job) error {
	if j.Key == "" || j.Kind == "" {
		return fmt.Errorf("sqlstore: schedule job: %w: job without kind or key", core.ErrInvalid)
	}
	if s.def != nil {
		s.def.jobs = append(s.def.jobs, j)
		return nil
	}
	if _, err := s.exec(ctx, queryScheduleJob, j.Kind, j.Key, j.Payload, ts(j.RunAt), ts(j.RunAt)); err != nil {
		return fmt.Errorf("sqlstore: schedule job %s: %w", j.Key, err)
	}
	return nil
}

type jobRow struct {
	ID       int64     `db:"id"`
	Kind     string    `db:"kind"`
	Key      string    `db:"key"`
	Payload  string    `db:"payload"`
	Attempts int       `db:"attempts"`
	NextAt   time.Time `db:"next_at"`
}

const jobColumns = "id, kind, key, payload, attempts, next_at"

// ClaimJobs implements bots.Queue.
func (s *Store) ClaimJobs(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]core.Job, error) {
	var rows []jobRow
	if err := s.claim(ctx, &rows, "jobs", jobColumns, "", nil, owner, limit, lease, now); err != nil {
		return nil, fmt.Errorf("sqlstore: claim jobs: %w", err)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	out := make([]core.Job, len(rows))
	for i, r := range rows {
		out[i] = core.Job{ID: r.ID, Kind: r.Kind, Key: r.Key, Payload: r.Payload, Attempts: r.Attempts, RunAt: r.NextAt.UTC()}
	}
	return out, nil
}

// FinishJob implements bots.Queue.
func (s *Store) FinishJob(ctx context.Context, id int64, owner string, now time.Time) error {
	if err := s.finish(ctx, "jobs", id, owner, now); err != nil {
		return fmt.Errorf("sqlstore: finish job %d: %w", id, err)
	}
	return nil
}

// RetryJob implements bots.Queue.
func (s *Store) RetryJob(ctx context.Context, id int64, next time.Time, failed bool, lastErr string) error {
	if err := s.retry(ctx, "jobs", id, next, failed, lastErr, ""); err != nil {
		return fmt.Errorf("sqlstore: retry job %d: %w", id, err)
	}
	return nil
}

// Purge implements bots.Queue.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for _, q := range []string{
		"DELETE FROM inbox WHERE state = 'done' AND done_at < ?",
		"DELETE FROM outbox WHERE state = 'sent' AND sent_at < ?",
		"DELETE FROM jobs WHERE state = 'done' AND done_at < ?",
		"DELETE FROM reactions WHERE created_at < ?",
	} {
		at := before
		if strings.Contains(q, "reactions") {
			at = before.Add(-bots.ReactionsKept)
		}
		res, err := s.exec(ctx, q, ts(at))
		if err != nil {
			return total, fmt.Errorf("sqlstore: purge: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
