package bots_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

func TestParseOffer(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	o, err := bots.ParseOffer("Chargé·e de mission achats\nemployeur: DINUM\nLieu : Paris\ncatégorie: A\ncontrat: CDD 3 ans\n"+
		"télétravail: 2 jours\nclôture: 31/12/2026\nlien: https://choisirleservicepublic.gouv.fr/offre/1\n"+
		"description: Piloter la stratégie achats.\nSuivre les marchés : délais, clauses.\n\nDeux paragraphes.", paris)
	if err != nil {
		t.Fatal(err)
	}
	want := core.Offer{
		Title: "Chargé·e de mission achats", Employer: "DINUM", Location: "Paris", Category: "A", Contract: "CDD 3 ans",
		Remote: core.RemotePartial, Link: "https://choisirleservicepublic.gouv.fr/offre/1",
		Description: "Piloter la stratégie achats.\nSuivre les marchés : délais, clauses.\n\nDeux paragraphes.",
		Closes:      time.Date(2027, 1, 1, 0, 0, 0, 0, paris).UTC(),
	}
	if o != want {
		t.Fatalf("offer\n%+v\nwant\n%+v", o, want)
	}
	// One line, as Slack and Discord commands are.
	o, err = bots.ParseOffer("Juriste | employer: Préfecture | closes: 2026-12-31 17:00 | remote: no", time.UTC)
	if err != nil || o.Title != "Juriste" || o.Employer != "Préfecture" || o.Remote != core.RemoteNone ||
		!o.Closes.Equal(time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC)) {
		t.Fatalf("one-line offer: %+v, %v", o, err)
	}
	for text, field := range map[string]string{
		"Titre\nsalaire: 3000":   "salaire",
		"Titre\nclôture: demain": "clôture",
	} {
		_, err := bots.ParseOffer(text, time.UTC)
		var pe *bots.PostError
		if !errors.As(err, &pe) || pe.Field != field {
			t.Errorf("%q: error %v, want one on %s", text, err, field)
		}
	}
}

func TestParseEvent(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	e, err := bots.ParseEvent("Atelier achats responsables | début: 03/12/2026 14h | fin: 16h30 | lieu: Lyon | visio: https://webconf.numerique.gouv.fr/abc | places: 30 | organisateur: DITP", paris)
	if err != nil {
		t.Fatal(err)
	}
	if e.Title != "Atelier achats responsables" || e.Place != "Lyon" || e.Capacity != 30 || e.Organiser != "DITP" ||
		e.TimeZone != "Europe/Paris" || e.Link != "https://webconf.numerique.gouv.fr/abc" ||
		!e.Start.Equal(time.Date(2026, 12, 3, 14, 0, 0, 0, paris)) || !e.End.Equal(time.Date(2026, 12, 3, 16, 30, 0, 0, paris)) {
		t.Fatalf("event %+v", e)
	}
	e, err = bots.ParseEvent("Forum\nstart: 2026-12-03 09:00\nduration: 1h30\ntimezone: America/Cayenne", paris)
	cayenne, _ := time.LoadLocation("America/Cayenne")
	if err != nil || e.TimeZone != "America/Cayenne" || !e.Start.Equal(time.Date(2026, 12, 3, 9, 0, 0, 0, cayenne)) ||
		e.End.Sub(e.Start) != 90*time.Minute {
		t.Fatalf("event in Cayenne: %+v, %v", e, err)
	}
	e, err = bots.ParseEvent("Séminaire | date: 2026-12-03 | fin: 2026-12-04", paris)
	if err != nil || e.End.Sub(e.Start) != 48*time.Hour {
		t.Fatalf("two-day event: %+v, %v", e, err)
	}
	for text, field := range map[string]string{
		"Sans date | lieu: Lyon":                     "start",
		"X | début: 2026-02-30 10:00":                "début",
		"X | début: 2026-12-03 10:00 | places: -1":   "places",
		"X | début: 2026-12-03 10:00 | fuseau: Mars": "fuseau",
		"X | début: 2026-12-03 10:00 | durée: long":  "durée",
	} {
		_, err := bots.ParseEvent(text, paris)
		var pe *bots.PostError
		if !errors.As(err, &pe) || pe.Field != field {
			t.Errorf("%q: error %v, want one on %s", text, err, field)
		}
	}
}

