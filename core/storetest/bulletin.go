package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"entraide/core"
)

func newOffer(community core.CommunityID, title string, posted time.Time) core.Offer {
	o := core.Offer{Community: community, Title: title, Employer: "DINUM", Location: "Paris", Posted: posted, Updated: posted}
	if err := o.Normalize(); err != nil {
		panic(err)
	}
	return o
}

func newEvent(community core.CommunityID, title string, start time.Time) core.Event {
	e := core.Event{Community: community, Title: title, Start: start, TimeZone: "Europe/Paris", Posted: t0, Updated: t0}
	if err := e.Normalize(); err != nil {
		panic(err)
	}
	return e
}

func testOffers(t *testing.T, s core.Store) {
	ctx := context.Background()
	def := must(s.EnsureRoom(ctx, core.Room{}, t0))
	alice := person(t, s, "alice")
	o := newOffer(def, "Chargé·e de mission achats", t0)
	o.Poster, o.Category, o.Contract, o.Remote = alice.ID, "A", "CDD 3 ans", core.RemotePartial
	o.Description, o.Link = "Ligne 1\nLigne 2 « citée »", "https://example.gouv.fr/o/1"
	o.Closes = t0.Add(72 * time.Hour)
	check(t, o.Normalize())
	got := must(s.CreateOffer(ctx, o))
	if got.ID == 0 {
		t.Fatal("no id")
	}
	stored := must(s.Offer(ctx, got.ID))
	o.ID = got.ID
	o.Posted, o.Updated, o.Closes, o.Expires = ts(o.Posted), ts(o.Updated), ts(o.Closes), ts(o.Expires)
	if stored != o {
		t.Fatalf("stored offer\n%+v\nwant\n%+v", stored, o)
	}
	_, err := s.Offer(ctx, 999)
	wantErr(t, err, core.ErrNotFound)

	// Imported offers are unique per source and entry, and a duplicate
	// leaves the transaction usable (PostgreSQL aborts a transaction on a
	// failed statement).
	imp := newOffer(def, "Importée", t0)
	imp.Source, imp.SourceID = "https://feed.example/rss", "guid-1"
	first := must(s.CreateOffer(ctx, imp))
	check(t, s.InTx(ctx, func(tx core.Store) error {
		_, err := tx.CreateOffer(ctx, imp)
		wantErr(t, err, core.ErrConflict)
		_, err = tx.Offer(ctx, first.ID)
		return err
	}))
	// Offers posted in chat have no source: several are fine.
	must(s.CreateOffer(ctx, newOffer(def, "Sans source 1", t0)))
	must(s.CreateOffer(ctx, newOffer(def, "Sans source 2", t0.Add(time.Second))))
	if by := must(s.OfferBySource(ctx, imp.Source, "guid-1")); by.ID != first.ID {
		t.Fatalf("by source = %d, want %d", by.ID, first.ID)
	}
	_, err = s.OfferBySource(ctx, "", "")
	wantErr(t, err, core.ErrNotFound)

	first.Title, first.Updated = "Importée (modifiée)", t0.Add(time.Hour)
	check(t, s.UpdateOffer(ctx, first))
	if got := must(s.Offer(ctx, first.ID)); got.Title != "Importée (modifiée)" {
		t.Fatalf("updated title = %q", got.Title)
	}
	wantErr(t, s.UpdateOffer(ctx, core.Offer{ID: 999, Title: "x"}), core.ErrNotFound)

	open := must(s.OpenOffers(ctx, def, t0.Add(time.Hour), 10))
	if len(open) != 4 || open[0].Title != "Sans source 2" {
		t.Fatalf("open offers = %d, first %q", len(open), open[0].Title)
	}
	// After three days the offer with a closing date is gone; the others
	// stay OfferLifetime.
	if open := must(s.OpenOffers(ctx, 0, t0.Add(73*time.Hour), 10)); len(open) != 3 {
		t.Fatalf("open offers after closing = %d, want 3", len(open))
	}
	if open := must(s.OpenOffers(ctx, def, t0.Add(time.Hour), 2)); len(open) != 2 {
		t.Fatalf("limit: %d offers", len(open))
	}
	if since := must(s.OffersPostedSince(ctx, t0.Add(time.Millisecond), t0)); len(since) != 1 || since[0].Title != "Sans source 2" {
		t.Fatalf("posted since = %+v", since)
	}

	bob := person(t, s, "bob")
	check(t, s.SaveOffer(ctx, got.ID, bob.ID, t0))
	check(t, s.SaveOffer(ctx, got.ID, bob.ID, t0.Add(time.Minute)))
	check(t, s.SaveOffer(ctx, got.ID, alice.ID, t0))
	if savers := must(s.OfferSavers(ctx, got.ID)); len(savers) != 2 || savers[0] != alice.ID || savers[1] != bob.ID {
		t.Fatalf("savers = %v", savers)
	}
}

