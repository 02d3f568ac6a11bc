package matrix

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"entraide/bots"
)

// Send implements bots.Sender. It waits until Run has logged in. A room
// destination gets the message in that room, in the thread o.To.Thread when
// set (with a reply fallback for clients without threads); a destination
// without room is a direct message to o.To.User, in the direct room the bot
// shares with them, created when there is none.
//
// o.Key is the transaction id, so the homeserver recognises a resend from
// the same session; the event id is also recorded under the key, so a
// resend after a restart returns the first event instead of a second one.
//
// A message with a File is sent as two events: the spans as above (left
// out when the message has no text), then the file, uploaded to the media
// repository (encrypted in an encrypted room) and shown by an m.file event
// in the same thread, with a transaction id and a record of its own derived
// from the key (see sendFile). The returned MessageID is the first event's.
// A file over bots.MaxFileSize is refused with an error wrapping
// bots.ErrUndeliverable, before anything is sent.
func (a *Adapter) Send(ctx context.Context, o bots.Outgoing) (bots.Sent, error) {
	if o.To.Platform != "" && o.To.Platform != Platform {
		return bots.Sent{}, fmt.Errorf("matrix: send to a %s destination: %w", o.To.Platform, bots.ErrUndeliverable)
	}
	file := o.Message.File
	if err := checkFile(file); err != nil {
		return bots.Sent{}, fmt.Errorf("matrix: send %s: %w", o.Key, err)
	}
	select {
	case <-a.ready:
	case <-ctx.Done():
		return bots.Sent{}, fmt.Errorf("matrix: send before login: %w", ctx.Err())
	}
	var found id.RoomID // looked up once, when something is left to send
	roomOf := func() (id.RoomID, error) {
		if found != "" {
			return found, nil
		}
		room, err := a.destination(ctx, o)
		found = room
		return room, err
	}
	var first id.EventID
	if file == nil || strings.TrimSpace(o.Message.PlainText()) != "" {
		eventID, err := a.sendOnce(ctx, "sent:", o.Key, TxnID(o.Key), roomOf, func(room id.RoomID) (id.EventID, error) {
			content := Render(o.Message)
			inThread(content, o.To)
			return a.sendContent(ctx, room, content, TxnID(o.Key))
		})
		if err != nil {
			return bots.Sent{}, err
		}
		first = eventID
		if err := a.react(ctx, o, roomOf, eventID); err != nil {
			return bots.Sent{}, err
		}
	}
	if file != nil {
		eventID, err := a.sendOnce(ctx, "file:", o.Key, fileTxnID(o.Key), roomOf, func(room id.RoomID) (id.EventID, error) {
			return a.sendFile(ctx, room, file, o.To, fileTxnID(o.Key))
		})
		if err != nil {
			return bots.Sent{}, err
		}
		if first == "" {
			first = eventID
		}
	}
	return bots.Sent{MessageID: string(first)}, nil
}

