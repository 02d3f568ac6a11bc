package bots

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"entraide/core"
)

// Posting a job offer or an event by command: the first line is the title,
// each following line (or each part after a " | " on one line, for
// platforms whose commands are one line) is "field: value", in French,
// English or Spanish:
//
//	!offre Chargé·e de mission achats publics
//	employeur: DINUM
//	lieu: Paris
//	clôture: 2026-12-31
//	lien: https://choisirleservicepublic.gouv.fr/offre/123
//
// Lines after "description:" that name no field continue the description.

// postField names a field of a post.
type postField string

const (
	pfTitle       postField = "title"
	pfEmployer    postField = "employer"
	pfLocation    postField = "location"
	pfCategory    postField = "category"
	pfContract    postField = "contract"
	pfRemote      postField = "remote"
	pfDescription postField = "description"
	pfLink        postField = "link"
	pfCloses      postField = "closes"
	pfOrganiser   postField = "organiser"
	pfStart       postField = "start"
	pfEnd         postField = "end"
	pfDuration    postField = "duration"
	pfPlace       postField = "place"
	pfCapacity    postField = "capacity"
	pfTimeZone    postField = "timezone"
)

// offerFieldNames and eventFieldNames map the folded words people type to
// fields.
var offerFieldNames = map[string]postField{
	"titre": pfTitle, "title": pfTitle, "titulo": pfTitle, "intitule": pfTitle, "poste": pfTitle,
	"employeur": pfEmployer, "employer": pfEmployer, "administration": pfEmployer, "org": pfEmployer, "organisme": pfEmployer,
	"empleador": pfEmployer, "organismo": pfEmployer, "structure": pfEmployer,
	"lieu": pfLocation, "location": pfLocation, "place": pfLocation, "lugar": pfLocation, "ville": pfLocation, "localisation": pfLocation,
	"categorie": pfCategory, "category": pfCategory, "grade": pfCategory, "cat": pfCategory, "categoria": pfCategory,
	"contrat": pfContract, "contract": pfContract, "contrato": pfContract, "statut": pfContract,
	"teletravail": pfRemote, "remote": pfRemote, "teletrabajo": pfRemote,
	"description": pfDescription, "desc": pfDescription, "details": pfDescription, "descripcion": pfDescription,
	"lien": pfLink, "link": pfLink, "url": pfLink, "enlace": pfLink,
	"cloture": pfCloses, "closes": pfCloses, "closing": pfCloses, "date limite": pfCloses, "deadline": pfCloses,
	"jusqu au": pfCloses, "cierre": pfCloses, "fecha limite": pfCloses, "candidatures": pfCloses,
}

var eventFieldNames = map[string]postField{
	"titre": pfTitle, "title": pfTitle, "titulo": pfTitle,
	"organisateur": pfOrganiser, "organisatrice": pfOrganiser, "organiser": pfOrganiser, "organizer": pfOrganiser,
	"org": pfOrganiser, "organizador": pfOrganiser,
	"debut": pfStart, "start": pfStart, "date": pfStart, "quand": pfStart, "when": pfStart, "inicio": pfStart, "fecha": pfStart,
	"fin": pfEnd, "end": pfEnd, "final": pfEnd,
	"duree": pfDuration, "duration": pfDuration, "duracion": pfDuration,
	"lieu": pfPlace, "place": pfPlace, "where": pfPlace, "lugar": pfPlace, "adresse": pfPlace, "salle": pfPlace,
	"lien": pfLink, "link": pfLink, "url": pfLink, "visio": pfLink, "enlace": pfLink, "inscription": pfLink,
	"description": pfDescription, "desc": pfDescription, "details": pfDescription, "programme": pfDescription, "descripcion": pfDescription,
	"places": pfCapacity, "capacity": pfCapacity, "capacite": pfCapacity, "jauge": pfCapacity, "plazas": pfCapacity,
	"fuseau": pfTimeZone, "timezone": pfTimeZone, "tz": pfTimeZone, "zona": pfTimeZone,
}

// PostError is a mistake in a posted offer or event, naming the field as
// the person typed it.
type PostError struct {
	Field  string // as typed, or the canonical name
	Reason string
}

func (e *PostError) Error() string { return e.Field + ": " + e.Reason }

