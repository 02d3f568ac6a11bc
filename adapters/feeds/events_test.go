package feeds

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"entraide/core"
)

const agendaURL = "https://agenda.numerique.example/reseau.ics"

// The period the tests import events for: March and April 2026, across the
// change to summer time in Paris on 29 March.
var (
	periodFrom = utc("2026-03-01T00:00:00Z")
	periodTo   = utc("2026-05-01T00:00:00Z")
)

func parseAgenda(t *testing.T) ([]core.Event, []EntryError) {
	t.Helper()
	events, problems, err := ParseEvents(readTestdata(t, "agenda.ics"), agendaURL, periodFrom, periodTo, importTime)
	if err != nil {
		t.Fatal(err)
	}
	return events, problems
}

func findEvent(events []core.Event, sourceID string) (core.Event, bool) {
	for _, e := range events {
		if e.SourceID == sourceID {
			return e, true
		}
	}
	return core.Event{}, false
}

func TestParseEvents(t *testing.T) {
	events, problems := parseAgenda(t)
	const cafe = "7kq3m0c2a5v1t9cafe@google.com"
	cafeDescription := "Un café en visio pour échanger entre agents, chaque mardi midi.\nOrdre du jour libre; apportez vos questions !"
	want := []core.Event{{
		SourceID: cafe + "/2026-03-24T11:30:00Z", Title: "Café numérique",
		Organiser: "Réseau des agents publics du numérique",
		Start:     utc("2026-03-24T12:30:00+01:00"), End: utc("2026-03-24T13:30:00+01:00"), TimeZone: "Europe/Paris",
		Place: "Visio (lien dans la description)", Link: "https://visio.numerique.example/cafe-numerique",
		Description: cafeDescription,
		Posted:      utc("2026-01-20T08:30:00Z"), Updated: utc("2026-03-01T09:00:00Z"),
	}, {
		// After the change to summer time: still 12:30 in Paris, an hour
		// earlier in UTC.
		SourceID: cafe + "/2026-03-31T10:30:00Z", Title: "Café numérique",
		Organiser: "Réseau des agents publics du numérique",
		Start:     utc("2026-03-31T12:30:00+02:00"), End: utc("2026-03-31T13:30:00+02:00"), TimeZone: "Europe/Paris",
		Place: "Visio (lien dans la description)", Link: "https://visio.numerique.example/cafe-numerique",
		Description: cafeDescription,
		Posted:      utc("2026-01-20T08:30:00Z"), Updated: utc("2026-03-01T09:00:00Z"),
	}, {
		// The occurrence of Tuesday 7 April, moved to Wednesday: it keeps
		// the id of the occurrence it replaces.
		SourceID: cafe + "/2026-04-07T10:30:00Z", Title: "Café numérique (exceptionnellement mercredi)",
		Organiser: "Réseau des agents publics du numérique",
		Start:     utc("2026-04-08T14:00:00+02:00"), End: utc("2026-04-08T15:00:00+02:00"), TimeZone: "Europe/Paris",
		Place: "Salle Condorcet, 20 avenue de Ségur, Paris", Link: "https://visio.numerique.example/cafe-numerique",
		Description: "Déplacé au mercredi à cause du séminaire.",
		Posted:      utc("2026-01-20T08:30:00Z"), Updated: utc("2026-03-02T16:10:00Z"),
	}, {
		SourceID: "webinaire-rh-outre-mer-2026@agenda.guyane.example", Title: "Webinaire RH outre-mer : mobilités et concours",
		Organiser: "Préfecture de la Guyane, SGAR",
		Start:     utc("2026-03-12T09:00:00-03:00"), End: utc("2026-03-12T10:30:00-03:00"), TimeZone: "America/Cayenne",
		Place: "En ligne", Link: "https://agenda.guyane.example/evenements/webinaire-rh-2026",
		Description: "Présentation des concours 2026 et des mobilités entre la Guyane, les Antilles et l'Hexagone.",
		Posted:      utc("2026-03-05T10:15:00Z"),
	}, {
		// In UTC, shown in the calendar's zone.
		SourceID: "atelier-rgaa-20260318@numerique.example", Title: "Atelier accessibilité : auditer un site avec le RGAA 4.1",
		Organiser: "accessibilite@numerique.example",
		Start:     utc("2026-03-18T14:00:00Z"), End: utc("2026-03-18T15:30:00Z"), TimeZone: "Europe/Paris",
		Place:  "DINUM, 20 avenue de Ségur, 75007 Paris",
		Posted: utc("2026-03-05T10:15:00Z"),
	}, {
		SourceID: "journee-innovation-publique-2026@numerique.example", Title: "Journée nationale de l'innovation publique",
		Start: utc("2026-04-02T00:00:00+02:00"), End: utc("2026-04-03T00:00:00+02:00"), TimeZone: "Europe/Paris",
		Posted: utc("2026-03-05T10:15:00Z"),
	}, {
		// A floating time, in X-WR-TIMEZONE; a DURATION; HTML in the
		// description.
		SourceID: "atelier-ia-generative@numerique.example", Title: "Atelier IA générative et service public",
		Start: utc("2026-03-26T09:30:00+01:00"), End: utc("2026-03-26T12:00:00+01:00"), TimeZone: "Europe/Paris",
		Place:       "Campus de la transformation publique, Paris",
		Description: "Atelier pratique : usages responsables de l'IA.\n\nInscription obligatoire.",
		Posted:      utc("2026-03-05T10:15:00Z"),
	}}
	for _, w := range want {
		w.Source = agendaURL
		got, ok := findEvent(events, w.SourceID)
		if !ok {
			t.Errorf("no event %s", w.SourceID)
			continue
		}
		if !eventEqual(got, w) {
			t.Errorf("event %s:\n got %+v\nwant %+v", w.SourceID, got, w)
		}
	}

	// The weekly event: 4 Tuesdays of March but the 17th (EXDATE), 4 in
	// April with the 7th moved to the 8th.
	var starts []string
	for _, e := range events {
		if strings.HasPrefix(e.SourceID, cafe+"/") {
			starts = append(starts, e.Start.In(e.Location()).Format("01-02 15:04"))
		}
	}
	wantStarts := "[03-03 12:30 03-10 12:30 03-24 12:30 03-31 12:30 04-08 14:00 04-14 12:30 04-21 12:30 04-28 12:30]"
	if fmt.Sprint(starts) != wantStarts {
		t.Errorf("café starts %v, want %s", starts, wantStarts)
	}
	// Cancelled, past and malformed events are not imported.
	if len(events) != len(starts)+4 {
		t.Errorf("%d events, want %d", len(events), len(starts)+4)
	}
	for _, e := range events {
		if strings.Contains(e.Title, "annulé") || strings.Contains(e.Title, "passée") {
			t.Errorf("imported %q", e.Title)
		}
	}
	if len(problems) != 1 || problems[0].ID != "formation-marches-publics@numerique.example" || !errors.Is(problems[0], errNoStart) {
		t.Errorf("problems %v, want the event without DTSTART", problems)
	}
}

