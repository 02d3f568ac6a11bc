package core_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"entraide/core"
)

// TestDependencies keeps chat SDKs and database drivers out of core: core
// may use the standard library and the pure text-analysis modules listed
// here, nothing else.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "entraide/core/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := []string{"entraide/core", "github.com/kljensen/snowball", "golang.org/x/text"}
	for _, dep := range strings.Fields(string(out)) {
		ok := false
		for _, a := range allowed {
			if dep == a || strings.HasPrefix(dep, a+"/") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("core depends on %s: core must stay free of chat SDKs, database drivers and other modules", dep)
		}
	}
}

func TestStateMachine(t *testing.T) {
	allowed := map[[2]core.State]bool{}
	for _, p := range [][2]core.State{
		{core.StateOpen, core.StateRouted}, {core.StateOpen, core.StateAnswered},
		{core.StateOpen, core.StateResolved}, {core.StateOpen, core.StateExpired},
		{core.StateRouted, core.StateRouted}, {core.StateRouted, core.StateAnswered},
		{core.StateRouted, core.StateResolved}, {core.StateRouted, core.StateExpired},
		{core.StateAnswered, core.StateAnswered}, {core.StateAnswered, core.StateResolved},
	} {
		allowed[p] = true
	}
	for _, from := range core.States {
		for _, to := range core.States {
			if got := from.CanBecome(to); got != allowed[[2]core.State{from, to}] {
				t.Errorf("%s -> %s allowed = %v", from, to, got)
			}
		}
	}
	for _, s := range core.States {
		if s.Final() != (s == core.StateResolved || s == core.StateExpired) {
			t.Errorf("%s.Final() = %v", s, s.Final())
		}
	}
	if core.State("bogus").Valid() || core.State("bogus").CanBecome(core.StateOpen) {
		t.Error("unknown states must be invalid")
	}
	q := core.Question{ID: 7, State: core.StateResolved}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := q.Transition(core.StateAnswered, at); !errors.Is(err, core.ErrConflict) || q.State != core.StateResolved {
		t.Fatalf("Transition from resolved: %v, state %s", err, q.State)
	}
	q.State = core.StateRouted
	if err := q.Transition(core.StateAnswered, at); err != nil || q.State != core.StateAnswered || !q.UpdatedAt.Equal(at) {
		t.Fatalf("Transition: %v, %+v", err, q)
	}
}

func TestFoldAndTerms(t *testing.T) {
	for in, want := range map[string]string{
		"Marchés  publics !":  "marches publics",
		"Œuvre d'ÉTÉ, cœur":   "oeuvre d ete coeur",
		"  ":                  "",
		"congés\tpayés\n2026": "conges payes 2026",
		"ñandú, Straße":       "nandu strasse",
	} {
		if got := core.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"marchés publics":                    "marche public",
		"Le marché public de fournitures":    "marche public fourniture",
		"the cost of travel":                 "cost travel",
		"cahier des charges d'un bureau":     "cahier charge bureau",
		"bus gaz":                            "bus gaz",
		"Comment poser des congés annuels ?": "poser conge annuel",
	} {
		if got := strings.Join(core.Terms(in), " "); got != want {
			t.Errorf("Terms(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTopics(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    string
		invalid bool
	}{
		{in: "marchés publics, achats", want: "marchés publics|achats"},
		{in: " RH ;  congés  payés ;; ", want: "RH|congés payés"},
		{in: "Achats, achats, ACHATS", want: "Achats"},
		{in: "Marchés, marches", want: "Marchés"},
		{in: " , ;", invalid: true},
		{in: strings.Repeat("x", core.MaxTopicLen+1), invalid: true},
		{in: manyTopics(core.MaxTopics + 1), invalid: true},
	} {
		got, err := core.ParseTopics(c.in)
		if c.invalid {
			if !errors.Is(err, core.ErrInvalid) {
				t.Errorf("ParseTopics(%q) = %q, %v: want ErrInvalid", c.in, got, err)
			}
			continue
		}
		if err != nil || strings.Join(got, "|") != c.want {
			t.Errorf("ParseTopics(%q) = %q, %v: want %q", c.in, got, err, c.want)
		}
	}
}

func manyTopics(n int) string {
	var ts []string
	for i := range n {
		ts = append(ts, "topic "+strings.Repeat("x", i+1))
	}
	return strings.Join(ts, ",")
}

func TestConfigValidate(t *testing.T) {
	if err := core.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []core.Config{{RouteLimit: 0, DailyBudget: 5}, {RouteLimit: 3, DailyBudget: 0}, {RouteLimit: 51, DailyBudget: 5}} {
		if err := c.Validate(); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if _, err := core.NewNetwork(nil, nil, nil, core.DefaultConfig()); err == nil {
		t.Error("NewNetwork without a store must fail")
	}
}

func TestAmbiguousError(t *testing.T) {
	err := error(&core.AmbiguousError{Candidates: []core.QuestionID{3, 12}})
	if !errors.Is(err, core.ErrAmbiguous) || !strings.Contains(err.Error(), "3, 12") {
		t.Fatalf("%v", err)
	}
}

func FuzzFold(f *testing.F) {
	for _, s := range []string{"Marchés publics", "Œuvre d'été", "\xff", "a\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		folded := core.Fold(s)
		if strings.Contains(folded, "  ") || strings.TrimSpace(folded) != folded {
			t.Fatalf("Fold(%q) = %q has stray spaces", s, folded)
		}
		if core.Fold(folded) != folded {
			t.Fatalf("Fold is not idempotent on %q: %q then %q", s, folded, core.Fold(folded))
		}
		for _, term := range core.Terms(s) {
			if term == "" || strings.Contains(term, " ") {
				t.Fatalf("Terms(%q) has %q", s, term)
			}
		}
	})
}
