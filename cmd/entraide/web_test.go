package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"entraide/adapters/feeds"
	"entraide/adapters/metrics"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/core"
)

// TestCalendarServed serves the events posted in chat as a calendar and as
// one .ics per event, which parse back to the same events.
func TestCalendarServed(t *testing.T) {
	ctx := context.Background()
	store := sqlstoretest.SQLite(t)
	clock := core.NewManualClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	net, err := core.NewNetwork(store, nil, clock, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	posted, err := net.PostEvent(ctx, core.Identity{Platform: "test", User: "alice"}, "alice", core.Room{}, core.Event{
		Title: "Atelier ; achats, responsables", Organiser: "DITP", Place: "Lyon, salle 2",
		Start: time.Date(2026, 12, 3, 14, 0, 0, 0, paris), End: time.Date(2026, 12, 3, 16, 0, 0, 0, paris),
		TimeZone: "Europe/Paris", Description: "Ligne 1\nLigne 2 \\ fin", Link: "https://webconf.example.gouv.fr/a",
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(webHandler(net, defaultConfig(), slog.New(slog.DiscardHandler)))
	defer srv.Close()
	get := func(path string) (int, string, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	for _, path := range []string{"/calendar.ics", "/events/1.ics"} {
		code, ctype, body := get(path)
		if code != 200 || !strings.HasPrefix(ctype, "text/calendar") {
			t.Fatalf("%s: %d %s", path, code, ctype)
		}
		events, problems, err := feeds.ParseEvents([]byte(body), "x", clock.Now(), clock.Now().AddDate(1, 0, 0), clock.Now())
		if err != nil || len(problems) != 0 || len(events) != 1 {
			t.Fatalf("%s: %d events, %v, %v\n%s", path, len(events), problems, err, body)
		}
		e := events[0]
		if e.Title != posted.Title || e.Place != posted.Place || e.Organiser != posted.Organiser || e.Description != posted.Description ||
			!e.Start.Equal(posted.Start) || !e.End.Equal(posted.End) || e.TimeZone != "Europe/Paris" || e.Link != posted.Link {
			t.Fatalf("%s: read back %+v, want %+v", path, e, posted)
		}
	}
	for _, path := range []string{"/events/2.ics", "/events/x.ics", "/events/1", "/nothing"} {
		if code, _, _ := get(path); code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, code)
		}
	}
	if code, _, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
}

// TestAnimatorsPageMounted serves the animators' page beside the calendars,
// with a session key kept in the database and the same for every process.
func TestAnimatorsPageMounted(t *testing.T) {
	store := sqlstoretest.SQLite(t)
	net, err := core.NewNetwork(store, nil, nil, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	k1, err := storedSessionKey(store)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := storedSessionKey(store)
	if err != nil || string(k1) != string(k2) || len(k1) < 32 {
		t.Fatalf("session keys differ or are short: %x %x %v", k1, k2, err)
	}
	srv := httptest.NewServer(webHandler(net, defaultConfig(), slog.New(slog.DiscardHandler)))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/animate", "/login"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNotFound {
			t.Errorf("%s: status %d", path, resp.StatusCode)
		}
		if resp.StatusCode != http.StatusSeeOther && !strings.Contains(string(body), "!web") {
			t.Errorf("%s: the page does not say to ask the bot with !web:\n%s", path, body)
		}
	}
}

// TestReadyAndMetrics serves /readyz (the database answers) and the
// metrics of a pipeline that handled a question.
func TestReadyAndMetrics(t *testing.T) {
	store := sqlstoretest.SQLite(t)
	net, err := core.NewNetwork(store, nil, nil, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	obs, err := metrics.New(metrics.Config{Version: "test", Platforms: []core.Platform{"console"},
		Backlog: store.Backlog, Questions: store.QuestionsByState})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Ask(context.Background(), core.Identity{Platform: "console", User: "alice"}, "alice", "Une question ?",
		core.MessageRef{Platform: "console", Room: "#general", Message: "1", Thread: "1"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serverHandler(net, defaultConfig(), store, obs.Handler(), slog.New(slog.DiscardHandler)))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("readyz: %d %q", code, body)
	}
	code, body := get("/metrics")
	if code != 200 || !strings.Contains(body, `entraide_questions{state="open"} 1`) || !strings.Contains(body, `entraide_backlog{queue="events"} 0`) {
		t.Errorf("metrics: %d\n%s", code, body)
	}
	store.Close()
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database closed: %d", code)
	}
}
