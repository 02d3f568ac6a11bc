package feeds

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"entraide/core"
)

// ProdID is the PRODID of the calendars entraide writes.
const ProdID = "-//entraide//FR"

// noMailbox is the address written in ORGANIZER when the organiser is a
// name without address: the property needs one, and the .invalid domain
// says there is none to write to.
const noMailbox = "mailto:noreply@entraide.invalid"

// WriteCalendar writes events as an iCalendar (RFC 5545) calendar named
// name, for people to subscribe to or import. uid gives each event's UID,
// which must be unique and stable across writes (for example its id in the
// store and the host: "42@entraide.example.org"); nil uses SourceID, else
// the event's ID.
//
// Times are written in the event's TimeZone with a TZID and the matching
// VTIMEZONE, or in UTC. Text is escaped and lines folded at 75 octets;
// control characters are dropped. What ParseEvents reads back from the
// calendar is the same events: same Title, Organiser, Start and End
// instants (to the second), TimeZone, Place, Link and Description.
func WriteCalendar(w io.Writer, name string, events []core.Event, uid func(core.Event) string) error {
	if uid == nil {
		uid = defaultUID
	}
	cw := newContentWriter(w)
	cw.line("BEGIN:VCALENDAR")
	cw.line("VERSION:2.0")
	cw.line("PRODID:" + escapeText(ProdID))
	cw.line("CALSCALE:GREGORIAN")
	cw.line("METHOD:PUBLISH")
	if name != "" {
		cw.line("X-WR-CALNAME:" + escapeText(cleanLine(name)))
	}
	writeTimezones(cw, events)
	for _, ev := range events {
		writeEvent(cw, ev, uid(ev))
	}
	cw.line("END:VCALENDAR")
	if err := cw.flush(); err != nil {
		return fmt.Errorf("feeds: write calendar %q: %w", name, err)
	}
	return nil
}

// WriteEvent writes one event as a calendar of its own, the .ics file
// people add to their agenda. uid is as for WriteCalendar.
func WriteEvent(w io.Writer, ev core.Event, uid string) error {
	return WriteCalendar(w, "", []core.Event{ev}, func(core.Event) string { return uid })
}

func defaultUID(ev core.Event) string {
	if ev.SourceID != "" {
		return ev.SourceID
	}
	return fmt.Sprintf("event-%d@entraide", ev.ID)
}

func writeEvent(cw *contentWriter, ev core.Event, uid string) {
	loc, zone := zoneOf(ev)
	end := ev.End
	if end.IsZero() {
		end = ev.Start.Add(time.Hour)
	}
	stamp := ev.Updated
	if stamp.IsZero() {
		stamp = ev.Posted
	}
	cw.line("BEGIN:VEVENT")
	cw.line("UID:" + escapeText(uid))
	cw.line("DTSTAMP:" + stamp.UTC().Format("20060102T150405Z"))
	cw.line("DTSTART" + icalTime(ev.Start, loc, zone))
	cw.line("DTEND" + icalTime(end, loc, zone))
	cw.line("SUMMARY:" + escapeText(ev.Title))
	if ev.Place != "" {
		cw.line("LOCATION:" + escapeText(ev.Place))
	}
	if ev.Link != "" {
		cw.line("URL:" + cleanLine(ev.Link))
	}
	if ev.Description != "" {
		cw.line("DESCRIPTION:" + escapeText(ev.Description))
	}
	if ev.Organiser != "" {
		if isMailbox(ev.Organiser) {
			cw.line("ORGANIZER:mailto:" + ev.Organiser)
		} else {
			cw.line("ORGANIZER;CN=" + quoteParam(ev.Organiser) + ":" + noMailbox)
		}
	}
	if !ev.Updated.IsZero() {
		cw.line("LAST-MODIFIED:" + ev.Updated.UTC().Format("20060102T150405Z"))
	}
	cw.line("END:VEVENT")
}

// zoneOf is the zone an event's times are written in: nil for UTC.
func zoneOf(ev core.Event) (*time.Location, string) {
	if ev.TimeZone == "" || ev.TimeZone == "UTC" || ev.TimeZone == "Local" {
		return nil, ""
	}
	loc, err := time.LoadLocation(ev.TimeZone)
	if err != nil {
		return nil, ""
	}
	return loc, ev.TimeZone
}

// icalTime is the parameters and value of a DTSTART or DTEND.
func icalTime(t time.Time, loc *time.Location, zone string) string {
	if loc == nil {
		return ":" + t.UTC().Format("20060102T150405Z")
	}
	return ";TZID=" + zone + ":" + t.In(loc).Format("20060102T150405")
}

