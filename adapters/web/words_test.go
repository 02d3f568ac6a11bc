package web

import (
	"sort"
	"strings"
	"testing"
	"time"
)

// TestWordsComplete has every language say everything, with the same
// verbs to fill in.
func TestWordsComplete(t *testing.T) {
	for _, lang := range langs {
		for key, fr := range words["fr"] {
			w, ok := words[lang][key]
			if !ok {
				t.Errorf("%s lacks %q", lang, key)
				continue
			}
			if verbs(w) != verbs(fr) {
				t.Errorf("%s %q: verbs %s, French has %s", lang, key, verbs(w), verbs(fr))
			}
		}
		if len(words[lang]) != len(words["fr"]) {
			t.Errorf("%s has %d entries, French %d", lang, len(words[lang]), len(words["fr"]))
		}
	}
}

func verbs(s string) string {
	var out []string
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' {
			out = append(out, s[i:i+2])
			i++
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestPickLang(t *testing.T) {
	for _, c := range []struct{ person, accept, want string }{
		{"", "", "fr"},
		{"en", "fr", "en"},
		{"es", "en-US,en;q=0.9", "en"},
		{"", "de-DE,de;q=0.9,en;q=0.8,fr;q=0.7", "en"},
		{"", "en;q=0.5, fr;q=0.8", "fr"},
		{"", "en;q=bad", "fr"},
		{"", "EN-gb", "en"},
	} {
		if got := pickLang(c.person, c.accept); got != c.want {
			t.Errorf("pickLang(%q, %q) = %q, want %q", c.person, c.accept, got, c.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "–", 44*time.Minute + 40*time.Second: "45\u00a0min", 2 * time.Hour: "2\u00a0h",
		3*time.Hour + 20*time.Minute: "3\u00a0h\u00a020", 72 * time.Hour: "3\u00a0j",
	} {
		if got := formatDuration("fr", d); got != want {
			t.Errorf("%s: %q, want %q", d, got, want)
		}
	}
}

// TestNiceStep cuts axes at round values.
func TestNiceStep(t *testing.T) {
	for max, want := range map[float64]float64{0: 1, 3: 1, 7: 2, 8: 2, 9: 5, 26: 10, 120: 50} {
		if got := niceStep(max); got != want {
			t.Errorf("niceStep(%v) = %v, want %v", max, got, want)
		}
	}
}
