package matrixtest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Match reports whether an event is the one a test waits for. Message
// contents are parsed: evt.Content.AsMessage() reads them.
type Match func(evt *event.Event) bool

// BodyContains matches messages whose body contains s.
func BodyContains(s string) Match {
	return func(evt *event.Event) bool {
		return evt.Type == event.EventMessage && strings.Contains(evt.Content.AsMessage().Body, s)
	}
}

// SentBy matches events sent by user.
func SentBy(user id.UserID) Match {
	return func(evt *event.Event) bool { return evt.Sender == user }
}

// IsFile matches m.file messages.
func IsFile() Match {
	return func(evt *event.Event) bool {
		return evt.Type == event.EventMessage && evt.Content.AsMessage().MsgType == event.MsgFile
	}
}

// And matches events that every one of ms matches.
func And(ms ...Match) Match {
	return func(evt *event.Event) bool {
		for _, m := range ms {
			if !m(evt) {
				return false
			}
		}
		return true
	}
}

// EncryptionState is the state event that makes a new room end-to-end
// encrypted, for CreateRoom.
func EncryptionState() *event.Event {
	return &event.Event{Type: event.StateEncryption, Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}}}
}

// CreateRoom creates a private room, invites the users of invite (who still
// have to join; the entraide bot joins by itself) and returns its id.
// state is added to the room's initial state (EncryptionState, say).
func (u *User) CreateRoom(tb testing.TB, invite []id.UserID, state ...*event.Event) id.RoomID {
	tb.Helper()
	c, cancel := requestCtx()
	defer cancel()
	resp, err := u.Client.CreateRoom(c, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: invite, InitialState: state})
	if err != nil {
		u.fatalf(tb, "create a room: %v", err)
	}
	return resp.RoomID
}

// Invite invites user into room.
func (u *User) Invite(tb testing.TB, room id.RoomID, user id.UserID) {
	tb.Helper()
	c, cancel := requestCtx()
	defer cancel()
	if _, err := u.Client.InviteUser(c, room, &mautrix.ReqInviteUser{UserID: user}); err != nil {
		u.fatalf(tb, "invite %s into %s: %v", user, room, err)
	}
}

// Join joins room (after an invite).
func (u *User) Join(tb testing.TB, room id.RoomID) {
	tb.Helper()
	c, cancel := requestCtx()
	defer cancel()
	if _, err := u.Client.JoinRoomByID(c, room); err != nil {
		u.fatalf(tb, "join %s: %v", room, err)
	}
}

