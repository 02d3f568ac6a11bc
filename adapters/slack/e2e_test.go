package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

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

// loop drives the adapter as Slack does, over one transport.
type loop struct {
	t         *testing.T
	f         *fakeSlack
	a         *Adapter
	socket    bool
	envelopes int
	mu        sync.Mutex
}

// deliver sends a request n times at once and waits for every
// acknowledgement.
func (l *loop) deliver(kind string, p []byte, n int) {
	l.t.Helper()
	if l.socket {
		l.mu.Lock()
		ids := make([]string, n)
		for i := range ids {
			l.envelopes++
			ids[i] = fmt.Sprintf("env-%d", l.envelopes)
			l.f.sendEnvelope(l.t, kind, ids[i], p, 0)
		}
		l.mu.Unlock()
		acked := map[string]bool{}
		for range n {
			select {
			case id := <-l.f.acks:
				acked[id] = true
			case <-time.After(10 * time.Second):
				l.t.Fatalf("%s: acknowledged %v of %v", kind, acked, ids)
			}
		}
		for _, id := range ids {
			if !acked[id] {
				l.t.Fatalf("%s: acknowledged %v, not %s", kind, acked, id)
			}
		}
		return
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if rec := postSigned(l.t, l.a, kind, p); rec.Code != 200 {
				l.t.Errorf("%s: status %d %s", kind, rec.Code, rec.Body)
			}
		})
	}
	wg.Wait()
}

