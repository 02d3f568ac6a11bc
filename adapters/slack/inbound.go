package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"entraide/bots"
	"entraide/core"
)

// errMalformed marks a request that cannot be read: redelivering it cannot
// help, so it is refused (HTTP 400) or acknowledged and dropped (Socket
// Mode).
var errMalformed = errors.New("malformed payload")

// The kinds of requests Slack sends, as Socket Mode names them.
const (
	kindEvents      = "events_api"
	kindSlash       = "slash_commands"
	kindInteractive = "interactive"
)

// handle handles one request of Slack of the given kind. It returns nil
// when the request may be acknowledged: its event was delivered, or it
// needs none.
func (a *Adapter) handle(ctx context.Context, kind string, payload []byte) error {
	switch kind {
	case kindEvents:
		return a.handleEvents(ctx, payload)
	case kindSlash:
		var cmd slashCommand
		if err := json.Unmarshal(payload, &cmd); err != nil {
			return fmt.Errorf("slack: slash command: %w: %v", errMalformed, err)
		}
		return a.handleSlash(ctx, cmd)
	case kindInteractive:
		return a.handleInteraction(ctx, payload)
	}
	return fmt.Errorf("slack: request of kind %q: %w", kind, errMalformed)
}

// deliver hands ev to the inbox, its sender named as people see them (the
// name users.info gives, else the one the payload gave, else none).
func (a *Adapter) deliver(ctx context.Context, ev bots.Event) error {
	ev.Platform = Platform
	ev.Sender.Platform = Platform
	if name := a.userName(ctx, ev.Sender.User); name != "" {
		ev.SenderName = name
	}
	if err := a.inbox.Deliver(ctx, ev); err != nil {
		return fmt.Errorf("slack: deliver %s: %w", ev.ID, err)
	}
	return nil
}

// eventCallback is the envelope of an Events API request.
type eventCallback struct {
	Type    string     `json:"type"`
	TeamID  string     `json:"team_id"`
	EventID string     `json:"event_id"`
	Event   innerEvent `json:"event"`
}

// innerEvent holds the fields of the app_mention and message events.
type innerEvent struct {
	Type        string `json:"type"`
	Subtype     string `json:"subtype"`
	User        string `json:"user"`
	BotID       string `json:"bot_id"`
	Text        string `json:"text"`
	TS          string `json:"ts"`
	ThreadTS    string `json:"thread_ts"`
	Channel     string `json:"channel"`
	ChannelType string `json:"channel_type"`
	// Team is the team of the message's author; in a channel shared
	// between organisations (Slack Connect), Slack gives the author's own
	// team as UserTeam too.
	Team     string `json:"team"`
	UserTeam string `json:"user_team"`
}

// handleEvents delivers app mentions and direct messages to the bot; other
// events are acknowledged and ignored.
func (a *Adapter) handleEvents(ctx context.Context, payload []byte) error {
	var cb eventCallback
	if err := json.Unmarshal(payload, &cb); err != nil {
		return fmt.Errorf("slack: event: %w: %v", errMalformed, err)
	}
	if cb.Type != "event_callback" {
		return nil
	}
	e := cb.Event
	if cb.EventID == "" || e.Type == "" {
		return fmt.Errorf("slack: event: %w: no event_id or event type", errMalformed)
	}
	if e.User == "" || e.BotID != "" || e.User == a.botUser() {
		return nil // the bot's own messages and other apps'
	}
	ev := bots.Event{ID: cb.EventID, Sender: core.Identity{User: e.User}, Tenant: tenant(e.UserTeam, e.Team, cb.TeamID), At: TSTime(e.TS)}
	switch {
	case e.Type == "app_mention":
		if isDirect(e.Channel) {
			return nil // message.im delivers the same message
		}
		ev.Room, ev.Thread = e.Channel, orDefault(e.ThreadTS, e.TS)
		ev.Text = a.commandText(a.stripMention(unescapeText(e.Text)), true)
	case e.Type == "message" && (e.ChannelType == "im" || e.ChannelType == "" && isDirect(e.Channel)):
		if e.Subtype != "" {
			return nil // edits, deletions, joins: not something someone asked
		}
		ev.Room, ev.DM, ev.Thread = e.Channel, true, e.ThreadTS
		ev.Text = a.commandText(unescapeText(e.Text), false)
	default:
		return nil
	}
	if ev.Text == "" {
		return nil
	}
	return a.deliver(ctx, ev)
}

// TSTime returns the time a Slack message timestamp ("1700000000.000100",
// seconds and microseconds) names; the zero time for anything else.
func TSTime(ts string) time.Time {
	sec, micro, ok := strings.Cut(ts, ".")
	if !ok || len(sec) == 0 || len(sec) > 12 || len(micro) != 6 {
		return time.Time{}
	}
	s, err1 := strconv.ParseInt(sec, 10, 64)
	us, err2 := strconv.ParseInt(micro, 10, 64)
	if err1 != nil || err2 != nil || s <= 0 || us < 0 || sec[0] == '+' || micro[0] == '+' || micro[0] == '-' {
		return time.Time{}
	}
	return time.Unix(s, us*1000).UTC()
}

