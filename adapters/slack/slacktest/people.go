package slacktest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// User is a person of the workspace.
type User struct {
	// ID is the member id, such as "U1".
	ID   string
	Name string
	// Team is the person's own team, TeamID when empty. Someone of another
	// organisation in a channel shared with it (Slack Connect) has
	// another: payloads then carry both teams.
	Team string
}

func (u User) team() string {
	if u.Team == "" {
		return TeamID
	}
	return u.Team
}

// Request is something a person did, as Slack sends it to the app: an
// event, a slash command or an interaction. Deliver sends it; delivering
// it again is Slack's redelivery of the same request (same ids).
type Request struct {
	// Kind is KindEvents, KindSlash or KindInteractive.
	Kind string
	// Payload is the JSON Socket Mode carries; over HTTP it becomes the
	// body Slack posts (JSON, or a form).
	Payload []byte
	// EventID is the event_id of an Events API request (a DM, a mention).
	EventID string
	// TS is the ts of the message a DM or a mention writes.
	TS string
	// Trigger is the trigger_id of a slash command, a button press, a
	// submission or a shortcut.
	Trigger string
	// Err says why the request could not be made (no such button, no
	// modal open); Deliver returns it.
	Err error
}

// slackEscaper escapes text as Slack sends what people type.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// meet records u as a member of the workspace, whom users.info
// describes.
func (w *Workspace) meet(u User) {
	w.mu.Lock()
	w.users[u.ID] = u
	w.mu.Unlock()
}

// trigger returns a new trigger id given to u.
func (w *Workspace) trigger(u User) string {
	w.meet(u)
	n := w.next()
	id := fmt.Sprintf("%d.%d.%032x", 1300000000+n, 700000000+n, n*2654435761)
	w.mu.Lock()
	w.triggers[id] = u.ID
	w.mu.Unlock()
	return id
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of strings, numbers and booleans
	}
	return b
}

// DM is u writing text to the bot in their direct message with it: a
// message.im event.
func (w *Workspace) DM(u User, text string) Request {
	return w.message(u, "message", IMChannel(u.ID), "", slackEscaper.Replace(text))
}

// Mention is u writing "@entraide text" in channel (in thread when set):
// an app_mention event. The bot hears nothing else written in channels.
func (w *Workspace) Mention(u User, channel, thread, text string) Request {
	if strings.HasPrefix(channel, "D") {
		return Request{Err: fmt.Errorf("slacktest: mention in %s: a direct message is a DM", channel)}
	}
	return w.message(u, "app_mention", channel, thread, "<@"+BotUser+"> "+slackEscaper.Replace(text))
}

// message makes the event of a message u wrote.
func (w *Workspace) message(u User, typ, channel, thread, text string) Request {
	w.meet(u)
	ts := w.nextTS()
	n := w.next()
	event := map[string]any{
		"type": typ, "user": u.ID, "text": text, "ts": ts, "event_ts": ts, "channel": channel,
		"team": u.team(), "client_msg_id": fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
	}
	if typ == "message" {
		event["channel_type"] = "im"
	}
	if thread != "" {
		event["thread_ts"] = thread
	}
	shared := u.team() != TeamID
	if shared {
		event["user_team"], event["source_team"] = u.team(), u.team()
	}
	eventID := fmt.Sprintf("Ev%08d", n)
	payload := mustJSON(map[string]any{
		"token": "verification-token", "team_id": TeamID, "api_app_id": AppID, "event": event,
		"type": "event_callback", "event_id": eventID, "event_time": 1700000000 + n,
		"authorizations":        []any{map[string]any{"enterprise_id": nil, "team_id": TeamID, "user_id": BotUser, "is_bot": true, "is_enterprise_install": false}},
		"is_ext_shared_channel": shared,
	})
	return Request{Kind: KindEvents, Payload: payload, EventID: eventID, TS: ts}
}

