package matrix

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/synapseadmin"

	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// The variables of the integration tests.
const (
	// HomeserverEnv names the homeserver the integration tests use, such as
	// http://127.0.0.1:18008 (.ci/dendrite-up.sh starts one).
	HomeserverEnv = "ENTRAIDE_TEST_MATRIX_HOMESERVER"
	// SecretEnv is its shared registration secret, "complement" by default
	// (what Dendrite's generate-config -ci sets).
	SecretEnv = "ENTRAIDE_TEST_MATRIX_SECRET"
)

// homeserver returns the test homeserver's URL, or skips the test.
func homeserver(t *testing.T) string {
	t.Helper()
	hs := os.Getenv(HomeserverEnv)
	if hs == "" {
		t.Skipf("Matrix integration test skipped: set %s to a homeserver URL with shared-secret registration (bash .ci/dendrite-up.sh starts one and prints the line to use)", HomeserverEnv)
	}
	return hs
}

// register creates a fresh user on the test homeserver and returns a
// client logged in as them, and their password.
func register(t *testing.T, hs, name string) (*mautrix.Client, string) {
	t.Helper()
	secret := os.Getenv(SecretEnv)
	if secret == "" {
		secret = "complement"
	}
	buf := make([]byte, 4)
	rand.Read(buf)
	username := name + "-" + hex.EncodeToString(buf)
	password := "pw-" + hex.EncodeToString(buf) + "-long-enough"
	cli, err := mautrix.NewClient(hs, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp, err := (&synapseadmin.Client{Client: cli}).SharedSecretRegister(ctx, secret, synapseadmin.ReqSharedSecretRegister{
		Username: username, Password: password,
	})
	if err != nil {
		t.Fatalf("register %s: %v", username, err)
	}
	cli.UserID, cli.AccessToken, cli.DeviceID = resp.UserID, resp.AccessToken, resp.DeviceID
	return cli, password
}

// recorder is an inbox that keeps what it is given and can be told to fail.
type recorder struct {
	mu     sync.Mutex
	events []bots.Event
	fail   func(bots.Event) error
	then   func(context.Context, bots.Event) error // runs before recording
	added  chan struct{}
}

func newRecorder() *recorder { return &recorder{added: make(chan struct{}, 1000)} }

// Deliver implements bots.Inbox.
func (r *recorder) Deliver(ctx context.Context, ev bots.Event) error {
	r.mu.Lock()
	if r.fail != nil {
		if err := r.fail(ev); err != nil {
			r.mu.Unlock()
			return err
		}
	}
	then := r.then
	r.mu.Unlock()
	if then != nil {
		if err := then(ctx, ev); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	r.added <- struct{}{}
	return nil
}

// wait returns the first delivered event for which ok is true.
func (r *recorder) wait(t *testing.T, what string, ok func(bots.Event) bool) bots.Event {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		i := slices.IndexFunc(r.events, ok)
		var ev bots.Event
		if i >= 0 {
			ev = r.events[i]
		}
		r.mu.Unlock()
		if i >= 0 {
			return ev
		}
		select {
		case <-r.added:
		case <-deadline:
			t.Fatalf("%s never reached the inbox", what)
		}
	}
}

func (r *recorder) texts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		out = append(out, ev.Text)
	}
	return out
}

// bot is an adapter running against the test homeserver.
type bot struct {
	*Adapter
	stop func()
}

// startBot runs an adapter for cfg over store until stop or the end of the
// test.
func startBot(t *testing.T, cfg Config, store *sqlstore.Store, inbox bots.Inbox) *bot {
	t.Helper()
	a, err := New(cfg, inbox, store, store.DB().DB, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	a.syncTimeout = 2 * time.Second
	a.maxBackoff = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-a.ready:
	case err := <-done:
		t.Fatalf("Run stopped before login: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the adapter did not log in within a minute")
	}
	return &bot{Adapter: a, stop: stop}
}

// botConfig registers a fresh bot account.
func botConfig(t *testing.T, hs string, enc Encryption) Config {
	t.Helper()
	cli, password := register(t, hs, "bot")
	return Config{Homeserver: hs, User: string(cli.UserID), Password: password, Encryption: enc, PickleKey: "test-pickle-key-0123456789"}
}

// roomWithBot creates a room as human, invites the bot and waits until it
// joined.
func roomWithBot(t *testing.T, human *mautrix.Client, botID id.UserID, extra ...*event.Event) id.RoomID {
	t.Helper()
	ctx := context.Background()
	resp, err := human.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{botID}, InitialState: extra})
	if err != nil {
		t.Fatal(err)
	}
	waitMember(t, human, resp.RoomID, botID)
	return resp.RoomID
}

