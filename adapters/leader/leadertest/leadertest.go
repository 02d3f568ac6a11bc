// Package leadertest holds the contract every leader.Store passes, and an
// in-memory Store that passes it, for tests of work that runs under a
// lease.
package leadertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"entraide/adapters/leader"
)

// Memory is a leader.Store in memory, for the processes of one test. Its
// zero value is ready; it is safe for concurrent use.
type Memory struct {
	mu     sync.Mutex
	leases map[string]leader.Lease
}

var _ leader.Store = (*Memory)(nil)

// AcquireLease implements leader.Store.
func (m *Memory) AcquireLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (leader.Lease, bool, error) {
	if err := ctx.Err(); err != nil {
		return leader.Lease{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leases == nil {
		m.leases = map[string]leader.Lease{}
	}
	cur, ok := m.leases[name]
	if ok && cur.Owner != "" && cur.Owner != owner && now.Before(cur.Expires) {
		return cur, false, nil
	}
	l := leader.Lease{Name: name, Owner: owner, Fence: cur.Fence + 1, Expires: now.Add(ttl)}
	m.leases[name] = l
	return l, true, nil
}

// RenewLease implements leader.Store.
func (m *Memory) RenewLease(ctx context.Context, l leader.Lease, now time.Time, ttl time.Duration) (leader.Lease, error) {
	if err := ctx.Err(); err != nil {
		return leader.Lease{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.leases[l.Name]
	if !ok || cur.Owner != l.Owner || cur.Fence != l.Fence || !now.Before(cur.Expires) {
		return leader.Lease{}, fmt.Errorf("leadertest: renew %s: %w", l.Name, leader.ErrLost)
	}
	cur.Expires = now.Add(ttl)
	m.leases[l.Name] = cur
	return cur, nil
}

// ReleaseLease implements leader.Store.
func (m *Memory) ReleaseLease(ctx context.Context, l leader.Lease, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.leases[l.Name]
	if ok && cur.Owner == l.Owner && cur.Fence == l.Fence {
		cur.Owner, cur.Expires = "", now
		m.leases[l.Name] = cur
	}
	return nil
}

// Opener returns a new, empty store for one test.
type Opener func(t testing.TB) leader.Store

// Start is the time the contract's clock starts at.
var Start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Contract checks that the stores open returns keep leases as leader.Store
// says: one term at a time, renewed by its holder only, free once expired
// or released, fences that grow, and one winner among owners racing.
func Contract(t *testing.T, open Opener) {
	ctx := context.Background()
	const ttl = 30 * time.Second
	t.Run("AcquireRenewExpire", func(t *testing.T) {
		s := open(t)
		now := Start
		a, ok, err := s.AcquireLease(ctx, "platform/matrix", "a", now, ttl)
		if err != nil || !ok {
			t.Fatalf("a free lease: %+v %v %v", a, ok, err)
		}
		if a.Name != "platform/matrix" || a.Owner != "a" || a.Fence <= 0 || !a.Expires.Equal(now.Add(ttl)) {
			t.Fatalf("a's term: %+v", a)
		}
		held, ok, err := s.AcquireLease(ctx, "platform/matrix", "b", now.Add(ttl-time.Microsecond), ttl)
		if err != nil || ok {
			t.Fatalf("b took a held lease: %+v %v %v", held, ok, err)
		}
		if held.Owner != "a" || held.Fence != a.Fence || !held.Expires.Equal(a.Expires) {
			t.Errorf("b was told the holder is %+v, want %+v", held, a)
		}
		now = now.Add(20 * time.Second)
		renewed, err := s.RenewLease(ctx, a, now, ttl)
		if err != nil || renewed.Fence != a.Fence || renewed.Owner != "a" || !renewed.Expires.Equal(now.Add(ttl)) {
			t.Fatalf("renewal: %+v %v", renewed, err)
		}
		if _, ok, _ := s.AcquireLease(ctx, "platform/matrix", "b", a.Expires, ttl); ok {
			t.Fatal("b took the lease at the end of a's first term although a renewed it")
		}
		// Past the renewed term: a may not renew, b takes over with a
		// greater fence.
		now = renewed.Expires
		if _, err := s.RenewLease(ctx, renewed, now, ttl); !errors.Is(err, leader.ErrLost) {
			t.Fatalf("a renewed an expired term: %v", err)
		}
		b, ok, err := s.AcquireLease(ctx, "platform/matrix", "b", now, ttl)
		if err != nil || !ok || b.Owner != "b" || b.Fence <= a.Fence {
			t.Fatalf("b after a's term expired: %+v %v %v", b, ok, err)
		}
		if _, err := s.RenewLease(ctx, renewed, now, ttl); !errors.Is(err, leader.ErrLost) {
			t.Errorf("a renewed b's term: %v", err)
		}
		stale := b
		stale.Fence = a.Fence
		if _, err := s.RenewLease(ctx, stale, now, ttl); !errors.Is(err, leader.ErrLost) {
			t.Errorf("b renewed with a stale fence: %v", err)
		}
		if _, err := s.RenewLease(ctx, b, now.Add(time.Second), ttl); err != nil {
			t.Errorf("b renews its term: %v", err)
		}
	})
	t.Run("Release", func(t *testing.T) {
		s := open(t)
		now := Start
		a, _, err := s.AcquireLease(ctx, "l", "a", now, ttl)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
		if err := s.ReleaseLease(ctx, a, now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RenewLease(ctx, a, now, ttl); !errors.Is(err, leader.ErrLost) {
			t.Errorf("a renewed a released term: %v", err)
		}
		b, ok, err := s.AcquireLease(ctx, "l", "b", now, ttl)
		if err != nil || !ok || b.Fence <= a.Fence {
			t.Fatalf("b right after a released: %+v %v %v", b, ok, err)
		}
		// A stale release changes nothing.
		if err := s.ReleaseLease(ctx, a, now); err != nil {
			t.Fatal(err)
		}
		if l, ok, _ := s.AcquireLease(ctx, "l", "c", now, ttl); ok {
			t.Fatalf("a's stale release freed b's term: c got %+v", l)
		}
		if _, err := s.RenewLease(ctx, b, now, ttl); err != nil {
			t.Errorf("b after a's stale release: %v", err)
		}
	})
	t.Run("SameOwnerStartsANewTerm", func(t *testing.T) {
		s := open(t)
		a1, _, err := s.AcquireLease(ctx, "l", "a", Start, ttl)
		if err != nil {
			t.Fatal(err)
		}
		a2, ok, err := s.AcquireLease(ctx, "l", "a", Start.Add(time.Second), ttl)
		if err != nil || !ok || a2.Fence <= a1.Fence {
			t.Fatalf("a again: %+v %v %v", a2, ok, err)
		}
		if _, err := s.RenewLease(ctx, a1, Start.Add(time.Second), ttl); !errors.Is(err, leader.ErrLost) {
			t.Errorf("a renewed its previous term: %v", err)
		}
	})
	t.Run("NamesAreIndependent", func(t *testing.T) {
		s := open(t)
		for _, name := range []string{"platform/matrix", "platform/discord"} {
			if _, ok, err := s.AcquireLease(ctx, name, name, Start, ttl); err != nil || !ok {
				t.Fatalf("%s: %v %v", name, ok, err)
			}
		}
	})
	t.Run("FencesGrow", func(t *testing.T) {
		s := open(t)
		now, last := Start, int64(0)
		for i := range 6 {
			owner := fmt.Sprint("o", i%2)
			l, ok, err := s.AcquireLease(ctx, "l", owner, now, ttl)
			if err != nil || !ok || l.Fence <= last {
				t.Fatalf("term %d: %+v %v %v (last fence %d)", i, l, ok, err, last)
			}
			last = l.Fence
			if i%3 == 0 {
				if err := s.ReleaseLease(ctx, l, now); err != nil {
					t.Fatal(err)
				}
			} else {
				now = now.Add(ttl)
			}
		}
	})
	t.Run("OneWinnerAmongRacers", func(t *testing.T) {
		s := open(t)
		now := Start
		for round := range 5 {
			const racers = 8
			var wg sync.WaitGroup
			won := make(chan leader.Lease, racers)
			errs := make(chan error, racers)
			start := make(chan struct{})
			for i := range racers {
				wg.Go(func() {
					<-start
					l, ok, err := s.AcquireLease(ctx, "race", fmt.Sprintf("r%d-%d", round, i), now, ttl)
					if err != nil {
						errs <- err
					} else if ok {
						won <- l
					}
				})
			}
			close(start)
			wg.Wait()
			close(won)
			close(errs)
			for err := range errs {
				t.Errorf("round %d: %v", round, err)
			}
			var winners []leader.Lease
			for l := range won {
				winners = append(winners, l)
			}
			if len(winners) != 1 {
				t.Fatalf("round %d: %d winners: %+v", round, len(winners), winners)
			}
			// The next round races for the expired lease, or the released one.
			if round%2 == 0 {
				now = now.Add(ttl)
			} else if err := s.ReleaseLease(ctx, winners[0], now); err != nil {
				t.Fatal(err)
			}
		}
	})
}