func TestParseWhen(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	for in, want := range map[string]time.Time{
		"2026-12-03":           time.Date(2026, 12, 3, 0, 0, 0, 0, paris),
		"2026-12-03 14:00":     time.Date(2026, 12, 3, 14, 0, 0, 0, paris),
		"2026-12-03T14h30":     time.Date(2026, 12, 3, 14, 30, 0, 0, paris),
		"3/12/2026 à 9h30":     time.Date(2026, 12, 3, 9, 30, 0, 0, paris),
		"03/12/2026 14h":       time.Date(2026, 12, 3, 14, 0, 0, 0, paris),
		"2026-07-01T10:00:00Z": time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC),
	} {
		got, _, err := bots.ParseWhen(in, paris)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseWhen(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "demain", "2026-13-01", "31/02/2026", "2026-12-03 25:00", "1999-01-01"} {
		if _, _, err := bots.ParseWhen(bad, paris); err == nil {
			t.Errorf("ParseWhen(%q) accepted", bad)
		}
	}
}

func FuzzParsePost(f *testing.F) {
	for _, s := range []string{
		"Titre | employeur: X | clôture: 2026-12-31", "Atelier | début: 03/12/2026 14h | fin: 16h | places: 3",
		"a\ndescription: b\nc: d\n", "x | fuseau: Europe/Paris | début: 2026-01-01", "| | :", "t\nlien: javascript:x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if o, err := bots.ParseOffer(s, time.UTC); err == nil {
			o.Posted = now
			if o.Normalize() == nil && o.Link != "" && !strings.HasPrefix(o.Link, "http") {
				t.Fatalf("link %q accepted", o.Link)
			}
		}
		if e, err := bots.ParseEvent(s, time.UTC); err == nil {
			e.Posted = now
			if e.Normalize() == nil && e.End.Before(e.Start) {
				t.Fatalf("event ends before it starts: %+v", e)
			}
		}
	})
}

// step is one thing that happens in a bulletin scenario: someone writes,
// or time passes.
type step struct {
	user, room, text string
	wait             time.Duration
}

// bulletinScenario: a room asks for offer announcements, people subscribe,
// an offer and events are posted, answered and saved; time passes over the
// reminders and a weekly digest. t0 is Monday 2 November 2026, 9:00 UTC.
var bulletinScenario = []step{
	{user: "bob", room: "#emploi", text: "!annonces offres"},
	{user: "carol", text: "!abonner offres immédiat lieu:lyon"},
	{user: "dave", text: "!abonner evenements hebdo"},
	{user: "alice", room: "#general", text: "!offre Développeur·se Go | employeur: DINUM | lieu: Lyon | clôture: 2026-11-10"},
	{user: "erin", text: "!garder {offer}"},
	{user: "alice", room: "#general", text: "!evenement Atelier | début: 2026-11-05 14:00 | fin: 16:00 | lieu: Lyon | places: 1"},
	{user: "bob", text: "!rsvp {event} oui"},
	{user: "frank", text: "!rsvp {event} oui"},
	{user: "alice", room: "#general", text: "!evenement Forum des métiers | début: 2026-11-20 09:00 | fin: 17:00 | lieu: Paris"},
	{wait: 49 * time.Hour},     // Wednesday 4, 10:00: the workshop's reminder (Wednesday 14:00) is not due
	{wait: 5 * time.Hour},      // 15:00: it was
	{wait: 112 * time.Hour},    // Monday 9, 7:00: erin's reminder (Monday 0:00) went, the digest (8:00) not yet
	{wait: 2 * time.Hour},      // 9:00: dave's weekly digest went
	{wait: 8 * 24 * time.Hour}, // a week more: nothing is sent twice
}

// playBulletin runs the bulletin scenario; see playSteps.
func playBulletin(t *testing.T, store *sqlstore.Store, sender *platformFake, fail bots.Failpoint) {
	t.Helper()
	playSteps(t, store, sender, fail, core.DefaultConfig(), bulletinScenario)
}