// react adds under the message eventID the reactions that stand for its
// buttons (bots.ReactionsOf), so that people only have to click them. Each
// has a transaction id derived from the message key: when a failed reaction
// makes the whole message be sent again, the message is found recorded
// (sendOnce) and the reactions already added are recognised by the
// homeserver. A homeserver that refuses reactions outright (power levels)
// leaves the message without them: people can still add them, or type the
// commands the text gives.
func (a *Adapter) react(ctx context.Context, o bots.Outgoing, roomOf func() (id.RoomID, error), eventID id.EventID) error {
	reactions := bots.ReactionsOf(o.Message)
	if len(reactions) == 0 {
		return nil
	}
	room, err := roomOf()
	if err != nil {
		return err
	}
	for i, r := range reactions {
		content := &event.ReactionEventContent{RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: eventID, Key: r.Key}}
		_, err := a.sendEvent(ctx, room, event.EventReaction, content, TxnID(o.Key)+".r"+strconv.Itoa(i))
		if errors.Is(err, bots.ErrUndeliverable) {
			a.log.Warn("matrix: reaction refused", "room", room, "key", o.Key, "reaction", r.Key, "err", err)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sendOnce returns the event recorded under record+key when there is one;
// otherwise it sends with send into the room roomOf finds, and records the
// new event under record+key. An empty key is never recorded.
//
// A send with transaction id txnID that got no clear answer (in doubt, see
// sendEvent) is recorded too, as doubtRecord and the time it began, so
// that the event is still looked for before it is sent again after a
// restart of entraide: the homeserver restart that often cuts such a send
// may also have made it forget the transaction id.
func (a *Adapter) sendOnce(ctx context.Context, record, key, txnID string, roomOf func() (id.RoomID, error), send func(id.RoomID) (id.EventID, error)) (id.EventID, error) {
	if key != "" {
		prev, err := a.store.Checkpoint(ctx, a.key(record+key))
		if err != nil {
			return "", fmt.Errorf("matrix: send %s: %w", key, err)
		}
		if began, ok := strings.CutPrefix(prev, doubtRecord); ok {
			a.recallDoubt(txnID, began)
		} else if prev != "" {
			return id.EventID(prev), nil
		}
	}
	room, err := roomOf()
	if err != nil {
		return "", err
	}
	eventID, err := send(room)
	if err != nil {
		if began, ok := a.inDoubt(txnID); ok && key != "" {
			if err := a.store.SetCheckpoint(ctx, a.key(record+key), doubtRecord+strconv.FormatInt(began.UnixMilli(), 10)); err != nil {
				a.log.Warn("matrix: cannot record a send in doubt", "key", key, "err", err)
			}
		}
		return "", err
	}
	if key != "" {
		if err := a.store.SetCheckpoint(ctx, a.key(record+key), string(eventID)); err != nil {
			a.log.Warn("matrix: cannot record a sent message", "key", key, "err", err)
		}
	}
	return eventID, nil
}

// doubtRecord starts the record of a message whose send is in doubt; the
// time the send began follows, in Unix milliseconds. Event ids start with
// '$', so the two never mix.
const doubtRecord = "doubt:"

// inDoubt returns when the send in doubt with transaction id txnID began.
func (a *Adapter) inDoubt(txnID string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	began, ok := a.doubt[txnID]
	return began, ok
}

// recallDoubt puts back in memory a send in doubt read from its record
// (began in Unix milliseconds); an unreadable time counts as a day ago.
func (a *Adapter) recallDoubt(txnID, began string) {
	t := time.Now().Add(-24 * time.Hour)
	if ms, err := strconv.ParseInt(began, 10, 64); err == nil {
		t = time.UnixMilli(ms)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.doubt[txnID]; !ok {
		a.doubt[txnID] = t
	}
}

// destination returns the room o goes to: o.To.Room, or the direct room
// shared with o.To.User. It refuses an encrypted room when the adapter
// cannot encrypt, rather than sending there in clear.
func (a *Adapter) destination(ctx context.Context, o bots.Outgoing) (id.RoomID, error) {
	room := id.RoomID(o.To.Room)
	if room == "" {
		if o.To.User == "" {
			return "", fmt.Errorf("matrix: send %s: no room and no user: %w", o.Key, bots.ErrUndeliverable)
		}
		var err error
		if room, err = a.directRoom(ctx, id.UserID(o.To.User)); err != nil {
			return "", err
		}
	}
	if a.crypto == nil {
		encrypted, err := a.state.IsEncrypted(ctx, room)
		if err != nil {
			return "", fmt.Errorf("matrix: send to %s: %w", room, err)
		}
		if encrypted {
			return "", fmt.Errorf("matrix: send to encrypted room %s: %w: %w", room, errNoCrypto, bots.ErrUndeliverable)
		}
	}
	return room, nil
}

// inThread puts content in the thread of to, when to names a room and a
// thread, with a reply fallback for clients without threads.
func inThread(content *event.MessageEventContent, to bots.Destination) {
	if to.Room == "" || to.Thread == "" {
		return
	}
	root := id.EventID(to.Thread)
	content.RelatesTo = &event.RelatesTo{
		Type: event.RelThread, EventID: root,
		IsFallingBack: true, InReplyTo: &event.InReplyTo{EventID: root},
	}
}

// sendContent sends an m.room.message, encrypted when the room is and the
// adapter can, with the transaction id txnID (TxnID of the message key).
func (a *Adapter) sendContent(ctx context.Context, room id.RoomID, content *event.MessageEventContent, txnID string) (id.EventID, error) {
	return a.sendEvent(ctx, room, event.EventMessage, content, txnID)
}

// TxnField is the content field in which the adapter writes each event's
// transaction id, so that it can find an event it sent without an answer
// (Adapter.findInDoubt): homeservers show the transaction id only to the
// session that sent the event, and not in /messages.
const TxnField = "fr.entraide.txn"

// sendEvent sends an event of type t, encrypted when the room is and the
// adapter can, with the transaction id txnID, also written in the content
// (TxnField). When an earlier send with that id got no clear answer, the
// room is first searched for the event (findInDoubt), and that event is
// returned if found.
func (a *Adapter) sendEvent(ctx context.Context, room id.RoomID, t event.Type, content any, txnID string) (id.EventID, error) {
	if found, err := a.findInDoubt(ctx, room, txnID); err != nil || found != "" {
		return found, err
	}
	var payload any = &event.Content{Parsed: content, Raw: map[string]any{TxnField: txnID}}
	if a.crypto != nil {
		encrypted, err := a.state.IsEncrypted(ctx, room)
		if err != nil {
			return "", fmt.Errorf("matrix: send to %s: %w", room, err)
		}
		if encrypted {
			if payload, err = a.crypto.encrypt(ctx, room, t, payload); err != nil {
				return "", err
			}
			t = event.EventEncrypted
		}
	}
	req := mautrix.ReqSendEvent{TransactionID: txnID}
	began := time.Now()
	resp, err := a.cli.SendMessageEvent(ctx, room, t, payload, req)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		if _, ok := a.doubt[txnID]; !ok && unanswered(err) {
			a.doubt[txnID] = began
		}
		return "", classify("send to "+string(room), err)
	}
	delete(a.doubt, txnID)
	return resp.EventID, nil
}

// unanswered reports whether a failed send may have reached the homeserver
// all the same: no answer came (a timeout, a cut connection) or a server
// error did. A 4xx answer refused the event.
func unanswered(err error) bool {
	var herr mautrix.HTTPError
	return !errors.As(err, &herr) || herr.Response == nil || herr.Response.StatusCode >= 500
}

// doubtMargin is how long before a send in doubt began its event is
// looked for, for clocks that differ.
const doubtMargin = 2 * time.Minute

// findInDoubt returns the event with transaction id txnID that the bot sent
// into room, when a send with that id is in doubt and the event is there;
// "" when no send is in doubt or none took. It reads the room backwards
// from the newest event down to the send in doubt (doubtMargin before), at
// most maxGapPages pages; an event of the bot that it cannot read (one it
// cannot decrypt) is not a match.
func (a *Adapter) findInDoubt(ctx context.Context, room id.RoomID, txnID string) (id.EventID, error) {
	a.mu.Lock()
	began, ok := a.doubt[txnID]
	a.mu.Unlock()
	if !ok {
		return "", nil
	}
	cutoff := began.Add(-doubtMargin).UnixMilli()
	var found id.EventID
	_, err := a.pageBack(ctx, room, "", "", func(evt *event.Event) bool {
		if evt.Timestamp != 0 && evt.Timestamp < cutoff {
			return true
		}
		if found == "" && evt.Sender == a.cli.UserID && a.txnOf(ctx, room, evt) == txnID {
			found = evt.ID
		}
		return false
	})
	if err != nil {
		return "", fmt.Errorf("matrix: look for the event in doubt %s in %s: %w", txnID, room, err)
	}
	a.mu.Lock()
	delete(a.doubt, txnID)
	a.mu.Unlock()
	if found != "" {
		a.log.Info("matrix: event in doubt found already sent: not sent again", "room", room, "txn", txnID, "event", found)
	}
	return found, nil
}

// txnOf reads the transaction id the adapter wrote in evt's content
// (TxnField), decrypting it first when it is encrypted.
func (a *Adapter) txnOf(ctx context.Context, room id.RoomID, evt *event.Event) string {
	if evt.Type == event.EventEncrypted && a.crypto != nil {
		evt.RoomID = room
		_ = evt.Content.ParseRaw(evt.Type)
		dec, err := a.crypto.decrypt(ctx, evt)
		if err != nil {
			return ""
		}
		evt = dec
	}
	txn, _ := evt.Content.Raw[TxnField].(string)
	return txn
}

// TxnID turns a message key into a transaction id: letters, digits, '-'
// and '_' are kept, every other byte becomes '.' and two hex digits, so two
// keys never share an id. An empty key gives a fresh random id.
func TxnID(key string) string {
	if key == "" {
		return "entraide." + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, ".%02X", c)
		}
	}
	return b.String()
}

