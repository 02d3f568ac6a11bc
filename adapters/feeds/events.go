package feeds

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/teambition/rrule-go"

	"entraide/core"
)

// ParseEvents reads the events of an iCalendar (RFC 5545) document fetched
// from source (the calendar's address), at time now, that happen between
// from and to.
//
// A single event is kept when it ends after from and starts before to; its
// SourceID is its UID. A recurring event (RRULE, RDATE, EXDATE, and
// RECURRENCE-ID components that move or cancel one occurrence) gives one
// event per occurrence starting in [from, to), with SourceID = UID + "/" +
// the occurrence's original start in UTC, RFC 3339: an occurrence keeps its
// id when it is moved. Cancelled events and occurrences are left out
// silently.
//
// Times with a TZID are taken in that zone (IANA names, Windows names and
// VTIMEZONEs that name an IANA zone are understood), floating times and
// all-day dates in the calendar's X-WR-TIMEZONE, else UTC. TimeZone is the
// TZID's zone when known, else X-WR-TIMEZONE, else "UTC".
//
// Every event returned passed core.Event.Normalize. An event that cannot be
// imported (no DTSTART, an end before its start, a bad recurrence rule...)
// is reported in problems and skipped. err is set only when the document as
// a whole cannot be read.
func ParseEvents(body []byte, source string, from, to time.Time, now time.Time) ([]core.Event, []EntryError, error) {
	if len(body) > MaxDocumentSize {
		return nil, nil, fmt.Errorf("feeds: parse events from %s: document of %d bytes, at most %d", source, len(body), MaxDocumentSize)
	}
	cal, err := parseCalendar(body)
	if err != nil {
		return nil, nil, fmt.Errorf("feeds: parse events from %s: %w", source, err)
	}
	p := &calParser{source: source, from: from, to: to, now: now, zones: newZones(cal)}
	var all []*series
	byUID := map[string]*series{}
	for _, v := range cal.Events() {
		uid := uidOf(v)
		s := byUID[uid]
		if s == nil {
			s = &series{uid: uid}
			byUID[uid] = s
			all = append(all, s)
		}
		switch {
		case v.HasProperty(ics.ComponentPropertyRecurrenceId):
			s.overrides = append(s.overrides, v)
		case s.master != nil:
			p.problem(uid, propText(v, ics.ComponentPropertySummary), errors.New("another event has the same UID"))
		default:
			s.master = v
		}
	}
	for _, s := range all {
		p.series(s)
	}
	if p.dropped > 0 {
		p.problems = append(p.problems, entryError("", "", fmt.Errorf("%d events after the first %d ignored", p.dropped, MaxEntries)))
	}
	if p.unexpanded > 0 {
		p.problems = append(p.problems, entryError("", "", fmt.Errorf("%d recurring events after the first %d not expanded", p.unexpanded, MaxRecurring)))
	}
	return p.events, p.problems, nil
}

// parseCalendar runs golang-ical on body, tolerant of properties between
// components, turning a panic of the library on hostile input into an
// error.
func parseCalendar(body []byte) (cal *ics.Calendar, err error) {
	start := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(start) < 15 || !strings.EqualFold(string(start[:15]), "BEGIN:VCALENDAR") {
		return nil, errors.New("not a calendar: no BEGIN:VCALENDAR")
	}
	defer func() {
		if r := recover(); r != nil {
			cal, err = nil, fmt.Errorf("unreadable calendar (parser panic: %v)", r)
		}
	}()
	cal, err = ics.ParseCalendarWithOptions(bytes.NewReader(body), ics.WithUnknownPropertyHandler(ics.AcceptUnknownPropertyHandler))
	if err != nil {
		return nil, err
	}
	if cal == nil {
		return nil, errors.New("not a calendar")
	}
	return cal, nil
}

// series is the VEVENTs of one UID: the event and the occurrences it
// overrides.
type series struct {
	uid       string
	master    *ics.VEvent
	overrides []*ics.VEvent
}

