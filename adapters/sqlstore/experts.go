package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"entraide/core"
)

type expertRow struct {
	PersonID     int64        `db:"person_id"`
	Organisation string       `db:"organisation"`
	Available    bool         `db:"available"`
	AwayUntil    sql.NullTime `db:"away_until"`
	DailyBudget  int          `db:"daily_budget"`
	QuietFrom    int          `db:"quiet_from"`
	QuietTo      int          `db:"quiet_to"`
	UpdatedAt    time.Time    `db:"updated_at"`
}

func (r expertRow) expert() core.Expert {
	e := core.Expert{
		Person:       core.PersonID(r.PersonID),
		Organisation: r.Organisation,
		Available:    r.Available,
		DailyBudget:  r.DailyBudget,
		UpdatedAt:    r.UpdatedAt.UTC(),
	}
	if r.AwayUntil.Valid {
		e.AwayUntil = r.AwayUntil.Time.UTC()
	}
	if r.QuietFrom >= 0 && r.QuietTo >= 0 {
		e.Quiet = core.QuietHours{From: r.QuietFrom, To: r.QuietTo, Set: true}
	}
	return e
}

type expertTopicRow struct {
	PersonID int64  `db:"person_id"`
	Topic    string `db:"topic"`
}

type expertLangRow struct {
	PersonID int64  `db:"person_id"`
	Lang     string `db:"lang"`
}

const selectExpert = `SELECT person_id, organisation, available, away_until, daily_budget, quiet_from, quiet_to, updated_at FROM experts`

