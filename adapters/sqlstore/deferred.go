package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"entraide/bots"
	"entraide/core"
)

// Deferred writes. On PostgreSQL every statement is a round trip, and
// handling a question ran about a dozen: a batch of events handled in one
// transaction (bots.PipelineConfig.BatchTx) still paid them all. A
// transaction that defers its writes (DeferWrites) keeps the rows it
// creates in the tables of the ask path (questions, their routings and
// escalation jobs, outgoing messages, handled events) in memory and writes
// them at commit, one multi-row statement per table. What the transaction
// reads stays true:
//
//   - new questions and outgoing messages get their ids at once, from their
//     sequences (128 at a time per process), so callers see them as before;
//   - a statement that names one of those tables writes what was deferred
//     first (reads see the rows, updates find them), except the experts'
//     loads, which count the deferred routings through the reservations
//     below, and a question created in the transaction, whose state changes
//     in memory (writing it would lock the experts twice in one
//     transaction, which deadlocks against another doing the same);
//   - budgets are decided on the experts' loads as the transaction read
//     them, plus the routings the process's other open transactions took
//     and its own (reservations, see holds), so that the workers of one
//     process do not promise the same last slots; they are checked again at
//     commit with the experts locked in id order: when another process
//     spent a budget meanwhile, the commit fails with core.ErrConflict and
//     nothing is written (the pipeline then handles each event on its own);
//   - a handled event is marked done at commit, where a lease lost
//     meanwhile fails the commit the same way;
//   - a deferred row that would collide with a stored one (a key taken) fails
//     the commit instead of being skipped.
//
// Only PostgreSQL defers: SQLite's statements cost no round trip.
type deferred struct {
	questions []deferredQuestion
	routings  []deferredRouting
	jobs      []core.Job
	outbox    []outboxRow
	finished  []deferredFinish
}

type deferredQuestion struct {
	id int64
	q  core.Question
}

type deferredRouting struct {
	question      core.QuestionID
	expert        int64
	at, since     time.Time
	defaultBudget int
}

type deferredFinish struct {
	id     int64
	owner  string
	locked bool // by the transaction (LockEvents), not leased to owner
	at     time.Time
}

func (d *deferred) pending() bool {
	return len(d.questions)+len(d.routings)+len(d.jobs)+len(d.outbox)+len(d.finished) > 0
}

// deferredTables are the tables whose new rows a deferring transaction
// keeps until commit.
var deferredTables = []string{"questions", "routings", "jobs", "outbox", "inbox"}

// idBlock is how many ids a process takes from a table's sequence at a
// time, for its deferring transactions.
const idBlock = 128

// idPools are the ids a process took from the sequences and has not used
// yet, by table: shared by its transactions (an id taken is never given
// to anyone else, used or not; ids left unused are gaps).
type idPools struct {
	mu   sync.Mutex
	ids  map[string][]int64
	seqs map[string]string // each table's sequence, as a SQL literal
}

// sequence returns the literal naming table's id sequence, asked of the
// database once: nextval then takes a constant, where
// pg_get_serial_sequence in the statement was run for every id (4.2 µs
// an id against 0.7 µs on this project's machine).
func (p *idPools) sequence(ctx context.Context, s *Store, table string) (string, error) {
	p.mu.Lock()
	seq, ok := p.seqs[table]
	p.mu.Unlock()
	if ok {
		return seq, nil
	}
	var name string
	if err := s.get(ctx, &name, "SELECT pg_get_serial_sequence(?, 'id')", table); err != nil {
		return "", err
	}
	seq = "'" + strings.ReplaceAll(name, "'", "''") + "'"
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seqs == nil {
		p.seqs = map[string]string{}
	}
	p.seqs[table] = seq
	return seq, nil
}

func (p *idPools) take(table string) (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := p.ids[table]
	if len(ids) == 0 {
		return 0, false
	}
	p.ids[table] = ids[1:]
	return ids[0], true
}

