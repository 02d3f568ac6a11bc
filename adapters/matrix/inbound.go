package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"entraide/bots"
	"entraide/core"
)

// maxGapPages bounds how far back a limited timeline is filled, in pages
// of /messages.
const maxGapPages = 20

// process handles one /sync response: the crypto and state handlers first,
// then invites, waiting encrypted events and new messages, and finally the
// new position, saved only when every event was delivered.
func (a *Adapter) process(ctx context.Context, resp *mautrix.RespSync, since string) error {
	if err := a.syncer.ProcessResponse(ctx, resp, since); err != nil {
		return fmt.Errorf("matrix: process sync: %w", err)
	}
	a.updateDirect(resp.AccountData.Events)
	for _, roomID := range slices.Sorted(maps.Keys(resp.Rooms.Invite)) {
		if err := a.handleInvite(ctx, roomID, resp.Rooms.Invite[roomID]); err != nil {
			return err
		}
	}
	pending, err := a.loadPending(ctx)
	if err != nil {
		return err
	}
	before := len(pending)
	pending, err = a.retryPending(ctx, pending)
	if err != nil {
		return err
	}
	changed := len(pending) != before
	seen := map[id.RoomID]id.EventID{}
	for roomID, room := range resp.Rooms.Join {
		if n := len(room.Timeline.Events); n > 0 {
			seen[roomID] = room.Timeline.Events[n-1].ID
		}
	}
	if since != "" { // the first sync shows history: nothing in it is new
		for _, roomID := range slices.Sorted(maps.Keys(resp.Rooms.Join)) {
			events, err := a.newEvents(ctx, roomID, resp.Rooms.Join[roomID], since)
			if err != nil {
				return err
			}
			added, err := a.handleAll(ctx, events, &pending)
			if err != nil {
				return err
			}
			changed = changed || added
		}
	}
	if changed {
		if err := a.savePending(ctx, pending); err != nil {
			return err
		}
	}
	if len(seen) > 0 {
		if err := a.saveLastSeen(ctx, seen); err != nil {
			return err
		}
	}
	if err := a.store.SetCheckpoint(ctx, a.key("next_batch"), resp.NextBatch); err != nil {
		return fmt.Errorf("matrix: save sync position: %w", err)
	}
	return nil
}

// handleAll handles events in order; those waiting for their keys are
// added to pending (once each), and it reports whether any was.
func (a *Adapter) handleAll(ctx context.Context, events []*event.Event, pending *[]pendingEvent) (bool, error) {
	added := false
	for _, evt := range events {
		waiting, err := a.handleEvent(ctx, evt)
		if err != nil {
			return added, err
		}
		if waiting != nil && !slices.ContainsFunc(*pending, func(p pendingEvent) bool { return p.Event.ID == evt.ID }) {
			*pending = append(*pending, *waiting)
			added = true
		}
	}
	return added, nil
}

// newEvents returns the timeline events of a joined room that the bot has
// not seen: those after its own join when it joined in this batch, and,
// when the homeserver left a gap (a limited timeline), the missing ones
// fetched with /messages.
func (a *Adapter) newEvents(ctx context.Context, roomID id.RoomID, room *mautrix.SyncJoinedRoom, since string) ([]*event.Event, error) {
	events := room.Timeline.Events
	for i := len(events) - 1; i >= 0; i-- {
		if a.isOwnJoin(events[i]) {
			return events[i+1:], nil
		}
	}
	if !room.Timeline.Limited || room.Timeline.PrevBatch == "" {
		return events, nil
	}
	gap, err := a.fillGap(ctx, roomID, room.Timeline.PrevBatch, since, a.lastSeen[roomID])
	if err != nil {
		return nil, err
	}
	return append(gap, events...), nil
}

