package bots_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// recorder is an Observer that keeps what it hears.
type recorder struct {
	mu        sync.Mutex
	delivered []bots.DeliveryReport
	handled   []bots.HandlingReport
	sent      []bots.SendReport
	jobs      []bots.JobReport
}

var _ bots.Observer = (*recorder)(nil)

func (r *recorder) EventDelivered(d bots.DeliveryReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivered = append(r.delivered, d)
}

func (r *recorder) EventHandled(h bots.HandlingReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handled = append(r.handled, h)
}

func (r *recorder) MessageSent(s bots.SendReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, s)
}

func (r *recorder) JobRun(j bots.JobReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, j)
}

// summary returns what r heard since the last call, one word per report:
// deliveries as new or duplicate, handlings as command:outcome, sends and
// jobs as their outcome (jobs with their kind).
func (r *recorder) summary() (delivered, handled, sent, jobs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.delivered {
		switch {
		case d.Err != nil:
			delivered = append(delivered, "error")
		case d.Duplicate:
			delivered = append(delivered, "duplicate")
		default:
			delivered = append(delivered, "new")
		}
	}
	for _, h := range r.handled {
		handled = append(handled, h.Command+":"+string(h.Outcome))
	}
	for _, s := range r.sent {
		sent = append(sent, string(s.Outcome))
	}
	for _, j := range r.jobs {
		jobs = append(jobs, j.Kind+":"+string(j.Outcome))
	}
	r.delivered, r.handled, r.sent, r.jobs = nil, nil, nil, nil
	return delivered, handled, sent, jobs
}

// flakySender fails its first sends as a platform would: errs[i] is the
// error of send i, nil to pass it to the platform fake.
type flakySender struct {
	*platformFake
	mu   sync.Mutex
	errs []error
}

func (f *flakySender) Send(ctx context.Context, o bots.Outgoing) (bots.Sent, error) {
	f.mu.Lock()
	var err error
	if len(f.errs) > 0 {
		err, f.errs = f.errs[0], f.errs[1:]
	}
	f.mu.Unlock()
	if err != nil {
		return bots.Sent{}, err
	}
	return f.platformFake.Send(ctx, o)
}

