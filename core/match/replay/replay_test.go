package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// synthStream writes a small synthetic site stream (no real data) to
// dir/<site>/events.jsonl. mutate may alter each raw event before writing.
func synthStream(t *testing.T, dir, site string, seed uint64, mutate func(i int, ev map[string]any)) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	topics := [][]string{
		{"marché", "public", "seuil", "procédure", "avis"},
		{"agent", "congés", "contractuel", "télétravail", "carrière"},
		{"budget", "commune", "dotation", "fiscalité", "compte"},
	}
	users := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"}
	at := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	var lines []map[string]any
	qn, an := 0, 0
	for d := 0; d < 40; d++ {
		for k := 0; k < 3; k++ {
			at = at.Add(time.Duration(1+rng.IntN(4)) * time.Hour)
			tp := rng.IntN(len(topics))
			words := make([]string, 6)
			for i := range words {
				words[i] = topics[tp][rng.IntN(len(topics[tp]))]
			}
			qn++
			qid := fmt.Sprintf("%s:q%d", site, qn)
			asker := users[rng.IntN(len(users))]
			lines = append(lines, map[string]any{
				"type": "question", "id": qid, "site": site, "at": at.Format("2006-01-02T15:04:05.000Z"),
				"author": site + ":" + asker, "title": strings.Join(words[:3], " "), "body": strings.Join(words, " "),
				"tags": []string{fmt.Sprintf("t%d", tp)}, "eval": d >= 8,
			})
			for a := 0; a < 1+rng.IntN(2); a++ {
				at = at.Add(time.Duration(1+rng.IntN(50)) * time.Minute)
				an++
				// Experts lean to one topic each.
				who := users[(tp*2+rng.IntN(3))%len(users)]
				lines = append(lines, map[string]any{
					"type": "answer", "id": fmt.Sprintf("%s:a%d", site, an), "question": qid,
					"at": at.Format("2006-01-02T15:04:05.000Z"), "author": site + ":" + who,
					"body": "voir " + strings.Join(topics[tp][:2], " "), "score": rng.IntN(5), "accepted": rng.IntN(2) == 0,
				})
			}
			if qn > 5 && rng.IntN(10) == 0 {
				lines = append(lines, map[string]any{
					"type": "link", "question": qid, "target": fmt.Sprintf("%s:q%d", site, 1+rng.IntN(qn-1)),
					"kind": "duplicate", "at": at.Format("2006-01-02T15:04:05.000Z"),
				})
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, site), 0o755); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for i, ev := range lines {
		if mutate != nil {
			mutate(i, ev)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(b)
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, site, "events.jsonl"), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rankingsOf replays dir and returns the entraide ranking of every question.
func rankingsOf(t *testing.T, dir string, opts Options) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	opts.Trace = func(site, questionID string, ranking []string) {
		got[questionID] = ranking
	}
	sites, err := Sites(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, site := range sites {
		evs, err := LoadEvents(filepath.Join(dir, site, "events.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := RunStreams(context.Background(), []string{site}, [][]Event{evs}, opts); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

func TestCausality(t *testing.T) {
	base := t.TempDir()
	synthStream(t, base, "s1", 1, nil)
	want := rankingsOf(t, base, Options{})
	if len(want) == 0 {
		t.Fatal("no rankings traced")
	}
	tests := []struct {
		name   string
		mutate func(i int, ev map[string]any)
	}{
		{"score", func(i int, ev map[string]any) {
			if ev["type"] == "answer" {
				ev["score"] = 1000 - i
			}
		}},
		{"accepted", func(i int, ev map[string]any) {
			if ev["type"] == "answer" {
				ev["accepted"] = i%3 == 0
			}
		}},
		{"eval", func(i int, ev map[string]any) {
			if ev["type"] == "question" {
				ev["eval"] = i%2 == 0
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			synthStream(t, dir, "s1", 1, tt.mutate)
			got := rankingsOf(t, dir, Options{})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("changing %q changed the entraide rankings", tt.name)
			}
		})
	}
}

func TestBudget(t *testing.T) {
	dir := t.TempDir()
	synthStream(t, dir, "s1", 2, nil)
	synthStream(t, dir, "s2", 3, nil)
	for _, n := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			asked := map[string]int{} // day|expert -> asks
			opts := Options{Budget: n, AskTrace: func(site, day, expert string) {
				asked[site+"|"+day+"|"+expert]++
			}}
			rep, err := Run(context.Background(), dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			b := rep.Budget
			if b == nil || b.NPerDay != n {
				t.Fatalf("budget report = %+v", b)
			}
			if b.AskedMaxPerDay > n {
				t.Errorf("asked_max_per_day = %d > budget %d", b.AskedMaxPerDay, n)
			}
			total := 0
			for key, c := range asked {
				total += c
				if c > n {
					t.Errorf("%s asked %d times, budget %d", key, c, n)
				}
			}
			if total == 0 || total != b.Asked {
				t.Errorf("traced %d asks, report says %d", total, b.Asked)
			}
			if b.Entraide.Pooled.N != rep.Methods[MethodEntraide].Pooled.N {
				t.Errorf("budget scored %d questions, unbudgeted %d", b.Entraide.Pooled.N, rep.Methods[MethodEntraide].Pooled.N)
			}
		})
	}
}

func TestAskerNeverRanked(t *testing.T) {
	dir := t.TempDir()
	synthStream(t, dir, "s1", 4, nil)
	evs, err := LoadEvents(filepath.Join(dir, "s1", "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	askers := map[string]string{}
	for _, ev := range evs {
		if ev.Type == "question" {
			askers[ev.ID] = ev.Author
		}
	}
	for qid, ranking := range rankingsOf(t, dir, Options{}) {
		for _, u := range ranking {
			if u == askers[qid] {
				t.Errorf("question %s: asker %s is ranked", qid, u)
			}
		}
	}
}

func TestPyTokens(t *testing.T) {
	tests := map[string][]string{
		"Hello, World!":      {"hello", "world"},
		"l'État d'après":     {"l", "état", "d", "après"},
		"snake_case x2 3.14": {"snake_case", "x2", "3", "14"},
		"a\u0301b":           {"a", "b"}, // a combining mark is not \w
		"İstanbul":           {"i", "stanbul"},
		"":                   nil,
	}
	for in, want := range tests {
		if got := pyTokens(in, nil); !reflect.DeepEqual(got, want) {
			t.Errorf("pyTokens(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExpectedRandom(t *testing.T) {
	// One gold among c: MRR = H(c)/c, R@5 = min(5,c)/c, P@1 = 1/c.
	for _, c := range []int{1, 2, 5, 10, 100} {
		h := 0.0
		for r := 1; r <= c; r++ {
			h += 1 / float64(r)
		}
		mrr, r5, p1 := expectedRandom(c, 1, 5)
		if math.Abs(mrr-h/float64(c)) > 1e-12 || math.Abs(r5-float64(min(5, c))/float64(c)) > 1e-12 || math.Abs(p1-1/float64(c)) > 1e-12 {
			t.Errorf("expectedRandom(%d, 1) = %v %v %v", c, mrr, r5, p1)
		}
	}
}
