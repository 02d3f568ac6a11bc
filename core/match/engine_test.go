package match

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// smallEngine returns an engine with a few questions answered by three
// experts with distinct topics.
func smallEngine(t testing.TB) *Engine {
	t.Helper()
	e := NewEngine(Config{})
	type qa struct {
		title, body string
		tags        []string
		asker       string
		answerers   []string
	}
	data := []qa{
		{"Publier un avis de marché public", "Comment publier un avis d'appel public à la concurrence ?", []string{"marchés-publics"}, "u1", []string{"alice"}},
		{"Seuils des marchés publics", "Quels sont les seuils de procédure pour un marché public de travaux ?", []string{"marchés-publics"}, "u2", []string{"alice", "bob"}},
		{"Congés annuels des agents contractuels", "Un agent contractuel a-t-il droit aux congés annuels ?", []string{"ressources-humaines"}, "u3", []string{"carol"}},
		{"Télétravail dans la fonction publique", "Combien de jours de télétravail pour un agent titulaire ?", []string{"ressources-humaines"}, "u1", []string{"carol"}},
		{"Budget primitif de la commune", "Quand voter le budget primitif ?", []string{"finances"}, "u2", []string{"bob"}},
	}
	at := t0
	for i, d := range data {
		id := fmt.Sprintf("q%d", i)
		e.AddQuestion(Question{ID: id, Author: d.asker, Title: d.title, Body: d.body, Tags: d.tags, At: at})
		for j, a := range d.answerers {
			at = at.Add(time.Hour)
			e.AddAnswer(Answer{ID: fmt.Sprintf("a%d-%d", i, j), QuestionID: id, Author: a, Body: "Voir la documentation.", At: at})
		}
		at = at.Add(24 * time.Hour)
	}
	return e
}

func ids(rs []Scored) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestRankTopicalExpertFirst(t *testing.T) {
	e := smallEngine(t)
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"public procurement", Query{Title: "Procédure adaptée pour un marché public", Tags: []string{"marchés-publics"}, Author: "u9", At: t0.AddDate(0, 0, 10)}, "alice"},
		{"human resources", Query{Title: "Congés d'un agent contractuel", Body: "droit aux congés annuels", Tags: []string{"ressources-humaines"}, Author: "u9", At: t0.AddDate(0, 0, 10)}, "carol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Rank(tt.q, 3)
			if len(got) == 0 || got[0].ID != tt.want {
				t.Errorf("Rank top = %v, want %s first", ids(got), tt.want)
			}
		})
	}
}

func TestRankNeverReturnsAsker(t *testing.T) {
	e := smallEngine(t)
	for _, asker := range []string{"alice", "bob", "carol"} {
		for _, k := range []int{0, 1, 2, 10} {
			q := Query{Title: "marché public seuils", Tags: []string{"marchés-publics"}, Author: asker, At: t0.AddDate(0, 0, 10)}
			if got := ids(e.Rank(q, k)); slices.Contains(got, asker) {
				t.Errorf("Rank(author=%s, k=%d) = %v contains the asker", asker, k, got)
			}
		}
	}
}

func TestRankEligible(t *testing.T) {
	e := smallEngine(t)
	tests := []struct {
		name    string
		allowed []string
	}{
		{"none", nil},
		{"only bob", []string{"bob"}},
		{"alice and carol", []string{"alice", "carol"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := Query{Title: "marché public", Author: "u9", At: t0.AddDate(0, 0, 10),
				Eligible: func(x string) bool { return slices.Contains(tt.allowed, x) }}
			got := ids(e.Rank(q, 0))
			slices.Sort(got)
			want := slices.Clone(tt.allowed)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Rank = %v, want exactly %v", got, want)
			}
		})
	}
}

func TestRankCandidatesAndProfiles(t *testing.T) {
	e := smallEngine(t)
	q := Query{Title: "Archivage des documents numériques", Body: "durée de conservation des archives", Author: "u9", At: t0.AddDate(0, 0, 10)}
	if got := ids(e.Rank(q, 0)); len(got) != 3 {
		t.Fatalf("Rank = %v, want the 3 answerers", got)
	}
	// A declared profile makes a newcomer a candidate, first on its topic.
	e.SetProfile("dan", []string{"archives", "documents numériques"}, "Archiviste départemental, conservation des archives publiques.")
	if got := ids(e.Rank(q, 0)); len(got) != 4 || got[0] != "dan" {
		t.Errorf("Rank with profile = %v, want dan first among 4", got)
	}
	if n, _ := e.Len(); n != 4 {
		t.Errorf("Len experts = %d, want 4", n)
	}
	e.RemoveProfile("dan")
	if got := ids(e.Rank(q, 0)); slices.Contains(got, "dan") {
		t.Errorf("Rank after RemoveProfile = %v, still has dan", got)
	}
	if n, _ := e.Len(); n != 3 {
		t.Errorf("Len experts = %d, want 3", n)
	}
}

