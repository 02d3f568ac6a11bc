package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"entraide/core"
)

func on(platform core.Platform, user string) core.Identity {
	return core.Identity{Platform: platform, User: user}
}

// withConfig returns the fixture's network with cfg changed by edit.
func (f *fixture) withConfig(edit func(*core.Config)) *core.Network {
	cfg := core.DefaultConfig()
	cfg.DailyBudget = 2
	edit(&cfg)
	n, err := core.NewNetwork(f.s, nil, f.clock, cfg)
	check(f.t, err)
	return n
}

// testLinkAccounts: a code made on one account and typed on another makes
// one person of both, with everything each had; codes work once, before
// they expire, and not on their own person.
func testLinkAccounts(t *testing.T, f *fixture) {
	ctx := context.Background()
	matrix, slack := on("matrix", "@bob:example.org"), on("slack", "U0BOB")
	// On Matrix bob asked a question and declared expertise; on Slack he
	// is an expert too, subscribed, going to an event, and was asked about
	// a question.
	must(f.n.DeclareExpert(ctx, matrix, "Bob", []string{"marchés publics"}))
	q := must(f.n.Ask(ctx, matrix, "Bob", "Quel congé pour un déménagement ?", core.MessageRef{Platform: "matrix", Room: "!r", Message: "$1", Thread: "$1"}))
	must(f.n.DeclareExpert(ctx, slack, "Bob S", []string{"achats", "marchés publics"}))
	must(f.n.Subscribe(ctx, slack, "", core.KindOffer, core.Filter{}, core.Daily))
	asked := must(f.n.Ask(ctx, id("alice"), "Alice", "Comment rédiger les marchés publics d'achats ?", core.MessageRef{Platform: "test", Room: "#g", Message: "m1", Thread: "m1"}))
	if names(asked.Experts) != "@bob:example.org,U0BOB" && names(asked.Experts) != "U0BOB,@bob:example.org" {
		t.Fatalf("routed to %s, want both of bob's accounts before linking", names(asked.Experts))
	}

	code, expires := must2(f.n.StartLink(ctx, matrix, "Bob"))
	if len(code) != 9 || code[4] != '-' || !expires.Equal(t0.Add(core.LinkCodeLifetime)) {
		t.Fatalf("code %q expires %v", code, expires)
	}
	if _, err := f.n.Link(ctx, slack, "", "ABCD-EFGH"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a wrong code linked: %v", err)
	}
	if _, err := f.n.Link(ctx, matrix, "", code); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("linking an account to itself: %v", err)
	}
	// The failed attempt spent the code: ask for another.
	code, _ = must2(f.n.StartLink(ctx, matrix, "Bob"))
	p := must(f.n.Link(ctx, slack, "Bob S", " "+strings.ToLower(code)+" "))
	if p.Identity != matrix {
		t.Fatalf("messages go to %v, want the account that asked for the code", p.Identity)
	}
	if _, err := f.n.Link(ctx, slack, "", code); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a code worked twice: %v", err)
	}
	ps, pm := must(f.s.PersonByIdentity(ctx, slack)), must(f.s.PersonByIdentity(ctx, matrix))
	if ps.ID != pm.ID {
		t.Fatalf("two people after linking: %d, %d", ps.ID, pm.ID)
	}
	_, accounts := must2(f.n.Accounts(ctx, slack))
	if len(accounts) != 2 || accounts[0].Identity != matrix || !accounts[0].Preferred || accounts[1].Identity != slack {
		t.Fatalf("accounts %+v", accounts)
	}
	e := must(f.s.Expert(ctx, pm.ID))
	if strings.Join(e.Topics, "|") != "marchés publics|achats" {
		t.Fatalf("merged topics %q", e.Topics)
	}
	if _, err := f.s.Expert(ctx, ps.ID); err != nil {
		t.Fatal(err)
	}
	if subs := must(f.s.Subscriptions(ctx, pm.ID)); len(subs) != 1 {
		t.Fatalf("subscriptions after linking: %+v", subs)
	}
	if qs := must(f.s.QuestionsByAsker(ctx, pm.ID)); len(qs) != 1 || qs[0].ID != q.Question.ID {
		t.Fatalf("questions after linking: %+v", qs)
	}
	// Both accounts had been asked about alice's question: one routing is
	// left, and the budget is one.
	rs := must(f.s.Routings(ctx, asked.Question.ID))
	if len(rs) != 1 || rs[0].Expert != pm.ID {
		t.Fatalf("routings after linking: %+v", rs)
	}
	if n := must(f.s.CountRoutingsSince(ctx, pm.ID, t0)); n != 1 {
		t.Fatalf("routings counted %d, want 1", n)
	}
	// Messages may go to the Slack account instead.
	check(t, f.n.Prefer(ctx, slack, ""))
	if p := must(f.s.Person(ctx, pm.ID)); p.Identity != slack {
		t.Fatalf("preferred %v, want slack", p.Identity)
	}
	// A code expires.
	code, _ = must2(f.n.StartLink(ctx, matrix, ""))
	f.clock.Advance(core.LinkCodeLifetime)
	if _, err := f.n.Link(ctx, on("discord", "42"), "", code); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("an expired code linked: %v", err)
	}
	// Unlinking gives the account back its own, empty, person.
	if err := f.n.Unlink(ctx, matrix, on("discord", "42")); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("unlinking someone else's account: %v", err)
	}
	check(t, f.n.Unlink(ctx, matrix, slack))
	if p := must(f.s.PersonByIdentity(ctx, slack)); p.ID == pm.ID {
		t.Fatal("still linked")
	}
	if err := f.n.Unlink(ctx, matrix, matrix); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("unlinking the last account: %v", err)
	}
}