// waitMember waits until user joined room, as member sees it.
func waitMember(t *testing.T, member *mautrix.Client, room id.RoomID, user id.UserID) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		joined, err := member.JoinedMembers(context.Background(), room)
		if err == nil {
			if _, ok := joined.Joined[user]; ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not join %s: %v", user, room, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func sendText(t *testing.T, cli *mautrix.Client, room id.RoomID, content *event.MessageEventContent) id.EventID {
	t.Helper()
	resp, err := cli.SendMessageEvent(context.Background(), room, event.EventMessage, content)
	if err != nil {
		t.Fatal(err)
	}
	return resp.EventID
}

func text(body string) *event.MessageEventContent {
	return &event.MessageEventContent{MsgType: event.MsgText, Body: body}
}

// rawContent fetches an event as cli sees it and returns its content as
// JSON.
func rawContent(t *testing.T, cli *mautrix.Client, room id.RoomID, eventID string) map[string]any {
	t.Helper()
	evt := getEvent(t, cli, room, eventID)
	var content map[string]any
	if err := json.Unmarshal(evt.Content.VeryRaw, &content); err != nil {
		t.Fatal(err)
	}
	if evt.Type != event.EventMessage {
		t.Fatalf("event %s is %s, want m.room.message", eventID, evt.Type.Type)
	}
	return content
}

