package bots

import (
	"strings"
	"testing"
	"time"

	"entraide/core"
)

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		text, name, args string
		ok               bool
	}{
		{"!ask Comment faire ?", "ask", "Comment faire ?", true},
		{"  !ASK   spaced  ", "ask", "spaced", true},
		{"!Réponse 3 oui", "reponse", "3 oui", true},
		{"!aide", "aide", "", true},
		{"!expert\tmarchés publics, achats", "expert", "marchés publics, achats", true},
		{"!", "", "", false},
		{"! ask", "", "", false},
		{"ask", "", "", false},
		{"hello !ask", "", "", false},
		{"", "", "", false},
		{"!a-b", "", "", false},
		{"!\xffx", "", "", false},
	} {
		name, args, ok := ParseCommand("!", c.text)
		if name != c.name || args != c.args || ok != c.ok {
			t.Errorf("ParseCommand(%q) = %q, %q, %v; want %q, %q, %v", c.text, name, args, ok, c.name, c.args, c.ok)
		}
	}
	if name, args, ok := ParseCommand("?", "?help me"); !ok || name != "help" || args != "me" {
		t.Errorf("prefix ?: %q %q %v", name, args, ok)
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"!ask q", "!Réponse 3 oui", "!", "!\xff", " !a\tb", "!answer #12 texte"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, args, ok := ParseCommand("!", s)
		if !ok {
			if name != "" || args != "" {
				t.Fatalf("not a command but %q %q", name, args)
			}
			return
		}
		if name == "" || strings.ContainsAny(name, " \t\n") || core.Fold(name) != name {
			t.Fatalf("ParseCommand(%q) name %q", s, name)
		}
		if strings.TrimSpace(args) != args || !strings.Contains(s, args) {
			t.Fatalf("ParseCommand(%q) args %q", s, args)
		}
		splitID(args)
	})
}

func TestSplitID(t *testing.T) {
	for _, c := range []struct {
		in   string
		id   core.QuestionID
		rest string
		ok   bool
	}{
		{"12 Partez du modèle", 12, "Partez du modèle", true},
		{"#7 oui", 7, "oui", true},
		{"#7", 7, "", true},
		{"Partez du modèle", 0, "Partez du modèle", false},
		{"# 7 oui", 0, "# 7 oui", false},
		{"-3 non", 0, "-3 non", false},
		{"0 rien", 0, "0 rien", false},
		{"99999999999999999999 trop", 0, "99999999999999999999 trop", false},
	} {
		id, rest, ok := splitID(c.in)
		if id != c.id || rest != c.rest || ok != c.ok {
			t.Errorf("splitID(%q) = %d, %q, %v; want %d, %q, %v", c.in, id, rest, ok, c.id, c.rest, c.ok)
		}
	}
}

// TestCatalog checks that every language says everything the default one
// says, with the same arguments.
func TestCatalog(t *testing.T) {
	base := catalog[Languages[0]]
	for _, lang := range Languages {
		msgs, ok := catalog[lang]
		if !ok {
			t.Fatalf("no catalog for %s", lang)
		}
		if len(msgs) != len(base) {
			t.Errorf("%s has %d messages, %s has %d", lang, len(msgs), Languages[0], len(base))
		}
		for key, text := range base {
			other, ok := msgs[key]
			if !ok || strings.TrimSpace(other) == "" {
				t.Errorf("%s lacks %s", lang, key)
				continue
			}
			if strings.Count(other, "{}") != strings.Count(text, "{}") {
				t.Errorf("%s: %s has %d arguments, %d in %s", lang, key, strings.Count(other, "{}"), strings.Count(text, "{}"), Languages[0])
			}
		}
	}
}

