package bots_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/core"
)

// TestEscalation drives a question through its deadlines with a fake clock:
// asked to one expert, sent to the next one after a day without answer,
// and its asker told after one more day; an answered question is left alone.
func TestEscalation(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			store := open(t)
			cfg := core.DefaultConfig()
			cfg.RouteLimit = 1
			c := newConversation(t, store, cfg)
			say, after := c.say, c.after
			net, err := core.NewNetwork(store, nil, c.clock, cfg)
			if err != nil {
				t.Fatal(err)
			}
			say("bob", "#general", "!expert marchés publics")
			say("carol", "#general", "!expert marchés publics, achats")
			say("alice", "#general", "!ask Un marché public peut-il être reconduit ?")
			say("dan", "#general", "!ask Quel seuil pour un marché public sans publicité ?")
			say("bob", "", "!answer 2 40 000 euros hors taxes.")

			if got := after(23 * time.Hour); got != "" {
				t.Fatalf("before the deadline: %q", got)
			}
			got := after(time.Hour)
			if strings.Count(got, "\n") != 2 || !strings.Contains(got, "//carol: Question n°1 posée par alice (#general), toujours sans réponse") ||
				!strings.Contains(got, "reconduit") {
				t.Fatalf("after a day, sent:\n%s", got)
			}
			got = after(24 * time.Hour)
			if strings.Count(got, "\n") != 0 || !strings.Contains(got, "#general/e3/: @alice, personne n'a pu répondre à votre question n°1") {
				t.Fatalf("after two days, sent:\n%s", got)
			}
			if got := after(72 * time.Hour); got != "" {
				t.Fatalf("after the end: %q", got)
			}
			q1, err := store.Question(ctx, 1)
			if err != nil || q1.State != core.StateExpired {
				t.Fatalf("question 1: %+v, %v", q1, err)
			}
			q2, err := store.Question(ctx, 2)
			if err != nil || q2.State != core.StateAnswered {
				t.Fatalf("question 2: %+v, %v", q2, err)
			}
			if rs, _ := store.Routings(ctx, 2); len(rs) != 1 {
				t.Fatalf("the answered question was escalated: %+v", rs)
			}
			_, err = net.Answer(ctx, core.Identity{Platform: "test", User: "carol"}, "", 1, "Trop tard ?")
			if err == nil {
				t.Fatal("an expired question took an answer")
			}
		})
	}
}

// TestSnooze puts a question off and gets it back when asked, and only
// while it still waits for the expert.
func TestSnooze(t *testing.T) {
	c := newConversation(t, sqlstoretest.SQLite(t), core.DefaultConfig())
	say, after := c.say, c.after
	say("bob", "#general", "!expert marchés publics")
	say("alice", "#general", "!ask Un marché public peut-il être reconduit ?")
	if got := say("bob", "", "!snooze 3h"); !strings.Contains(got, "je vous rappellerai la question n°1 le 2026-11-02 12:00 UTC") {
		t.Fatalf("snooze reply: %q", got)
	}
	if got := say("bob", "", "!snooze 1 9j"); !strings.Contains(got, "au plus une semaine") {
		t.Fatalf("a 9-day snooze: %q", got)
	}
	if got := after(2 * time.Hour); got != "" {
		t.Fatalf("reminded early: %q", got)
	}
	if got := after(time.Hour); !strings.Contains(got, "//bob: Rappel : question n°1 posée par alice") {
		t.Fatalf("no reminder: %q", got)
	}
	say("bob", "", "!snooze 1 1h")
	say("bob", "", "!answer Oui, une fois.")
	if got := after(2 * time.Hour); got != "" {
		t.Fatalf("reminded of an answered question: %q", got)
	}
	if got := say("bob", "", "!snooze 1"); !strings.Contains(got, "ne vous attend pas") {
		t.Fatalf("snooze of an answered question: %q", got)
	}
}
