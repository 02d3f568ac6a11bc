package slack

import (
	"context"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"entraide/adapters/slack/slacktest"
)

// TestSenderNameFromUsersInfo: a message event carries no name, a slash
// command a handle; the adapter reads the name with users.info once and
// keeps it for every kind of event, and an unknown
// person is named by their id (no name) without a lookup at every message.
func TestSenderNameFromUsersInfo(t *testing.T) {
	f := slacktest.New(t)
	inbox := &recordingInbox{}
	newTestAdapter(t, f, inbox, false)
	elodie := slacktest.User{ID: "U42", Name: "Élodie Martin"}
	for _, r := range []slacktest.Request{f.DM(elodie, "!mine"), f.Mention(elodie, "C1", "", "!ask Une question ?"), f.Slash(elodie, "C1", "mine")} {
		if err := f.Deliver(r); err != nil {
			t.Fatal(err)
		}
	}
	evs := inbox.delivered()
	if len(evs) != 3 {
		t.Fatalf("delivered %+v, want 3 events", evs)
	}
	for _, ev := range evs {
		// The slash command's payload gives a handle; the name people see
		// wins, so that the person's name does not flip between the two.
		if ev.SenderName != "Élodie Martin" {
			t.Errorf("%s named %q, want Élodie Martin", ev.ID, ev.SenderName)
		}
	}
	if calls := f.Calls("users.info"); len(calls) != 1 || calls[0].Form.Get("user") != "U42" {
		t.Fatalf("users.info calls: %+v, want one for U42", calls)
	}

	// users.info does not know this person: no name, and no second lookup
	// for a while.
	a := newTestAdapter(t, slacktest.New(t), &recordingInbox{}, false)
	ctx := context.Background()
	for range 2 {
		if name := a.userName(ctx, "U404"); name != "" {
			t.Fatalf("name of an unknown person %q, want none", name)
		}
	}
	a.mu.Lock()
	c := a.names["U404"]
	a.mu.Unlock()
	if !c.failed {
		t.Fatalf("the failed lookup was not kept: %+v", c)
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"Élodie Martin":               "Élodie Martin",
		"  bob \n\t le\u202eroi ":     "bob le roi",
		"a\x00b":                      "a b",
		"\xff\xfe":                    "",
		strings.Repeat("é", 100):      strings.Repeat("é", maxNameLen),
		"@channel <!everyone> *gras*": "@channel <!everyone> *gras*", // escaped where shown, not here
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzCleanName checks that any name Slack gives becomes one line of
// printable characters, at most maxNameLen, and that cleaning twice
// changes nothing.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"Élodie Martin", "bob\u202eevil", "a\x00\nb", "\xff", strings.Repeat("x ", 90)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := cleanName(in)
		if !utf8.ValidString(out) || utf8.RuneCountInString(out) > maxNameLen || strings.TrimSpace(out) != out {
			t.Fatalf("cleanName(%q) = %q", in, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 {
				t.Fatalf("cleanName(%q) = %q keeps %U", in, out, r)
			}
		}
		if again := cleanName(out); again != out {
			t.Fatalf("cleanName(%q) = %q, then %q", in, out, again)
		}
	})
}