// postLines splits a post into its title and its "field: value" pairs.
func postLines(text string, names map[string]postField) (title string, fields []postPair, err error) {
	var lines []string
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		lines = append(lines, strings.Split(line, " | ")...)
	}
	inDescription := false
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		key, value, hasColon := strings.Cut(trimmed, ":")
		field, known := names[core.Fold(key)]
		if hasColon && known && !strings.HasPrefix(value, "//") {
			fields = append(fields, postPair{field: field, typed: strings.TrimSpace(key), value: strings.TrimSpace(value)})
			inDescription = field == pfDescription
			continue
		}
		switch {
		case i == 0:
			title = trimmed
		case inDescription || trimmed == "":
			if n := len(fields); n > 0 && inDescription {
				fields[n-1].value += "\n" + line
			}
		case hasColon && len(key) <= 30 && !strings.Contains(key, " "):
			return "", nil, &PostError{Field: strings.TrimSpace(key), Reason: "unknown"}
		default:
			// A line that names no field adds to the description.
			fields = append(fields, postPair{field: pfDescription, typed: "description", value: trimmed})
			inDescription = true
		}
	}
	return title, fields, nil
}

type postPair struct {
	field postField
	typed string
	value string
}

// ParseOffer reads a job offer posted by command. Dates without a time zone
// are in loc.
func ParseOffer(text string, loc *time.Location) (core.Offer, error) {
	title, pairs, err := postLines(text, offerFieldNames)
	if err != nil {
		return core.Offer{}, err
	}
	o := core.Offer{Title: title}
	for _, p := range pairs {
		switch p.field {
		case pfTitle:
			o.Title = p.value
		case pfEmployer:
			o.Employer = p.value
		case pfLocation:
			o.Location = p.value
		case pfCategory:
			o.Category = p.value
		case pfContract:
			o.Contract = p.value
		case pfRemote:
			r, err := core.ParseRemote(p.value)
			if err != nil {
				return core.Offer{}, &PostError{Field: p.typed, Reason: "unreadable"}
			}
			o.Remote = r
		case pfDescription:
			if o.Description != "" {
				o.Description += "\n"
			}
			o.Description += p.value
		case pfLink:
			o.Link = p.value
		case pfCloses:
			t, dateOnly, err := ParseWhen(p.value, loc)
			if err != nil {
				return core.Offer{}, &PostError{Field: p.typed, Reason: "date"}
			}
			if dateOnly {
				// Applications close at the end of the day given.
				t = t.AddDate(0, 0, 1)
			}
			o.Closes = t
		}
	}
	return o, nil
}

// ParseEvent reads an event posted by command. Times without a time zone
// are in the zone given by a "fuseau:" line, or in loc.
func ParseEvent(text string, loc *time.Location) (core.Event, error) {
	title, pairs, err := postLines(text, eventFieldNames)
	if err != nil {
		return core.Event{}, err
	}
	e := core.Event{Title: title, TimeZone: loc.String()}
	for _, p := range pairs {
		if p.field == pfTimeZone {
			z, err := time.LoadLocation(strings.TrimSpace(p.value))
			if err != nil || p.value == "" || strings.EqualFold(p.value, "local") {
				return core.Event{}, &PostError{Field: p.typed, Reason: "timezone"}
			}
			loc, e.TimeZone = z, z.String()
		}
	}
	var start, end string
	var startTyped, endTyped string
	var duration time.Duration
	for _, p := range pairs {
		switch p.field {
		case pfTitle:
			e.Title = p.value
		case pfOrganiser:
			e.Organiser = p.value
		case pfStart:
			start, startTyped = p.value, p.typed
		case pfEnd:
			end, endTyped = p.value, p.typed
		case pfDuration:
			d, err := parseDuration(p.value)
			if err != nil {
				return core.Event{}, &PostError{Field: p.typed, Reason: "duration"}
			}
			duration = d
		case pfPlace:
			e.Place = p.value
		case pfLink:
			e.Link = p.value
		case pfDescription:
			if e.Description != "" {
				e.Description += "\n"
			}
			e.Description += p.value
		case pfCapacity:
			n, err := strconv.Atoi(strings.TrimSpace(p.value))
			if err != nil || n < 0 || n > core.MaxCapacity {
				return core.Event{}, &PostError{Field: p.typed, Reason: "number"}
			}
			e.Capacity = n
		}
	}
	if start == "" {
		return core.Event{}, &PostError{Field: "start", Reason: "missing"}
	}
	t, dateOnly, err := ParseWhen(start, loc)
	if err != nil {
		return core.Event{}, &PostError{Field: startTyped, Reason: "date"}
	}
	e.Start = t
	if dateOnly {
		e.End = t.AddDate(0, 0, 1)
	}
	if duration > 0 {
		e.End = e.Start.Add(duration)
	}
	if end != "" {
		// "fin: 16:00" is a time on the day of the start.
		if hm, ok := parseClock(end); ok {
			s := e.Start.In(loc)
			e.End = time.Date(s.Year(), s.Month(), s.Day(), hm[0], hm[1], 0, 0, loc)
		} else if t, dateOnly, err := ParseWhen(end, loc); err == nil {
			e.End = t
			if dateOnly {
				e.End = t.AddDate(0, 0, 1)
			}
		} else {
			return core.Event{}, &PostError{Field: endTyped, Reason: "date"}
		}
	}
	return e, nil
}