func TestSay(t *testing.T) {
	m := say("fr", msgExpertRequest, strong("3"), strong("Alice"), plain("#rh"), quote("@room <b>x</b>"), code("!answer 3 votre réponse"))
	want := "Question n°3 posée par Alice (#rh) :\n« @room <b>x</b> »\nPour répondre : !answer 3 votre réponse"
	if got := m.PlainText(); got != want {
		t.Fatalf("PlainText = %q, want %q", got, want)
	}
	kinds := []SpanKind{}
	for _, s := range m.Spans {
		kinds = append(kinds, s.Kind)
	}
	if kinds[len(kinds)-1] != Code || m.Spans[8].Kind != Quote || m.Spans[8].Text != "@room <b>x</b>" {
		t.Fatalf("spans %+v", m.Spans)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("say with the wrong number of arguments must panic")
		}
	}()
	say("en", msgResolved)
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{{Prefix: "", Lang: "fr"}, {Prefix: "! ", Lang: "fr"}, {Prefix: "!", Lang: "de"}, {Prefix: "!!!!!", Lang: "fr"}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestDestinations(t *testing.T) {
	ev := Event{ID: "e2", Platform: "matrix", Room: "!r", Thread: "e1", Sender: core.Identity{Platform: "matrix", User: "@a:x"}}
	if d := ReplyTo(ev); d != (Destination{Platform: "matrix", Room: "!r", Thread: "e1"}) {
		t.Errorf("ReplyTo in thread = %+v", d)
	}
	ev.Thread = ""
	if d := ReplyTo(ev); d.Thread != "e2" {
		t.Errorf("ReplyTo starts a thread on the message: %+v", d)
	}
	ev.DM = true
	if d := ReplyTo(ev); d != (Destination{Platform: "matrix", Room: "!r", User: "@a:x"}) {
		t.Errorf("ReplyTo in DM = %+v", d)
	}
	ref := core.MessageRef{Platform: "console", Room: "#g", Message: "3", Thread: "3"}
	if d := OriginOf(ref, core.Identity{Platform: "console", User: "alice"}); d != (Destination{Platform: "console", Room: "#g", Thread: "3"}) {
		t.Errorf("OriginOf = %+v", d)
	}
	ref.DM, ref.Room = true, ""
	if d := OriginOf(ref, core.Identity{Platform: "console", User: "alice"}); d != (Destination{Platform: "console", User: "alice"}) {
		t.Errorf("OriginOf DM = %+v", d)
	}
}

func TestParseUntil(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "2026-12-01", want: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{in: "01/12/2026", want: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{in: "3j", want: now.Add(72 * time.Hour)},
		{in: "3 jours", want: now.Add(72 * time.Hour)},
		{in: "2w", want: now.Add(14 * 24 * time.Hour)},
		{in: "2 Semaines", want: now.Add(14 * 24 * time.Hour)},
		{in: "5h", want: now.Add(5 * time.Hour)},
		{in: "10 days", want: now.Add(240 * time.Hour)},
		{in: "0j", bad: true},
		{in: "", bad: true},
		{in: "demain", bad: true},
		{in: "2026-13-01", bad: true},
		{in: "9999j", bad: true},
	} {
		got, err := ParseUntil(c.in, now)
		if c.bad {
			if err == nil {
				t.Errorf("ParseUntil(%q) = %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseUntil(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func FuzzParseUntil(f *testing.F) {
	for _, s := range []string{"2026-12-01", "3j", "2 semaines", "01/12/2026", "999w", "\xff"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseUntil(s, now)
		if err == nil && got.Before(time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("ParseUntil(%q) = %v", s, got)
		}
	})
}

func TestAddressedText(t *testing.T) {
	for _, c := range []struct {
		text      string
		addressed bool
		want      string
	}{
		{"", true, "!help"},
		{"", false, ""},
		{"!ask déjà", true, "!ask déjà"},
		{"ask Comment faire ?", true, "!ask Comment faire ?"},
		{"Réponse: 3 oui", false, "!Réponse: 3 oui"},
		{"chercher congés", false, "!chercher congés"},
		{"Comment faire ?", true, "!ask Comment faire ?"},
		{"bonjour", false, "bonjour"},
	} {
		if got := AddressedText("!", c.text, c.addressed); got != c.want {
			t.Errorf("AddressedText(%q, %v) = %q, want %q", c.text, c.addressed, got, c.want)
		}
	}
	if q, ok := AskArgs("!", "!Question Comment ?"); !ok || q != "Comment ?" {
		t.Errorf("AskArgs = %q, %v", q, ok)
	}
	if _, ok := AskArgs("!", "!help me"); ok {
		t.Error("AskArgs took !help for a question")
	}
	// Every command the bot has is a command word, and only those.
	if !IsCommandWord("MINE") || !IsCommandWord("réponse") || !IsCommandWord("Poser") || IsCommandWord("bonjour") {
		t.Error("IsCommandWord disagrees with the bot's commands")
	}
}

// TestClosestCommand checks the "did you mean" hint of unknown commands:
// one typo away for short names, two for longer ones, accents and case
// ignored, nothing for names far from every command.
func TestClosestCommand(t *testing.T) {
	for _, c := range []struct {
		name, want string
	}{
		{"aks", "ask"},         // two letters swapped
		{"hlep", "help"},       // swapped
		{"Répnse", "reponse"},  // a letter dropped, accent and case ignored
		{"reponce", "reponse"}, // changed
		{"offrees", "offres"},  // added
		{"abonements", "abonnements"},
		{"xyz", ""},
		{"bonjour", ""},
		{"", ""},
		{strings.Repeat("a", 200), ""},
	} {
		got, ok := closestCommand(c.name)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("closestCommand(%q) = %q, %v, want %q", c.name, got, ok, c.want)
		}
	}
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"ask", "aks", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3}} {
		if got := editDistance([]rune(c.a), []rune(c.b)); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
