package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"entraide/core"
	"entraide/core/match"
)

// withAdmin returns the fixture's network with anna as administrator.
func (f *fixture) withAdmin() *core.Network { return f.withAdminRouter(nil) }

// withAdminRouter is withAdmin routing with r.
func (f *fixture) withAdminRouter(r core.Router) *core.Network {
	cfg := core.DefaultConfig()
	cfg.DailyBudget = 2
	cfg.Admins = []core.Identity{id("anna")}
	n, err := core.NewNetwork(f.s, r, f.clock, cfg)
	check(f.t, err)
	return n
}

// testGrant: only administrators give roles; an animator may animate until
// the role is taken away.
func testGrant(t *testing.T, f *fixture) {
	ctx := context.Background()
	n := f.withAdmin()
	def := must(n.CommunityOf(ctx, core.Room{}))
	if _, err := n.Grant(ctx, id("bob"), def, id("carol"), core.RoleAnimator, true); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member gave a role: %v", err)
	}
	must(n.Grant(ctx, id("anna"), def, id("bob"), core.RoleAnimator, true))
	if ok := must(n.CanAnimate(ctx, id("bob"), def)); !ok {
		t.Fatal("bob does not animate")
	}
	if _, err := n.Grant(ctx, id("bob"), def, id("carol"), core.RoleAnimator, true); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("an animator gave a role: %v", err)
	}
	token, _, err := n.NewLoginToken(ctx, id("bob"), "bob", def)
	check(t, err)
	if _, _, err := n.NewLoginToken(ctx, id("carol"), "carol", def); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member got a login link: %v", err)
	}
	must(n.Grant(ctx, id("anna"), def, id("bob"), core.RoleAnimator, false))
	if _, _, err := n.UseLoginToken(ctx, token); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a link outlived its role: %v", err)
	}
	token, _, err = n.NewLoginToken(ctx, id("anna"), "anna", def)
	check(t, err)
	p, c, err := n.UseLoginToken(ctx, token)
	if err != nil || p.Identity != id("anna") || c != def {
		t.Fatalf("login = %+v %d %v", p, c, err)
	}
	if _, _, err := n.UseLoginToken(ctx, token); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a link worked twice: %v", err)
	}
	f.clock.Advance(core.LoginTokenLifetime + time.Second)
	if _, _, err := n.UseLoginToken(ctx, must3(n.NewLoginToken(ctx, id("anna"), "anna", def))); err != nil {
		t.Fatalf("a fresh link: %v", err)
	}
}

func must3[A, B any](a A, _ B, err error) A {
	if err != nil {
		panic(err)
	}
	return a
}

// communityWeek fills a week of a community: a question resolved, one
// waiting with no expert, a new expert, an offer and a coming event.
func communityWeek(t *testing.T, f *fixture, n *core.Network) {
	ctx := context.Background()
	f.clock.Advance(time.Hour) // into the digest's period, which starts on a Monday at 9:00
	must(n.DeclareExpert(ctx, id("bob"), "bob", []string{"marchés publics"}))
	q := must(n.Ask(ctx, id("alice"), "alice", "Comment passer un marché public ?", core.MessageRef{Platform: "test", Room: "#general", Message: "m1", Thread: "m1"})).Question
	f.clock.Advance(time.Hour)
	must(n.Answer(ctx, id("bob"), "bob", q.ID, "Avec une procédure adaptée."))
	must(n.Resolve(ctx, id("alice"), q.ID))
	must(n.Ask(ctx, id("carol"), "carol", "Inscription au concours d'attaché territorial ?", core.MessageRef{Platform: "test", Room: "#general", Message: "m2", Thread: "m2"}))
	f.clock.Advance(time.Hour)
	must(n.PostOffer(ctx, id("dave"), "dave", core.Room{}, core.Offer{Title: "Juriste", Employer: "Préfecture", Location: "Lyon"}))
	must(n.PostEvent(ctx, id("dave"), "dave", core.Room{}, core.Event{Title: "Atelier", Start: f.clock.Now().Add(8 * 24 * time.Hour)}))
}

