package bots_test

import (
	"context"
	"testing"
	"time"

	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/core"
)

// TestQuestionsAndAnswersKeepTheirPlatformTime: handled half an hour late
// (an outage), a question and its answer are dated when the platform says
// they were written, so the time to first answer stays five minutes; a time
// ahead of the service's clock is taken as now, and an answer is never
// dated before its question. On SQLite and PostgreSQL.
func TestQuestionsAndAnswersKeepTheirPlatformTime(t *testing.T) {
	ctx := context.Background()
	for name, open := range sqlstoretest.Backends() {
		t.Run(name, func(t *testing.T) {
			store := open(t)
			c := &conversation{t: t, clock: core.NewManualClock(t0), sender: newPlatformFake()}
			c.p = buildPipeline(t, store, c.clock, core.DefaultConfig(), c.sender, nil, nil)
			deliver := func(n int, user, room, text string, at time.Time) {
				t.Helper()
				ev := event(n, user, room, text)
				ev.At = at
				c.sent(func() error { return c.p.Deliver(ctx, ev) })
			}
			deliver(1, "bob", "#general", "!expert marchés publics", time.Time{})
			c.clock.Advance(30 * time.Minute)
			deliver(2, "alice", "#general", "!ask Comment passer un marché public ?", t0)
			deliver(3, "bob", "", "!answer 1 Par une procédure adaptée.", t0.Add(5*time.Minute))
			q, err := store.Question(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			answers, err := store.Answers(ctx, 1)
			if err != nil || len(answers) != 1 {
				t.Fatal(answers, err)
			}
			if !q.CreatedAt.Equal(t0) || !answers[0].CreatedAt.Equal(t0.Add(5*time.Minute)) {
				t.Errorf("question dated %v, answer %v; want %v and five minutes later", q.CreatedAt, answers[0].CreatedAt, t0)
			}

			now := c.clock.Now()
			deliver(4, "alice", "#general", "!ask Et pour un marché de services ?", now.Add(time.Hour))
			deliver(5, "bob", "", "!answer 2 De même.", t0)
			q, err = store.Question(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			answers, err = store.Answers(ctx, 2)
			if err != nil || len(answers) != 1 {
				t.Fatal(answers, err)
			}
			if !q.CreatedAt.Equal(now) || !answers[0].CreatedAt.Equal(now) {
				t.Errorf("a question from the future dated %v, its answer from before it %v; want both %v", q.CreatedAt, answers[0].CreatedAt, now)
			}
		})
	}
}
