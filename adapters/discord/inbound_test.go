package discord

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"entraide/bots"
	"entraide/core"
)

// TestIdentifyIntents checks the least intents, and message content only
// when asked for.
func TestIdentifyIntents(t *testing.T) {
	for _, mc := range []bool{false, true} {
		f := newFake(t)
		cfg := testConfig(f)
		cfg.MessageContent = mc
		start(t, f, cfg, &recInbox{}, newMemStore())
		f.mu.Lock()
		got := f.identifies[0]["intents"].(float64)
		f.mu.Unlock()
		want := 1<<0 | 1<<9 | 1<<12 // GUILDS, GUILD_MESSAGES, DIRECT_MESSAGES
		if mc {
			want |= 1 << 15 // MESSAGE_CONTENT
		}
		if int(got) != want {
			t.Errorf("message content %v: intents %d, want %d", mc, int(got), want)
		}
		if gw := f.find("GET /api/v10/gateway/bot"); len(gw) != 1 {
			t.Errorf("gateway address asked %d times from /api/v10/gateway/bot", len(gw))
		}
	}
}

// TestSlashCommand checks that /expert becomes an Event with the right
// fields, and that the deferred ephemeral response follows the delivery.
func TestSlashCommand(t *testing.T) {
	f := newFake(t)
	in := &recInbox{f: f}
	start(t, f, testConfig(f), in, newMemStore())
	f.dispatch("INTERACTION_CREATE", payload(t, "slash_expert.json", nil))
	ev := in.wait(t, 1)[0]
	want := bots.Event{
		ID: "900000000000000002", Platform: "discord", Room: chanC1,
		Sender: core.Identity{Platform: "discord", User: userU1}, SenderName: "Bob (DAJ)", Text: "!expert marchés publics",
		Tenant: guildID,
	}
	if ev != want {
		t.Errorf("event\n got %+v\nwant %+v", ev, want)
	}
	cb := f.waitFor("POST /api/v10/interactions/900000000000000002/", atLeast(1))
	if b := body(t, cb[0]); b["type"].(float64) != 5 || b["data"].(map[string]any)["flags"].(float64) != 64 {
		t.Errorf("response %s, want a deferred ephemeral response (type 5, flags 64)", cb[0].Body)
	}
	f.mu.Lock()
	di := slices.Index(f.log, "deliver 900000000000000002")
	ci := slices.IndexFunc(f.log, func(s string) bool { return strings.HasPrefix(s, "POST /api/v10/interactions/900000000000000002/") })
	f.mu.Unlock()
	if di < 0 || ci < di {
		t.Errorf("delivery at %d, response at %d: the response must follow the delivery", di, ci)
	}
}

// TestSlowDeliveryStillDeferred checks that a delivery taking a while is
// still followed by the deferred response, the reply then editing it.
func TestSlowDeliveryStillDeferred(t *testing.T) {
	f := newFake(t)
	in := &recInbox{f: f, delay: 800 * time.Millisecond}
	a := start(t, f, testConfig(f), in, newMemStore())
	f.dispatch("INTERACTION_CREATE", payload(t, "slash_expert.json", nil))
	in.wait(t, 1)
	f.waitFor("POST /api/v10/interactions/900000000000000002/", atLeast(1))
	var m bots.Message
	m.Text("Vous êtes expert de ").Strong("marchés publics")
	sent, err := a.Send(t.Context(), bots.Outgoing{
		To: bots.Destination{Platform: "discord", Room: chanC1, Thread: "900000000000000002"}, Message: m,
		Key: "discord:900000000000000002/reply",
	})
	if err != nil || sent.MessageID == "" {
		t.Fatalf("Send = %+v, %v", sent, err)
	}
	edits := f.find("PATCH /api/v10/webhooks/" + appID + "/")
	if len(edits) != 1 || !strings.Contains(edits[0].Path, "/messages/@original") {
		t.Fatalf("the reply should edit the deferred response; edits %+v", edits)
	}
	if posts := f.find("POST /api/v10/channels/"); len(posts) != 0 {
		t.Errorf("the reply was posted too: %+v", posts)
	}
}

// TestDeliverFails checks that a refused delivery gets a short ephemeral
// error, and that the adapter goes on working.
func TestDeliverFails(t *testing.T) {
	f := newFake(t)
	in := &recInbox{f: f, err: errors.New("database is locked")}
	start(t, f, testConfig(f), in, newMemStore())
	f.dispatch("INTERACTION_CREATE", payload(t, "slash_expert.json", nil))
	cb := f.waitFor("POST /api/v10/interactions/900000000000000002/", atLeast(1))
	b := body(t, cb[0])
	data, _ := b["data"].(map[string]any)
	if b["type"].(float64) != 4 || data["flags"].(float64) != 64 || !strings.Contains(data["content"].(string), "Réessayez") {
		t.Errorf("response %s, want an ephemeral message asking to retry", cb[0].Body)
	}
	in.setErr(nil)
	f.dispatch("INTERACTION_CREATE", payload(t, "slash_expert.json", func(m map[string]any) { m["id"] = "900000000000000012" }))
	in.wait(t, 1)
	f.waitFor("POST /api/v10/interactions/900000000000000012/", atLeast(1))
}

