package leader_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entraide/adapters/leader"
	"entraide/adapters/leader/leadertest"
	"entraide/core"
)

const ttl = 30 * time.Second

func TestMemoryContract(t *testing.T) {
	leadertest.Contract(t, func(testing.TB) leader.Store { return &leadertest.Memory{} })
}

// faulty is a store that a test can take down (every call fails, as for a
// process cut off from the database), and that counts the calls.
type faulty struct {
	leader.Store
	down                       atomic.Bool
	acquires, renews, releases atomic.Int64
}

var errDown = errors.New("database unreachable")

func (f *faulty) AcquireLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (leader.Lease, bool, error) {
	defer f.acquires.Add(1)
	if f.down.Load() {
		return leader.Lease{}, false, errDown
	}
	return f.Store.AcquireLease(ctx, name, owner, now, ttl)
}

func (f *faulty) RenewLease(ctx context.Context, l leader.Lease, now time.Time, ttl time.Duration) (leader.Lease, error) {
	defer f.renews.Add(1)
	if f.down.Load() {
		return leader.Lease{}, errDown
	}
	return f.Store.RenewLease(ctx, l, now, ttl)
}

func (f *faulty) ReleaseLease(ctx context.Context, l leader.Lease, now time.Time) error {
	defer f.releases.Add(1)
	if f.down.Load() {
		return errDown
	}
	return f.Store.ReleaseLease(ctx, l, now)
}

// calls returns the number of calls to the store so far.
func (f *faulty) calls() int64 { return f.acquires.Load() + f.renews.Load() + f.releases.Load() }

// work is the function runners run under the lease: it counts the holders
// running at once, and tells each start and stop.
type work struct {
	active  atomic.Int32
	overlap atomic.Bool
	starts  chan leader.Lease
	stops   chan leader.Lease
}

func newWork() *work {
	return &work{starts: make(chan leader.Lease, 100), stops: make(chan leader.Lease, 100)}
}

// run holds until ctx ends.
func (w *work) run(ctx context.Context, l leader.Lease) error {
	if w.active.Add(1) > 1 {
		w.overlap.Store(true)
	}
	w.starts <- l
	<-ctx.Done()
	w.active.Add(-1)
	w.stops <- l
	return nil
}

// runner starts a Runner for owner until its context is cancelled; stop
// cancels it and waits for Run to return, and returns Run's error.
func runner(t *testing.T, store leader.Store, clock core.Clock, owner string, fn func(context.Context, leader.Lease) error, log *slog.Logger) (stop func() error) {
	t.Helper()
	r, err := leader.New(store, leader.Config{Name: "platform/matrix", Owner: owner, TTL: ttl,
		Renew: time.Millisecond, Poll: time.Millisecond, Clock: clock, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, fn) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return stop
}

// waitFor polls cond every millisecond; it fails the test after a long
// while, which only a hung test reaches.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// receive returns the next value of c.
func receive[T any](t *testing.T, what string, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("still waiting for %s", what)
		panic("unreachable")
	}
}

// more waits until f's calls grew by n, so that the runner using f has
// seen the clock as it is now.
func more(t *testing.T, f *faulty, n int64) {
	t.Helper()
	from := f.calls()
	waitFor(t, "calls to the store", func() bool { return f.calls() >= from+n })
}

func TestRunnerHoldsRenewsAndReleases(t *testing.T) {
	mem := &leadertest.Memory{}
	store := &faulty{Store: mem}
	clock := core.NewManualClock(leadertest.Start)
	w := newWork()
	stop := runner(t, store, clock, "a", w.run, nil)
	l := receive(t, "a's start", w.starts)
	if l.Owner != "a" || l.Fence <= 0 {
		t.Fatalf("a's term: %+v", l)
	}
	// Renewed along the way, the lease outlives its TTL many times over.
	for range 12 {
		clock.Advance(ttl / 4)
		more(t, store, 3)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, "a's stop", w.stops); got.Fence != l.Fence {
		t.Errorf("stopped term %+v, want %+v", got, l)
	}
	if len(w.starts) > 0 {
		t.Errorf("the work started again: %+v", <-w.starts)
	}
	// Released: b takes over at once, with a greater fence.
	b, ok, err := mem.AcquireLease(context.Background(), "platform/matrix", "b", clock.Now(), ttl)
	if err != nil || !ok || b.Fence <= l.Fence {
		t.Errorf("b after a stopped: %+v %v %v", b, ok, err)
	}
}