// waitPost waits for a post to channel, in thread, containing text.
func (l *loop) waitPost(channel, thread, text string) post {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p, ok := lookPost(l.f.posts(), channel, thread, text); ok {
			return p
		}
		if time.Now().After(deadline) {
			return findPost(l.t, l.f.posts(), channel, thread, text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func questionLoop(t *testing.T, socket, pipeline bool) {
	f := newFakeSlack(t)
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
	l := &loop{t: t, f: f, a: a, socket: socket}
	if socket {
		runAdapter(t, a)
		f.waitConnected(t)
	}

	l.deliver(kindSlash, payload(t, "slash_command", map[string]any{"user_id": "U1", "user_name": "bob", "text": "expert marchés publics", "trigger_id": "trig-expert"}), 1)
	l.waitPost("D1", "", "marchés publics")
	ask := payload(t, "slash_command", map[string]any{"user_id": "U2", "user_name": "alice", "channel_id": "C1", "text": "ask Comment rédiger un CCTP de marché public ?", "trigger_id": "trig-ask"})
	l.deliver(kindSlash, ask, 3)

	// The question is posted once in C1; the bot's receipt goes in its thread.
	question := l.waitPost("C1", "", "Comment rédiger un CCTP de marché public ?")
	anchorTS := question.ts
	l.waitPost("C1", anchorTS, "enregistrée")
	// Bob gets it by direct message, with an Answer button.
	dm := l.waitPost("D1", "", "Comment rédiger un CCTP de marché public ?")
	if !calledWith(f.callsOf("conversations.open"), "users", "U1") {
		t.Fatalf("no conversations.open for U1: %+v", f.callsOf("conversations.open"))
	}
	button := findButton(t, dm.call.Form.Get("blocks"), "answer:1")

	// Slack redelivers the slash command: no second question, no second post.
	before := len(f.posts())
	l.deliver(kindSlash, ask, 1)
	time.Sleep(100 * time.Millisecond)
	if n := len(f.posts()); n != before {
		t.Fatalf("a redelivered slash command posted %d more messages", n-before)
	}

	// Bob presses Answer: a modal opens.
	l.deliver(kindInteractive, payload(t, "block_actions", map[string]any{
		"user":       map[string]any{"id": "U1", "username": "bob", "name": "bob", "team_id": "T1"},
		"trigger_id": "trig-press", "channel": map[string]any{"id": "D1", "name": "directmessage"},
		"container": map[string]any{"type": "message", "message_ts": dm.ts, "channel_id": "D1"},
		"actions":   []any{button},
	}), 1)
	views := f.callsOf("views.open")
	if len(views) != 1 || views[0].JSON["trigger_id"] != "trig-press" {
		t.Fatalf("views.open: %+v", views)
	}
	meta, _ := views[0].JSON["view"].(map[string]any)["private_metadata"].(string)

	// He submits his answer, while Slack rate-limits the next two posts.
	f.mu.Lock()
	f.limited, f.retryAfter = 2, "1"
	f.mu.Unlock()
	start := time.Now()
	answer := "Partez du modèle de la DAJ <!channel> et adaptez les clauses techniques."
	submission := payload(t, "view_submission", map[string]any{
		"user":    map[string]any{"id": "U1", "username": "bob", "name": "bob", "team_id": "T1"},
		"view.id": "V-answer", "view.private_metadata": meta,
		"view.state.values": map[string]any{blockText: map[string]any{actionText: map[string]any{"type": "plain_text_input", "value": answer}}},
	})
	l.deliver(kindInteractive, submission, 1)
	relay := l.waitPost("C1", anchorTS, "Partez du modèle de la DAJ &lt;!channel&gt; et adaptez les clauses techniques.")
	if !strings.Contains(relay.call.Form.Get("text"), "<@U2>") || strings.Contains(relay.call.Form.Get("text"), "<!channel>") {
		t.Fatalf("relay text %q", relay.call.Form.Get("text"))
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("the 429s were not honoured: the answer came after %s", d)
	}
	l.waitPost("D1", "", "Merci")

	// The same submission again changes nothing.
	before = len(f.posts())
	l.deliver(kindInteractive, submission, 1)
	time.Sleep(100 * time.Millisecond)
	if n := len(f.posts()); n != before {
		t.Fatalf("a redelivered submission posted %d more messages", n-before)
	}
	q, err := store.Question(context.Background(), 1)
	if err != nil || q.Origin.Thread != anchorTS || q.Origin.Room != "C1" {
		t.Fatalf("question 1: %+v, %v", q, err)
	}
	if _, err := store.Question(context.Background(), 2); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a second question exists: %v", err)
	}
	for _, c := range f.posts() {
		if c.TS != "" && c.TS != anchorTS && c.Form.Get("channel") == "C1" && c.Form.Get("thread_ts") == "" {
			t.Fatalf("a second message outside the thread in C1: %q", c.Form.Get("text"))
		}
	}
}

// post is one chat.postMessage call and the ts the fake gave it.
type post struct {
	call apiCall
	ts   string
}

// lookPost returns the accepted post to channel, in thread ("" for none),
// whose text contains text.
func lookPost(calls []apiCall, channel, thread, text string) (post, bool) {
	for _, c := range calls {
		if c.TS != "" && c.Form.Get("channel") == channel && c.Form.Get("thread_ts") == thread && strings.Contains(c.Form.Get("text"), text) {
			return post{call: c, ts: c.TS}, true
		}
	}
	return post{}, false
}

// findPost is lookPost that fails the test, listing the posts, when there
// is none.
func findPost(t *testing.T, calls []apiCall, channel, thread, text string) post {
	t.Helper()
	if p, ok := lookPost(calls, channel, thread, text); ok {
		return p
	}
	var seen []string
	for _, c := range calls {
		seen = append(seen, fmt.Sprintf("%s/%s ts=%s: %q", c.Form.Get("channel"), c.Form.Get("thread_ts"), c.TS, c.Form.Get("text")))
	}
	t.Fatalf("no post to %s thread %q with %q among:\n%s", channel, thread, text, strings.Join(seen, "\n"))
	return post{}
}

func calledWith(calls []apiCall, key, value string) bool {
	for _, c := range calls {
		if c.Form.Get(key) == value {
			return true
		}
	}
	return false
}

// findButton returns the action Slack sends when the button action_id of
// the blocks is pressed.
func findButton(t *testing.T, blocks, actionID string) map[string]any {
	t.Helper()
	var bs []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal([]byte(blocks), &bs); err != nil {
		t.Fatalf("blocks %s: %v", blocks, err)
	}
	for _, b := range bs {
		for _, e := range b.Elements {
			if b.Type == "actions" && e.ActionID == actionID {
				return map[string]any{"action_id": e.ActionID, "block_id": b.BlockID, "value": e.Value, "type": "button", "action_ts": "1700000100.000001"}
			}
		}
	}
	t.Fatalf("no button %s in %s", actionID, blocks)
	return nil
}
