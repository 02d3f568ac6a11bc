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

// TestRouterForgetsAndMerges: after an erasure, the person's questions
// leave the similar-question search at once, and a rebuild from the store
// leaves nothing of them in the index; after two accounts are linked, a
// rebuild makes their evidence one person's.
func TestRouterForgetsAndMerges(t *testing.T) {
	ctx := context.Background()
	store := sqlstoretest.SQLite(t)
	clock := core.NewManualClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	router := match.NewRouter(match.NewEngine(match.DefaultConfig()))
	if err := router.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	net, err := core.NewNetwork(store, router, clock, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	id := func(u string) core.Identity { return core.Identity{Platform: "test", User: u} }
	ref := core.MessageRef{Platform: "test", Room: "#g", Message: "1", Thread: "1"}
	ask := func(who, text string) core.Asked {
		t.Helper()
		a, err := net.Ask(ctx, id(who), "", text, ref)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	answer := func(who string, q core.QuestionID, text string) {
		t.Helper()
		if _, err := net.Answer(ctx, id(who), "", q, text); err != nil {
			t.Fatal(err)
		}
	}
	mine := ask("alice", "Comment remplir le formulaire zorglub de mutation ?")
	answer("bob", mine.Question.ID, "Le formulaire zorglub se remplit en ligne.")
	theirs := ask("dan", "Quel délai pour une mutation interne ?")
	answer("alice", theirs.Question.ID, "Deux mois, zorglub compris.")
	if got := router.Similar("formulaire zorglub", "fr", 5, false); len(got) == 0 || got[0] != mine.Question.ID {
		t.Fatalf("before: Similar = %v", got)
	}
	_, before := router.Engine().Len()

	if _, err := net.Forget(ctx, id("alice")); err != nil {
		t.Fatal(err)
	}
	if got := router.Similar("formulaire zorglub", "fr", 5, false); len(got) != 0 {
		t.Fatalf("at once: Similar = %v, want nothing", got)
	}
	// What happens during the rebuild is not lost.
	later := ask("erin", "Une question sur les congés bonifiés ?")
	if err := router.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	// One question erased, one asked since.
	experts, after := router.Engine().Len()
	if after != before {
		t.Fatalf("questions in the index: %d before, %d after, want the erased one gone and the new one in", before, after)
	}
	if got := router.Similar("zorglub", "fr", 5, false); len(got) != 0 {
		t.Fatalf("after the rebuild: Similar = %v", got)
	}
	if got := router.Similar("congés bonifiés", "fr", 5, false); len(got) != 1 || got[0] != later.Question.ID {
		t.Fatalf("the question asked since: Similar = %v", got)
	}
	// Bob answered about mutation forms: he is still the one to ask.
	q := core.Question{ID: 1000, Asker: 999, Text: "Le formulaire de mutation ?", CreatedAt: clock.Now()}
	if ids, err := router.Route(ctx, store, q, 3, nil); err != nil || len(ids) == 0 {
		t.Fatalf("route after the rebuild: %v, %v (experts %d)", ids, err, experts)
	}

	// Linking: carol's two accounts answered on two topics; once linked
	// and rebuilt, one person holds both.
	q1 := ask("frank", "Question sur la paie des vacataires ?")
	answer("carol", q1.Question.ID, "La paie des vacataires passe par le service RH.")
	q2 := ask("gina", "Question sur les frais de déplacement ?")
	answer("carol-slack", q2.Question.ID, "Les frais de déplacement se déclarent dans Chorus DT.")
	code, _, err := net.StartLink(ctx, id("carol"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Link(ctx, id("carol-slack"), "", code); err != nil {
		t.Fatal(err)
	}
	if err := router.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	carol, err := store.PersonByIdentity(ctx, id("carol-slack"))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"La paie des vacataires ?", "Les frais de déplacement ?"} {
		ids, err := router.Route(ctx, store, core.Question{ID: 2000, Asker: 999, Text: text, CreatedAt: clock.Now()}, 1, nil)
		if err != nil || len(ids) != 1 || ids[0] != carol.ID {
			t.Fatalf("%s: routed to %v (%v), want carol's one person %d", text, ids, err, carol.ID)
		}
	}
}