// Slash is u typing "/entraide text" in channel; its team_id is u's team.
func (w *Workspace) Slash(u User, channel, text string) Request {
	trigger := w.trigger(u)
	payload := mustJSON(map[string]any{
		"token": "verification-token", "team_id": u.team(), "team_domain": TeamDomain,
		"channel_id": channel, "channel_name": w.channelName(channel),
		"user_id": u.ID, "user_name": u.Name, "command": "/entraide", "text": slackEscaper.Replace(text),
		"api_app_id": AppID, "is_enterprise_install": "false",
		"response_url": "https://hooks.slack.com/commands/" + TeamID + "/1/x", "trigger_id": trigger,
	})
	return Request{Kind: KindSlash, Payload: payload, Trigger: trigger}
}

// userObject is the user of an interaction payload.
func userObject(u User) map[string]any {
	return map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": u.team()}
}

func teamObject() map[string]any { return map[string]any{"id": TeamID, "domain": TeamDomain} }

// Press is u pressing the button actionID of the message p: a
// block_actions interaction. Request.Err is set when p has no such button.
func (w *Workspace) Press(u User, p Post, actionID string) Request {
	button, err := Button(p.Blocks, actionID)
	if err != nil {
		return Request{Err: err}
	}
	trigger := w.trigger(u)
	message := map[string]any{"type": "message", "user": BotUser, "bot_id": BotID, "ts": p.TS, "text": p.Text}
	if p.Thread != "" {
		message["thread_ts"] = p.Thread
	}
	payload := mustJSON(map[string]any{
		"type": "block_actions", "user": userObject(u), "api_app_id": AppID, "token": "verification-token",
		"container":  map[string]any{"type": "message", "message_ts": p.TS, "channel_id": p.Channel, "is_ephemeral": false},
		"trigger_id": trigger, "team": teamObject(), "enterprise": nil, "is_enterprise_install": false,
		"channel": map[string]any{"id": p.Channel, "name": w.channelName(p.Channel)},
		"message": message, "state": map[string]any{"values": map[string]any{}},
		"response_url": "https://hooks.slack.com/actions/" + TeamID + "/1/x",
		"actions":      []any{button},
	})
	return Request{Kind: KindInteractive, Payload: payload, Trigger: trigger}
}

