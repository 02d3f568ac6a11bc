package core

import (
	"context"
	"testing"
	"time"
)

func TestHappenedAt(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	asked := now.Add(-time.Hour)
	for _, c := range []struct {
		name       string
		event      time.Time
		after      time.Time
		want       time.Time
		noEventCtx bool
	}{
		{name: "no event time", noEventCtx: true, want: now},
		{name: "zero event time", event: time.Time{}, want: now},
		{name: "ten minutes ago", event: now.Add(-10 * time.Minute), want: now.Add(-10 * time.Minute)},
		{name: "ahead of our clock", event: now.Add(time.Minute), want: now},
		{name: "before what it follows", event: asked.Add(-time.Minute), after: asked, want: asked},
		{name: "a month ago", event: now.Add(-30 * 24 * time.Hour), want: now.Add(-maxEventAge)},
		{name: "in another zone", event: now.Add(-time.Minute).In(time.FixedZone("Paris", 3600)), want: now.Add(-time.Minute)},
	} {
		ctx := context.Background()
		if !c.noEventCtx {
			ctx = WithEventTime(ctx, c.event)
		}
		if got := happenedAt(ctx, now, c.after); !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("%s: happenedAt = %v, want %v in UTC", c.name, got, c.want)
		}
	}
}