var (
	isoPattern    = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ tT]+(\d{1,2})[:h](\d{2})?)?$`)
	frPattern     = regexp.MustCompile(`^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ ,]+(?:a |à |at )?(\d{1,2})[:h](\d{2})?)?$`)
	clockPattern  = regexp.MustCompile(`^(\d{1,2})[:h](\d{2})?$`)
	durationUnits = regexp.MustCompile(`^(\d{1,3}) ?(min|minutes?|m|h|heures?|hours?|j|jours?|d|days?)$`)
)

// ParseWhen reads a date, or a date and a time, as people write them:
// "2026-12-03", "2026-12-03 14:00", "2026-12-03T14h30", "03/12/2026",
// "03/12/2026 14h", "3/12/2026 à 9h30"; or an RFC 3339 time. dateOnly is
// true when no time was given (the time is then midnight in loc).
func ParseWhen(s string, loc *time.Location) (t time.Time, dateOnly bool, err error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if t, err := time.Parse(time.RFC3339, strings.ToUpper(s)); err == nil {
		return t.UTC(), false, nil
	}
	var y, mo, d, h, mi int
	var hasTime bool
	if m := isoPattern.FindStringSubmatch(s); m != nil {
		y, mo, d = atoi(m[1]), atoi(m[2]), atoi(m[3])
		hasTime, h, mi = m[4] != "", atoi(m[4]), atoi(m[5])
	} else if m := frPattern.FindStringSubmatch(s); m != nil {
		d, mo, y = atoi(m[1]), atoi(m[2]), atoi(m[3])
		hasTime, h, mi = m[4] != "", atoi(m[4]), atoi(m[5])
	} else {
		return time.Time{}, false, fmt.Errorf("bots: %q is not a date", s)
	}
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || y < 2000 || y > 2100 {
		return time.Time{}, false, fmt.Errorf("bots: %q is not a date", s)
	}
	t = time.Date(y, time.Month(mo), d, h, mi, 0, 0, loc)
	if t.Day() != d {
		return time.Time{}, false, fmt.Errorf("bots: %q is not a date", s)
	}
	return t.UTC(), !hasTime, nil
}

func parseClock(s string) ([2]int, bool) {
	m := clockPattern.FindStringSubmatch(strings.TrimSpace(strings.ToLower(s)))
	if m == nil || atoi(m[1]) > 23 || atoi(m[2]) > 59 {
		return [2]int{}, false
	}
	return [2]int{atoi(m[1]), atoi(m[2])}, true
}

func parseDuration(s string) (time.Duration, error) {
	s = core.Fold(s)
	if m := clockPattern.FindStringSubmatch(s); m != nil && strings.Contains(s, "h") {
		return time.Duration(atoi(m[1]))*time.Hour + time.Duration(atoi(m[2]))*time.Minute, nil
	}
	m := durationUnits.FindStringSubmatch(s)
	if m == nil || atoi(m[1]) == 0 {
		return 0, fmt.Errorf("bots: %q is not a duration", s)
	}
	n := time.Duration(atoi(m[1]))
	switch m[2][0] {
	case 'h':
		return n * time.Hour, nil
	case 'j', 'd':
		return n * 24 * time.Hour, nil
	}
	return n * time.Minute, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
