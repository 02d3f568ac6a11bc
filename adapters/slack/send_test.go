package slack

import (
	"context"
	"errors"
	"fmt"
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

// TestFindSent: a message posted with its key is found again by the key
// in its metadata, in a channel, a thread and a direct message, also past
// the first page of a busy channel; another key, or a message posted
// before the time given, is not found.
func TestFindSent(t *testing.T) {
	f := slacktest.New(t)
	a := newTestAdapter(t, f, &recordingInbox{}, false)
	ctx := context.Background()
	var m bots.Message
	m.Text("Votre question a été transmise à 3 experts.")
	before := time.Now()
	out := []bots.Outgoing{
		{To: bots.Destination{Platform: Platform, Room: "C1"}, Message: m, Key: "q1/ack"},
		{To: bots.Destination{Platform: Platform, Room: "C1", Thread: "1515449522.000016"}, Message: m, Key: "q1/relay"},
		{To: bots.DirectTo(core.Identity{Platform: Platform, User: "U7"}), Message: m, Key: "q1/request/1"},
	}
	ts := map[string]string{}
	for _, o := range out {
		sent, err := a.Send(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		ts[o.Key] = sent.MessageID
	}
	// 250 later messages in C1: the first one is on the second page.
	for i := range 250 {
		if _, err := a.Send(ctx, bots.Outgoing{To: bots.Destination{Platform: Platform, Room: "C1"}, Message: m, Key: fmt.Sprintf("later/%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range out {
		sent, found, err := a.FindSent(ctx, o, before)
		if err != nil || !found || sent.MessageID != ts[o.Key] {
			t.Errorf("FindSent(%s) = %+v, %v, %v; want %s", o.Key, sent, found, err, ts[o.Key])
		}
		o.Key += "/other"
		if sent, found, err := a.FindSent(ctx, o, before); err != nil || found {
			t.Errorf("FindSent(%s) = %+v, %v, %v; want not found", o.Key, sent, found, err)
		}
	}
	if calls := f.Calls("conversations.replies"); len(calls) == 0 || calls[0].Form.Get("ts") != "1515449522.000016" || calls[0].Form.Get("include_all_metadata") != "1" {
		t.Errorf("conversations.replies calls: %+v", calls)
	}
	if sent, found, err := a.FindSent(ctx, out[0], time.Now().Add(time.Hour)); err != nil || found {
		t.Errorf("FindSent of a message posted before since = %+v, %v, %v; want not found", sent, found, err)
	}

	// Without the scope to read a conversation, looking cannot help: the
	// message is reported not found, so that it is posted.
	f.Fail("CNOSCOPE", "missing_scope")
	if _, found, err := a.FindSent(ctx, bots.Outgoing{To: bots.Destination{Platform: Platform, Room: "CNOSCOPE"}, Key: "k"}, before); err != nil || found {
		t.Errorf("FindSent without the scope = %v, %v; want not found, no error", found, err)
	}

	// A rate-limited lookup says when to try again.
	f.RateLimit("conversations.history", 1, 3*time.Second)
	_, _, err := a.FindSent(ctx, out[0], before)
	var limited *bots.RetryAfterError
	if !errors.As(err, &limited) || limited.After != 3*time.Second {
		t.Fatalf("rate-limited FindSent: %v", err)
	}
}

// TestFindSentFileText: when the text of a message with a file was posted
// and the upload never happened, FindSent reports it not found and Send
// then uploads only the file.
func TestFindSentFileText(t *testing.T) {
	f := slacktest.New(t)
	a := newTestAdapter(t, f, &recordingInbox{}, false)
	ctx := context.Background()
	var m bots.Message
	m.Text("Le modèle de convention :")
	o := bots.Outgoing{To: bots.Destination{Platform: Platform, Room: "C1"}, Message: m, Key: "q2/file"}
	if _, err := a.Send(ctx, o); err != nil { // the text, as a first attempt cut short would have
		t.Fatal(err)
	}
	o.Message.File = &bots.File{Name: "convention.txt", Data: []byte("Article 1")}
	if _, found, err := a.FindSent(ctx, o, time.Now().Add(-time.Minute)); err != nil || found {
		t.Fatalf("FindSent = %v, %v; want the text remembered, not found", found, err)
	}
	if _, err := a.Send(ctx, o); err != nil {
		t.Fatal(err)
	}
	if posts := f.Posts(); len(posts) != 1 {
		t.Fatalf("%d posts, want the text once", len(posts))
	}
	if files := f.Files(); len(files) != 1 || string(files[0].Data) != "Article 1" {
		t.Fatalf("files: %+v", files)
	}
}

// TestSendCutThenFound: a post whose reply is lost (the connection cut
// after Slack posted it) fails, and FindSent then finds the message, so
// that it is not posted twice.
func TestSendCutThenFound(t *testing.T) {
	f := slacktest.New(t)
	a := newTestAdapter(t, f, &recordingInbox{}, false)
	ctx := context.Background()
	var m bots.Message
	m.Text("Une question pour vous.")
	o := bots.Outgoing{To: bots.DirectTo(core.Identity{Platform: Platform, User: "U9"}), Message: m, Key: "q3/request/1"}
	f.CutReplies("chat.postMessage", 1)
	if _, err := a.Send(ctx, o); err == nil {
		t.Fatal("Send succeeded though its reply was cut")
	}
	posts := f.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want the one whose reply was cut", len(posts))
	}
	sent, found, err := a.FindSent(ctx, o, time.Now().Add(-time.Minute))
	if err != nil || !found || sent.MessageID != posts[0].TS {
		t.Fatalf("FindSent = %+v, %v, %v; want %s", sent, found, err, posts[0].TS)
	}
}
