package bots

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimit bounds how many messages one account, and one room, may send
// to the bot; a zero Rate bounds nothing. A flood beyond it gets one short
// warning, then silence until the bucket refills: the messages are read
// (and acknowledged) but not acted upon. The buckets live in the process:
// with several replicas, each applies the bound to what it handles.
type RateLimit struct {
	User, Room Rate
}

// Rate is N messages per Per, with bursts of up to N.
type Rate struct {
	N   int
	Per time.Duration
}

// String writes the rate as ParseRate reads it.
func (r Rate) String() string {
	if r.N == 0 {
		return "0"
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

// DefaultRateLimit is the bound cmd/entraide applies unless configured:
// generous for people, tight for scripts.
func DefaultRateLimit() RateLimit {
	return RateLimit{User: Rate{N: 30, Per: time.Minute}, Room: Rate{N: 120, Per: time.Minute}}
}

// ParseRate reads a rate such as "30/1m" (30 per minute), "0" for none.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return Rate{}, nil
	}
	count, per, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(count)
	if !ok || err != nil || n < 1 || n > 100000 {
		return Rate{}, fmt.Errorf("rate %q: want a count and a duration such as 30/1m, or 0 for no limit", s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return Rate{}, fmt.Errorf("rate %q: want a count and a duration from 1s to 24h such as 30/1m, or 0 for no limit", s)
	}
	return Rate{N: n, Per: d}, nil
}

// limiter keeps one token bucket per account and per room. Buckets that
// have refilled are dropped when the map grows, so memory stays bounded
// by the number of active senders.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
	warned bool
}

const maxBuckets = 50000

// take spends one token of key's bucket of capacity n refilled over
// window. It reports whether the message may go on, whether to warn (the
// first refusal since the last accepted message), and how long until the
// next token.
func (l *limiter) take(key string, r Rate, now time.Time) (ok, warn bool, wait time.Duration) {
	n, window := r.N, r.Per
	if n <= 0 || window <= 0 {
		return true, false, 0
	}
	rate := float64(n) / float64(window)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now, rate, float64(n))
		}
		b = &bucket{tokens: float64(n), last: now}
		l.buckets[key] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = math.Min(float64(n), b.tokens+float64(d)*rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		b.warned = false
		return true, false, 0
	}
	warn = !b.warned
	b.warned = true
	return false, warn, time.Duration((1 - b.tokens) / rate)
}

// sweep drops the buckets that are full again: their owners are quiet.
func (l *limiter) sweep(now time.Time, rate, capacity float64) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.last))*rate >= capacity {
			delete(l.buckets, k)
		}
	}
}
