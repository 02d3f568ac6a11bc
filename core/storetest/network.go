package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"entraide/core"
)

// Network runs the core.Network scenarios over stores that open gives, with
// the topic router.
func Network(t *testing.T, open Open) {
	NetworkWith(t, open, func() core.Router { return core.TopicRouter{} })
}

// NetworkWith runs the core.Network scenarios with a router of newRouter's.
func NetworkWith(t *testing.T, open Open, newRouter func() core.Router) {
	tests := map[string]func(*testing.T, *fixture){
		"RoutesToMatchingExpertOnly":  testRoutesToMatchingExpert,
		"AnswerWithoutIDWhenOne":      testAnswerWithoutID,
		"AnswerWithoutIDIsAmbiguous":  testAnswerAmbiguous,
		"NoExpertLeavesQuestionOpen":  testNoExpert,
		"AskerIsNeverRouted":          testAskerNeverRouted,
		"DailyBudget":                 testDailyBudget,
		"FullExpertsAreNotReadAgain":  testFullNotReadAgain,
		"AwayExpertsAreSkipped":       testAway,
		"Resolve":                     testResolve,
		"LeaveDirectory":              testLeave,
		"BadInput":                    testBadInput,
		"ConcurrentAnswersBothKept":   testConcurrentAnswers,
		"RouteLimitKeepsBestExperts":  testRouteLimit,
		"DirectMessageQuestionOrigin": testDMOrigin,
		"LearnerIsToldWhatHappened":   testLearner,
		"QuietHoursAreRespected":      testQuiet,
		"AnnounceOnceWithinBudget":    testAnnounceOnce,
		"NextDigest":                  testNextDigest,
		"RemindEvent":                 testRemindEvent,
		"ImportIdempotent":            testImportIdempotent,
		"SubscribeRules":              testSubscribeRules,
		"GrantRoles":                  testGrant,
		"AnnounceRights":              testAnnounceRights,
		"PostingRights":               testPostingRights,
		"DigestOnce":                  testDigestOnce,
		"Stats":                       testStats,
		"AcceptOneAnswer":             testAccept,
		"LinkAccounts":                testLinkAccounts,
		"AccessRules":                 testAccessRules,
		"AuditAnonymous":              testAuditAnonymous,
		"Forget":                      testForget,
		"Retention":                   testRetention,
	}
	for name, test := range tests {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			clock := core.NewManualClock(t0)
			cfg := core.DefaultConfig()
			cfg.DailyBudget = 2
			cfg.Bulletin.NoticeBudget = 1
			router := newRouter()
			n, err := core.NewNetwork(s, router, clock, cfg)
			check(t, err)
			_, topic := router.(core.TopicRouter)
			test(t, &fixture{t: t, n: n, s: s, clock: clock, topic: topic})
		})
	}
}

type fixture struct {
	t     *testing.T
	n     *core.Network
	s     core.Store
	clock *core.ManualClock
	// topic is true with the topic router, whose order tests can predict.
	topic bool
}

func id(user string) core.Identity { return core.Identity{Platform: "test", User: user} }

func (f *fixture) expert(user string, topics ...string) core.Expert {
	f.t.Helper()
	return must(f.n.DeclareExpert(context.Background(), id(user), user, topics))
}

func (f *fixture) ask(user, text string) core.Asked {
	f.t.Helper()
	return must(f.n.Ask(context.Background(), id(user), user, text,
		core.MessageRef{Platform: "test", Room: "#general", Message: "m-" + text, Thread: "m-" + text}))
}

func names(people []core.Person) string {
	var out []string
	for _, p := range people {
		out = append(out, p.Identity.User)
	}
	return strings.Join(out, ",")
}

const marche = "Comment rédiger le cahier des charges d'un marché public de fournitures ?"

