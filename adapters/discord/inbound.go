package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"entraide/bots"
	"entraide/core"
)

// user, member, message and the other types below hold the fields the
// adapter reads from Discord's payloads.
type user struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	GlobalName string `json:"global_name"`
	Bot        bool   `json:"bot"`
}

type member struct {
	User *user  `json:"user"`
	Nick string `json:"nick"`
}

type message struct {
	ID        string  `json:"id"`
	ChannelID string  `json:"channel_id"`
	GuildID   string  `json:"guild_id"`
	Author    user    `json:"author"`
	Member    *member `json:"member"`
	Content   string  `json:"content"`
	Mentions  []user  `json:"mentions"`
	Type      int     `json:"type"`
	WebhookID string  `json:"webhook_id"`
}

type channel struct {
	ID   string `json:"id"`
	Type int    `json:"type"`
}

// isThreadType reports whether a channel type is a thread (announcement,
// public or private thread).
func isThreadType(t int) bool { return t == 10 || t == 11 || t == 12 }

type interactionPayload struct {
	ID        string          `json:"id"`
	Type      int             `json:"type"`
	Data      json.RawMessage `json:"data"`
	GuildID   string          `json:"guild_id"`
	ChannelID string          `json:"channel_id"`
	Channel   *channel        `json:"channel"`
	Member    *member         `json:"member"`
	User      *user           `json:"user"`
	Token     string          `json:"token"`
	Locale    string          `json:"locale"`
	Message   *message        `json:"message"`
}

type interactionData struct {
	Name       string        `json:"name"`
	Options    []slashOption `json:"options"`
	CustomID   string        `json:"custom_id"`
	Components []struct {
		Components []struct {
			CustomID string `json:"custom_id"`
			Value    string `json:"value"`
		} `json:"components"`
	} `json:"components"`
}

// The interaction types and response types the adapter uses.
const (
	interactionCommand   = 2
	interactionComponent = 3
	interactionModal     = 5

	responseMessage         = 4
	responseDeferredMessage = 5
	responseDeferredUpdate  = 6
	responseModal           = 9

	flagEphemeral = 1 << 6
)

