package leader_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"entraide/adapters/leader"
	"entraide/adapters/leader/leadertest"
	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/core"
)

// processes opens the same new database n times, as n processes would:
// n pools, on one SQLite file or one PostgreSQL schema.
func processes(t *testing.T, backend string, n int) []leader.Store {
	t.Helper()
	database := filepath.Join(t.TempDir(), "entraide.db")
	if backend == "postgres" {
		database = sqlstoretest.PostgresURL(t)
	}
	var out []leader.Store
	for range n {
		s, err := sqlstore.Open(context.Background(), database)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	return out
}

// TestFailover runs the work of two processes under one lease in one
// database: the first holds it; when it dies (its renewals stop, or it
// stops without releasing), the second runs the work one TTL after the
// first's last renewal, not before, and never while the first still runs it.
func TestFailover(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, death := range []string{"renewals stop", "process dies"} {
			t.Run(backend+"/"+death, func(t *testing.T) {
				stores := processes(t, backend, 2)
				fa, fb := &faulty{Store: stores[0]}, &faulty{Store: stores[1]}
				clock := core.NewManualClock(leadertest.Start)
				w := newWork()
				stopA := runner(t, fa, clock, "a", w.run, nil)
				la := receive(t, "a's term", w.starts)
				runner(t, fb, clock, "b", w.run, nil)
				// While a renews, b waits, over several TTLs.
				for range 8 {
					clock.Advance(ttl / 4)
					more(t, fa, 2)
					more(t, fb, 2)
				}
				if len(w.starts) > 0 {
					t.Fatalf("b ran while a renewed: %+v", <-w.starts)
				}
				// a dies: cut off from the database, its last renewal at
				// the current time.
				fa.down.Store(true)
				if death == "process dies" {
					if err := stopA(); err != nil {
						t.Fatal(err)
					}
				}
				if got := receive(t, "a's work stopped", w.stops); got.Owner != "a" {
					t.Fatalf("stopped: %+v", got)
				}
				for range 3 {
					clock.Advance(ttl / 4)
					more(t, fb, 2)
					if len(w.starts) > 0 {
						t.Fatalf("b ran before a's lease expired: %+v", <-w.starts)
					}
				}
				clock.Advance(ttl / 4)
				lb := receive(t, "b's term", w.starts)
				if lb.Owner != "b" || lb.Fence <= la.Fence {
					t.Errorf("b's term %+v after a's %+v", lb, la)
				}
				// a comes back (or is restarted): b holds the lease.
				fa.down.Store(false)
				if death == "process dies" {
					runner(t, fa, clock, "a", w.run, nil)
				}
				for range 4 {
					clock.Advance(ttl / 4)
					more(t, fa, 2)
					more(t, fb, 2)
				}
				if len(w.starts) > 0 {
					t.Errorf("a ran while b held the lease: %+v", <-w.starts)
				}
				if w.overlap.Load() {
					t.Error("two processes ran the work at once")
				}
			})
		}
	}
}

// TestHandover stops the holder of the lease gracefully, over and over,
// among three processes: another takes over at once (the lease was
// released, no time passes), with a greater fence, never while the one
// before still runs the work.
func TestHandover(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			stores := processes(t, backend, 3)
			clock := core.NewManualClock(leadertest.Start)
			w := newWork()
			stops := map[string]func() error{}
			next := 0
			start := func() {
				owner := fmt.Sprint("p", next)
				stops[owner] = runner(t, stores[next%len(stores)], clock, owner, w.run, nil)
				next++
			}
			for range 3 {
				start()
			}
			var last int64
			for round := range 12 {
				l := receive(t, "a term", w.starts)
				if l.Fence <= last {
					t.Fatalf("round %d: fence %d after %d", round, l.Fence, last)
				}
				last = l.Fence
				if err := stops[l.Owner](); err != nil {
					t.Fatal(err)
				}
				receive(t, "the holder's stop", w.stops)
				delete(stops, l.Owner)
				start()
			}
			if w.overlap.Load() {
				t.Error("two processes ran the work at once")
			}
			if !clock.Now().Equal(leadertest.Start) {
				t.Error("the clock moved")
			}
		})
	}
}