func testRoutesToMatchingExpert(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.expert("bob", "marchés publics", "achats")
	f.expert("carol", "ressources humaines", "congés")
	asked := f.ask("alice", marche)
	if names(asked.Experts) != "bob" {
		t.Fatalf("routed to %q, want bob only", names(asked.Experts))
	}
	if asked.Question.State != core.StateRouted || asked.Asker.Identity.User != "alice" {
		t.Fatalf("asked = %+v", asked)
	}
	stored := must(f.s.Question(ctx, asked.Question.ID))
	if stored.State != core.StateRouted || stored.Text != marche {
		t.Fatalf("stored %+v", stored)
	}
	rs := must(f.s.Routings(ctx, asked.Question.ID))
	if len(rs) != 1 || rs[0].Expert != asked.Experts[0].ID {
		t.Fatalf("routings %+v", rs)
	}
}

func testAnswerWithoutID(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.expert("bob", "marchés publics")
	asked := f.ask("alice", marche)
	f.clock.Advance(10 * time.Minute)
	got := must(f.n.Answer(ctx, id("bob"), "Bob", 0, "Partez du modèle de la DAJ."))
	if got.Question.ID != asked.Question.ID || got.Question.State != core.StateAnswered ||
		got.Asker.Identity.User != "alice" || got.Author.DisplayName != "Bob" || got.Answer.Text != "Partez du modèle de la DAJ." {
		t.Fatalf("answered = %+v", got)
	}
	if stored := must(f.s.Question(ctx, asked.Question.ID)); stored.State != core.StateAnswered {
		t.Fatalf("state %s", stored.State)
	}
	if pending := must(f.s.PendingRoutings(ctx, got.Author.ID)); len(pending) != 0 {
		t.Fatalf("still pending: %+v", pending)
	}
	// A second answer, by someone not asked, is welcome too.
	second := must(f.n.Answer(ctx, id("dan"), "", asked.Question.ID, "Voir aussi le guide de l'achat public."))
	if second.Question.State != core.StateAnswered {
		t.Fatalf("second answer: %+v", second)
	}
	if answers := must(f.s.Answers(ctx, asked.Question.ID)); len(answers) != 2 {
		t.Fatalf("answers %+v", answers)
	}
	_, err := f.n.Answer(ctx, id("bob"), "", 0, "encore ?")
	wantErr(t, err, core.ErrNotFound)
}

func testAnswerAmbiguous(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.expert("bob", "marchés publics")
	q1 := f.ask("alice", marche)
	q2 := f.ask("erin", "Un marché public peut-il être reconduit ?")
	_, err := f.n.Answer(ctx, id("bob"), "", 0, "Oui.")
	var amb *core.AmbiguousError
	if !errors.As(err, &amb) || !errors.Is(err, core.ErrAmbiguous) || len(amb.Candidates) != 2 ||
		amb.Candidates[0] != q1.Question.ID || amb.Candidates[1] != q2.Question.ID {
		t.Fatalf("error = %v, want ambiguity between %d and %d", err, q1.Question.ID, q2.Question.ID)
	}
	got := must(f.n.Answer(ctx, id("bob"), "", q2.Question.ID, "Oui, une fois."))
	if got.Asker.Identity.User != "erin" {
		t.Fatalf("answered %+v", got)
	}
	got = must(f.n.Answer(ctx, id("bob"), "", 0, "Partez du modèle."))
	if got.Question.ID != q1.Question.ID {
		t.Fatalf("the one left is %d, got %d", q1.Question.ID, got.Question.ID)
	}
}

func testNoExpert(t *testing.T, f *fixture) {
	f.expert("carol", "congés")
	asked := f.ask("alice", marche)
	if len(asked.Experts) != 0 || asked.Question.State != core.StateOpen {
		t.Fatalf("asked = %+v", asked)
	}
}

func testAskerNeverRouted(t *testing.T, f *fixture) {
	f.expert("alice", "marchés publics")
	f.expert("bob", "marchés publics")
	if got := names(f.ask("alice", marche).Experts); got != "bob" {
		t.Fatalf("routed to %q, want bob", got)
	}
}

func testDailyBudget(t *testing.T, f *fixture) {
	f.expert("bob", "marchés publics")
	for i, want := range []string{"bob", "bob", ""} {
		if got := names(f.ask("alice", marche+strings.Repeat("?", i)).Experts); got != want {
			t.Fatalf("question %d routed to %q, want %q", i, got, want)
		}
		f.clock.Advance(time.Hour)
	}
	f.clock.Advance(22 * time.Hour) // the first routing is now 24 h old
	if got := names(f.ask("alice", marche+" encore").Experts); got != "bob" {
		t.Fatalf("after a day, routed to %q, want bob", got)
	}
}