// fillGap fetches the events of roomID between the previous sync position
// and the start of a limited timeline, oldest first, stopping at the last
// event handled before (last) or at the bot's own join.
func (a *Adapter) fillGap(ctx context.Context, roomID id.RoomID, from, to string, last id.EventID) ([]*event.Event, error) {
	gap, err := a.pageBack(ctx, roomID, from, to, func(evt *event.Event) bool { return evt.ID == last })
	if err != nil {
		return nil, fmt.Errorf("matrix: fill gap in %s: %w", roomID, err)
	}
	a.log.Info("matrix: filled a timeline gap", "room", roomID, "events", len(gap))
	return gap, nil
}

// pageBack reads roomID's timeline backwards with /messages from from (the
// newest when empty) to to, until stop says so of an event or the bot's
// own join, at most maxGapPages pages, and returns the events read, oldest
// first, ready to handle.
func (a *Adapter) pageBack(ctx context.Context, roomID id.RoomID, from, to string, stop func(*event.Event) bool) ([]*event.Event, error) {
	var gap []*event.Event
	complete := false
	for range maxGapPages {
		resp, err := a.cli.Messages(ctx, roomID, from, to, mautrix.DirectionBackward, nil, 100)
		if err != nil {
			return nil, err
		}
		for _, evt := range resp.Chunk {
			if stop(evt) || a.isOwnJoin(evt) {
				complete = true
				break
			}
			gap = append(gap, evt)
		}
		if complete || resp.End == "" || len(resp.Chunk) == 0 {
			complete = true
			break
		}
		from = resp.End
	}
	if !complete {
		a.log.Warn("matrix: too many missed messages, the oldest are skipped", "room", roomID, "kept", len(gap))
	}
	slices.Reverse(gap)
	for _, evt := range gap {
		evt.RoomID = roomID
		if evt.StateKey != nil {
			evt.Type.Class = event.StateEventType
		} else {
			evt.Type.Class = event.MessageEventType
		}
		if err := evt.Content.ParseRaw(evt.Type); err != nil && !errors.Is(err, event.ErrContentAlreadyParsed) {
			continue
		}
		if evt.StateKey != nil {
			mautrix.UpdateStateStore(ctx, a.state, evt)
		}
	}
	return gap, nil
}

// catchUpMargin is how far before the last sync that went well catchUp
// reads, for clocks that differ.
const catchUpMargin = 2 * time.Minute

// catchUp handles again the messages of every room the bot has seen
// messages in, back to cutoff, after /sync failed for a while (the
// homeserver restarting, the network down): a homeserver that restarts may
// keep a message it accepted just before out of every /sync while
// /messages shows it. The inbox drops those already delivered, by event id.
func (a *Adapter) catchUp(ctx context.Context, cutoff time.Time) error {
	a.mu.Lock()
	rooms := slices.Sorted(maps.Keys(a.lastSeen))
	a.mu.Unlock()
	pending, err := a.loadPending(ctx)
	if err != nil {
		return err
	}
	changed, read := false, 0
	for _, roomID := range rooms {
		events, err := a.pageBack(ctx, roomID, "", "", func(evt *event.Event) bool {
			return time.UnixMilli(evt.Timestamp).Before(cutoff)
		})
		if err != nil {
			return fmt.Errorf("matrix: catch up in %s: %w", roomID, err)
		}
		read += len(events)
		added, err := a.handleAll(ctx, events, &pending)
		if err != nil {
			return err
		}
		changed = changed || added
	}
	if changed {
		if err := a.savePending(ctx, pending); err != nil {
			return err
		}
	}
	a.log.Info("matrix: caught up after sync failures", "rooms", len(rooms), "events", read, "since", cutoff)
	return nil
}

// isOwnJoin reports whether evt is the bot joining a room (not a change of
// its name or avatar).
func (a *Adapter) isOwnJoin(evt *event.Event) bool {
	if evt.Type != event.StateMember || evt.GetStateKey() != string(a.cli.UserID) {
		return false
	}
	if m, _ := evt.Content.Raw["membership"].(string); m != string(event.MembershipJoin) {
		return false
	}
	if evt.Unsigned.PrevContent != nil {
		if prev, _ := evt.Unsigned.PrevContent.Raw["membership"].(string); prev == string(event.MembershipJoin) {
			return false
		}
	}
	return true
}