// writeTimezones writes a VTIMEZONE for each zone the events use, with the
// offsets in force from a year before the first event to a year after the
// last, as RFC 5545 asks for every TZID.
func writeTimezones(cw *contentWriter, events []core.Event) {
	type bounds struct{ first, last time.Time }
	used := map[string]*bounds{}
	var names []string
	for _, ev := range events {
		_, zone := zoneOf(ev)
		if zone == "" {
			continue
		}
		b := used[zone]
		if b == nil {
			b = &bounds{ev.Start, ev.End}
			used[zone] = b
			names = append(names, zone)
		}
		if ev.Start.Before(b.first) {
			b.first = ev.Start
		}
		if ev.End.After(b.last) {
			b.last = ev.End
		}
	}
	sort.Strings(names)
	for _, zone := range names {
		loc, _ := time.LoadLocation(zone)
		b := used[zone]
		writeTimezone(cw, zone, loc, b.first.AddDate(-1, 0, 0), b.last.AddDate(1, 0, 0))
	}
}

// writeTimezone writes the VTIMEZONE of loc as one observance per offset
// change between from and to, starting with the offset in force at from.
func writeTimezone(cw *contentWriter, zone string, loc *time.Location, from, to time.Time) {
	cw.line("BEGIN:VTIMEZONE")
	cw.line("TZID:" + zone)
	cw.line("X-LIC-LOCATION:" + zone)
	t := from.In(loc)
	_, prevOffset := t.Zone()
	observance(cw, t, prevOffset)
	for i := 0; i < 100; i++ {
		_, end := t.ZoneBounds()
		if end.IsZero() || end.After(to) {
			break
		}
		t = end.In(loc)
		_, offset := t.Zone()
		observance(cw, t, prevOffset)
		prevOffset = offset
	}
	cw.line("END:VTIMEZONE")
}

// observance writes the STANDARD or DAYLIGHT period starting at t, when the
// offset changed from prevOffset.
func observance(cw *contentWriter, t time.Time, prevOffset int) {
	name, offset := t.Zone()
	kind := "STANDARD"
	if t.IsDST() {
		kind = "DAYLIGHT"
	}
	cw.line("BEGIN:" + kind)
	cw.line("DTSTART:" + t.In(time.FixedZone("", prevOffset)).Format("20060102T150405"))
	cw.line("TZOFFSETFROM:" + utcOffset(prevOffset))
	cw.line("TZOFFSETTO:" + utcOffset(offset))
	if name != "" && !strings.ContainsAny(name, "+-") {
		cw.line("TZNAME:" + escapeText(name))
	}
	cw.line("END:" + kind)
}

func utcOffset(seconds int) string {
	sign := '+'
	if seconds < 0 {
		sign, seconds = '-', -seconds
	}
	s := fmt.Sprintf("%c%02d%02d", sign, seconds/3600, seconds/60%60)
	if seconds%60 != 0 {
		s += fmt.Sprintf("%02d", seconds%60)
	}
	return s
}

// escapeText escapes a TEXT value (RFC 5545, 3.3.11) and drops the control
// characters it may not hold.
func escapeText(s string) string {
	var b strings.Builder
	for _, r := range cleanMultiline(s) {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case ';':
			b.WriteString(`\;`)
		case ',':
			b.WriteString(`\,`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// quoteParam quotes a parameter value, with RFC 6868 escapes for quotes,
// carets and newlines. Backslashes are doubled: golang-ical, which reads
// the calendars back, takes a backslash in a parameter as an escape.
func quoteParam(s string) string {
	s = strings.NewReplacer("^", "^^", `"`, "^'", "\n", "^n", `\`, `\\`).Replace(cleanLine(s))
	return `"` + s + `"`
}

// isMailbox reports whether s is a bare e-mail address, written in
// ORGANIZER as mailto:s.
func isMailbox(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t\n;:,\"<>\\()[]^") && !strings.Contains(domain, "@")
}

// contentWriter writes content lines, folded at 75 octets without cutting
// a UTF-8 sequence, ending with CRLF. It keeps the first write error.
type contentWriter struct {
	w   *bufio.Writer
	err error
}

func newContentWriter(w io.Writer) *contentWriter {
	return &contentWriter{w: bufio.NewWriter(w)}
}

const maxLine = 75

func (cw *contentWriter) line(s string) {
	if cw.err != nil {
		return
	}
	limit := maxLine
	for len(s) > limit {
		n := limit
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		cw.write(s[:n])
		cw.write("\r\n ")
		s = s[n:]
		limit = maxLine - 1 // the leading space counts
	}
	cw.write(s)
	cw.write("\r\n")
}

func (cw *contentWriter) write(s string) {
	if cw.err == nil {
		_, cw.err = cw.w.WriteString(s)
	}
}

func (cw *contentWriter) flush() error {
	if cw.err != nil {
		return cw.err
	}
	return cw.w.Flush()
}