// loadCounter counts, by expert, the loads a Network reads.
type loadCounter struct {
	core.Store
	reads map[core.PersonID]int
}

func (c *loadCounter) ExpertLoads(ctx context.Context, ids []core.PersonID, since time.Time) (map[core.PersonID]core.Load, error) {
	for _, id := range ids {
		c.reads[id]++
	}
	return c.Store.ExpertLoads(ctx, ids, since)
}

// testFullNotReadAgain: an expert found over budget is left out without
// reading their load again for a minute, then read again; declaring their
// topics again makes them read at once.
func testFullNotReadAgain(t *testing.T, f *fixture) {
	counter := &loadCounter{Store: f.s, reads: map[core.PersonID]int{}}
	n, err := core.NewNetwork(counter, core.TopicRouter{}, f.clock, core.Config{RouteLimit: 3, DailyBudget: 2,
		EscalateAfter: 24 * time.Hour, EscalationRounds: 1})
	check(t, err)
	ctx := context.Background()
	ask := func(text string) string {
		t.Helper()
		return names(must(n.Ask(ctx, id("alice"), "alice", marche+text,
			core.MessageRef{Platform: "test", Room: "#general", Message: "m-" + text, Thread: "m-" + text})).Experts)
	}
	bob := must(n.DeclareExpert(ctx, id("bob"), "bob", []string{"marchés publics"})).Person
	for i, want := range []string{"bob", "bob", ""} {
		if got := ask(strings.Repeat("?", i+1)); got != want {
			t.Fatalf("question %d routed to %q, want %q", i, got, want)
		}
	}
	if counter.reads[bob] != 3 {
		t.Fatalf("bob's load read %d times, want 3", counter.reads[bob])
	}
	f.clock.Advance(30 * time.Second)
	if got := ask(" encore"); got != "" || counter.reads[bob] != 3 {
		t.Fatalf("within the minute: routed to %q, bob read %d times, want nobody and 3", got, counter.reads[bob])
	}
	f.clock.Advance(31 * time.Second)
	if got := ask(" toujours"); got != "" || counter.reads[bob] != 4 {
		t.Fatalf("after the minute: routed to %q, bob read %d times, want nobody and 4", got, counter.reads[bob])
	}
	must(n.DeclareExpert(ctx, id("bob"), "bob", []string{"marchés publics", "achats"}))
	if got := ask(" enfin"); got != "" || counter.reads[bob] != 5 {
		t.Fatalf("declared again: routed to %q, bob read %d times, want nobody and 5", got, counter.reads[bob])
	}
}

func testAway(t *testing.T, f *fixture) {
	ctx := context.Background()
	e := f.expert("bob", "marchés publics")
	e.AwayUntil = t0.Add(2 * time.Hour)
	check(t, f.s.SaveExpert(ctx, e))
	if got := names(f.ask("alice", marche).Experts); got != "" {
		t.Fatalf("away expert asked: %q", got)
	}
	f.clock.Advance(2 * time.Hour)
	if got := names(f.ask("alice", marche+" (bis)").Experts); got != "bob" {
		t.Fatalf("back expert not asked: %q", got)
	}
}

func testResolve(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.expert("bob", "marchés publics")
	_, err := f.n.Resolve(ctx, id("alice"), 0)
	wantErr(t, err, core.ErrNotFound)
	asked := f.ask("alice", marche)
	must(f.n.Answer(ctx, id("bob"), "", 0, "Partez du modèle."))
	_, err = f.n.Resolve(ctx, id("bob"), asked.Question.ID)
	wantErr(t, err, core.ErrForbidden)
	res := must(f.n.Resolve(ctx, id("alice"), 0))
	if res.Question.State != core.StateResolved || len(res.Answers) != 1 {
		t.Fatalf("resolved %+v", res)
	}
	_, err = f.n.Answer(ctx, id("bob"), "", asked.Question.ID, "trop tard")
	wantErr(t, err, core.ErrConflict)
	_, err = f.n.Resolve(ctx, id("alice"), asked.Question.ID)
	wantErr(t, err, core.ErrConflict)
	_, err = f.n.Resolve(ctx, id("alice"), 0)
	wantErr(t, err, core.ErrNotFound)
	f.ask("alice", "Première question ouverte")
	f.ask("alice", "Seconde question ouverte")
	_, err = f.n.Resolve(ctx, id("alice"), 0)
	wantErr(t, err, core.ErrAmbiguous)
}

