// Package storetest is the contract every core.Store implementation passes:
// adapters/sqlstore runs it against SQLite and PostgreSQL. Network runs the
// core.Network scenarios over a store, so both backends carry them too.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"entraide/core"
)

// Open returns a new, empty, migrated store; the store is closed by a
// t.Cleanup the opener registers.
type Open func(t *testing.T) core.Store

// t0 is the time the contract's events start at: fractional seconds on
// purpose, to catch stores that lose or misorder them.
var t0 = time.Date(2026, 3, 9, 8, 30, 0, 123456000, time.UTC)

// Run runs the store contract.
func Run(t *testing.T, open Open) {
	tests := map[string]func(*testing.T, core.Store){
		"People":              testPeople,
		"Rooms":               testRooms,
		"Experts":             testExperts,
		"Questions":           testQuestions,
		"Routings":            testRoutings,
		"RouteBudgets":        testRouteBudgets,
		"RouteBudgetsInOneTx": testRouteBudgetsInOneTx,
		"RouteRace":           testRouteRace,
		"PeopleByID":          testPeopleByID,
		"Answers":             testAnswers,
		"Tx":                  testTx,
		"Checkpoints":         testCheckpoints,
		"Concurrent":          testConcurrent,
		"Offers":              testOffers,
		"Events":              testEvents,
		"Subscriptions":       testSubscriptions,
		"Roles":               testRoles,
		"Digests":             testDigests,
		"LoginTokens":         testLoginTokens,
		"Activity":            testActivity,
	}
	for name, test := range tests {
		t.Run(name, func(t *testing.T) { test(t, open(t)) })
	}
}

// must returns v, and panics (failing the test with a stack) on error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want %v", err, kind)
	}
}

func person(t *testing.T, s core.Store, user string) core.Person {
	t.Helper()
	return must(s.EnsurePerson(context.Background(), core.Identity{Platform: "test", User: user}, user, t0))
}

func testPeople(t *testing.T, s core.Store) {
	ctx := context.Background()
	id := core.Identity{Platform: "matrix", User: "@alice:example.org"}
	_, err := s.PersonByIdentity(ctx, id)
	wantErr(t, err, core.ErrNotFound)
	_, err = s.EnsurePerson(ctx, core.Identity{Platform: "matrix"}, "", t0)
	wantErr(t, err, core.ErrInvalid)

	p := must(s.EnsurePerson(ctx, id, "Alice", t0))
	if p.ID == 0 || p.Identity != id || p.DisplayName != "Alice" || !p.CreatedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("created %+v", p)
	}
	again := must(s.EnsurePerson(ctx, id, "", t0.Add(time.Hour)))
	if again.ID != p.ID || again.DisplayName != "Alice" {
		t.Fatalf("second sight %+v, want the same person named Alice", again)
	}
	renamed := must(s.EnsurePerson(ctx, id, "Alice Martin", t0))
	if renamed.ID != p.ID || renamed.DisplayName != "Alice Martin" {
		t.Fatalf("renamed %+v", renamed)
	}
	other := must(s.EnsurePerson(ctx, core.Identity{Platform: "slack", User: "@alice:example.org"}, "", t0))
	if other.ID == p.ID {
		t.Fatal("the same user id on another platform is another person")
	}
	got := must(s.Person(ctx, p.ID))
	if got.Identity != id || got.DisplayName != "Alice Martin" {
		t.Fatalf("Person = %+v", got)
	}
	_, err = s.Person(ctx, 99999)
	wantErr(t, err, core.ErrNotFound)
	check(t, s.SetPersonLang(ctx, p.ID, "en"))
	if got := must(s.PersonByIdentity(ctx, id)); got.Lang != "en" {
		t.Fatalf("lang = %q, want en", got.Lang)
	}
	wantErr(t, s.SetPersonLang(ctx, 99999, "en"), core.ErrNotFound)
}

func testRooms(t *testing.T, s core.Store) {
	ctx := context.Background()
	a := must(s.EnsureRoom(ctx, core.Room{Platform: "console", ID: "#general"}, t0))
	b := must(s.EnsureRoom(ctx, core.Room{Platform: "console", ID: "#general"}, t0))
	dm := must(s.EnsureRoom(ctx, core.Room{Platform: "console"}, t0))
	if a == 0 || a != b || dm != a {
		t.Fatalf("communities %d, %d, %d: want one default community", a, b, dm)
	}
}

