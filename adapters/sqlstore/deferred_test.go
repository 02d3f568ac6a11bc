package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"entraide/bots"
	"testing"

	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/core"
	"entraide/core/storetest"
)

// deferring is a store whose transactions defer their writes until commit,
// as the pipeline's batches do on PostgreSQL, and are run again without
// deferring when their commit meets a conflict (a budget spent meanwhile),
// as the pipeline then handles each event on its own: the whole contract
// holds.
type deferring struct{ *sqlstore.Store }

func (d deferring) InTx(ctx context.Context, fn func(tx core.Store) error) error {
	err := d.Store.InTx(ctx, func(tx core.Store) error {
		tx.(*sqlstore.Store).DeferWrites()
		return fn(tx)
	})
	if errors.Is(err, core.ErrConflict) {
		return d.Store.InTx(ctx, fn)
	}
	return err
}

func openPostgresDeferring(t *testing.T) core.Store {
	return deferring{sqlstoretest.Postgres(t)}
}

func TestContractPostgresDeferring(t *testing.T) { storetest.Run(t, openPostgresDeferring) }
func TestNetworkPostgresDeferring(t *testing.T)  { storetest.Network(t, openPostgresDeferring) }

// deferredFixture is a PostgreSQL store with an asker, an expert (budget
// 1) and a claimed event, for the tests of deferred writes.
type deferredFixture struct {
	s      *sqlstore.Store
	url    string // of its database
	asker  core.Person
	expert core.Person
	room   core.CommunityID
	event  bots.InboxItem
	now    time.Time
}

func newDeferredFixture(t *testing.T) deferredFixture {
	t.Helper()
	return newDeferredFixtureAt(t, sqlstoretest.PostgresURL(t))
}

