package feeds

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
)

// zones resolves the time zones of one calendar: TZID parameters, the
// calendar's X-WR-TIMEZONE, the VTIMEZONE components that name an IANA zone.
type zones struct {
	// def is where floating times and dates are taken: X-WR-TIMEZONE, else
	// UTC; defName is its IANA name.
	def     *time.Location
	defName string
	// aliases maps a VTIMEZONE's TZID to the IANA name it declares
	// (X-LIC-LOCATION, as Thunderbird writes).
	aliases map[string]string
	cache   map[string]*time.Location
}

func newZones(cal *ics.Calendar) *zones {
	z := &zones{def: time.UTC, defName: "UTC", aliases: map[string]string{}, cache: map[string]*time.Location{}}
	for _, c := range cal.Components {
		tz, ok := c.(*ics.VTimezone)
		if !ok {
			continue
		}
		id, loc := tz.GetProperty(ics.ComponentPropertyTzid), tz.GetProperty("X-LIC-LOCATION")
		if id != nil && loc != nil {
			z.aliases[id.Value] = loc.Value
		}
	}
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == string(ics.PropertyXWRTimezone) {
			if loc, name, ok := z.lookup(p.Value); ok {
				z.def, z.defName = loc, name
			}
			break
		}
	}
	return z
}

// windowsZones are the Windows names of the zones French calendars use,
// as Outlook and Exchange write them in TZID.
var windowsZones = map[string]string{
	"Romance Standard Time":         "Europe/Paris",
	"W. Europe Standard Time":       "Europe/Berlin",
	"Central Europe Standard Time":  "Europe/Budapest",
	"GMT Standard Time":             "Europe/London",
	"UTC":                           "UTC",
	"Coordinated Universal Time":    "UTC",
	"SA Eastern Standard Time":      "America/Cayenne",
	"SA Western Standard Time":      "America/Martinique",
	"Arabian Standard Time":         "Asia/Dubai",
	"Mauritius Standard Time":       "Indian/Reunion",
	"E. Africa Standard Time":       "Indian/Mayotte",
	"Hawaiian Standard Time":        "Pacific/Tahiti",
	"Central Pacific Standard Time": "Pacific/Noumea",
}

// lookup finds the IANA zone a TZID names: itself, the zone its VTIMEZONE
// declares, the zone at the end of a "/mozilla.org/.../Europe/Paris" path,
// or the zone of a Windows name.
func (z *zones) lookup(tzid string) (*time.Location, string, bool) {
	tzid = strings.Trim(strings.TrimSpace(tzid), `"`)
	candidates := []string{tzid, z.aliases[tzid], windowsZones[tzid]}
	if parts := strings.Split(tzid, "/"); len(parts) > 2 {
		candidates = append(candidates, strings.Join(parts[len(parts)-2:], "/"), strings.Join(parts[len(parts)-3:], "/"))
	}
	for _, name := range candidates {
		if name == "" || name == "Local" || len(name) > 64 {
			continue
		}
		loc, seen := z.cache[name]
		if !seen {
			loc, _ = time.LoadLocation(name)
			z.cache[name] = loc
		}
		if loc != nil {
			return loc, loc.String(), true
		}
	}
	return nil, "", false
}

// when is a time read from a DTSTART, DTEND, RECURRENCE-ID, RDATE or
// EXDATE value.
type when struct {
	t      time.Time
	allDay bool
	// zone is the IANA name of the TZID parameter, "" when there is none
	// or it is unknown.
	zone string
}

// times reads the values of a date or date-time property: one for DTSTART,
// a comma-separated list for RDATE and EXDATE. A PERIOD value gives its
// start.
func (z *zones) times(p *ics.IANAProperty) ([]when, error) {
	loc, zone := z.def, ""
	if ids := p.ICalParameters[string(ics.ParameterTzid)]; len(ids) > 0 {
		if l, name, ok := z.lookup(ids[0]); ok {
			loc, zone = l, name
		}
	}
	dateOnly := false
	if v := p.ICalParameters[string(ics.ParameterValue)]; len(v) > 0 && strings.EqualFold(v[0], "DATE") {
		dateOnly = true
	}
	var out []when
	for _, v := range strings.Split(p.Value, ",") {
		v, _, _ = strings.Cut(strings.TrimSpace(v), "/")
		w, err := parseWhen(v, loc, dateOnly)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.IANAToken, err)
		}
		w.zone = zone
		out = append(out, w)
	}
	return out, nil
}

// time reads a single date or date-time property.
func (z *zones) time(p *ics.IANAProperty) (when, error) {
	ws, err := z.times(p)
	if err != nil {
		return when{}, err
	}
	if len(ws) != 1 {
		return when{}, fmt.Errorf("%s: %d values, want one", p.IANAToken, len(ws))
	}
	return ws[0], nil
}

// parseWhen reads "20260310", "20260310T143000" (in loc) or
// "20260310T143000Z".
func parseWhen(v string, loc *time.Location, dateOnly bool) (when, error) {
	switch {
	case len(v) == 8:
		t, err := time.ParseInLocation("20060102", v, loc)
		return when{t: t, allDay: true}, err
	case dateOnly:
		return when{}, fmt.Errorf("%q is not a date", truncate(v, 40))
	case len(v) == 16 && v[15] == 'Z':
		t, err := time.Parse("20060102T150405Z", v)
		return when{t: t}, err
	case len(v) == 15:
		t, err := time.ParseInLocation("20060102T150405", v, loc)
		return when{t: t}, err
	}
	return when{}, fmt.Errorf("%q is not a date or date-time", truncate(v, 40))
}

// parseDuration reads an RFC 5545 duration: "PT1H30M", "P1D", "P2W",
// "-PT15M". Days and weeks are nominal (a day across a DST change is
// still a day): they come back apart from the exact part.
func parseDuration(s string) (days int, exact time.Duration, err error) {
	bad := fmt.Errorf("%q is not a duration", truncate(s, 40))
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, 0, bad
	}
	s = s[1:]
	inTime := false
	for s != "" {
		if s[0] == 'T' {
			if inTime {
				return 0, 0, bad
			}
			inTime, s = true, s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 6 {
			return 0, 0, bad
		}
		n, _ := strconv.Atoi(s[:i])
		unit := s[i]
		s = s[i+1:]
		switch {
		case unit == 'W' && !inTime:
			days += 7 * n
		case unit == 'D' && !inTime:
			days += n
		case unit == 'H' && inTime:
			exact += time.Duration(n) * time.Hour
		case unit == 'M' && inTime:
			exact += time.Duration(n) * time.Minute
		case unit == 'S' && inTime:
			exact += time.Duration(n) * time.Second
		default:
			return 0, 0, bad
		}
	}
	if neg {
		return -days, -exact, nil
	}
	return days, exact, nil
}

var errNoStart = errors.New("no DTSTART")
