package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/core"
)

// BenchmarkStats computes an animator's figures (30 days and 12 weeks) on
// a community of 200 people with 3,000 questions over 12 weeks, two thirds
// of them answered, on SQLite.
func BenchmarkStats(b *testing.B) {
	ctx := context.Background()
	store := sqlstoretest.SQLite(b)
	t0 := time.Date(2026, 8, 31, 9, 0, 0, 0, time.UTC)
	clock := core.NewManualClock(t0)
	cfg := core.DefaultConfig()
	cfg.Admins = []core.Identity{{Platform: "bench", User: "anna"}}
	cfg.DailyBudget = 1000
	net, err := core.NewNetwork(store, nil, clock, cfg)
	if err != nil {
		b.Fatal(err)
	}
	topics := []string{"marchés publics", "ressources humaines", "comptabilité", "urbanisme", "numérique"}
	for i := range 40 {
		if _, err := net.DeclareExpert(ctx, core.Identity{Platform: "bench", User: fmt.Sprintf("e%d", i)}, "", []string{topics[i%5]}); err != nil {
			b.Fatal(err)
		}
	}
	step := 12 * 7 * 24 * time.Hour / 3000
	for i := range 3000 {
		who := core.Identity{Platform: "bench", User: fmt.Sprintf("a%d", i%160)}
		text := fmt.Sprintf("Question %d sur %s et la procédure %d ?", i, topics[i%6%5], i%37)
		if i%6 == 5 {
			text = fmt.Sprintf("Inscription au concours numéro %d ?", i%11)
		}
		asked, err := net.Ask(ctx, who, "", text, core.MessageRef{Platform: "bench", Room: "#general", Message: fmt.Sprint(i), Thread: fmt.Sprint(i)})
		if err != nil {
			b.Fatal(err)
		}
		if i%3 != 0 && len(asked.Experts) > 0 {
			clock.Advance(step / 2)
			if _, err := net.Answer(ctx, asked.Experts[0].Identity, "", asked.Question.ID, "Réponse."); err != nil {
				b.Fatal(err)
			}
			clock.Advance(step / 2)
		} else {
			clock.Advance(step)
		}
	}
	def, err := net.CommunityOf(ctx, core.Room{Platform: "bench", ID: "#general"})
	if err != nil {
		b.Fatal(err)
	}
	anna := core.Identity{Platform: "bench", User: "anna"}
	now := clock.Now()
	b.ResetTimer()
	for b.Loop() {
		s, err := net.Stats(ctx, anna, def, now.AddDate(0, 0, -30), now)
		if err != nil || s.Questions == 0 || len(s.Weeks) != 12 {
			b.Fatalf("stats = %+v, %v", s, err)
		}
	}
}
