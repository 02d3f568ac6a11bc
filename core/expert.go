package core

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Expert is a person who joined the directory of people willing to answer
// questions on some topics.
type Expert struct {
	Person PersonID
	// Topics are short phrases as the expert wrote them, such as
	// "marchés publics".
	Topics []string
	// Languages the expert answers in ("fr", "en", "es"); empty means any.
	Languages    []string
	Organisation string
	// Available is false while the expert asked not to be disturbed.
	Available bool
	// AwayUntil, when set and in the future, keeps the expert out of routing.
	AwayUntil time.Time
	// DailyBudget is how many questions the expert accepts per day; zero
	// means the network's default.
	DailyBudget int
	// Quiet, when set, is a daily span during which the expert is not
	// asked (evenings, nights).
	Quiet     QuietHours
	UpdatedAt time.Time
}

// Load is what routing reads of an expert (Store.ExpertLoads): the entry,
// without topics and languages, and how many questions were routed to the
// expert since a given time.
type Load struct {
	Expert Expert
	Routed int
}

// AvailableAt reports whether the expert may be asked at time t, in the
// network's time zone loc (nil is UTC).
func (e Expert) AvailableAt(t time.Time, loc *time.Location) bool {
	return e.Available && !t.Before(e.AwayUntil) && !e.Quiet.Contains(t, loc)
}

// QuietHours is a daily span, in minutes of the day, from From (included)
// to To (excluded); it may run past midnight (From > To). The zero value
// and From == To mean none.
type QuietHours struct {
	From, To int
	Set      bool
}

// Contains reports whether t falls in the span, in time zone loc.
func (q QuietHours) Contains(t time.Time, loc *time.Location) bool {
	if !q.Set || q.From == q.To {
		return false
	}
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	if q.From < q.To {
		return q.From <= m && m < q.To
	}
	return m >= q.From || m < q.To
}

// String writes the span as "19:00-08:00".
func (q QuietHours) String() string {
	if !q.Set {
		return ""
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", q.From/60, q.From%60, q.To/60, q.To%60)
}

// ParseQuietHours reads a span such as "19-8", "19h-8h", "19:30-08:00" or
// "19h30-7h".
func ParseQuietHours(s string) (QuietHours, error) {
	from, to, ok := strings.Cut(strings.ReplaceAll(strings.TrimSpace(s), " ", ""), "-")
	if !ok {
		return QuietHours{}, fmt.Errorf("%w: quiet hours %q: want a span such as 19-8", ErrInvalid, s)
	}
	f, err1 := parseClock(from)
	t, err2 := parseClock(to)
	if err1 != nil || err2 != nil || f == t {
		return QuietHours{}, fmt.Errorf("%w: quiet hours %q: want a span such as 19-8 or 19:30-07:00", ErrInvalid, s)
	}
	return QuietHours{From: f, To: t, Set: true}, nil
}

// parseClock reads "19", "19h", "19h30", "19:30" as minutes of the day.
func parseClock(s string) (int, error) {
	s = strings.ToLower(s)
	h, m, _ := strings.Cut(strings.NewReplacer("h", ":").Replace(s), ":")
	hour, err := strconv.Atoi(h)
	if err != nil || hour < 0 || hour > 23 || len(h) > 2 {
		return 0, fmt.Errorf("%w: hour %q", ErrInvalid, s)
	}
	minute := 0
	if m != "" {
		if minute, err = strconv.Atoi(m); err != nil || minute < 0 || minute > 59 || len(m) != 2 {
			return 0, fmt.Errorf("%w: minutes %q", ErrInvalid, s)
		}
	}
	return hour*60 + minute, nil
}

// ParseTopics splits a comma- or semicolon-separated list of topics, trims
// them, drops empty and repeated ones (ignoring case and accents) and checks
// their number and length.
func ParseTopics(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' })
	var topics []string
	seen := map[string]bool{}
	for _, f := range fields {
		t := strings.Join(strings.Fields(f), " ")
		if t == "" {
			continue
		}
		if utf8.RuneCountInString(t) > MaxTopicLen {
			return nil, fmt.Errorf("%w: topic %q is longer than %d characters", ErrInvalid, t, MaxTopicLen)
		}
		key := Fold(t)
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		topics = append(topics, t)
	}
	if len(topics) == 0 {
		return nil, fmt.Errorf("%w: no topic given", ErrInvalid)
	}
	if len(topics) > MaxTopics {
		return nil, fmt.Errorf("%w: %d topics, at most %d", ErrInvalid, len(topics), MaxTopics)
	}
	return topics, nil
}