func (p *idPools) put(table string, ids []int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil {
		p.ids = map[string][]int64{}
	}
	p.ids[table] = append(p.ids[table], ids...)
}

// holds are the routings a process's transactions decided and have not
// committed yet, by expert: a deferring transaction's budget decision
// counts them beside the routings stored, so that two workers do not both
// take an expert's last slot (they would, reading the same count, and one
// commit would fail). Transactions that write their routings at once
// (AddRoutingsWithinBudget outside deferral) reserve them too, until they
// end: a deferring transaction could not see them otherwise. A reservation is released when its transaction ends, and still
// counted by any read of the stored routings that began before that: the
// read may not see the routing its commit stored.
type holds struct {
	mu sync.Mutex
	by map[int64][]*hold
}

type hold struct {
	tx       *Store    // the transaction's store
	flushed  bool      // its routing is written, visible to its own transaction
	released time.Time // zero while its transaction is open
	aborted  bool      // its transaction rolled back: nothing to count
}

// count returns the reservations on expert that a read of the stored
// routings begun at readAt by transaction self may not see: not those of
// self already written. It forgets those released long enough ago that no
// read under way can have begun before. The caller holds h.mu.
func (h *holds) count(expert int64, readAt time.Time, self *Store) int {
	rs := h.by[expert]
	n, kept := 0, rs[:0]
	now := time.Now()
	for _, r := range rs {
		if !r.released.IsZero() && now.Sub(r.released) >= holdGrace {
			continue
		}
		kept = append(kept, r)
		if (r.tx == self && r.flushed) || r.aborted {
			continue
		}
		if r.released.IsZero() || r.released.After(readAt) {
			n++
		}
	}
	if len(kept) == 0 {
		delete(h.by, expert)
	} else {
		h.by[expert] = kept
	}
	return n
}

// counts is count for several experts, under the lock.
func (h *holds) counts(experts []int64, readAt time.Time, self *Store) map[int64]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[int64]int, len(experts))
	for _, e := range experts {
		out[e] = h.count(e, readAt, self)
	}
	return out
}

// add reserves a routing to expert for transaction tx, already written
// (visible to tx) or not. The caller holds h.mu.
func (h *holds) add(tx *Store, expert int64, written bool) {
	if h.by == nil {
		h.by = map[int64][]*hold{}
	}
	h.count(expert, time.Time{}, nil) // forgets the expert's old reservations
	r := &hold{tx: tx, flushed: written}
	h.by[expert] = append(h.by[expert], r)
	tx.held = append(tx.held, r)
}

// flushed notes that the routings tx reserved are written: its own reads
// see them in the table.
func (h *holds) flushed(tx *Store) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range tx.held {
		r.flushed = true
	}
}

// release ends the reservations of tx; when it committed, they are still
// counted by reads begun before, for holdGrace (the read may not see its
// routings), and when it rolled back, by no one: counted, they would make
// experts look full (for a minute: core's fullCache) after every batch
// that failed.
func (h *holds) release(tx *Store, committed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	for _, r := range tx.held {
		r.released, r.aborted = now, !committed
	}
	tx.held = nil
}

// holdGrace is how long a released reservation is still counted by reads
// begun before its release: longer than any read of the experts' loads.
const holdGrace = 10 * time.Second

// DeferWrites makes the rest of the transaction defer its writes to the
// tables of the ask path until commit (see deferred). It does nothing
// outside a transaction, and on SQLite.
func (s *Store) DeferWrites() {
	if s.inTx && s.dialect == Postgres && s.def == nil {
		s.def = &deferred{}
	}
}

// flushFor writes what was deferred before a statement that names one of
// the deferred tables runs.
func (s *Store) flushFor(ctx context.Context, query string) error {
	if s.def == nil || !s.def.pending() || strings.HasPrefix(query, expertLoadsPrefix) || strings.HasPrefix(query, nextIDsPrefix) {
		return nil
	}
	for _, t := range deferredTables {
		if strings.Contains(query, t) {
			return s.flush(ctx)
		}
	}
	return nil
}

