package slack

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"entraide/adapters/slack/slacktest"
	"entraide/bots"
	"entraide/core"
)

func TestSendToThreadAndDM(t *testing.T) {
	f := slacktest.New(t)
	a := newTestAdapter(t, f, &recordingInbox{}, false)
	ctx := context.Background()
	var m bots.Message
	m.Text("Réponse :").Break().Quote(hostile)
	sent, err := a.Send(ctx, bots.Outgoing{To: bots.Destination{Platform: Platform, Room: "C1", Thread: "1515449522.000016"}, Message: m, Key: "a1/relay"})
	if err != nil || sent.MessageID != "1700000000.000001" {
		t.Fatalf("Send = %+v, %v", sent, err)
	}
	p := f.Posts()[0].Form
	for k, want := range map[string]string{"channel": "C1", "thread_ts": "1515449522.000016", "parse": "none", "link_names": "false", "unfurl_links": "false"} {
		if p.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, p.Get(k), want)
		}
	}
	if !strings.Contains(p.Get("text"), "&lt;!channel&gt;") || strings.Contains(p.Get("text"), "<!channel>") {
		t.Errorf("text not escaped: %q", p.Get("text"))
	}
	if !strings.Contains(p.Get("blocks"), `"rich_text_quote"`) || !strings.Contains(p.Get("metadata"), `"key":"a1/relay"`) {
		t.Errorf("blocks %s, metadata %s", p.Get("blocks"), p.Get("metadata"))
	}

	// A direct message opens the conversation once.
	for range 2 {
		if _, err := a.Send(ctx, bots.Outgoing{To: bots.DirectTo(core.Identity{Platform: Platform, User: "U7"}), Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	if opens := f.Calls("conversations.open"); len(opens) != 1 || opens[0].Form.Get("users") != "U7" {
		t.Fatalf("conversations.open: %+v", opens)
	}
	if posts := f.Posts(); posts[2].Form.Get("channel") != "D7" || posts[2].Form.Get("thread_ts") != "" {
		t.Fatalf("DM post: %+v", posts[2].Form)
	}
}

func TestSendErrors(t *testing.T) {
	f := slacktest.New(t)
	a := newTestAdapter(t, f, &recordingInbox{}, false)
	ctx := context.Background()
	var m bots.Message
	m.Text("x")
	f.Fail("CGONE", "channel_not_found")
	f.Fail("CARCH", "is_archived")
	f.Fail("COUT", "not_in_channel")
	f.Fail("UGONE", "user_not_found")
	f.Fail("CBUSY", "internal_error")
	for _, c := range []struct {
		to            bots.Destination
		undeliverable bool
	}{
		{bots.Destination{Room: "CGONE"}, true},
		{bots.Destination{Room: "CARCH"}, true},
		{bots.Destination{Room: "COUT"}, true},
		{bots.Destination{User: "UGONE"}, true},
		{bots.Destination{Platform: "matrix", Room: "!r:x"}, true},
		{bots.Destination{}, true},
		{bots.Destination{Room: "CBUSY"}, false},
	} {
		_, err := a.Send(ctx, bots.Outgoing{To: c.to, Message: m})
		if err == nil || errors.Is(err, bots.ErrUndeliverable) != c.undeliverable {
			t.Errorf("Send to %+v: %v, want undeliverable %v", c.to, err, c.undeliverable)
		}
		if err != nil && strings.Contains(err.Error(), testBotToken) {
			t.Errorf("error leaks the token: %v", err)
		}
	}

	f.RateLimit("chat.postMessage", 1, 7*time.Second)
	_, err := a.Send(ctx, bots.Outgoing{To: bots.Destination{Room: "C1"}, Message: m})
	var limited *bots.RetryAfterError
	if !errors.As(err, &limited) || limited.After != 7*time.Second {
		t.Fatalf("429: %v", err)
	}
	// The channel rests as Slack asked; another one does not.
	a.pace = time.Millisecond
	start := time.Now()
	if _, err := a.Send(ctx, bots.Outgoing{To: bots.Destination{Room: "C2"}, Message: m}); err != nil || time.Since(start) > time.Second {
		t.Fatalf("other channel: %v after %s", err, time.Since(start))
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := a.Send(short, bots.Outgoing{To: bots.Destination{Room: "C1"}, Message: m}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("rate-limited channel: %v", err)
	}
}

func TestSendPacesEachChannel(t *testing.T) {
	f := slacktest.New(t)
	a := newTestAdapter(t, f, &recordingInbox{}, false)
	a.pace = 60 * time.Millisecond
	var m bots.Message
	m.Text("x")
	start := time.Now()
	for _, room := range []string{"C1", "C2", "C1", "C1"} {
		if _, err := a.Send(context.Background(), bots.Outgoing{To: bots.Destination{Room: room}, Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 120*time.Millisecond {
		t.Fatalf("three posts to C1 took %s, want at least two pauses", d)
	}
}
