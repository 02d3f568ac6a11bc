package core

import (
	"fmt"
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
	UpdatedAt   time.Time
}

// AvailableAt reports whether the expert may be asked at time t.
func (e Expert) AvailableAt(t time.Time) bool {
	return e.Available && !t.Before(e.AwayUntil)
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
