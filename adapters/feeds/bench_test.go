package feeds_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"entraide/adapters/feeds"
	"entraide/core"
)

// BenchmarkParseOffers parses the RSS test feed (5 entries, HTML
// descriptions): the cost of one poll of a changed feed, before storage.
func BenchmarkParseOffers(b *testing.B) {
	body, err := os.ReadFile("testdata/offres.rss")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := feeds.ParseOffers(body, "https://example.org/rss", now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseEvents parses the test calendar, recurring events expanded
// over 180 days.
func BenchmarkParseEvents(b *testing.B) {
	body, err := os.ReadFile("testdata/agenda.ics")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := feeds.ParseEvents(body, "https://example.org/ics", now, now.AddDate(0, 6, 0), now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteCalendar writes a calendar of 500 events, what
// /calendar.ics serves for a busy community.
func BenchmarkWriteCalendar(b *testing.B) {
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	events := make([]core.Event, 500)
	for i := range events {
		events[i] = core.Event{ID: core.EventID(i + 1), Title: "Atelier n°" + string(rune('A'+i%26)), Organiser: "DITP",
			Start: start.Add(time.Duration(i) * 24 * time.Hour), End: start.Add(time.Duration(i)*24*time.Hour + 2*time.Hour),
			TimeZone: "Europe/Paris", Place: "Lyon, salle 2", Description: "Programme ; inscriptions, visio.", Posted: start}
	}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := feeds.WriteCalendar(&buf, "entraide", events, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
