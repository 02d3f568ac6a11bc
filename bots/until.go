package bots

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"entraide/core"
)

// untilPattern reads a duration such as "3j", "2 semaines", "5h", "10 days".
var untilPattern = regexp.MustCompile(`^([0-9]{1,3}) ?(h|heure|heures|hour|hours|j|jour|jours|d|day|days|s|sem|semaine|semaines|w|week|weeks)$`)

// ParseUntil reads when an absence ends: a date ("2026-12-01" or
// "01/12/2026", meaning from that day on, in UTC) or a duration from now
// ("3j", "2 semaines", "5h", "10 days").
func ParseUntil(s string, now time.Time) (time.Time, error) {
	s = core.Fold(s)
	if m := untilPattern.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		if n == 0 {
			return time.Time{}, errors.New("bots: absence of zero length")
		}
		unit := time.Hour
		switch m[2][0] {
		case 'j', 'd':
			unit = 24 * time.Hour
		case 's', 'w':
			unit = 7 * 24 * time.Hour
		}
		return now.Add(time.Duration(n) * unit), nil
	}
	for _, layout := range []string{"2006 01 02", "02 01 2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("bots: not a date or a duration: " + strings.TrimSpace(s))
}
