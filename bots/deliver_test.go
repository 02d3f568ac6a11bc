package bots_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// gatedQueue is a store whose first single-event insert waits until gate
// is closed, so that the deliveries made meanwhile wait too and then go
// together; it records the size of every insert, and fails batches with
// failBatch (after really inserting them, then rolling back).
type gatedQueue struct {
	*sqlstore.Store
	gate      chan struct{}
	entered   chan struct{}
	failBatch error

	mu      sync.Mutex
	gated   bool
	batches []int
}

func newGatedQueue(store *sqlstore.Store) *gatedQueue {
	return &gatedQueue{Store: store, gate: make(chan struct{}), entered: make(chan struct{})}
}

func (q *gatedQueue) PutEvent(ctx context.Context, ev bots.Event, now time.Time) (bool, error) {
	q.mu.Lock()
	first := !q.gated
	q.gated = true
	q.batches = append(q.batches, 1)
	q.mu.Unlock()
	if first {
		close(q.entered)
		<-q.gate
	}
	return q.Store.PutEvent(ctx, ev, now)
}

func (q *gatedQueue) PutEvents(ctx context.Context, evs []bots.Event, now time.Time) ([]bool, error) {
	q.mu.Lock()
	q.batches = append(q.batches, len(evs))
	q.mu.Unlock()
	if q.failBatch == nil {
		return q.Store.PutEvents(ctx, evs, now)
	}
	var fresh []bool
	err := q.Store.InTx(ctx, func(tx core.Store) error {
		var err error
		if fresh, err = tx.(*sqlstore.Store).PutEvents(ctx, evs, now); err != nil {
			return err
		}
		return q.failBatch
	})
	return fresh, err
}

// largest is the size of the largest insert.
func (q *gatedQueue) largest() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, b := range q.batches {
		n = max(n, b)
	}
	return n
}

// stored counts the inbox rows of an event.
func stored(t *testing.T, store *sqlstore.Store, ev bots.Event) int {
	t.Helper()
	var n int
	q := store.DB().Rebind("SELECT COUNT(*) FROM inbox WHERE platform = ? AND event_id = ?")
	if err := store.DB().GetContext(context.Background(), &n, q, string(ev.Platform), ev.ID); err != nil {
		t.Fatal(err)
	}
	return n
}

// deliverAll delivers evs concurrently to p, one goroutine each, while
// the first delivery (already started by the caller) is held at q's gate,
// then opens it; it returns each delivery's error. check runs right after
// each successful Deliver, before the test goes on.
func deliverAll(t *testing.T, p *bots.Pipeline, q *gatedQueue, evs []bots.Event, check func(bots.Event)) []error {
	t.Helper()
	errs := make([]error, len(evs))
	var wg sync.WaitGroup
	for i, ev := range evs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Deliver(context.Background(), ev)
			if errs[i] == nil && check != nil {
				check(ev)
			}
		}()
	}
	// The calls queue behind the gated one; give them time to arrive.
	time.Sleep(100 * time.Millisecond)
	close(q.gate)
	wg.Wait()
	return errs
}

// startGated starts delivering lead to p and returns once its insert is
// held at q's gate, with the channel that gives its result.
func startGated(p *bots.Pipeline, q *gatedQueue, lead bots.Event) <-chan error {
	done := make(chan error, 1)
	go func() { done <- p.Deliver(context.Background(), lead) }()
	<-q.entered
	return done
}