// playSteps runs steps in a process that crashes where fail says; a second
// process then takes over once the first one's leases ran out, the platform
// delivers again every event so far (it never got all the acks), and the
// scenario goes on with the second process. Digests are scheduled first,
// as entraide does at start.
func playSteps(t *testing.T, store *sqlstore.Store, sender *platformFake, fail bots.Failpoint, cfg core.Config, steps []step) {
	t.Helper()
	ctx := context.Background()
	clock := core.NewManualClock(t0)
	net, err := core.NewNetwork(store, nil, clock, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := net.ScheduleDigests(ctx); err != nil {
		t.Fatal(err)
	}
	if err := net.ScheduleCommunityDigests(ctx); err != nil {
		t.Fatal(err)
	}
	tune := func(owner string) func(*bots.PipelineConfig) {
		return func(c *bots.PipelineConfig) { c.Owner, c.Batch = owner, 2 }
	}
	p := buildPipeline(t, store, clock, cfg, sender, fail, tune("first"))
	var delivered []bots.Event
	restarted := false
	for i, s := range steps {
		var err error
		if s.wait > 0 {
			clock.Advance(s.wait)
		} else {
			ev := event(i+1, s.user, s.room, withIDs(t, store, clock.Now(), s.text))
			delivered = append(delivered, ev)
			err = p.Deliver(ctx, ev)
		}
		if err == nil {
			err = p.Drain(ctx)
		}
		if err != nil {
			if restarted {
				t.Fatalf("step %d after restart: %v", i, err)
			}
			restarted = true
			clock.Advance(bots.DefaultPipelineConfig().Lease + time.Second)
			p = buildPipeline(t, store, clock, cfg, sender, nil, tune("second"))
			for _, ev := range delivered {
				if err := p.Deliver(ctx, ev); err != nil {
					t.Fatalf("redelivery of %s: %v", ev.ID, err)
				}
			}
			if err := p.Drain(ctx); err != nil {
				t.Fatalf("after restart: %v", err)
			}
		}
		clock.Advance(time.Second)
	}
}

// withIDs puts in text the id of the newest offer for {offer} and of the
// next event for {event}: PostgreSQL does not give back the ids of a
// rolled-back transaction, so after a crash the offer may be n°2.
func withIDs(t *testing.T, store *sqlstore.Store, now time.Time, text string) string {
	ctx := context.Background()
	if strings.Contains(text, "{offer}") {
		offers, err := store.OpenOffers(ctx, 0, now, 1)
		if err != nil || len(offers) != 1 {
			t.Fatalf("no offer for %q: %v", text, err)
		}
		text = strings.ReplaceAll(text, "{offer}", strconv.FormatInt(int64(offers[0].ID), 10))
	}
	if strings.Contains(text, "{event}") {
		events, err := store.EventsBetween(ctx, 0, now, now.AddDate(1, 0, 0), 1)
		if err != nil || len(events) != 1 {
			t.Fatalf("no event for %q: %v", text, err)
		}
		text = strings.ReplaceAll(text, "{event}", strconv.FormatInt(int64(events[0].ID), 10))
	}
	return text
}

// TestBulletinConversation checks what each person sees, on both backends.
func TestBulletinConversation(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			sender := newPlatformFake()
			playBulletin(t, open(t), sender, nil)
			got := map[string]string{}
			for _, key := range sender.order {
				line := sender.visible[key]
				where, _, _ := strings.Cut(line, ": ")
				got[where] += line + "\n"
			}
			expect := func(where string, parts ...string) {
				t.Helper()
				for _, p := range parts {
					if !strings.Contains(got[where], p) {
						t.Errorf("%s did not see %q; saw:\n%s", where, p, got[where])
					}
				}
			}
			expect("#emploi//", "Nouvelle offre d'emploi :", "Développeur·se Go", "Employeur: DINUM", "Lieu: Lyon",
				"Clôture: mardi 10 novembre 2026", "Offre 1 · !save 1")
			if strings.Contains(got["#emploi//"], "Atelier") {
				t.Error("an event was announced in a room that asked for offers only")
			}
			expect("//carol", "Nouveauté qui correspond à votre abonnement", "Développeur·se Go")
			if strings.Contains(got["//carol"], "Forum") {
				t.Error("carol heard of an event she did not subscribe to")
			}
			expect("//erin", "Offre Développeur·se Go gardée. Je vous la rappellerai avant sa clôture, le mardi 10 novembre 2026.",
				"Rappel : l'offre Développeur·se Go que vous avez gardée se clôt le mardi 10 novembre 2026.")
			expect("//bob", "C'est noté, vous venez à Atelier.", "Inscrits : 1, peut-être : 0.",
				"Rappel : Atelier a lieu jeudi 5 novembre 2026, 14:00–16:00.")
			expect("//frank", "est complet (jauge : 1).")
			if strings.Contains(got["//frank"], "Rappel") {
				t.Error("frank, who got no seat, was reminded")
			}
			expect("//dave", "Les nouveautés de la semaine pour vos abonnements :", "Événement 2 · « Forum des métiers »")
			if strings.Contains(got["//dave"], "Atelier") {
				t.Error("dave's weekly digest listed an event already over")
			}
			if n := strings.Count(got["//dave"], "Les nouveautés de la semaine"); n != 1 {
				t.Errorf("dave got %d weekly digests with something new, want 1:\n%s", n, got["//dave"])
			}
			for key, n := range sender.calls {
				if n != 1 {
					t.Errorf("%s sent %d times", key, n)
				}
			}
		})
	}
}

