package matrix_test

// The integration tests run against the homeserver named by
// ENTRAIDE_TEST_MATRIX_HOMESERVER (see matrixtest), and skip without it.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"entraide/adapters/matrix"
	"entraide/adapters/matrix/matrixtest"
	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// recorder is an inbox that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	events []bots.Event
	then   func(context.Context, bots.Event) error // runs before recording
	added  chan struct{}
}

func newRecorder() *recorder { return &recorder{added: make(chan struct{}, 1000)} }

// Deliver implements bots.Inbox.
func (r *recorder) Deliver(ctx context.Context, ev bots.Event) error {
	r.mu.Lock()
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
	deadline := time.After(matrixtest.Timeout)
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
	*matrix.Adapter
	stop func()
}

// startBot runs an adapter for cfg over store, with short delays, until
// stop or the end of the test.
func startBot(t *testing.T, cfg matrix.Config, store *sqlstore.Store, inbox bots.Inbox, timings ...matrix.Timings) *bot {
	t.Helper()
	a, err := matrix.New(cfg, inbox, store, store.DB().DB, matrixtest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	matrix.SetTimings(a, matrix.Timings{Sync: 2 * time.Second, MaxBackoff: time.Second})
	for _, tm := range timings {
		matrix.SetTimings(a, tm)
	}
	return &bot{Adapter: a, stop: matrixtest.Run(t, a)}
}

// roomWithBot creates a room as human, invites the bot and waits until it
// joined.
func roomWithBot(t *testing.T, human *matrixtest.User, botID id.UserID, state ...*event.Event) id.RoomID {
	t.Helper()
	room := human.CreateRoom(t, []id.UserID{botID}, state...)
	human.WaitJoined(t, room, botID)
	return room
}

// rawContent fetches a message as u sees it and returns its content as
// JSON.
func rawContent(t *testing.T, u *matrixtest.User, room id.RoomID, eventID string) map[string]any {
	t.Helper()
	evt := u.Event(t, room, id.EventID(eventID))
	if evt.Type != event.EventMessage {
		t.Fatalf("event %s is %s, want m.room.message", eventID, evt.Type.Type)
	}
	var content map[string]any
	if err := json.Unmarshal(evt.Content.VeryRaw, &content); err != nil {
		t.Fatal(err)
	}
	return content
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// waitMembership waits until the adapter's state store knows user joined
// room.
func waitMembership(t *testing.T, a *matrix.Adapter, room id.RoomID, user id.UserID) {
	t.Helper()
	deadline := time.Now().Add(matrixtest.Timeout)
	for {
		m, err := matrix.Membership(context.Background(), a, room, user)
		if err == nil && m == event.MembershipJoin {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the adapter never saw %s join %s (%s, %v)", user, room, m, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMatrixInviteAndAsk: a person invites the bot, the bot joins, and
// what the person writes reaches the inbox with the right fields, in the
// room and in a thread.
func TestMatrixInviteAndAsk(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	human := matrixtest.Register(t, hs, "alice")
	inbox := newRecorder()
	b := startBot(t, matrixtest.BotConfig(t, hs, matrix.EncryptionOff), sqlstoretest.SQLite(t), inbox)

	room := roomWithBot(t, human, b.UserID())
	q := human.Send(t, room, "!ask Qui connaît les marchés publics ? @room")
	ev := inbox.wait(t, "the question", func(ev bots.Event) bool { return ev.ID == string(q) })
	sent := human.Event(t, room, q)
	want := bots.Event{ID: string(q), Platform: matrix.Platform, Room: string(room), DM: false,
		Sender: core.Identity{Platform: matrix.Platform, User: string(human.ID())}, SenderName: human.ID().Localpart(),
		Text: "!ask Qui connaît les marchés publics ? @room", Tenant: human.ID().Homeserver(),
		At: time.UnixMilli(sent.Timestamp).UTC()} // the homeserver's origin_server_ts
	if ev != want {
		t.Errorf("event\n%+v, want\n%+v", ev, want)
	}

	r := human.SendInThread(t, room, q, "!resolve")
	ev = inbox.wait(t, "the reply in the thread", func(ev bots.Event) bool { return ev.ID == string(r) })
	if ev.Thread != string(q) || ev.Text != "!resolve" {
		t.Errorf("thread reply: %+v, want thread %s", ev, q)
	}

	// The bot's own messages never come back.
	if _, err := b.Send(context.Background(), bots.Outgoing{To: bots.Destination{Platform: matrix.Platform, Room: string(room)}, Message: *new(bots.Message).Text("!ask echo ?"), Key: "echo"}); err != nil {
		t.Fatal(err)
	}
	last := human.Send(t, room, "fin")
	inbox.wait(t, "the last message", func(ev bots.Event) bool { return ev.ID == string(last) })
	if slices.Contains(inbox.texts(), "!ask echo ?") {
		t.Error("the bot's own message reached the inbox")
	}
}

// TestMatrixSendThreadAndDM: a message in a thread and a direct message
// arrive as m.notice with escaped HTML and explicit empty m.mentions; the
// direct room is created once and reused, after a restart too.
func TestMatrixSendThreadAndDM(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	human := matrixtest.Register(t, hs, "bob")
	store := sqlstoretest.SQLite(t)
	cfg := matrixtest.BotConfig(t, hs, matrix.EncryptionOff)
	b := startBot(t, cfg, store, newRecorder())
	ctx := context.Background()

	room := roomWithBot(t, human, b.UserID())
	root := human.Send(t, room, "!ask racine")
	var m bots.Message
	m.Strong("Question").Break().Quote(`@room <script>alert("x")</script>`).Text(" ").Code("!answer 1")
	sent, err := b.Send(ctx, bots.Outgoing{To: bots.Destination{Platform: matrix.Platform, Room: string(room), Thread: string(root)}, Message: m, Key: "t/thread"})
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
	who := core.Identity{Platform: matrix.Platform, User: string(human.ID())}
	var dm bots.Message
	dm.Text("Bonjour ").Mention(who, "Bob").Text(" : « @room »")
	first, err := b.Send(ctx, bots.Outgoing{To: bots.DirectTo(who), Message: dm, Key: "dm/1"})
	if err != nil {
		t.Fatal(err)
	}
	rooms := matrix.DirectRooms(b.Adapter, human.ID())
	if len(rooms) != 1 {
		t.Fatalf("direct rooms with %s: %v, want one", human.ID(), rooms)
	}
	dmRoom := human.AcceptInvite(t, b.UserID(), 0)
	if dmRoom != rooms[0] {
		t.Fatalf("invited into %s, want the direct room %s", dmRoom, rooms[0])
	}
	c = rawContent(t, human, dmRoom, first.MessageID)
	if got := jsonOf(c["m.mentions"]); got != `{"user_ids":["`+string(human.ID())+`"]}` {
		t.Errorf("m.mentions %s, want the human alone", got)
	}
	if c["msgtype"] != "m.notice" {
		t.Errorf("content %s", jsonOf(c))
	}
	var member event.MemberEventContent
	if err := human.Client.StateEvent(ctx, dmRoom, event.StateMember, string(human.ID()), &member); err != nil || member.Membership != event.MembershipJoin {
		t.Errorf("the human's membership in the direct room: %+v %v", member, err)
	}

	// The same room is used again, also by a restarted adapter.
	b.stop()
	b2 := startBot(t, cfg, store, newRecorder())
	waitMembership(t, b2.Adapter, dmRoom, human.ID())
	second, err := b2.Send(ctx, bots.Outgoing{To: bots.DirectTo(who), Message: *new(bots.Message).Text("encore"), Key: "dm/2"})
	if err != nil {
		t.Fatal(err)
	}
	evt := human.Event(t, dmRoom, id.EventID(second.MessageID))
	if evt.RoomID != "" && evt.RoomID != dmRoom {
		t.Errorf("second direct message in %s, want %s", evt.RoomID, dmRoom)
	}
}

// TestMatrixRestart: messages written while the bot is down are delivered
// once each after the restart, the ones delivered before are not repeated,
// and a gap larger than the timeline limit is filled.
func TestMatrixRestart(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	human := matrixtest.Register(t, hs, "carol")
	store := sqlstoretest.SQLite(t)
	cfg := matrixtest.BotConfig(t, hs, matrix.EncryptionOff)
	cfg.TimelineLimit = 3
	inbox1 := newRecorder()
	b := startBot(t, cfg, store, inbox1)
	room := roomWithBot(t, human, b.UserID())
	before := human.Send(t, room, "avant")
	inbox1.wait(t, "the first message", func(ev bots.Event) bool { return ev.ID == string(before) })
	// Wait until the batch of "avant" is checkpointed, as a clean stop
	// would leave it.
	time.Sleep(300 * time.Millisecond)
	b.stop()

	var down []string
	for i := range 7 {
		body := "pendant " + string(rune('a'+i))
		human.Send(t, room, body)
		down = append(down, body)
	}
	inbox2 := newRecorder()
	startBot(t, cfg, store, inbox2)
	after := human.Send(t, room, "après")
	inbox2.wait(t, "the message written after the restart", func(ev bots.Event) bool { return ev.ID == string(after) })
	got := inbox2.texts()
	want := append(slices.Clone(down), "après")
	if !slices.Equal(got, want) {
		t.Errorf("delivered after the restart:\n%q\nwant\n%q", got, want)
	}
}

// TestMatrixCatchUp: catching up after sync failures reads the rooms'
// recent messages with /messages from the newest (no from token, which the
// homeserver must take) and hands them to the inbox again, oldest first;
// the pipeline's inbox drops those it holds already.
func TestMatrixCatchUp(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	human := matrixtest.Register(t, hs, "erin")
	store := sqlstoretest.SQLite(t)
	cfg := matrixtest.BotConfig(t, hs, matrix.EncryptionOff)
	inbox := newRecorder()
	b := startBot(t, cfg, store, inbox)
	room := roomWithBot(t, human, b.UserID())
	start := time.Now()
	human.Send(t, room, "un")
	last := human.Send(t, room, "deux")
	inbox.wait(t, "the second message", func(ev bots.Event) bool { return ev.ID == string(last) })
	time.Sleep(300 * time.Millisecond) // its batch checkpointed
	b.stop()
	if err := matrix.CatchUp(context.Background(), b.Adapter, start.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, want := inbox.texts(), []string{"un", "deux", "un", "deux"}; !slices.Equal(got, want) {
		t.Errorf("delivered %q, want %q (each message again after catching up)", got, want)
	}
}

// TestMatrixSendIdempotent: the same Outgoing sent twice gives one event,
// through the adapter's record and through the homeserver's transaction
// ids.
func TestMatrixSendIdempotent(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	human := matrixtest.Register(t, hs, "dave")
	b := startBot(t, matrixtest.BotConfig(t, hs, matrix.EncryptionOff), sqlstoretest.SQLite(t), newRecorder())
	ctx := context.Background()
	room := roomWithBot(t, human, b.UserID())
	out := bots.Outgoing{To: bots.Destination{Platform: matrix.Platform, Room: string(room)}, Message: *new(bots.Message).Text("une seule fois"), Key: "q9/relay"}
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
	raw, err := matrix.SendContent(ctx, b.Adapter, room, matrix.Render(*new(bots.Message).Text("transaction")), "q9/raw")
	if err != nil {
		t.Fatal(err)
	}
	again, err := matrix.SendContent(ctx, b.Adapter, room, matrix.Render(*new(bots.Message).Text("transaction")), "q9/raw")
	if err != nil || again != raw {
		t.Fatalf("same transaction id: %s %v, want %s", again, err, raw)
	}
	for _, body := range []string{"une seule fois", "transaction"} {
		if n := human.Count(t, room, matrixtest.BodyContains(body)); n != 1 {
			t.Errorf("%d events %q in the room, want one", n, body)
		}
	}
}

// TestMatrixReactions: a message whose buttons carry emoji is sent with
// the bot's own reactions under it, once however often it is sent; a
// person's reaction with one of those emoji reaches the inbox as a
// reaction to that message (in a direct message to the bot, as a button
// press would be), and a reaction with another emoji does not.
func TestMatrixReactions(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	human := matrixtest.Register(t, hs, "fanny")
	inbox := newRecorder()
	b := startBot(t, matrixtest.BotConfig(t, hs, matrix.EncryptionOff), sqlstoretest.SQLite(t), inbox)
	ctx := context.Background()
	room := roomWithBot(t, human, b.UserID())
	m := *new(bots.Message).Text("Atelier jeudi 14 h")
	m.Actions = []bots.Action{
		{Kind: bots.ActionCommand, ID: "going:1", Label: "J'y vais", Command: "rsvp 1 going", Reaction: bots.ReactGoing},
		{Kind: bots.ActionCommand, ID: "maybe:1", Label: "Peut-être", Command: "rsvp 1 maybe", Reaction: bots.ReactMaybe},
		{Kind: bots.ActionCommand, ID: "save:1", Label: "Garder", Command: "save 1"},
	}
	out := bots.Outgoing{To: bots.Destination{Platform: matrix.Platform, Room: string(room)}, Message: m, Key: "e1/card"}
	sent, err := b.Send(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	card := id.EventID(sent.MessageID)
	for _, key := range []string{bots.ReactGoing, bots.ReactMaybe} {
		human.WaitEvent(t, room, 0, matrixtest.And(matrixtest.SentBy(b.UserID()), matrixtest.IsReaction(card, key)))
	}
	if again, err := b.Send(ctx, out); err != nil || again != sent {
		t.Fatalf("sent again: %v %v, want %v", again, err, sent)
	}
	mine := func(evt *event.Event) bool { return evt.Sender == b.UserID() && evt.Type == event.EventReaction }
	if n := human.Count(t, room, mine); n != 2 {
		t.Errorf("%d reactions of the bot in the room, want 2 (👍 and 🤔, once each)", n)
	}

	human.React(t, room, card, "😄")
	going := human.React(t, room, card, bots.ReactGoing+"\uFE0F")
	ev := inbox.wait(t, "the reaction", func(ev bots.Event) bool { return ev.ID == string(going) })
	if ev.ReactionTo != string(card) || ev.Reaction != bots.ReactGoing || !ev.DM || ev.Room != "" || ev.Text != "" ||
		ev.Sender.User != string(human.ID()) {
		t.Errorf("delivered %+v, want a reaction 👍 to %s by %s in a direct message", ev, card, human.ID())
	}
	// Taking the 👍 back reaches the inbox as its undoing.
	c, cancel := context.WithTimeout(ctx, matrixtest.Timeout)
	redaction, err := human.Client.RedactEvent(c, room, going)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	undo := inbox.wait(t, "the reaction taken back", func(ev bots.Event) bool { return ev.ID == string(redaction.EventID) })
	if undo.Unreact != string(going) || !undo.DM || undo.Text != "" || undo.Sender.User != string(human.ID()) {
		t.Errorf("delivered %+v, want the undoing of %s by %s", undo, going, human.ID())
	}

	inbox.mu.Lock()
	defer inbox.mu.Unlock()
	for _, ev := range inbox.events { // 😄 came first: it would be here
		if ev.Reaction != "" && ev.Reaction != bots.ReactGoing {
			t.Errorf("the reaction %q, which stands for no button, was delivered", ev.Reaction)
		}
	}
}

// TestMatrixEncryptedWithoutCrypto: an adapter without encryption tells an
// encrypted room once that it cannot read it, and refuses to send there in
// clear text.
func TestMatrixEncryptedWithoutCrypto(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	human := matrixtest.Register(t, hs, "erin")
	b := startBot(t, matrixtest.BotConfig(t, hs, matrix.EncryptionOff), sqlstoretest.SQLite(t), newRecorder())
	ctx := context.Background()
	room := roomWithBot(t, human, b.UserID(), matrixtest.EncryptionState())
	for range 2 {
		if _, err := human.Client.SendMessageEvent(ctx, room, event.EventEncrypted, map[string]any{
			"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEn", "session_id": "unknown", "sender_key": "x", "device_id": "D",
		}); err != nil {
			t.Fatal(err)
		}
	}
	fromBot := matrixtest.And(matrixtest.SentBy(b.UserID()), matrixtest.BodyContains("chiffrés"))
	human.WaitEvent(t, room, 0, fromBot)
	// A second notice would come at once (the second message is in the
	// same or the next batch).
	time.Sleep(500 * time.Millisecond)
	if n := human.Count(t, room, fromBot); n != 1 {
		t.Errorf("%d notices, want one", n)
	}
	_, err := b.Send(ctx, bots.Outgoing{To: bots.Destination{Platform: matrix.Platform, Room: string(room)}, Message: *new(bots.Message).Text("secret"), Key: "clear"})
	if !errors.Is(err, bots.ErrUndeliverable) {
		t.Errorf("send into the encrypted room: %v, want ErrUndeliverable", err)
	}
}
