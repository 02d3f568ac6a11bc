package feeds

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"entraide/core"
)

// roundTrip writes events and parses them back.
func roundTrip(t *testing.T, events []core.Event) []core.Event {
	t.Helper()
	var buf bytes.Buffer
	uid := func(e core.Event) string { return e.SourceID }
	if err := WriteCalendar(&buf, "Agenda, réseau; test", events, uid); err != nil {
		t.Fatal(err)
	}
	checkLines(t, buf.String())
	back, problems, err := ParseEvents(buf.Bytes(), "https://entraide.example/cal.ics", utc("2000-01-01T00:00:00Z"), utc("2100-01-01T00:00:00Z"), importTime)
	if err != nil || len(problems) > 0 {
		t.Fatalf("parse back: %v %v\n%s", err, problems, buf.String())
	}
	return back
}

// checkLines checks the lines of a calendar: CRLF, at most 75 octets,
// valid UTF-8.
func checkLines(t *testing.T, cal string) {
	t.Helper()
	if !strings.HasSuffix(cal, "\r\n") {
		t.Error("calendar does not end with CRLF")
	}
	for _, line := range strings.Split(strings.TrimSuffix(cal, "\r\n"), "\r\n") {
		if len(line) > 75 || !utf8.ValidString(line) || strings.ContainsAny(line, "\r\n") {
			t.Errorf("bad line %q (%d octets)", line, len(line))
		}
	}
}

func sameEvent(t *testing.T, got, want core.Event) {
	t.Helper()
	if got.Title != want.Title || got.Organiser != want.Organiser || !got.Start.Equal(want.Start) || !got.End.Equal(want.End) ||
		got.TimeZone != want.TimeZone || got.Place != want.Place || got.Link != want.Link || got.Description != want.Description {
		t.Errorf("round trip changed the event:\n got %+v\nwant %+v", got, want)
	}
}

func TestWriteCalendarRoundTrip(t *testing.T) {
	events, _ := parseAgenda(t)
	back := roundTrip(t, events)
	if len(back) != len(events) {
		t.Fatalf("%d events back, want %d", len(back), len(events))
	}
	for i := range events {
		sameEvent(t, back[i], events[i])
		if back[i].SourceID != events[i].SourceID {
			t.Errorf("UID %q, want %q", back[i].SourceID, events[i].SourceID)
		}
	}
}

func TestWriteEvent(t *testing.T) {
	ev := core.Event{
		Title: "Réunion", Organiser: `Préfecture "Île-de-France"`, TimeZone: "America/Cayenne",
		Start: utc("2026-07-01T12:00:00Z"), End: utc("2026-07-01T13:00:00Z"), Posted: importTime,
	}
	var buf bytes.Buffer
	if err := WriteEvent(&buf, ev, "42@entraide.example"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"PRODID:-//entraide//FR\r\n", "UID:42@entraide.example\r\n", "DTSTAMP:20260310T110000Z\r\n",
		"DTSTART;TZID=America/Cayenne:20260701T090000\r\n", "DTEND;TZID=America/Cayenne:20260701T100000\r\n",
		"BEGIN:VTIMEZONE\r\nTZID:America/Cayenne\r\n", "TZOFFSETTO:-0300\r\n",
		`ORGANIZER;CN="Préfecture ^'Île-de-France^'":mailto:noreply@entraide.invalid` + "\r\n",
	} {
		if unfolded := strings.ReplaceAll(buf.String(), "\r\n ", ""); !strings.Contains(unfolded, want) {
			t.Errorf("no %q in\n%s", want, buf.String())
		}
	}
	ev.SourceID = "42@entraide.example"
	sameEvent(t, roundTrip(t, []core.Event{ev})[0], ev)
}

// Text full of what iCalendar escapes, folds or may get wrong comes back
// the same.
func TestWriteCalendarTrickyText(t *testing.T) {
	words := []string{
		"a,b", "x;y", `C:\dossier\`, `\n`, `\\`, "\n", "\n\n", "é", "Île-de-France", "œuvre", "café", "日本",
		"🙂", ":", `"cité"`, "'", "^", "^'", "&amp;", "<", ">", "=", "mailto:x@y", "  ", "\t",
		strings.Repeat("é", 40), strings.Repeat("x", 80), "MAILTO:", "END:VEVENT", "BEGIN:VCALENDAR",
	}
	zones := []string{"UTC", "Europe/Paris", "America/Cayenne", "Pacific/Noumea", "Indian/Reunion"}
	r := rand.New(rand.NewPCG(1, 2))
	text := func(n int) string {
		var b strings.Builder
		for range r.IntN(n) + 1 {
			b.WriteString(words[r.IntN(len(words))])
			if r.IntN(3) == 0 {
				b.WriteByte(' ')
			}
		}
		return b.String()
	}
	var events []core.Event
	for i := range 200 {
		start := utc("2026-01-01T00:00:00Z").Add(time.Duration(r.IntN(365*24*60)) * time.Minute)
		ev := core.Event{
			SourceID:    text(3) + string(rune('a'+i%26)) + strings.Repeat("!", i),
			Title:       text(6),
			Organiser:   text(4),
			Place:       text(4),
			Description: text(60),
			Link:        "https://exemple.fr/évènement?a=1&b=" + strings.Repeat("x", r.IntN(120)),
			TimeZone:    zones[r.IntN(len(zones))],
			Start:       start,
			End:         start.Add(time.Duration(r.IntN(72*60)) * time.Minute),
			Posted:      importTime,
		}
		if err := ev.Normalize(); err != nil {
			continue // too long for core
		}
		if ev.Title == "" {
			continue
		}
		events = append(events, ev)
	}
	back := roundTrip(t, events)
	if len(back) != len(events) {
		t.Fatalf("%d events back, want %d", len(back), len(events))
	}
	byID := map[string]core.Event{}
	for _, e := range back {
		byID[e.SourceID] = e
	}
	for _, want := range events {
		got, ok := byID[strings.TrimSpace(want.SourceID)]
		if !ok {
			t.Errorf("UID %q lost", want.SourceID)
			continue
		}
		sameEvent(t, got, want)
	}
}

func TestWriteCalendarDropsControlCharacters(t *testing.T) {
	ev := core.Event{SourceID: "c", Title: "Bell\x07 and\x00 nul", Organiser: "Org\x01", Description: "a\x1bb\r\nc",
		Start: importTime, End: importTime.Add(time.Hour), TimeZone: "UTC", Posted: importTime}
	back := roundTrip(t, []core.Event{ev})
	if back[0].Title != "Bell and nul" || back[0].Organiser != "Org" || back[0].Description != "ab\nc" {
		t.Errorf("got %q %q %q", back[0].Title, back[0].Organiser, back[0].Description)
	}
}