func testEvents(t *testing.T, s core.Store) {
	ctx := context.Background()
	def := must(s.EnsureRoom(ctx, core.Room{}, t0))
	e := newEvent(def, "Atelier", t0.Add(48*time.Hour))
	e.Organiser, e.Place, e.Link, e.Capacity, e.Description = "DITP", "Lyon", "https://webconf.example/a", 2, "Programme"
	check(t, e.Normalize())
	got := must(s.CreateEvent(ctx, e))
	e.ID = got.ID
	e.Start, e.End, e.Posted, e.Updated = ts(e.Start), ts(e.End), ts(e.Posted), ts(e.Updated)
	if stored := must(s.Event(ctx, got.ID)); stored != e {
		t.Fatalf("stored event\n%+v\nwant\n%+v", stored, e)
	}
	imp := newEvent(def, "Webinaire", t0.Add(24*time.Hour))
	imp.Source, imp.SourceID = "https://cal.example/ics", "uid-1/2026-03-10T08:30:00Z"
	first := must(s.CreateEvent(ctx, imp))
	check(t, s.InTx(ctx, func(tx core.Store) error {
		_, err := tx.CreateEvent(ctx, imp)
		wantErr(t, err, core.ErrConflict)
		_, err = tx.EventBySource(ctx, imp.Source, imp.SourceID)
		return err
	}))
	first.Place, first.Updated = "Visio", t0.Add(time.Hour)
	check(t, s.UpdateEvent(ctx, first))
	if got := must(s.EventBySource(ctx, imp.Source, imp.SourceID)); got.Place != "Visio" {
		t.Fatalf("updated place = %q", got.Place)
	}
	between := must(s.EventsBetween(ctx, def, t0, t0.Add(72*time.Hour), 10))
	if len(between) != 2 || between[0].Title != "Webinaire" {
		t.Fatalf("events between = %+v", between)
	}
	if between := must(s.EventsBetween(ctx, 0, t0.Add(25*time.Hour+time.Minute), t0.Add(72*time.Hour), 10)); len(between) != 1 {
		t.Fatalf("events after the webinar = %d, want 1", len(between))
	}
	if since := must(s.EventsPostedSince(ctx, t0, t0.Add(47*time.Hour))); len(since) != 1 || since[0].Title != "Atelier" {
		t.Fatalf("events posted since, not over = %+v", since)
	}

	alice, bob := person(t, s, "alice"), person(t, s, "bob")
	check(t, s.SetRSVP(ctx, core.RSVP{Event: got.ID, Person: alice.ID, Status: core.RSVPGoing, At: t0}))
	check(t, s.SetRSVP(ctx, core.RSVP{Event: got.ID, Person: bob.ID, Status: core.RSVPGoing, At: t0.Add(time.Second)}))
	check(t, s.SetRSVP(ctx, core.RSVP{Event: got.ID, Person: alice.ID, Status: core.RSVPMaybe, At: t0.Add(2 * time.Second)}))
	rsvps := must(s.RSVPs(ctx, got.ID))
	if c := core.CountRSVPs(rsvps); len(rsvps) != 2 || c.Going != 1 || c.Maybe != 1 || rsvps[0].Person != bob.ID {
		t.Fatalf("rsvps = %+v", rsvps)
	}
}