func TestObserverHearsTheConversation(t *testing.T) {
	ctx := context.Background()
	store := sqlstoretest.SQLite(t)
	clock := core.NewManualClock(t0)
	rec := &recorder{}
	sender := &flakySender{platformFake: newPlatformFake(), errs: []error{
		&bots.RetryAfterError{After: 30 * time.Second, Err: errors.New("429")},
		errors.New("502 bad gateway"),
	}}
	p := buildPipeline(t, store, clock, core.DefaultConfig(), sender, nil, func(c *bots.PipelineConfig) {
		c.Owner, c.MaxAttempts, c.Observer = "observed", 2, rec
	})
	drain := func() {
		t.Helper()
		if err := p.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range []bots.Event{scenario[0], scenario[1], scenario[2], scenario[2]} {
		if err := p.Deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if events, messages, err := p.Backlog(ctx); err != nil || events != 3 || messages != 0 {
		t.Fatalf("backlog before handling: %d events, %d messages, %v", events, messages, err)
	}
	drain()
	// The first reply was rate-limited, the second refused once: both wait.
	if events, messages, err := p.Backlog(ctx); err != nil || events != 0 || messages != 2 {
		t.Fatalf("backlog after handling: %d events, %d messages, %v", events, messages, err)
	}
	delivered, handled, sent, jobs := rec.summary()
	want := func(what string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: heard %q, want %q", what, got, want)
		}
	}
	want("delivered", delivered, []string{"new", "new", "new", "duplicate"})
	want("handled", handled, []string{"expert:ok", "expert:ok", "ask:ok"})
	// Replies to the two experts, the acknowledgement of the question and
	// its request to Bob: the first two sends were refused.
	want("sent", sent, []string{"rate_limited", "retry", "ok", "ok"})
	want("jobs", jobs, nil)

	// The rate-limited reply goes after the wait, the refused one after its
	// backoff (2 s).
	clock.Advance(30 * time.Second)
	drain()
	_, _, sent, _ = rec.summary()
	want("sent after the waits", sent, []string{"ok", "ok"})

	// An unknown job kind is a failure of the bot, retried once and then
	// set aside (MaxAttempts 2); the question's escalation runs after a day.
	if err := store.ScheduleJob(ctx, core.Job{Kind: "mystery", Key: "mystery/1", RunAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	drain()
	clock.Advance(time.Minute)
	drain()
	_, _, _, jobs = rec.summary()
	want("jobs", jobs, []string{"mystery:bot_error", "mystery:failed"})

	if err := p.Deliver(ctx, scenario[3]); err != nil {
		t.Fatal(err)
	}
	drain()
	clock.Advance(core.DefaultConfig().EscalateAfter + time.Minute)
	drain()
	_, handled, _, jobs = rec.summary()
	want("handled", handled, []string{"answer:ok"})
	want("jobs", jobs, []string{"escalate:ok"})
}

func TestObserverHearsDetails(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	sender := &flakySender{platformFake: newPlatformFake(), errs: []error{
		&bots.RetryAfterError{After: 45 * time.Second, Err: errors.New("429")},
		fmt.Errorf("room gone: %w", bots.ErrUndeliverable),
	}}
	p := buildPipeline(t, sqlstoretest.SQLite(t), core.NewManualClock(t0), core.DefaultConfig(), sender, nil, func(c *bots.PipelineConfig) {
		c.Observer = rec
	})
	for _, ev := range []bots.Event{event(1, "bob", "#general", "!expertise achats"), event(2, "bob", "", "bonjour")} {
		if err := p.Deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.delivered) != 2 || rec.delivered[0].Platform != "test" {
		t.Errorf("delivered: %+v", rec.delivered)
	}
	if len(rec.handled) != 2 {
		t.Fatalf("handled: %+v", rec.handled)
	}
	// An alias is reported under the command's name; text that is no
	// command under none.
	if h := rec.handled[0]; h.Command != "expert" || h.Platform != "test" || h.Duration <= 0 || h.Err != nil {
		t.Errorf("handled: %+v", h)
	}
	if h := rec.handled[1]; h.Command != "" || h.Outcome != bots.OutcomeOK {
		t.Errorf("handled: %+v", h)
	}
	// The reply to the first is rate-limited; the hint answering the
	// second cannot be delivered.
	if len(rec.sent) != 2 {
		t.Fatalf("sent: %+v", rec.sent)
	}
	if s := rec.sent[0]; s.Outcome != bots.OutcomeRateLimited || s.RetryAfter != 45*time.Second || s.Err == nil || s.Platform != "test" {
		t.Errorf("sent: %+v", s)
	}
	if s := rec.sent[1]; s.Outcome != bots.OutcomeFailed || !errors.Is(s.Err, bots.ErrUndeliverable) || s.RetryAfter != 0 {
		t.Errorf("sent: %+v", s)
	}
}

// TestObserverHearsBatchesAndCrashes handles a batch in one transaction,
// then crashes in the middle of one.
func TestObserverHearsBatchesAndCrashes(t *testing.T) {
	ctx := context.Background()
	for _, crash := range []bool{false, true} {
		rec := &recorder{}
		var fail bots.Failpoint
		if crash {
			fail, _ = crashAt(bots.StepHandled, 2)
		}
		clock := core.NewManualClock(t0)
		p := buildPipeline(t, sqlstoretest.SQLite(t), clock, core.DefaultConfig(), newPlatformFake(), fail, func(c *bots.PipelineConfig) {
			c.BatchTx, c.Observer = true, rec
		})
		for _, ev := range scenario[:3] {
			if err := p.Deliver(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		err := p.Drain(ctx)
		_, handled, _, _ := rec.summary()
		if !crash {
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"expert:ok", "expert:ok", "ask:ok"}; !slices.Equal(handled, want) {
				t.Errorf("batch: heard %q, want %q", handled, want)
			}
			continue
		}
		if err == nil {
			t.Fatal("no crash")
		}
		if want := []string{"expert:crash"}; !slices.Equal(handled, want) {
			t.Errorf("crash in a batch: heard %q, want %q", handled, want)
		}
		// After the lease, the batch is handled again.
		clock.Advance(bots.DefaultPipelineConfig().Lease + time.Second)
		if err := p.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if _, handled, _, _ := rec.summary(); !slices.Equal(handled, []string{"expert:ok", "expert:ok", "ask:ok"}) {
			t.Errorf("after the crash: heard %q", handled)
		}
	}
}

func TestNilObserverIsNop(t *testing.T) {
	p := buildPipeline(t, sqlstoretest.SQLite(t), core.NewManualClock(t0), core.DefaultConfig(), newPlatformFake(), nil, nil)
	if err := p.Deliver(context.Background(), scenario[0]); err != nil {
		t.Fatal(err)
	}
	if err := p.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}