// newDeferredFixtureAt is newDeferredFixture in the database at url.
func newDeferredFixtureAt(t *testing.T, url string) deferredFixture {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	f := deferredFixture{s: s, url: url, now: now}
	if f.asker, err = s.EnsurePerson(ctx, core.Identity{Platform: "test", User: "alice"}, "alice", now); err != nil {
		t.Fatal(err)
	}
	if f.expert, err = s.EnsurePerson(ctx, core.Identity{Platform: "test", User: "bob"}, "bob", now); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveExpert(ctx, core.Expert{Person: f.expert.ID, Topics: []string{"x"}, Available: true, DailyBudget: 1, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if f.room, err = s.EnsureRoom(ctx, core.Room{Platform: "test", ID: "#general"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutEvent(ctx, bots.Event{ID: "ev1", Platform: "test", Room: "#general", Text: "!ask x"}, now); err != nil {
		t.Fatal(err)
	}
	items, err := s.ClaimEvents(ctx, "me", 10, time.Minute, now)
	if err != nil || len(items) != 1 {
		t.Fatalf("claim: %v, %v", items, err)
	}
	f.event = items[0]
	return f
}

// question creates, in tx, a question of the asker already routed.
func (f deferredFixture) question(t testing.TB, tx core.Store, text string) core.Question {
	t.Helper()
	q, err := tx.CreateQuestion(context.Background(), core.Question{Community: f.room, Asker: f.asker.ID, Text: text, Lang: "fr", State: core.StateRouted,
		Origin: core.MessageRef{Platform: "test", Room: "#general", Message: text}, CreatedAt: f.now, UpdatedAt: f.now})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// ask does in tx what asking does: the question, its routing, its job, its
// messages (one leased to "me"), the event marked done.
func (f deferredFixture) ask(ctx context.Context, tx *sqlstore.Store) (core.Question, []bots.OutboxItem, error) {
	q, err := tx.CreateQuestion(ctx, core.Question{Community: f.room, Asker: f.asker.ID, Text: "x ?", Lang: "fr", State: core.StateRouted,
		Origin: core.MessageRef{Platform: "test", Room: "#general", Message: "m1"}, CreatedAt: f.now, UpdatedAt: f.now})
	if err != nil {
		return q, nil, err
	}
	if err := tx.ScheduleJob(ctx, core.EscalationJob(q.ID, 1, f.now.Add(time.Hour))); err != nil {
		return q, nil, err
	}
	routed, err := tx.AddRoutingsWithinBudget(ctx, q.ID, []core.PersonID{f.expert.ID}, f.now, f.now.Add(-24*time.Hour), 5)
	if err != nil || len(routed) != 1 {
		return q, nil, fmt.Errorf("routed %v: %v", routed, err)
	}
	key := fmt.Sprintf("q%d", q.ID)
	if err := tx.PutOutgoing(ctx, []bots.Outgoing{{Key: key + ":other", To: bots.Destination{Platform: "elsewhere", Room: "r"}}}, f.now); err != nil {
		return q, nil, err
	}
	items, err := tx.PutOutgoingClaimed(ctx, []bots.Outgoing{{Key: key + ":dm", To: bots.DirectTo(core.Identity{Platform: "test", User: "bob"})}}, "me", time.Minute, f.now)
	if err != nil {
		return q, nil, err
	}
	return q, items, tx.FinishEvent(ctx, f.event.ID, "me", f.now)
}

// TestDeferredWritesAreReadAndCommitted checks that a deferring transaction
// reads what it deferred (a statement naming a deferred table writes it
// first, expert loads count deferred routings) and commits every row with
// the ids it handed out.
func TestDeferredWritesAreReadAndCommitted(t *testing.T) {
	f := newDeferredFixture(t)
	ctx := context.Background()
	var q core.Question
	var items []bots.OutboxItem
	err := f.s.InTx(ctx, func(tx core.Store) error {
		st := tx.(*sqlstore.Store)
		st.DeferWrites()
		var err error
		if q, items, err = f.ask(ctx, st); err != nil {
			return err
		}
		loads, err := st.ExpertLoads(ctx, []core.PersonID{f.expert.ID}, f.now.Add(-24*time.Hour))
		if err != nil || loads[f.expert.ID].Routed != 1 {
			return fmt.Errorf("load in the transaction: %+v, %v, want 1 routed", loads, err)
		}
		// Over budget now: a second question is not routed to bob.
		q2, err := st.CreateQuestion(ctx, core.Question{Community: f.room, Asker: f.asker.ID, Text: "y ?", Lang: "fr", State: core.StateOpen,
			Origin: core.MessageRef{Platform: "test", Room: "#general", Message: "m2"}, CreatedAt: f.now, UpdatedAt: f.now})
		if err != nil {
			return err
		}
		if routed, err := st.AddRoutingsWithinBudget(ctx, q2.ID, []core.PersonID{f.expert.ID}, f.now, f.now.Add(-24*time.Hour), 5); err != nil || len(routed) != 0 {
			return fmt.Errorf("second routing %v, %v: want none, the budget is 1", routed, err)
		}
		got, err := st.Question(ctx, q.ID) // reads the deferred question
		if err != nil || got.Text != "x ?" {
			return fmt.Errorf("question read in the transaction: %+v, %v", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.s.Question(ctx, q.ID); err != nil || got.State != core.StateRouted {
		t.Fatalf("question after commit: %+v, %v", got, err)
	}
	if rs, err := f.s.Routings(ctx, q.ID); err != nil || len(rs) != 1 || rs[0].Expert != f.expert.ID {
		t.Fatalf("routings after commit: %+v, %v", rs, err)
	}
	if again, err := f.s.ClaimEvents(ctx, "other", 10, time.Minute, f.now.Add(time.Hour)); err != nil || len(again) != 0 {
		t.Fatalf("the event is not done: %v, %v", again, err)
	}
	jobs, err := f.s.ClaimJobs(ctx, "me", 10, time.Minute, f.now.Add(2*time.Hour))
	if err != nil || len(jobs) != 1 || jobs[0].Key != core.EscalationJob(q.ID, 1, f.now).Key {
		t.Fatalf("jobs after commit: %+v, %v", jobs, err)
	}
	// The leased message is stored under the id handed out, leased to me:
	// it can be marked sent by that id, and nobody else claims it.
	if len(items) != 1 {
		t.Fatalf("claimed items %+v", items)
	}
	if others, err := f.s.ClaimOutgoing(ctx, "other", []core.Platform{"test"}, 10, time.Minute, f.now); err != nil || len(others) != 0 {
		t.Fatalf("a leased message was claimed by another: %+v, %v", others, err)
	}
	if err := f.s.MarkSent(ctx, items[0].ID, "m-sent", f.now); err != nil {
		t.Fatalf("mark the handed id sent: %v", err)
	}
	if others, err := f.s.ClaimOutgoing(ctx, "other", []core.Platform{"elsewhere"}, 10, time.Minute, f.now); err != nil || len(others) != 1 {
		t.Fatalf("the unleased message: %+v, %v", others, err)
	}
}

// TestDeferredCommitFailsOnConflict checks that a deferring transaction's
// commit fails with core.ErrConflict, writing nothing, when another process
// spent a budget meanwhile, took the event's lease, or used a message key.
func TestDeferredCommitFailsOnConflict(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		race func(t *testing.T, f deferredFixture)
	}{
		{"budget spent", func(t *testing.T, f deferredFixture) {
			// By another process: this one's own routings respect the
			// slot the transaction reserved (TestRoutingAtOnceRespectsReservations).
			s, err := sqlstore.Open(ctx, f.url)
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			other, err := s.CreateQuestion(ctx, core.Question{Community: f.room, Asker: f.asker.ID, Text: "z ?", Lang: "fr", State: core.StateOpen,
				Origin: core.MessageRef{Platform: "test", Room: "#general", Message: "m9"}, CreatedAt: f.now, UpdatedAt: f.now})
			if err != nil {
				t.Error(err)
				return
			}
			if routed, err := s.AddRoutingsWithinBudget(ctx, other.ID, []core.PersonID{f.expert.ID}, f.now, f.now.Add(-24*time.Hour), 5); err != nil || len(routed) != 1 {
				t.Errorf("other routing: %v, %v", routed, err)
			}
		}},
		{"lease lost", func(t *testing.T, f deferredFixture) {
			if err := f.s.RetryEvent(ctx, f.event.ID, f.now, false, "taken over"); err != nil {
				t.Fatal(err)
			}
		}},
		{"key taken", nil}, // by a row inserted during the transaction, below
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newDeferredFixture(t)
			var q core.Question
			err := f.s.InTx(ctx, func(tx core.Store) error {
				st := tx.(*sqlstore.Store)
				st.DeferWrites()
				var err error
				if q, _, err = f.ask(ctx, st); err != nil {
					return err
				}
				if c.name == "key taken" { // the key the transaction used
					_, err := f.s.DB().ExecContext(ctx, "INSERT INTO outbox (key, platform, payload, state, next_at, created_at, lease_owner) VALUES ($1, 'test', '{}', 'pending', now(), now(), '')",
						fmt.Sprintf("q%d:dm", q.ID))
					return err
				}
				c.race(t, f)
				return nil
			})
			if !errors.Is(err, core.ErrConflict) {
				t.Fatalf("commit: %v, want a conflict", err)
			}
			if _, err := f.s.Question(ctx, q.ID); !errors.Is(err, core.ErrNotFound) {
				t.Fatalf("the question was stored: %v", err)
			}
		})
	}
}

// TestDeferredRoutingsSeeTheProcessReservations checks that a deferring
// transaction counts the routings the process's other open transactions
// decided (deferred or written, not committed yet): with a budget of 1, it
// does not promise the expert's last slot again, and both commit. Without
// the reservations, the second would route the expert and one commit fail.
func TestDeferredRoutingsSeeTheProcessReservations(t *testing.T) {
	ctx := context.Background()
	for _, firstDefers := range []bool{true, false} {
		t.Run(fmt.Sprintf("first defers=%v", firstDefers), func(t *testing.T) {
			f := newDeferredFixture(t)
			newQ := func(tx core.Store, text string) core.Question { return f.question(t, tx, text) }
			route := func(tx core.Store, q core.Question) []core.PersonID {
				routed, err := tx.AddRoutingsWithinBudget(context.Background(), q.ID, []core.PersonID{f.expert.ID}, f.now, f.now.Add(-24*time.Hour), 5)
				if err != nil {
					t.Fatal(err)
				}
				return routed
			}
			var second []core.PersonID
			err := f.s.InTx(ctx, func(tx core.Store) error {
				if firstDefers {
					tx.(*sqlstore.Store).DeferWrites()
				}
				if got := route(tx, newQ(tx, "first")); len(got) != 1 {
					t.Fatalf("first routing: %v", got)
				}
				// Another worker of the process, while the first is open
				// (bounded: without the reservations, it would wait for the
				// first's lock on the expert, which waits for it).
				ctx2, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				return f.s.InTx(ctx2, func(tx2 core.Store) error {
					tx2.(*sqlstore.Store).DeferWrites()
					second = route(tx2, newQ(tx2, "second"))
					return nil
				})
			})
			if err != nil {
				t.Fatalf("commits: %v", err)
			}
			if len(second) != 0 {
				t.Errorf("the second transaction routed %v: the expert's one slot was taken", second)
			}
			if n, err := f.s.CountRoutingsSince(ctx, f.expert.ID, f.now.Add(-time.Hour)); err != nil || n != 1 {
				t.Errorf("%d routings stored (%v), want 1", n, err)
			}
		})
	}
}

// TestDeferredLoadsAreSharedForSeconds checks that the process's deferring
// transactions use the experts' loads another of them read moments before,
// without a statement, counting what the process routed since; and that
// what another process changed meanwhile (a routing, an absence) fails the
// commit, which reads the loads again with the experts locked.
func TestDeferredLoadsAreSharedForSeconds(t *testing.T) {
	ctx := context.Background()
	since := func(f deferredFixture) time.Time { return f.now.Add(-24 * time.Hour) }
	newQ := func(t *testing.T, f deferredFixture, tx core.Store, text string) core.Question {
		t.Helper()
		return f.question(t, tx, text)
	}
	// load reads the expert's load in a deferring transaction tx and
	// tells how many statements that took.
	load := func(t *testing.T, f deferredFixture, tx *sqlstore.Store) (core.Load, int64) {
		t.Helper()
		before := f.s.Statements()
		loads, err := tx.ExpertLoads(ctx, []core.PersonID{f.expert.ID}, since(f))
		if err != nil {
			t.Fatal(err)
		}
		return loads[f.expert.ID], f.s.Statements() - before
	}
	budget := func(t *testing.T, f deferredFixture, n int) {
		t.Helper()
		if err := f.s.SaveExpert(ctx, core.Expert{Person: f.expert.ID, Topics: []string{"x"}, Available: true, DailyBudget: n, UpdatedAt: f.now}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("within the process", func(t *testing.T) {
		f := newDeferredFixture(t)
		budget(t, f, 2)
		want := []struct {
			routed     int   // the load the transaction sees
			statements int64 // to read it
			route      int   // routings it can take
		}{{0, 1, 1}, {1, 0, 1}, {2, 0, 0}}
		for i, w := range want {
			err := f.s.InTx(ctx, func(tx core.Store) error {
				st := tx.(*sqlstore.Store)
				st.DeferWrites()
				l, n := load(t, f, st)
				if l.Routed != w.routed || n != w.statements {
					t.Errorf("transaction %d: load %d in %d statements, want %d in %d", i+1, l.Routed, n, w.routed, w.statements)
				}
				// The expert, read with the load, is told without a read.
				before := f.s.Statements()
				if people, err := st.People(ctx, []core.PersonID{f.expert.ID}); err != nil || len(people) != 1 || people[0].Identity.User != "bob" || f.s.Statements() != before {
					t.Errorf("transaction %d: the expert as a person: %+v, %v, in %d statements, want bob in none", i+1, people, err, f.s.Statements()-before)
				}
				routed, err := st.AddRoutingsWithinBudget(ctx, newQ(t, f, st, fmt.Sprint("q", i)).ID, []core.PersonID{f.expert.ID}, f.now, since(f), 5)
				if len(routed) != w.route {
					t.Errorf("transaction %d routed %v, want %d", i+1, routed, w.route)
				}
				return err
			})
			if err != nil {
				t.Fatalf("transaction %d: %v", i+1, err)
			}
		}
		// This process changing the expert: the next read is a statement.
		budget(t, f, 3)
		err := f.s.InTx(ctx, func(tx core.Store) error {
			st := tx.(*sqlstore.Store)
			st.DeferWrites()
			if l, n := load(t, f, st); l.Expert.DailyBudget != 3 || n != 1 {
				t.Errorf("after the expert changed: budget %d read in %d statements, want 3 in 1", l.Expert.DailyBudget, n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	for _, c := range []struct {
		name   string
		change func(t *testing.T, other *sqlstore.Store, f deferredFixture)
		// seen tells whether a load shows the change, as the commit read it.
		seen func(f deferredFixture, l core.Load) bool
	}{
		{"another process routed", func(t *testing.T, other *sqlstore.Store, f deferredFixture) {
			q := newQ(t, f, other, "elsewhere")
			if routed, err := other.AddRoutingsWithinBudget(ctx, q.ID, []core.PersonID{f.expert.ID}, f.now, since(f), 5); err != nil || len(routed) != 1 {
				t.Fatalf("the other process routed %v: %v", routed, err)
			}
		}, func(f deferredFixture, l core.Load) bool {
			return l.Routed == 1 // theirs; the reservation of the commit that failed is gone
		}},
		{"another process went away", func(t *testing.T, other *sqlstore.Store, f deferredFixture) {
			if err := other.SaveExpert(ctx, core.Expert{Person: f.expert.ID, Topics: []string{"x"}, Available: true, DailyBudget: 5,
				AwayUntil: f.now.Add(time.Hour), UpdatedAt: f.now}); err != nil {
				t.Fatal(err)
			}
		}, func(f deferredFixture, l core.Load) bool {
			return !l.Expert.AvailableAt(f.now, nil)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := sqlstoretest.PostgresURL(t)
			f := newDeferredFixtureAt(t, url)
			budget(t, f, 1)
			other, err := sqlstore.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			// A first transaction reads the load and routes nothing.
			if err := f.s.InTx(ctx, func(tx core.Store) error {
				st := tx.(*sqlstore.Store)
				st.DeferWrites()
				load(t, f, st)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			c.change(t, other, f)
			var q core.Question
			err = f.s.InTx(ctx, func(tx core.Store) error {
				st := tx.(*sqlstore.Store)
				st.DeferWrites()
				if l, n := load(t, f, st); n != 0 || l.Routed != 0 || !l.Expert.AvailableAt(f.now, nil) {
					t.Errorf("the load was read again (%d statements) or seen changed (%+v): the test shows nothing", n, l)
				}
				q = newQ(t, f, st, "here")
				routed, err := st.AddRoutingsWithinBudget(ctx, q.ID, []core.PersonID{f.expert.ID}, f.now, since(f), 5)
				if err == nil && len(routed) != 1 {
					t.Errorf("routed %v on the load read before", routed)
				}
				return err
			})
			if !errors.Is(err, core.ErrConflict) {
				t.Fatalf("commit: %v, want a conflict", err)
			}
			if _, err := f.s.Question(ctx, q.ID); !errors.Is(err, core.ErrNotFound) {
				t.Errorf("the question was stored: %v", err)
			}
			// The commit's read is the one used next, without a statement.
			err = f.s.InTx(ctx, func(tx core.Store) error {
				st := tx.(*sqlstore.Store)
				st.DeferWrites()
				if l, n := load(t, f, st); n != 0 || !c.seen(f, l) {
					t.Errorf("after the conflict: load %+v in %d statements, want the change seen, as read at the commit", l, n)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLockEvents checks the claim of a batch's transaction on PostgreSQL:
// the events it locks are skipped by other transactions and by leases,
// they are finished without a lease (deferring or not), and when the
// transaction rolls back they are due again at once, their attempts
// unchanged.
func TestLockEvents(t *testing.T) {
	ctx := context.Background()
	s := sqlstoretest.Postgres(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for i := range 4 {
		if _, err := s.PutEvent(ctx, bots.Event{ID: fmt.Sprint("ev", i), Platform: "test", Room: "#general", Text: "!help"}, now.Add(-2*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if !s.LocksEvents() {
		t.Fatal("PostgreSQL does not lock events")
	}
	// The leases of the first two events, taken by a process gone an hour
	// ago, ran out: they are locked and finished like the others (the
	// first at once, the second deferred).
	if gone, err := s.ClaimEvents(ctx, "gone", 2, time.Minute, now.Add(-time.Hour)); err != nil || len(gone) != 2 {
		t.Fatalf("claim: %v, %v", gone, err)
	}
	if _, err := s.LockEvents(ctx, 2, now); err == nil {
		t.Error("LockEvents outside a transaction did not fail")
	}
	ids := func(items []bots.InboxItem) []int64 {
		var out []int64
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	for round, defer_ := range []bool{false, true} {
		rollback := errors.New("rolled back")
		rest := 2 - round // the events pending beside the two locked
		var first []bots.InboxItem
		err := s.InTx(ctx, func(tx core.Store) error {
			st := tx.(*sqlstore.Store)
			if defer_ {
				st.DeferWrites()
			}
			var err error
			if first, err = st.LockEvents(ctx, 2, now); err != nil || len(first) != 2 {
				return fmt.Errorf("locked %v: %v", ids(first), err)
			}
			// Another transaction, and a lease, skip them.
			if err := s.InTx(ctx, func(tx2 core.Store) error {
				other, err := tx2.(*sqlstore.Store).LockEvents(ctx, 4, now)
				if err != nil || len(other) != rest || other[0].ID == first[0].ID || other[0].ID == first[1].ID {
					t.Errorf("a second transaction locked %v (%v) while %v were locked", ids(other), err, ids(first))
				}
				return nil
			}); err != nil {
				return err
			}
			leased, err := s.ClaimEvents(ctx, "other", 4, time.Minute, now)
			if err != nil || len(leased) != rest {
				t.Errorf("a lease took %v (%v) while %v were locked, want the %d others", ids(leased), err, ids(first), rest)
			}
			for _, it := range leased {
				if err := s.RetryEvent(ctx, it.ID, now, false, "given back"); err != nil {
					return err
				}
			}
			if !defer_ {
				return rollback
			}
			for _, it := range first {
				if err := st.FinishEvent(ctx, it.ID, "nobody", now); err != nil {
					return err
				}
			}
			return nil
		})
		if !defer_ {
			if !errors.Is(err, rollback) {
				t.Fatalf("transaction: %v", err)
			}
			// Rolled back: due again at once, attempts unchanged.
			err := s.InTx(ctx, func(tx core.Store) error {
				again, err := tx.(*sqlstore.Store).LockEvents(ctx, 1, now)
				if err != nil || len(again) != 1 || again[0].ID != first[0].ID || again[0].Attempts != 0 {
					t.Errorf("after the rollback, locked %+v (%v), want event %d again, no attempt counted", again, err, first[0].ID)
				}
				return st(tx).FinishEvent(ctx, first[0].ID, "", now) // not deferring: at once
			})
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("transaction: %v", err)
		}
	}
	// Done: the first event (finished at once), the two the deferring
	// transaction finished; the last is pending.
	if events, _, err := s.Backlog(ctx); err != nil || events != 1 {
		t.Errorf("backlog: %d events pending (%v), want 1", events, err)
	}
}

func st(tx core.Store) *sqlstore.Store { return tx.(*sqlstore.Store) }

// TestRoutingAtOnceRespectsReservations checks, on PostgreSQL, that a
// transaction routing at once (a batch's events handled one by one after
// it failed, an escalation) does not take a slot the process's open
// deferring transaction reserved: that commit would fail, and its events
// handled one by one take more slots (a cascade seen with budgets of 5).
// A reservation rolled back is not counted by anyone.
func TestRoutingAtOnceRespectsReservations(t *testing.T) {
	ctx := context.Background()
	f := newDeferredFixture(t)
	since := f.now.Add(-24 * time.Hour)
	newQ := func(tx core.Store, text string) core.Question { return f.question(t, tx, text) }
	route := func(tx core.Store, q core.Question) []core.PersonID {
		routed, err := tx.AddRoutingsWithinBudget(ctx, q.ID, []core.PersonID{f.expert.ID}, f.now, since, 5)
		if err != nil {
			t.Error(err)
		}
		return routed
	}
	atOnce := newQ(f.s, "at once")
	err := f.s.InTx(ctx, func(tx core.Store) error {
		tx.(*sqlstore.Store).DeferWrites()
		if got := route(tx, newQ(tx, "deferred")); len(got) != 1 {
			t.Fatalf("the deferring transaction routed %v", got)
		}
		// The expert's one slot is reserved: seen by loads, not taken.
		if loads, err := f.s.ExpertLoads(ctx, []core.PersonID{f.expert.ID}, since); err != nil || loads[f.expert.ID].Routed != 1 {
			t.Errorf("load outside the transaction: %+v, %v, want the reservation counted", loads[f.expert.ID], err)
		}
		if got := route(f.s, atOnce); len(got) != 0 {
			t.Errorf("routing at once took the reserved slot: %v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the deferring transaction's commit: %v", err)
	}

	// A reservation rolled back: a read begun while it was held does not
	// count it once it is gone.
	g := newDeferredFixture(t)
	reserved, rollback, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- g.s.InTx(ctx, func(tx core.Store) error {
			tx.(*sqlstore.Store).DeferWrites()
			q, err := tx.CreateQuestion(ctx, core.Question{Community: g.room, Asker: g.asker.ID, Text: "a", Lang: "fr", State: core.StateRouted,
				Origin: core.MessageRef{Platform: "test", Room: "#general", Message: "a"}, CreatedAt: g.now, UpdatedAt: g.now})
			if err != nil { // not t.Fatal: this goroutine is not the test's
				return err
			}
			if routed, err := tx.AddRoutingsWithinBudget(ctx, q.ID, []core.PersonID{g.expert.ID}, g.now, since, 5); err != nil || len(routed) != 1 {
				return fmt.Errorf("routed %v: %v", routed, err)
			}
			close(reserved)
			<-rollback
			return errors.New("rolled back")
		})
	}()
	<-reserved
	var routed []core.PersonID
	err = g.s.InTx(ctx, func(tx core.Store) error {
		st := tx.(*sqlstore.Store)
		st.DeferWrites()
		if loads, err := st.ExpertLoads(ctx, []core.PersonID{g.expert.ID}, since); err != nil || loads[g.expert.ID].Routed != 1 {
			t.Errorf("load while the other holds the slot: %+v, %v", loads[g.expert.ID], err)
		}
		close(rollback)
		if err := <-done; err == nil || err.Error() != "rolled back" {
			t.Errorf("the other transaction: %v", err)
		}
		var err error
		routed, err = tx.AddRoutingsWithinBudget(ctx, g.question(t, tx, "b").ID, []core.PersonID{g.expert.ID}, g.now, since, 5)
		return err
	})
	if err != nil || len(routed) != 1 {
		t.Errorf("after the other rolled back: routed %v (%v), want the expert: the slot is free", routed, err)
	}
}

// TestSamePersonAddedByTwoTransactions checks that two transactions adding
// the same newcomer (two batches with their first messages) both succeed,
// with one person: the second waits for the first and takes its person.
func TestSamePersonAddedByTwoTransactions(t *testing.T) {
	ctx := context.Background()
	s := sqlstoretest.Postgres(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	who := core.Identity{Platform: "test", User: "newcomer"}
	var first core.Person
	second := make(chan core.Person, 1)
	err := s.InTx(ctx, func(tx core.Store) error {
		tx.(*sqlstore.Store).DeferWrites()
		var err error
		if first, err = tx.EnsurePerson(ctx, who, "Newcomer", now); err != nil {
			return err
		}
		go func() {
			var p core.Person
			err := s.InTx(ctx, func(tx2 core.Store) error {
				tx2.(*sqlstore.Store).DeferWrites()
				if err := tx2.(*sqlstore.Store).KeepPeople(ctx, []core.Identity{who}); err != nil {
					return err
				}
				var err error
				p, err = tx2.EnsurePerson(ctx, who, "Newcomer", now)
				return err
			})
			if err != nil {
				t.Errorf("the second transaction: %v", err)
			}
			second <- p
		}()
		time.Sleep(100 * time.Millisecond) // the second waits on the account's key
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := <-second; p.ID != first.ID {
		t.Errorf("the second transaction got person %d, want %d, the first's", p.ID, first.ID)
	}
	if dump := sqlstoretest.Dump(t, s); strings.Count(dump, "Newcomer") != 1 {
		t.Errorf("the newcomer is stored %d times, want once:\n%s", strings.Count(dump, "Newcomer"), dump)
	}
}
