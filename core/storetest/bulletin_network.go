package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"entraide/core"
)

func (f *fixture) postOffer(user, title, place string) core.Offer {
	f.t.Helper()
	o, err := f.n.PostOffer(context.Background(), id(user), user, core.Room{Platform: "test", ID: "#general"},
		core.Offer{Title: title, Employer: "DINUM", Location: place})
	check(f.t, err)
	return o
}

func (f *fixture) subscribe(user string, kind core.ItemKind, filter string, freq core.Frequency) core.Subscription {
	f.t.Helper()
	sub, err := f.n.Subscribe(context.Background(), id(user), user, kind, must(core.ParseFilter(filter)), freq)
	check(f.t, err)
	return sub
}

// testAnnounceOnce: a new offer is announced in the rooms that asked for
// offers and to the immediate subscribers it matches, once, within their
// budget; the rest waits for the daily digest, which tells each item once.
func testAnnounceOnce(t *testing.T, f *fixture) {
	ctx := context.Background()
	check(t, f.n.SetAnnounce(ctx, core.Room{Platform: "test", ID: "#emploi"}, []core.ItemKind{core.KindOffer}))
	check(t, f.n.SetAnnounce(ctx, core.Room{Platform: "test", ID: "#agenda"}, []core.ItemKind{core.KindEvent}))
	f.subscribe("bob", core.KindOffer, "lieu:lyon", core.Immediately)
	f.subscribe("carol", "", "", core.Immediately)            // everything
	f.subscribe("dave", core.KindEvent, "", core.Immediately) // events only
	f.subscribe("erin", core.KindOffer, "", core.Daily)

	o := f.postOffer("alice", "Développeur·se", "Lyon")
	a := must(f.n.Announce(ctx, core.AnnounceJob(core.KindOffer, int64(o.ID), f.clock.Now())))
	if len(a.Rooms) != 1 || a.Rooms[0].ID != "#emploi" || names(a.Subscribers) != "bob,carol" {
		t.Fatalf("announced in %v to %s", a.Rooms, names(a.Subscribers))
	}
	// The job runs again after a crash before it was marked done: the
	// rooms get the same messages (the outbox dedupes them by key) and no
	// subscriber hears of it a second time through a new notice.
	again := must(f.n.Announce(ctx, core.AnnounceJob(core.KindOffer, int64(o.ID), f.clock.Now())))
	if len(again.Subscribers) != 0 {
		t.Fatalf("second run told %s again", names(again.Subscribers))
	}

	// carol's budget is 1 a day here: the next offer waits for her digest.
	for i := range 2 {
		o2 := f.postOffer("alice", "Juriste", "Paris")
		a2 := must(f.n.Announce(ctx, core.AnnounceJob(core.KindOffer, int64(o2.ID), f.clock.Now())))
		if len(a2.Subscribers) != 0 {
			t.Fatalf("offer %d: told %s beyond the budget", i, names(a2.Subscribers))
		}
	}
	f.clock.Advance(20 * time.Hour)
	job := core.DigestJob(core.Daily, f.n.NextDigest(core.Daily, t0))
	freq, digests := must2(f.n.Digests(ctx, job))
	if freq != core.Daily || len(digests) != 2 {
		t.Fatalf("digests = %s %+v", freq, digests)
	}
	byName := map[string]int{}
	for _, d := range digests {
		byName[d.Person.Name()] = len(d.Items)
	}
	if byName["carol"] != 2 || byName["erin"] != 3 {
		t.Fatalf("digest items = %v, want carol 2 (the ones over budget), erin 3", byName)
	}
	if _, again := must2(f.n.Digests(ctx, job)); len(again) != 0 {
		t.Fatalf("the same digest ran twice: %+v", again)
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// testNextDigest: daily digests at the digest hour in the network's zone,
// weekly ones on Mondays.
func testNextDigest(t *testing.T, f *fixture) {
	paris, _ := time.LoadLocation("Europe/Paris")
	cfg := core.DefaultConfig()
	cfg.Location = paris
	n := must(core.NewNetwork(f.s, nil, f.clock, cfg))
	sunday := time.Date(2026, 11, 22, 9, 0, 0, 0, paris) // after 8:00
	if got := n.NextDigest(core.Daily, sunday); !got.Equal(time.Date(2026, 11, 23, 8, 0, 0, 0, paris)) {
		t.Fatalf("next daily = %s", got)
	}
	if got := n.NextDigest(core.Weekly, sunday); !got.Equal(time.Date(2026, 11, 23, 8, 0, 0, 0, paris)) {
		t.Fatalf("next weekly = %s", got)
	}
	monday8 := time.Date(2026, 11, 23, 8, 0, 0, 0, paris)
	if got := n.NextDigest(core.Weekly, monday8); !got.Equal(time.Date(2026, 11, 30, 8, 0, 0, 0, paris)) {
		t.Fatalf("weekly after a weekly = %s", got)
	}
	check(t, n.ScheduleDigests(context.Background()))
	check(t, n.ScheduleDigests(context.Background())) // idempotent
}

// testRemindEvent: those who answered going or maybe are reminded once the
// reminder is due; a reminder for a start that changed since is dropped.
func testRemindEvent(t *testing.T, f *fixture) {
	ctx := context.Background()
	start := t0.Add(72 * time.Hour)
	e, err := f.n.PostEvent(ctx, id("alice"), "alice", core.Room{}, core.Event{Title: "Atelier", Start: start, Capacity: 2})
	check(t, err)
	must(f.n.RSVP(ctx, id("bob"), "bob", e.ID, core.RSVPGoing))
	must(f.n.RSVP(ctx, id("carol"), "carol", e.ID, core.RSVPMaybe))
	must(f.n.RSVP(ctx, id("dave"), "dave", e.ID, core.RSVPNo))
	res := must(f.n.RSVP(ctx, id("erin"), "erin", e.ID, core.RSVPGoing))
	if res.Counts != (core.RSVPCounts{Going: 2, Maybe: 1, No: 1}) {
		t.Fatalf("counts = %+v", res.Counts)
	}
	_, err = f.n.RSVP(ctx, id("frank"), "frank", e.ID, core.RSVPGoing)
	var full *core.FullError
	if !errors.As(err, &full) || full.Capacity != 2 {
		t.Fatalf("a third seat: %v", err)
	}
	// bob may say going again without taking a new seat.
	must(f.n.RSVP(ctx, id("bob"), "bob", e.ID, core.RSVPGoing))

	job := core.ItemReminderJob(core.KindEvent, int64(e.ID), e.Start, e.Start.Add(-24*time.Hour))
	rem := must(f.n.RemindItem(ctx, job))
	if rem.Item.Kind != core.KindEvent || names(rem.People) != "bob,carol,erin" {
		t.Fatalf("reminded %s", names(rem.People))
	}
	stale := core.ItemReminderJob(core.KindEvent, int64(e.ID), e.Start.Add(-time.Hour), e.Start.Add(-25*time.Hour))
	if rem := must(f.n.RemindItem(ctx, stale)); rem.Item.Kind != "" || len(rem.People) != 0 {
		t.Fatalf("stale reminder sent to %s", names(rem.People))
	}
	f.clock.Advance(80 * time.Hour)
	if _, err := f.n.RSVP(ctx, id("bob"), "bob", e.ID, core.RSVPNo); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("answer after the event: %v", err)
	}
}

// testImportIdempotent: importing the same entry again changes nothing;
// a changed entry is updated, never announced twice.
func testImportIdempotent(t *testing.T, f *fixture) {
	ctx := context.Background()
	o := core.Offer{Source: "https://feed.example/rss", SourceID: "guid-1", Title: "Juriste", Employer: "Préfecture"}
	first, created, err := f.n.ImportOffer(ctx, 0, o)
	check(t, err)
	if !created || first.ID == 0 {
		t.Fatalf("first import: created %v id %d", created, first.ID)
	}
	f.clock.Advance(time.Hour)
	again, created, err := f.n.ImportOffer(ctx, 0, o)
	check(t, err)
	if created || again.ID != first.ID || !again.Updated.Equal(first.Updated) {
		t.Fatalf("second import: created %v, %+v", created, again)
	}
	o.Title = "Juriste (H/F)"
	changed, created, err := f.n.ImportOffer(ctx, 0, o)
	check(t, err)
	if created || changed.ID != first.ID || changed.Title != "Juriste (H/F)" {
		t.Fatalf("changed import: created %v, %+v", created, changed)
	}
	if _, _, err := f.n.ImportOffer(ctx, 0, core.Offer{Source: "x", SourceID: "y"}); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("import without title: %v", err)
	}
	e := core.Event{Source: "https://cal.example/ics", SourceID: "uid-1", Title: "Webinaire", Start: t0.Add(48 * time.Hour)}
	ev, created, err := f.n.ImportEvent(ctx, 0, e)
	check(t, err)
	if !created {
		t.Fatal("event not created")
	}
	if _, created, _ := f.n.ImportEvent(ctx, 0, e); created {
		t.Fatal("event imported twice")
	}
	listed := must(f.n.Events(ctx, core.Room{}, core.Filter{}, 10))
	if len(listed) != 1 || listed[0].ID != ev.ID {
		t.Fatalf("events = %+v", listed)
	}
	offers := must(f.n.Offers(ctx, core.Room{}, must(core.ParseFilter("org:prefecture")), 10))
	if len(offers) != 1 {
		t.Fatalf("offers matching org:prefecture = %d", len(offers))
	}
}

// testSubscribeRules: the same subscription twice is refused, a new
// frequency replaces the old one, and unsubscribing all removes them.
func testSubscribeRules(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.subscribe("bob", core.KindOffer, "lieu:lyon", core.Daily)
	_, err := f.n.Subscribe(ctx, id("bob"), "bob", core.KindOffer, must(core.ParseFilter("LIEU:Lyon")), core.Daily)
	if !errors.Is(err, core.ErrConflict) {
		t.Fatalf("same subscription twice: %v", err)
	}
	f.subscribe("bob", core.KindOffer, "lieu:lyon", core.Weekly)
	subs := must(f.n.Subscriptions(ctx, id("bob")))
	if len(subs) != 1 || subs[0].Frequency != core.Weekly {
		t.Fatalf("subscriptions = %+v", subs)
	}
	f.subscribe("bob", core.KindEvent, "", core.Daily)
	if n := must(f.n.Unsubscribe(ctx, id("bob"), 0)); n != 2 {
		t.Fatalf("unsubscribed %d, want 2", n)
	}
	if n := must(f.n.Unsubscribe(ctx, id("nobody"), 0)); n != 0 {
		t.Fatalf("unknown person unsubscribed %d", n)
	}
}