// calParser holds the state of one ParseEvents call.
type calParser struct {
	source        string
	from, to, now time.Time
	zones         *zones
	events        []core.Event
	problems      []EntryError
	recurring     int // recurring events expanded
	unexpanded    int // recurring events over MaxRecurring
	dropped       int // events over MaxEntries
}

func (p *calParser) problem(id, title string, err error) {
	p.problems = append(p.problems, entryError(id, title, err))
}

// emit normalizes ev and keeps it.
func (p *calParser) emit(ev core.Event) error {
	// Twice, as for offers (see normalizeOffer).
	if err := ev.Normalize(); err != nil {
		return err
	}
	if err := ev.Normalize(); err != nil {
		return err
	}
	if len(p.events) >= MaxEntries {
		p.dropped++
		return nil
	}
	p.events = append(p.events, ev)
	return nil
}

// vevent is what one VEVENT says, read and checked.
type vevent struct {
	core.Event
	start     when
	span      span
	recurring bool
	cancelled bool
}

// span is how long an event lasts: days (nominal, so that an all-day
// event ends at midnight across a DST change) and an exact duration. An
// unset span leaves End zero, for core to apply its default.
type span struct {
	days  int
	exact time.Duration
	set   bool
}

func (s span) end(start time.Time) time.Time {
	if !s.set {
		return time.Time{}
	}
	return start.AddDate(0, 0, s.days).Add(s.exact)
}

// read reads a VEVENT. An override (RECURRENCE-ID) reads over a copy of
// its master, keeping what it does not say.
func (p *calParser) read(v *ics.VEvent, master *vevent) (vevent, error) {
	var e vevent
	if master != nil {
		e = *master
	}
	e.Source = p.source
	if s := v.GetProperty(ics.ComponentPropertySummary); s != nil {
		e.Title = cleanLine(s.Value)
	}
	if s := v.GetProperty(ics.ComponentPropertyLocation); s != nil {
		e.Place = cleanLine(s.Value)
	}
	if s := v.GetProperty(ics.ComponentPropertyUrl); s != nil {
		e.Link = strings.TrimSpace(s.Value)
	}
	if s := v.GetProperty(ics.ComponentPropertyDescription); s != nil {
		e.Description = truncate(strings.TrimSpace(descriptionText(s.Value)), core.MaxDescriptionLen)
	}
	if s := v.GetProperty(ics.ComponentPropertyOrganizer); s != nil {
		e.Organiser = organiserOf(s)
	}
	if s := v.GetProperty(ics.ComponentPropertyStatus); s != nil {
		e.cancelled = strings.EqualFold(strings.TrimSpace(s.Value), "CANCELLED")
	}
	e.Posted = p.now
	for _, prop := range []ics.ComponentProperty{ics.ComponentPropertyCreated, ics.ComponentPropertyDtstamp} {
		if s := v.GetProperty(prop); s != nil {
			if w, err := p.zones.time(s); err == nil && !w.allDay && w.t.Before(p.now) {
				e.Posted = w.t.UTC()
				break
			}
		}
	}
	if s := v.GetProperty(ics.ComponentPropertyLastModified); s != nil {
		if w, err := p.zones.time(s); err == nil {
			e.Updated = w.t.UTC()
		}
	}

	startProp := v.GetProperty(ics.ComponentPropertyDtStart)
	if startProp == nil {
		startProp = v.GetProperty(ics.ComponentPropertyRecurrenceId)
	}
	if startProp == nil {
		return e, errNoStart
	}
	start, err := p.zones.time(startProp)
	if err != nil {
		return e, err
	}
	e.start = start
	e.Start = start.t
	e.TimeZone = firstOf(start.zone, p.zones.defName)
	if master == nil {
		e.span = span{days: 1, set: start.allDay}
	}
	if s := v.GetProperty(ics.ComponentPropertyDtEnd); s != nil {
		end, err := p.zones.time(s)
		if err != nil {
			return e, err
		}
		if start.allDay && end.allDay {
			e.span = span{days: daysBetween(start.t, end.t), set: true}
		} else {
			e.span = span{exact: end.t.Sub(start.t), set: true}
		}
	} else if s := v.GetProperty(ics.ComponentPropertyDuration); s != nil {
		days, exact, err := parseDuration(s.Value)
		if err != nil {
			return e, fmt.Errorf("DURATION: %w", err)
		}
		e.span = span{days: days, exact: exact, set: true}
	}
	e.End = e.span.end(e.Start)
	e.recurring = v.HasProperty(ics.ComponentPropertyRrule) || v.HasProperty(ics.ComponentPropertyRdate)
	return e, nil
}

