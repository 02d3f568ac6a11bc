//go:build goolm

package matrix_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"entraide/adapters/matrix"
	"entraide/adapters/matrix/matrixtest"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// TestMatrixEncryptedRoom: in an encrypted room, the bot decrypts what a
// person writes and delivers the text, and its reply in the thread is
// encrypted and readable by the person's client, with m.mentions {}.
func TestMatrixEncryptedRoom(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	alice := matrixtest.RegisterEncrypted(t, hs, "alice")
	inbox := newRecorder()
	b := startBot(t, matrixtest.BotConfig(t, hs, matrix.EncryptionRequired), sqlstoretest.SQLite(t), inbox)
	ctx := context.Background()
	if !b.Encrypted(ctx) {
		t.Fatal("the adapter runs without encryption")
	}
	room := roomWithBot(t, alice.User, b.UserID(), matrixtest.EncryptionState())
	alice.WaitJoined(t, room, b.UserID())

	q := alice.Send(t, room, "!ask Question chiffrée @room <b>?</b>")
	ev := inbox.wait(t, "the encrypted question", func(ev bots.Event) bool { return ev.ID == string(q) })
	if ev.Text != "!ask Question chiffrée @room <b>?</b>" || ev.Room != string(room) || ev.Sender.User != string(alice.ID()) {
		t.Errorf("event %+v", ev)
	}

	var m bots.Message
	m.Text("Réponse à ").Quote("@room <b>?</b>")
	sent, err := b.Send(ctx, bots.Outgoing{To: bots.ReplyTo(ev), Message: m, Key: ev.ID + "/reply"})
	if err != nil {
		t.Fatal(err)
	}
	raw := alice.Event(t, room, id.EventID(sent.MessageID))
	if raw.Type != event.EventEncrypted {
		t.Errorf("the bot's reply is %s on the server, want m.room.encrypted", raw.Type.Type)
	}
	dec := alice.Wait(t, 0, func(evt *event.Event) bool { return evt.ID == id.EventID(sent.MessageID) })
	var content map[string]any
	if err := json.Unmarshal(dec.Content.VeryRaw, &content); err != nil {
		t.Fatal(err)
	}
	if content["msgtype"] != "m.notice" || jsonOf(content["m.mentions"]) != "{}" ||
		!strings.Contains(content["formatted_body"].(string), "&lt;b&gt;") {
		t.Errorf("decrypted reply %s", jsonOf(content))
	}
	if rel := jsonOf(content["m.relates_to"]); !strings.Contains(rel, `"rel_type":"m.thread"`) || !strings.Contains(rel, string(q)) {
		t.Errorf("reply relation %s, want the thread of %s", rel, q)
	}
	// The bot's device is cross-signed by its account.
	if trust := alice.Trust(t, b.UserID(), matrix.DeviceID(b.Adapter)); trust < id.TrustStateCrossSignedUntrusted {
		t.Errorf("the bot's device trust, seen by alice: %s, want cross-signed", trust)
	}
}

// TestMatrixEncryptedReactions: in an encrypted room, the bot's reactions
// under a message with buttons are encrypted and readable by the person's
// client, the person's encrypted reaction reaches the inbox as a reaction
// to that message, and the bot finds its own encrypted event by the
// transaction id in its content when a send of it is in doubt.
func TestMatrixEncryptedReactions(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	alice := matrixtest.RegisterEncrypted(t, hs, "alice")
	inbox := newRecorder()
	b := startBot(t, matrixtest.BotConfig(t, hs, matrix.EncryptionRequired), sqlstoretest.SQLite(t), inbox)
	ctx := context.Background()
	room := roomWithBot(t, alice.User, b.UserID(), matrixtest.EncryptionState())
	alice.WaitJoined(t, room, b.UserID())
	start := time.Now()

	m := *new(bots.Message).Text("Atelier jeudi 14 h")
	m.Actions = []bots.Action{{Kind: bots.ActionCommand, ID: "going:1", Label: "J'y vais", Command: "rsvp 1 going", Reaction: bots.ReactGoing}}
	sent, err := b.Send(ctx, bots.Outgoing{To: bots.Destination{Platform: matrix.Platform, Room: string(room)}, Message: m, Key: "e1/card"})
	if err != nil {
		t.Fatal(err)
	}
	card := id.EventID(sent.MessageID)
	mine := alice.Wait(t, 0, matrixtest.And(matrixtest.SentBy(b.UserID()), matrixtest.IsReaction(card, bots.ReactGoing)))
	if raw := alice.Event(t, room, mine.ID); raw.Type != event.EventEncrypted {
		t.Errorf("the bot's reaction is %s on the server, want m.room.encrypted", raw.Type.Type)
	}

	going := alice.React(t, room, card, bots.ReactGoing)
	ev := inbox.wait(t, "the encrypted reaction", func(ev bots.Event) bool { return ev.ID == string(going) })
	if ev.ReactionTo != string(card) || ev.Reaction != bots.ReactGoing || !ev.DM || ev.Sender.User != string(alice.ID()) {
		t.Errorf("delivered %+v, want a reaction 👍 to %s by %s", ev, card, alice.ID())
	}

	found, err := matrix.FindInDoubt(ctx, b.Adapter, room, "e1/card", start)
	if err != nil || found != card {
		t.Errorf("the card in doubt: found %q, %v; want %s", found, err, card)
	}
	if found, err := matrix.FindInDoubt(ctx, b.Adapter, room, "e2/never-sent", start); err != nil || found != "" {
		t.Errorf("a message never sent: found %q, %v", found, err)
	}
}

