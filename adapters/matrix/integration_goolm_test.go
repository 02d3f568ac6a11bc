//go:build goolm

package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/sqlstatestore"

	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// cryptoHuman is a person's client with encryption, as Element would be:
// its own device keys, a sync loop, and the messages it could decrypt.
type cryptoHuman struct {
	cli    *mautrix.Client
	crypto *olmCrypto
	state  *sqlstatestore.SQLStateStore

	mu     sync.Mutex
	got    []*event.Event
	failed []string
	added  chan struct{}
}

func newCryptoHuman(t *testing.T, hs, name string) *cryptoHuman {
	t.Helper()
	cli, _ := register(t, hs, name)
	ctx, cancel := context.WithCancel(context.Background())
	db, err := dbutil.NewWithDB(sqlstoretest.SQLite(t).DB().DB, "sqlite3")
	if err != nil {
		t.Fatal(err)
	}
	state := sqlstatestore.NewSQLStateStore(db, dbutil.NoopLogger, false)
	if err := state.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	cli.StateStore = state
	store := crypto.NewSQLCryptoStore(db, dbutil.NoopLogger, "", cli.DeviceID, []byte("human-pickle-key"))
	if err := store.DB.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	log := zerolog.Nop()
	mach := crypto.NewOlmMachine(cli, &log, store, state)
	if err := mach.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mach.ShareKeys(ctx, -1); err != nil {
		t.Fatal(err)
	}
	h := &cryptoHuman{cli: cli, crypto: &olmCrypto{mach: mach, cli: cli, state: state}, state: state, added: make(chan struct{}, 100)}
	s := cli.Syncer.(*mautrix.DefaultSyncer)
	h.crypto.hook(s)
	s.OnEvent(cli.StateStoreSyncHandler)
	s.OnEventType(event.StateMember, func(ctx context.Context, evt *event.Event) {
		if evt.GetStateKey() == cli.UserID.String() && evt.Content.AsMember().Membership == event.MembershipInvite {
			cli.JoinRoomByID(ctx, evt.RoomID) // accept direct messages
		}
	})
	// Keys may come in a later /sync than their message: like a real
	// client, the human tries again after each sync.
	var late []*event.Event
	try := func(ctx context.Context, evt *event.Event) {
		dec, err := h.crypto.decrypt(ctx, evt)
		h.mu.Lock()
		switch {
		case errors.Is(err, errNoSession):
			late = append(late, evt)
			h.failed = append(h.failed, evt.ID.String()+": "+err.Error())
		case err != nil:
			h.failed = append(h.failed, evt.ID.String()+": "+err.Error())
		default:
			h.got = append(h.got, dec)
		}
		h.mu.Unlock()
		h.added <- struct{}{}
	}
	s.OnSync(func(ctx context.Context, _ *mautrix.RespSync, _ string) bool {
		h.mu.Lock()
		again := late
		late = nil
		h.mu.Unlock()
		for _, evt := range again {
			try(ctx, evt)
		}
		return true
	})
	s.OnEventType(event.EventEncrypted, try)
	done := make(chan struct{})
	go func() { defer close(done); cli.SyncWithContext(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// send encrypts and sends a text message, as a person's client does.
func (h *cryptoHuman) send(t *testing.T, room id.RoomID, content *event.MessageEventContent) id.EventID {
	t.Helper()
	ctx := context.Background()
	enc, err := h.crypto.encrypt(ctx, room, event.EventMessage, content)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.cli.SendMessageEvent(ctx, room, event.EventEncrypted, enc)
	if err != nil {
		t.Fatal(err)
	}
	return resp.EventID
}

// wait returns the first decrypted event for which ok is true.
func (h *cryptoHuman) wait(t *testing.T, what string, ok func(*event.Event) bool) *event.Event {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		h.mu.Lock()
		i := slices.IndexFunc(h.got, ok)
		var evt *event.Event
		if i >= 0 {
			evt = h.got[i]
		}
		failed := slices.Clone(h.failed)
		h.mu.Unlock()
		if evt != nil {
			return evt
		}
		select {
		case <-h.added:
		case <-deadline:
			t.Fatalf("%s: never decrypted by %s (failures: %q)", what, h.cli.UserID, failed)
		}
	}
}

// waitJoined waits until the human's own state store saw user join room.
func (h *cryptoHuman) waitJoined(t *testing.T, room id.RoomID, user id.UserID) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m, err := h.state.GetMembership(context.Background(), room, user); err == nil && m == event.MembershipJoin {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never saw %s join %s", h.cli.UserID, user, room)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func encryptedRoom() *event.Event {
	return &event.Event{Type: event.StateEncryption, Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}}}
}