func testSubscriptions(t *testing.T, s core.Store) {
	ctx := context.Background()
	alice, bob := person(t, s, "alice"), person(t, s, "bob")
	f := must(core.ParseFilter(`lieu:"Saint Denis" informatique`))
	a := must(s.CreateSubscription(ctx, core.Subscription{Person: alice.ID, Kind: core.KindOffer, Filter: f, Frequency: core.Daily, Created: t0}))
	must(s.CreateSubscription(ctx, core.Subscription{Person: alice.ID, Frequency: core.Immediately, Created: t0}))
	must(s.CreateSubscription(ctx, core.Subscription{Person: bob.ID, Kind: core.KindEvent, Frequency: core.Weekly, Created: t0}))
	_, err := s.CreateSubscription(ctx, core.Subscription{Person: bob.ID, Frequency: "hourly", Created: t0})
	wantErr(t, err, core.ErrInvalid)

	mine := must(s.Subscriptions(ctx, alice.ID))
	if len(mine) != 2 || mine[0].ID != a.ID || mine[0].Filter.String() != f.String() || mine[0].Kind != core.KindOffer {
		t.Fatalf("alice's subscriptions = %+v", mine)
	}
	if all := must(s.Subscriptions(ctx, 0, core.Daily, core.Immediately)); len(all) != 2 {
		t.Fatalf("daily and immediate = %d, want 2", len(all))
	}
	wantErr(t, s.DeleteSubscription(ctx, bob.ID, a.ID), core.ErrNotFound)
	check(t, s.DeleteSubscription(ctx, alice.ID, a.ID))
	if mine := must(s.Subscriptions(ctx, alice.ID)); len(mine) != 1 {
		t.Fatalf("after delete: %d", len(mine))
	}

	n := core.Notice{Person: alice.ID, Kind: core.KindOffer, Item: 7, At: t0}
	if !must(s.AddNotice(ctx, n)) {
		t.Fatal("first notice not added")
	}
	n.Digest = true
	if must(s.AddNotice(ctx, n)) {
		t.Fatal("the same item noticed twice")
	}
	must(s.AddNotice(ctx, core.Notice{Person: alice.ID, Kind: core.KindEvent, Item: 7, At: t0.Add(time.Hour)}))
	must(s.AddNotice(ctx, core.Notice{Person: alice.ID, Kind: core.KindOffer, Item: 8, Digest: true, At: t0.Add(time.Hour)}))
	if c := must(s.CountNotices(ctx, alice.ID, t0)); c != 2 {
		t.Fatalf("immediate notices = %d, want 2", c)
	}
	if c := must(s.CountNotices(ctx, alice.ID, t0.Add(time.Minute))); c != 1 {
		t.Fatalf("immediate notices since later = %d, want 1", c)
	}

	room := core.Room{Platform: "test", ID: "#emploi"}
	check(t, s.SetRoomAnnounce(ctx, room, []core.ItemKind{core.KindOffer}, t0))
	check(t, s.SetRoomAnnounce(ctx, core.Room{Platform: "test", ID: "#agenda"}, []core.ItemKind{core.KindOffer, core.KindEvent}, t0))
	def := must(s.EnsureRoom(ctx, room, t0))
	if rooms := must(s.AnnounceRooms(ctx, def, core.KindEvent)); len(rooms) != 1 || rooms[0].ID != "#agenda" {
		t.Fatalf("event rooms = %+v", rooms)
	}
	check(t, s.SetRoomAnnounce(ctx, core.Room{Platform: "test", ID: "#agenda"}, nil, t0))
	if rooms := must(s.AnnounceRooms(ctx, def, core.KindOffer)); len(rooms) != 1 || rooms[0] != room {
		t.Fatalf("offer rooms = %+v", rooms)
	}
	if err := s.SetRoomAnnounce(ctx, core.Room{Platform: "test"}, nil, t0); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("announce in a DM: %v", err)
	}
}

// ts is how stores keep times: UTC, microseconds.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