// handleEvent delivers one timeline event. It returns a pendingEvent when
// the event is encrypted with keys that have not arrived yet.
func (a *Adapter) handleEvent(ctx context.Context, evt *event.Event) (*pendingEvent, error) {
	if evt.Sender == a.cli.UserID {
		return nil, nil
	}
	if evt.Type == event.EventEncrypted {
		if a.crypto == nil {
			a.tellOnce(ctx, evt.RoomID, "nocrypto:"+evt.RoomID.String(), noCryptoNotice)
			return nil, nil
		}
		dec, err := a.crypto.decrypt(ctx, evt)
		if errors.Is(err, errNoSession) {
			return &pendingEvent{Event: evt, Seen: time.Now().UTC()}, nil
		}
		if err != nil {
			a.log.Warn("matrix: cannot decrypt a message", "room", evt.RoomID, "event", evt.ID, "err", err)
			a.tellUndecryptable(ctx, evt)
			return nil, nil
		}
		evt = dec
	}
	ev, ok := a.toEvent(ctx, evt)
	if !ok {
		return nil, nil
	}
	if err := a.inbox.Deliver(ctx, ev); err != nil {
		return nil, fmt.Errorf("matrix: deliver %s: %w", evt.ID, err)
	}
	return nil, nil
}

// toEvent turns a text message, a reaction with an emoji that stands for
// a button (bots.IsActionReaction), or a redaction (what it redacts may be
// such a reaction) into a bots.Event; ok is false for anything else
// (notices, edits, media, state, other reactions, an event without id or
// sender).
func (a *Adapter) toEvent(ctx context.Context, evt *event.Event) (bots.Event, bool) {
	if evt.Type != event.EventMessage && evt.Type != event.EventReaction && evt.Type != event.EventRedaction ||
		evt.ID == "" || evt.Sender == "" || evt.Sender == a.cli.UserID {
		return bots.Event{}, false
	}
	if evt.Content.Parsed == nil {
		if err := evt.Content.ParseRaw(evt.Type); err != nil && !errors.Is(err, event.ErrContentAlreadyParsed) {
			return bots.Event{}, false
		}
	}
	switch evt.Type {
	case event.EventReaction:
		return a.reactionEvent(ctx, evt)
	case event.EventRedaction:
		return a.redactionEvent(ctx, evt)
	}
	msg := evt.Content.AsMessage()
	if msg.MsgType != event.MsgText || (msg.RelatesTo != nil && msg.RelatesTo.Type == event.RelReplace) {
		return bots.Event{}, false
	}
	text := msg.Body
	if msg.RelatesTo.GetReplyTo() != "" {
		text = StripReplyFallback(text)
	}
	direct := a.isDirect(evt.RoomID)
	prefix := a.cfg.Prefix
	if prefix == "" {
		prefix = "!"
	}
	switch {
	case msg.Mentions.Has(a.cli.UserID):
		// "entraide: ask …", "@entraide:server quel délai ?": a mention
		// addresses the bot, with or without the prefix.
		text = bots.AddressedText(prefix, StripMention(text, a.cli.UserID), true)
	case direct:
		text = bots.AddressedText(prefix, text, false)
	}
	ev := bots.Event{
		ID:       string(evt.ID),
		Platform: Platform,
		Room:     string(evt.RoomID),
		Thread:   string(msg.RelatesTo.GetThreadParent()),
		DM:       direct,
		Sender:   core.Identity{Platform: Platform, User: string(evt.Sender)},
		Text:     text,
		Tenant:   Tenants(string(evt.Sender)),
	}
	ev.SenderName, ev.At = a.senderName(ctx, evt), eventTime(evt)
	return ev, true
}

// eventTime is when evt's homeserver received it (origin_server_ts); the
// zero time when it does not say.
func eventTime(evt *event.Event) time.Time {
	if evt.Timestamp <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(evt.Timestamp).UTC()
}

