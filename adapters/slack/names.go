package slack

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// How the names of people who only write (mentions, direct messages, whose
// events carry no name) are read with users.info (scope users:read).
const (
	// nameTTL is how long a name read is kept.
	nameTTL = 24 * time.Hour
	// nameRetry is how long a failed lookup is not tried again: the id
	// stands for the name meanwhile.
	nameRetry = 10 * time.Minute
	// nameTimeout bounds a lookup, which the delivery of an event waits
	// for: Slack wants slash commands and interactions acknowledged
	// within 3 s, delivery included.
	nameTimeout = time.Second
	// maxNames bounds the names kept; the cache starts over beyond.
	maxNames = 10000
	// maxNameLen bounds a name, in characters.
	maxNameLen = 80
)

// cachedName is a name read with users.info, or a failed lookup.
type cachedName struct {
	name   string
	at     time.Time
	failed bool
}

// userName returns the name people see for user (the display name, else
// the real name, else the handle), read with users.info and kept a day; ""
// when Slack does not say (no users:read scope, an error, a timeout), and
// the id then stands for the name.
func (a *Adapter) userName(ctx context.Context, user string) string {
	if user == "" {
		return ""
	}
	now := a.now()
	a.mu.Lock()
	c, ok := a.names[user]
	a.mu.Unlock()
	if ok && (!c.failed && now.Sub(c.at) < nameTTL || c.failed && now.Sub(c.at) < nameRetry) {
		return c.name
	}
	lctx, cancel := context.WithTimeout(ctx, nameTimeout)
	defer cancel()
	u, err := a.api.GetUserInfoContext(lctx, user)
	c = cachedName{at: now, failed: err != nil}
	if err != nil {
		a.log.Debug("slack: users.info failed, the id stands for the name", "user", user, "err", err)
	} else {
		for _, n := range []string{u.Profile.DisplayName, u.RealName, u.Name} {
			if c.name = cleanName(n); c.name != "" {
				break
			}
		}
	}
	a.mu.Lock()
	if len(a.names) >= maxNames {
		clear(a.names)
	}
	a.names[user] = c
	a.mu.Unlock()
	return c.name
}

// cleanName keeps a name to one line of printable characters (no control
// characters, no invisible bidirectional overrides), spaces collapsed, at
// most maxNameLen characters.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxNameLen {
		s = strings.TrimSpace(string(r[:maxNameLen]))
	}
	return s
}