func eventEqual(a, b core.Event) bool {
	times := a.Start.Equal(b.Start) && a.End.Equal(b.End) && a.Posted.Equal(b.Posted) && a.Updated.Equal(b.Updated)
	a.Start, a.End, a.Posted, a.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	b.Start, b.End, b.Posted, b.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return times && a == b
}

func TestParseEventsIdempotent(t *testing.T) {
	first, _ := parseAgenda(t)
	again, _ := parseAgenda(t)
	if eventIDs(first) != eventIDs(again) {
		t.Errorf("ids %s, then %s", eventIDs(first), eventIDs(again))
	}
	// A later import, over a later period, gives the same id to the same
	// occurrence.
	later, _, err := ParseEvents(readTestdata(t, "agenda.ics"), agendaURL, utc("2026-04-01T00:00:00Z"), utc("2026-06-01T00:00:00Z"), importTime.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := findEvent(later, "7kq3m0c2a5v1t9cafe@google.com/2026-04-14T10:30:00Z"); !ok {
		t.Errorf("later import lacks the occurrence of 14 April: %s", eventIDs(later))
	}
}

func eventIDs(events []core.Event) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString(e.SourceID + "\n")
	}
	return b.String()
}

// calendar wraps VEVENT lines in a calendar.
func calendar(lines ...string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//FR\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCALENDAR\r\n")
}

