package discord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"entraide/bots"
)

// Checkpoint keys, all under "discord:".
const (
	keyThread  = "discord:thread:" // + channel + ":" + root message -> channel to post in
	keyLast    = "discord:last:"   // + channel -> id of the last message delivered
	keyWatched = "discord:watched" // channels to backfill, "d:" before direct message channels
	maxWatched = 200
)

// interaction is an application command answered with a deferred
// ephemeral response, waiting for the bot's reply to follow it up.
type interaction struct {
	id, token     string
	channel, user string
	at            time.Time
	ready         chan struct{} // closed once the deferred response is sent, or failed
	ok            bool          // the deferred response was accepted
	answered      bool          // @original was edited
}

// Send implements bots.Sender: a message to o.To.Room, in a thread on the
// message o.To.Thread when set (created once, then reused), or a direct
// message to o.To.User when Room is empty. A reply to an application
// command follows up its deferred response instead, when it goes to the
// conversation the command came from. Content longer than Discord takes is
// split into several messages; Sent holds the first one's id. A message's
// File is uploaded as an attachment of the last of them (multipart/form-data,
// its name sanitised); a file larger than bots.MaxFileSize is refused as
// bots.ErrUndeliverable, without a request.
//
// Each post of a message with a key carries a nonce made from the key and the part's index,
// with enforce_nonce: when a crash falls between Discord accepting a
// message and the outbox marking it sent, the message sent again within
// the few minutes Discord keeps nonces is not created twice (Discord
// returns the first). Later than that, it would be: the pipeline still
// marks Discord messages sent one by one, as soon as they are accepted.
// Follow-ups of application commands carry no nonce (webhooks take none).
func (a *Adapter) Send(ctx context.Context, o bots.Outgoing) (bots.Sent, error) {
	if o.To.Platform != "" && o.To.Platform != Platform {
		return bots.Sent{}, fmt.Errorf("discord: send %s: destination on platform %q: %w", o.Key, o.To.Platform, bots.ErrUndeliverable)
	}
	if err := checkFile(o.Message.File); err != nil {
		return bots.Sent{}, fmt.Errorf("discord: send %s: %w", o.Key, err)
	}
	msgs := payloads(o.Message)
	if p := a.pendingFor(ctx, o); p != nil {
		sent, err := a.followUp(ctx, p, msgs)
		if err == nil {
			return sent, nil
		}
		a.log.Info("discord: interaction follow-up failed, posting instead", "key", o.Key, "err", err)
	}
	channel, reply, err := a.target(ctx, o.To)
	if err != nil {
		return bots.Sent{}, fmt.Errorf("discord: send %s: %w", o.Key, err)
	}
	var first string
	for i, m := range msgs {
		if i == 0 && reply != "" {
			m.MessageReference = &messageReference{MessageID: reply}
		}
		if o.Key != "" {
			m.Nonce, m.EnforceNonce = nonceOf(o.Key, i), true
		}
		id, err := a.post(ctx, channel, m)
		if err != nil {
			return bots.Sent{MessageID: first}, fmt.Errorf("discord: send %s: %w", o.Key, err)
		}
		if first == "" {
			first = id
		}
	}
	return bots.Sent{MessageID: first}, nil
}

// nonceOf is the nonce of part i of the message with outbox key key: 25
// hexadecimal characters (100 bits) of its SHA-256, Discord taking at most
// 25 characters.
func nonceOf(key string, i int) string {
	sum := sha256.Sum256([]byte(key + "\x00" + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])[:maxNonce]
}

// maxNonce is the longest nonce Discord takes.
const maxNonce = 25

// post posts one message in channel and returns its id.
func (a *Adapter) post(ctx context.Context, channel string, m messagePayload) (string, error) {
	var msg struct {
		ID string `json:"id"`
	}
	if err := a.api.do(ctx, http.MethodPost, "/channels/"+channel+"/messages", "post message", messageBody(m), &msg); err != nil {
		return "", err
	}
	return msg.ID, nil
}

// target returns the channel a destination's messages are posted in, and
// the message to reply to when a thread could not be started on it.
func (a *Adapter) target(ctx context.Context, to bots.Destination) (channel, reply string, err error) {
	switch {
	case to.Room == "" && to.User == "":
		return "", "", fmt.Errorf("no room and no user: %w", bots.ErrUndeliverable)
	case to.Room == "":
		ch, err := a.dmChannel(ctx, to.User)
		return ch, "", err
	case to.Thread == "" || to.Thread == to.Room || a.isThread(to.Room):
		return to.Room, "", nil
	}
	return a.threadOn(ctx, to.Room, to.Thread)
}

// dmChannel returns the direct message channel with user, opening it once.
func (a *Adapter) dmChannel(ctx context.Context, user string) (string, error) {
	a.mu.Lock()
	ch, ok := a.dms[user]
	a.mu.Unlock()
	if ok {
		return ch, nil
	}
	if !snowflake(user) {
		return "", fmt.Errorf("direct message to %q: not a Discord user id: %w", user, bots.ErrUndeliverable)
	}
	var c struct {
		ID string `json:"id"`
	}
	err := a.api.do(ctx, http.MethodPost, "/users/@me/channels", "open direct message", map[string]string{"recipient_id": user}, &c)
	if ae := apiErrorOf(err); ae != nil && ae.Status == http.StatusBadRequest {
		// 50033 Invalid Recipient(s), 50007 Cannot send messages to this user.
		return "", fmt.Errorf("direct message to %s: %w: %w", user, err, bots.ErrUndeliverable)
	}
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.dms[user] = c.ID
	a.mu.Unlock()
	return c.ID, nil
}

