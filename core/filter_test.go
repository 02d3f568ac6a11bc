package core_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"entraide/core"
)

func TestParseFilter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"informatique", "informatique"},
		{"Lieu:Lyon  Informatique", "place:lyon informatique"},
		{`lieu:"Saint Denis" org:DINUM`, `place:"saint denis" org:dinum`},
		{`"marchés publics" cat:A+`, `"marches publics" category:a`},
		{"contrat:CDD télétravail", "contract:cdd teletravail"},
		{"note:xyz", `"note xyz"`}, // an unknown key is a word like others
		{`lieu:"unclosed quote`, `place:"unclosed quote"`},
		{"!!! ???", ""},
	} {
		f, err := core.ParseFilter(tc.in)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tc.in, err)
		}
		if got := f.String(); got != tc.want {
			t.Errorf("ParseFilter(%q) = %q, want %q", tc.in, got, tc.want)
		}
		again, err := core.ParseFilter(f.String())
		if err != nil || again.String() != f.String() {
			t.Errorf("ParseFilter(%q).String() does not read back: %q, %v", tc.in, again.String(), err)
		}
	}
	if _, err := core.ParseFilter(strings.Repeat("a ", core.MaxConditions+1)); err == nil {
		t.Error("too many conditions accepted")
	}
	if _, err := core.ParseFilter(strings.Repeat("a", core.MaxConditionLen+1)); err == nil {
		t.Error("too long a word accepted")
	}
}

func TestFilterMatches(t *testing.T) {
	o := core.Offer{Title: "Développeur·se web senior", Employer: "DINUM", Location: "Saint-Denis (93)", Category: "A", Contract: "CDD 3 ans"}
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{"", true},
		{"dev web", true},    // word starts
		{"web dev", true},    // two conditions, each anywhere
		{`"web dev"`, false}, // one condition: in order
		{"eloppeur", false},  // a word's start, not its middle
		{`lieu:"saint denis"`, true},
		{"lieu:dinum", false}, // the place field only
		{"org:dinum cat:a contrat:cdd", true},
		{"cat:b", false},
		{"93", true},
	} {
		f, err := core.ParseFilter(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Matches(o.Fields()); got != tc.want {
			t.Errorf("%q matches = %v, want %v", tc.filter, got, tc.want)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "lieu:Lyon info", `org:"a b" "c d"`, `"`, `lieu:"`, "cat:A+ x:y:z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := core.ParseFilter(s)
		if err != nil {
			return
		}
		out := flt.String()
		if !utf8.ValidString(out) {
			t.Fatalf("String() of %q is not UTF-8", s)
		}
		again, err := core.ParseFilter(out)
		if err != nil || again.String() != out {
			t.Fatalf("ParseFilter(%q).String() = %q reads back as %q, %v", s, out, again.String(), err)
		}
		flt.Matches(core.ItemFields{Title: s})
	})
}

func TestOfferNormalize(t *testing.T) {
	posted := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	o := core.Offer{Title: "  Juriste \n marchés ", Link: "https://ex.gouv.fr/o?id=1", Posted: posted}
	if err := o.Normalize(); err != nil {
		t.Fatal(err)
	}
	if o.Title != "Juriste marchés" || !o.Expires.Equal(posted.Add(core.OfferLifetime)) {
		t.Fatalf("normalized = %q, expires %s", o.Title, o.Expires)
	}
	for field, bad := range map[string]core.Offer{
		"title":       {Posted: posted},
		"link":        {Title: "x", Link: "javascript:alert(1)", Posted: posted},
		"employer":    {Title: "x", Employer: strings.Repeat("é", core.MaxFieldLen), Posted: posted},
		"description": {Title: "x", Description: "\xff", Posted: posted},
	} {
		err := bad.Normalize()
		var fe *core.FieldError
		if !asFieldError(err, &fe) || fe.Field != field {
			t.Errorf("bad %s: error %v", field, err)
		}
	}
	e := core.Event{Title: "Atelier", Start: posted, TimeZone: "Mars/Olympus", Posted: posted}
	var fe *core.FieldError
	if err := e.Normalize(); !asFieldError(err, &fe) || fe.Field != "timezone" {
		t.Errorf("bad time zone: %v", err)
	}
	e = core.Event{Title: "Atelier", Start: posted, End: posted.Add(-time.Minute), Posted: posted}
	if err := e.Normalize(); !asFieldError(err, &fe) || fe.Field != "end" {
		t.Errorf("end before start: %v", err)
	}
}

func asFieldError(err error, fe **core.FieldError) bool {
	return errors.As(err, fe) && errors.Is(err, core.ErrInvalid)
}