// TestConcurrentDeliveriesShareCommits delivers distinct and duplicate
// events concurrently: they are stored in shared inserts, each call returns
// only once its event is committed, and each event counts as new once.
func TestConcurrentDeliveriesShareCommits(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			store := open(t)
			q := newGatedQueue(store)
			obs := &recorder{}
			p := buildQueuePipeline(t, store, q, obs, nil)
			lead := event(100, "lead", "#general", "!help")
			// Already stored: its redelivery is a duplicate.
			old := event(200, "old", "#general", "!help")
			if _, err := store.PutEvent(context.Background(), old, t0); err != nil {
				t.Fatal(err)
			}
			var evs []bots.Event
			for i := range 20 {
				evs = append(evs, event(101+i, fmt.Sprintf("user%d", i), "#general", "!help"))
			}
			evs = append(evs, evs[0], evs[5], evs[19], lead, old)
			done := startGated(p, q, lead)
			var mu sync.Mutex
			var missing []string
			errs := deliverAll(t, p, q, evs, func(ev bots.Event) {
				if stored(t, store, ev) != 1 {
					mu.Lock()
					missing = append(missing, ev.ID)
					mu.Unlock()
				}
			})
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			for i, err := range errs {
				if err != nil {
					t.Errorf("deliver %s: %v", evs[i].ID, err)
				}
			}
			if len(missing) > 0 {
				t.Errorf("Deliver returned before these events were stored: %v", missing)
			}
			if q.largest() < 2 {
				t.Errorf("no delivery shared an insert: %v", q.batches)
			}
			delivered, _, _, _ := obs.summary()
			count := map[string]int{}
			for _, d := range delivered {
				count[d]++
			}
			// lead and 20 events new; 3 repeats, lead again and old duplicates.
			if count["new"] != 21 || count["duplicate"] != 5 || len(delivered) != 26 {
				t.Errorf("deliveries reported: %v", count)
			}
			if err := p.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}
			_, handled, _, _ := obs.summary()
			if len(handled) != 22 { // 21 new events, and old
				t.Errorf("%d events handled, want 22: %v", len(handled), handled)
			}
		})
	}
}

// TestFailingBatchAcknowledgesNothing fails a shared insert: every call in
// it returns the error, none of its events is stored, and their
// redelivery stores and handles each of them once.
func TestFailingBatchAcknowledgesNothing(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			store := open(t)
			q := newGatedQueue(store)
			q.failBatch = errors.New("disk full")
			obs := &recorder{}
			p := buildQueuePipeline(t, store, q, obs, nil)
			lead := event(100, "lead", "#general", "!help")
			var evs []bots.Event
			for i := range 10 {
				evs = append(evs, event(101+i, fmt.Sprintf("user%d", i), "#general", "!help"))
			}
			done := startGated(p, q, lead)
			errs := deliverAll(t, p, q, evs, nil)
			if err := <-done; err != nil {
				t.Fatalf("the lone first delivery: %v", err)
			}
			if q.largest() < 2 {
				t.Fatalf("no delivery shared an insert: %v", q.batches)
			}
			// Which calls shared the failed insert depends on timing: each
			// either failed with it, unstored, or was stored alone.
			failed := 0
			for i, err := range errs {
				switch n := stored(t, store, evs[i]); {
				case err != nil && !errors.Is(err, q.failBatch):
					t.Errorf("deliver %s: %v", evs[i].ID, err)
				case err != nil && n != 0:
					t.Errorf("deliver %s failed but its event is stored", evs[i].ID)
				case err == nil && n != 1:
					t.Errorf("deliver %s succeeded but its event is not stored", evs[i].ID)
				case err != nil:
					failed++
				}
			}
			if failed < 2 {
				t.Errorf("%d deliveries failed, want every one of a shared insert", failed)
			}
			delivered, _, _, _ := obs.summary()
			heard := 0
			for _, d := range delivered {
				if d == "error" {
					heard++
				}
			}
			if heard != failed {
				t.Errorf("observer heard %d failed deliveries, want %d", heard, failed)
			}
			// The platform delivers the unacknowledged events again.
			q.failBatch = nil
			for _, ev := range evs {
				if err := p.Deliver(context.Background(), ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				if n := stored(t, store, ev); n != 1 {
					t.Errorf("%s stored %d times", ev.ID, n)
				}
			}
			_, handled, _, _ := obs.summary()
			if len(handled) != 11 {
				t.Errorf("%d events handled, want 11: %v", len(handled), handled)
			}
		})
	}
}