// testDigestOnce: the digest is drafted once per period for the
// animators, edited by them only, and published once.
func testDigestOnce(t *testing.T, f *fixture) {
	ctx := context.Background()
	n := f.withAdmin()
	check(t, n.SetLang(ctx, id("anna"), "anna", "fr"))
	communityWeek(t, f, n)
	check(t, n.SetAnnounce(ctx, core.Room{Platform: "test", ID: "#general"}, []core.ItemKind{core.KindDigest}))
	check(t, n.SetAnnounce(ctx, core.Room{Platform: "test", ID: "#emploi"}, []core.ItemKind{core.KindOffer}))

	publish := n.NextPublish(f.clock.Now().Add(24 * time.Hour))
	job := n.DraftDigestJob(publish)
	drafted := must(n.DraftDigests(ctx, job))
	if len(drafted) != 1 || names(drafted[0].Animators) != "anna" {
		t.Fatalf("drafted = %+v", drafted)
	}
	d := drafted[0].Digest
	var sections []string
	for _, it := range d.Items {
		sections = append(sections, string(it.Section)+":"+it.Title)
	}
	want := "resolved:Comment passer un marché public ? | waiting:Inscription au concours d'attaché territorial ? | experts:bob | offers:Juriste | events:Atelier"
	if got := strings.Join(sections, " | "); got != want {
		t.Fatalf("items\n%s\nwant\n%s", got, want)
	}
	if again := must(n.DraftDigests(ctx, job)); len(again) != 0 {
		t.Fatalf("drafted twice: %+v", again)
	}

	intro := "Bonne semaine !"
	if _, err := n.EditDigest(ctx, id("alice"), d.ID, core.DigestEdit{Intro: &intro}); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member edited the digest: %v", err)
	}
	if _, err := n.EditDigest(ctx, id("anna"), d.ID, core.DigestEdit{Remove: []int{9}}); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("removed item 9 of 5: %v", err)
	}
	d = must(n.EditDigest(ctx, id("anna"), d.ID, core.DigestEdit{Intro: &intro, Remove: []int{4}}))
	if d.Intro != intro || len(d.Kept()) != 4 || d.Items[3].Removed != true {
		t.Fatalf("edited = %+v", d)
	}

	// An animator publishes early; the scheduled publication then finds
	// nothing to do.
	must(n.PublishDigestNow(ctx, id("anna"), d.ID))
	pub := must(n.PublishDigest(ctx, core.PublishDigestJob(d.ID, f.clock.Now(), true)))
	if pub.Digest.ID != d.ID || len(pub.Rooms) != 1 || pub.Rooms[0].ID != "#general" || pub.Digest.State != core.DigestPublished {
		t.Fatalf("publication = %+v", pub)
	}
	if again := must(n.PublishDigest(ctx, core.PublishDigestJob(d.ID, publish, false))); again.Digest.ID != 0 {
		t.Fatalf("published twice: %+v", again)
	}
	if _, err := n.EditDigest(ctx, id("anna"), d.ID, core.DigestEdit{Intro: &intro}); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("edited after publication: %v", err)
	}
	if _, err := n.PublishDigestNow(ctx, id("anna"), d.ID); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("published again: %v", err)
	}
}

// testStats computes the figures of a known fixture.
func testStats(t *testing.T, f *fixture) {
	ctx := context.Background()
	n := f.withAdmin()
	start := f.clock.Now()
	must(n.DeclareExpert(ctx, id("bob"), "bob", []string{"marchés publics"}))
	ask := func(who, text string) core.Question {
		return must(n.Ask(ctx, id(who), who, text, core.MessageRef{Platform: "test", Room: "#general", Message: text, Thread: text})).Question
	}
	q1 := ask("alice", "Un marché public reconductible ?")
	q2 := ask("alice", "Le seuil d'un marché public ?")
	ask("carol", "Inscription au concours d'attaché ?")
	f.clock.Advance(time.Hour)
	must(n.Answer(ctx, id("bob"), "bob", q1.ID, "Oui."))
	f.clock.Advance(2 * time.Hour)
	must(n.Answer(ctx, id("bob"), "bob", q2.ID, "40 000 euros."))
	def := must(n.CommunityOf(ctx, core.Room{Platform: "test", ID: "#general"}))
	if _, err := n.Stats(ctx, id("alice"), def, start, f.clock.Now()); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member saw the figures: %v", err)
	}
	s := must(n.Stats(ctx, id("anna"), def, start, f.clock.Now()))
	if s.Questions != 3 || s.Answered != 2 || s.Askers != 2 || s.Answerers != 1 || s.Experts != 1 {
		t.Fatalf("counts = %+v", s)
	}
	if s.AnswerRate < 0.666 || s.AnswerRate > 0.667 || s.FirstAnswerMedian != time.Hour || s.FirstAnswerP90 != 3*time.Hour {
		t.Fatalf("rate %.3f, median %s, p90 %s", s.AnswerRate, s.FirstAnswerMedian, s.FirstAnswerP90)
	}
	var topics []string
	for _, u := range s.Unmatched {
		topics = append(topics, u.Topic)
	}
	if strings.Join(topics, ",") != "attache,concour,inscription" {
		t.Fatalf("unmatched topics = %v", topics)
	}
	if names(s.OverBudget) != "bob" || len(s.Helpful) != 1 || s.Helpful[0].Count != 2 {
		t.Fatalf("over budget %s, helpful %+v", names(s.OverBudget), s.Helpful)
	}
	if len(s.Weeks) != 12 || s.Weeks[11].Questions != 3 || s.Weeks[11].Answered != 2 || s.Weeks[0].Questions != 0 {
		t.Fatalf("weeks = %+v", s.Weeks)
	}

	// With the matching engine as router, the topics are its content
	// words: the forms of one word are one topic, shown as most written.
	ask("carol", "Concours d'attachés ?") // bob's budget is spent: no expert
	f.clock.Advance(time.Minute)
	withEngine := f.withAdminRouter(match.NewRouter(match.NewEngine(match.DefaultConfig())))
	s = must(withEngine.Stats(ctx, id("anna"), def, start, f.clock.Now()))
	var counted []string
	for _, u := range s.Unmatched {
		counted = append(counted, fmt.Sprintf("%s:%d", u.Topic, u.Questions))
	}
	if strings.Join(counted, ",") != "attaché:2,concours:2,inscription:1" {
		t.Fatalf("unmatched topics with the engine = %v", counted)
	}
}