func TestParseEventsRecurrence(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string // starts in UTC
	}{{
		name: "daily with count, cancelled occurrence",
		lines: []string{
			"BEGIN:VEVENT", "UID:d", "SUMMARY:Permanence", "DTSTART;TZID=Europe/Paris:20260327T090000", "DURATION:PT1H",
			"RRULE:FREQ=DAILY;COUNT=4", "END:VEVENT",
			"BEGIN:VEVENT", "UID:d", "RECURRENCE-ID;TZID=Europe/Paris:20260328T090000", "DTSTART;TZID=Europe/Paris:20260328T090000",
			"SUMMARY:Permanence", "STATUS:CANCELLED", "END:VEVENT",
		},
		want: "[03-27T08:00 03-29T07:00 03-30T07:00]",
	}, {
		name: "rdate and exdate in UTC",
		lines: []string{
			"BEGIN:VEVENT", "UID:r", "SUMMARY:Comité", "DTSTART:20260302T100000Z", "DTEND:20260302T110000Z",
			"RDATE:20260316T100000Z,20260401T090000Z", "EXDATE:20260316T100000Z", "END:VEVENT",
		},
		want: "[03-02T10:00 04-01T09:00]",
	}, {
		name: "monthly all-day, floating in UTC",
		lines: []string{
			"BEGIN:VEVENT", "UID:m", "SUMMARY:Bilan", "DTSTART;VALUE=DATE:20260105", "RRULE:FREQ=MONTHLY;BYMONTHDAY=5", "END:VEVENT",
		},
		want: "[03-05T00:00 04-05T00:00]",
	}, {
		name: "an occurrence moved into the period from after it",
		lines: []string{
			"BEGIN:VEVENT", "UID:w", "SUMMARY:Point", "DTSTART:20260420T100000Z", "RRULE:FREQ=WEEKLY;COUNT=3", "END:VEVENT",
			"BEGIN:VEVENT", "UID:w", "RECURRENCE-ID:20260504T100000Z", "DTSTART:20260430T100000Z", "SUMMARY:Point avancé", "END:VEVENT",
		},
		want: "[04-20T10:00 04-27T10:00 04-30T10:00]",
	}, {
		name: "an occurrence without its event",
		lines: []string{
			"BEGIN:VEVENT", "UID:o", "RECURRENCE-ID:20260310T100000Z", "DTSTART:20260311T100000Z", "SUMMARY:Invitation", "END:VEVENT",
		},
		want: "[03-11T10:00]",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, problems, err := ParseEvents(calendar(tt.lines...), agendaURL, periodFrom, periodTo, importTime)
			if err != nil || len(problems) > 0 {
				t.Fatalf("err %v, problems %v", err, problems)
			}
			var starts []string
			for _, e := range events {
				starts = append(starts, e.Start.UTC().Format("01-02T15:04"))
				if e.TimeZone == "" {
					t.Errorf("%s: no time zone", e.SourceID)
				}
			}
			if fmt.Sprint(starts) != tt.want {
				t.Errorf("starts %v, want %s", starts, tt.want)
			}
		})
	}
}