// SaveExpert implements core.Store.
func (s *Store) SaveExpert(ctx context.Context, e core.Expert) error {
	err := s.InTx(ctx, func(tx core.Store) error {
		t := tx.(*Store)
		id := int64(e.Person)
		quietFrom, quietTo := -1, -1
		if e.Quiet.Set {
			quietFrom, quietTo = e.Quiet.From, e.Quiet.To
		}
		if _, err := t.exec(ctx, `INSERT INTO experts (person_id, organisation, available, away_until, daily_budget, quiet_from, quiet_to, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (person_id) DO UPDATE SET organisation = excluded.organisation, available = excluded.available,
				away_until = excluded.away_until, daily_budget = excluded.daily_budget, quiet_from = excluded.quiet_from,
				quiet_to = excluded.quiet_to, updated_at = excluded.updated_at`,
			id, e.Organisation, e.Available, nullTime(e.AwayUntil), e.DailyBudget, quietFrom, quietTo, ts(e.UpdatedAt)); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "DELETE FROM expert_topics WHERE person_id = ?", id); err != nil {
			return err
		}
		for i, topic := range e.Topics {
			if _, err := t.exec(ctx, "INSERT INTO expert_topics (person_id, position, topic) VALUES (?, ?, ?)", id, i, topic); err != nil {
				return err
			}
		}
		if _, err := t.exec(ctx, "DELETE FROM expert_languages WHERE person_id = ?", id); err != nil {
			return err
		}
		for _, lang := range e.Languages {
			if _, err := t.exec(ctx, "INSERT INTO expert_languages (person_id, lang) VALUES (?, ?) ON CONFLICT DO NOTHING", id, lang); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: save expert %d: %w", e.Person, err)
	}
	return nil
}

// DeleteExpert implements core.Store.
func (s *Store) DeleteExpert(ctx context.Context, id core.PersonID) error {
	res, err := s.exec(ctx, "DELETE FROM experts WHERE person_id = ?", int64(id))
	if err != nil {
		return fmt.Errorf("sqlstore: delete expert %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: delete expert %d: %w", id, core.ErrNotFound)
	}
	return nil
}

// expertLoadsQuery reads the load of n experts (see ExpertLoads). With
// people, it also reads each expert as a person with their preferred
// account, as People does: the experts chosen are told next, and the
// transaction then has them.
func expertLoadsQuery(n int, people bool) string {
	q := expertLoadsPrefix + `, e.available, e.away_until, e.daily_budget, e.quiet_from, e.quiet_to, e.updated_at,
	(SELECT COUNT(*) FROM routings r WHERE r.expert_id = e.person_id AND r.routed_at >= ?) AS routed`
	in := " e.person_id IN (?" + strings.Repeat(", ?", n-1) + ")"
	if !people {
		return q + " FROM experts e WHERE" + in
	}
	return q + `, p.display_name, p.lang, p.created_at, COALESCE(i.platform, '') AS platform, COALESCE(i.user_id, '') AS user_id
	FROM experts e JOIN people p ON p.id = e.person_id LEFT JOIN identities i ON i.person_id = e.person_id
	WHERE` + in + " ORDER BY e.person_id, i.preferred DESC, i.platform, i.user_id"
}

// expertLoadsPrefix starts the statement of ExpertLoads, which a deferring
// transaction runs without writing what it deferred first: the deferred
// routings are counted in memory.
const expertLoadsPrefix = "SELECT e.person_id, e.organisation"

// ExpertLoads implements core.Store, in one statement for the experts a
// SQLite transaction has not read yet (it keeps what it read, and the
// routing insert checks budgets against it: addRoutingsKnownLoads). On
// PostgreSQL the counts also hold the process's reservations (see holds),
// a deferring transaction's own among them: a transaction that routes at
// once must not take the slots the process's deferring ones reserved.
func (s *Store) ExpertLoads(ctx context.Context, ids []core.PersonID, since time.Time) (map[core.PersonID]core.Load, error) {
	stored, err := s.storedLoads(ctx, ids, since, false)
	if err != nil {
		return nil, err
	}
	out := make(map[core.PersonID]core.Load, len(stored))
	if s.dialect != Postgres {
		for id, l := range stored {
			out[id] = core.Load{Expert: l.expert, Routed: l.count}
		}
		return out, nil
	}
	s.holds.mu.Lock()
	defer s.holds.mu.Unlock()
	for id, l := range stored {
		out[id] = core.Load{Expert: l.expert, Routed: l.count + s.holds.count(int64(id), l.readAt, s)}
	}
	return out, nil
}

// storedLoads reads the loads of the experts among ids from the stored
// routings, with the time each read began. A SQLite transaction, or one
// that defers its writes, keeps what it read (the latter for at most
// holdGrace/2, beyond which released reservations are forgotten) and
// reads it again only when fresh is set; one that defers also uses what
// the process's other deferring transactions read moments before, and
// shares what it reads (see loadCache), the commit's fresh read included.
func (s *Store) storedLoads(ctx context.Context, ids []core.PersonID, since time.Time, fresh bool) (map[core.PersonID]expertLoad, error) {
	out := make(map[core.PersonID]expertLoad, len(ids))
	keep := s.inTx && (s.dialect == SQLite || s.def != nil)
	args := []any{ts(since)}
	seen := make(map[core.PersonID]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if keep && !fresh {
			if l, ok := s.reads.load(id, since); ok && (s.def == nil || time.Since(l.readAt) < holdGrace/2) {
				out[id] = l
				continue
			}
			if l, ok := s.cachedLoad(id, since); ok {
				out[id] = l
				continue
			}
		}
		args = append(args, int64(id))
	}
	if len(args) == 1 {
		return out, nil
	}
	readAt := time.Now()
	var rows []struct {
		expertRow
		Count       int       `db:"routed"`
		DisplayName string    `db:"display_name"`
		Lang        string    `db:"lang"`
		CreatedAt   time.Time `db:"created_at"`
		Platform    string    `db:"platform"`
		UserID      string    `db:"user_id"`
	}
	// A fresh read is the commit-time check, made with the experts
	// locked: it reads no more than it needs.
	people := s.reads != nil && !fresh
	share := s.sharesLoads(s.def != nil || fresh)
	if err := s.selectAll(ctx, &rows, expertLoadsQuery(len(args)-1, people), args...); err != nil {
		return nil, fmt.Errorf("sqlstore: load of experts %v: %w", ids, err)
	}
	for i, r := range rows {
		if i > 0 && rows[i-1].PersonID == r.PersonID {
			continue // another account of the same expert: the preferred one came first
		}
		l := expertLoad{expert: r.expert(), count: r.Count, since: since, readAt: readAt}
		out[l.expert.Person] = l
		if keep {
			s.reads.keepLoad(l.expert.Person, l)
		}
		var p *core.Person
		if people {
			person := personRow{ID: r.PersonID, Platform: r.Platform, UserID: r.UserID, DisplayName: r.DisplayName, Lang: r.Lang, CreatedAt: r.CreatedAt}.person()
			s.reads.keepByID(person)
			p = &person
		}
		if share {
			s.loads.put(l, p)
		}
	}
	return out, nil
}

// cachedLoad returns, in a deferring transaction, the load of expert id
// that another of the process's deferring transactions read (see
// loadCache), and keeps it as the transaction's own read, with the
// expert as a person when that was read too.
func (s *Store) cachedLoad(id core.PersonID, since time.Time) (expertLoad, bool) {
	if !s.sharesLoads(s.def != nil) {
		return expertLoad{}, false
	}
	l, p, ok := s.loads.get(id, since)
	if !ok {
		return expertLoad{}, false
	}
	s.reads.keepLoad(id, l)
	if p != nil {
		s.reads.keepByID(*p)
	}
	return l, true
}

// sharesLoads reports whether the transaction may use the loads the
// process's other transactions read, and they the loads it reads now: it
// defers its writes (or is writing them, at commit), and has written
// neither experts nor routings (its own reads see its routings, which the
// others count from its reservations).
func (s *Store) sharesLoads(deferring bool) bool {
	if !s.inTx || s.dialect != Postgres || !deferring || s.loadsWritten || s.routingsWritten {
		return false
	}
	for _, h := range s.held {
		if h.flushed {
			return false
		}
	}
	return true
}

// LockExpert implements core.Store. On SQLite the transaction already holds
// the only write lock.
func (s *Store) LockExpert(ctx context.Context, id core.PersonID) error {
	if s.dialect != Postgres || !s.inTx {
		return nil
	}
	var ids []int64
	if err := s.selectAll(ctx, &ids, "SELECT person_id FROM experts WHERE person_id = ? FOR UPDATE", int64(id)); err != nil {
		return fmt.Errorf("sqlstore: lock expert %d: %w", id, err)
	}
	return nil
}

// Expert implements core.Store.
func (s *Store) Expert(ctx context.Context, id core.PersonID) (core.Expert, error) {
	experts, err := s.experts(ctx, " WHERE person_id = ?", int64(id))
	if err != nil {
		return core.Expert{}, err
	}
	if len(experts) == 0 {
		return core.Expert{}, fmt.Errorf("sqlstore: expert %d: %w", id, core.ErrNotFound)
	}
	return experts[0], nil
}

// Experts implements core.Store.
func (s *Store) Experts(ctx context.Context) ([]core.Expert, error) {
	return s.experts(ctx, "")
}

// experts loads the experts a WHERE clause selects, with their topics and
// languages.
func (s *Store) experts(ctx context.Context, where string, args ...any) ([]core.Expert, error) {
	var rows []expertRow
	if err := s.selectAll(ctx, &rows, selectExpert+where+" ORDER BY person_id", args...); err != nil {
		return nil, fmt.Errorf("sqlstore: experts: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var topics []expertTopicRow
	if err := s.selectAll(ctx, &topics, "SELECT person_id, topic FROM expert_topics"+where+" ORDER BY person_id, position", args...); err != nil {
		return nil, fmt.Errorf("sqlstore: expert topics: %w", err)
	}
	var langs []expertLangRow
	if err := s.selectAll(ctx, &langs, "SELECT person_id, lang FROM expert_languages"+where+" ORDER BY person_id, lang", args...); err != nil {
		return nil, fmt.Errorf("sqlstore: expert languages: %w", err)
	}
	byID := make(map[int64]*core.Expert, len(rows))
	out := make([]core.Expert, len(rows))
	for i, r := range rows {
		out[i] = r.expert()
		byID[r.PersonID] = &out[i]
	}
	for _, t := range topics {
		if e := byID[t.PersonID]; e != nil {
			e.Topics = append(e.Topics, t.Topic)
		}
	}
	for _, l := range langs {
		if e := byID[l.PersonID]; e != nil {
			e.Languages = append(e.Languages, l.Lang)
		}
	}
	return out, nil
}