// Button returns the action Slack sends in a block_actions payload when
// the button actionID of blocks (a message's JSON array of blocks) is
// pressed, for a test that writes such a payload itself.
func Button(blocks, actionID string) (map[string]any, error) {
	var bs []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string          `json:"type"`
			ActionID string          `json:"action_id"`
			Value    string          `json:"value"`
			Text     json.RawMessage `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal([]byte(blocks), &bs); err != nil {
		return nil, fmt.Errorf("slacktest: press %s: blocks %q: %w", actionID, blocks, err)
	}
	for _, b := range bs {
		for _, e := range b.Elements {
			if b.Type == "actions" && e.Type == "button" && e.ActionID == actionID {
				return map[string]any{"action_id": e.ActionID, "block_id": b.BlockID, "text": e.Text, "value": e.Value, "type": "button", "action_ts": "1700000100.000001"}, nil
			}
		}
	}
	return nil, fmt.Errorf("slacktest: no button %s in %s", actionID, blocks)
}

// Submit is u submitting the last modal opened for them and not submitted
// yet (by a button they pressed, a slash command or a shortcut) with the
// values of its inputs, in order: text for a plain text input, a
// conversation id for a conversation select, "" for an optional input left
// empty. Request.Err is set when no modal is open for u or there are more
// values than inputs.
func (w *Workspace) Submit(u User, values ...string) Request {
	w.mu.Lock()
	i := len(w.views) - 1
	for ; i >= 0 && (w.views[i].User != u.ID || w.views[i].Submitted); i-- {
	}
	if i < 0 {
		w.mu.Unlock()
		return Request{Err: fmt.Errorf("slacktest: no modal open for %s", u.ID)}
	}
	v := w.views[i]
	state, err := viewState(v.JSON, values)
	if err != nil {
		w.mu.Unlock()
		return Request{Err: fmt.Errorf("slacktest: submit %s (%s): %w", v.ID, v.CallbackID, err)}
	}
	w.views[i].Submitted = true
	w.mu.Unlock()
	trigger := w.trigger(u)
	view := map[string]any{
		"id": v.ID, "team_id": TeamID, "type": "modal", "blocks": v.JSON["blocks"],
		"private_metadata": v.PrivateMetadata, "callback_id": v.CallbackID,
		"state": map[string]any{"values": state}, "hash": "156663117.cd33ad1f",
		"title": v.JSON["title"], "submit": v.JSON["submit"], "clear_on_close": false, "notify_on_close": false,
		"previous_view_id": nil, "root_view_id": v.ID, "app_id": AppID, "external_id": "",
		"app_installed_team_id": TeamID, "bot_id": BotID,
	}
	payload := mustJSON(map[string]any{
		"type": "view_submission", "team": teamObject(), "user": userObject(u), "api_app_id": AppID,
		"token": "verification-token", "trigger_id": trigger, "view": view,
		"response_urls": []any{}, "is_enterprise_install": false, "enterprise": nil,
	})
	return Request{Kind: KindInteractive, Payload: payload, Trigger: trigger}
}

// viewState returns the state.values of a view whose inputs hold values,
// in order.
func viewState(view map[string]any, values []string) (map[string]any, error) {
	blocks, _ := view["blocks"].([]any)
	state := map[string]any{}
	n := 0
	for _, b := range blocks {
		block, _ := b.(map[string]any)
		if block["type"] != "input" {
			continue
		}
		id, _ := block["block_id"].(string)
		element, _ := block["element"].(map[string]any)
		action, _ := element["action_id"].(string)
		typ, _ := element["type"].(string)
		var value any
		if n < len(values) && values[n] != "" {
			value = values[n]
		}
		n++
		field := map[string]any{"type": typ}
		switch typ {
		case "conversations_select":
			field["selected_conversation"] = value
		case "channels_select":
			field["selected_channel"] = value
		case "users_select":
			field["selected_user"] = value
		default:
			field["value"] = value
		}
		state[id] = map[string]any{action: field}
	}
	if len(values) > n {
		return nil, fmt.Errorf("%d values for %d inputs", len(values), n)
	}
	return state, nil
}

// Shortcut is u choosing the global shortcut callbackID.
func (w *Workspace) Shortcut(u User, callbackID string) Request {
	trigger := w.trigger(u)
	payload := mustJSON(map[string]any{
		"type": "shortcut", "token": "verification-token", "action_ts": "1700000100.000002",
		"team": teamObject(), "user": map[string]any{"id": u.ID, "username": u.Name, "team_id": u.team()},
		"callback_id": callbackID, "trigger_id": trigger, "is_enterprise_install": false, "enterprise": nil,
	})
	return Request{Kind: KindInteractive, Payload: payload, Trigger: trigger}
}

// MessageShortcut is u choosing the message shortcut callbackID on the
// message ts of channel, written by author with text.
func (w *Workspace) MessageShortcut(u User, callbackID, channel, ts string, author User, text string) Request {
	trigger := w.trigger(u)
	payload := mustJSON(map[string]any{
		"type": "message_action", "token": "verification-token", "action_ts": "1700000100.000003",
		"team": teamObject(), "user": map[string]any{"id": u.ID, "name": u.Name, "team_id": u.team()},
		"channel":               map[string]any{"id": channel, "name": w.channelName(channel)},
		"is_enterprise_install": false, "enterprise": nil, "callback_id": callbackID, "trigger_id": trigger,
		"response_url": "https://hooks.slack.com/app-actions/" + TeamID + "/1/x", "message_ts": ts,
		"message": map[string]any{"type": "message", "user": author.ID, "ts": ts, "text": slackEscaper.Replace(text)},
	})
	return Request{Kind: KindInteractive, Payload: payload, Trigger: trigger}
}

// Deliver sends r to the app as Slack does and waits until the app took
// it: over Socket Mode (waiting for a connection, then for the envelope's
// acknowledgement), or, after SetEventsURL, SetEventsHandler or
// Env(EventsAPI), as a signed HTTP request answered 200. It returns r.Err,
// or why the app did not take it within WaitTimeout. It may be called from
// any goroutine.
func (w *Workspace) Deliver(r Request) error {
	if r.Err != nil {
		return r.Err
	}
	w.mu.Lock()
	target, handler, now := w.eventsURL, w.events, w.now
	w.mu.Unlock()
	if target == "" && handler == nil {
		return w.deliverSocket(r)
	}
	body, contentType, err := RequestBody(r.Kind, r.Payload)
	if err != nil {
		return err
	}
	if handler != nil {
		req := httptest.NewRequest(http.MethodPost, "/slack/events", bytes.NewReader(body))
		req.Header = Sign(SigningSecret, now(), body)
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return fmt.Errorf("slacktest: %s request answered %d: %s", r.Kind, rec.Code, strings.TrimSpace(rec.Body.String()))
		}
		return nil
	}
	return postUntilUp(target, body, contentType, now, r.Kind)
}

// postUntilUp posts a signed request to target, again while nothing
// listens there yet (the app's server starting), until WaitTimeout.
func postUntilUp(target string, body []byte, contentType string, now func() time.Time, kind string) error {
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("slacktest: %s request: %w", kind, err)
		}
		req.Header = Sign(SigningSecret, now(), body)
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if errors.Is(err, syscall.ECONNREFUSED) {
			select {
			case <-time.After(20 * time.Millisecond):
				continue
			case <-ctx.Done():
				return fmt.Errorf("slacktest: %s request: nothing listens on %s", kind, target)
			}
		}
		if err != nil {
			return fmt.Errorf("slacktest: %s request: %w", kind, err)
		}
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("slacktest: %s request answered %d: %s", kind, resp.StatusCode, strings.TrimSpace(string(answer)))
		}
		return nil
	}
}

// deliverSocket sends r in an envelope of its own and waits for its
// acknowledgement.
func (w *Workspace) deliverSocket(r Request) error {
	id := fmt.Sprintf("env-%d", w.next())
	deadline := time.Now().Add(WaitTimeout)
	for {
		err := w.sendEnvelope(r.Kind, id, r.Payload, 0)
		if err == nil {
			break
		}
		if !errors.Is(err, errNotConnected) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !w.WaitAck(id, time.Until(deadline)) {
		return fmt.Errorf("slacktest: %s envelope %s not acknowledged within %s", r.Kind, id, WaitTimeout)
	}
	return nil
}

// Do delivers r (see Deliver) and fails the test when the app did not
// take it. Call it from the test's goroutine.
func (w *Workspace) Do(t testing.TB, r Request) {
	t.Helper()
	if err := w.Deliver(r); err != nil {
		t.Fatal(err)
	}
}

// RequestBody returns the body and content type of a request of the given
// kind as Slack posts it to the Events API: the JSON payload of an event,
// a form of a slash command's fields, a form with the JSON payload of an
// interaction.
func RequestBody(kind string, payload []byte) ([]byte, string, error) {
	switch kind {
	case KindEvents:
		return payload, "application/json", nil
	case KindInteractive:
		return []byte(url.Values{"payload": {string(payload)}}.Encode()), "application/x-www-form-urlencoded", nil
	case KindSlash:
		var fields map[string]any
		if err := json.Unmarshal(payload, &fields); err != nil {
			return nil, "", fmt.Errorf("slacktest: slash command payload: %w", err)
		}
		form := url.Values{}
		for k, v := range fields {
			if s, ok := v.(string); ok {
				form.Set(k, s)
			} else {
				b, _ := json.Marshal(v)
				form.Set(k, string(b))
			}
		}
		return []byte(form.Encode()), "application/x-www-form-urlencoded", nil
	}
	return nil, "", fmt.Errorf("slacktest: request of kind %q", kind)
}

// Sign returns the headers with which Slack signs body at the given time:
// X-Slack-Request-Timestamp and X-Slack-Signature, the v0 HMAC-SHA256 of
// "v0:<timestamp>:<body>" with secret.
func Sign(secret string, at time.Time, body []byte) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}