func testLeave(t *testing.T, f *fixture) {
	ctx := context.Background()
	wantErr(t, f.n.LeaveDirectory(ctx, id("bob")), core.ErrNotFound)
	f.expert("bob", "marchés publics")
	check(t, f.n.LeaveDirectory(ctx, id("bob")))
	wantErr(t, f.n.LeaveDirectory(ctx, id("bob")), core.ErrNotFound)
	if got := names(f.ask("alice", marche).Experts); got != "" {
		t.Fatalf("routed to %q after leaving", got)
	}
	e := f.expert("bob", "achats")
	if len(e.Topics) != 1 || !e.Available {
		t.Fatalf("declared again: %+v", e)
	}
}

func testBadInput(t *testing.T, f *fixture) {
	ctx := context.Background()
	ref := core.MessageRef{Platform: "test", Room: "#general", Message: "m"}
	for _, text := range []string{"", "   ", strings.Repeat("a", core.MaxQuestionLen+1), "\xff\xfe"} {
		_, err := f.n.Ask(ctx, id("alice"), "", text, ref)
		wantErr(t, err, core.ErrInvalid)
	}
	_, err := f.n.DeclareExpert(ctx, id("bob"), "", nil)
	wantErr(t, err, core.ErrInvalid)
	asked := f.ask("alice", marche)
	_, err = f.n.Answer(ctx, id("alice"), "", asked.Question.ID, "je me réponds")
	wantErr(t, err, core.ErrForbidden)
	_, err = f.n.Answer(ctx, id("bob"), "", 424242, "réponse")
	wantErr(t, err, core.ErrNotFound)
	_, err = f.n.Answer(ctx, id("bob"), "", asked.Question.ID, " ")
	wantErr(t, err, core.ErrInvalid)
}

func testConcurrentAnswers(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.expert("bob", "marchés publics")
	f.expert("carol", "marchés publics")
	asked := f.ask("alice", marche)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, who := range []string{"bob", "carol"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.n.Answer(ctx, id(who), "", asked.Question.ID, "réponse de "+who)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		check(t, err)
	}
	if answers := must(f.s.Answers(ctx, asked.Question.ID)); len(answers) != 2 {
		t.Fatalf("answers %+v", answers)
	}
	if q := must(f.s.Question(ctx, asked.Question.ID)); q.State != core.StateAnswered {
		t.Fatalf("state %s", q.State)
	}
}

func testRouteLimit(t *testing.T, f *fixture) {
	f.expert("e1", "achats")
	f.expert("e2", "marchés publics", "fournitures")
	f.expert("e3", "marchés publics")
	f.expert("e4", "cahier des charges", "marchés publics")
	f.expert("e5", "achats", "fournitures")
	got := names(f.ask("alice", marche).Experts)
	if !f.topic {
		// A learned router orders as it learned; it still asks three
		// experts, never e1 whose only topic the question does not touch.
		if parts := strings.Split(got, ","); len(parts) != 3 || strings.Contains(got, "e1") {
			t.Fatalf("routed to %q, want three experts without e1", got)
		}
		return
	}
	// e4 matches four terms (cahier, charge, marche, public), e2 three, e3
	// two, e5 and e1 one: three experts are asked.
	if got != "e4,e2,e3" {
		t.Fatalf("routed to %q, want e4,e2,e3", got)
	}
}

func testDMOrigin(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.expert("bob", "marchés publics")
	ref := core.MessageRef{Platform: "test", Message: "dm-1", Thread: "dm-1", DM: true}
	asked := must(f.n.Ask(ctx, id("alice"), "", marche, ref))
	stored := must(f.s.Question(ctx, asked.Question.ID))
	if stored.Origin != ref || stored.State != core.StateRouted {
		t.Fatalf("stored %+v", stored)
	}
}

