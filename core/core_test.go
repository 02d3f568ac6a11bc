package core_test

import (
	"errors"
	"fmt"
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

func TestQuietHours(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	for _, c := range []struct {
		in   string
		want string
		bad  bool
	}{
		{in: "19-8", want: "19:00-08:00"},
		{in: "19h-8h", want: "19:00-08:00"},
		{in: "19h30 - 7h", want: "19:30-07:00"},
		{in: "12:00-14:00", want: "12:00-14:00"},
		{in: "19-19", bad: true},
		{in: "25-8", bad: true},
		{in: "19h5-8", bad: true},
		{in: "soir", bad: true},
	} {
		q, err := core.ParseQuietHours(c.in)
		if c.bad {
			if !errors.Is(err, core.ErrInvalid) {
				t.Errorf("ParseQuietHours(%q) = %v, %v", c.in, q, err)
			}
			continue
		}
		if err != nil || q.String() != c.want {
			t.Errorf("ParseQuietHours(%q) = %v, %v; want %s", c.in, q, err, c.want)
		}
	}
	night, _ := core.ParseQuietHours("19-8")
	lunch, _ := core.ParseQuietHours("12-14")
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, paris) }
	for _, c := range []struct {
		q    core.QuietHours
		t    time.Time
		want bool
	}{
		{night, at(22, 0), true}, {night, at(3, 0), true}, {night, at(7, 59), true},
		{night, at(8, 0), false}, {night, at(18, 59), false}, {night, at(19, 0), true},
		{lunch, at(12, 0), true}, {lunch, at(13, 59), true}, {lunch, at(14, 0), false},
		{core.QuietHours{}, at(3, 0), false},
	} {
		if got := c.q.Contains(c.t.UTC(), paris); got != c.want {
			t.Errorf("%s contains %s: %v", c.q, c.t.Format("15:04"), got)
		}
	}
	e := core.Expert{Available: true, Quiet: night}
	if e.AvailableAt(at(23, 0), paris) || !e.AvailableAt(at(10, 0), paris) {
		t.Error("AvailableAt ignores quiet hours")
	}
}

func FuzzParseQuietHours(f *testing.F) {
	for _, s := range []string{"19-8", "19h30-7h", "12:00-14:00", "-", "99-1", "1h-2h3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := core.ParseQuietHours(s)
		if err != nil {
			return
		}
		if q.From < 0 || q.From >= 1440 || q.To < 0 || q.To >= 1440 || q.From == q.To || !q.Set {
			t.Fatalf("ParseQuietHours(%q) = %+v", s, q)
		}
		again, err := core.ParseQuietHours(q.String())
		if err != nil || again != q {
			t.Fatalf("round trip of %q: %+v, %v", q.String(), again, err)
		}
	})
}

// TestFirstEligible checks that candidates are checked best first, a few at
// a time (as many as still lacking), that order is kept, and that checking
// stops once enough are found.
func TestFirstEligible(t *testing.T) {
	var asked [][]core.PersonID
	eligible := func(ids []core.PersonID) []bool {
		asked = append(asked, append([]core.PersonID(nil), ids...))
		ok := make([]bool, len(ids))
		for i, id := range ids {
			ok[i] = id%2 == 1 // odd ids only
		}
		return ok
	}
	got := core.FirstEligible([]core.PersonID{2, 3, 4, 6, 7, 8, 9, 11, 13}, 3, eligible)
	if fmt.Sprint(got) != "[3 7 9]" {
		t.Errorf("FirstEligible = %v, want [3 7 9]", got)
	}
	if want := "[[2 3 4] [6 7 8 9 11 13]]"; fmt.Sprint(asked) != want {
		t.Errorf("asked %v, want %v", asked, want)
	}
	if got := core.FirstEligible([]core.PersonID{1, 2, 3}, 5, nil); fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("without a filter: %v", got)
	}
	asked = nil
	if got := core.FirstEligible([]core.PersonID{2, 4}, 2, eligible); len(got) != 0 || len(asked) != 1 {
		t.Errorf("none eligible: %v, asked %v", got, asked)
	}
}