func TestParseEventsLimits(t *testing.T) {
	daily := calendar("BEGIN:VEVENT", "UID:x", "SUMMARY:Tous les jours", "DTSTART:20200101T100000Z", "RRULE:FREQ=DAILY", "END:VEVENT")
	events, problems, err := ParseEvents(daily, agendaURL, utc("2026-01-01T00:00:00Z"), utc("2029-01-01T00:00:00Z"), importTime)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != MaxOccurrences || len(problems) != 1 {
		t.Errorf("%d events, problems %v; want %d and one problem", len(events), problems, MaxOccurrences)
	}

	for _, rule := range []string{"FREQ=MINUTELY", "FREQ=SECONDLY;INTERVAL=1", "FREQ=WEEKLY;INTERVAL=100000", "FREQ=DAILY;BYHOUR=99", "BYDAY=MO"} {
		cal := calendar("BEGIN:VEVENT", "UID:x", "SUMMARY:S", "DTSTART:20260301T100000Z", "RRULE:"+rule, "END:VEVENT")
		events, problems, err := ParseEvents(cal, agendaURL, periodFrom, periodTo, importTime)
		if err != nil || len(events) != 0 || len(problems) != 1 {
			t.Errorf("RRULE %s: %d events, problems %v, err %v; want one problem", rule, len(events), problems, err)
		}
	}

	if _, _, err := ParseEvents([]byte(strings.Repeat("X", MaxDocumentSize+1)), agendaURL, periodFrom, periodTo, importTime); err == nil {
		t.Error("no error for a document too large")
	}
	for _, bad := range []string{"", "<html></html>", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART\r\n"} {
		if _, _, err := ParseEvents([]byte(bad), agendaURL, periodFrom, periodTo, importTime); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

func TestParseEventsZones(t *testing.T) {
	tests := []struct {
		name, dtstart, xwr string
		wantStart          time.Time
		wantZone           string
	}{
		{"floating without calendar zone", "DTSTART:20260310T100000", "", utc("2026-03-10T10:00:00Z"), "UTC"},
		{"utc without calendar zone", "DTSTART:20260310T100000Z", "", utc("2026-03-10T10:00:00Z"), "UTC"},
		{"windows zone", `DTSTART;TZID="Romance Standard Time":20260310T100000`, "", utc("2026-03-10T09:00:00Z"), "Europe/Paris"},
		{"mozilla zone", "DTSTART;TZID=/mozilla.org/20070129_1/America/Cayenne:20260310T100000", "", utc("2026-03-10T13:00:00Z"), "America/Cayenne"},
		{"unknown zone", "DTSTART;TZID=Heure de Paris:20260310T100000", "X-WR-TIMEZONE:Indian/Reunion", utc("2026-03-10T06:00:00Z"), "Indian/Reunion"},
		{"Local is not a zone", "DTSTART;TZID=Local:20260310T100000", "", utc("2026-03-10T10:00:00Z"), "UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := []string{"BEGIN:VEVENT", "UID:z", "SUMMARY:Z", tt.dtstart, "END:VEVENT"}
			if tt.xwr != "" {
				lines = append([]string{tt.xwr}, lines...)
			}
			events, problems, err := ParseEvents(calendar(lines...), agendaURL, periodFrom, periodTo, importTime)
			if err != nil || len(problems) > 0 || len(events) != 1 {
				t.Fatalf("events %v, problems %v, err %v", events, problems, err)
			}
			e := events[0]
			if !e.Start.Equal(tt.wantStart) || e.TimeZone != tt.wantZone || !e.End.Equal(e.Start.Add(time.Hour)) {
				t.Errorf("start %v in %s, end %v; want %v in %s, an hour long", e.Start, e.TimeZone, e.End, tt.wantStart, tt.wantZone)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in    string
		days  int
		exact time.Duration
	}{
		{"PT1H30M", 0, 90 * time.Minute},
		{"P1D", 1, 0},
		{"P2W", 14, 0},
		{"P1DT2H", 1, 2 * time.Hour},
		{"-PT15M", 0, -15 * time.Minute},
		{"PT45S", 0, 45 * time.Second},
	}
	for _, tt := range tests {
		days, exact, err := parseDuration(tt.in)
		if err != nil || days != tt.days || exact != tt.exact {
			t.Errorf("parseDuration(%q) = %d, %v, %v; want %d, %v", tt.in, days, exact, err, tt.days, tt.exact)
		}
	}
	for _, bad := range []string{"", "P", "PT", "1H", "PT1D", "P1H", "PT1H1", "P99999999D", "PTT1H"} {
		if _, _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q): no error", bad)
		}
	}
}