// TestBulletinCrashAnywhere kills the pipeline at every step of its work
// during the bulletin scenario, restarts it and delivers every event again:
// people see exactly what they see without a crash, once.
func TestBulletinCrashAnywhere(t *testing.T) {
	crashEverywhere(t, core.DefaultConfig(), bulletinScenario)
}

// crashEverywhere plays steps cleanly, then once per crash point (every
// third occurrence of each step of the pipeline's work, every seventh under
// the race detector, which keeps the run short while reaching events and
// jobs alike), on both backends: people must see what they saw without a
// crash, and nothing is sent twice but around the send itself.
func crashEverywhere(t *testing.T, cfg core.Config, steps []step) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			clean := newPlatformFake()
			playSteps(t, open(t), clean, nil, cfg, steps)
			want := clean.seen()
			crashes := 0
			stride, least := 3, 20
			if raceDetector {
				stride, least = 7, 8
			}
			for _, step := range []string{bots.StepStored, bots.StepHandled, bots.StepCommitted, bots.StepSent} {
				for n := 1; ; n += stride {
					fail, crashed := crashAt(step, n)
					sender := newPlatformFake()
					playSteps(t, open(t), sender, fail, cfg, steps)
					if !crashed() {
						break
					}
					crashes++
					if got := sender.seen(); got != want {
						t.Errorf("crash at %s#%d: people saw\n%s\nwant\n%s", step, n, got, want)
					}
					for key, calls := range sender.calls {
						if calls > 1 && step != bots.StepSent {
							t.Errorf("crash at %s#%d: %s sent %d times", step, n, key, calls)
						}
					}
				}
			}
			if crashes < least {
				t.Fatalf("only %d crash points exercised", crashes)
			}
			t.Logf("%d crash points", crashes)
		})
	}
}

