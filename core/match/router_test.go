package match_test

import (
	"context"
	"testing"
	"time"

	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/core"
	"entraide/core/match"
	"entraide/core/storetest"
)

// TestRouterPassesTheNetworkScenarios runs the core.Network scenarios with
// the learned router in place of the topic router, on both backends.
func TestRouterPassesTheNetworkScenarios(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			storetest.NetworkWith(t, func(t *testing.T) core.Store { return open(t) }, func() core.Router {
				return match.NewRouter(match.NewEngine(match.DefaultConfig()))
			})
		})
	}
}

// TestRouterLearnsFromAnswersAndLoads checks that an expert who answered a
// kind of question is routed the next one, even with other declared topics,
// and that a router loaded from the store knows the same.
func TestRouterLearnsFromAnswersAndLoads(t *testing.T) {
	ctx := context.Background()
	store := sqlstoretest.SQLite(t)
	clock := core.NewManualClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	router := match.NewRouter(match.NewEngine(match.DefaultConfig()))
	net, err := core.NewNetwork(store, router, clock, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	id := func(u string) core.Identity { return core.Identity{Platform: "test", User: u} }
	ref := core.MessageRef{Platform: "test", Room: "#g", Message: "1", Thread: "1"}
	if _, err := net.DeclareExpert(ctx, id("bob"), "", []string{"informatique"}); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DeclareExpert(ctx, id("carol"), "", []string{"ressources humaines"}); err != nil {
		t.Fatal(err)
	}
	asked, err := net.Ask(ctx, id("alice"), "", "Comment déclarer un accident de service ?", ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(asked.Experts) != 0 {
		t.Fatalf("routed on no evidence to %+v", asked.Experts)
	}
	if _, err := net.Answer(ctx, id("bob"), "", asked.Question.ID, "Avec le formulaire de déclaration d'accident de service, sous 15 jours."); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Resolve(ctx, id("alice"), asked.Question.ID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	again, err := net.Ask(ctx, id("dan"), "", "Quel délai pour déclarer un accident de service ?", ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Experts) != 1 || again.Experts[0].Identity.User != "bob" {
		t.Fatalf("routed to %+v, want bob who answered the same kind of question", again.Experts)
	}
	similar := router.Similar("délai de déclaration d'un accident de service", "fr", 3, true)
	if len(similar) == 0 || similar[0] != asked.Question.ID {
		t.Fatalf("Similar = %v, want the resolved question %d first", similar, asked.Question.ID)
	}

	loaded := match.NewRouter(match.NewEngine(match.DefaultConfig()))
	if err := loaded.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	q := core.Question{ID: 99, Asker: again.Question.Asker + 100, Text: "Un accident de service en télétravail ?", CreatedAt: clock.Now()}
	ids, err := loaded.Route(ctx, store, q, 3, nil)
	if err != nil || len(ids) != 1 || ids[0] != again.Experts[0].ID {
		t.Fatalf("loaded router routes to %v (%v)", ids, err)
	}
	if got := loaded.Similar("accident de service", "fr", 3, true); len(got) == 0 || got[0] != asked.Question.ID {
		t.Fatalf("loaded Similar = %v", got)
	}
}