// TestMatrixEncryptedRoom: in an encrypted room, the bot decrypts what a
// person writes and delivers the text, and its reply in the thread is
// encrypted and readable by the person's client, with m.mentions {}.
func TestMatrixEncryptedRoom(t *testing.T) {
	hs := homeserver(t)
	alice := newCryptoHuman(t, hs, "alice")
	inbox := newRecorder()
	b := startBot(t, botConfig(t, hs, EncryptionRequired), sqlstoretest.SQLite(t), inbox)
	ctx := context.Background()
	if !b.Encrypted(ctx) {
		t.Fatal("the adapter runs without encryption")
	}
	room := roomWithBot(t, alice.cli, b.UserID(), encryptedRoom())
	alice.waitJoined(t, room, b.UserID())

	q := alice.send(t, room, text("!ask Question chiffrée @room <b>?</b>"))
	ev := inbox.wait(t, "the encrypted question", func(ev bots.Event) bool { return ev.ID == string(q) })
	if ev.Text != "!ask Question chiffrée @room <b>?</b>" || ev.Room != string(room) || ev.Sender.User != string(alice.cli.UserID) {
		t.Errorf("event %+v", ev)
	}

	var m bots.Message
	m.Text("Réponse à ").Quote("@room <b>?</b>")
	sent, err := b.Send(ctx, bots.Outgoing{To: bots.ReplyTo(ev), Message: m, Key: ev.ID + "/reply"})
	if err != nil {
		t.Fatal(err)
	}
	raw := getEvent(t, alice.cli, room, sent.MessageID)
	if raw.Type != event.EventEncrypted {
		t.Errorf("the bot's reply is %s on the server, want m.room.encrypted", raw.Type.Type)
	}
	dec := alice.wait(t, "the bot's reply", func(evt *event.Event) bool { return evt.ID == id.EventID(sent.MessageID) })
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
	alice.crypto.mu.Lock()
	dev, err := alice.crypto.mach.GetOrFetchDevice(ctx, b.UserID(), b.cli.DeviceID)
	var trust id.TrustState
	if err == nil {
		trust = alice.crypto.mach.ResolveTrust(dev)
	}
	alice.crypto.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if trust < id.TrustStateCrossSignedUntrusted {
		t.Errorf("the bot's device trust, seen by alice: %s, want cross-signed", trust)
	}
}

// TestMatrixEncryptedScenario plays the story with the real bot:
// in an encrypted room alice asks, the expert gets a direct message,
// answers in it, and alice reads the answer in her thread; the adapter is
// restarted in the middle, and the @room in the question pings nobody.
func TestMatrixEncryptedScenario(t *testing.T) {
	hs := homeserver(t)
	alice := newCryptoHuman(t, hs, "alice")
	expert := newCryptoHuman(t, hs, "expert")
	store := sqlstoretest.SQLite(t)
	net, err := core.NewNetwork(store, nil, core.NewManualClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)), core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	handler, err := bots.New(net, bots.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg := botConfig(t, hs, EncryptionRequired)
	var current struct {
		sync.Mutex
		a *Adapter
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
	room := roomWithBot(t, alice.cli, b.UserID(), encryptedRoom())
	if _, err := alice.cli.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: expert.cli.UserID}); err != nil {
		t.Fatal(err)
	}
	if _, err := expert.cli.JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	alice.waitJoined(t, room, b.UserID())
	expert.waitJoined(t, room, b.UserID())
	expert.waitJoined(t, room, expert.cli.UserID)
	alice.waitJoined(t, room, expert.cli.UserID)

	e := expert.send(t, room, text("!expert marchés publics"))
	inbox.wait(t, "the expert's topics", func(ev bots.Event) bool { return ev.ID == string(e) })

	// Restart between the expert's registration and the question.
	b.stop()
	q := alice.send(t, room, text("!ask @room Comment rédiger un marché public de fournitures ?"))
	b = start()
	inbox.wait(t, "alice's question", func(ev bots.Event) bool { return ev.ID == string(q) })

	dm := expert.wait(t, "the question in a direct message", func(evt *event.Event) bool {
		return evt.RoomID != room && strings.Contains(evt.Content.AsMessage().Body, "Comment rédiger un marché public")
	})
	if !slices.Contains(b.direct[expert.cli.UserID], dm.RoomID) {
		t.Errorf("the question arrived in %s, not a direct room of the bot", dm.RoomID)
	}
	if got := dm.Content.AsMessage().Mentions; got == nil || got.Room {
		t.Errorf("m.mentions of the relayed question: %+v, want no room ping", got)
	}
	a := expert.send(t, dm.RoomID, text("!answer Partez du modèle de la DAJ."))
	inbox.wait(t, "the expert's answer", func(ev bots.Event) bool { return ev.ID == string(a) })
	answer := alice.wait(t, "the answer in alice's thread", func(evt *event.Event) bool {
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
	hs := homeserver(t)
	alice := newCryptoHuman(t, hs, "alice")
	store := sqlstoretest.SQLite(t)
	cfg := botConfig(t, hs, EncryptionRequired)
	b := startBot(t, cfg, store, newRecorder())
	ctx := context.Background()
	room := roomWithBot(t, alice.cli, b.UserID(), encryptedRoom())
	alice.waitJoined(t, room, b.UserID())
	// A message encrypted with a session nobody shared with the bot.
	lostSession := strings.Repeat("L", 43)
	if _, err := alice.cli.SendMessageEvent(ctx, room, event.EventEncrypted, map[string]any{
		"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": strings.Repeat("A", 120), "session_id": lostSession,
		"sender_key": strings.Repeat("B", 43), "device_id": string(alice.cli.DeviceID),
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := store.Checkpoint(ctx, b.key("pending"))
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
	b2, err := New(cfg, newRecorder(), store, store.DB().DB, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	b2.syncTimeout, b2.keyWait, b2.giveUp = time.Second, 0, time.Second
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b2.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	notice := alice.wait(t, "the notice", func(evt *event.Event) bool {
		return evt.Sender == b2.UserID() && strings.Contains(evt.Content.AsMessage().Body, "déchiffrer")
	})
	if !strings.Contains(notice.Content.AsMessage().Body, alice.cli.UserID.String()) {
		t.Errorf("notice %q does not name the sender", notice.Content.AsMessage().Body)
	}
}