func testExperts(t *testing.T, s core.Store) {
	ctx := context.Background()
	bob, carol := person(t, s, "bob"), person(t, s, "carol")
	_, err := s.Expert(ctx, bob.ID)
	wantErr(t, err, core.ErrNotFound)
	if es := must(s.Experts(ctx)); len(es) != 0 {
		t.Fatalf("Experts = %v, want none", es)
	}
	away := t0.Add(48 * time.Hour)
	e := core.Expert{Person: bob.ID, Topics: []string{"marchés publics", "achats"}, Languages: []string{"fr", "en"},
		Organisation: "DAJ", Available: true, AwayUntil: away, DailyBudget: 4, UpdatedAt: t0,
		Quiet: core.QuietHours{From: 19 * 60, To: 0, Set: true}}
	check(t, s.SaveExpert(ctx, e))
	check(t, s.SaveExpert(ctx, core.Expert{Person: carol.ID, Topics: []string{"congés"}, Available: false, UpdatedAt: t0}))
	got := must(s.Expert(ctx, bob.ID))
	if fmt.Sprint(got.Topics) != "[marchés publics achats]" || fmt.Sprint(got.Languages) != "[en fr]" ||
		got.Organisation != "DAJ" || !got.Available || !got.AwayUntil.Equal(away) || got.DailyBudget != 4 || got.Quiet != e.Quiet {
		t.Fatalf("Expert = %+v", got)
	}
	e.Topics, e.AwayUntil, e.Quiet = []string{"achats"}, time.Time{}, core.QuietHours{}
	check(t, s.SaveExpert(ctx, e))
	got = must(s.Expert(ctx, bob.ID))
	if fmt.Sprint(got.Topics) != "[achats]" || !got.AwayUntil.IsZero() || got.Quiet.Set {
		t.Fatalf("after update: %+v", got)
	}
	all := must(s.Experts(ctx))
	if len(all) != 2 || all[0].Person != bob.ID || all[1].Person != carol.ID || all[1].Available || fmt.Sprint(all[1].Topics) != "[congés]" {
		t.Fatalf("Experts = %+v", all)
	}
	check(t, s.LockExpert(ctx, bob.ID))
	check(t, s.InTx(ctx, func(tx core.Store) error {
		if err := tx.LockExpert(ctx, bob.ID); err != nil {
			return err
		}
		return tx.LockExpert(ctx, 99999)
	}))
	check(t, s.DeleteExpert(ctx, bob.ID))
	wantErr(t, s.DeleteExpert(ctx, bob.ID), core.ErrNotFound)
	if all := must(s.Experts(ctx)); len(all) != 1 {
		t.Fatalf("after delete: %+v", all)
	}
}

func newQuestion(t *testing.T, s core.Store, asker core.Person, text string) core.Question {
	t.Helper()
	ctx := context.Background()
	community := must(s.EnsureRoom(ctx, core.Room{Platform: "test", ID: "#general"}, t0))
	return must(s.CreateQuestion(ctx, core.Question{
		Community: community, Asker: asker.ID, Text: text, Lang: "fr", State: core.StateOpen,
		Origin:    core.MessageRef{Platform: "test", Room: "#general", Message: "m1", Thread: "m1"},
		CreatedAt: t0, UpdatedAt: t0,
	}))
}