// reactionEvent turns an m.reaction into a bots.Event when its emoji stands
// for a button: the pipeline runs the command recorded with the message
// reacted to, and answers in a direct message, as for a button press.
// Taking a reaction back (its redaction) undoes nothing.
func (a *Adapter) reactionEvent(ctx context.Context, evt *event.Event) (bots.Event, bool) {
	rel := evt.Content.AsReaction().RelatesTo
	if rel.Type != event.RelAnnotation || rel.EventID == "" || !bots.IsActionReaction(rel.Key) {
		return bots.Event{}, false
	}
	ev := a.pressEvent(ctx, evt)
	ev.ReactionTo, ev.Reaction = string(rel.EventID), bots.NormalizeReaction(rel.Key)
	return ev, true
}

// pressEvent is the bots.Event of evt taken as a button press: a direct
// message to the bot, in the room only when that is the bot's direct room.
func (a *Adapter) pressEvent(ctx context.Context, evt *event.Event) bots.Event {
	ev := bots.Event{
		ID:       string(evt.ID),
		Platform: Platform,
		DM:       true,
		Sender:   core.Identity{Platform: Platform, User: string(evt.Sender)},
		Tenant:   Tenants(string(evt.Sender)),
	}
	if a.isDirect(evt.RoomID) {
		ev.Room = string(evt.RoomID)
	}
	ev.SenderName, ev.At = a.senderName(ctx, evt), eventTime(evt)
	return ev
}

// redactionEvent turns an m.room.redaction into a bots.Event that takes
// back the event it redacts (Event.Unreact): the pipeline undoes what that
// event did when it was a reaction of the same person that stands for a
// button (a 👍 on an event's card taken back: no longer going), and drops
// it otherwise.
func (a *Adapter) redactionEvent(ctx context.Context, evt *event.Event) (bots.Event, bool) {
	redacts := evt.Content.AsRedaction().Redacts // room version 11
	if redacts == "" {
		redacts = evt.Redacts
	}
	if redacts == "" {
		return bots.Event{}, false
	}
	ev := a.pressEvent(ctx, evt)
	ev.Unreact = string(redacts)
	return ev, true
}

// senderName is the display name of evt's sender in its room, or the name
// their Tchap id gives.
func (a *Adapter) senderName(ctx context.Context, evt *event.Event) string {
	if m, err := a.state.TryGetMember(ctx, evt.RoomID, evt.Sender); err == nil && m != nil && m.Displayname != "" {
		return m.Displayname
	}
	name, _, _ := ParseTchapID(string(evt.Sender))
	return name
}

// Tenants names what an account belongs to, as access rules match it: its
// homeserver, and for a Tchap id the administration's mail domain
// ("agent.tchap.gouv.fr mail:interieur.gouv.fr"); none when the id's server
// part is not a server name (a tenant is one word, and only a Tchap id
// gives a mail domain).
func Tenants(user string) string {
	_, server, ok := strings.Cut(user, ":")
	if !ok || !id.ValidateServerName(server) {
		return ""
	}
	out := strings.ToLower(server)
	if _, domain, ok := ParseTchapID(user); ok {
		out += " mail:" + strings.ToLower(domain)
	}
	return out
}

// StripMention removes a leading mention of the bot (its user id, or its
// localpart as clients write pills in the plain body) and the separator
// after it.
func StripMention(body string, bot id.UserID) string {
	t := strings.TrimSpace(body)
	local := strings.TrimPrefix(strings.SplitN(string(bot), ":", 2)[0], "@")
	for _, name := range []string{string(bot), "@" + local, local} {
		if name != "" && len(t) >= len(name) && strings.EqualFold(t[:len(name)], name) {
			return strings.TrimLeft(t[len(name):], " :,\t")
		}
	}
	return t
}