// threadOn returns the thread on message root of channel, starting it the
// first time. Discord gives a thread started on a message the message's id,
// so a thread that exists already (code 160004) is found without a lookup.
// When root cannot carry a thread (a thread or direct message channel, or a
// root that is not a message of the channel) the reply goes to the channel
// itself; without permission to start threads it replies to root.
func (a *Adapter) threadOn(ctx context.Context, channel, root string) (string, string, error) {
	key := keyThread + channel + ":" + root
	a.mu.Lock()
	got, ok := a.threads[key]
	name := a.names[root]
	a.mu.Unlock()
	if ok {
		return got, "", nil
	}
	if v, err := a.store.Checkpoint(ctx, key); err != nil {
		return "", "", fmt.Errorf("thread on %s: %w", root, err)
	} else if v != "" {
		a.remember(key, v)
		return v, "", nil
	}
	if name == "" {
		name = "entraide"
	}
	var th struct {
		ID string `json:"id"`
	}
	body := map[string]any{"name": truncateRunes(oneLine(name), 100), "auto_archive_duration": 1440}
	err := a.api.do(ctx, http.MethodPost, "/channels/"+channel+"/messages/"+root+"/threads", "start thread", body, &th)
	ae := apiErrorOf(err)
	switch {
	case err == nil:
	case ae != nil && ae.Code == codeThreadExists:
		th.ID = root
	case ae != nil && (ae.Code == codeWrongChannelType || ae.Code == codeUnknownMessage):
		th.ID = channel
	case ae != nil && ae.Status == http.StatusForbidden && ae.Code != codeMissingAccess:
		a.log.Info("discord: cannot start a thread, replying to the message instead", "channel", channel, "message", root, "err", err)
		return channel, root, nil
	default:
		return "", "", fmt.Errorf("thread on %s: %w", root, err)
	}
	a.remember(key, th.ID)
	a.mu.Lock()
	if th.ID != channel {
		a.known[th.ID] = true
	}
	delete(a.names, root)
	a.mu.Unlock()
	if err := a.store.SetCheckpoint(ctx, key, th.ID); err != nil {
		a.log.Warn("discord: remember thread", "key", key, "err", err)
	}
	return th.ID, "", nil
}

func (a *Adapter) remember(key, channel string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.threads) > 10000 {
		clear(a.threads)
	}
	a.threads[key] = channel
}

// isThread reports whether channel is known to be a thread.
func (a *Adapter) isThread(channel string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.known[channel]
}

// oneLine makes s fit on one line, for thread names.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "entraide"
	}
	return s
}

// pendingFor returns the deferred interaction that o follows up: o comes
// from an application command's event (its key starts with the event's
// key, "discord:<interaction id>/") and goes back to the conversation the
// command was used in. It waits for the deferred response to be sent.
func (a *Adapter) pendingFor(ctx context.Context, o bots.Outgoing) *interaction {
	id, ok := strings.CutPrefix(o.Key, string(Platform)+":")
	if !ok {
		return nil
	}
	id, _, _ = strings.Cut(id, "/")
	a.mu.Lock()
	p := a.pending[id]
	a.mu.Unlock()
	if p == nil || a.clock.now().Sub(p.at) > a.interactionTTL {
		return nil
	}
	to := o.To
	same := (to.Room == p.channel && (to.Thread == "" || to.Thread == id || to.Thread == p.channel)) ||
		(to.Room == "" && to.User == p.user)
	if !same {
		return nil
	}
	select {
	case <-p.ready:
	case <-ctx.Done():
		return nil
	}
	if !p.ok {
		return nil
	}
	return p
}

// followUp sends msgs as the response to a deferred interaction: the first
// edits the deferred response, the others are ephemeral follow-ups.
func (a *Adapter) followUp(ctx context.Context, p *interaction, msgs []messagePayload) (bots.Sent, error) {
	var first string
	for _, m := range msgs {
		var msg struct {
			ID string `json:"id"`
		}
		a.mu.Lock()
		edit := !p.answered
		p.answered = true
		a.mu.Unlock()
		var err error
		if edit {
			err = a.api.do(ctx, http.MethodPatch, "/webhooks/"+a.cfg.AppID+"/"+url.PathEscape(p.token)+"/messages/@original", interactionRouteLabel, messageBody(m), &msg)
		} else {
			m.Flags = flagEphemeral
			err = a.api.do(ctx, http.MethodPost, "/webhooks/"+a.cfg.AppID+"/"+url.PathEscape(p.token)+"?wait=true", interactionRouteLabel, messageBody(m), &msg)
		}
		if err != nil {
			if edit {
				a.mu.Lock()
				p.answered = false
				a.mu.Unlock()
			}
			if first != "" {
				// Part of the reply went out: post nothing twice.
				return bots.Sent{MessageID: first}, nil
			}
			return bots.Sent{}, err
		}
		if first == "" {
			first = msg.ID
		}
	}
	return bots.Sent{MessageID: first}, nil
}
