package matrix

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/id"
)

func TestParseTchapID(t *testing.T) {
	for _, tc := range []struct {
		id, name, domain string
		ok               bool
	}{
		{"@jean.dupont-developpement-durable.gouv.fr:agent.dev-durable.tchap.gouv.fr", "Jean Dupont", "developpement-durable.gouv.fr", true},
		{"@jean-pierre.dupont-interieur.gouv.fr:agent.interieur.tchap.gouv.fr", "Jean-Pierre Dupont", "interieur.gouv.fr", true},
		{"@marie.curie-recherche.gouv.fr:agent.tchap.gouv.fr", "Marie Curie", "recherche.gouv.fr", true},
		{"@dupont-finances.gouv.fr:agent.finances.tchap.gouv.fr", "Dupont", "finances.gouv.fr", true},
		{"@alice:example.org", "", "", false},
		{"@alice-bob:example.org", "", "", false},
		{"@jean.dupont-:x", "", "", false},
		{"jean.dupont-interieur.gouv.fr:x", "", "", false},
		{"@-interieur.gouv.fr:x", "", "", false},
	} {
		name, domain, ok := ParseTchapID(tc.id)
		if name != tc.name || domain != tc.domain || ok != tc.ok {
			t.Errorf("ParseTchapID(%q) = %q, %q, %v, want %q, %q, %v", tc.id, name, domain, ok, tc.name, tc.domain, tc.ok)
		}
	}
}

func FuzzParseTchapID(f *testing.F) {
	f.Add("@jean.dupont-developpement-durable.gouv.fr:agent.dev-durable.tchap.gouv.fr")
	f.Add("@a-b.c:d")
	f.Fuzz(func(t *testing.T, id string) {
		name, domain, ok := ParseTchapID(id)
		if !ok {
			if name != "" || domain != "" {
				t.Fatalf("not ok but %q %q", name, domain)
			}
			return
		}
		if name == "" || !strings.Contains(domain, ".") || strings.ContainsAny(domain, ":@ ") {
			t.Fatalf("ParseTchapID(%q) = %q, %q", id, name, domain)
		}
	})
}

func TestStripMention(t *testing.T) {
	bot := id.UserID("@entraide:agent.tchap.gouv.fr")
	for in, want := range map[string]string{
		"entraide: ask Quel délai ?":                      "ask Quel délai ?",
		"@entraide:agent.tchap.gouv.fr !ask Quel délai ?": "!ask Quel délai ?",
		"Entraide, aide":                                  "aide",
		"@entraide quel délai ?":                          "quel délai ?",
		"bonjour entraide":                                "bonjour entraide",
	} {
		if got := StripMention(in, bot); got != want {
			t.Errorf("StripMention(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTenants(t *testing.T) {
	for user, want := range map[string]string{
		"@jean.dupont-interieur.gouv.fr:agent.interieur.tchap.gouv.fr": "agent.interieur.tchap.gouv.fr mail:interieur.gouv.fr",
		"@alice:Example.org":    "example.org",
		"@bob:example.org:8448": "example.org:8448",
		"nocolon":               "",
		"@x:":                   "",
	} {
		if got := Tenants(user); got != want {
			t.Errorf("Tenants(%q) = %q, want %q", user, got, want)
		}
	}
}
