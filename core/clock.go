package core

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time. Everything scheduled in entraide reads the time
// through a Clock, so tests can drive it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real wall clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// ManualClock is a Clock that moves only when told to. Its zero value stands
// at the zero time; it is safe for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a ManualClock standing at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t.UTC()} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t.UTC()
}

// eventTimeKey is the context key of WithEventTime.
type eventTimeKey struct{}

// WithEventTime returns ctx carrying t, when the platform says the event
// being handled was written. Asking and answering then date the question
// and the answer from it rather than from the time they are handled, so
// that a question handled late (after an outage, a restart, a backlog)
// keeps its true time to first answer.
func WithEventTime(ctx context.Context, t time.Time) context.Context {
	if t.IsZero() {
		return ctx
	}
	return context.WithValue(ctx, eventTimeKey{}, t.UTC())
}

// maxEventAge bounds how far in the past an event's own time is believed.
const maxEventAge = 7 * 24 * time.Hour

// happenedAt returns when the event being handled happened: the time ctx
// carries (WithEventTime), never later than now (a platform's clock ahead
// of ours), never earlier than after, nor more than maxEventAge before now;
// now when ctx carries none.
func happenedAt(ctx context.Context, now, after time.Time) time.Time {
	t, ok := ctx.Value(eventTimeKey{}).(time.Time)
	if !ok || t.After(now) {
		return now
	}
	if floor := now.Add(-maxEventAge); t.Before(floor) {
		t = floor
	}
	if t.Before(after) {
		t = after
	}
	return t
}
