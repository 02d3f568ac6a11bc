// Package leader runs work in one process at a time among those that share
// a database: the holder of a named lease ("platform/matrix"). A Runner
// waits until it can take the lease, runs its function while it renews the
// lease, stops the function as soon as a renewal fails, and releases the
// lease when its context ends, so that a peer takes over at once. A process
// that dies without releasing keeps the lease until it expires, one TTL
// after its last renewal; then a peer takes it.
//
// The lease is a row in the store, taken and renewed with a compare-and-set
// on its owner and fencing number; times come from a core.Clock. Each new
// term of a lease has a greater fencing number than the one before, which
// the holder gets with its Lease.
//
// Safety rests on time: a holder stops its work at the first renewal that
// fails. Renewals come every third of a TTL (by default) and may take a
// sixth of it at most, so the work is told to stop half a TTL after the
// last renewal that succeeded, at the latest, and has the other half to
// stop before a peer may take over. A holder whose work takes longer to
// stop, or whose process is frozen longer than that, may overlap with the
// next holder; clocks of the processes that differ by seconds eat into the
// same margin.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"entraide/core"
)

// DefaultTTL is how long a term lasts without renewal when Config.TTL is
// zero.
const DefaultTTL = 30 * time.Second

// ErrLost says a lease is no longer the caller's: it expired, or another
// owner took it.
var ErrLost = fmt.Errorf("lease lost: %w", core.ErrConflict)

// Lease is one term of an owner holding a named lease.
type Lease struct {
	Name  string
	Owner string
	// Fence grows with each new term of the lease. The holder may pass it
	// along with what it writes, so that a stale holder can be refused.
	Fence int64
	// Expires is when the term ends unless it is renewed.
	Expires time.Time
}

// Store keeps leases. adapters/sqlstore.Store implements it;
// adapters/leader/leadertest holds its contract tests and an in-memory
// implementation.
type Store interface {
	// AcquireLease starts a new term of the lease name for owner, until
	// now+ttl, when the lease is free, expired at now, or owner's already;
	// the new term's fence is greater than any before. Otherwise it reports
	// false with the lease as it stands (its holder).
	AcquireLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (Lease, bool, error)
	// RenewLease extends l until now+ttl when l is still the current term
	// (same owner and fence) and has not expired at now; otherwise it fails
	// with an error wrapping ErrLost.
	RenewLease(ctx context.Context, l Lease, now time.Time, ttl time.Duration) (Lease, error)
	// ReleaseLease frees the lease at once when l is still its current
	// term; a term lost already is left alone, without error.
	ReleaseLease(ctx context.Context, l Lease, now time.Time) error
}

// Config tunes a Runner.
type Config struct {
	// Name is the lease, such as "platform/matrix".
	Name string
	// Owner identifies this process among those that share the store; it
	// shows in the logs and in the store (a host name and a random part).
	Owner string
	// TTL is how long a term lasts without renewal: how long peers wait
	// after the holder died (DefaultTTL when zero).
	TTL time.Duration
	// Renew is the time between two renewals (TTL/3 when zero). It must be
	// at most TTL/2, so that one failed renewal stops the work before the
	// term ends.
	Renew time.Duration
	// Poll is the time between two attempts at taking the lease while
	// another process holds it (TTL/3 when zero).
	Poll time.Duration
	// Clock tells the time of the terms (core.SystemClock when nil).
	Clock core.Clock
	// Log hears of terms taken, lost and released (nothing when nil).
	Log *slog.Logger
}

// withDefaults fills the settings left zero.
func (c Config) withDefaults() Config {
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.Renew == 0 {
		c.Renew = c.TTL / 3
	}
	if c.Poll == 0 {
		c.Poll = c.TTL / 3
	}
	if c.Clock == nil {
		c.Clock = core.SystemClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports settings a Runner cannot work with.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("leader: no lease name"))
	}
	if c.Owner == "" {
		errs = append(errs, errors.New("leader: no owner"))
	}
	if c.TTL < 0 || c.Renew < 0 || c.Poll < 0 {
		errs = append(errs, fmt.Errorf("leader: negative TTL %s, renewal %s or poll %s", c.TTL, c.Renew, c.Poll))
	} else if c.Renew > c.TTL/2 {
		errs = append(errs, fmt.Errorf("leader: renewal every %s with a TTL of %s: want at most half the TTL", c.Renew, c.TTL))
	}
	return errors.Join(errs...)
}

// Runner runs a function while its process holds a lease.
type Runner struct {
	store Store
	cfg   Config
	log   *slog.Logger
}

