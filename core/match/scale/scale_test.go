package scale

import (
	"context"
	"testing"
)

func TestRunSmall(t *testing.T) {
	rep, err := Run(context.Background(), Options{Experts: 200, Questions: 2000, Queries: 50, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Experts != 200 || rep.Questions != 2000 || rep.HeapMB <= 0 || rep.RouteP99 < rep.RouteP50 || rep.SimilarP99 < rep.SimilarP50 {
		t.Errorf("report = %+v", *rep)
	}
}

func TestCorpusDeterministic(t *testing.T) {
	a, b := NewCorpus(7, 100), NewCorpus(7, 100)
	for range 20 {
		ta, ba, _ := a.Text(a.Topic())
		tb, bb, _ := b.Text(b.Topic())
		if ta != tb || ba != bb {
			t.Fatalf("same seed, different text: %q / %q", ta+ba, tb+bb)
		}
	}
}

func TestRunRejectsBadSizes(t *testing.T) {
	if _, err := Run(context.Background(), Options{Experts: 0, Questions: 10}); err == nil {
		t.Error("Run accepted 0 experts")
	}
}
