package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
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
	asker  core.Person
	expert core.Person
	room   core.CommunityID
	event  bots.InboxItem
	now    time.Time
}

func newDeferredFixture(t *testing.T) deferredFixture {
	t.Helper()
	ctx := context.Background()
	s := sqlstoretest.Postgres(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	f := deferredFixture{s: s, now: now}
	var err error
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
			other, err := f.s.CreateQuestion(ctx, core.Question{Community: f.room, Asker: f.asker.ID, Text: "z ?", Lang: "fr", State: core.StateOpen,
				Origin: core.MessageRef{Platform: "test", Room: "#general", Message: "m9"}, CreatedAt: f.now, UpdatedAt: f.now})
			if err != nil {
				t.Fatal(err)
			}
			if routed, err := f.s.AddRoutingsWithinBudget(ctx, other.ID, []core.PersonID{f.expert.ID}, f.now, f.now.Add(-24*time.Hour), 5); err != nil || len(routed) != 1 {
				t.Fatalf("other routing: %v, %v", routed, err)
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
			newQ := func(tx core.Store, text string) core.Question {
				q, err := tx.CreateQuestion(ctx, core.Question{Community: f.room, Asker: f.asker.ID, Text: text, Lang: "fr", State: core.StateRouted,
					Origin: core.MessageRef{Platform: "test", Room: "#general", Message: text}, CreatedAt: f.now, UpdatedAt: f.now})
				if err != nil {
					t.Fatal(err)
				}
				return q
			}
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