// classify wraps a homeserver error for bots.Sender's callers: rate limits
// become *bots.RetryAfterError, refusals, unknown rooms or users and
// uploads too large for the homeserver wrap bots.ErrUndeliverable, anything
// else stays a transient error.
func classify(op string, err error) error {
	var herr mautrix.HTTPError
	if !errors.As(err, &herr) {
		return fmt.Errorf("matrix: %s: %w", op, err)
	}
	code := ""
	if herr.RespError != nil {
		code = herr.RespError.ErrCode
	}
	status := 0
	if herr.Response != nil {
		status = herr.Response.StatusCode
	}
	switch {
	case code == mautrix.MLimitExceeded.ErrCode || status == 429:
		return &bots.RetryAfterError{After: retryAfter(herr), Err: fmt.Errorf("matrix: %s: %w", op, err)}
	case code == mautrix.MForbidden.ErrCode || code == mautrix.MNotFound.ErrCode || code == "M_UNKNOWN" && status == 404 ||
		code == mautrix.MBadJSON.ErrCode || code == mautrix.MNotJSON.ErrCode || code == "M_INVALID_PARAM" || code == "M_UNRECOGNIZED" ||
		code == mautrix.MTooLarge.ErrCode || status == 403 || status == 404 || status == 413:
		return fmt.Errorf("matrix: %s: %w: %w", op, bots.ErrUndeliverable, err)
	}
	return fmt.Errorf("matrix: %s: %w", op, err)
}