func TestRankEmptyEngine(t *testing.T) {
	e := NewEngine(Config{})
	if got := e.Rank(Query{Title: "x"}, 5); len(got) != 0 {
		t.Errorf("Rank on empty engine = %v", got)
	}
	if got := e.Similar(Query{Title: "x"}, 5, false); len(got) != 0 {
		t.Errorf("Similar on empty engine = %v", got)
	}
}

func TestSimilar(t *testing.T) {
	e := smallEngine(t)
	q := Query{Title: "Seuils de procédure des marchés publics de travaux", At: t0.AddDate(0, 0, 10)}
	got := e.Similar(q, 2, false)
	if len(got) == 0 || got[0].ID != "q1" {
		t.Fatalf("Similar = %v, want q1 first", got)
	}
	if all := e.Similar(q, 0, false); len(all) != 5 {
		t.Errorf("Similar(k=0) returned %d questions, want all 5", len(all))
	}
	// Only resolved questions when asked.
	if got := e.Similar(q, 5, true); len(got) != 0 {
		t.Errorf("Similar(resolvedOnly) = %v before any MarkResolved", ids(got))
	}
	e.MarkResolved("q0")
	if got := ids(e.Similar(q, 5, true)); !slices.Equal(got, []string{"q0"}) {
		t.Errorf("Similar(resolvedOnly) = %v, want [q0]", got)
	}
}

func TestRankTopKMatchesFullRanking(t *testing.T) {
	e := smallEngine(t)
	q := Query{Title: "agent contractuel télétravail", Author: "u9", At: t0.AddDate(0, 0, 10)}
	full := ids(e.Rank(q, 0))
	for k := 1; k <= len(full); k++ {
		if got := ids(e.Rank(q, k)); !slices.Equal(got, full[:k]) {
			t.Errorf("Rank(k=%d) = %v, want prefix %v", k, got, full[:k])
		}
	}
}

func TestEngineConcurrentUse(t *testing.T) {
	e := smallEngine(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				at := t0.AddDate(0, 1, 0).Add(time.Duration(i) * time.Minute)
				switch w {
				case 0:
					id := fmt.Sprintf("c%d", i)
					e.AddQuestion(Question{ID: id, Author: "u5", Title: "marché public numéro " + id, At: at})
					e.AddAnswer(Answer{ID: "a" + id, QuestionID: id, Author: "erin", Body: "réponse", At: at})
					e.MarkResolved(id)
				case 1:
					e.SetProfile("frank", []string{"finances"}, "budget")
					e.RemoveProfile("frank")
				default:
					e.Rank(Query{Title: "marché public", Author: "u9", At: at}, 3)
					e.Similar(Query{Title: "marché public"}, 3, true)
				}
			}
		}()
	}
	wg.Wait()
}

func TestSelectTop(t *testing.T) {
	for n := 1; n < 40; n++ {
		cs := make([]cand, 97)
		for i := range cs {
			cs[i] = cand{i: int32(i), score: float64((i * 37) % 11)}
		}
		top := selectTop(slices.Clone(cs), n)
		slices.SortFunc(cs, func(a, b cand) int { return int(b.score - a.score) })
		minTop := top[0].score
		for _, c := range top {
			minTop = min(minTop, c.score)
		}
		if len(top) != n || minTop < cs[n-1].score {
			t.Fatalf("selectTop(n=%d) min %v, want >= %v", n, minTop, cs[n-1].score)
		}
	}
}

func TestSimilarPruningIsExact(t *testing.T) {
	e := NewEngine(Config{})
	e.pruneMin = 0 // prune as early as possible
	rng := rand.New(rand.NewPCG(3, 4))
	zipf := rand.NewZipf(rng, 1.2, 1, 400)
	text := func() string {
		var sb strings.Builder
		for range 12 {
			fmt.Fprintf(&sb, "mot%d ", zipf.Uint64())
		}
		return sb.String()
	}
	for i := range 3000 {
		e.AddQuestion(Question{ID: fmt.Sprint(i), Author: "u", Title: text(), At: t0})
	}
	for i := range 50 {
		q := Query{Title: text()}
		full := e.Similar(q, 0, false)
		for _, k := range []int{1, 5, 10} {
			got := e.Similar(q, k, false)
			if !slices.Equal(got, full[:k]) {
				t.Fatalf("query %d: Similar(k=%d) = %v, want %v", i, k, got, full[:k])
			}
		}
	}
}