// TestMatrixEncryptedScenario plays the story with the real bot:
// in an encrypted room alice asks, the expert gets a direct message,
// answers in it, and alice reads the answer in her thread; the adapter is
// restarted in the middle, and the @room in the question pings nobody.
func TestMatrixEncryptedScenario(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	alice := matrixtest.RegisterEncrypted(t, hs, "alice")
	expert := matrixtest.RegisterEncrypted(t, hs, "expert")
	store := sqlstoretest.SQLite(t)
	net, err := core.NewNetwork(store, nil, core.NewManualClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)), core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	handler, err := bots.New(net, bots.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := matrixtest.BotConfig(t, hs, matrix.EncryptionRequired)
	var current struct {
		sync.Mutex
		a *matrix.Adapter
	}
	// The inbox handles each event at once and sends the replies through
	// the running adapter.
	inbox := newRecorder()
	inbox.then = func(ctx context.Context, ev bots.Event) error {
		out, err := handler.Handle(ctx, ev)
		if err != nil {
			return err
		}
		current.Lock()
		a := current.a
		current.Unlock()
		for _, o := range out {
			if _, err := a.Send(ctx, o); err != nil {
				return err
			}
		}
		return nil
	}
	start := func() *bot {
		b := startBot(t, cfg, store, inbox)
		current.Lock()
		current.a = b.Adapter
		current.Unlock()
		return b
	}
	b := start()
	room := roomWithBot(t, alice.User, b.UserID(), matrixtest.EncryptionState())
	alice.Invite(t, room, expert.ID())
	expert.Join(t, room)
	alice.WaitJoined(t, room, b.UserID())
	expert.WaitJoined(t, room, b.UserID())
	expert.WaitJoined(t, room, expert.ID())
	alice.WaitJoined(t, room, expert.ID())

	e := expert.Send(t, room, "!expert marchés publics")
	inbox.wait(t, "the expert's topics", func(ev bots.Event) bool { return ev.ID == string(e) })

	// Restart between the expert's registration and the question.
	b.stop()
	q := alice.Send(t, room, "!ask @room Comment rédiger un marché public de fournitures ?")
	b = start()
	inbox.wait(t, "alice's question", func(ev bots.Event) bool { return ev.ID == string(q) })

	dm := expert.Wait(t, 0, func(evt *event.Event) bool {
		return evt.RoomID != room && strings.Contains(evt.Content.AsMessage().Body, "Comment rédiger un marché public")
	})
	if !slices.Contains(matrix.DirectRooms(b.Adapter, expert.ID()), dm.RoomID) {
		t.Errorf("the question arrived in %s, not a direct room of the bot", dm.RoomID)
	}
	if got := dm.Content.AsMessage().Mentions; got == nil || got.Room {
		t.Errorf("m.mentions of the relayed question: %+v, want no room ping", got)
	}
	a := expert.Send(t, dm.RoomID, "!answer Partez du modèle de la DAJ.")
	inbox.wait(t, "the expert's answer", func(ev bots.Event) bool { return ev.ID == string(a) })
	answer := alice.Wait(t, 0, func(evt *event.Event) bool {
		return evt.RoomID == room && strings.Contains(evt.Content.AsMessage().Body, "Partez du modèle de la DAJ.")
	})
	if got := answer.Content.AsMessage().RelatesTo.GetThreadParent(); got != q {
		t.Errorf("the answer is in thread %q, want alice's question %s", got, q)
	}
	// Every event reached the inbox once.
	inbox.mu.Lock()
	defer inbox.mu.Unlock()
	ids := map[string]int{}
	for _, ev := range inbox.events {
		ids[ev.ID]++
		if ids[ev.ID] > 1 {
			t.Errorf("%s (%q) delivered twice", ev.ID, ev.Text)
		}
	}
}

// TestMatrixUndecryptable: a message whose keys never arrive is kept
// waiting (across a restart), then the room is told once, in an encrypted
// notice its members can read.
func TestMatrixUndecryptable(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	alice := matrixtest.RegisterEncrypted(t, hs, "alice")
	store := sqlstoretest.SQLite(t)
	cfg := matrixtest.BotConfig(t, hs, matrix.EncryptionRequired)
	b := startBot(t, cfg, store, newRecorder())
	ctx := context.Background()
	room := roomWithBot(t, alice.User, b.UserID(), matrixtest.EncryptionState())
	alice.WaitJoined(t, room, b.UserID())
	// A message encrypted with a session nobody shared with the bot.
	lostSession := strings.Repeat("L", 43)
	if _, err := alice.Client.SendMessageEvent(ctx, room, event.EventEncrypted, map[string]any{
		"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": strings.Repeat("A", 120), "session_id": lostSession,
		"sender_key": strings.Repeat("B", 43), "device_id": string(alice.Client.DeviceID),
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(matrixtest.Timeout)
	for {
		v, err := store.Checkpoint(ctx, matrix.CheckpointKey(b.Adapter, "pending"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(v, lostSession) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the undecryptable message was never kept waiting")
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.stop()
	b2 := startBot(t, cfg, store, newRecorder(), matrix.Timings{Sync: time.Second, KeyWait: time.Nanosecond, GiveUp: time.Second})
	notice := alice.Wait(t, 0, func(evt *event.Event) bool {
		return evt.Sender == b2.UserID() && strings.Contains(evt.Content.AsMessage().Body, "déchiffrer")
	})
	if !strings.Contains(notice.Content.AsMessage().Body, alice.ID().String()) {
		t.Errorf("notice %q does not name the sender", notice.Content.AsMessage().Body)
	}
}