func testQuestions(t *testing.T, s core.Store) {
	ctx := context.Background()
	alice := person(t, s, "alice")
	q := newQuestion(t, s, alice, "Comment rédiger un CCTP ?")
	if q.ID == 0 {
		t.Fatal("no id")
	}
	got := must(s.Question(ctx, q.ID))
	if got.Text != q.Text || got.State != core.StateOpen || got.Origin != q.Origin || got.Asker != alice.ID ||
		!got.CreatedAt.Equal(q.CreatedAt) || got.Lang != "fr" {
		t.Fatalf("Question = %+v, want %+v", got, q)
	}
	_, err := s.Question(ctx, 99999)
	wantErr(t, err, core.ErrNotFound)
	_, err = s.CreateQuestion(ctx, core.Question{Asker: alice.ID, State: "bogus"})
	wantErr(t, err, core.ErrInvalid)

	check(t, s.SetQuestionState(ctx, q.ID, core.StateOpen, core.StateRouted, t0.Add(time.Minute)))
	wantErr(t, s.SetQuestionState(ctx, q.ID, core.StateOpen, core.StateRouted, t0), core.ErrConflict)
	wantErr(t, s.SetQuestionState(ctx, 99999, core.StateOpen, core.StateRouted, t0), core.ErrNotFound)
	got = must(s.Question(ctx, q.ID))
	if got.State != core.StateRouted || !got.UpdatedAt.Equal(t0.Add(time.Minute).Truncate(time.Microsecond)) {
		t.Fatalf("after transition: %+v", got)
	}

	zoe := person(t, s, "zoe")
	anon := must(s.CreateQuestion(ctx, core.Question{Community: q.Community, Asker: zoe.ID, Text: "anonyme", State: core.StateOpen,
		Origin: core.MessageRef{Platform: "test", Message: "m9", Thread: "m9", DM: true}, Anonymous: true, CreatedAt: t0, UpdatedAt: t0}))
	if got := must(s.Question(ctx, anon.ID)); !got.Anonymous || got.Asker != zoe.ID {
		t.Fatalf("anonymous question read back as %+v", got)
	}
	check(t, s.SetQuestionState(ctx, anon.ID, core.StateOpen, core.StateExpired, t0))
	q2 := newQuestion(t, s, alice, "Deuxième question")
	newQuestion(t, s, person(t, s, "bob"), "Pas à alice")
	all := must(s.QuestionsByAsker(ctx, alice.ID))
	if len(all) != 2 || all[0].ID != q.ID || all[1].ID != q2.ID {
		t.Fatalf("QuestionsByAsker = %+v", all)
	}
	open := must(s.QuestionsByAsker(ctx, alice.ID, core.StateOpen, core.StateAnswered))
	if len(open) != 1 || open[0].ID != q2.ID {
		t.Fatalf("open questions = %+v", open)
	}
}

func testRoutings(t *testing.T, s core.Store) {
	ctx := context.Background()
	alice, bob := person(t, s, "alice"), person(t, s, "bob")
	q1 := newQuestion(t, s, alice, "q1")
	q2 := newQuestion(t, s, alice, "q2")
	q3 := newQuestion(t, s, alice, "q3")
	for i, q := range []core.Question{q1, q2, q3} {
		check(t, s.AddRouting(ctx, core.Routing{Question: q.ID, Expert: bob.ID, Status: core.RoutingAsked,
			RoutedAt: t0.Add(time.Duration(i) * 500 * time.Millisecond)}))
	}
	wantErr(t, s.AddRouting(ctx, core.Routing{Question: q1.ID, Expert: bob.ID, Status: core.RoutingAsked, RoutedAt: t0}), core.ErrConflict)
	rs := must(s.Routings(ctx, q1.ID))
	if len(rs) != 1 || rs[0].Expert != bob.ID || rs[0].Status != core.RoutingAsked || !rs[0].RoutedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("Routings = %+v", rs)
	}
	check(t, s.SetRoutingStatus(ctx, q1.ID, bob.ID, core.RoutingAnswered))
	wantErr(t, s.SetRoutingStatus(ctx, q1.ID, alice.ID, core.RoutingAnswered), core.ErrNotFound)
	check(t, s.SetQuestionState(ctx, q3.ID, core.StateOpen, core.StateExpired, t0))
	pending := must(s.PendingRoutings(ctx, bob.ID))
	if len(pending) != 1 || pending[0].Question != q2.ID {
		t.Fatalf("PendingRoutings = %+v, want only q2", pending)
	}
	if loads, err := s.ExpertLoads(ctx, []core.PersonID{bob.ID}, t0); err != nil || len(loads) != 0 {
		t.Fatalf("ExpertLoads of a non-expert = %+v, %v", loads, err)
	}
	check(t, s.SaveExpert(ctx, core.Expert{Person: bob.ID, Topics: []string{"x"}, Available: true, DailyBudget: 7, UpdatedAt: t0}))
	check(t, s.SaveExpert(ctx, core.Expert{Person: alice.ID, Topics: []string{"y"}, Available: false, UpdatedAt: t0}))
	// Several at once, one of them not an expert, one twice.
	loads, err := s.ExpertLoads(ctx, []core.PersonID{person(t, s, "carol").ID, bob.ID, alice.ID, bob.ID}, t0.Add(time.Microsecond))
	if err != nil || len(loads) != 2 {
		t.Fatalf("ExpertLoads = %+v, %v, want bob and alice", loads, err)
	}
	if l := loads[bob.ID]; l.Routed != 2 || l.Expert.DailyBudget != 7 || !l.Expert.Available || l.Expert.Person != bob.ID {
		t.Fatalf("ExpertLoads: bob %+v", l)
	}
	if l := loads[alice.ID]; l.Routed != 0 || l.Expert.Available || l.Expert.Person != alice.ID {
		t.Fatalf("ExpertLoads: alice %+v", l)
	}
	if loads, err := s.ExpertLoads(ctx, nil, t0); err != nil || len(loads) != 0 {
		t.Fatalf("ExpertLoads of nobody = %+v, %v", loads, err)
	}
	for _, c := range []struct {
		since time.Time
		want  int
	}{
		{t0.Add(-time.Hour), 3},
		{t0, 3},
		{t0.Add(time.Microsecond), 2},
		{t0.Add(500 * time.Millisecond), 2},
		{t0.Add(999 * time.Millisecond), 1},
		{t0.Add(2 * time.Second), 0},
	} {
		if n := must(s.CountRoutingsSince(ctx, bob.ID, c.since)); n != c.want {
			t.Errorf("CountRoutingsSince(%v) = %d, want %d", c.since.Sub(t0), n, c.want)
		}
	}
}