// TestCrashInSharedInsertLosesNothing crashes the process right after a
// shared insert, at each of its events in turn; a second process, to which
// the platform delivers every event again, asks each question once and
// each asker hears back once.
func TestCrashInSharedInsertLosesNothing(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			lead := event(100, "bob", "#general", "!expert marchés publics")
			var evs []bots.Event
			for i := range 6 {
				evs = append(evs, event(101+i, fmt.Sprintf("agent%d", i), "#general",
					fmt.Sprintf("!ask Question %d : comment passer un marché public de fournitures ?", i)))
			}
			for n := 2; n <= 4; n++ {
				store := open(t)
				q := newGatedQueue(store)
				sender := newPlatformFake()
				clock := core.NewManualClock(t0)
				fail, crashed := crashAt(bots.StepStored, n)
				first := buildQueuePipeline(t, store, q, nil, fail, func(c *bots.PipelineConfig) { c.Owner = "first" })
				done := startGated(first, q, lead)
				deliverAll(t, first, q, evs, nil)
				<-done
				if !crashed() {
					t.Fatalf("crash #%d not reached", n)
				}
				// The process died: nothing handled. A new one takes over.
				clock.Advance(bots.DefaultPipelineConfig().Lease + time.Second)
				second := buildPipeline(t, store, clock, core.DefaultConfig(), sender, nil, func(c *bots.PipelineConfig) { c.Owner = "second" })
				for _, ev := range append([]bots.Event{lead}, evs...) {
					if err := second.Deliver(context.Background(), ev); err != nil {
						t.Fatal(err)
					}
				}
				if err := second.Drain(context.Background()); err != nil {
					t.Fatal(err)
				}
				qs, err := store.QuestionsAfter(context.Background(), 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				if len(qs) != len(evs) {
					t.Errorf("crash #%d: %d questions stored, want %d", n, len(qs), len(evs))
				}
				for key, calls := range sender.calls {
					if calls != 1 {
						t.Errorf("crash #%d: %s sent %d times", n, key, calls)
					}
				}
				for _, ev := range evs {
					if stored(t, store, ev) != 1 {
						t.Errorf("crash #%d: %s not stored once", n, ev.ID)
					}
				}
			}
		})
	}
}

// TestCancelledDeliveryLeavesTheLine cancels a delivery waiting behind
// another: it returns at once with its context's error, its event is not
// stored, and the deliveries after it go on.
func TestCancelledDeliveryLeavesTheLine(t *testing.T) {
	store := sqlstoretest.SQLite(t)
	q := newGatedQueue(store)
	p := buildQueuePipeline(t, store, q, nil, nil)
	lead := event(100, "lead", "#general", "!help")
	quitter, stayer := event(101, "quitter", "#general", "!help"), event(102, "stayer", "#general", "!help")
	done := startGated(p, q, lead)
	ctx, cancel := context.WithCancel(context.Background())
	quit := make(chan error, 1)
	go func() { quit <- p.Deliver(ctx, quitter) }()
	stay := make(chan error, 1)
	go func() { stay <- p.Deliver(context.Background(), stayer) }()
	cancel()
	if err := <-quit; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled delivery returned %v", err)
	}
	close(q.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-stay; err != nil {
		t.Fatal(err)
	}
	if stored(t, store, quitter) != 0 || stored(t, store, stayer) != 1 || stored(t, store, lead) != 1 {
		t.Errorf("stored: lead %d, quitter %d, stayer %d", stored(t, store, lead), stored(t, store, quitter), stored(t, store, stayer))
	}
}

// buildQueuePipeline is buildPipeline over queue instead of the store
// itself, heard by obs (may be nil).
func buildQueuePipeline(t *testing.T, store *sqlstore.Store, queue bots.Queue, obs bots.Observer, fail bots.Failpoint, tune ...func(*bots.PipelineConfig)) *bots.Pipeline {
	t.Helper()
	return buildPipelineOver(t, store, queue, core.NewManualClock(t0), core.DefaultConfig(), newPlatformFake(), fail, func(c *bots.PipelineConfig) {
		c.Observer = obs
		for _, f := range tune {
			f(c)
		}
	})
}

// TestSentMessagesAreMarkedTogether sends a batch of messages: each is
// marked sent with the id its platform gave it, in one statement.
func TestSentMessagesAreMarkedTogether(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			store := open(t)
			sender := newPlatformFake()
			p := buildPipeline(t, store, core.NewManualClock(t0), core.DefaultConfig(), sender, nil, nil)
			for i := range 5 {
				if err := p.Deliver(context.Background(), event(i+1, fmt.Sprintf("user%d", i), "#general", "!help")); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}
			var rows []struct {
				Key       string `db:"key"`
				State     string `db:"state"`
				MessageID string `db:"message_id"`
			}
			if err := store.DB().SelectContext(context.Background(), &rows, "SELECT key, state, message_id FROM outbox ORDER BY id"); err != nil {
				t.Fatal(err)
			}
			if len(rows) < 5 {
				t.Fatalf("%d messages in the outbox, want 5 or more", len(rows))
			}
			for _, r := range rows {
				if r.State != "sent" || r.MessageID != "m-"+r.Key {
					t.Errorf("message %s: state %s, id %q", r.Key, r.State, r.MessageID)
				}
			}
		})
	}
}
