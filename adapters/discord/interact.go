package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"entraide/bots"
	"entraide/core"
)

// texts are the few words the adapter says itself, by language.
var texts = map[string]map[string]string{
	"fr": {
		"retry":       "Désolé, votre demande n'a pas pu être enregistrée. Réessayez dans un instant.",
		"stale":       "Ce bouton ne fonctionne plus. Tapez la commande indiquée dans le message.",
		"posted":      "Votre question est publiée : %s",
		"ask_title":   "Poser une question",
		"ask_label":   "Votre question",
		"form_title":  "Répondre",
		"form_label":  "Votre réponse",
		"anchor_head": "❓ Question de ",
	},
	"en": {
		"retry":       "Sorry, your request could not be recorded. Please try again in a moment.",
		"stale":       "This button no longer works. Type the command given in the message.",
		"posted":      "Your question is posted: %s",
		"ask_title":   "Ask a question",
		"ask_label":   "Your question",
		"form_title":  "Answer",
		"form_label":  "Your answer",
		"anchor_head": "❓ Question from ",
	},
}

// say returns the adapter's text key in the language of a Discord locale.
func say(locale, key string) string {
	if strings.HasPrefix(locale, "fr") {
		return texts["fr"][key]
	}
	return texts["en"][key]
}

// anchor is the message the bot posts in a channel to carry a question
// asked with /ask, so that its answers have a thread. A replayed
// interaction reuses it.
type anchor struct {
	done chan struct{}
	id   string
	err  error
}

// onInteraction handles an application command, a button press or a modal
// submission: it delivers the event, then responds within Discord's 3
// seconds, deferred (type 5, or 6 for components); when the delivery
// failed, it responds with a short ephemeral error so the person can try
// again. Opening a modal delivers nothing: the submission does.
func (a *Adapter) onInteraction(ctx context.Context, i interactionPayload) {
	var data interactionData
	if err := json.Unmarshal(i.Data, &data); err != nil && len(i.Data) > 0 {
		a.log.Error("discord: interaction data", "interaction", i.ID, "err", err)
		return
	}
	who := i.User
	if i.Member != nil && i.Member.User != nil {
		who = i.Member.User
	}
	if who == nil || who.ID == "" || !snowflake(i.ID) || i.Token == "" {
		// The id and the token go into the paths of Discord's API: an id
		// that is not one is refused, and the token is escaped.
		a.log.Error("discord: interaction without user, id or token", "interaction", i.ID)
		return
	}
	dm := i.GuildID == ""
	inThread := i.Channel != nil && isThreadType(i.Channel.Type)
	if inThread {
		a.markThread(i.ChannelID)
	}
	// The tenant is the server the interaction comes from, also for a
	// button or form that asDirect turns into a direct message: empty only
	// in a direct message channel.
	ev := bots.Event{
		ID: i.ID, Platform: Platform, Room: i.ChannelID, DM: dm,
		Sender: core.Identity{Platform: Platform, User: who.ID}, SenderName: displayName(who, i.Member),
		Tenant: tenant(i.GuildID),
	}
	if inThread {
		ev.Thread = i.ChannelID
	}
	// A replayed interaction (the gateway may send one again after a
	// resume) is delivered again, with the same event, for the inbox to
	// drop; only the first handling responds.
	replay := !a.firstTime(i.ID)
	respond := func(kind int, data any) bool {
		if replay {
			return false
		}
		return a.respond(ctx, i, kind, data)
	}
	p := a.cfg.Prefix
	switch i.Type {
	case interactionCommand:
		if data.Name == "ask" && optionValue(data.Options, "question") == "" {
			respond(responseModal, newModal(customAsk, "ask", say(i.Locale, "ask_title"), say(i.Locale, "ask_label"), core.MaxQuestionLen))
			return
		}
		ev.Text = slashText(p, data.Name, data.Options)
		question := optionValue(data.Options, "question")
		if data.Name == anyCommand {
			question, _ = a.askArgs(ev.Text) // posted in the channel, as /ask does
		}
		a.command(ctx, i, ev, who.ID, question, respond)
	case interactionComponent:
		c, ok := parseCustomID(data.CustomID)
		switch {
		case !ok || (c.Kind != customCommand && c.Kind != customForm && c.Kind != customFormRef):
			respond(responseMessage, ephemeral(say(i.Locale, "stale")))
		case c.Kind == customFormRef:
			form, known := bots.LookupForm(c.Ref)
			m, fits := formModal(form)
			if !known || !fits {
				a.log.Warn("discord: form button refused: no such form", "interaction", i.ID, "form", c.Ref)
				respond(responseMessage, ephemeral(say(i.Locale, "stale")))
				return
			}
			respond(responseModal, m)
		case c.Kind == customForm:
			title, label := c.Title, c.Label
			if title == "" {
				title = say(i.Locale, "form_title")
			}
			if label == "" {
				label = say(i.Locale, "form_label")
			}
			respond(responseModal, newModal(customModal, c.Command, title, label, 4000))
		default:
			ev.Text = p + c.Command
			a.component(ctx, i, asDirect(ev), respond)
		}
	case interactionModal:
		c, ok := parseCustomID(data.CustomID)
		switch {
		case ok && c.Kind == customAsk:
			text := modalText(data)
			if text == "" {
				respond(responseMessage, ephemeral(say(i.Locale, "stale")))
				return
			}
			ev.Text = p + "ask " + text
			a.command(ctx, i, ev, who.ID, text, respond)
		case ok && (c.Kind == customModal || c.Kind == customFormModal):
			command, err := modalCommand(c, data)
			if err != nil {
				if c.Kind == customFormModal {
					a.log.Warn("discord: form submission refused", "interaction", i.ID, "err", err)
				}
				respond(responseMessage, ephemeral(say(i.Locale, "stale")))
				return
			}
			ev.Text = p + command
			if i.Message != nil {
				a.component(ctx, i, asDirect(ev), respond)
			} else {
				a.command(ctx, i, asDirect(ev), who.ID, "", respond)
			}
		default:
			respond(responseMessage, ephemeral(say(i.Locale, "stale")))
		}
	}
}