func testAnswers(t *testing.T, s core.Store) {
	ctx := context.Background()
	alice, bob := person(t, s, "alice"), person(t, s, "bob")
	q := newQuestion(t, s, alice, "q")
	a1 := must(s.AddAnswer(ctx, core.Answer{Question: q.ID, Author: bob.ID, Text: "première", CreatedAt: t0}))
	a2 := must(s.AddAnswer(ctx, core.Answer{Question: q.ID, Author: alice.ID, Text: "seconde", CreatedAt: t0}))
	if a1.ID == 0 || a2.ID <= a1.ID {
		t.Fatalf("ids %d, %d", a1.ID, a2.ID)
	}
	got := must(s.Answers(ctx, q.ID))
	if len(got) != 2 || got[0].Text != "première" || got[0].Author != bob.ID || got[1].Text != "seconde" {
		t.Fatalf("Answers = %+v", got)
	}
	q2 := newQuestion(t, s, bob, "q2")
	a3 := must(s.AddAnswer(ctx, core.Answer{Question: q2.ID, Author: alice.ID, Text: "troisième", CreatedAt: t0}))
	page := must(s.AnswersAfter(ctx, 0, 2))
	if len(page) != 2 || page[0].ID != a1.ID || page[1].ID != a2.ID || page[0].Question != q.ID {
		t.Fatalf("AnswersAfter(0, 2) = %+v", page)
	}
	page = must(s.AnswersAfter(ctx, a2.ID, 10))
	if len(page) != 1 || page[0].ID != a3.ID || page[0].Question != q2.ID || page[0].Text != "troisième" {
		t.Fatalf("AnswersAfter(a2, 10) = %+v", page)
	}
	qs := must(s.QuestionsAfter(ctx, 0, 1))
	if len(qs) != 1 || qs[0].ID != q.ID {
		t.Fatalf("QuestionsAfter(0, 1) = %+v", qs)
	}
	qs = must(s.QuestionsAfter(ctx, q.ID, 10))
	if len(qs) != 1 || qs[0].ID != q2.ID || qs[0].Text != "q2" {
		t.Fatalf("QuestionsAfter(q, 10) = %+v", qs)
	}
}

