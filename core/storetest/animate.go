package storetest

import (
	"context"
	"testing"
	"time"

	"entraide/core"
)

func testRoles(t *testing.T, s core.Store) {
	ctx := context.Background()
	def := must(s.EnsureRoom(ctx, core.Room{}, t0))
	alice, bob := person(t, s, "alice"), person(t, s, "bob")
	check(t, s.SetRole(ctx, def, alice.ID, core.RoleAnimator, t0))
	check(t, s.SetRole(ctx, def, alice.ID, core.RoleAnimator, t0)) // twice keeps one
	check(t, s.SetRole(ctx, def, alice.ID, core.RoleAdmin, t0))
	check(t, s.SetRole(ctx, def, bob.ID, core.RoleAnimator, t0))
	wantErr(t, s.SetRole(ctx, def, bob.ID, "owner", t0), core.ErrInvalid)
	if roles := must(s.RolesOf(ctx, def, alice.ID)); len(roles) != 2 || roles[0] != core.RoleAdmin {
		t.Fatalf("alice's roles = %v", roles)
	}
	if ids := must(s.RoleHolders(ctx, def, core.RoleAnimator)); len(ids) != 2 || ids[0] != alice.ID {
		t.Fatalf("animators = %v", ids)
	}
	check(t, s.DeleteRole(ctx, def, bob.ID, core.RoleAnimator))
	check(t, s.DeleteRole(ctx, def, bob.ID, core.RoleAnimator)) // nobody has it: no error
	if roles := must(s.RolesOf(ctx, def, bob.ID)); len(roles) != 0 {
		t.Fatalf("bob's roles = %v", roles)
	}
	if cs := must(s.Communities(ctx)); len(cs) != 1 || cs[0].ID != def || cs[0].Name != core.DefaultCommunity {
		t.Fatalf("communities = %+v", cs)
	}
}

func testDigests(t *testing.T, s core.Store) {
	ctx := context.Background()
	def := must(s.EnsureRoom(ctx, core.Room{}, t0))
	d := core.CommunityDigest{
		Community: def, PeriodStart: t0, PeriodEnd: t0.Add(7 * 24 * time.Hour), State: core.DigestDraft, Updated: t0,
		Items: []core.DigestItem{{Section: core.SectionResolved, Ref: 3, Title: "« Q » <b>", Detail: "R"}, {Section: core.SectionOffers, Ref: 1, Title: "O"}},
	}
	got := must(s.CreateDigest(ctx, d))
	check(t, s.InTx(ctx, func(tx core.Store) error {
		_, err := tx.CreateDigest(ctx, d)
		wantErr(t, err, core.ErrConflict)
		_, err = tx.Digest(ctx, got.ID)
		return err
	}))
	stored := must(s.Digest(ctx, got.ID))
	if stored.Items[0].Title != "« Q » <b>" || len(stored.Items) != 2 || stored.State != core.DigestDraft || !stored.PeriodEnd.Equal(ts(d.PeriodEnd)) {
		t.Fatalf("stored digest %+v", stored)
	}
	empty := must(s.CreateDigest(ctx, core.CommunityDigest{Community: def, PeriodStart: t0, PeriodEnd: t0.Add(14 * 24 * time.Hour), State: core.DigestDraft, Updated: t0}))
	if latest := must(s.LatestDigest(ctx, def)); latest.ID != empty.ID || latest.Items == nil && len(latest.Items) != 0 {
		t.Fatalf("latest = %+v", latest)
	}
	stored.Intro, stored.Items[1].Removed, stored.Updated = "Bonjour", true, t0.Add(time.Hour)
	check(t, s.UpdateDigest(ctx, stored))
	if again := must(s.Digest(ctx, got.ID)); again.Intro != "Bonjour" || !again.Items[1].Removed {
		t.Fatalf("updated digest %+v", again)
	}
	check(t, s.SetDigestPublished(ctx, got.ID, t0.Add(2*time.Hour)))
	wantErr(t, s.SetDigestPublished(ctx, got.ID, t0.Add(3*time.Hour)), core.ErrConflict)
	wantErr(t, s.UpdateDigest(ctx, stored), core.ErrConflict)
	wantErr(t, s.SetDigestPublished(ctx, 999, t0), core.ErrNotFound)
	if pub := must(s.Digest(ctx, got.ID)); pub.State != core.DigestPublished || !pub.PublishedAt.Equal(ts(t0.Add(2*time.Hour))) {
		t.Fatalf("published digest %+v", pub)
	}
	_, err := s.LatestDigest(ctx, def+1)
	wantErr(t, err, core.ErrNotFound)
}

func testLoginTokens(t *testing.T, s core.Store) {
	ctx := context.Background()
	def := must(s.EnsureRoom(ctx, core.Room{}, t0))
	alice := person(t, s, "alice")
	check(t, s.CreateLoginToken(ctx, "h1", alice.ID, def, t0.Add(15*time.Minute)))
	check(t, s.CreateLoginToken(ctx, "h2", alice.ID, def, t0.Add(15*time.Minute)))
	id, c, err := s.UseLoginToken(ctx, "h1", t0.Add(time.Minute))
	if err != nil || id != alice.ID || c != def {
		t.Fatalf("use = %d %d %v", id, c, err)
	}
	_, _, err = s.UseLoginToken(ctx, "h1", t0.Add(2*time.Minute))
	wantErr(t, err, core.ErrNotFound) // once
	_, _, err = s.UseLoginToken(ctx, "h2", t0.Add(16*time.Minute))
	wantErr(t, err, core.ErrNotFound) // expired
	_, _, err = s.UseLoginToken(ctx, "nope", t0)
	wantErr(t, err, core.ErrNotFound)
}

func testActivity(t *testing.T, s core.Store) {
	ctx := context.Background()
	alice, bob := person(t, s, "alice"), person(t, s, "bob")
	q1 := newQuestion(t, s, alice, "Première")
	q2 := newQuestion(t, s, alice, "Seconde")
	must(s.AddAnswer(ctx, core.Answer{Question: q1.ID, Author: bob.ID, Text: "R", CreatedAt: t0.Add(time.Hour)}))
	check(t, s.AddRouting(ctx, core.Routing{Question: q2.ID, Expert: bob.ID, Status: core.RoutingAsked, RoutedAt: t0}))
	act := must(s.Activity(ctx, q1.Community, t0.Add(-time.Hour), t0.Add(time.Hour)))
	if len(act.Questions) != 2 || len(act.Answers) != 1 || len(act.Routings) != 1 || act.Routings[0].Question != q2.ID {
		t.Fatalf("activity = %+v", act)
	}
	if act := must(s.Activity(ctx, q1.Community, t0.Add(time.Hour), t0.Add(2*time.Hour))); len(act.Questions) != 0 || len(act.Answers) != 0 {
		t.Fatalf("activity of an empty period = %+v", act)
	}
}