// asDirect makes ev a direct message to the bot, as bots.Action asks of
// buttons: replies go to the person, not to the channel.
func asDirect(ev bots.Event) bots.Event {
	if !ev.DM {
		ev.Room, ev.Thread, ev.DM = "", "", true
	}
	return ev
}

// modalText returns the text typed in a modal.
func modalText(d interactionData) string {
	for _, row := range d.Components {
		for _, c := range row.Components {
			if c.CustomID == "text" {
				return strings.TrimSpace(c.Value)
			}
		}
	}
	return ""
}

// modalCommand returns the command, without prefix, that a submitted form
// modal stands for: a one-text form's command and text (kind m), or the
// answers of a form of several inputs, by position, made into its command
// (kind s, bots.Form.CommandText). A form bots.LookupForm does not know
// and a form submitted empty are refused.
func modalCommand(c parsedCustomID, d interactionData) (string, error) {
	if c.Kind == customModal {
		text := modalText(d)
		if text == "" {
			return "", errors.New("empty answer")
		}
		return c.Command + " " + text, nil
	}
	form, ok := bots.LookupForm(c.Ref)
	if !ok {
		return "", fmt.Errorf("no form %q", c.Ref)
	}
	values := make([]string, min(len(form.Fields), bots.MaxFormFields))
	position := make(map[string]int, len(values))
	for i := range values {
		position[fieldCustomID(i)] = i
	}
	for _, row := range d.Components {
		for _, in := range row.Components {
			if i, ok := position[in.CustomID]; ok {
				values[i] = strings.TrimSpace(in.Value)
			}
		}
	}
	if !slices.ContainsFunc(values, func(v string) bool { return v != "" }) {
		return "", fmt.Errorf("form %q submitted empty", c.Ref)
	}
	return form.CommandText(values), nil
}

func ephemeral(text string) messagePayload {
	return messagePayload{Content: text, Flags: flagEphemeral, AllowedMentions: allowedMentions{Parse: []string{}}}
}

// component delivers a button press or a modal submitted from a button,
// then acknowledges it with a deferred update (type 6): the bot's replies
// come as messages.
func (a *Adapter) component(ctx context.Context, i interactionPayload, ev bots.Event, respond responder) {
	if err := a.inbox.Deliver(ctx, ev); err != nil {
		a.log.Error("discord: interaction not delivered", "interaction", i.ID, "err", err)
		respond(responseMessage, ephemeral(say(i.Locale, "retry")))
		return
	}
	respond(responseDeferredUpdate, nil)
}

