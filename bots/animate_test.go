package bots_test

import (
	"strings"
	"testing"
	"time"

	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// animationScenario: anna administers the community; she makes bob an
// animator; the community lives a week; the draft reaches the animators
// the day before publication; bob edits it; it publishes itself once.
// t0 is Monday 2 November 2026, 9:00 UTC: the next digest is published on
// Monday 9 November at 9:00, drafted on Sunday 8 at 9:00. Then carol may
// not stop the room's announcements.
var animationScenario = []step{
	{user: "anna", room: "#general", text: "!role animateur @bob"},
	{user: "carol", room: "#general", text: "!role animateur @carol"},
	{user: "anna", room: "#general", text: "!annonces lettre"},
	{user: "bob", room: "#general", text: "!expert marchés publics"},
	{user: "alice", room: "#general", text: "!ask Comment passer un marché public ?"},
	{user: "bob", text: "!answer Avec une procédure adaptée."},
	{user: "alice", room: "#general", text: "!resolve"},
	{user: "carol", room: "#general", text: "!ask Inscription au concours d'attaché ?"},
	{user: "carol", text: "!digest"},
	{user: "carol", text: "!stats"},
	{user: "anna", text: "!stats"},
	{wait: 5*24*time.Hour + 23*time.Hour}, // Sunday 8, 8:00: no draft yet
	{wait: 2 * time.Hour},                 // 10:00: the draft went to anna and bob
	{user: "bob", text: "!digest intro Bonne semaine à toutes et à tous !"},
	{user: "bob", text: "!digest remove 2"},
	{user: "carol", text: "!digest remove 1"},
	{wait: 23 * time.Hour}, // Monday 9, 9:00+: published in #general
	{user: "bob", text: "!digest publish"},
	{wait: 24 * time.Hour},     // Tuesday 10: carol's question expires, a day after the animators heard of it
	{wait: 6 * 24 * time.Hour}, // the next week's draft, nothing twice
	// Last, so that the crash points of the steps above stay where they were.
	{user: "carol", room: "#general", text: "!annonces off"}, // refused: the community has animators
}

func animationConfig() core.Config {
	cfg := core.DefaultConfig()
	cfg.Admins = []core.Identity{{Platform: "test", User: "anna"}}
	return cfg
}

// TestAnimationConversation checks what each person sees, on both backends.
func TestAnimationConversation(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			sender := newPlatformFake()
			playSteps(t, open(t), sender, nil, animationConfig(), animationScenario)
			got := map[string]string{}
			for _, key := range sender.order {
				line := sender.visible[key]
				where, _, _ := strings.Cut(line, ": ")
				if strings.HasPrefix(where, "#general/") && !strings.HasPrefix(where, "#general//") {
					where = "#general/thread"
				}
				got[where] += line + "\n"
			}
			expect := func(where string, parts ...string) {
				t.Helper()
				for _, p := range parts {
					if !strings.Contains(got[where], p) {
						t.Errorf("%s did not see %q; saw:\n%s", where, p, got[where])
					}
				}
			}
			expect("#general/thread", "C'est fait : rôle animateur donné à bob.", "Seuls les administrateurs de la communauté donnent les rôles.",
				"Ce salon recevra les nouveautés : lettre de la communauté.")
			expect("//carol", "Cette commande est réservée aux animateurs de la communauté.")
			if strings.Count(got["#general/thread"], "Cette commande est réservée aux animateurs de la communauté.") != 1 {
				t.Errorf("carol's !annonces off was not refused once in #general:\n%s", got["#general/thread"])
			}
			expect("//anna", "Les 30 derniers jours : 2 questions, 2 personnes ont demandé, 1 ont répondu ; 1 experts dans l'annuaire.",
				"Taux de réponse : 50 %", "Sujets sans expert : « attache » (1)",
				"Brouillon de la lettre n°1, à publier le lundi 9 novembre 2026 :")
			for _, animator := range []string{"//anna", "//bob"} {
				expect(animator, "Aucun expert n'a répondu à la question n°2 posée par carol (#general) :")
			}
			expect("#general/thread", "@carol, personne n'a pu répondre à votre question n°2 à temps")
			expect("//bob", "Brouillon de la lettre n°1", "1 Questions résolues · « Comment passer un marché public ? »",
				"« Bonne semaine à toutes et à tous ! »", "2 Questions qui attendent un expert · « Inscription au concours d'attaché ? » (retiré)",
				"Cette lettre est déjà publiée.")
			// One digest a week: the first one, then the quiet second week's.
			if strings.Count(got["#general//"], "La lettre de la communauté, du 2 novembre") != 1 ||
				strings.Count(got["#general//"], "La lettre de la communauté, du 9 novembre 2026 au 16 novembre 2026") != 1 {
				t.Fatalf("#general got:\n%s", got["#general//"])
			}
			expect("#general//", "La lettre de la communauté, du 2 novembre 2026 au 9 novembre 2026", "« Bonne semaine à toutes et à tous ! »",
				"Questions résolues", "« Comment passer un marché public ? » → « Avec une procédure adaptée. »", "Nouveaux experts")
			if strings.Contains(got["#general//"], "concours") {
				t.Errorf("the removed item was published:\n%s", got["#general//"])
			}
			if strings.Count(got["//bob"], "Brouillon de la lettre n°2") != 1 {
				t.Errorf("bob got the next draft %d times", strings.Count(got["//bob"], "Brouillon de la lettre n°2"))
			}
			for key, n := range sender.calls {
				if n != 1 {
					t.Errorf("%s sent %d times", key, n)
				}
			}
		})
	}
}

// TestAnimationCrashAnywhere kills the pipeline at every step of the
// animation scenario: the digest is drafted and published once, and people
// see what they see without a crash.
func TestAnimationCrashAnywhere(t *testing.T) {
	crashEverywhere(t, animationConfig(), animationScenario)
}

func TestParseUserRef(t *testing.T) {
	for in, want := range map[string]string{
		"<@U123>": "U123", "<@U123|bob>": "U123", "<@!4567>": "4567", "@bob": "bob", "bob": "bob",
	} {
		id, ok := bots.ParseUserRef("slack", in)
		if !ok || id.User != want {
			t.Errorf("ParseUserRef(%q) = %v %v, want %s", in, id, ok, want)
		}
	}
	if id, ok := bots.ParseUserRef("matrix", "@alice:tchap.gouv.fr"); !ok || id.User != "@alice:tchap.gouv.fr" {
		t.Errorf("matrix id = %v %v", id, ok)
	}
	for _, bad := range []string{"", "<@>", "a b", "<@U1|x> y"} {
		if _, ok := bots.ParseUserRef("slack", bad); ok {
			t.Errorf("ParseUserRef(%q) accepted", bad)
		}
	}
}