// StripReplyFallback removes the quoted lines ("> ...") that older clients
// put at the start of a reply's body.
func StripReplyFallback(body string) string {
	if !strings.HasPrefix(body, "> ") && body != ">" {
		return body
	}
	lines := strings.Split(body, "\n")
	i := 0
	for i < len(lines) && (strings.HasPrefix(lines[i], "> ") || lines[i] == ">") {
		i++
	}
	if i < len(lines) && lines[i] == "" {
		i++
	}
	return strings.Join(lines[i:], "\n")
}

// handleInvite joins a room the bot is invited to when the inviter's
// server is allowed, and declines the invite otherwise.
func (a *Adapter) handleInvite(ctx context.Context, roomID id.RoomID, room *mautrix.SyncInvitedRoom) error {
	var invite *event.Event
	for _, evt := range room.State.Events {
		if evt.Type == event.StateMember && evt.GetStateKey() == string(a.cli.UserID) {
			invite = evt
		}
	}
	if invite == nil {
		return nil
	}
	m := invite.Content.AsMember()
	if m.Membership != event.MembershipInvite {
		return nil
	}
	if !InviteAllowed(a.cfg.AllowedServers, invite.Sender) {
		a.log.Info("matrix: declining an invite from a server not allowed", "room", roomID, "inviter", invite.Sender)
		if _, err := a.cli.LeaveRoom(ctx, roomID, &mautrix.ReqLeave{Reason: "this server is not allowed to invite the bot"}); err != nil && !fatal(err) {
			return fmt.Errorf("matrix: decline invite to %s: %w", roomID, err)
		}
		return nil
	}
	if _, err := a.cli.JoinRoomByID(ctx, roomID); err != nil {
		if fatal(err) { // the invite was withdrawn, the room is gone...
			a.log.Warn("matrix: cannot join a room the bot was invited to", "room", roomID, "inviter", invite.Sender, "err", err)
			return nil
		}
		return fmt.Errorf("matrix: join %s: %w", roomID, err)
	}
	a.log.Info("matrix: joined a room", "room", roomID, "inviter", invite.Sender, "direct", m.IsDirect)
	if m.IsDirect {
		if err := a.addDirect(ctx, invite.Sender, roomID); err != nil {
			return err
		}
	}
	return nil
}

// pendingEvent is an encrypted event waiting for its keys. Pending events
// are saved with the sync position, so none is lost across a restart.
type pendingEvent struct {
	Event *event.Event `json:"event"`
	Seen  time.Time    `json:"seen"`
	Asked bool         `json:"asked,omitempty"`
}

func (a *Adapter) loadPending(ctx context.Context) ([]pendingEvent, error) {
	v, err := a.store.Checkpoint(ctx, a.key("pending"))
	if err != nil {
		return nil, fmt.Errorf("matrix: read waiting messages: %w", err)
	}
	if v == "" {
		return nil, nil
	}
	var pending []pendingEvent
	if err := json.Unmarshal([]byte(v), &pending); err != nil {
		a.log.Error("matrix: dropping unreadable list of waiting messages", "err", err)
		return nil, nil
	}
	pending = slices.DeleteFunc(pending, func(p pendingEvent) bool { return p.Event == nil })
	for _, p := range pending {
		p.Event.Type.Class = event.MessageEventType
		if err := p.Event.Content.ParseRaw(p.Event.Type); err != nil && !errors.Is(err, event.ErrContentAlreadyParsed) {
			a.log.Warn("matrix: waiting message unreadable", "event", p.Event.ID, "err", err)
		}
	}
	return pending, nil
}

func (a *Adapter) savePending(ctx context.Context, pending []pendingEvent) error {
	v := ""
	if len(pending) > 0 {
		b, err := json.Marshal(pending)
		if err != nil {
			return fmt.Errorf("matrix: save waiting messages: %w", err)
		}
		v = string(b)
	}
	if err := a.store.SetCheckpoint(ctx, a.key("pending"), v); err != nil {
		return fmt.Errorf("matrix: save waiting messages: %w", err)
	}
	return nil
}