func TestCompactKeepsRanking(t *testing.T) {
	a, b := smallEngine(t), smallEngine(t)
	b.Compact()
	// Updates after Compact append to the merged lists.
	for _, e := range []*Engine{a, b} {
		e.AddQuestion(Question{ID: "late", Author: "u4", Title: "marché public et budget primitif", Tags: []string{"finances"}, At: t0.AddDate(0, 0, 9)})
		e.AddAnswer(Answer{ID: "a-late", QuestionID: "late", Author: "alice", Body: "budget", At: t0.AddDate(0, 0, 9)})
	}
	for _, title := range []string{"marché public", "budget primitif commune", "télétravail agent"} {
		// Tags exercise the merged tag postings and their recency.
		q := Query{Title: title, Author: "u9", At: t0.AddDate(0, 0, 10), Tags: []string{"marchés-publics", "finances"}}
		ra, rb := a.Rank(q, 0), b.Rank(q, 0)
		if len(ra) != len(rb) {
			t.Fatalf("%q: %v vs %v", title, ra, rb)
		}
		for i := range ra {
			if ra[i].ID != rb[i].ID || math.Abs(ra[i].Score-rb[i].Score) > 1e-9 {
				t.Errorf("%q: rank %d: %v before Compact, %v after", title, i, ra[i], rb[i])
			}
		}
	}
}

// TestRankBehaviourFeatures checks each behavioural feature alone (every
// other weight disabled): the candidate with the signal ranks first.
func TestRankBehaviourFeatures(t *testing.T) {
	only := func(set func(c *Config)) Config {
		c := Config{WText: -1, WAnswerText: -1, WProfile: -1, WTag: -1, WActivity: -1, WSeen: -1,
			WSession: -1, WHour: -1, WAsker: -1, WTagRecent: -1, WReciprocity: -1, WBurst: -1}
		set(&c)
		return c
	}
	tests := []struct {
		name  string
		cfg   Config
		query Query
		want  string // first
		other string // ranked after want
	}{
		{
			// ann answered bob's question: bob may return the favour.
			name:  "reciprocity",
			cfg:   only(func(c *Config) { c.WReciprocity = 0.35 }),
			query: Query{Title: "question", Author: "ann", At: t0.Add(30 * 24 * time.Hour)},
			want:  "bob", other: "carl",
		},
		{
			// bob answered tag "y" more, and more recently, than carl.
			name:  "recent tag answers",
			cfg:   only(func(c *Config) { c.WTagRecent = 0.125 }),
			query: Query{Title: "question", Tags: []string{"y"}, Author: "zoe", At: t0.Add(30 * 24 * time.Hour)},
			want:  "bob", other: "carl",
		},
		{
			// carl answered three questions in the last hours, bob none.
			name:  "burst",
			cfg:   only(func(c *Config) { c.WBurst = 0.064 }),
			query: Query{Title: "question", Author: "zoe", At: t0.Add(20*24*time.Hour + 4*time.Hour)},
			want:  "bob", other: "carl",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine(tt.cfg)
			add := func(id, asker string, tags []string, day float64, answerers ...string) {
				at := t0.Add(time.Duration(day * 24 * float64(time.Hour)))
				e.AddQuestion(Question{ID: id, Author: asker, Title: "question " + id, Tags: tags, At: at})
				for i, a := range answerers {
					e.AddAnswer(Answer{ID: id + "-" + a, QuestionID: id, Author: a, Body: "answer", At: at.Add(time.Duration(i+1) * time.Minute)})
				}
			}
			add("q0", "erin", []string{"y"}, 0, "bob", "carl")
			add("q1", "bob", []string{"x"}, 1, "ann")
			add("q2", "erin", []string{"x"}, 2, "carl")
			add("q3", "dan", []string{"y"}, 10, "bob")
			add("q4", "dan", []string{"z"}, 20, "carl")
			add("q5", "dan", []string{"z"}, 20.05, "carl")
			add("q6", "dan", []string{"z"}, 20.1, "carl")
			add("q7", "erin", []string{"w"}, 0.5, "bob")
			pos := map[string]int{}
			for i, r := range e.Rank(tt.query, 0) {
				pos[r.ID] = i
			}
			w, okW := pos[tt.want]
			o, okO := pos[tt.other]
			if !okW || !okO || w > o {
				t.Errorf("ranking %v: want %s before %s", e.Rank(tt.query, 0), tt.want, tt.other)
			}
		})
	}
}