// TestDuplicateInteraction checks that a replayed INTERACTION_CREATE keeps
// its id, for the inbox to drop, and posts the question only once.
func TestDuplicateInteraction(t *testing.T) {
	f := newFake(t)
	in := &recInbox{f: f}
	start(t, f, testConfig(f), in, newMemStore())
	ask := payload(t, "slash_ask.json", nil)
	f.dispatch("INTERACTION_CREATE", ask)
	f.dispatch("INTERACTION_CREATE", ask)
	evs := in.wait(t, 2)
	if evs[0].ID != evs[1].ID || evs[0].ID != "900000000000000001" || evs[0] != evs[1] {
		t.Errorf("events %+v", evs)
	}
	if evs[0].Room != chanC1 || evs[0].Thread == "" || evs[0].DM || evs[0].Text != "!ask Comment rédiger un CCTP de marché public ?" {
		t.Errorf("ask event %+v", evs[0])
	}
	f.waitFor("POST /api/v10/interactions/900000000000000001/", atLeast(1))
	time.Sleep(50 * time.Millisecond)
	if cb := f.find("POST /api/v10/interactions/900000000000000001/"); len(cb) != 1 {
		t.Errorf("%d responses to one interaction, want 1", len(cb))
	}
	posts := f.find("POST /api/v10/channels/" + chanC1 + "/messages")
	if len(posts) != 1 {
		t.Fatalf("the question was posted %d times", len(posts))
	}
	if c := body(t, posts[0])["content"].(string); !strings.Contains(c, "> Comment rédiger un CCTP de marché public ?") || !strings.Contains(c, "**Alice**") {
		t.Errorf("question message %q", c)
	}
}

// TestAnyCommandAsks checks that /entraide with a question asks it as /ask
// does (the question is posted in the channel and the event is in its
// thread), and that /entraide with a command word runs that command.
func TestAnyCommandAsks(t *testing.T) {
	f := newFake(t)
	in := &recInbox{f: f}
	start(t, f, testConfig(f), in, newMemStore())
	f.dispatch("INTERACTION_CREATE", payload(t, "slash_ask.json", func(m map[string]any) {
		m["data"].(map[string]any)["name"] = "entraide"
		m["data"].(map[string]any)["options"] = []any{map[string]any{"name": "command", "type": 3, "value": "Qui valide un avenant ?"}}
	}))
	evs := in.wait(t, 1)
	if evs[0].Text != "!ask Qui valide un avenant ?" || evs[0].Thread == "" || evs[0].DM {
		t.Errorf("/entraide with a question gave %+v, want !ask in the question's thread", evs[0])
	}
	posts := f.waitFor("POST /api/v10/channels/"+chanC1+"/messages", atLeast(1))
	if c := body(t, posts[0])["content"].(string); !strings.Contains(c, "> Qui valide un avenant ?") {
		t.Errorf("question message %q", c)
	}
	f.dispatch("INTERACTION_CREATE", payload(t, "slash_ask.json", func(m map[string]any) {
		m["id"] = "900000000000000021"
		m["data"].(map[string]any)["name"] = "entraide"
		m["data"].(map[string]any)["options"] = []any{map[string]any{"name": "command", "type": 3, "value": "agenda"}}
	}))
	evs = in.wait(t, 2)
	if evs[1].Text != "!agenda" || evs[1].Thread != "" {
		t.Errorf("/entraide agenda gave %+v", evs[1])
	}
	if posts := f.find("POST /api/v10/channels/" + chanC1 + "/messages"); len(posts) != 1 {
		t.Errorf("%d messages posted in the channel, want only the question", len(posts))
	}
}