// daysBetween counts the calendar days from a to b.
func daysBetween(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return int(time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC).Sub(time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)).Hours() / 24)
}

// series imports the events of one UID.
func (p *calParser) series(s *series) {
	if s.master == nil {
		// Occurrences of an event the calendar does not hold (an
		// invitation to one occurrence): each is an event of its own.
		for _, v := range s.overrides {
			p.override(s.uid, v, nil, nil)
		}
		return
	}
	m, err := p.read(s.master, nil)
	if err == nil && !m.cancelled {
		// Check the fields once rather than for each occurrence.
		check := m.Event
		err = check.Normalize()
	}
	if err != nil {
		p.problem(s.uid, propText(s.master, ics.ComponentPropertySummary), err)
		return
	}
	if m.cancelled {
		return
	}
	m.SourceID = s.uid
	if !m.recurring {
		ev := m.Event
		if err := ev.Normalize(); err != nil {
			p.problem(s.uid, m.Title, err)
		} else if ev.End.After(p.from) && ev.Start.Before(p.to) {
			_ = p.emit(ev)
		}
		return
	}
	if p.recurring == MaxRecurring {
		p.unexpanded++
		return
	}
	p.recurring++
	if err := p.expand(s, m); err != nil {
		p.problem(s.uid, m.Title, err)
	}
}

// expand imports the occurrences of a recurring event in [from, to).
func (p *calParser) expand(s *series, m vevent) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recurrence: %v", r)
		}
	}()
	set, err := p.recurrence(s.master, m.start)
	if err != nil {
		return err
	}
	overrides := map[int64]*ics.VEvent{}
	for _, v := range s.overrides {
		if w, err := p.zones.time(v.GetProperty(ics.ComponentPropertyRecurrenceId)); err == nil {
			overrides[w.t.Unix()] = v
		} else {
			p.problem(s.uid, propText(v, ics.ComponentPropertySummary), err)
		}
	}
	kept := 0
	next := set.Iterator()
	for n := 0; ; n++ {
		t, ok := next()
		if !ok || !t.Before(p.to) {
			break
		}
		if n == maxIterations {
			return fmt.Errorf("recurrence stopped after %d occurrences", maxIterations)
		}
		if v := overrides[t.Unix()]; v != nil {
			delete(overrides, t.Unix())
			if p.override(s.uid, v, &m, &t) {
				kept++
			}
			continue
		}
		if t.Before(p.from) {
			continue
		}
		if kept == MaxOccurrences {
			return fmt.Errorf("more than %d occurrences between %s and %s", MaxOccurrences, p.from.Format(time.DateOnly), p.to.Format(time.DateOnly))
		}
		ev := m.Event
		ev.Start, ev.End = t, m.span.end(t)
		ev.SourceID = occurrenceID(s.uid, t)
		if err := p.emit(ev); err != nil {
			return err
		}
		kept++
	}
	// Occurrences moved into the period from outside it.
	for _, v := range overrides {
		p.override(s.uid, v, &m, nil)
	}
	return nil
}

