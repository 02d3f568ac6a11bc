package bots

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"entraide/core"
)

func FuzzParseUserRef(f *testing.F) {
	for _, s := range []string{"<@U123>", "<@U123|bob>", "<@!42>", "@alice:tchap.gouv.fr", "@bob", "bob", "<@>", "@\u200b"} {
		f.Add("slack", s)
		f.Add("matrix", s)
	}
	f.Fuzz(func(t *testing.T, platform, s string) {
		who, ok := ParseUserRef(core.Platform(platform), s)
		if !ok {
			return
		}
		if who.Platform != core.Platform(platform) || who.User == "" || len(who.User) > 255 || !utf8.ValidString(who.User) ||
			strings.ContainsFunc(who.User, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("<>|", r) }) {
			t.Fatalf("ParseUserRef(%q, %q) = %+v", platform, s, who)
		}
	})
}

func FuzzAddressedText(f *testing.F) {
	for _, s := range []string{"", "ask x", "!help", "bonjour", "  réponse 12 oui", "help:"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, text string, addressed bool) {
		got := AddressedText("!", text, addressed)
		if addressed && strings.TrimSpace(text) != "" && !strings.HasPrefix(got, "!") {
			t.Fatalf("AddressedText(%q, true) = %q: an addressed text must become a command", text, got)
		}
		if len(got) > len(text)+len("!ask ") {
			t.Fatalf("AddressedText(%q) grew to %q", text, got)
		}
	})
}
