package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"entraide/adapters/metrics"
	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// sender accepts every message.
type sender struct{}

func (sender) Platform() core.Platform { return "test" }

func (sender) Send(context.Context, bots.Outgoing) (bots.Sent, error) { return bots.Sent{}, nil }

// questionsByState is the query cmd gives the Observer.
func questionsByState(store *sqlstore.Store) func(ctx context.Context) (map[core.State]int, error) {
	return func(ctx context.Context) (map[core.State]int, error) {
		var rows []struct {
			State core.State `db:"state"`
			N     int        `db:"n"`
		}
		if err := store.DB().SelectContext(ctx, &rows, "SELECT state, COUNT(*) AS n FROM questions GROUP BY state"); err != nil {
			return nil, fmt.Errorf("questions by state: %w", err)
		}
		counts := map[core.State]int{}
		for _, r := range rows {
			counts[r.State] = r.N
		}
		return counts, nil
	}
}

// TestPipelineMetrics runs a small conversation through a real pipeline
// over SQLite and reads the metrics a scrape would show.
func TestPipelineMetrics(t *testing.T) {
	ctx := context.Background()
	store := sqlstoretest.SQLite(t)
	clock := core.NewManualClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	net, err := core.NewNetwork(store, nil, clock, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	bot, err := bots.New(net, bots.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	pcfg := bots.DefaultPipelineConfig()
	var p *bots.Pipeline
	o := newObserver(t, metrics.Config{
		Platforms: []core.Platform{"test"},
		Backlog:   func(ctx context.Context) (int, int, error) { return p.Backlog(ctx) },
		Questions: questionsByState(store),
	})
	pcfg.Observer = o
	if p, err = bots.NewPipeline(store, bot, []bots.Sender{sender{}}, clock, pcfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	say := func(n int, user, room, text string) {
		t.Helper()
		ev := bots.Event{ID: fmt.Sprintf("e%d", n), Platform: "test", Room: room, DM: room == "",
			Sender: core.Identity{Platform: "test", User: user}, SenderName: user, Text: text}
		if err := p.Deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	say(1, "bob", "#general", "!expert marchés publics")
	say(2, "alice", "#general", "!ask Comment passer un marché public ?")
	say(2, "alice", "#general", "!ask Comment passer un marché public ?")
	compare(t, o, `
		entraide_backlog{queue="events"} 2
		entraide_backlog{queue="messages"} 0
	`, "entraide_backlog")
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	// The expert's confirmation, the question's acknowledgement and its
	// request to Bob; a day later the escalation runs, finds no other
	// expert, and the question stays routed until its last round.
	clock.Advance(core.DefaultConfig().EscalateAfter + time.Minute)
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	compare(t, o, `
		entraide_events_total{platform="test",result="duplicate"} 1
		entraide_events_total{platform="test",result="error"} 0
		entraide_events_total{platform="test",result="new"} 2
		entraide_events_handled_total{platform="test",result="bot_error"} 0
		entraide_events_handled_total{platform="test",result="failed"} 0
		entraide_events_handled_total{platform="test",result="ok"} 2
		entraide_events_handled_total{platform="test",result="store_error"} 0
		entraide_messages_total{platform="test",result="failed"} 0
		entraide_messages_total{platform="test",result="ok"} 3
		entraide_messages_total{platform="test",result="rate_limited"} 0
		entraide_messages_total{platform="test",result="retry"} 0
		entraide_jobs_total{kind="escalate",result="ok"} 1
		entraide_backlog{queue="events"} 0
		entraide_backlog{queue="messages"} 0
		entraide_questions{state="answered"} 0
		entraide_questions{state="expired"} 0
		entraide_questions{state="open"} 0
		entraide_questions{state="resolved"} 0
		entraide_questions{state="routed"} 1
	`, "entraide_events_total", "entraide_events_handled_total", "entraide_messages_total",
		"entraide_jobs_total", "entraide_backlog", "entraide_questions")
	if n, _ := histogram(t, o, "entraide_handle_seconds", "command", "ask"); n != 1 {
		t.Errorf("handle_seconds{ask}: %d observations", n)
	}
	if n, _ := histogram(t, o, "entraide_send_seconds", "platform", "test"); n != 3 {
		t.Errorf("send_seconds{test}: %d observations", n)
	}
}
