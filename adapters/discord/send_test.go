package discord

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"entraide/bots"
	"entraide/core"
)

// newSender returns an adapter on f that is not connected: Send needs no
// gateway.
func newSender(t *testing.T, f *fakeDiscord, store Checkpointer) *Adapter {
	t.Helper()
	a, err := New(testConfig(f), &recInbox{}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func text(s string) bots.Message {
	var m bots.Message
	m.Text(s)
	return m
}

// TestThreadOnQuestionMessage checks that a reply in a thread starts a
// thread on the question message once, posts there, and that a restarted
// adapter reuses it.
func TestThreadOnQuestionMessage(t *testing.T) {
	f := newFake(t)
	store := newMemStore()
	a := newSender(t, f, store)
	const question = "1200000000000000001"
	to := bots.Destination{Platform: "discord", Room: chanC1, Thread: question}
	for i, s := range []*Adapter{a, a, newSender(t, f, store)} {
		if _, err := s.Send(t.Context(), bots.Outgoing{To: to, Message: text("réponse"), Key: "k"}); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if th := f.find("POST /api/v10/channels/" + chanC1 + "/messages/" + question + "/threads"); len(th) != 1 {
		t.Errorf("thread started %d times, want once", len(th))
	} else if name := body(t, th[0])["name"]; name != "entraide" {
		t.Errorf("thread name %v", name)
	}
	if posts := f.find("POST /api/v10/channels/" + question + "/messages"); len(posts) != 3 {
		t.Errorf("%d posts in the thread, want 3", len(posts))
	}
	if posts := f.find("POST /api/v10/channels/" + chanC1 + "/messages"); len(posts) != 1 { // the thread start only
		t.Errorf("posts in the channel itself: %+v", posts)
	}
}

// TestThreadExists checks that a thread started elsewhere on the question
// message (code 160004) is used.
func TestThreadExists(t *testing.T) {
	f := newFake(t)
	f.threads["1200000000000000001"] = true
	a := newSender(t, f, newMemStore())
	to := bots.Destination{Platform: "discord", Room: chanC1, Thread: "1200000000000000001"}
	if _, err := a.Send(t.Context(), bots.Outgoing{To: to, Message: text("x"), Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if posts := f.find("POST /api/v10/channels/1200000000000000001/messages"); len(posts) != 1 {
		t.Errorf("posts in the existing thread: %d", len(posts))
	}
}

// TestDirectMessage checks that a message to a user opens the DM channel
// once, then posts there.
func TestDirectMessage(t *testing.T) {
	f := newFake(t)
	a := newSender(t, f, newMemStore())
	for range 2 {
		sent, err := a.Send(t.Context(), bots.Outgoing{To: bots.DirectTo(core.Identity{Platform: "discord", User: userU1}), Message: text("x"), Key: "k"})
		if err != nil || sent.MessageID == "" {
			t.Fatalf("Send = %+v, %v", sent, err)
		}
	}
	open := f.find("POST /api/v10/users/@me/channels")
	if len(open) != 1 || body(t, open[0])["recipient_id"] != userU1 {
		t.Errorf("DM channel opened %d times: %+v", len(open), open)
	}
	if posts := f.find("POST /api/v10/channels/" + dmOf(userU1) + "/messages"); len(posts) != 2 {
		t.Errorf("%d posts in the DM channel", len(posts))
	}
}

// TestRateLimited checks bounded retries of a 429: a short limit delays the
// send and loses nothing; a lasting one comes back as a RetryAfterError
// after a bounded number of attempts.
func TestRateLimited(t *testing.T) {
	f := newFake(t)
	a := newSender(t, f, newMemStore())
	out := bots.Outgoing{To: bots.Destination{Platform: "discord", Room: chanC1}, Message: text("x"), Key: "k"}

	f.limit(1, 0.05, false)
	begin := time.Now()
	if _, err := a.Send(t.Context(), out); err != nil {
		t.Fatalf("after one 429: %v", err)
	}
	if d := time.Since(begin); d < 50*time.Millisecond {
		t.Errorf("retried after %s, before retry_after", d)
	}
	if n := len(f.find("POST /api/v10/channels/" + chanC1)); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}

	f.limit(100, 0.01, true)
	_, err := a.Send(t.Context(), out)
	var limited *bots.RetryAfterError
	if !errors.As(err, &limited) || limited.After != 10*time.Millisecond {
		t.Fatalf("lasting 429: %v, want a RetryAfterError of 10ms", err)
	}
	if n := len(f.find("POST /api/v10/channels/" + chanC1)); n != 2+1+maxRESTRetries {
		t.Errorf("%d attempts in all, want %d", n, 2+1+maxRESTRetries)
	}

	f.limit(1, 30, true) // longer than an inline wait: back to the caller at once
	_, err = a.Send(t.Context(), out)
	if !errors.As(err, &limited) || limited.After != 30*time.Second {
		t.Fatalf("long 429: %v", err)
	}
	// The global limit pauses every request until it is over.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.Send(ctx, out); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("send during a global limit: %v, want to wait", err)
	}
}

// TestUndeliverable checks that Missing Access is undeliverable.
func TestUndeliverable(t *testing.T) {
	f := newFake(t)
	a := newSender(t, f, newMemStore())
	_, err := a.Send(t.Context(), bots.Outgoing{To: bots.Destination{Platform: "discord", Room: "403"}, Message: text("x"), Key: "k"})
	if !errors.Is(err, bots.ErrUndeliverable) || !strings.Contains(err.Error(), "Missing Access") {
		t.Fatalf("err %v", err)
	}
	_, err = a.Send(t.Context(), bots.Outgoing{To: bots.Destination{Platform: "slack", Room: "C1"}, Message: text("x"), Key: "k"})
	if !errors.Is(err, bots.ErrUndeliverable) {
		t.Fatalf("other platform: %v", err)
	}
}

// TestBucket checks the global budget with a clock that only moves when
// the bucket sleeps.
func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	var slept time.Duration
	c := clock{now: func() time.Time { return now }, sleep: func(_ context.Context, d time.Duration) bool {
		slept += d
		now = now.Add(d)
		return true
	}}
	b := newBucket(c, 50)
	for range 150 {
		if err := b.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if slept < 1990*time.Millisecond || slept > 2010*time.Millisecond {
		t.Errorf("150 requests at 50/s with a burst of 50 waited %s, want 2s", slept)
	}
}

// TestRegisterCommands checks the bulk overwrite: the full list, French and
// English, the same body every time; per server when servers are set.
func TestRegisterCommands(t *testing.T) {
	f := newFake(t)
	a := newSender(t, f, newMemStore())
	for range 2 {
		if err := a.registerCommands(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	puts := f.find("PUT /api/v10/applications/" + appID + "/commands")
	if len(puts) != 2 || string(puts[0].Body) != string(puts[1].Body) {
		t.Fatalf("PUTs %d, bodies equal %v", len(puts), len(puts) == 2 && string(puts[0].Body) == string(puts[1].Body))
	}
	b := string(puts[0].Body)
	for _, want := range []string{`"name":"ask"`, `"fr":"demander"`, `"name":"expert"`, `"name":"answer"`, `"name":"resolve"`, `"name":"pass"`, `"name":"mine"`, `"name":"help"`, `"fr":"Poser une question aux experts"`, `"en-US":"Ask the experts a question"`, `"contexts":[0,1]`} {
		if !strings.Contains(b, want) {
			t.Errorf("commands lack %s", want)
		}
	}
	cfg := testConfig(f)
	cfg.GuildIDs = []string{guildID, "500000000000000002"}
	g, err := New(cfg, &recInbox{}, newMemStore(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.registerCommands(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.find("PUT /api/v10/applications/" + appID + "/guilds/")); n != 2 {
		t.Errorf("%d guild registrations, want 2", n)
	}
}

// TestSendAgainCreatesNoSecondMessage checks that a message sent again
// under the same key, as after a crash between Discord accepting it and
// the outbox marking it sent, is not created twice: every part carries a
// nonce of its own with enforce_nonce, and Discord (here the fake) returns
// the first message. Another key makes new messages.
func TestSendAgainCreatesNoSecondMessage(t *testing.T) {
	f := newFake(t)
	long := text(strings.Repeat("Une réponse longue et détaillée. ", 120)) // over 2,000 characters: two parts
	to := bots.Destination{Platform: "discord", Room: chanC1}
	first, err := newSender(t, f, newMemStore()).Send(t.Context(), bots.Outgoing{To: to, Message: long, Key: "q7:answer:3"})
	if err != nil {
		t.Fatal(err)
	}
	parts := len(f.history[chanC1])
	if parts < 2 {
		t.Fatalf("%d messages, want the long text in two parts at least", parts)
	}
	// A new adapter, as after a restart, sends the same outbox row again.
	again, err := newSender(t, f, newMemStore()).Send(t.Context(), bots.Outgoing{To: to, Message: long, Key: "q7:answer:3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(f.history[chanC1]); got != parts {
		t.Errorf("%d messages in the channel after sending again, want %d", got, parts)
	}
	if again.MessageID != first.MessageID {
		t.Errorf("sent again: message %q, want the first one %q", again.MessageID, first.MessageID)
	}
	nonces := map[string]bool{}
	for _, r := range f.find("POST /api/v10/channels/" + chanC1 + "/messages") {
		b := body(t, r)
		n, _ := b["nonce"].(string)
		if n == "" || len(n) > 25 || b["enforce_nonce"] != true {
			t.Fatalf("post with nonce %q (%d characters), enforce_nonce %v", n, len(n), b["enforce_nonce"])
		}
		nonces[n] = true
	}
	if len(nonces) != parts {
		t.Errorf("%d distinct nonces over the posts, want one per part (%d)", len(nonces), parts)
	}
	if _, err := newSender(t, f, newMemStore()).Send(t.Context(), bots.Outgoing{To: to, Message: long, Key: "q8:answer:3"}); err != nil {
		t.Fatal(err)
	}
	if got := len(f.history[chanC1]); got != 2*parts {
		t.Errorf("%d messages after a message of another key, want %d", got, 2*parts)
	}
}