// retryAfter reads how long a rate-limited client should wait: the body's
// retry_after_ms, else the Retry-After header, else one second.
func retryAfter(herr mautrix.HTTPError) time.Duration {
	if herr.RespError != nil {
		if ms, ok := herr.RespError.ExtraData["retry_after_ms"].(float64); ok && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	if herr.Response != nil {
		if s, err := strconv.Atoi(strings.TrimSpace(herr.Response.Header.Get("Retry-After"))); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
	}
	return time.Second
}

// directRoom returns the direct room shared with user, creating it (with
// encryption when the adapter has it) when there is none.
func (a *Adapter) directRoom(ctx context.Context, user id.UserID) (id.RoomID, error) {
	if _, _, err := user.ParseAndValidateRelaxed(); err != nil {
		return "", fmt.Errorf("matrix: direct message to %q: not a user id: %w", user, bots.ErrUndeliverable)
	}
	a.dmMu.Lock()
	defer a.dmMu.Unlock()
	a.mu.Lock()
	rooms := slices.Clone(a.direct[user])
	a.mu.Unlock()
	for _, room := range slices.Backward(rooms) {
		mine, err := a.state.GetMembership(ctx, room, a.cli.UserID)
		if err != nil {
			return "", fmt.Errorf("matrix: direct room with %s: %w", user, err)
		}
		theirs, err := a.state.GetMembership(ctx, room, user)
		if err != nil {
			return "", fmt.Errorf("matrix: direct room with %s: %w", user, err)
		}
		if mine == event.MembershipJoin && (theirs == event.MembershipJoin || theirs == event.MembershipInvite) {
			return room, nil
		}
	}
	// The person reads what the bot wrote from the moment they were
	// invited: the first message is usually sent before they join.
	req := &mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true, Invite: []id.UserID{user},
		InitialState: []*event.Event{{
			Type:    event.StateHistoryVisibility,
			Content: event.Content{Parsed: &event.HistoryVisibilityEventContent{HistoryVisibility: event.HistoryVisibilityInvited}},
		}}}
	if a.crypto != nil {
		req.InitialState = append(req.InitialState, &event.Event{
			Type:    event.StateEncryption,
			Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}},
		})
	}
	resp, err := a.cli.CreateRoom(ctx, req)
	if err != nil {
		return "", classify("create a direct room with "+string(user), err)
	}
	a.log.Info("matrix: created a direct room", "user", user, "room", resp.RoomID)
	if err := a.addDirect(ctx, user, resp.RoomID); err != nil {
		return "", err
	}
	return resp.RoomID, nil
}

// loadDirect reads the bot's m.direct account data.
func (a *Adapter) loadDirect(ctx context.Context) error {
	var direct event.DirectChatsEventContent
	if err := a.cli.GetAccountData(ctx, event.AccountDataDirectChats.Type, &direct); err != nil && !errors.Is(err, mautrix.MNotFound) {
		return fmt.Errorf("matrix: read direct rooms: %w", err)
	}
	a.mu.Lock()
	a.direct = map[id.UserID][]id.RoomID(direct)
	if a.direct == nil {
		a.direct = map[id.UserID][]id.RoomID{}
	}
	a.mu.Unlock()
	return nil
}

// updateDirect follows changes of m.direct seen in /sync.
func (a *Adapter) updateDirect(events []*event.Event) {
	for _, evt := range events {
		if evt.Type.Type != event.AccountDataDirectChats.Type {
			continue
		}
		if c, ok := evt.Content.Parsed.(*event.DirectChatsEventContent); ok && c != nil {
			a.mu.Lock()
			a.direct = maps.Clone(map[id.UserID][]id.RoomID(*c))
			a.mu.Unlock()
		}
	}
}

// addDirect records room as a direct room with user in m.direct, where the
// bot finds it again after a restart (and other clients of the account see
// it as a direct chat).
func (a *Adapter) addDirect(ctx context.Context, user id.UserID, room id.RoomID) error {
	a.mu.Lock()
	if slices.Contains(a.direct[user], room) {
		a.mu.Unlock()
		return nil
	}
	a.direct[user] = append(slices.Clone(a.direct[user]), room)
	content := maps.Clone(a.direct)
	a.mu.Unlock()
	if err := a.cli.SetAccountData(ctx, event.AccountDataDirectChats.Type, content); err != nil {
		return fmt.Errorf("matrix: record direct room %s with %s: %w", room, user, err)
	}
	return nil
}

// isDirect reports whether room is a direct room of the bot.
func (a *Adapter) isDirect(room id.RoomID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rooms := range a.direct {
		if slices.Contains(rooms, room) {
			return true
		}
	}
	return false
}