// testAccessRules: communities with rules admit only the accounts they
// name; those without admit everyone; direct messages need one community
// that admits; administrators always pass.
func testAccessRules(t *testing.T, f *fixture) {
	ctx := context.Background()
	n := f.withConfig(func(c *core.Config) {
		c.Admins = []core.Identity{id("anna")}
		c.Access = map[string][]core.AccessRule{
			"default": {"slack:T1", "matrix:*.tchap.gouv.fr", "mail:interieur.gouv.fr"},
		}
	})
	check(t, n.EnsureCommunities(ctx))
	room := core.Room{Platform: "slack", ID: "C1"}
	for _, c := range []struct {
		who    core.Identity
		tenant string
		room   core.Room
		want   bool
	}{
		{on("slack", "U1"), "T1", room, true},
		{on("slack", "U2"), "T2", room, false},
		{on("slack", "U2"), "", core.Room{}, false}, // a DM: T2 seen last
		{on("discord", "7"), "99", core.Room{Platform: "discord", ID: "c"}, false},
		{on("matrix", "@a:agent.finances.tchap.gouv.fr"), "agent.finances.tchap.gouv.fr", core.Room{Platform: "matrix", ID: "!r"}, true},
		{on("matrix", "@a:tchap.gouv.fr.evil.org"), "tchap.gouv.fr.evil.org", core.Room{Platform: "matrix", ID: "!r"}, false},
		{on("matrix", "@b-interieur.gouv.fr:x.org"), "x.org mail:interieur.gouv.fr", core.Room{}, true},
		{on("matrix", "@c-paris.interieur.gouv.fr:x.org"), "x.org mail:paris.interieur.gouv.fr", core.Room{}, true},
		{on("matrix", "@d-notinterieur.gouv.fr:x.org"), "x.org mail:notinterieur.gouv.fr", core.Room{}, false},
		{id("anna"), "", room, true},
	} {
		if got := must(n.Admit(ctx, c.who, c.tenant, c.room)); got != c.want {
			t.Errorf("Admit(%s, %q, %v) = %v, want %v", c.who, c.tenant, c.room, got, c.want)
		}
	}
	// A Discord DM carries no server: the one last seen counts.
	must(n.Admit(ctx, on("discord", "8"), "99", core.Room{Platform: "discord", ID: "c"}))
	if must(n.Admit(ctx, on("discord", "8"), "", core.Room{})) {
		t.Error("a Discord member of an unlisted server was admitted in a DM")
	}
	// Rules added in chat, by an administrator only.
	def := must(n.CommunityOf(ctx, core.Room{}))
	if _, err := n.SetAccess(ctx, on("slack", "U1"), def, "discord:99", true); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member changed the rules: %v", err)
	}
	if _, err := n.SetAccess(ctx, id("anna"), def, "discord 99", true); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("a malformed rule: %v", err)
	}
	must(n.SetAccess(ctx, id("anna"), def, "discord:99", true))
	if !must(n.Admit(ctx, on("discord", "8"), "", core.Room{})) {
		t.Error("the new rule did not admit")
	}
	if _, err := n.SetAccess(ctx, id("anna"), def, "slack:T1", false); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("removed a configured rule: %v", err)
	}
	must(n.SetAccess(ctx, id("anna"), def, "discord:99", false))
	if _, err := n.SetAccess(ctx, id("anna"), def, "discord:99", false); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("removed a missing rule: %v", err)
	}
	// A community without rules is open; its rooms admit everyone, and so
	// do direct messages, since one community admits.
	if _, err := n.CreateCommunity(ctx, on("slack", "U1"), "ouverte"); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member created a community: %v", err)
	}
	must(n.CreateCommunity(ctx, id("anna"), "ouverte"))
	open := core.Room{Platform: "discord", ID: "c2"}
	must(n.MoveRoom(ctx, id("anna"), open, "ouverte"))
	if !must(n.Admit(ctx, on("slack", "U2"), "T2", open)) || !must(n.Admit(ctx, on("slack", "U2"), "T2", core.Room{})) {
		t.Error("an open community refused")
	}
	info := must(n.CommunityOfRoom(ctx, open))
	if info.Community.Name != "ouverte" || len(info.Rooms) != 1 || info.Rooms[0] != open || len(info.Rules) != 0 {
		t.Fatalf("community info %+v", info)
	}
	if _, err := n.MoveRoom(ctx, on("slack", "U1"), room, "ouverte"); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member moved a room: %v", err)
	}
}