// getEvent fetches an event as cli sees it, waiting a little for the
// homeserver to index it (Dendrite's sync API follows the room server
// asynchronously).
func getEvent(t *testing.T, cli *mautrix.Client, room id.RoomID, eventID string) *event.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evt, err := cli.GetEvent(context.Background(), room, id.EventID(eventID))
		if err == nil {
			return evt
		}
		if !errors.Is(err, mautrix.MNotFound) || time.Now().After(deadline) {
			t.Fatalf("read %s: %v", eventID, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestMatrixInviteAndAsk: a person invites the bot, the bot joins, and
// what the person writes reaches the inbox with the right fields, in the
// room and in a thread.
func TestMatrixInviteAndAsk(t *testing.T) {
	hs := homeserver(t)
	human, _ := register(t, hs, "alice")
	inbox := newRecorder()
	b := startBot(t, botConfig(t, hs, EncryptionOff), sqlstoretest.SQLite(t), inbox)

	room := roomWithBot(t, human, b.UserID())
	q := sendText(t, human, room, text("!ask Qui connaît les marchés publics ? @room"))
	ev := inbox.wait(t, "the question", func(ev bots.Event) bool { return ev.ID == string(q) })
	want := bots.Event{ID: string(q), Platform: Platform, Room: string(room), DM: false,
		Sender: core.Identity{Platform: Platform, User: string(human.UserID)}, SenderName: human.UserID.Localpart(),
		Text: "!ask Qui connaît les marchés publics ? @room"}
	if ev != want {
		t.Errorf("event\n%+v, want\n%+v", ev, want)
	}

	reply := text("!resolve")
	reply.RelatesTo = &event.RelatesTo{Type: event.RelThread, EventID: q, IsFallingBack: true, InReplyTo: &event.InReplyTo{EventID: q}}
	r := sendText(t, human, room, reply)
	ev = inbox.wait(t, "the reply in the thread", func(ev bots.Event) bool { return ev.ID == string(r) })
	if ev.Thread != string(q) || ev.Text != "!resolve" {
		t.Errorf("thread reply: %+v, want thread %s", ev, q)
	}

	// The bot's own messages never come back.
	if _, err := b.Send(context.Background(), bots.Outgoing{To: bots.Destination{Platform: Platform, Room: string(room)}, Message: *new(bots.Message).Text("!ask echo ?"), Key: "echo"}); err != nil {
		t.Fatal(err)
	}
	last := sendText(t, human, room, text("fin"))
	inbox.wait(t, "the last message", func(ev bots.Event) bool { return ev.ID == string(last) })
	if slices.Contains(inbox.texts(), "!ask echo ?") {
		t.Error("the bot's own message reached the inbox")
	}
}

// TestMatrixSendThreadAndDM: a message in a thread and a direct message
// arrive as m.notice with escaped HTML and explicit empty m.mentions; the
// direct room is created once and reused, after a restart too.
func TestMatrixSendThreadAndDM(t *testing.T) {
	hs := homeserver(t)
	human, _ := register(t, hs, "bob")
	store := sqlstoretest.SQLite(t)
	cfg := botConfig(t, hs, EncryptionOff)
	b := startBot(t, cfg, store, newRecorder())
	ctx := context.Background()

	room := roomWithBot(t, human, b.UserID())
	root := sendText(t, human, room, text("!ask racine"))
	var m bots.Message
	m.Strong("Question").Break().Quote(`@room <script>alert("x")</script>`).Text(" ").Code("!answer 1")
	sent, err := b.Send(ctx, bots.Outgoing{To: bots.Destination{Platform: Platform, Room: string(room), Thread: string(root)}, Message: m, Key: "t/thread"})
	if err != nil {
		t.Fatal(err)
	}
	c := rawContent(t, human, room, sent.MessageID)
	if c["msgtype"] != "m.notice" || c["format"] != "org.matrix.custom.html" {
		t.Errorf("content %s", jsonOf(c))
	}
	if fb, _ := c["formatted_body"].(string); !strings.Contains(fb, "&lt;script&gt;") || strings.Contains(fb, "<script") {
		t.Errorf("formatted_body not escaped: %q", fb)
	}
	if got := jsonOf(c["m.mentions"]); got != "{}" {
		t.Errorf("m.mentions %s, want {}", got)
	}
	if got, want := jsonOf(c["m.relates_to"]), `{"event_id":"`+string(root)+`","is_falling_back":true,"m.in_reply_to":{"event_id":"`+string(root)+`"},"rel_type":"m.thread"}`; got != want {
		t.Errorf("m.relates_to %s, want %s", got, want)
	}

	// A direct message to the human: a new direct room, with a mention of
	// them on purpose.
	var dm bots.Message
	dm.Text("Bonjour ").Mention(core.Identity{Platform: Platform, User: string(human.UserID)}, "Bob").Text(" : « @room »")
	first, err := b.Send(ctx, bots.Outgoing{To: bots.DirectTo(core.Identity{Platform: Platform, User: string(human.UserID)}), Message: dm, Key: "dm/1"})
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	rooms := slices.Clone(b.direct[human.UserID])
	b.mu.Unlock()
	if len(rooms) != 1 {
		t.Fatalf("direct rooms with %s: %v, want one", human.UserID, rooms)
	}
	dmRoom := rooms[0]
	if _, err := human.JoinRoomByID(ctx, dmRoom); err != nil {
		t.Fatalf("join the direct room: %v", err)
	}
	c = rawContent(t, human, dmRoom, first.MessageID)
	if got := jsonOf(c["m.mentions"]); got != `{"user_ids":["`+string(human.UserID)+`"]}` {
		t.Errorf("m.mentions %s, want the human alone", got)
	}
	if c["msgtype"] != "m.notice" {
		t.Errorf("content %s", jsonOf(c))
	}
	var member event.MemberEventContent
	if err := human.StateEvent(ctx, dmRoom, event.StateMember, string(human.UserID), &member); err != nil || member.Membership != event.MembershipJoin {
		t.Errorf("the human's membership in the direct room: %+v %v", member, err)
	}

	// The same room is used again, also by a restarted adapter.
	b.stop()
	b2 := startBot(t, cfg, store, newRecorder())
	waitMembership(t, b2.Adapter, dmRoom, human.UserID)
	second, err := b2.Send(ctx, bots.Outgoing{To: bots.DirectTo(core.Identity{Platform: Platform, User: string(human.UserID)}), Message: *new(bots.Message).Text("encore"), Key: "dm/2"})
	if err != nil {
		t.Fatal(err)
	}
	evt := getEvent(t, human, dmRoom, second.MessageID)
	if evt.RoomID != "" && evt.RoomID != dmRoom {
		t.Errorf("second direct message in %s, want %s", evt.RoomID, dmRoom)
	}
}

// waitMembership waits until the adapter's state store knows user joined
// room.
func waitMembership(t *testing.T, a *Adapter, room id.RoomID, user id.UserID) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := a.state.GetMembership(context.Background(), room, user)
		if err == nil && m == event.MembershipJoin {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the adapter never saw %s join %s (%s, %v)", user, room, m, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMatrixRestart: messages written while the bot is down are delivered
// once each after the restart, the ones delivered before are not repeated,
// and a gap larger than the timeline limit is filled.
func TestMatrixRestart(t *testing.T) {
	hs := homeserver(t)
	human, _ := register(t, hs, "carol")
	store := sqlstoretest.SQLite(t)
	cfg := botConfig(t, hs, EncryptionOff)
	cfg.TimelineLimit = 3
	inbox1 := newRecorder()
	b := startBot(t, cfg, store, inbox1)
	room := roomWithBot(t, human, b.UserID())
	before := sendText(t, human, room, text("avant"))
	inbox1.wait(t, "the first message", func(ev bots.Event) bool { return ev.ID == string(before) })
	// Wait until the batch of "avant" is checkpointed, as a clean stop
	// would leave it.
	time.Sleep(300 * time.Millisecond)
	b.stop()

	var down []string
	for i := range 7 {
		body := "pendant " + string(rune('a'+i))
		sendText(t, human, room, text(body))
		down = append(down, body)
	}
	inbox2 := newRecorder()
	b2 := startBot(t, cfg, store, inbox2)
	_ = b2
	after := sendText(t, human, room, text("après"))
	inbox2.wait(t, "the message written after the restart", func(ev bots.Event) bool { return ev.ID == string(after) })
	got := inbox2.texts()
	want := append(slices.Clone(down), "après")
	if !slices.Equal(got, want) {
		t.Errorf("delivered after the restart:\n%q\nwant\n%q", got, want)
	}
}

// TestMatrixSendIdempotent: the same Outgoing sent twice gives one event,
// through the adapter's record and through the homeserver's transaction
// ids.
func TestMatrixSendIdempotent(t *testing.T) {
	hs := homeserver(t)
	human, _ := register(t, hs, "dave")
	b := startBot(t, botConfig(t, hs, EncryptionOff), sqlstoretest.SQLite(t), newRecorder())
	ctx := context.Background()
	room := roomWithBot(t, human, b.UserID())
	out := bots.Outgoing{To: bots.Destination{Platform: Platform, Room: string(room)}, Message: *new(bots.Message).Text("une seule fois"), Key: "q9/relay"}
	first, err := b.Send(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.Send(ctx, out)
	if err != nil || second != first {
		t.Fatalf("resend: %v %v, want %v", second, err, first)
	}
	// Without the adapter's record, the homeserver recognises the
	// transaction id.
	raw, err := b.sendContent(ctx, room, Render(*new(bots.Message).Text("transaction")), "q9/raw")
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.sendContent(ctx, room, Render(*new(bots.Message).Text("transaction")), "q9/raw")
	if err != nil || again != raw {
		t.Fatalf("same transaction id: %s %v, want %s", again, err, raw)
	}
	msgs, err := human.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, evt := range msgs.Chunk {
		if evt.Type == event.EventMessage {
			body, _ := evt.Content.Raw["body"].(string)
			count[body]++
		}
	}
	if count["une seule fois"] != 1 || count["transaction"] != 1 {
		t.Errorf("events in the room: %v, want one of each", count)
	}
}

// TestMatrixEncryptedWithoutCrypto: an adapter without encryption tells an
// encrypted room once that it cannot read it, and refuses to send there in
// clear text.
func TestMatrixEncryptedWithoutCrypto(t *testing.T) {
	hs := homeserver(t)
	human, _ := register(t, hs, "erin")
	b := startBot(t, botConfig(t, hs, EncryptionOff), sqlstoretest.SQLite(t), newRecorder())
	ctx := context.Background()
	enc := &event.Event{Type: event.StateEncryption, Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}}}
	room := roomWithBot(t, human, b.UserID(), enc)
	for range 2 {
		if _, err := human.SendMessageEvent(ctx, room, event.EventEncrypted, map[string]any{
			"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEn", "session_id": "unknown", "sender_key": "x", "device_id": "D",
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs, err := human.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 50)
		if err != nil {
			t.Fatal(err)
		}
		notices := 0
		for _, evt := range msgs.Chunk {
			if evt.Sender == b.UserID() && evt.Type == event.EventMessage && strings.Contains(evt.Content.Raw["body"].(string), "chiffrés") {
				notices++
			}
		}
		if notices > 1 {
			t.Fatalf("%d notices, want one", notices)
		}
		if notices == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the bot never said it cannot read the encrypted room")
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, err := b.Send(ctx, bots.Outgoing{To: bots.Destination{Platform: Platform, Room: string(room)}, Message: *new(bots.Message).Text("secret"), Key: "clear"})
	if !errors.Is(err, bots.ErrUndeliverable) {
		t.Errorf("send into the encrypted room: %v, want ErrUndeliverable", err)
	}
}