// New returns a Runner of the lease cfg.Name in store.
func New(store Store, cfg Config) (*Runner, error) {
	if store == nil {
		return nil, errors.New("leader: nil store")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Runner{store: store, cfg: cfg, log: cfg.Log.With("lease", cfg.Name, "owner", cfg.Owner)}, nil
}

// Run waits until it holds the lease, runs fn with a context that ends as
// soon as the lease is lost (a renewal failed) or ctx ends, and waits for
// fn to return; it then releases the lease (unless the store said it was
// lost already) and waits again, until ctx ends.
// It returns nil when ctx ends. When fn returns an error while the lease
// is held and ctx has not ended, Run releases the lease and returns that
// error; when fn returns nil by itself, Run releases the lease and tries
// again after Poll. Run returns only once fn has returned, and leaves no
// goroutine behind.
func (r *Runner) Run(ctx context.Context, fn func(ctx context.Context, l Lease) error) error {
	wait := time.NewTimer(0)
	defer wait.Stop()
	var w waiting
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wait.C:
		}
		l, ok, err := r.acquire(ctx)
		switch {
		case ok && ctx.Err() != nil:
			r.release(ctx, l) // taken as ctx ended: give it back at once
			return nil
		case ctx.Err() != nil:
			return nil
		case err != nil:
			w.failed(r.log, err)
		case !ok:
			w.heldBy(r.log, l)
		default:
			w = waiting{}
			lost, err := r.hold(ctx, l, fn)
			if !lost {
				r.release(ctx, l)
			}
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
		}
		wait.Reset(r.cfg.Poll)
	}
}

// timeout bounds one call to the store: a renewal that hangs must fail
// well before the term ends.
func (r *Runner) timeout() time.Duration { return max(r.cfg.TTL/6, time.Millisecond) }

func (r *Runner) acquire(ctx context.Context) (Lease, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	return r.store.AcquireLease(ctx, r.cfg.Name, r.cfg.Owner, r.cfg.Clock.Now(), r.cfg.TTL)
}

// hold runs fn while it renews l. It reports whether the store said the
// term was over, and returns fn's error when fn failed while the lease was
// held and ctx had not ended.
func (r *Runner) hold(ctx context.Context, l Lease, fn func(context.Context, Lease) error) (lost bool, err error) {
	r.log.Info("lease acquired: running", "fence", l.Fence, "ttl", r.cfg.TTL)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	term := l // l changes with each renewal
	go func() { done <- fn(fctx, term) }()
	tick := time.NewTicker(r.cfg.Renew)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			r.log.Warn("work ended by itself while holding the lease: releasing it", "fence", l.Fence)
			return false, nil
		case <-ctx.Done():
			cancel()
			<-done
			return false, nil
		case <-tick.C:
			next, err := r.renew(ctx, l)
			if ctx.Err() != nil {
				continue // done is next: fn sees ctx end too
			}
			if err != nil {
				r.log.Warn("lease lost: stopping", "fence", l.Fence, "expires", l.Expires, "err", err)
				cancel()
				if err := <-done; err != nil {
					r.log.Info("work stopped after losing the lease", "fence", l.Fence, "err", err)
				}
				return errors.Is(err, ErrLost), nil
			}
			l = next
		}
	}
}

func (r *Runner) renew(ctx context.Context, l Lease) (Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	return r.store.RenewLease(ctx, l, r.cfg.Clock.Now(), r.cfg.TTL)
}

// release frees l for a peer, even once ctx has ended.
func (r *Runner) release(ctx context.Context, l Lease) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout())
	defer cancel()
	if err := r.store.ReleaseLease(ctx, l, r.cfg.Clock.Now()); err != nil {
		r.log.Warn("lease not released: peers take over when it expires", "fence", l.Fence, "expires", l.Expires, "err", err)
		return
	}
	r.log.Info("lease released", "fence", l.Fence)
}

// waiting remembers what a waiting Runner last logged, so that it logs a
// new holder or a new failure once, not at every poll.
type waiting struct {
	holder string
	fence  int64
	broken bool
}

func (w *waiting) heldBy(log *slog.Logger, l Lease) {
	if w.broken {
		log.Info("lease store reachable again")
		w.broken = false
	}
	if l.Owner == w.holder && l.Fence == w.fence {
		return
	}
	w.holder, w.fence = l.Owner, l.Fence
	log.Info("lease held by another process: waiting", "holder", l.Owner, "fence", l.Fence, "expires", l.Expires)
}

func (w *waiting) failed(log *slog.Logger, err error) {
	if w.broken {
		log.Debug("lease: still cannot reach the store", "err", err)
		return
	}
	w.broken = true
	log.Warn("lease: cannot reach the store, retrying", "err", err)
}