// TestFormsMakeCommands fills each form as a person would: the command it
// makes reads back as the same offer or event, and an answer cannot add a
// field of its own.
func TestFormsMakeCommands(t *testing.T) {
	for _, lang := range bots.Languages {
		f, ok := bots.LookupForm("offer/" + lang)
		if !ok || len(f.Fields) > bots.MaxFormFields {
			t.Fatalf("offer/%s: %v, %d fields", lang, ok, len(f.Fields))
		}
		text := f.CommandText([]string{"Juriste | lieu: Lune", "Préfecture", " Lyon ", "31/12/2026", "Droit public.\nlien: https://example.gouv.fr/o\ncontrat: CDD"})
		name, args, _ := bots.ParseCommand("!", "!"+text)
		if name != "offer" {
			t.Fatalf("form command %q", text)
		}
		o, err := bots.ParseOffer(args, time.UTC)
		if err != nil || o.Title != "Juriste / lieu: Lune" || o.Employer != "Préfecture" || o.Location != "Lyon" ||
			o.Link != "https://example.gouv.fr/o" || o.Contract != "CDD" || o.Description != "Droit public." || o.Closes.IsZero() {
			t.Fatalf("%s offer form: %q gives %+v, %v", lang, text, o, err)
		}
		f, ok = bots.LookupForm("event/" + lang)
		if !ok || len(f.Fields) > bots.MaxFormFields {
			t.Fatalf("event/%s: %v", lang, ok)
		}
		text = f.CommandText([]string{"Atelier", "03/12/2026 14h", "16h30", "", "Programme.\nplaces: 12"})
		_, args, _ = bots.ParseCommand("!", "!"+text)
		e, err := bots.ParseEvent(args, time.UTC)
		if err != nil || e.Title != "Atelier" || e.Capacity != 12 || e.End.Sub(e.Start) != 150*time.Minute {
			t.Fatalf("%s event form: %q gives %+v, %v", lang, text, e, err)
		}
	}
	if _, ok := bots.LookupForm("offer/xx"); ok {
		t.Fatal("a form in an unknown language")
	}
}

func FuzzFormCommandText(f *testing.F) {
	// The description may hold more fields on lines of their own, by
	// design; the one-line answers must not.
	f.Add("Juriste\t|\tlien: https://evil.example", "a | b")
	f.Add("x\u00a0|\u00a0lieu: y", "z\n| clôture: 2026-01-01")
	f.Fuzz(func(t *testing.T, a, b string) {
		form, _ := bots.LookupForm("offer/fr")
		text := form.CommandText([]string{a, b})
		_, args, _ := bots.ParseCommand("!", "!"+text)
		o, err := bots.ParseOffer(args, time.UTC)
		if err == nil && (o.Link != "" || o.Location != "" || o.Closes != (time.Time{})) {
			t.Fatalf("answers %q %q added a field: %+v", a, b, o)
		}
	})
}

// TestPostingConversation: an animator keeps posting offers and events to
// the animators; a member who tries is told whom to send theirs to; only
// animators change it; opened again, anyone posts.
func TestPostingConversation(t *testing.T) {
	c := newConversation(t, sqlstoretest.SQLite(t), animationConfig())
	offer := "!offre Juriste | employeur: Préfecture | lieu: Lyon"
	c.say("anna", "#emploi", "!role animateur @bob")
	steps := []struct{ user, text, want string }{
		{"carol", "!publication", "Tout le monde peut publier des offres et des événements dans cette communauté. Pour le réserver aux animateurs : !posting animateurs"},
		{"carol", "!publication animateurs", "Cette commande est réservée aux animateurs de la communauté."},
		{"bob", "!publication personne", "Qui publie les offres et les événements de cette communauté : !posting tous ou !posting animateurs."},
		{"bob", "!publication animateurs", "Seuls les animateurs publient des offres et des événements dans cette communauté (les flux et agendas importés continuent). Pour l'ouvrir à tous : !posting tous"},
		{"carol", "!publication", "Seuls les animateurs publient"},
		{"carol", offer, "Dans cette communauté, les offres et les événements sont publiés par les animateurs : envoyez-leur le vôtre (bob, anna)."},
		{"carol", "!evenement Atelier | début: 2026-11-20 14:00", "publiés par les animateurs : envoyez-leur le vôtre (bob, anna)."},
		{"bob", offer, "Offre n°1 publiée."},
		{"bob", "!publication tous", "Tout le monde peut publier"},
		{"carol", offer, "Offre n°2 publiée."},
	}
	for _, s := range steps {
		if got := c.say(s.user, "#emploi", s.text); !strings.Contains(got, s.want) {
			t.Errorf("%s: %s\ngot  %q\nwant %q", s.user, s.text, got, s.want)
		}
	}
}
