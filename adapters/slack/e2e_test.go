package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"entraide/adapters/slack/slacktest"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// botInbox is an inbox that keeps each event id once, as the durable inbox
// does, and handles events at once with a real bots.Bot, sending the
// replies through the adapter and waiting when Slack asks to.
type botInbox struct {
	bot    *bots.Bot
	sender bots.Sender

	mu   sync.Mutex
	seen map[string]bool
}

func (b *botInbox) Deliver(ctx context.Context, ev bots.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen[ev.ID] {
		return nil
	}
	b.seen[ev.ID] = true
	out, err := b.bot.Handle(ctx, ev)
	if err != nil {
		return err
	}
	for _, o := range out {
		for try := 0; ; try++ {
			_, err := b.sender.Send(ctx, o)
			var limited *bots.RetryAfterError
			if errors.As(err, &limited) && try < 5 {
				time.Sleep(limited.After)
				continue
			}
			if err != nil {
				return fmt.Errorf("send %s: %w", o.Key, err)
			}
			break
		}
	}
	return nil
}

// TestQuestionLoop plays the loop with a real bot on SQLite, over
// each transport, with an inbox that handles events at once and with the
// durable pipeline: bob declares his expertise and alice asks with the
// slash command (delivered three times at once); bob gets the question by
// direct message with an Answer button, presses it, answers in the modal,
// and the answer lands in alice's thread in C1, escaped. Redelivered
// requests change nothing, and a burst of 429 delays the answer without
// losing it.
func TestQuestionLoop(t *testing.T) {
	for _, c := range []struct {
		name             string
		socket, pipeline bool
	}{
		{"http", false, false}, {"socket", true, false},
		{"http+pipeline", false, true}, {"socket+pipeline", true, true},
	} {
		t.Run(c.name, func(t *testing.T) { questionLoop(t, c.socket, c.pipeline) })
	}
}

// loop drives the adapter as Slack does, over the fake's transport.
type loop struct {
	t *testing.T
	f *slacktest.Workspace
}

// deliver sends a request n times at once and waits until each was taken.
func (l *loop) deliver(kind string, p []byte, n int) {
	l.t.Helper()
	l.do(slacktest.Request{Kind: kind, Payload: p}, n)
}

// do delivers r n times at once, as Slack does when it retries while the
// first delivery still runs, and waits until each was taken.
func (l *loop) do(r slacktest.Request, n int) {
	l.t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = l.f.Deliver(r) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		l.t.Fatal(err)
	}
}

// waitPost waits for a post to channel, in thread, containing text.
func (l *loop) waitPost(channel, thread, text string) slacktest.Post {
	l.t.Helper()
	return l.f.WaitPost(l.t, channel, thread, text)
}

func questionLoop(t *testing.T, socket, pipeline bool) {
	f := slacktest.New(t)
	store := sqlstoretest.SQLite(t)
	net, err := core.NewNetwork(store, nil, core.SystemClock{}, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	bot, err := bots.New(net, bots.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var a *Adapter
	var direct *botInbox
	if pipeline {
		// The pipeline needs the adapter as a sender, the adapter the
		// pipeline as its inbox: a function closes the loop.
		var p *bots.Pipeline
		a = newTestAdapter(t, f, bots.InboxFunc(func(ctx context.Context, ev bots.Event) error { return p.Deliver(ctx, ev) }), socket)
		cfg := bots.DefaultPipelineConfig()
		cfg.Poll = 20 * time.Millisecond
		if p, err = bots.NewPipeline(store, bot, []bots.Sender{a}, core.SystemClock{}, cfg, nil, nil); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { p.Run(ctx) })
	} else {
		direct = &botInbox{bot: bot, seen: map[string]bool{}}
		a = newTestAdapter(t, f, direct, socket)
		direct.sender = a
	}
	l := &loop{t: t, f: f}
	if socket {
		runAdapter(t, a)
		f.WaitConnected(t)
	}

	l.deliver(kindSlash, payload(t, "slash_command", map[string]any{"user_id": "U1", "user_name": "bob", "text": "expert marchés publics", "trigger_id": "trig-expert"}), 1)
	l.waitPost("D1", "", "marchés publics")
	ask := payload(t, "slash_command", map[string]any{"user_id": "U2", "user_name": "alice", "channel_id": "C1", "text": "ask Comment rédiger un CCTP de marché public ?", "trigger_id": "trig-ask"})
	l.deliver(kindSlash, ask, 3)

	// The question is posted once in C1; the bot's receipt goes in its thread.
	question := l.waitPost("C1", "", "Comment rédiger un CCTP de marché public ?")
	anchorTS := question.TS
	l.waitPost("C1", anchorTS, "enregistrée")
	// Bob gets it by direct message, with an Answer button.
	dm := l.waitPost("D1", "", "Comment rédiger un CCTP de marché public ?")
	if !calledWith(f.Calls("conversations.open"), "users", "U1") {
		t.Fatalf("no conversations.open for U1: %+v", f.Calls("conversations.open"))
	}

	// Slack redelivers the slash command: no second question, no second post.
	before := len(f.Posts())
	l.deliver(kindSlash, ask, 1)
	time.Sleep(100 * time.Millisecond)
	if n := len(f.Posts()); n != before {
		t.Fatalf("a redelivered slash command posted %d more messages", n-before)
	}

	// Bob presses Answer: a modal opens.
	bob := slacktest.User{ID: "U1", Name: "bob"}
	press := f.Press(bob, dm, "answer:1")
	l.do(press, 1)
	views := f.Views()
	if len(views) != 1 || views[0].TriggerID != press.Trigger || views[0].User != "U1" || views[0].CallbackID != viewForm {
		t.Fatalf("views.open: %+v", views)
	}

	// He submits his answer, while Slack rate-limits the next two posts.
	f.RateLimit("chat.postMessage", 2, time.Second)
	start := time.Now()
	answer := "Partez du modèle de la DAJ <!channel> et adaptez les clauses techniques."
	submission := f.Submit(bob, answer)
	l.do(submission, 1)
	relay := l.waitPost("C1", anchorTS, "Partez du modèle de la DAJ &lt;!channel&gt; et adaptez les clauses techniques.")
	if !strings.Contains(relay.Text, "<@U2>") || strings.Contains(relay.Text, "<!channel>") {
		t.Fatalf("relay text %q", relay.Text)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("the 429s were not honoured: the answer came after %s", d)
	}
	l.waitPost("D1", "", "Merci")

	// The same submission again changes nothing.
	before = len(f.Posts())
	l.do(submission, 1)
	time.Sleep(100 * time.Millisecond)
	if n := len(f.Posts()); n != before {
		t.Fatalf("a redelivered submission posted %d more messages", n-before)
	}
	q, err := store.Question(context.Background(), 1)
	if err != nil || q.Origin.Thread != anchorTS || q.Origin.Room != "C1" {
		t.Fatalf("question 1: %+v, %v", q, err)
	}
	if _, err := store.Question(context.Background(), 2); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a second question exists: %v", err)
	}
	for _, p := range f.Posts() {
		if p.TS != anchorTS && p.Channel == "C1" && p.Thread == "" {
			t.Fatalf("a second message outside the thread in C1: %q", p.Text)
		}
	}
}

func calledWith(calls []slacktest.Call, key, value string) bool {
	for _, c := range calls {
		if c.Form.Get(key) == value {
			return true
		}
	}
	return false
}