func testTx(t *testing.T, s core.Store) {
	ctx := context.Background()
	alice := person(t, s, "alice")
	boom := errors.New("boom")
	var id core.QuestionID
	err := s.InTx(ctx, func(tx core.Store) error {
		id = newQuestion(t, tx, alice, "rolled back").ID
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	_, err = s.Question(ctx, id)
	wantErr(t, err, core.ErrNotFound)
	check(t, s.InTx(ctx, func(tx core.Store) error {
		id = newQuestion(t, tx, alice, "kept").ID
		return tx.InTx(ctx, func(inner core.Store) error { return inner.SetCheckpoint(ctx, "k", "v") })
	}))
	if q := must(s.Question(ctx, id)); q.Text != "kept" {
		t.Fatalf("kept question = %+v", q)
	}
	if v := must(s.Checkpoint(ctx, "k")); v != "v" {
		t.Fatalf("nested write lost: %q", v)
	}
}

func testCheckpoints(t *testing.T, s core.Store) {
	ctx := context.Background()
	if v := must(s.Checkpoint(ctx, "console:seq")); v != "" {
		t.Fatalf("missing checkpoint = %q", v)
	}
	check(t, s.SetCheckpoint(ctx, "console:seq", "1"))
	check(t, s.SetCheckpoint(ctx, "console:seq", "2"))
	check(t, s.SetCheckpoint(ctx, "matrix:since", "s72_1"))
	if v := must(s.Checkpoint(ctx, "console:seq")); v != "2" {
		t.Fatalf("checkpoint = %q, want 2", v)
	}
}

func testConcurrent(t *testing.T, s core.Store) {
	ctx := context.Background()
	id := core.Identity{Platform: "test", User: "dora"}
	const n = 8
	ids := make([]core.PersonID, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := s.EnsurePerson(ctx, id, "Dora", t0)
			ids[i], errs[i] = p.ID, err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("EnsurePerson #%d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("concurrent EnsurePerson gave persons %v", ids)
		}
	}
}

func testPeopleByID(t *testing.T, s core.Store) {
	ctx := context.Background()
	alice, bob, carol := person(t, s, "alice"), person(t, s, "bob"), person(t, s, "carol")
	// A second account of carol's, preferred: People names her by it.
	other := core.Identity{Platform: "matrix", User: "@carol:example.org"}
	check(t, s.CreateLinkCode(ctx, "h", carol.ID, t0.Add(time.Hour)))
	check(t, s.MergePeople(ctx, carol.ID, must(s.EnsurePerson(ctx, other, "Carol", t0)).ID, t0))
	check(t, s.SetPreferredIdentity(ctx, carol.ID, other))
	if ps := must(s.People(ctx, nil)); len(ps) != 0 {
		t.Fatalf("People() = %v", ps)
	}
	ps := must(s.People(ctx, []core.PersonID{carol.ID, alice.ID, bob.ID}))
	if len(ps) != 3 || ps[0].ID != carol.ID || ps[1] != alice || ps[2] != bob {
		t.Fatalf("People = %+v", ps)
	}
	if want := must(s.Person(ctx, carol.ID)); ps[0] != want || ps[0].Identity != other {
		t.Fatalf("People gave %+v for carol, Person %+v", ps[0], want)
	}
	_, err := s.People(ctx, []core.PersonID{alice.ID, 99999})
	wantErr(t, err, core.ErrNotFound)
}

func testRouteBudgets(t *testing.T, s core.Store) {
	ctx := context.Background()
	alice, bob, carol, dan := person(t, s, "alice"), person(t, s, "bob"), person(t, s, "carol"), person(t, s, "dan")
	check(t, s.SaveExpert(ctx, core.Expert{Person: bob.ID, Topics: []string{"x"}, Available: true, DailyBudget: 2, UpdatedAt: t0}))
	check(t, s.SaveExpert(ctx, core.Expert{Person: carol.ID, Topics: []string{"x"}, Available: true, UpdatedAt: t0}))
	// dan is not an expert: never routed to.
	since := t0.Add(-24 * time.Hour)
	var got [][]core.PersonID
	var qs []core.Question
	for i := range 4 {
		q := newQuestion(t, s, alice, fmt.Sprintf("q%d", i))
		qs = append(qs, q)
		at := t0.Add(time.Duration(i) * time.Minute)
		got = append(got, must(s.AddRoutingsWithinBudget(ctx, q.ID, []core.PersonID{dan.ID, carol.ID, bob.ID}, at, since, 3)))
	}
	// bob's own budget is 2; carol has none and takes the default, 3.
	want := fmt.Sprint([][]core.PersonID{{carol.ID, bob.ID}, {carol.ID, bob.ID}, {carol.ID}, {}})
	if fmt.Sprint(got) != want {
		t.Fatalf("routed %v, want %v", got, want)
	}
	if rs := must(s.Routings(ctx, qs[3].ID)); len(rs) != 0 {
		t.Fatalf("routings of the last question = %+v, want none (carol and bob are full)", rs)
	}
	rs := must(s.Routings(ctx, qs[0].ID))
	if len(rs) != 2 || rs[0].Status != core.RoutingAsked || !rs[0].RoutedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("Routings = %+v", rs)
	}
	_, err := s.AddRoutingsWithinBudget(ctx, qs[0].ID, []core.PersonID{carol.ID}, t0, since, 9)
	wantErr(t, err, core.ErrConflict)
	// Routings before since do not count.
	q := newQuestion(t, s, alice, "later")
	if got := must(s.AddRoutingsWithinBudget(ctx, q.ID, []core.PersonID{bob.ID, carol.ID}, t0.Add(time.Hour), t0.Add(time.Second), 3)); len(got) != 2 || got[0] != bob.ID {
		t.Fatalf("with a later since: routed %v, want bob then carol", got)
	}
	if got := must(s.AddRoutingsWithinBudget(ctx, q.ID, nil, t0, since, 3)); len(got) != 0 {
		t.Fatalf("routing to nobody gave %v", got)
	}
}

// testRouteBudgetsInOneTx routes several questions in one transaction,
// each after reading the experts' loads as routing does (a store may keep
// them for the transaction): budgets hold, and what else the transaction
// writes (a routing stored another way, a budget changed) counts at once.
func testRouteBudgetsInOneTx(t *testing.T, s core.Store) {
	ctx := context.Background()
	alice, bob, carol := person(t, s, "alice"), person(t, s, "bob"), person(t, s, "carol")
	check(t, s.SaveExpert(ctx, core.Expert{Person: bob.ID, Topics: []string{"x"}, Available: true, DailyBudget: 2, UpdatedAt: t0}))
	check(t, s.SaveExpert(ctx, core.Expert{Person: carol.ID, Topics: []string{"x"}, Available: true, DailyBudget: 4, UpdatedAt: t0}))
	since := t0.Add(-24 * time.Hour)
	var got [][]core.PersonID
	check(t, s.InTx(ctx, func(tx core.Store) error {
		route := func(name string) {
			q := newQuestion(t, tx, alice, name)
			if _, err := tx.ExpertLoads(ctx, []core.PersonID{bob.ID, carol.ID}, since); err != nil {
				t.Fatal(err)
			}
			got = append(got, must(tx.AddRoutingsWithinBudget(ctx, q.ID, []core.PersonID{bob.ID, carol.ID}, t0, since, 3)))
		}
		route("q0") // bob 1/2, carol 1/4
		route("q1") // bob 2/2, carol 2/4
		route("q2") // bob full, carol 3/4
		// A routing stored another way counts: carol is now full.
		other := newQuestion(t, tx, alice, "other")
		check(t, tx.AddRouting(ctx, core.Routing{Question: other.ID, Expert: carol.ID, Status: core.RoutingAsked, RoutedAt: t0}))
		route("q3")
		// A larger budget counts at once: bob may take one more.
		check(t, tx.SaveExpert(ctx, core.Expert{Person: bob.ID, Topics: []string{"x"}, Available: true, DailyBudget: 3, UpdatedAt: t0}))
		route("q4")
		route("q5")
		return nil
	}))
	want := fmt.Sprint([][]core.PersonID{{bob.ID, carol.ID}, {bob.ID, carol.ID}, {carol.ID}, {}, {bob.ID}, {}})
	if fmt.Sprint(got) != want {
		t.Fatalf("routed %v, want %v", got, want)
	}
	for _, c := range []struct {
		who  core.Person
		want int
	}{{bob, 3}, {carol, 4}} {
		if n := must(s.CountRoutingsSince(ctx, c.who.ID, since)); n != c.want {
			t.Fatalf("%s was routed %d questions, want %d", c.who.DisplayName, n, c.want)
		}
	}
}

// testRouteRace routes many questions at once to one expert whose budget
// is smaller: the budget holds.
func testRouteRace(t *testing.T, s core.Store) {
	ctx := context.Background()
	alice, bob, carol := person(t, s, "alice"), person(t, s, "bob"), person(t, s, "carol")
	check(t, s.SaveExpert(ctx, core.Expert{Person: bob.ID, Topics: []string{"x"}, Available: true, DailyBudget: 3, UpdatedAt: t0}))
	check(t, s.SaveExpert(ctx, core.Expert{Person: carol.ID, Topics: []string{"x"}, Available: true, DailyBudget: 5, UpdatedAt: t0}))
	const n = 12
	qs := make([]core.Question, n)
	for i := range qs {
		qs[i] = newQuestion(t, s, alice, fmt.Sprintf("q%d", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			experts := []core.PersonID{bob.ID, carol.ID}
			if i%2 == 1 {
				experts = []core.PersonID{carol.ID, bob.ID}
			}
			errs[i] = s.InTx(ctx, func(tx core.Store) error {
				_, err := tx.AddRoutingsWithinBudget(ctx, qs[i].ID, experts, t0, t0.Add(-24*time.Hour), 100)
				return err
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("routing #%d: %v", i, err)
		}
	}
	for _, c := range []struct {
		who  core.Person
		want int
	}{{bob, 3}, {carol, 5}} {
		if n := must(s.CountRoutingsSince(ctx, c.who.ID, t0.Add(-time.Hour))); n != c.want {
			t.Fatalf("%s was routed %d questions, budget %d", c.who.DisplayName, n, c.want)
		}
	}
}