// WaitJoined waits until user is a joined member of room, as u sees it, for
// Timeout at most.
func (u *User) WaitJoined(tb testing.TB, room id.RoomID, user id.UserID) {
	tb.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		c, cancel := requestCtx()
		joined, err := u.Client.JoinedMembers(c, room)
		cancel()
		if err == nil {
			if _, ok := joined.Joined[user]; ok {
				return
			}
		}
		if time.Now().After(deadline) {
			u.fatalf(tb, "%s did not join %s within %s (last error: %v)", user, room, Timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// AcceptInvite waits until someone invites u into a room, from if it is
// not empty, joins that room and returns it: how a person finds the direct
// room the bot opens to write to them. timeout 0 means Timeout.
func (u *User) AcceptInvite(tb testing.TB, from id.UserID, timeout time.Duration) id.RoomID {
	tb.Helper()
	deadline := time.Now().Add(or(timeout))
	filter := `{"room":{"timeline":{"limit":1}},"presence":{"not_types":["*"]}}`
	for {
		c, cancel := requestCtx()
		resp, err := u.Client.FullSyncRequest(c, mautrix.ReqSync{FilterID: filter})
		cancel()
		if err == nil {
			for room, inv := range resp.Rooms.Invite {
				for _, evt := range inv.State.Events {
					if evt.Type == event.StateMember && evt.GetStateKey() == u.ID().String() && (from == "" || evt.Sender == from) {
						u.Join(tb, room)
						return room
					}
				}
			}
		}
		if time.Now().After(deadline) {
			u.fatalf(tb, "no invite from %q within %s (last error: %v)", from, or(timeout), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Send writes body as an m.text message into room and returns its id.
func (u *User) Send(tb testing.TB, room id.RoomID, body string) id.EventID {
	tb.Helper()
	return u.SendContent(tb, room, &event.MessageEventContent{MsgType: event.MsgText, Body: body})
}

// SendInThread writes body as an m.text message into the thread of root in
// room (with a reply fallback, as Element does) and returns its id.
func (u *User) SendInThread(tb testing.TB, room id.RoomID, root id.EventID, body string) id.EventID {
	tb.Helper()
	return u.SendContent(tb, room, &event.MessageEventContent{MsgType: event.MsgText, Body: body, RelatesTo: ThreadOf(root)})
}

// ThreadOf is the relation of a message in the thread of root, with a reply
// fallback, as Element writes it.
func ThreadOf(root id.EventID) *event.RelatesTo {
	return &event.RelatesTo{Type: event.RelThread, EventID: root, IsFallingBack: true, InReplyTo: &event.InReplyTo{EventID: root}}
}

// SendContent sends content as an m.room.message into room, in clear, and
// returns its id.
func (u *User) SendContent(tb testing.TB, room id.RoomID, content *event.MessageEventContent) id.EventID {
	tb.Helper()
	c, cancel := requestCtx()
	defer cancel()
	resp, err := u.Client.SendMessageEvent(c, room, event.EventMessage, content)
	if err != nil {
		u.fatalf(tb, "send into %s: %v", room, err)
	}
	return resp.EventID
}

// Event returns the event eventID of room as u reads it, its content
// parsed, waiting a little for the homeserver to index it (Dendrite's sync
// API follows its room server asynchronously).
func (u *User) Event(tb testing.TB, room id.RoomID, eventID id.EventID) *event.Event {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, cancel := requestCtx()
		evt, err := u.Client.GetEvent(c, room, eventID)
		cancel()
		if err == nil {
			parse(evt)
			return evt
		}
		if !errors.Is(err, mautrix.MNotFound) || time.Now().After(deadline) {
			u.fatalf(tb, "read %s in %s: %v", eventID, room, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Events returns the last 100 events of room's timeline as u reads them,
// oldest first, their contents parsed. Encrypted events stay encrypted:
// an EncryptedUser decrypts them as they come.
func (u *User) Events(tb testing.TB, room id.RoomID) []*event.Event {
	tb.Helper()
	evts, err := u.events(room)
	if err != nil {
		u.fatalf(tb, "read the messages of %s: %v", room, err)
	}
	return evts
}

func (u *User) events(room id.RoomID) ([]*event.Event, error) {
	c, cancel := requestCtx()
	defer cancel()
	resp, err := u.Client.Messages(c, room, "", "", mautrix.DirectionBackward, nil, 100)
	if err != nil {
		return nil, err
	}
	evts := slices.Clone(resp.Chunk)
	slices.Reverse(evts)
	for _, evt := range evts {
		evt.RoomID = room
		parse(evt)
	}
	return evts, nil
}

// WaitEvent waits until an event of room matches m and returns it (the
// oldest when several do), reading the last 100 events of the room every
// 100 ms. timeout 0 means Timeout.
func (u *User) WaitEvent(tb testing.TB, room id.RoomID, timeout time.Duration, m Match) *event.Event {
	tb.Helper()
	deadline := time.Now().Add(or(timeout))
	for {
		evts, err := u.events(room)
		if err == nil {
			if i := slices.IndexFunc(evts, m); i >= 0 {
				return evts[i]
			}
		}
		if time.Now().After(deadline) {
			u.fatalf(tb, "no matching event in %s within %s (%d events read, last error: %v)", room, or(timeout), len(evts), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitInThread waits until a message of the thread of root in room matches
// m and returns it. timeout 0 means Timeout.
func (u *User) WaitInThread(tb testing.TB, room id.RoomID, root id.EventID, timeout time.Duration, m Match) *event.Event {
	tb.Helper()
	return u.WaitEvent(tb, room, timeout, And(InThread(root), m))
}

// InThread matches the messages of the thread of root, encrypted ones
// included (their relation stays in clear).
func InThread(root id.EventID) Match {
	return func(evt *event.Event) bool {
		switch c := evt.Content.Parsed.(type) {
		case *event.MessageEventContent:
			return c.RelatesTo.GetThreadParent() == root
		case *event.EncryptedEventContent:
			return c.RelatesTo.GetThreadParent() == root
		}
		return false
	}
}

// Count returns how many of the last 100 events of room match m.
func (u *User) Count(tb testing.TB, room id.RoomID, m Match) int {
	tb.Helper()
	n := 0
	for _, evt := range u.Events(tb, room) {
		if m(evt) {
			n++
		}
	}
	return n
}

// Download returns the bytes of the file a message points to: its url, or
// its file field (an encrypted attachment), downloaded and decrypted after
// its hash is checked.
func (u *User) Download(tb testing.TB, content *event.MessageEventContent) []byte {
	tb.Helper()
	uri := content.URL
	if content.File != nil {
		uri = content.File.URL
	}
	mxc, err := uri.Parse()
	if err != nil {
		u.fatalf(tb, "file url %q: %v", uri, err)
	}
	c, cancel := requestCtx()
	defer cancel()
	data, err := u.Client.DownloadBytes(c, mxc)
	if err != nil {
		u.fatalf(tb, "download %s: %v", mxc, err)
	}
	if content.File != nil {
		if err := content.File.DecryptInPlace(data); err != nil {
			u.fatalf(tb, "decrypt %s: %v", mxc, err)
		}
	}
	return data
}

// parse parses the content of evt by its type, when it has not been.
func parse(evt *event.Event) {
	if evt.Content.Parsed == nil {
		_ = evt.Content.ParseRaw(evt.Type)
	}
}

// or returns timeout, or Timeout when it is 0.
func or(timeout time.Duration) time.Duration {
	if timeout <= 0 {
		return Timeout
	}
	return timeout
}

// React adds the reaction key to the event target of room, as Element does
// (an m.reaction annotation), and returns the reaction's id.
func (u *User) React(tb testing.TB, room id.RoomID, target id.EventID, key string) id.EventID {
	tb.Helper()
	c, cancel := requestCtx()
	defer cancel()
	content := &event.ReactionEventContent{RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: target, Key: key}}
	resp, err := u.Client.SendMessageEvent(c, room, event.EventReaction, content)
	if err != nil {
		u.fatalf(tb, "react in %s: %v", room, err)
	}
	return resp.EventID
}

// IsReaction matches the reactions key to target.
func IsReaction(target id.EventID, key string) Match {
	return func(evt *event.Event) bool {
		if evt.Type != event.EventReaction {
			return false
		}
		rel := evt.Content.AsReaction().RelatesTo
		return rel.Type == event.RelAnnotation && rel.EventID == target && rel.Key == key
	}
}