// recorder is a Learner that routes by topics and writes down what it is
// told.
type recorder struct {
	core.TopicRouter
	mu  sync.Mutex
	log []string
}

func (r *recorder) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, fmt.Sprintf(format, args...))
}

func (r *recorder) ExpertChanged(e core.Expert)   { r.note("expert %d %v", e.Person, e.Topics) }
func (r *recorder) ExpertLeft(id core.PersonID)   { r.note("left %d", id) }
func (r *recorder) QuestionAsked(q core.Question) { r.note("asked %d %s", q.ID, q.State) }
func (r *recorder) QuestionAnswered(q core.Question, a core.Answer) {
	r.note("answered %d by %d: %s", q.ID, a.Author, a.Text)
}
func (r *recorder) QuestionResolved(q core.Question) { r.note("resolved %d", q.ID) }

func testLearner(t *testing.T, f *fixture) {
	ctx := context.Background()
	rec := &recorder{}
	n, err := core.NewNetwork(f.s, rec, f.clock, core.DefaultConfig())
	check(t, err)
	bob := must(n.DeclareExpert(ctx, id("bob"), "", []string{"marchés publics"}))
	asked := must(n.Ask(ctx, id("alice"), "", marche, core.MessageRef{Platform: "test", Room: "#g", Message: "1", Thread: "1"}))
	must(n.Answer(ctx, id("bob"), "", 0, "Partez du modèle."))
	must(n.Resolve(ctx, id("alice"), 0))
	check(t, n.LeaveDirectory(ctx, id("bob")))
	want := fmt.Sprintf("expert %[1]d [marchés publics]|asked %[2]d routed|answered %[2]d by %[1]d: Partez du modèle.|resolved %[2]d|left %[1]d",
		bob.Person, asked.Question.ID)
	if got := strings.Join(rec.log, "|"); got != want {
		t.Fatalf("learner heard %q, want %q", got, want)
	}
}

func testQuiet(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.expert("bob", "marchés publics")
	quiet := must(core.ParseQuietHours("8-9")) // t0 is 08:30 UTC
	must(f.n.SetQuiet(ctx, id("bob"), quiet))
	if got := names(f.ask("alice", marche).Experts); got != "" {
		t.Fatalf("asked during quiet hours: %q", got)
	}
	f.clock.Advance(time.Hour)
	if got := names(f.ask("alice", marche+" (bis)").Experts); got != "bob" {
		t.Fatalf("not asked after quiet hours: %q", got)
	}
	_, err := f.n.SetQuiet(ctx, id("nobody"), quiet)
	wantErr(t, err, core.ErrNotFound)
}

// testAccept: the asker chooses one answer among several, which resolves
// the question; nobody else may choose.
func testAccept(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.expert("bob", "marchés publics")
	f.expert("carol", "marchés publics")
	q := f.ask("alice", "Un marché public peut-il être reconduit ?").Question
	a1 := must(f.n.Answer(ctx, id("bob"), "bob", q.ID, "Non."))
	a2 := must(f.n.Answer(ctx, id("carol"), "carol", q.ID, "Oui, si prévu."))
	if _, err := f.n.Accept(ctx, id("carol"), a2.Answer.ID); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("an expert chose the answer: %v", err)
	}
	if _, err := f.n.Accept(ctx, id("alice"), 999); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("unknown answer: %v", err)
	}
	acc := must(f.n.Accept(ctx, id("alice"), a2.Answer.ID))
	if !acc.Resolved || acc.Question.State != core.StateResolved || acc.Author.Identity != id("carol") {
		t.Fatalf("accepted = %+v", acc)
	}
	again := must(f.n.Accept(ctx, id("alice"), a1.Answer.ID))
	if again.Resolved || again.Author.Identity != id("bob") {
		t.Fatalf("changed choice = %+v", again)
	}
	as := must(f.s.Answers(ctx, q.ID))
	if len(as) != 2 || !as[0].Accepted || as[1].Accepted {
		t.Fatalf("answers = %+v", as)
	}
}
