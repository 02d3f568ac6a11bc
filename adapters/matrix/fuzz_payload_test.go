package matrix

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"entraide/bots"
)

// The fuzz targets of this file feed Matrix timeline events, as /sync
// returns them, to the conversion into bots.Event, and the helpers it uses
// (reply fallbacks, mentions of the bot, tenants) to any text.

// The world of the fuzz targets: the bot, a room where alice is known by
// her display name, and bob's direct room with the bot.
const (
	fuzzBot    = id.UserID("@entraide:agent.tchap.gouv.fr")
	fuzzRoom   = id.RoomID("!r:example.org")
	fuzzDMRoom = id.RoomID("!dm:example.org")
	fuzzAlice  = id.UserID("@alice.martin-interieur.gouv.fr:agent.interieur.tchap.gouv.fr")
	fuzzBob    = id.UserID("@bob:example.org")
)

// memCheckpoints is an in-memory Checkpointer.
type memCheckpoints struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memCheckpoints) Checkpoint(_ context.Context, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}

func (s *memCheckpoints) SetCheckpoint(_ context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = value
	return nil
}

// fuzzAdapter returns an adapter that never connects, logged in as
// fuzzBot, with its state tables in an in-memory SQLite database that
// knows alice's display name, and bob's direct room.
func fuzzAdapter(tb testing.TB) *Adapter {
	tb.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	inbox := bots.InboxFunc(func(context.Context, bots.Event) error { return nil })
	a, err := New(Config{Homeserver: "http://matrix.invalid", User: string(fuzzBot), Token: "tok", Encryption: EncryptionOff},
		inbox, &memCheckpoints{m: map[string]string{}}, db, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if err := a.state.Upgrade(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := a.state.SetMember(ctx, fuzzRoom, fuzzAlice, &event.MemberEventContent{Membership: event.MembershipJoin, Displayname: "Alice M."}); err != nil {
		tb.Fatal(err)
	}
	a.direct[fuzzBob] = []id.RoomID{fuzzDMRoom}
	return a
}

// fuzzEvents are timeline events as /sync returns them: plain, mentioning
// the bot (pill and m.mentions), replies with a fallback, in a thread, an
// edit, a notice, formatted bodies, a direct message, the bot's own.
var fuzzEvents = []string{
	`{"type":"m.room.redaction","sender":"` + string(fuzzAlice) + `","event_id":"$x1","room_id":"` + string(fuzzRoom) + `","redacts":"$r1","content":{}}`,
	`{"type":"m.room.redaction","sender":"` + string(fuzzAlice) + `","event_id":"$x2","room_id":"` + string(fuzzRoom) + `","content":{"redacts":"$r1"}}`,
	`{"type":"m.reaction","sender":"` + string(fuzzAlice) + `","event_id":"$r1","room_id":"` + string(fuzzRoom) + `","content":{"m.relates_to":{"rel_type":"m.annotation","event_id":"$card","key":"👍️"}}}`,
	`{"type":"m.reaction","sender":"` + string(fuzzAlice) + `","event_id":"$r2","room_id":"` + string(fuzzDMRoom) + `","content":{"m.relates_to":{"rel_type":"m.annotation","event_id":"$q1","key":"😄"}}}`,
	`{"type":"m.room.message","sender":"` + string(fuzzAlice) + `","event_id":"$a1","room_id":"` + string(fuzzRoom) + `","origin_server_ts":1,"content":{"msgtype":"m.text","body":"bonjour"}}`,
	`{"type":"m.room.message","sender":"` + string(fuzzAlice) + `","event_id":"$a2","room_id":"` + string(fuzzRoom) + `","content":{"msgtype":"m.text","body":"entraide: ask Quel délai ?","format":"org.matrix.custom.html","formatted_body":"<a href=\"https://matrix.to/#/@entraide:agent.tchap.gouv.fr\">entraide</a>: ask Quel délai ?","m.mentions":{"user_ids":["` + string(fuzzBot) + `"]}}}`,
	`{"type":"m.room.message","sender":"@carol:example.org","event_id":"$a3","room_id":"` + string(fuzzRoom) + `","content":{"msgtype":"m.text","body":"> <@entraide:agent.tchap.gouv.fr> Question n°1\n>\n> suite\n\n!answer 1 Partez du modèle.","m.relates_to":{"m.in_reply_to":{"event_id":"$q1"}},"m.mentions":{"user_ids":["` + string(fuzzBot) + `"]}}}`,
	`{"type":"m.room.message","sender":"@carol:example.org","event_id":"$a4","room_id":"` + string(fuzzRoom) + `","content":{"msgtype":"m.text","body":"!answer 1 oui","m.relates_to":{"rel_type":"m.thread","event_id":"$q1","is_falling_back":true,"m.in_reply_to":{"event_id":"$q1"}}}}`,
	`{"type":"m.room.message","sender":"@carol:example.org","event_id":"$a5","room_id":"` + string(fuzzRoom) + `","content":{"msgtype":"m.text","body":"* corrigé","m.new_content":{"msgtype":"m.text","body":"corrigé"},"m.relates_to":{"rel_type":"m.replace","event_id":"$a4"}}}`,
	`{"type":"m.room.message","sender":"@carol:example.org","event_id":"$a6","room_id":"` + string(fuzzRoom) + `","content":{"msgtype":"m.notice","body":"note"}}`,
	`{"type":"m.room.message","sender":"` + string(fuzzBob) + `","event_id":"$a7","room_id":"` + string(fuzzDMRoom) + `","content":{"msgtype":"m.text","body":"Comment rédiger un CCTP ?"}}`,
	`{"type":"m.room.message","sender":"` + string(fuzzBot) + `","event_id":"$a8","room_id":"` + string(fuzzRoom) + `","content":{"msgtype":"m.text","body":"moi"}}`,
	`{"type":"m.room.member","sender":"@carol:example.org","state_key":"@carol:example.org","event_id":"$a9","room_id":"` + string(fuzzRoom) + `","content":{"membership":"join"}}`,
	`{"type":"m.room.message","sender":"@eve:evil.org\u000bmail:gouv.fr","event_id":"$b1","room_id":"` + string(fuzzRoom) + `","content":{"msgtype":"m.text","body":"!mine"}}`,
	`{"type":"m.room.message","room_id":"` + string(fuzzRoom) + `","content":{"msgtype":"m.text","body":"!mine"}}`,
}

// FuzzMatrixEvent converts any timeline event into a bots.Event, as the
// adapter does for each event of a /sync batch. An event taken is a
// reaction with an emoji that stands for a button, which gives a reaction
// to the event it annotates, in a direct message (in its room when that is
// the bot's direct room), or a text message that is not an edit, which
// gives an Event with its id, sender and room (a redaction gives an
// Event that takes back what it redacts), Matrix as its platform, the tenants of its sender (names separated
// by single spaces, no other blank), and a text no larger than the event
// could carry (a JSON string grows threefold at most when decoded, an
// invalid byte becoming U+FFFD; the prefix and "ask " add a few bytes);
// anything else gives the zero Event.
func FuzzMatrixEvent(f *testing.F) {
	for _, e := range fuzzEvents {
		f.Add([]byte(e))
	}
	a := fuzzAdapter(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var evt event.Event
		if err := json.Unmarshal(raw, &evt); err != nil {
			return
		}
		if evt.StateKey != nil {
			evt.Type.Class = event.StateEventType
		} else {
			evt.Type.Class = event.MessageEventType
		}
		ev, ok := a.toEvent(context.Background(), &evt)
		if !ok {
			if ev != (bots.Event{}) {
				t.Fatalf("event refused but converted: %+v", ev)
			}
			return
		}
		if evt.Type == event.EventRedaction {
			redacts := evt.Content.AsRedaction().Redacts
			if redacts == "" {
				redacts = evt.Redacts
			}
			if ev.Unreact == "" || ev.Unreact != string(redacts) || !ev.DM || ev.Text != "" || ev.ReactionTo != "" || ev.ID != string(evt.ID) ||
				ev.Sender.User != string(evt.Sender) || evt.Sender == fuzzBot {
				t.Fatalf("redaction of %q taken as %+v", redacts, ev)
			}
			return
		}
		if ev.Unreact != "" {
			t.Fatalf("a message taken as a redaction: %+v", ev)
		}
		if evt.Type == event.EventReaction {
			rel := evt.Content.AsReaction().RelatesTo
			wantRoom := ""
			if evt.RoomID == fuzzDMRoom {
				wantRoom = string(fuzzDMRoom)
			}
			if rel.Type != event.RelAnnotation || ev.ReactionTo == "" || ev.ReactionTo != string(rel.EventID) || !bots.IsActionReaction(ev.Reaction) ||
				ev.Reaction != bots.NormalizeReaction(rel.Key) || !ev.DM || ev.Room != wantRoom || ev.Text != "" || ev.ID != string(evt.ID) ||
				ev.Sender.User != string(evt.Sender) || evt.Sender == fuzzBot {
				t.Fatalf("reaction %+v taken as %+v", rel, ev)
			}
			checkTenants(t, string(evt.Sender), ev.Tenant)
			return
		}
		if ev.ReactionTo != "" || ev.Reaction != "" {
			t.Fatalf("a message taken as a reaction: %+v", ev)
		}
		if evt.Timestamp > 0 && !ev.At.Equal(time.UnixMilli(evt.Timestamp)) || evt.Timestamp <= 0 && !ev.At.IsZero() {
			t.Fatalf("event of origin_server_ts %d dated %v", evt.Timestamp, ev.At)
		}
		msg := evt.Content.AsMessage()
		if evt.Type != event.EventMessage || msg.MsgType != event.MsgText || msg.RelatesTo.GetReplaceID() != "" || evt.Sender == fuzzBot {
			t.Fatalf("took an event of type %s, msgtype %q, relation %+v, from %s", evt.Type.Type, msg.MsgType, msg.RelatesTo, evt.Sender)
		}
		if ev.ID == "" || ev.ID != string(evt.ID) || ev.Sender.User == "" || ev.Sender.User != string(evt.Sender) || ev.Room != string(evt.RoomID) {
			t.Fatalf("event %+v from id %q, sender %q, room %q", ev, evt.ID, evt.Sender, evt.RoomID)
		}
		if ev.Platform != Platform || ev.Sender.Platform != Platform {
			t.Fatalf("event of platform %q, sender of %q", ev.Platform, ev.Sender.Platform)
		}
		checkTenants(t, string(evt.Sender), ev.Tenant)
		if ev.DM != (evt.RoomID == fuzzDMRoom) {
			t.Fatalf("DM %v in room %s", ev.DM, evt.RoomID)
		}
		if !utf8.ValidString(ev.Text) || len(ev.Text) > 3*len(raw)+16 {
			t.Fatalf("text of %d bytes (valid UTF-8: %v) from an event of %d", len(ev.Text), utf8.ValidString(ev.Text), len(raw))
		}
	})
}

// checkTenants checks the tenants of user: names separated by single
// spaces, no other blank, the homeserver first and at most an e-mail
// domain after it.
func checkTenants(t *testing.T, user, tenants string) {
	t.Helper()
	names := strings.Fields(tenants)
	if strings.Join(names, " ") != tenants || len(names) > 2 {
		t.Fatalf("tenants of %q: %q", user, tenants)
	}
	if len(names) > 0 && strings.HasPrefix(names[0], "mail:") || len(names) == 2 && !strings.HasPrefix(names[1], "mail:") {
		t.Fatalf("tenants of %q: %q", user, tenants)
	}
}

// FuzzMatrixText checks the text helpers of the conversion on any body and
// user id: StripReplyFallback keeps a suffix of the body (all of it when
// the body does not start with a quote), StripMention a suffix of the
// trimmed body (all of it when the body does not start with the bot's
// name), and Tenants gives names separated by single spaces.
func FuzzMatrixText(f *testing.F) {
	f.Add("> <@a:b> q\n>\n\nréponse", string(fuzzBot))
	f.Add(">", "@x:y")
	f.Add("entraide, aide", string(fuzzBot))
	f.Add("@ENTRAIDE:agent.tchap.gouv.fr: ask", string(fuzzBot))
	f.Add("bonjour", string(fuzzAlice))
	f.Add("x", "@eve:evil.org\vmail:gouv.fr")
	f.Add("x", "@eve:evil.org\u00a0mail:gouv.fr")
	f.Fuzz(func(t *testing.T, body, user string) {
		stripped := StripReplyFallback(body)
		if !strings.HasSuffix(body, stripped) || (!strings.HasPrefix(body, "> ") && body != ">" && stripped != body) {
			t.Fatalf("StripReplyFallback(%q) = %q", body, stripped)
		}
		trimmed := strings.TrimSpace(body)
		rest := StripMention(body, id.UserID(user))
		if !strings.HasSuffix(trimmed, rest) {
			t.Fatalf("StripMention(%q, %q) = %q", body, user, rest)
		}
		local := strings.TrimPrefix(strings.SplitN(user, ":", 2)[0], "@")
		if rest != trimmed && !slices.ContainsFunc([]string{user, "@" + local, local}, func(name string) bool {
			return name != "" && len(trimmed) >= len(name) && strings.EqualFold(trimmed[:len(name)], name)
		}) {
			t.Fatalf("StripMention(%q, %q) = %q, but the body does not start with the bot's name", body, user, rest)
		}
		checkTenants(t, user, Tenants(user))
	})
}

// TestTenantsOneNamePerServer checks that an id whose server part is not a
// server name gives no tenant: access rules split tenants at any blank, so
// "evil.org\vmail:gouv.fr" would claim the e-mail domain of an
// administration, and so would the server part "mail:gouv.fr" itself.
func TestTenantsOneNamePerServer(t *testing.T) {
	for _, user := range []string{
		"@eve:evil.org\vmail:gouv.fr", "@eve:evil.org\u00a0mail:gouv.fr", "@eve:evil.org\rmail:gouv.fr",
		"@eve:\u2028", "@eve:mail:gouv.fr", "@eve:MAIL:interieur.gouv.fr",
	} {
		if got := Tenants(user); got != "" {
			t.Errorf("Tenants(%q) = %q, want none", user, got)
		}
	}
}

// TestEventNeedsIDAndSender checks that a timeline event without an event
// id or a sender is not delivered: the inbox tells events apart by id, and
// replies go to the sender.
func TestEventNeedsIDAndSender(t *testing.T) {
	a := fuzzAdapter(t)
	for _, raw := range []string{
		`{"type":"m.room.message","room_id":"!r:example.org","content":{"msgtype":"m.text","body":"!mine"}}`,
		`{"type":"m.room.message","event_id":"$e","room_id":"!r:example.org","content":{"msgtype":"m.text","body":"!mine"}}`,
		`{"type":"m.room.message","sender":"@bob:example.org","room_id":"!r:example.org","content":{"msgtype":"m.text","body":"!mine"}}`,
	} {
		var evt event.Event
		if err := json.Unmarshal([]byte(raw), &evt); err != nil {
			t.Fatal(err)
		}
		if ev, ok := a.toEvent(t.Context(), &evt); ok {
			t.Errorf("%s: delivered %+v", raw, ev)
		}
	}
}