// dispatch handles one gateway event.
func (a *Adapter) dispatch(run *runState, kind string, raw json.RawMessage) {
	ctx := run.ctx
	switch kind {
	case "READY":
		var r struct {
			User      user   `json:"user"`
			SessionID string `json:"session_id"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			a.log.Error("discord: READY", "err", err)
			return
		}
		a.mu.Lock()
		a.botID = r.User.ID
		a.mu.Unlock()
		a.log.Info("discord: connected to the gateway", "bot_user", r.User.ID)
		a.backfill.Do(func() {
			run.goTracked(func() {
				if err := a.backfillAll(ctx); err != nil && ctx.Err() == nil {
					a.log.Error("discord: backfill", "err", err)
				}
			})
		})
	case "RESUMED":
		a.log.Info("discord: gateway session resumed")
	case "MESSAGE_CREATE":
		var m message
		if err := json.Unmarshal(raw, &m); err != nil {
			a.log.Error("discord: MESSAGE_CREATE", "err", err)
			return
		}
		if err := a.onMessage(ctx, m, m.GuildID == ""); err != nil && ctx.Err() == nil {
			a.log.Error("discord: message not delivered", "message", m.ID, "err", err)
		}
	case "INTERACTION_CREATE":
		var i interactionPayload
		if err := json.Unmarshal(raw, &i); err != nil {
			a.log.Error("discord: INTERACTION_CREATE", "err", err)
			return
		}
		a.onInteraction(ctx, i)
	case "THREAD_CREATE":
		var c channel
		if json.Unmarshal(raw, &c) == nil && isThreadType(c.Type) {
			a.markThread(c.ID)
		}
	case "GUILD_CREATE":
		var g struct {
			Threads []channel `json:"threads"`
		}
		if json.Unmarshal(raw, &g) == nil {
			for _, c := range g.Threads {
				a.markThread(c.ID)
			}
		}
	}
}

func (a *Adapter) markThread(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.known) > 10000 {
		clear(a.known)
	}
	a.known[id] = true
}

func (a *Adapter) bot() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.botID
}

// displayName returns the name people see for the author of an event.
func displayName(u *user, m *member) string {
	switch {
	case m != nil && m.Nick != "":
		return m.Nick
	case u == nil:
		return ""
	case u.GlobalName != "":
		return u.GlobalName
	}
	return u.Username
}

// onMessage delivers a message written to the bot: a direct message, a
// mention of the bot, or any channel message in message content mode.
// Other messages, those of bots, and those without an id or a channel are
// skipped. The channel's checkpoint moves on once the event is delivered,
// so the backfill after a restart starts after it.
func (a *Adapter) onMessage(ctx context.Context, m message, dm bool) error {
	if m.ID == "" || m.ChannelID == "" || m.Author.ID == "" || m.Author.Bot || m.WebhookID != "" || (m.Type != 0 && m.Type != 19) {
		return nil
	}
	bot := a.bot()
	mentioned := false
	for _, u := range m.Mentions {
		mentioned = mentioned || (bot != "" && u.ID == bot)
	}
	mentioned = mentioned || (bot != "" && (strings.Contains(m.Content, "<@"+bot+">") || strings.Contains(m.Content, "<@!"+bot+">")))
	var text string
	switch {
	case dm:
		text = a.commandText(a.stripMention(m.Content), false)
	case mentioned:
		text = a.commandText(a.stripMention(m.Content), true)
	case a.cfg.MessageContent:
		text = strings.TrimSpace(m.Content)
	default:
		return nil
	}
	if text == "" {
		return nil
	}
	ev := bots.Event{
		ID: m.ID, Platform: Platform, Room: m.ChannelID, DM: dm,
		Sender:     core.Identity{Platform: Platform, User: m.Author.ID},
		SenderName: displayName(&m.Author, m.Member), Text: text, At: SnowflakeTime(m.ID),
	}
	if !dm {
		ev.Tenant = tenant(m.GuildID)
	}
	if a.isThread(m.ChannelID) {
		ev.Thread = m.ChannelID
	}
	if q, ok := a.askArgs(text); ok {
		a.nameThread(m.ID, q)
	}
	if err := a.inbox.Deliver(ctx, ev); err != nil {
		return fmt.Errorf("discord: deliver message %s: %w", m.ID, err)
	}
	return a.seen(ctx, m.ChannelID, m.ID, dm)
}

// tenant returns the Tenant of an event from guild: the guild id when it
// is a snowflake, else "". Tenant is one word, as access rules read it: a
// guild id with spaces would name several tenants.
func tenant(guild string) string {
	if snowflake(guild) {
		return guild
	}
	return ""
}

// nameThread remembers the name of the thread to start on root.
func (a *Adapter) nameThread(root, question string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.names) > 1000 {
		clear(a.names)
	}
	a.names[root] = question
}

// stripMention removes the mentions of the bot from text.
func (a *Adapter) stripMention(text string) string {
	if bot := a.bot(); bot != "" {
		text = strings.NewReplacer("<@"+bot+">", "", "<@!"+bot+">", "").Replace(text)
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

// seen records that message id of channel was delivered: the channel is
// watched, and its backfill starts after the newest such message.
func (a *Adapter) seen(ctx context.Context, ch, id string, dm bool) error {
	last, err := a.store.Checkpoint(ctx, keyLast+ch)
	if err != nil {
		return fmt.Errorf("discord: checkpoint of %s: %w", ch, err)
	}
	if last != "" && !newer(id, last) {
		return nil
	}
	if err := a.store.SetCheckpoint(ctx, keyLast+ch, id); err != nil {
		return fmt.Errorf("discord: checkpoint of %s: %w", ch, err)
	}
	if last == "" {
		return a.watch(ctx, ch, dm)
	}
	return nil
}

// newer reports whether snowflake a is newer than b.
func newer(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	return errA == nil && errB == nil && x > y
}

// watch adds ch to the watched channels (the most recent maxWatched).
func (a *Adapter) watch(ctx context.Context, ch string, dm bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	list, err := a.watched(ctx)
	if err != nil {
		return err
	}
	entry := ch
	if dm {
		entry = "d:" + ch
	}
	kept := []string{entry}
	for _, e := range list {
		if e != entry && len(kept) < maxWatched {
			kept = append(kept, e)
		}
	}
	if err := a.store.SetCheckpoint(ctx, keyWatched, strings.Join(kept, ",")); err != nil {
		return fmt.Errorf("discord: watched channels: %w", err)
	}
	return nil
}

func (a *Adapter) watched(ctx context.Context) ([]string, error) {
	v, err := a.store.Checkpoint(ctx, keyWatched)
	if err != nil {
		return nil, fmt.Errorf("discord: watched channels: %w", err)
	}
	if v == "" {
		return nil, nil
	}
	return strings.Split(v, ","), nil
}

// maxBackfillPages bounds the pages of 100 messages read per channel.
const maxBackfillPages = 10

// backfillAll delivers the messages written to the bot while it was away: in
// each watched channel (where it was mentioned, written to in a direct
// message, or read plain messages), those after the last one delivered,
// oldest first. Run calls it once per process, on the first READY; the
// gateway's resume covers shorter disconnections. The inbox drops the
// messages it has already.
func (a *Adapter) backfillAll(ctx context.Context) error {
	a.mu.Lock()
	list, err := a.watched(ctx)
	a.mu.Unlock()
	if err != nil {
		return err
	}
	for _, entry := range list {
		ch, dm := strings.CutPrefix(entry, "d:")
		if err := a.backfillChannel(ctx, ch, dm); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			a.log.Warn("discord: backfill of a channel failed", "channel", ch, "err", err)
		}
	}
	return nil
}

func (a *Adapter) backfillChannel(ctx context.Context, ch string, dm bool) error {
	// Messages read from the REST API carry no guild id: the channel's
	// gives the events their tenant.
	var guild string
	if !dm {
		var c struct {
			GuildID string `json:"guild_id"`
		}
		if err := a.api.do(ctx, http.MethodGet, "/channels/"+ch, "read channel", nil, &c); err != nil {
			return fmt.Errorf("discord: backfill %s: %w", ch, err)
		}
		guild = c.GuildID
	}
	for range maxBackfillPages {
		last, err := a.store.Checkpoint(ctx, keyLast+ch)
		if err != nil || last == "" {
			return err
		}
		var msgs []message
		if err := a.api.do(ctx, http.MethodGet, "/channels/"+ch+"/messages?limit=100&after="+last, "read messages", nil, &msgs); err != nil {
			return fmt.Errorf("discord: backfill %s: %w", ch, err)
		}
		sort.Slice(msgs, func(i, j int) bool { return newer(msgs[j].ID, msgs[i].ID) })
		for _, m := range msgs {
			if m.ChannelID == "" {
				m.ChannelID = ch
			}
			if m.GuildID == "" {
				m.GuildID = guild
			}
			if err := a.onMessage(ctx, m, dm); err != nil {
				return err
			}
			if err := a.seen(ctx, ch, m.ID, dm); err != nil {
				return err
			}
		}
		if len(msgs) < 100 {
			return nil
		}
	}
	return nil
}