// testAuditAnonymous: every access to the author of a pseudonymous
// question is logged, and the author sees it in their export.
func testAuditAnonymous(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.expert("bob", "congés")
	asked := must(f.n.AskWith(ctx, id("alice"), "Alice", "Quels congés pour un enfant malade ?",
		core.MessageRef{Platform: "test", Room: "#g", Message: "m1", Thread: "m1"}, core.AskOptions{Anonymous: true}))
	f.ask("carol", "Quels congés pour un mariage ?")
	if log := must(f.s.AuditLog(ctx, 0, 10)); len(log) != 0 {
		t.Fatalf("audit before any access: %+v", log)
	}
	must(f.n.Answer(ctx, id("bob"), "Bob", asked.Question.ID, "Trois jours."))
	log := must(f.s.AuditLog(ctx, 0, 10))
	alice := must(f.s.PersonByIdentity(ctx, id("alice")))
	if len(log) != 1 || log[0].Action != core.AuditRelayAnswer || log[0].Question != asked.Question.ID || log[0].Subject != alice.ID ||
		!strings.Contains(log[0].Actor, "person") {
		t.Fatalf("audit log %+v", log)
	}
	d := must(f.n.Export(ctx, id("alice")))
	if len(d.Audit) != 1 || len(d.Questions) != 1 || !d.Questions[0].Question.Anonymous || len(d.Questions[0].Answers) != 1 {
		t.Fatalf("export %+v", d)
	}
	if _, err := f.n.AuditLog(ctx, id("bob"), asked.Question.Community, 10); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a member read the audit log: %v", err)
	}
}