// retryPending tries again to decrypt the waiting events, delivers those it
// can, asks other devices for keys that are late, and gives up (telling the
// room) on those that waited too long. It returns the events still waiting.
func (a *Adapter) retryPending(ctx context.Context, pending []pendingEvent) ([]pendingEvent, error) {
	if len(pending) == 0 || a.crypto == nil {
		return pending, nil
	}
	var still []pendingEvent
	for i, p := range pending {
		dec, err := a.crypto.decrypt(ctx, p.Event)
		switch {
		case err == nil:
			if ev, ok := a.toEvent(ctx, dec); ok {
				if err := a.inbox.Deliver(ctx, ev); err != nil {
					return nil, fmt.Errorf("matrix: deliver %s: %w", p.Event.ID, err)
				}
			}
		case errors.Is(err, errNoSession) && time.Since(p.Seen) < a.giveUp:
			if !p.Asked && time.Since(p.Seen) >= a.keyWait {
				a.crypto.requestKeys(ctx, p.Event)
				pending[i].Asked = true
			}
			still = append(still, pending[i])
		default:
			a.log.Warn("matrix: giving up on a message that cannot be decrypted", "room", p.Event.RoomID, "event", p.Event.ID, "err", err)
			a.tellUndecryptable(ctx, p.Event)
		}
	}
	return still, nil
}

// The notices sent when the bot cannot read a message, in both languages
// since the room's language is unknown here.
const (
	noCryptoNotice     = "⚠️ Je ne peux pas lire les messages chiffrés de ce salon (chiffrement non disponible). / I cannot read encrypted messages in this room (encryption unavailable)."
	undecryptableNotif = "⚠️ Je n'ai pas pu déchiffrer un message de %s : pouvez-vous le réécrire ? / I could not decrypt a message from %s: could you write it again?"
)

// tellUndecryptable tells the room once per sender and session that a
// message could not be decrypted.
func (a *Adapter) tellUndecryptable(ctx context.Context, evt *event.Event) {
	session := ""
	if c, ok := evt.Content.Parsed.(*event.EncryptedEventContent); ok {
		session = string(c.SessionID)
	}
	who := string(evt.Sender)
	a.tellOnce(ctx, evt.RoomID, "undecryptable:"+string(evt.RoomID)+":"+who+":"+session, fmt.Sprintf(undecryptableNotif, who, who))
}

// tellOnce sends a plain notice into room, once per key while the adapter
// runs. Failures are logged: the notice is a courtesy.
func (a *Adapter) tellOnce(ctx context.Context, room id.RoomID, key, text string) {
	a.mu.Lock()
	done := a.warned[key]
	a.warned[key] = true
	a.mu.Unlock()
	if done {
		return
	}
	var m bots.Message
	m.Text(text)
	if _, err := a.sendContent(ctx, room, Render(m), TxnID("")); err != nil {
		a.log.Warn("matrix: cannot send a notice", "room", room, "err", err)
	}
}

// loadLastSeen reads the last event handled in each room.
func (a *Adapter) loadLastSeen(ctx context.Context) error {
	v, err := a.store.Checkpoint(ctx, a.key("last_seen"))
	if err != nil {
		return fmt.Errorf("matrix: read last events: %w", err)
	}
	last := map[id.RoomID]id.EventID{}
	if v != "" {
		if err := json.Unmarshal([]byte(v), &last); err != nil {
			a.log.Warn("matrix: ignoring unreadable last events", "err", err)
		}
	}
	a.lastSeen = last
	return nil
}

// saveLastSeen records the last event of each room in a batch, before the
// batch's sync position.
func (a *Adapter) saveLastSeen(ctx context.Context, seen map[id.RoomID]id.EventID) error {
	maps.Copy(a.lastSeen, seen)
	b, err := json.Marshal(a.lastSeen)
	if err == nil {
		err = a.store.SetCheckpoint(ctx, a.key("last_seen"), string(b))
	}
	if err != nil {
		return fmt.Errorf("matrix: save last events: %w", err)
	}
	return nil
}