// teamIDPattern matches the ids of Slack workspaces (T...) and Enterprise
// Grid organisations (E...).
var teamIDPattern = regexp.MustCompile(`^[TE][A-Z0-9]{1,40}$`)

// tenant returns the first of ids that is a team id: the Tenant of an
// event, from the fields of its payload in order of preference (the
// user's own team before the workspace the request came through). An id
// of another shape is skipped: Tenant is one word, as access rules read it.
func tenant(ids ...string) string {
	for _, id := range ids {
		if teamIDPattern.MatchString(id) {
			return id
		}
	}
	return ""
}

// isDirect reports whether a conversation id is a direct message.
func isDirect(channel string) bool { return strings.HasPrefix(channel, "D") }

// isShared reports whether a conversation is a channel people share (public
// or private), where a question can be posted for all to see.
func isShared(channel, name string) bool {
	return (strings.HasPrefix(channel, "C") || strings.HasPrefix(channel, "G")) &&
		name != "directmessage" && !strings.HasPrefix(name, "mpdm-")
}

// stripMention removes the mention of the bot that starts text (any
// leading mention when the bot's id is not known yet), and the bot's other
// mentions.
func (a *Adapter) stripMention(text string) string {
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "<@") {
		if end := strings.IndexByte(text, '>'); end > 0 {
			text = text[end+1:]
		}
	}
	if bot := a.botUser(); bot != "" {
		text = strings.ReplaceAll(text, "<@"+bot+">", "")
	}
	return strings.TrimSpace(text)
}

// commandText turns what someone wrote to the bot into the text of an
// Event (see bots.AddressedText).
func (a *Adapter) commandText(text string, addressed bool) string {
	return bots.AddressedText(a.cfg.Prefix, text, addressed)
}

// askArgs returns the question of a command text that asks one.
func (a *Adapter) askArgs(text string) (string, bool) { return bots.AskArgs(a.cfg.Prefix, text) }

// slashCommand is a slash command request; Socket Mode sends it as JSON,
// the HTTP transport as a form with the same names.
type slashCommand struct {
	TeamID      string `json:"team_id"`
	ChannelID   string `json:"channel_id"`
	ChannelName string `json:"channel_name"`
	UserID      string `json:"user_id"`
	UserName    string `json:"user_name"`
	Command     string `json:"command"`
	Text        string `json:"text"`
	TriggerID   string `json:"trigger_id"`
}

// handleSlash delivers "/entraide <command> ..." as "!<command> ...". A
// question asked in a channel is first posted there, so that its answers
// have a thread; the other commands are answered in a direct message, as
// slash commands leave nothing in the channel to reply to.
func (a *Adapter) handleSlash(ctx context.Context, cmd slashCommand) error {
	if cmd.UserID == "" || cmd.TriggerID == "" {
		return fmt.Errorf("slack: slash command: %w: no user_id or trigger_id", errMalformed)
	}
	ev := bots.Event{
		ID: "slash:" + cmd.TriggerID, Sender: core.Identity{User: cmd.UserID}, SenderName: cmd.UserName,
		Text: a.commandText(unescapeText(cmd.Text), true), DM: true, Tenant: tenant(cmd.TeamID),
	}
	if question, ok := a.askArgs(ev.Text); ok && isShared(cmd.ChannelID, cmd.ChannelName) {
		if err := a.askIn(ctx, &ev, cmd.ChannelID, question); err != nil {
			return err
		}
	}
	return a.deliver(ctx, ev)
}

// askIn makes ev a question asked in channel: it posts the question there
// (once per event, even when Slack redelivers it) and sets ev's room and
// thread to that message. When the bot cannot post there, ev stays a
// direct message.
func (a *Adapter) askIn(ctx context.Context, ev *bots.Event, channel, question string) error {
	a.mu.Lock()
	an, posting := a.anchors[ev.ID]
	if !posting {
		for k, v := range a.anchors {
			if time.Since(v.at) > time.Hour {
				delete(a.anchors, k)
			}
		}
		an = &anchor{done: make(chan struct{}), at: time.Now()}
		a.anchors[ev.ID] = an
	}
	a.mu.Unlock()
	if posting {
		select {
		case <-an.done:
		case <-ctx.Done():
			return fmt.Errorf("slack: post question %s: %w", ev.ID, ctx.Err())
		}
	} else {
		var m bots.Message
		m.Text("❓ ").Mention(ev.Sender, orDefault(ev.SenderName, ev.Sender.User)).Break().Quote(question)
		an.ts, an.err = a.post(ctx, channel, "", m, ev.ID+"/question")
		if an.err != nil {
			a.mu.Lock()
			delete(a.anchors, ev.ID) // a redelivery tries again
			a.mu.Unlock()
		}
		close(an.done)
	}
	if errors.Is(an.err, bots.ErrUndeliverable) {
		a.log.Info("slack: cannot post the question in the channel, asking in a direct message", "channel", channel, "event", ev.ID, "err", an.err)
		return nil
	}
	if an.err != nil {
		return an.err
	}
	ev.Room, ev.Thread, ev.DM = channel, an.ts, false
	return nil
}
