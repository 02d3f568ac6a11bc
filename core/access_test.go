package core

import (
	"strings"
	"testing"
)

func TestParseAccessRule(t *testing.T) {
	for in, want := range map[string]AccessRule{
		"slack:T0123ABCD":           "slack:T0123ABCD",
		"Slack:T0123ABCD":           "slack:T0123ABCD",
		"discord:81384788765712384": "discord:81384788765712384",
		"matrix:*.Tchap.gouv.fr":    "matrix:*.tchap.gouv.fr",
		"matrix:Example.org":        "matrix:example.org",
		"mail:*.interieur.gouv.fr":  "mail:interieur.gouv.fr",
		"user:Slack:U0ABC":          "user:slack:U0ABC",
		"console:*":                 "console:*",
	} {
		got, err := ParseAccessRule(in)
		if err != nil || got != want {
			t.Errorf("ParseAccessRule(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "slack", "slack:", ":T1", "mail:", "mail:not a domain", "mail:-.", "user:slack", "user::U1",
		"slack:T1 T2", "matrix:*.", "matrix:*.a..b", strings.Repeat("a", 201) + ":x", "slack:T1\tT2"} {
		if _, err := ParseAccessRule(bad); err == nil {
			t.Errorf("ParseAccessRule(%q) accepted", bad)
		}
	}
}

func TestAccessRuleAdmits(t *testing.T) {
	m := func(user string) Identity { return Identity{Platform: "matrix", User: user} }
	for _, c := range []struct {
		rule    AccessRule
		who     Identity
		tenants string
		want    bool
	}{
		{"slack:T1", Identity{"slack", "U1"}, "T1", true},
		{"slack:T1", Identity{"slack", "U1"}, "T2", false},
		{"slack:T1", Identity{"discord", "U1"}, "T1", false},
		{"matrix:*.tchap.gouv.fr", m("@a:agent.tchap.gouv.fr"), "agent.tchap.gouv.fr", true},
		{"matrix:*.tchap.gouv.fr", m("@a:tchap.gouv.fr"), "tchap.gouv.fr", true},
		{"matrix:*.tchap.gouv.fr", m("@a:eviltchap.gouv.fr"), "eviltchap.gouv.fr", false},
		{"matrix:example.org", m("@a:EXAMPLE.org"), "EXAMPLE.org", true},
		{"matrix:example.org", m("@a:sub.example.org"), "sub.example.org", false},
		{"mail:gouv.fr", m("@a-x.gouv.fr:s"), "s mail:x.gouv.fr", true},
		{"mail:gouv.fr", m("@a-x.gouv.fr:s"), "s mail:notgouv.fr", false},
		// A tenant that merely looks like a mail domain is not one.
		{"mail:gouv.fr", m("@a:gouv.fr"), "gouv.fr", false},
		{"console:*", Identity{"console", "anna"}, "", true},
		{"user:slack:U1", Identity{"slack", "U1"}, "T9", true},
		{"user:slack:U1", Identity{"slack", "U2"}, "T9", false},
	} {
		if got := c.rule.Admits(c.who, Tenants(c.tenants)); got != c.want {
			t.Errorf("%s admits %s in %q = %v, want %v", c.rule, c.who, c.tenants, got, c.want)
		}
	}
}

func FuzzParseAccessRule(f *testing.F) {
	for _, s := range []string{"slack:T1", "matrix:*.tchap.gouv.fr", "mail:gouv.fr", "user:slack:U1", "console:*", "x:y:z"} {
		f.Add(s, "T1 mail:gouv.fr")
	}
	f.Fuzz(func(t *testing.T, s, tenants string) {
		r, err := ParseAccessRule(s)
		if err != nil {
			return
		}
		again, err := ParseAccessRule(string(r))
		if err != nil || again != r {
			t.Fatalf("%q -> %q -> %q, %v: not stable", s, r, again, err)
		}
		r.Admits(Identity{Platform: "slack", User: "U1"}, Tenants(tenants))
	})
}

func TestLinkCodes(t *testing.T) {
	for in, want := range map[string]string{"ABCD-EFGH": "ABCDEFGH", " abcd efgh ": "ABCDEFGH", "abcdefgh": "ABCDEFGH"} {
		if got := normalizeLinkCode(in); got != want {
			t.Errorf("normalizeLinkCode(%q) = %q, want %q", in, got, want)
		}
	}
	// 0, 1, I, L and O are not in codes: they read alike.
	for _, bad := range []string{"", "ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFG0", "ABCD-EFGI", "ABCD_EFGH", "ÀBCD-EFGH"} {
		if got := normalizeLinkCode(bad); got != "" {
			t.Errorf("normalizeLinkCode(%q) = %q, want none", bad, got)
		}
	}
}

func FuzzNormalizeLinkCode(f *testing.F) {
	f.Add("ABCD-EFGH")
	f.Add("abcd efgh")
	f.Fuzz(func(t *testing.T, s string) {
		n := normalizeLinkCode(s)
		if n == "" {
			return
		}
		if len(n) != 8 || normalizeLinkCode(n) != n || strings.Trim(n, linkAlphabet) != "" {
			t.Fatalf("%q -> %q", s, n)
		}
	})
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"mon 09:00", "mon,thu 8h30", "daily 7:00", "lun 9h", "weekdays 18:15"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseSchedule(s)
		if err != nil {
			return
		}
		again, err := ParseSchedule(sc.String())
		if err != nil || again.String() != sc.String() {
			t.Fatalf("%q -> %q -> %v, %v: not stable", s, sc.String(), again, err)
		}
	})
}