const nextIDsPrefix = "SELECT nextval("

// nextID returns an id of table's sequence, from the process's pool,
// which takes a block of them when empty.
func (s *Store) nextID(ctx context.Context, table string) (int64, error) {
	for {
		if id, ok := s.ids.take(table); ok {
			return id, nil
		}
		seq, err := s.ids.sequence(ctx, s, table)
		if err != nil {
			return 0, fmt.Errorf("sqlstore: ids of %s: %w", table, err)
		}
		var ids []int64
		if err := s.selectAll(ctx, &ids, nextIDsPrefix+seq+") FROM generate_series(1, ?)", idBlock); err != nil {
			return 0, fmt.Errorf("sqlstore: ids of %s: %w", table, err)
		}
		if len(ids) == 0 {
			return 0, fmt.Errorf("sqlstore: ids of %s: none given", table)
		}
		s.ids.put(table, ids)
	}
}

// deferQuestion is CreateQuestion in a deferring transaction.
func (s *Store) deferQuestion(ctx context.Context, q core.Question) (core.Question, error) {
	id, err := s.nextID(ctx, "questions")
	if err != nil {
		return core.Question{}, err
	}
	q.ID = core.QuestionID(id)
	s.def.questions = append(s.def.questions, deferredQuestion{id: id, q: q})
	return q, nil
}

// deferRoutings is AddRoutingsWithinBudget in a deferring transaction: the
// budgets are checked against the experts' stored routings and the
// process's reservations; the routings taken are reserved, and checked
// again at commit.
func (s *Store) deferRoutings(ctx context.Context, q core.QuestionID, ids []int64, at, since time.Time, defaultBudget int) ([]int64, error) {
	for _, r := range s.def.routings {
		if r.question == q && slices.Contains(ids, r.expert) {
			return nil, fmt.Errorf("%w: question %d already routed to %d", core.ErrConflict, q, r.expert)
		}
	}
	persons := make([]core.PersonID, len(ids))
	for i, id := range ids {
		persons[i] = core.PersonID(id)
	}
	// The loads as the transaction read them: what the process's other
	// transactions routed since is in their reservations, released after
	// that read; another process's routings are met at commit.
	stored, err := s.storedLoads(ctx, persons, since, false)
	if err != nil {
		return nil, err
	}
	h := s.holds
	h.mu.Lock()
	defer h.mu.Unlock()
	var routed []int64
	for _, id := range ids {
		l, ok := stored[core.PersonID(id)]
		if !ok {
			continue // not in the directory
		}
		budget := l.expert.DailyBudget
		if budget <= 0 {
			budget = defaultBudget
		}
		if l.count+h.count(id, l.readAt, s) >= budget {
			continue
		}
		routed = append(routed, id)
		h.add(s, id, false)
		s.def.routings = append(s.def.routings, deferredRouting{question: q, expert: id, at: ts(at), since: ts(since), defaultBudget: defaultBudget})
	}
	return routed, nil
}

// deferOutgoing is PutOutgoing and PutOutgoingClaimed in a deferring
// transaction; it returns the messages with their ids.
func (s *Store) deferOutgoing(ctx context.Context, out []bots.Outgoing, now time.Time, owner string, until time.Time) ([]bots.OutboxItem, error) {
	rows, err := outboxRows(out, now, owner, until)
	if err != nil {
		return nil, err
	}
	items := make([]bots.OutboxItem, len(out))
	for i := range rows {
		if rows[i].id, err = s.nextID(ctx, "outbox"); err != nil {
			return nil, err
		}
		items[i] = bots.OutboxItem{ID: rows[i].id, Outgoing: out[i], Created: rows[i].now}
	}
	s.def.outbox = append(s.def.outbox, rows...)
	return items, nil
}