// TestMessages checks mentions and direct messages, and that plain channel
// messages are skipped without message content mode.
func TestMessages(t *testing.T) {
	f := newFake(t)
	in := &recInbox{f: f}
	store := newMemStore()
	start(t, f, testConfig(f), in, store)
	f.dispatch("MESSAGE_CREATE", payload(t, "message_mention.json", func(m map[string]any) {
		m["id"], m["content"], m["mentions"] = "1200000000000000009", "bonjour à tous", []any{}
	}))
	f.dispatch("MESSAGE_CREATE", payload(t, "message_mention.json", nil))
	f.dispatch("MESSAGE_CREATE", payload(t, "message_dm.json", nil))
	evs := in.wait(t, 2)
	time.Sleep(50 * time.Millisecond)
	evs = in.wait(t, 2)
	if len(evs) != 2 {
		t.Fatalf("events %+v", evs)
	}
	slices.SortFunc(evs, func(a, b bots.Event) int { return strings.Compare(a.ID, b.ID) })
	mention := bots.Event{ID: "1200000000000000001", Platform: "discord", Room: chanC1,
		Sender: core.Identity{Platform: "discord", User: userU2}, SenderName: "Alice D.", Text: "!ask Qui valide un avenant de marché ?", Tenant: guildID,
		At: time.Date(2024, 1, 25, 8, 51, 34, 921e6, time.UTC)}
	dm := bots.Event{ID: "1200000000000000002", Platform: "discord", Room: "822222222222222222", DM: true,
		Sender: core.Identity{Platform: "discord", User: userU2}, SenderName: "Alice", Text: "!mine",
		At: time.Date(2024, 1, 25, 8, 51, 34, 921e6, time.UTC)}
	if evs[0] != mention || evs[1] != dm {
		t.Errorf("events\n got %+v\nwant %+v\n     %+v", evs, mention, dm)
	}
	if v, _ := store.Checkpoint(t.Context(), keyLast+chanC1); v != "1200000000000000001" {
		t.Errorf("checkpoint of C1 %q", v)
	}
}

// TestAskModalAndButtons checks /ask without a question (a modal, whose
// submission asks in the channel), a command button (a direct message
// command, deferred update) and a button the adapter did not make.
func TestAskModalAndButtons(t *testing.T) {
	f := newFake(t)
	in := &recInbox{f: f}
	start(t, f, testConfig(f), in, newMemStore())

	f.dispatch("INTERACTION_CREATE", payload(t, "slash_ask.json", func(m map[string]any) {
		delete(m["data"].(map[string]any), "options")
	}))
	cb := f.waitFor("POST /api/v10/interactions/900000000000000001/", atLeast(1))
	modal := body(t, cb[0])
	if modal["type"].(float64) != 9 || modal["data"].(map[string]any)["custom_id"] != "q|ask" || modal["data"].(map[string]any)["title"] != "Poser une question" {
		t.Fatalf("/ask without a question: %s", cb[0].Body)
	}
	f.dispatch("INTERACTION_CREATE", payload(t, "modal_answer.json", func(m map[string]any) {
		m["id"], m["guild_id"], m["channel_id"], m["member"] = "900000000000000021", guildID, chanC1, map[string]any{"user": m["user"]}
		m["channel"] = map[string]any{"id": chanC1, "type": 0}
		delete(m, "user")
		delete(m, "message")
		m["data"].(map[string]any)["custom_id"] = "q|ask"
	}))
	ev := in.wait(t, 1)[0]
	if ev.Text != "!ask Partez du modèle de la DAJ et adaptez les clauses techniques." || ev.Room != chanC1 || ev.Thread == "" || ev.DM {
		t.Errorf("ask from the modal: %+v", ev)
	}
	cb = f.waitFor("POST /api/v10/interactions/900000000000000021/", atLeast(1))
	if body(t, cb[0])["type"].(float64) != 5 {
		t.Errorf("modal submission response %s", cb[0].Body)
	}
	f.waitFor("PATCH /api/v10/webhooks/"+appID+"/", atLeast(1)) // the link to the question

	f.dispatch("INTERACTION_CREATE", payload(t, "button_answer.json", func(m map[string]any) {
		m["id"] = "900000000000000022"
		m["data"].(map[string]any)["custom_id"] = "c|pass:1|pass 1"
	}))
	ev = in.wait(t, 2)[1]
	if ev.Text != "!pass 1" || !ev.DM || ev.Room != dmOf(userU1) || ev.ID != "900000000000000022" {
		t.Errorf("command button: %+v", ev)
	}
	cb = f.waitFor("POST /api/v10/interactions/900000000000000022/", atLeast(1))
	if body(t, cb[0])["type"].(float64) != 6 {
		t.Errorf("command button response %s", cb[0].Body)
	}

	f.dispatch("INTERACTION_CREATE", payload(t, "button_answer.json", func(m map[string]any) {
		m["id"] = "900000000000000023"
		m["data"].(map[string]any)["custom_id"] = "someone else's button"
	}))
	cb = f.waitFor("POST /api/v10/interactions/900000000000000023/", atLeast(1))
	if b := body(t, cb[0]); b["type"].(float64) != 4 || b["data"].(map[string]any)["flags"].(float64) != 64 {
		t.Errorf("unknown button response %s", cb[0].Body)
	}
}