// override imports one occurrence that a RECURRENCE-ID component moves or
// changes, if it starts in [from, to) and is not cancelled. It reports
// whether it kept it.
func (p *calParser) override(uid string, v *ics.VEvent, master *vevent, original *time.Time) bool {
	title := propText(v, ics.ComponentPropertySummary)
	rid, err := p.zones.time(v.GetProperty(ics.ComponentPropertyRecurrenceId))
	if err != nil {
		p.problem(uid, title, err)
		return false
	}
	if original == nil {
		original = &rid.t
	}
	e, err := p.read(v, master)
	if err != nil {
		p.problem(uid, title, err)
		return false
	}
	if e.cancelled || e.Start.Before(p.from) || !e.Start.Before(p.to) {
		return false
	}
	e.SourceID = occurrenceID(uid, *original)
	if err := p.emit(e.Event); err != nil {
		p.problem(e.SourceID, title, err)
		return false
	}
	return true
}

func occurrenceID(uid string, t time.Time) string {
	return uid + "/" + t.UTC().Format(time.RFC3339)
}

// recurrence builds the set of starts of a recurring event: DTSTART, the
// RRULE (yearly to daily; one rule), the RDATEs, less the EXDATEs.
func (p *calParser) recurrence(v *ics.VEvent, start when) (*rrule.Set, error) {
	set := &rrule.Set{}
	set.DTStart(start.t)
	if rules := v.GetProperties(ics.ComponentPropertyRrule); len(rules) > 0 {
		opt, err := rrule.StrToROptionInLocation(strings.TrimSpace(rules[0].Value), start.t.Location())
		if err != nil {
			return nil, fmt.Errorf("RRULE: %w", err)
		}
		switch {
		case opt.Freq > rrule.DAILY:
			return nil, fmt.Errorf("RRULE: %s events are not supported (at most daily)", opt.Freq)
		case opt.Interval > 1000:
			return nil, fmt.Errorf("RRULE: interval %d is too long", opt.Interval)
		}
		opt.Dtstart = start.t
		r, err := rrule.NewRRule(*opt)
		if err != nil {
			return nil, fmt.Errorf("RRULE: %w", err)
		}
		set.RRule(r)
	}
	set.RDate(start.t)
	for _, prop := range v.GetProperties(ics.ComponentPropertyRdate) {
		ws, err := p.zones.times(prop)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			set.RDate(w.t)
		}
	}
	for _, prop := range v.GetProperties(ics.ComponentPropertyExdate) {
		ws, err := p.zones.times(prop)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			set.ExDate(w.t)
		}
	}
	return set, nil
}

// uidOf is the event's UID, or a hash of its summary and start for the
// calendars that give none.
func uidOf(v *ics.VEvent) string {
	if uid := strings.TrimSpace(propText(v, ics.ComponentPropertyUniqueId)); uid != "" {
		return uid
	}
	sum := sha256.Sum256([]byte(propText(v, ics.ComponentPropertySummary) + "\x00" + propText(v, ics.ComponentPropertyDtStart)))
	return "sha256:" + hex.EncodeToString(sum[:12])
}

func propText(v *ics.VEvent, prop ics.ComponentProperty) string {
	if p := v.GetProperty(prop); p != nil {
		return p.Value
	}
	return ""
}

// organiserOf reads ORGANIZER: its CN parameter, else its address without
// "mailto:".
func organiserOf(p *ics.IANAProperty) string {
	if cn := p.ICalParameters[string(ics.ParameterCn)]; len(cn) > 0 && strings.TrimSpace(cn[0]) != "" {
		return cleanLine(paramUnescaper.Replace(cn[0]))
	}
	v := strings.TrimSpace(p.Value)
	if len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
		v = v[7:]
	}
	return cleanLine(v)
}

// paramUnescaper decodes RFC 6868 escapes in parameter values.
var paramUnescaper = strings.NewReplacer("^^", "^", "^'", `"`, "^n", "\n", "^N", "\n")

// descriptionText is the plain text of a DESCRIPTION, which some
// publishers fill with HTML.
func descriptionText(s string) string {
	if looksLikeHTML(s) {
		return htmlText(s)
	}
	return cleanMultiline(s)
}

// looksLikeHTML reports whether s holds closing tags or line breaks in
// HTML, which plain text does not.
func looksLikeHTML(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "</") || strings.Contains(l, "<br") || strings.Contains(l, "<p>")
}