// testForget: after an erasure, the store holds nothing of the person but
// a nameless id; others' answers stay, and their questions are closed.
func testForget(t *testing.T, f *fixture) {
	ctx := context.Background()
	n := f.withConfig(func(c *core.Config) { c.Admins = []core.Identity{id("anna")} })
	alice := on("slack", "UALICE")
	must(n.DeclareExpert(ctx, alice, "Alice Martin", []string{"congés"}))
	must(n.DeclareExpert(ctx, id("bob"), "Bob", []string{"congés", "retraite"}))
	mine := must(n.Ask(ctx, alice, "Alice Martin", "Zorglub retraite anticipée ?", core.MessageRef{Platform: "slack", Room: "C1", Message: "1.1", Thread: "1.1"}))
	must(n.Answer(ctx, id("bob"), "Bob", mine.Question.ID, "Voyez la caisse."))
	theirs := f.ask("carol", "Combien de congés pour un déménagement ?")
	must(n.Answer(ctx, alice, "", theirs.Question.ID, "Un jour, Zorglub."))
	def := must(n.CommunityOf(ctx, core.Room{}))
	must(n.Grant(ctx, id("anna"), def, alice, core.RoleAnimator, true))
	must(n.Subscribe(ctx, alice, "", core.KindOffer, core.Filter{}, core.Weekly))
	must2(n.StartLink(ctx, alice, ""))
	check(t, f.s.SetIdentityTenant(ctx, alice, "T1", t0))
	must(n.DraftNow(ctx, id("anna"), def))

	p := must(f.s.PersonByIdentity(ctx, alice))
	erased := must(n.Forget(ctx, alice))
	if erased.Person != p.ID || len(erased.Questions) != 1 || len(erased.Answers) != 1 {
		t.Fatalf("erased %+v", erased)
	}
	if _, err := f.s.PersonByIdentity(ctx, alice); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("the account is still known: %v", err)
	}
	if left := must(f.s.Person(ctx, p.ID)); left.Name() != "" || left.Identity != (core.Identity{}) {
		t.Fatalf("left of the person: %+v", left)
	}
	if _, err := f.s.Expert(ctx, p.ID); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("still an expert: %v", err)
	}
	if _, err := f.s.IdentityTenant(ctx, alice); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("tenant kept: %v", err)
	}
	q := must(f.s.Question(ctx, mine.Question.ID))
	if q.Text != "" || q.State != core.StateExpired {
		t.Fatalf("their question: %+v", q)
	}
	if as := must(f.s.Answers(ctx, mine.Question.ID)); len(as) != 1 || as[0].Text != "Voyez la caisse." {
		t.Fatalf("bob's answer to it: %+v", as)
	}
	if as := must(f.s.Answers(ctx, theirs.Question.ID)); len(as) != 1 || as[0].Text != "" {
		t.Fatalf("their answer: %+v", as)
	}
	if roles := must(f.s.RolesOf(ctx, def, p.ID)); len(roles) != 0 {
		t.Fatalf("roles kept: %v", roles)
	}
	if subs := must(f.s.Subscriptions(ctx, p.ID)); len(subs) != 0 {
		t.Fatalf("subscriptions kept: %v", subs)
	}
	d := must(f.s.LatestDigest(ctx, def))
	for _, it := range d.Items {
		if strings.Contains(it.Title+it.Detail, "Zorglub") || strings.Contains(it.Title, "Alice") {
			t.Fatalf("digest keeps %+v", it)
		}
	}
	data := must(n.Export(ctx, alice))
	if data.Person.ID != 0 || len(data.Questions) != 0 {
		t.Fatalf("export after forgetting: %+v", data)
	}
	// Writing again makes a new, empty person.
	must(n.Ask(ctx, alice, "Alice", "Une autre question ?", core.MessageRef{Platform: "slack", Room: "C1", Message: "2.2", Thread: "2.2"}))
	if p2 := must(f.s.PersonByIdentity(ctx, alice)); p2.ID == p.ID {
		t.Fatal("the erased person came back")
	}
}

// testRetention: what is older than its retention goes; the rest stays.
func testRetention(t *testing.T, f *fixture) {
	ctx := context.Background()
	day := 24 * time.Hour
	n := f.withConfig(func(c *core.Config) {
		c.Retention = core.RetentionConfig{Questions: 30 * day, Bulletin: 2 * day, Audit: 60 * day, Pseudonyms: 10 * day}
	})
	must(n.DeclareExpert(ctx, id("bob"), "Bob", []string{"congés"}))
	old := must(n.AskWith(ctx, id("alice"), "Alice", "Congés et mutation ?", core.MessageRef{Platform: "test", Room: "#g", Message: "m1", Thread: "m1"}, core.AskOptions{Anonymous: true}))
	must(n.Answer(ctx, id("bob"), "Bob", old.Question.ID, "Ils suivent."))
	must(n.Resolve(ctx, id("alice"), old.Question.ID))
	must(n.PostOffer(ctx, id("carol"), "", core.Room{}, newOffer(0, "Juriste", t0)))
	f.clock.Advance(20 * day)
	recent := f.ask("dan", "Congés et temps partiel ?")
	if r := must(n.ApplyRetention(ctx)); r.Pseudonyms != 1 || r.Questions != 0 {
		t.Fatalf("after 20 days: %+v", r)
	}
	if q := must(f.s.Question(ctx, old.Question.ID)); q.Asker == must(f.s.PersonByIdentity(ctx, id("alice"))).ID {
		t.Fatal("the pseudonym still points to its author")
	}
	f.clock.Advance(45 * day)
	r := must(n.ApplyRetention(ctx))
	if r.Questions != 1 || r.Offers != 1 || r.Audit != 1 {
		t.Fatalf("after 65 days: %+v", r)
	}
	if q := must(f.s.Question(ctx, old.Question.ID)); q.Text != "" {
		t.Fatalf("old question kept its text: %q", q.Text)
	}
	if q := must(f.s.Question(ctx, recent.Question.ID)); q.Text == "" {
		t.Fatal("an open question lost its text")
	}
	if r := must(n.ApplyRetention(ctx)); r.Total() != 0 {
		t.Fatalf("a second run changed %+v", r)
	}
}