func TestRunnerStopsWorkWhenRenewalFails(t *testing.T) {
	store := &faulty{Store: &leadertest.Memory{}}
	clock := core.NewManualClock(leadertest.Start)
	w := newWork()
	stop := runner(t, store, clock, "a", w.run, nil)
	first := receive(t, "the first term", w.starts)
	store.down.Store(true)
	receive(t, "the work stopped", w.stops)
	more(t, store, 3) // still trying, not started
	if len(w.starts) > 0 {
		t.Fatal("the work started while the store was down")
	}
	store.down.Store(false)
	second := receive(t, "the second term", w.starts)
	if second.Fence <= first.Fence {
		t.Errorf("second term's fence %d, first %d", second.Fence, first.Fence)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if w.overlap.Load() {
		t.Error("two terms overlapped")
	}
}

func TestRunnerStopsWorkWhenLeaseIsLost(t *testing.T) {
	mem := &leadertest.Memory{}
	store := &faulty{Store: mem}
	clock := core.NewManualClock(leadertest.Start)
	var logs syncBuffer
	w := newWork()
	runner(t, store, clock, "a", w.run, slog.New(slog.NewTextHandler(&logs, nil)))
	first := receive(t, "a's first term", w.starts)
	// The clock jumps past the term, as for a process frozen that long: the
	// next renewal finds the term over, the work stops, and a new term
	// starts, the lease being free.
	clock.Advance(ttl)
	receive(t, "the first term's end", w.stops)
	second := receive(t, "a's second term", w.starts)
	if second.Fence <= first.Fence {
		t.Errorf("second term's fence %d, first %d", second.Fence, first.Fence)
	}
	// a is cut off for longer than the TTL; b takes the lease meanwhile.
	store.down.Store(true)
	receive(t, "the second term's end", w.stops)
	more(t, store, 3) // a release and attempts to acquire, all failing
	clock.Advance(ttl)
	b, ok, err := mem.AcquireLease(context.Background(), "platform/matrix", "b", clock.Now(), ttl)
	if err != nil || !ok {
		t.Fatalf("b: %v %v", ok, err)
	}
	store.down.Store(false)
	more(t, store, 10)
	if len(w.starts) > 0 {
		t.Fatal("a ran while b held the lease")
	}
	if w.overlap.Load() {
		t.Error("two terms overlapped")
	}
	out := logs.String()
	if n := strings.Count(out, "lease held by another process"); n != 1 {
		t.Errorf("the holder logged %d times, want once:\n%s", n, out)
	}
	for _, want := range []string{"lease lost: stopping", "lease lost", "lease: cannot reach the store",
		"lease not released", "lease store reachable again", "holder=b", fmt.Sprintf("fence=%d", b.Fence)} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs lack %q:\n%s", want, out)
		}
	}
}

func TestRunnerReturnsTheWorksError(t *testing.T) {
	mem := &leadertest.Memory{}
	clock := core.NewManualClock(leadertest.Start)
	refused := errors.New("matrix: log in: wrong password")
	r, err := leader.New(mem, leader.Config{Name: "platform/matrix", Owner: "a", TTL: ttl, Poll: time.Millisecond, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), func(context.Context, leader.Lease) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("Run: %v, want the work's error", err)
	}
	if _, ok, err := mem.AcquireLease(context.Background(), "platform/matrix", "b", clock.Now(), ttl); err != nil || !ok {
		t.Errorf("the lease was not released after the error: %v %v", ok, err)
	}
}

func TestRunnerRunsAgainWhenWorkEnds(t *testing.T) {
	clock := core.NewManualClock(leadertest.Start)
	fences := make(chan int64, 10)
	var n atomic.Int32
	stop := runner(t, &leadertest.Memory{}, clock, "a", func(ctx context.Context, l leader.Lease) error {
		fences <- l.Fence
		if n.Add(1) < 3 {
			return nil
		}
		<-ctx.Done()
		return nil
	}, nil)
	var last int64
	for i := range 3 {
		f := receive(t, "a term", fences)
		if f <= last {
			t.Errorf("term %d: fence %d after %d", i, f, last)
		}
		last = f
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  leader.Config
		want string
	}{
		{leader.Config{Owner: "a"}, "no lease name"},
		{leader.Config{Name: "l"}, "no owner"},
		{leader.Config{Name: "l", Owner: "a", TTL: -time.Second}, "negative"},
		{leader.Config{Name: "l", Owner: "a", TTL: 10 * time.Second, Renew: 6 * time.Second}, "at most half"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
		if _, err := leader.New(&leadertest.Memory{}, tc.cfg); err == nil {
			t.Errorf("New accepted %+v", tc.cfg)
		}
	}
	if err := (leader.Config{Name: "l", Owner: "a"}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// syncBuffer is a buffer that loggers write to from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
