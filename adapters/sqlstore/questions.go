package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"entraide/core"
)

type questionRow struct {
	ID             int64     `db:"id"`
	CommunityID    int64     `db:"community_id"`
	AskerID        int64     `db:"asker_id"`
	Body           string    `db:"body"`
	Lang           string    `db:"lang"`
	State          string    `db:"state"`
	OriginPlatform string    `db:"origin_platform"`
	OriginRoom     string    `db:"origin_room"`
	OriginMessage  string    `db:"origin_message"`
	OriginThread   string    `db:"origin_thread"`
	OriginDM       bool      `db:"origin_dm"`
	Anonymous      bool      `db:"anonymous"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
}

func (r questionRow) question() core.Question {
	return core.Question{
		ID:        core.QuestionID(r.ID),
		Community: core.CommunityID(r.CommunityID),
		Asker:     core.PersonID(r.AskerID),
		Text:      r.Body,
		Lang:      r.Lang,
		State:     core.State(r.State),
		Origin: core.MessageRef{
			Platform: core.Platform(r.OriginPlatform), Room: r.OriginRoom,
			Message: r.OriginMessage, Thread: r.OriginThread, DM: r.OriginDM,
		},
		Anonymous: r.Anonymous,
		CreatedAt: r.CreatedAt.UTC(),
		UpdatedAt: r.UpdatedAt.UTC(),
	}
}

const selectQuestion = `SELECT id, community_id, asker_id, body, lang, state, origin_platform, origin_room,
	origin_message, origin_thread, origin_dm, anonymous, created_at, updated_at FROM questions`

const queryCreateQuestion = `INSERT INTO questions (community_id, asker_id, body, lang, state, origin_platform, origin_room,
	origin_message, origin_thread, origin_dm, anonymous, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// CreateQuestion implements core.Store.
func (s *Store) CreateQuestion(ctx context.Context, q core.Question) (core.Question, error) {
	if !q.State.Valid() {
		return core.Question{}, fmt.Errorf("sqlstore: create question: %w: state %q", core.ErrInvalid, q.State)
	}
	q.CreatedAt, q.UpdatedAt = ts(q.CreatedAt), ts(q.UpdatedAt)
	if s.def != nil {
		return s.deferQuestion(ctx, q)
	}
	var id int64
	err := s.get(ctx, &id, queryCreateQuestion,
		int64(q.Community), int64(q.Asker), q.Text, q.Lang, string(q.State), string(q.Origin.Platform), q.Origin.Room,
		q.Origin.Message, q.Origin.Thread, q.Origin.DM, q.Anonymous, q.CreatedAt, q.UpdatedAt)
	if err != nil {
		return core.Question{}, fmt.Errorf("sqlstore: create question: %w", err)
	}
	q.ID = core.QuestionID(id)
	return q, nil
}

// Question implements core.Store.
func (s *Store) Question(ctx context.Context, id core.QuestionID) (core.Question, error) {
	var r questionRow
	if err := s.get(ctx, &r, selectQuestion+" WHERE id = ?", int64(id)); err != nil {
		return core.Question{}, notFound(err, fmt.Sprintf("sqlstore: question %d", id))
	}
	return r.question(), nil
}

// SetQuestionState implements core.Store.
func (s *Store) SetQuestionState(ctx context.Context, id core.QuestionID, from, to core.State, at time.Time) error {
	if s.def != nil {
		// A question this transaction created and has not written yet
		// changes in memory: writing it first would take the experts'
		// locks in the middle of the transaction.
		for i := range s.def.questions {
			if q := &s.def.questions[i].q; q.ID == id {
				if q.State != from {
					return fmt.Errorf("sqlstore: question %d %s -> %s: %w: it is no longer %s", id, from, to, core.ErrConflict, from)
				}
				q.State, q.UpdatedAt = to, ts(at)
				return nil
			}
		}
	}
	res, err := s.exec(ctx, "UPDATE questions SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
		string(to), ts(at), int64(id), string(from))
	if err != nil {
		return fmt.Errorf("sqlstore: question %d %s -> %s: %w", id, from, to, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Question(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("sqlstore: question %d %s -> %s: %w: it is no longer %s", id, from, to, core.ErrConflict, from)
	}
	return nil
}

// QuestionsAfter implements core.Store.
func (s *Store) QuestionsAfter(ctx context.Context, after core.QuestionID, limit int) ([]core.Question, error) {
	var rows []questionRow
	if err := s.selectAll(ctx, &rows, selectQuestion+" WHERE id > ? ORDER BY id LIMIT ?", int64(after), limit); err != nil {
		return nil, fmt.Errorf("sqlstore: questions after %d: %w", after, err)
	}
	out := make([]core.Question, len(rows))
	for i, r := range rows {
		out[i] = r.question()
	}
	return out, nil
}

// QuestionsByAsker implements core.Store.
func (s *Store) QuestionsByAsker(ctx context.Context, asker core.PersonID, states ...core.State) ([]core.Question, error) {
	query := selectQuestion + " WHERE asker_id = ?"
	args := []any{int64(asker)}
	if len(states) > 0 {
		query += " AND state IN (?" + strings.Repeat(", ?", len(states)-1) + ")"
		for _, st := range states {
			args = append(args, string(st))
		}
	}
	var rows []questionRow
	if err := s.selectAll(ctx, &rows, query+" ORDER BY id", args...); err != nil {
		return nil, fmt.Errorf("sqlstore: questions of %d: %w", asker, err)
	}
	out := make([]core.Question, len(rows))
	for i, r := range rows {
		out[i] = r.question()
	}
	return out, nil
}

type routingRow struct {
	QuestionID int64     `db:"question_id"`
	ExpertID   int64     `db:"expert_id"`
	Status     string    `db:"status"`
	RoutedAt   time.Time `db:"routed_at"`
}

func (r routingRow) routing() core.Routing {
	return core.Routing{
		Question: core.QuestionID(r.QuestionID), Expert: core.PersonID(r.ExpertID),
		Status: core.RoutingStatus(r.Status), RoutedAt: r.RoutedAt.UTC(),
	}
}

func routings(rows []routingRow) []core.Routing {
	out := make([]core.Routing, len(rows))
	for i, r := range rows {
		out[i] = r.routing()
	}
	return out
}

// AddRouting implements core.Store.
func (s *Store) AddRouting(ctx context.Context, r core.Routing) error {
	_, err := s.exec(ctx, "INSERT INTO routings (question_id, expert_id, status, routed_at) VALUES (?, ?, ?, ?)",
		int64(r.Question), int64(r.Expert), string(r.Status), ts(r.RoutedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: route question %d to %d: %w: already routed", r.Question, r.Expert, core.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: route question %d to %d: %w", r.Question, r.Expert, err)
	}
	return nil
}

// AddRoutingsWithinBudget implements core.Store. The budgets are checked by
// the insert itself, which counts each expert's routings; on PostgreSQL the
// experts' rows are locked first, in id order (two processes routing to
// the same experts then wait for each other instead of deadlocking), so
// that the count, taken by the next statement, sees every routing
// committed before.
func (s *Store) AddRoutingsWithinBudget(ctx context.Context, q core.QuestionID, experts []core.PersonID, at, since time.Time, defaultBudget int) ([]core.PersonID, error) {
	if len(experts) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(experts))
	seen := make(map[core.PersonID]bool, len(experts))
	for _, e := range experts {
		if !seen[e] {
			seen[e] = true
			ids = append(ids, int64(e))
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	in := "(?" + strings.Repeat(", ?", len(ids)-1) + ")"
	idArgs := make([]any, len(ids))
	for i, id := range ids {
		idArgs[i] = id
	}
	if s.def != nil {
		routed, err := s.deferRoutings(ctx, q, ids, at, since, defaultBudget)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: route question %d within budgets: %w", q, err)
		}
		return keepOrder(experts, routed), nil
	}
	if s.dialect == SQLite && s.inTx {
		if routed, ok, err := s.addRoutingsKnownLoads(ctx, q, ids, at, since, defaultBudget); ok {
			if isUniqueViolation(err) {
				return nil, fmt.Errorf("sqlstore: route question %d: %w: already routed to one of %v", q, core.ErrConflict, experts)
			}
			if err != nil {
				return nil, fmt.Errorf("sqlstore: route question %d within budgets: %w", q, err)
			}
			return keepOrder(experts, routed), nil
		}
	}
	// PostgreSQL types the parameters of a SELECT list as text unless told.
	values := "?, e.person_id, ?, ?"
	if s.dialect == Postgres {
		values = "CAST(? AS BIGINT), e.person_id, CAST(? AS TEXT), CAST(? AS TIMESTAMPTZ)"
	}
	var routed []int64
	err := s.InTx(ctx, func(tx core.Store) error {
		t := tx.(*Store)
		if t.dialect == Postgres {
			var locked []int64
			if err := t.selectAll(ctx, &locked, "SELECT person_id FROM experts WHERE person_id IN "+in+
				" ORDER BY person_id FOR UPDATE", idArgs...); err != nil {
				return fmt.Errorf("lock experts: %w", err)
			}
		}
		args := append([]any{int64(q), string(core.RoutingAsked), ts(at)}, idArgs...)
		args = append(args, ts(since), defaultBudget)
		// The slots the process's open deferring transactions reserved are
		// taken: counting only the stored routings, this one would take
		// them, and their commits would fail, and their events, handled
		// one by one here, take more (a cascade seen with budgets of 5).
		reserved := ""
		if t.dialect == Postgres {
			open := t.holds.counts(ids, time.Now(), t)
			for _, id := range ids {
				if n := open[id]; n > 0 {
					reserved += " WHEN ? THEN ?"
					args = append(args, id, n)
				}
			}
			if reserved != "" {
				reserved = " - CASE e.person_id" + reserved + " ELSE 0 END"
			}
		}
		if err := t.selectAll(ctx, &routed, `INSERT INTO routings (question_id, expert_id, status, routed_at)
			SELECT `+values+` FROM experts e
			WHERE e.person_id IN `+in+`
				AND (SELECT COUNT(*) FROM routings r WHERE r.expert_id = e.person_id AND r.routed_at >= ?)
					< CASE WHEN e.daily_budget > 0 THEN e.daily_budget ELSE ? END`+reserved+`
			RETURNING expert_id`, args...); err != nil {
			return err
		}
		// Reserved until the transaction ends, for the process's deferring
		// transactions, which cannot see these rows before.
		if t.dialect == Postgres && t.inTx && len(routed) > 0 {
			t.holds.mu.Lock()
			for _, id := range routed {
				t.holds.add(t, id, true)
			}
			t.holds.mu.Unlock()
		}
		return nil
	})
	if isUniqueViolation(err) {
		return nil, fmt.Errorf("sqlstore: route question %d: %w: already routed to one of %v", q, core.ErrConflict, experts)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: route question %d within budgets: %w", q, err)
	}
	return keepOrder(experts, routed), nil
}

// keepOrder returns the experts whose ids are in routed, once each, in the
// order of experts.
func keepOrder(experts []core.PersonID, routed []int64) []core.PersonID {
	ok := make(map[core.PersonID]bool, len(routed))
	for _, id := range routed {
		ok[core.PersonID(id)] = true
	}
	out := make([]core.PersonID, 0, len(routed))
	for _, e := range experts {
		if ok[e] {
			out = append(out, e)
			delete(ok, e)
		}
	}
	return out
}

// addRoutingsKnownLoads is AddRoutingsWithinBudget in a SQLite transaction
// that already read the load of every expert in ids (ExpertLoad, as
// routing does to choose them): the budgets are checked against what it
// read, with no count again, and the routings stored in one plain insert.
// ok is false when a load is not known, and nothing was done.
func (s *Store) addRoutingsKnownLoads(ctx context.Context, q core.QuestionID, ids []int64, at, since time.Time, defaultBudget int) (routed []int64, ok bool, err error) {
	loads := make([]expertLoad, len(ids))
	for i, id := range ids {
		l, known := s.reads.load(core.PersonID(id), since)
		if !known {
			return nil, false, nil
		}
		loads[i] = l
	}
	for i, id := range ids {
		budget := loads[i].expert.DailyBudget
		if budget <= 0 {
			budget = defaultBudget
		}
		if loads[i].count < budget {
			routed = append(routed, id)
		}
	}
	if len(routed) == 0 {
		return nil, true, nil
	}
	args := make([]any, 0, 4*len(routed))
	for _, id := range routed {
		args = append(args, int64(q), id, string(core.RoutingAsked), ts(at))
	}
	query := "INSERT INTO routings (question_id, expert_id, status, routed_at) VALUES (?, ?, ?, ?)" +
		strings.Repeat(", (?, ?, ?, ?)", len(routed)-1)
	before := s.reads.loads
	if _, err := s.exec(ctx, query, args...); err != nil {
		return nil, true, err
	}
	// The insert made exec forget the loads; they are known again, one
	// routing more each.
	s.reads.loads = before
	for i, id := range ids {
		if slices.Contains(routed, id) {
			l := loads[i]
			l.count++
			s.reads.keepLoad(core.PersonID(id), l)
		}
	}
	return routed, true, nil
}

// Routings implements core.Store.
func (s *Store) Routings(ctx context.Context, q core.QuestionID) ([]core.Routing, error) {
	var rows []routingRow
	if err := s.selectAll(ctx, &rows, `SELECT question_id, expert_id, status, routed_at FROM routings
		WHERE question_id = ? ORDER BY routed_at, expert_id`, int64(q)); err != nil {
		return nil, fmt.Errorf("sqlstore: routings of question %d: %w", q, err)
	}
	return routings(rows), nil
}

// PendingRoutings implements core.Store.
func (s *Store) PendingRoutings(ctx context.Context, expert core.PersonID) ([]core.Routing, error) {
	var rows []routingRow
	if err := s.selectAll(ctx, &rows, `SELECT r.question_id, r.expert_id, r.status, r.routed_at
		FROM routings r JOIN questions q ON q.id = r.question_id
		WHERE r.expert_id = ? AND r.status = ? AND q.state NOT IN (?, ?)
		ORDER BY r.routed_at, r.question_id`,
		int64(expert), string(core.RoutingAsked), string(core.StateResolved), string(core.StateExpired)); err != nil {
		return nil, fmt.Errorf("sqlstore: pending routings of %d: %w", expert, err)
	}
	return routings(rows), nil
}

// SetRoutingStatus implements core.Store.
func (s *Store) SetRoutingStatus(ctx context.Context, q core.QuestionID, expert core.PersonID, status core.RoutingStatus) error {
	res, err := s.exec(ctx, "UPDATE routings SET status = ? WHERE question_id = ? AND expert_id = ?", string(status), int64(q), int64(expert))
	if err != nil {
		return fmt.Errorf("sqlstore: routing of question %d to %d: %w", q, expert, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: routing of question %d to %d: %w", q, expert, core.ErrNotFound)
	}
	return nil
}

// CountRoutingsSince implements core.Store.
func (s *Store) CountRoutingsSince(ctx context.Context, expert core.PersonID, since time.Time) (int, error) {
	var n int
	if err := s.get(ctx, &n, "SELECT COUNT(*) FROM routings WHERE expert_id = ? AND routed_at >= ?", int64(expert), ts(since)); err != nil {
		return 0, fmt.Errorf("sqlstore: count routings of %d: %w", expert, err)
	}
	return n, nil
}

type answerRow struct {
	ID         int64     `db:"id"`
	QuestionID int64     `db:"question_id"`
	AuthorID   int64     `db:"author_id"`
	Body       string    `db:"body"`
	Accepted   bool      `db:"accepted"`
	CreatedAt  time.Time `db:"created_at"`
}

// AddAnswer implements core.Store.
func (s *Store) AddAnswer(ctx context.Context, a core.Answer) (core.Answer, error) {
	a.CreatedAt = ts(a.CreatedAt)
	var id int64
	if err := s.get(ctx, &id, "INSERT INTO answers (question_id, author_id, body, created_at) VALUES (?, ?, ?, ?) RETURNING id",
		int64(a.Question), int64(a.Author), a.Text, a.CreatedAt); err != nil {
		return core.Answer{}, fmt.Errorf("sqlstore: add answer to question %d: %w", a.Question, err)
	}
	a.ID = core.AnswerID(id)
	return a, nil
}

// Answers implements core.Store.
func (s *Store) Answers(ctx context.Context, q core.QuestionID) ([]core.Answer, error) {
	var rows []answerRow
	if err := s.selectAll(ctx, &rows, selectAnswer+" WHERE question_id = ? ORDER BY id", int64(q)); err != nil {
		return nil, fmt.Errorf("sqlstore: answers of question %d: %w", q, err)
	}
	return answers(rows), nil
}

// AnswersAfter implements core.Store.
func (s *Store) AnswersAfter(ctx context.Context, after core.AnswerID, limit int) ([]core.Answer, error) {
	var rows []answerRow
	if err := s.selectAll(ctx, &rows, selectAnswer+" WHERE id > ? ORDER BY id LIMIT ?", int64(after), limit); err != nil {
		return nil, fmt.Errorf("sqlstore: answers after %d: %w", after, err)
	}
	return answers(rows), nil
}

const selectAnswer = "SELECT id, question_id, author_id, body, accepted, created_at FROM answers"

// Answer implements core.Store.
func (s *Store) Answer(ctx context.Context, id core.AnswerID) (core.Answer, error) {
	var rows []answerRow
	if err := s.selectAll(ctx, &rows, selectAnswer+" WHERE id = ?", int64(id)); err != nil {
		return core.Answer{}, fmt.Errorf("sqlstore: answer %d: %w", id, err)
	}
	if len(rows) == 0 {
		return core.Answer{}, fmt.Errorf("sqlstore: answer %d: %w", id, core.ErrNotFound)
	}
	return answers(rows)[0], nil
}

// AcceptAnswer implements core.Store.
func (s *Store) AcceptAnswer(ctx context.Context, id core.AnswerID) error {
	res, err := s.exec(ctx, `UPDATE answers SET accepted = (id = ?)
		WHERE question_id = (SELECT question_id FROM answers WHERE id = ?)`, int64(id), int64(id))
	if err != nil {
		return fmt.Errorf("sqlstore: accept answer %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: answer %d: %w", id, core.ErrNotFound)
	}
	return nil
}

func answers(rows []answerRow) []core.Answer {
	out := make([]core.Answer, len(rows))
	for i, r := range rows {
		out[i] = core.Answer{ID: core.AnswerID(r.ID), Question: core.QuestionID(r.QuestionID),
			Author: core.PersonID(r.AuthorID), Text: r.Body, Accepted: r.Accepted, CreatedAt: r.CreatedAt.UTC()}
	}
	return out
}

// Checkpoint implements core.Store.
func (s *Store) Checkpoint(ctx context.Context, key string) (string, error) {
	var v []string
	if err := s.selectAll(ctx, &v, "SELECT value FROM checkpoints WHERE key = ?", key); err != nil {
		return "", fmt.Errorf("sqlstore: checkpoint %q: %w", key, err)
	}
	if len(v) == 0 {
		return "", nil
	}
	return v[0], nil
}

// SetCheckpoint implements core.Store.
func (s *Store) SetCheckpoint(ctx context.Context, key, value string) error {
	if _, err := s.exec(ctx, `INSERT INTO checkpoints (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, value, ts(time.Now())); err != nil {
		return fmt.Errorf("sqlstore: set checkpoint %q: %w", key, err)
	}
	return nil
}

// QuestionsByState counts the questions in each state, for the metrics.
func (s *Store) QuestionsByState(ctx context.Context) (map[core.State]int, error) {
	var rows []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := s.selectAll(ctx, &rows, "SELECT state, COUNT(*) AS n FROM questions GROUP BY state"); err != nil {
		return nil, fmt.Errorf("sqlstore: questions by state: %w", err)
	}
	out := map[core.State]int{}
	for _, r := range rows {
		out[core.State(r.State)] = r.N
	}
	return out, nil
}