// testPostingRights: anyone posts offers and events until an animator keeps
// posting to the animators; then members are refused (ErrPostingRestricted)
// while animators and administrators post, members may not change it back,
// feeds still bring their items, and with no animator left anyone posts
// again. Opening it again lets members post.
func testPostingRights(t *testing.T, f *fixture) {
	ctx := context.Background()
	room := core.Room{Platform: "test", ID: "#emploi"}
	offer := func(n *core.Network, who string) error {
		_, err := n.PostOffer(ctx, id(who), who, room, core.Offer{Title: "Juriste", Employer: "Préfecture", Location: "Lyon"})
		return err
	}
	n := f.withAdmin()
	def := must(n.CommunityOf(ctx, room))
	if p := must(f.s.PostingOf(ctx, def)); p != core.PostingAnyone {
		t.Fatalf("posting of a new community = %q, want anyone", p)
	}
	check(t, offer(n, "bob"))
	if _, err := n.SetPostingBy(ctx, id("bob"), room, core.PostingAnimators); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member kept posting to the animators: %v", err)
	}
	if _, err := n.SetPostingBy(ctx, id("anna"), room, core.Posting("nobody")); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("an unknown setting: %v", err)
	}
	must(n.Grant(ctx, id("anna"), def, id("carol"), core.RoleAnimator, true))
	if got := must(n.SetPostingBy(ctx, id("carol"), room, core.PostingAnimators)); got != def {
		t.Fatalf("set the posting of community %d, want %d", got, def)
	}
	if err := offer(n, "bob"); !errors.Is(err, core.ErrPostingRestricted) || !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member posted an offer in a community kept to its animators: %v", err)
	}
	if _, err := n.PostEvent(ctx, id("bob"), "bob", room, core.Event{Title: "Atelier", Start: f.clock.Now().Add(48 * time.Hour)}); !errors.Is(err, core.ErrPostingRestricted) {
		t.Fatalf("a member posted an event in a community kept to its animators: %v", err)
	}
	check(t, offer(n, "carol"))
	check(t, offer(n, "anna"))
	if _, created, err := n.ImportOffer(ctx, def, core.Offer{Title: "Attaché", Employer: "Rectorat", Location: "Lille",
		Source: "https://example.gouv.fr/offres.rss", SourceID: "42"}); err != nil || !created {
		t.Fatalf("a feed's offer in a community kept to its animators: %v, created %v", err, created)
	}
	if _, err := n.SetPostingBy(ctx, id("bob"), room, core.PostingAnyone); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member opened posting: %v", err)
	}
	// The animator leaves and no administrator is configured: no one is
	// left to post, so everyone may.
	must(n.Grant(ctx, id("anna"), def, id("carol"), core.RoleAnimator, false))
	check(t, offer(f.n, "bob"))
	must(n.Grant(ctx, id("anna"), def, id("carol"), core.RoleAnimator, true))
	if err := offer(f.n, "bob"); !errors.Is(err, core.ErrPostingRestricted) {
		t.Fatalf("with an animator back, a member posted: %v", err)
	}
	must(n.SetPostingBy(ctx, id("carol"), room, core.PostingAnyone))
	check(t, offer(n, "bob"))
}

// testAnnounceRights: anyone sets a room's announcements while its
// community has no animator and no administrator is configured; then only
// animators and administrators do.
func testAnnounceRights(t *testing.T, f *fixture) {
	ctx := context.Background()
	room := core.Room{Platform: "test", ID: "#emploi"}
	check(t, f.n.SetAnnounceBy(ctx, id("bob"), room, []core.ItemKind{core.KindOffer}))
	n := f.withAdmin()
	if err := n.SetAnnounceBy(ctx, id("bob"), room, nil); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member changed announcements with an administrator configured: %v", err)
	}
	check(t, n.SetAnnounceBy(ctx, id("anna"), room, []core.ItemKind{core.KindOffer, core.KindEvent}))
	def := must(n.CommunityOf(ctx, room))
	must(n.Grant(ctx, id("anna"), def, id("carol"), core.RoleAnimator, true))
	// Without the configured administrator, the animator given a role
	// still closes the room to members.
	if err := f.n.SetAnnounceBy(ctx, id("bob"), room, nil); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member changed announcements in a community with an animator: %v", err)
	}
	check(t, f.n.SetAnnounceBy(ctx, id("carol"), room, []core.ItemKind{core.KindEvent}))
	rooms, err := f.s.AnnounceRooms(ctx, def, core.KindEvent)
	check(t, err)
	if len(rooms) != 1 || rooms[0] != room {
		t.Fatalf("rooms announcing events: %v", rooms)
	}
}
