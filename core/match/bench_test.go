package match_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"

	"entraide/core/match"
	"entraide/core/match/scale"
)

// benchCorpus builds one synthetic engine for the benchmarks; its size is
// ENTRAIDE_BENCH_QUESTIONS questions (default 100000) and a tenth as many
// experts.
var benchCorpus = sync.OnceValues(func() (*match.Engine, []match.Query) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("ENTRAIDE_BENCH_QUESTIONS")); err == nil && v > 0 {
		n = v
	}
	c := scale.NewCorpus(1, n/10)
	eng := match.NewEngine(match.Config{})
	if _, err := c.Fill(context.Background(), eng, n); err != nil {
		panic(fmt.Sprintf("bench corpus: %v", err))
	}
	qs := make([]match.Query, 512)
	for i := range qs {
		qs[i] = c.Query()
	}
	return eng, qs
})

func BenchmarkRank(b *testing.B) {
	eng, qs := benchCorpus()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		eng.Rank(qs[i%len(qs)], 10)
		i++
	}
}

func BenchmarkSimilar(b *testing.B) {
	eng, qs := benchCorpus()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		eng.Similar(qs[i%len(qs)], 10, false)
		i++
	}
}

func BenchmarkAnalyze(b *testing.B) {
	text := "Bonjour, comment publier un avis de marché public sur la plateforme des achats de l'État ? Les collectivités territoriales sont-elles concernées ?"
	for b.Loop() {
		match.Analyze(text, "fr")
	}
}
