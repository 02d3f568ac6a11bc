//go:build !race

// The full-data replay is slow under the race detector, and the race-prone
// code paths are covered by the synthetic tests; this file is skipped there.

package replay

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// cqaDir finds the developer copy of the CQA data: $ENTRAIDE_CQA_DIR, else
// ../shared/data/cqa next to the repository root (the folder with go.mod).
func cqaDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("ENTRAIDE_CQA_DIR"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "data", "cqa")
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// refResults is the part of the reference scorer's results.json we check.
type refResults struct {
	PerSite []refSite `json:"per_site"`
	Pooled  refSite   `json:"pooled"`
}

type refSite struct {
	Site    string                         `json:"site"`
	Routing map[string]map[string]*float64 `json:"routing"`
	Dedupe  map[string]map[string]*float64 `json:"dedupe"`
}

func TestBaselinesMatchReferenceScorer(t *testing.T) {
	dir := cqaDir(t)
	raw, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if dir == "" || err != nil {
		t.Skipf("CQA data not found (set ENTRAIDE_CQA_DIR to the folder with results.json and <site>/events.jsonl): %v", err)
	}
	var ref refResults
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatalf("parse results.json: %v", err)
	}
	rep, err := Run(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	close := func(what string, got, want *float64) {
		t.Helper()
		switch {
		case got == nil && want == nil:
		case got == nil || want == nil:
			t.Errorf("%s: got %v, want %v", what, got, want)
		case math.Abs(*got-*want) > 0.00051: // results.json is rounded to 4 decimals
			t.Errorf("%s: got %.4f, want %.4f", what, *got, *want)
		}
	}
	check := func(site string, r refSite, routing func(m string) Metrics, dedupe func(m string) DedupeMetrics) {
		for _, m := range []string{MethodMostActive, MethodBM25, MethodRandom} {
			got := routing(m)
			close(site+" "+m+" MRR", got.MRR, r.Routing[m]["MRR"])
			close(site+" "+m+" R@5", got.R5, r.Routing[m]["R@5"])
			close(site+" "+m+" P@1", got.P1, r.Routing[m]["P@1"])
		}
		for _, m := range []string{MethodBM25, MethodRandom} {
			got := dedupe(m)
			close(site+" dedupe "+m+" R@5", got.R5, r.Dedupe[m]["R@5"])
			close(site+" dedupe "+m+" MRR", got.MRR, r.Dedupe[m]["MRR"])
		}
	}
	check("pooled", ref.Pooled,
		func(m string) Metrics { return rep.Methods[m].Pooled },
		func(m string) DedupeMetrics { return rep.Dedupe[m].Pooled })
	for _, r := range ref.PerSite {
		check(r.Site, r,
			func(m string) Metrics { return rep.Methods[m].Sites[r.Site] },
			func(m string) DedupeMetrics { return rep.Dedupe[m].Sites[r.Site] })
	}
	if len(ref.PerSite) != len(rep.Sites) {
		t.Errorf("replayed %d sites, reference has %d", len(rep.Sites), len(ref.PerSite))
	}
	e, best := rep.Methods[MethodEntraide].Pooled, rep.Methods[MethodMostActive].Pooled
	t.Logf("entraide pooled MRR %.3f R@5 %.3f P@1 %.3f (most_active %.3f %.3f %.3f)", *e.MRR, *e.R5, *e.P1, *best.MRR, *best.R5, *best.P1)
}
