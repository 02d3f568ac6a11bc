package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"entraide/adapters/slack/slacktest"
	"entraide/bots"
	"entraide/core"
)

func TestURLVerification(t *testing.T) {
	f := slacktest.New(t)
	a := newTestAdapter(t, f, &recordingInbox{}, false)
	rec := postSigned(t, a, kindEvents, payload(t, "url_verification", nil))
	if rec.Code != 200 || rec.Body.String() != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("url_verification: %d %q", rec.Code, rec.Body)
	}
}

func TestEventsBecomeEvents(t *testing.T) {
	f := slacktest.New(t)
	inbox := &recordingInbox{}
	a := newTestAdapter(t, f, inbox, false)
	a.botUserID = testBotUser
	for _, name := range []string{"app_mention", "message_im", "message_im_bot"} {
		if rec := postSigned(t, a, kindEvents, payload(t, name, nil)); rec.Code != 200 {
			t.Fatalf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	// A mention in a direct message comes again as message.im: ignored.
	postSigned(t, a, kindEvents, payload(t, "app_mention", map[string]any{"event.channel": "D9", "event_id": "Ev0MENTIONDM"}))
	// An edit is not something someone asked.
	postSigned(t, a, kindEvents, payload(t, "message_im", map[string]any{"event.subtype": "message_changed", "event_id": "Ev0EDIT"}))
	want := []bots.Event{
		{ID: "Ev0MENTION1", Platform: Platform, Tenant: "T1", Room: "C1", Thread: "1515449522.000016", Sender: core.Identity{Platform: Platform, User: "U2"},
			Text: "!ask Comment rédiger un CCTP & ses annexes ? <!channel>", At: time.Unix(1515449522, 16000).UTC()},
		{ID: "Ev0DIRECT01", Platform: Platform, Tenant: "T1", Room: "D1", DM: true, Sender: core.Identity{Platform: Platform, User: "U1"},
			Text: "!answer 1 Partez du modèle de la DAJ.", At: time.Unix(1355517523, 5000).UTC()},
	}
	got := inbox.delivered()
	if len(got) != len(want) {
		t.Fatalf("delivered %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// TestRetriesKeepTheEventID delivers one callback several times, in turn
// and at once, as Slack does when it retries while the first delivery
// still runs: every delivery carries the same Event.ID, so the inbox keeps
// one event.
func TestRetriesKeepTheEventID(t *testing.T) {
	f := slacktest.New(t)
	var mu sync.Mutex
	ids := map[string]int{}
	inbox := bots.InboxFunc(func(_ context.Context, ev bots.Event) error {
		mu.Lock()
		defer mu.Unlock()
		ids[ev.ID]++
		return nil
	})
	a := newTestAdapter(t, f, inbox, false)
	body := payload(t, "app_mention", nil)
	postSigned(t, a, kindEvents, body)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if rec := postSigned(t, a, kindEvents, body); rec.Code != 200 {
				t.Errorf("retry: %d", rec.Code)
			}
		})
	}
	wg.Wait()
	if len(ids) != 1 || ids["Ev0MENTION1"] != 5 {
		t.Fatalf("event ids delivered: %v", ids)
	}
}

func TestFailedDeliveryIsNotAcknowledged(t *testing.T) {
	f := slacktest.New(t)
	inbox := &recordingInbox{}
	down := true
	inbox.fail = func(bots.Event) error {
		if down {
			return errors.New("database is down")
		}
		return nil
	}
	a := newTestAdapter(t, f, inbox, false)
	body := payload(t, "message_im", nil)
	if rec := postSigned(t, a, kindEvents, body); rec.Code != http.StatusInternalServerError {
		t.Fatalf("failed delivery answered %d", rec.Code)
	}
	down = false
	if rec := postSigned(t, a, kindEvents, body); rec.Code != 200 {
		t.Fatalf("retry answered %d", rec.Code)
	}
	if got := inbox.delivered(); len(got) != 1 || got[0].ID != "Ev0DIRECT01" {
		t.Fatalf("delivered %+v", got)
	}
}

func TestCommandText(t *testing.T) {
	a := &Adapter{cfg: Config{Prefix: "!"}}
	for _, c := range []struct {
		in        string
		addressed bool
		want      string
	}{
		{"ask Quoi ?", true, "!ask Quoi ?"},
		{"Réponse 3 oui", false, "!Réponse 3 oui"},
		{"  expert: marchés", true, "!expert: marchés"},
		{"!resolve 2", false, "!resolve 2"},
		{"", true, "!help"},
		{"", false, ""},
		{"Comment rédiger un CCTP ?", true, "!ask Comment rédiger un CCTP ?"},
		{"bonjour", false, "bonjour"},
	} {
		if got := a.commandText(c.in, c.addressed); got != c.want {
			t.Errorf("commandText(%q, %v) = %q, want %q", c.in, c.addressed, got, c.want)
		}
	}
}

func TestSlashCommands(t *testing.T) {
	f := slacktest.New(t)
	inbox := &recordingInbox{}
	a := newTestAdapter(t, f, inbox, false)
	ask := payload(t, "slash_command", nil)
	for range 2 { // the second is a redelivery: same trigger, no second post
		if rec := postSigned(t, a, kindSlash, ask); rec.Code != 200 {
			t.Fatalf("ask: %d %s", rec.Code, rec.Body)
		}
	}
	posts := f.Posts()
	if len(posts) != 1 || posts[0].Form.Get("channel") != "C1" || !strings.Contains(posts[0].Form.Get("text"), "Comment rédiger un CCTP de marché public ?") {
		t.Fatalf("question posts: %+v", posts)
	}
	anchorTS := "1700000000.000001"
	postSigned(t, a, kindSlash, payload(t, "slash_command", map[string]any{"text": "expert marchés publics", "user_id": "U1", "user_name": "bob", "trigger_id": "t2"}))
	postSigned(t, a, kindSlash, payload(t, "slash_command", map[string]any{"text": "", "trigger_id": "t3"}))
	f.Fail("C9", "not_in_channel")
	postSigned(t, a, kindSlash, payload(t, "slash_command", map[string]any{"text": "ask Où ?", "channel_id": "C9", "trigger_id": "t4"}))
	postSigned(t, a, kindSlash, payload(t, "slash_command", map[string]any{"text": "ask En privé ?", "channel_id": "D5", "channel_name": "directmessage", "trigger_id": "t5"}))
	alice, bob := core.Identity{Platform: Platform, User: "U2"}, core.Identity{Platform: Platform, User: "U1"}
	want := []bots.Event{
		{ID: "slash:13345224609.738474920.8088930838d88f008e0", Platform: Platform, Tenant: "T1", Room: "C1", Thread: anchorTS, Sender: alice, SenderName: "alice", Text: "!ask Comment rédiger un CCTP de marché public ?"},
		{ID: "slash:13345224609.738474920.8088930838d88f008e0", Platform: Platform, Tenant: "T1", Room: "C1", Thread: anchorTS, Sender: alice, SenderName: "alice", Text: "!ask Comment rédiger un CCTP de marché public ?"},
		{ID: "slash:t2", Platform: Platform, Tenant: "T1", DM: true, Sender: bob, SenderName: "bob", Text: "!expert marchés publics"},
		{ID: "slash:t3", Platform: Platform, Tenant: "T1", DM: true, Sender: alice, SenderName: "alice", Text: "!help"},
		{ID: "slash:t4", Platform: Platform, Tenant: "T1", DM: true, Sender: alice, SenderName: "alice", Text: "!ask Où ?"},
		{ID: "slash:t5", Platform: Platform, Tenant: "T1", DM: true, Sender: alice, SenderName: "alice", Text: "!ask En privé ?"},
	}
	got := inbox.delivered()
	if len(got) != len(want) {
		t.Fatalf("delivered %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestInteractions(t *testing.T) {
	f := slacktest.New(t)
	inbox := &recordingInbox{}
	a := newTestAdapter(t, f, inbox, false)
	bob := core.Identity{Platform: Platform, User: "U1"}

	// A form button opens a modal and delivers nothing yet.
	if rec := postSigned(t, a, kindInteractive, payload(t, "block_actions", nil)); rec.Code != 200 {
		t.Fatalf("block_actions: %d %s", rec.Code, rec.Body)
	}
	views := f.Calls("views.open")
	if len(views) != 1 || views[0].JSON["trigger_id"] != "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3" {
		t.Fatalf("views.open: %+v", views)
	}
	view, _ := json.Marshal(views[0].JSON["view"])
	for _, want := range []string{`"callback_id":"entraide.form"`, `"private_metadata":"{\"c\":\"answer 1\"}"`, `"text":"Répondre (1)"`, `"text":"Votre réponse"`, `"multiline":true`} {
		if !strings.Contains(string(view), want) {
			t.Errorf("modal lacks %s: %s", want, view)
		}
	}
	// A command button runs its command.
	postSigned(t, a, kindInteractive, payload(t, "block_actions", map[string]any{
		"trigger_id": "t-resolve", "actions": []any{map[string]any{"action_id": "resolve:1", "block_id": blockCommands, "value": "resolve 1", "type": "button"}},
	}))
	// The modal's submission runs the command with the text.
	postSigned(t, a, kindInteractive, payload(t, "view_submission", nil))
	// The global shortcut opens the ask modal.
	postSigned(t, a, kindInteractive, payload(t, "shortcut", nil))
	if views := f.Calls("views.open"); len(views) != 2 || views[1].JSON["view"].(map[string]any)["callback_id"] != viewAsk {
		t.Fatalf("shortcut views.open: %+v", views)
	}
	// Its submission with a channel asks there, under a posted question.
	postSigned(t, a, kindInteractive, payload(t, "view_submission", map[string]any{
		"user":    map[string]any{"id": "U2", "username": "alice"},
		"view.id": "VASK", "view.callback_id": viewAsk, "view.private_metadata": "",
		"view.state.values": map[string]any{
			blockText:    map[string]any{actionText: map[string]any{"type": "plain_text_input", "value": "Quel délai ?"}},
			blockChannel: map[string]any{actionChannel: map[string]any{"type": "conversations_select", "selected_conversation": "C1"}},
		},
	}))
	// The message shortcut asks a channel message, in its thread.
	postSigned(t, a, kindInteractive, payload(t, "message_action", nil))

	want := []bots.Event{
		{ID: "action:t-resolve", Platform: Platform, Tenant: "T1", Room: "D1", DM: true, Sender: bob, SenderName: "bob", Text: "!resolve 1"},
		{ID: "view:VNHU13V36", Platform: Platform, Tenant: "T1", DM: true, Sender: bob, SenderName: "bob", Text: "!answer 1 Partez du modèle de la DAJ <!channel> et adaptez le CCTP."},
		{ID: "view:VASK", Platform: Platform, Tenant: "T1", Room: "C1", Thread: "1700000000.000001", Sender: core.Identity{Platform: Platform, User: "U2"}, SenderName: "alice", Text: "!ask Quel délai ?"},
		{ID: "shortcut:13345224609.8534564800.6f8ab1f53e13d0cd15f96106292d5536", Platform: Platform, Tenant: "T1", Room: "C1", Thread: "1548261231.000200",
			Sender: core.Identity{Platform: Platform, User: "U3"}, SenderName: "carol", Text: "!ask Quelqu'un sait rédiger un CCTP & ses annexes ? <!here>"},
	}
	got := inbox.delivered()
	if len(got) != len(want) {
		t.Fatalf("delivered %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestTSTime(t *testing.T) {
	for ts, want := range map[string]time.Time{
		"1515449522.000016":  time.Unix(1515449522, 16000).UTC(),
		"1355517523.000005":  time.Unix(1355517523, 5000).UTC(),
		"":                   {},
		"1515449522":         {},
		"1515449522.16":      {},
		"-1515449522.000016": {},
		"+1515449522.000016": {},
		"1515449522.-00016":  {},
		"abc.000016":         {},
		"0.000000":           {},
	} {
		if got := TSTime(ts); !got.Equal(want) {
			t.Errorf("TSTime(%q) = %v, want %v", ts, got, want)
		}
	}
}