// flush writes what the transaction deferred.
func (s *Store) flush(ctx context.Context) error {
	d := s.def
	s.def = nil // the statements below run as in any transaction
	defer func() { s.def = d }()
	if err := s.flushFinished(ctx, d.finished); err != nil {
		return err
	}
	d.finished = nil
	if err := s.flushQuestions(ctx, d.questions); err != nil {
		return err
	}
	d.questions = nil
	if err := s.flushJobs(ctx, d.jobs); err != nil {
		return err
	}
	d.jobs = nil
	if err := s.flushOutbox(ctx, d.outbox); err != nil {
		return err
	}
	d.outbox = nil
	// Last: the experts stay locked from here to the commit, which other
	// batches routing to them wait for.
	if err := s.flushRoutings(ctx, d.routings); err != nil {
		return err
	}
	if len(d.routings) > 0 {
		s.holds.flushed(s)
	}
	d.routings = nil
	return nil
}

// values returns n groups of m placeholders: "(?, ?), (?, ?)".
func values(n, m int) string {
	group := "(?" + strings.Repeat(", ?", m-1) + ")"
	return group + strings.Repeat(", "+group, n-1)
}

func (s *Store) flushFinished(ctx context.Context, rows []deferredFinish) error {
	if len(rows) == 0 {
		return nil
	}
	// One statement per owner (a batch has one), done at the latest time;
	// the events the transaction locked need no owner.
	type holder struct {
		owner  string
		locked bool
	}
	byOwner := map[holder][]any{}
	at := map[holder]time.Time{}
	var owners []holder
	for _, r := range rows {
		h := holder{r.owner, r.locked}
		if h.locked {
			h.owner = ""
		}
		if _, ok := byOwner[h]; !ok {
			owners = append(owners, h)
		}
		byOwner[h] = append(byOwner[h], r.id)
		if r.at.After(at[h]) {
			at[h] = r.at
		}
	}
	for _, owner := range owners {
		ids := byOwner[owner]
		args, lease := []any{ts(at[owner]), owner.owner}, " AND lease_owner = ?"
		if owner.locked {
			args, lease = args[:1], ""
		}
		args = append(args, ids...)
		res, err := s.exec(ctx, `UPDATE inbox SET state = 'done', done_at = ?, lease_until = NULL
			WHERE state = 'pending'`+lease+` AND id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, args...)
		if err != nil {
			return fmt.Errorf("sqlstore: finish %d events: %w", len(ids), err)
		}
		if n, _ := res.RowsAffected(); n != int64(len(ids)) {
			return fmt.Errorf("sqlstore: finish %d events: %w: %d handled elsewhere or leases lost", len(ids), core.ErrConflict, int64(len(ids))-n)
		}
	}
	return nil
}

func (s *Store) flushQuestions(ctx context.Context, rows []deferredQuestion) error {
	if len(rows) == 0 {
		return nil
	}
	args := make([]any, 0, 14*len(rows))
	for _, r := range rows {
		q := r.q
		args = append(args, r.id, int64(q.Community), int64(q.Asker), q.Text, q.Lang, string(q.State), string(q.Origin.Platform), q.Origin.Room,
			q.Origin.Message, q.Origin.Thread, q.Origin.DM, q.Anonymous, ts(q.CreatedAt), ts(q.UpdatedAt))
	}
	if _, err := s.exec(ctx, `INSERT INTO questions (id, community_id, asker_id, body, lang, state, origin_platform, origin_room,
		origin_message, origin_thread, origin_dm, anonymous, created_at, updated_at) VALUES `+values(len(rows), 14), args...); err != nil {
		return fmt.Errorf("sqlstore: create %d questions: %w", len(rows), err)
	}
	return nil
}

// flushRoutings locks the experts routed to in id order, checks that their
// budgets still hold with the deferred routings, and stores them.
func (s *Store) flushRoutings(ctx context.Context, rows []deferredRouting) error {
	if len(rows) == 0 {
		return nil
	}
	var experts []int64
	since := rows[0].since
	for _, r := range rows {
		if !slices.Contains(experts, r.expert) {
			experts = append(experts, r.expert)
		}
		if r.since.Before(since) {
			since = r.since
		}
	}
	sort.Slice(experts, func(i, j int) bool { return experts[i] < experts[j] })
	idArgs := make([]any, len(experts))
	ids := make([]core.PersonID, len(experts))
	for i, id := range experts {
		idArgs[i], ids[i] = id, core.PersonID(id)
	}
	var locked []int64
	if err := s.selectAll(ctx, &locked, "SELECT person_id FROM experts WHERE person_id IN (?"+strings.Repeat(", ?", len(experts)-1)+
		") ORDER BY person_id FOR UPDATE", idArgs...); err != nil {
		return fmt.Errorf("sqlstore: lock %d experts: %w", len(experts), err)
	}
	// Counted after the lock, by a statement of its own: its snapshot sees
	// every routing committed before (since is the earliest of the batch,
	// which may count a routing more than each question did: the check errs
	// on the side of refusing).
	loads, err := s.storedLoads(ctx, ids, since, true)
	if err != nil {
		return err
	}
	for _, id := range experts {
		l, ok := loads[core.PersonID(id)]
		if !ok {
			return fmt.Errorf("sqlstore: route to expert %d: %w: no longer in the directory", id, core.ErrConflict)
		}
		n, budget, away := 0, l.expert.DailyBudget, !l.expert.Available
		for _, r := range rows {
			if r.expert == id {
				n++
				if budget <= 0 {
					budget = r.defaultBudget
				}
				away = away || r.at.Before(l.expert.AwayUntil)
			}
		}
		if l.count+n > budget {
			return fmt.Errorf("sqlstore: route to expert %d: %w: %d routed, %d more, budget %d", id, core.ErrConflict, l.count, n, budget)
		}
		// The routing was decided on a read that may be seconds old (see
		// loadCache): an expert who went away meanwhile is not asked.
		if away {
			return fmt.Errorf("sqlstore: route to expert %d: %w: no longer available", id, core.ErrConflict)
		}
	}
	args := make([]any, 0, 4*len(rows))
	for _, r := range rows {
		args = append(args, int64(r.question), r.expert, string(core.RoutingAsked), r.at)
	}
	if _, err := s.exec(ctx, "INSERT INTO routings (question_id, expert_id, status, routed_at) VALUES "+values(len(rows), 4), args...); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("sqlstore: %d routings: %w: already routed", len(rows), core.ErrConflict)
		}
		return fmt.Errorf("sqlstore: %d routings: %w", len(rows), err)
	}
	return nil
}

func (s *Store) flushJobs(ctx context.Context, jobs []core.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	args := make([]any, 0, 5*len(jobs))
	for _, j := range jobs {
		args = append(args, j.Kind, j.Key, j.Payload, ts(j.RunAt), ts(j.RunAt))
	}
	// As ScheduleJob: a job whose key is taken is already scheduled.
	var groups []string
	for range jobs {
		groups = append(groups, "(?, ?, ?, 'pending', ?, ?)")
	}
	if _, err := s.exec(ctx, "INSERT INTO jobs (kind, key, payload, state, next_at, created_at) VALUES "+
		strings.Join(groups, ", ")+" ON CONFLICT (key) DO NOTHING", args...); err != nil {
		return fmt.Errorf("sqlstore: schedule %d jobs: %w", len(jobs), err)
	}
	return nil
}

func (s *Store) flushOutbox(ctx context.Context, rows []outboxRow) error {
	if len(rows) == 0 {
		return nil
	}
	query, args := insertOutboxQuery(rows, true)
	var stored []int64
	if err := s.selectAll(ctx, &stored, query+" RETURNING id", args...); err != nil {
		return fmt.Errorf("sqlstore: put %d outgoing messages: %w", len(rows), err)
	}
	if len(stored) != len(rows) {
		// A key was taken: the message exists already, and the id handed
		// out for it would name nothing.
		return fmt.Errorf("sqlstore: put %d outgoing messages: %w: %d keys taken", len(rows), core.ErrConflict, len(rows)-len(stored))
	}
	return nil
}