// command delivers an application command (or the modal of /ask), then
// defers an ephemeral response that the bot's first reply to the command
// edits. A question asked in a server channel is first posted there by
// the bot, and the event's thread is that message.
func (a *Adapter) command(ctx context.Context, i interactionPayload, ev bots.Event, user, question string, respond responder) {
	if question != "" && !ev.DM && ev.Thread == "" {
		id, err := a.anchorFor(ctx, i.ID, ev, question, say(i.Locale, "anchor_head"))
		switch {
		case errors.Is(err, bots.ErrUndeliverable):
			a.log.Info("discord: cannot post the question in the channel, asking in a direct message", "channel", ev.Room, "err", err)
			ev = asDirect(ev)
		case err != nil:
			a.log.Error("discord: post question", "interaction", i.ID, "err", err)
			respond(responseMessage, ephemeral(say(i.Locale, "retry")))
			return
		default:
			ev.Thread = id
			a.nameThread(id, question)
		}
	}
	p := &interaction{id: i.ID, token: i.Token, channel: ev.Room, user: user, at: a.clock.now(), ready: make(chan struct{})}
	if ev.Thread != "" && ev.Thread != ev.Room {
		p = nil // the replies go into the question's thread, visible to all
	}
	if a.isPending(i.ID) {
		p = nil // a replay: the first handling's deferred response stays
	}
	if p != nil {
		a.addPending(p)
	}
	if err := a.inbox.Deliver(ctx, ev); err != nil {
		a.log.Error("discord: interaction not delivered", "interaction", i.ID, "err", err)
		if p != nil {
			close(p.ready)
		}
		respond(responseMessage, ephemeral(say(i.Locale, "retry")))
		return
	}
	ok := respond(responseDeferredMessage, map[string]int{"flags": flagEphemeral})
	if p != nil {
		a.mu.Lock()
		p.ok = ok
		a.mu.Unlock()
		close(p.ready)
		return
	}
	if ok {
		link := "https://discord.com/channels/" + orDefault(i.GuildID, "@me") + "/" + ev.Room + "/" + ev.Thread
		edit := messagePayload{Content: fmt.Sprintf(say(i.Locale, "posted"), link), AllowedMentions: allowedMentions{Parse: []string{}}}
		if err := a.api.do(ctx, http.MethodPatch, "/webhooks/"+a.cfg.AppID+"/"+url.PathEscape(i.Token)+"/messages/@original", interactionRouteLabel, edit, nil); err != nil {
			a.log.Warn("discord: follow up /ask", "interaction", i.ID, "err", err)
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// addPending remembers a deferred interaction, forgetting the expired ones.
func (a *Adapter) addPending(p *interaction) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, v := range a.pending {
		if p.at.Sub(v.at) > a.interactionTTL {
			delete(a.pending, k)
		}
	}
	a.pending[p.id] = p
}

// anchorFor posts the question of interaction id in ev's channel, once
// even when the gateway replays the interaction, and returns the message's
// id.
func (a *Adapter) anchorFor(ctx context.Context, id string, ev bots.Event, question, head string) (string, error) {
	a.mu.Lock()
	an, posting := a.anchors[id]
	if !posting {
		if len(a.anchors) > 1000 {
			clear(a.anchors)
		}
		an = &anchor{done: make(chan struct{})}
		a.anchors[id] = an
	}
	a.mu.Unlock()
	if posting {
		select {
		case <-an.done:
			return an.id, an.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	var m bots.Message
	m.Text(head).Strong(orDefault(ev.SenderName, ev.Sender.User)).Break().Quote(question)
	msgs := payloads(m)
	an.id, an.err = a.post(ctx, ev.Room, msgs[0])
	if an.err != nil {
		a.mu.Lock()
		delete(a.anchors, id) // a replay tries again
		a.mu.Unlock()
	}
	close(an.done)
	return an.id, an.err
}

// responder sends an interaction's response and reports whether Discord
// took it.
type responder func(kind int, data any) bool

// firstTime reports whether interaction id is handled for the first time,
// forgetting those older than an interaction's life.
func (a *Adapter) firstTime(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.now()
	if _, seen := a.handled[id]; seen {
		return false
	}
	if len(a.handled) > 1000 {
		for k, at := range a.handled {
			if now.Sub(at) > a.interactionTTL {
				delete(a.handled, k)
			}
		}
	}
	a.handled[id] = now
	return true
}

func (a *Adapter) isPending(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pending[id] != nil
}

// respond sends an interaction's response and reports whether Discord took
// it.
func (a *Adapter) respond(ctx context.Context, i interactionPayload, kind int, data any) bool {
	body := map[string]any{"type": kind}
	if data != nil {
		body["data"] = data
	}
	if err := a.api.do(ctx, http.MethodPost, "/interactions/"+i.ID+"/"+url.PathEscape(i.Token)+"/callback", interactionRouteLabel, body, nil); err != nil {
		a.log.Error("discord: interaction response", "interaction", i.ID, "type", kind, "err", err)
		return false
	}
	return true
}
