package match

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestAnalyzeSameStems(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		lang string
	}{
		{"french plural", "marchés publics", "marché public", "fr"},
		{"french case and plural", "Collectivités Territoriales", "collectivité territoriale", "fr"},
		{"french ligature", "Œuvres d'art", "oeuvre art", "fr"},
		{"english plural", "public contracts", "public contract", "en"},
		{"english verb", "signing the contracts", "signed contract", "en"},
		{"spanish plural", "contratos públicos", "contrato público", "es"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := Analyze(tt.a, tt.lang), Analyze(tt.b, tt.lang)
			if !slices.Equal(a, b) {
				t.Errorf("Analyze(%q) = %v, Analyze(%q) = %v; want equal", tt.a, a, tt.b, b)
			}
			if len(a) == 0 {
				t.Errorf("Analyze(%q) is empty", tt.a)
			}
		})
	}
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name, text, hint string
		want             []string
	}{
		{"french elision and stop words", "L'État et les collectivités qu'il gère", "fr", []string{"etat", "collect", "ger"}},
		{"elision d' and l'", "d'abord l'administration", "fr", []string{"abord", "administr"}},
		{"english stop words", "What is the best way to store the data?", "en", []string{"best", "way", "store", "data"}},
		{"spanish", "¿Cuál es el plazo del contrato público?", "es", []string{"plaz", "contrat", "public"}},
		{"german is folded, not stemmed", "Die Straße ist nicht für Fahrräder", "de", []string{"strasse", "fahrrader"}},
		{"digits kept", "Article 3 du décret 2021", "fr", []string{"articl", "3", "decret", "2021"}},
		{"empty", "", "fr", nil},
		{"punctuation only", " -- !? ", "en", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Analyze(tt.text, tt.hint); !slices.Equal(got, tt.want) {
				t.Errorf("Analyze(%q, %q) = %q, want %q", tt.text, tt.hint, got, tt.want)
			}
		})
	}
}

func TestFold(t *testing.T) {
	tests := map[string]string{
		"Élève":    "eleve",
		"œuvre":    "oeuvre",
		"Æsthete":  "aesthete",
		"straße":   "strasse",
		"ÇA VA":    "ca va",
		"niño":     "nino",
		"plain":    "plain",
		"Ελληνικά": "ελληνικα",
	}
	for in, want := range tests {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDetectLanguage(t *testing.T) {
	tests := []struct {
		text, hint, want string
	}{
		{"Comment publier un marché public sur la plateforme de l'État ?", "en", "fr"},
		{"How do I publish a public contract on the platform?", "fr", "en"},
		{"¿Cómo publico un contrato en la plataforma del ayuntamiento?", "fr", "es"},
		{"Wie kann ich die Frage auf der Seite stellen und ist das nicht erlaubt?", "fr", "de"},
		{"marché public", "fr", "fr"},              // no function word: the hint
		{"SIRET", "", DefaultLang},                 // nothing at all: the default
		{"la plateforme the platform", "en", "en"}, // tie: the hint wins
	}
	for _, tt := range tests {
		if got := DetectLanguage(tt.text, tt.hint); got != tt.want {
			t.Errorf("DetectLanguage(%q, %q) = %q, want %q", tt.text, tt.hint, got, tt.want)
		}
	}
}

func TestStemCacheMatchesAnalyze(t *testing.T) {
	e := NewEngine(Config{})
	for _, text := range []string{"Les marchés publics de l'État", "the contracts were signed", "contratos públicos"} {
		for range 2 { // second pass hits the cache
			if got, want := e.analyze(text, "fr"), Analyze(text, "fr"); !slices.Equal(got, want) {
				t.Errorf("cached analyze(%q) = %v, want %v", text, got, want)
			}
		}
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{"marchés publics", "l'État", "qu'il", "Straße", "œ", "ǅ", "a\u0301", "x'y'z", strings.Repeat("é", 100), "\xff\xfe"} {
		f.Add(s, "fr")
	}
	f.Add("The contracts", "en")
	f.Add("contratos", "es")
	f.Add("Frage", "de")
	f.Fuzz(func(t *testing.T, text, hint string) {
		toks := Analyze(text, hint)
		for _, tok := range toks {
			if tok == "" {
				t.Fatalf("Analyze(%q) returned an empty token", text)
			}
			if !utf8.ValidString(tok) {
				t.Fatalf("Analyze(%q) returned invalid UTF-8 %q", text, tok)
			}
			if len(tok) > 4*maxTokenBytes {
				t.Fatalf("Analyze(%q) returned an oversized token %q", text, tok)
			}
			if Fold(tok) != tok {
				t.Fatalf("Analyze(%q) returned an unfolded token %q", text, tok)
			}
		}
		DetectLanguage(text, hint)
		seen := map[string]bool{}
		for _, term := range TopicTerms(text) {
			if term.Key == "" || seen[term.Key] || !utf8.ValidString(term.Word) || utf8.RuneCountInString(term.Word) < 4 {
				t.Fatalf("TopicTerms(%q) gave %+v", text, term)
			}
			seen[term.Key] = true
		}
	})
}

// tokenizeRef is the plain form of tokenize: a fresh string per token.
func tokenizeRef(text string) []rawToken {
	var out []rawToken
	var buf []byte
	flush := func() {
		if len(buf) == 0 {
			return
		}
		if len(buf) > maxTokenBytes {
			cut := maxTokenBytes
			for cut > 0 && !utf8.RuneStart(buf[cut]) {
				cut--
			}
			buf = buf[:cut]
		}
		lower := string(buf)
		buf = buf[:0]
		out = append(out, rawToken{lower: lower, folded: Fold(lower)})
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			buf = utf8.AppendRune(buf, unicode.ToLower(r))
		case unicode.Is(unicode.Mn, r) && len(buf) > 0:
			buf = utf8.AppendRune(buf, r)
		default:
			flush()
		}
	}
	flush()
	return out
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		"Bonjour, l'État publie un AVIS de marché",
		"e\u0301le\u0300ve ÉLÈVE élève",
		strings.Repeat("é", 30) + " " + strings.Repeat("ab", 40) + "Z" + strings.Repeat("x", 200),
		"bad \xff\xfe utf8 \xc3",
		"İstanbul ΣΟΦΙΑ ǅ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := tokenize(s, nil), tokenizeRef(s)
		if !slices.Equal(got, want) {
			t.Fatalf("tokenize(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestTopicTerms: the topic words of a text are its content words once
// each, the forms of one word under one key, shown as written; stop
// words, numbers and words of fewer than four letters are not topics.
func TestTopicTerms(t *testing.T) {
	var got []string
	keys := map[string]string{}
	for _, term := range TopicTerms("Les marchés publics et le marché public de 2026 : quelles règles pour les avenants ?") {
		got = append(got, term.Word)
		keys[term.Word] = term.Key
	}
	if want := []string{"marchés", "publics", "règles", "avenants"}; !slices.Equal(got, want) {
		t.Errorf("topic words %q, want %q", got, want)
	}
	for _, pair := range [][2]string{{"marché", "marchés"}, {"publics", "public"}} {
		a, b := TopicTerms(pair[0]), TopicTerms(pair[1])
		if len(a) != 1 || len(b) != 1 || a[0].Key != b[0].Key {
			t.Errorf("%q and %q are two topics: %v, %v", pair[0], pair[1], a, b)
		}
	}
	if len(keys) != len(got) {
		t.Errorf("words share keys: %v", keys)
	}
}
