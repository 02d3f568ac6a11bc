package bots

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"entraide/core"
)

// ExportFileName is the name of the file a person's data comes in.
const ExportFileName = "entraide-mes-donnees.json"

// link handles "!link": with no argument, a code to type on another
// account; with a code, the accounts become one; "here" makes this account
// the one direct messages go to; "remove platform:user" detaches one.
func (b *Bot) link(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	fields := strings.Fields(r.Args)
	verb := ""
	if len(fields) > 0 {
		verb = core.Fold(fields[0])
	}
	switch {
	case len(fields) == 0:
		linkCode, expires, err := b.net.StartLink(ctx, ev.Sender, ev.SenderName)
		if err != nil {
			return nil, err
		}
		_, accounts, err := b.net.Accounts(ctx, ev.Sender)
		if err != nil {
			return nil, err
		}
		minutes := strconv.Itoa(int(expires.Sub(b.net.Clock().Now()).Round(time.Minute) / time.Minute))
		m := say(r.Lang, msgLinkCode, code(b.cfg.Prefix+"link "+linkCode), plain(minutes))
		m.Break()
		m.Spans = append(m.Spans, b.accountList(r.Lang, accounts).Spans...)
		// The code is a secret: it goes by direct message only.
		out := []Outgoing{{To: DirectTo(ev.Sender), Message: m, Key: eventKey(ev, "link-code")}}
		if !ev.DM {
			out = append(out, b.reply(ev, say(r.Lang, msgSentByDM))...)
		}
		return out, nil
	case verb == "ici" || verb == "here" || verb == "aqui" || verb == "prefer" || verb == "preferer":
		if err := b.net.Prefer(ctx, ev.Sender, ev.SenderName); err != nil {
			return nil, err
		}
		return b.reply(ev, say(r.Lang, msgLinkPreferred, strong(ev.Sender.String()))), nil
	case (verb == "retirer" || verb == "remove" || verb == "quitar" || verb == "unlink") && len(fields) == 2:
		platform, user, ok := strings.Cut(fields[1], ":")
		if !ok || platform == "" || user == "" {
			return b.reply(ev, say(r.Lang, msgLinkUsage, b.cmd("link"), b.cmd("link ABCD-EFGH"), b.cmd("link here"), b.cmd("link remove slack:U0123"))), nil
		}
		err := b.net.Unlink(ctx, ev.Sender, core.Identity{Platform: core.Platform(platform), User: user})
		switch {
		case errors.Is(err, core.ErrNotFound):
			return b.reply(ev, say(r.Lang, msgLinkNotYours, strong(fields[1]))), nil
		case errors.Is(err, core.ErrConflict):
			return b.reply(ev, say(r.Lang, msgLinkLast)), nil
		case err != nil:
			return nil, err
		}
		return b.reply(ev, say(r.Lang, msgUnlinked, strong(fields[1]))), nil
	case len(fields) == 1:
		if !ev.DM {
			// A code typed in a room is seen by all: it is not used, and
			// its owner should ask for a new one.
			return b.reply(ev, say(r.Lang, msgLinkInDM, b.cmd("link"))), nil
		}
		p, err := b.net.Link(ctx, ev.Sender, ev.SenderName, fields[0])
		switch {
		case errors.Is(err, core.ErrNotFound):
			return b.reply(ev, say(r.Lang, msgLinkBadCode, b.cmd("link"))), nil
		case errors.Is(err, core.ErrConflict):
			return b.reply(ev, say(r.Lang, msgLinkAlready)), nil
		case err != nil:
			return nil, err
		}
		accounts, err := b.net.Store().Identities(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		m := say(r.Lang, msgLinked)
		m.Break()
		m.Spans = append(m.Spans, b.accountList(r.Lang, accounts).Spans...)
		return b.reply(ev, m), nil
	}
	return b.reply(ev, say(r.Lang, msgLinkUsage, b.cmd("link"), b.cmd("link ABCD-EFGH"), b.cmd("link here"), b.cmd("link remove slack:U0123"))), nil
}

// accountList says which accounts are linked and where messages go.
func (b *Bot) accountList(lang string, accounts []core.LinkedIdentity) Message {
	names := make([]string, len(accounts))
	for i, a := range accounts {
		names[i] = a.Identity.String()
	}
	return say(lang, msgAccounts, strong(strings.Join(names, ", ")), strong(names[0]), b.cmd("link here"))
}

// mydata handles "!mydata": everything entraide holds about the sender, as
// a JSON file in a direct message.
func (b *Bot) mydata(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	d, err := b.net.Export(ctx, ev.Sender)
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	m := say(r.Lang, msgMyData, plain(strconv.Itoa(len(d.Questions))), plain(strconv.Itoa(len(d.Answers))), b.cmd("forget"))
	if len(data) > MaxFileSize {
		// Too big for one upload on every platform: the summary says so.
		m = say(r.Lang, msgMyDataTooBig, plain(strconv.Itoa(len(data)>>20)))
	} else {
		m.File = &File{Name: ExportFileName, MIME: "application/json", Data: data}
	}
	out := []Outgoing{{To: DirectTo(ev.Sender), Message: m, Key: eventKey(ev, "mydata")}}
	if !ev.DM {
		out = append(out, b.reply(ev, say(r.Lang, msgSentByDM))...)
	}
	return out, nil
}

// forgetWords confirm an erasure.
var forgetWords = map[string]bool{"confirmer": true, "confirm": true, "confirmar": true, "oui": true, "yes": true}

// forget handles "!forget": it says what will be erased and asks for a
// confirmation; "!forget confirm" erases the sender everywhere.
func (b *Bot) forget(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	if !forgetWords[core.Fold(r.Args)] {
		return b.reply(ev, say(r.Lang, msgForgetAsk, b.cmd("mydata"), b.cmd("forget "+word(r.Lang, msgConfirmWord)))), nil
	}
	// What the person wrote is looked for in the delivery tables too.
	d, err := b.net.Export(ctx, ev.Sender)
	if err != nil {
		return nil, err
	}
	ids := make([]core.Identity, 0, len(d.Accounts))
	for _, a := range d.Accounts {
		ids = append(ids, a.Identity)
	}
	var texts []string
	for _, q := range d.Questions {
		texts = append(texts, q.Question.Text)
	}
	for _, a := range d.Answers {
		texts = append(texts, a.Text)
	}
	if _, err := b.net.Forget(ctx, ev.Sender); err != nil {
		return nil, err
	}
	if s, ok := b.net.Store().(DeliveryScrubber); ok {
		names := []string{d.Person.DisplayName, ev.SenderName}
		if err := s.ScrubDelivery(ctx, ids, names, texts); err != nil {
			return nil, err
		}
	}
	out := b.reply(ev, say(r.Lang, msgForgotten))
	// Once sent, the confirmation leaves no trace of its addressee.
	out[0].Scrub = true
	return out, nil
}

// DeliveryScrubber is a Queue that can erase a person from the delivery
// tables: the events they sent keep only their platform and id (to
// recognise late duplicates), the messages sent to them or quoting what
// they wrote lose their content, and those still waiting are dropped;
// names are looked for in the messages already sent.
type DeliveryScrubber interface {
	ScrubDelivery(ctx context.Context, accounts []core.Identity, names, texts []string) error
}

// community handles "!community": which community this room belongs to,
// its rooms on every platform and who may use it; "create", "join" and
// "allow"/"deny" for administrators.
func (b *Bot) community(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	fields := strings.Fields(r.Args)
	usage := say(r.Lang, msgCommunityUsage, b.cmd("community"), b.cmd("community create justice"),
		b.cmd("community join justice"), b.cmd("community allow slack:T0123"), b.cmd("community deny slack:T0123"))
	if len(fields) == 0 {
		info, err := b.net.CommunityOfRoom(ctx, roomOf(ev))
		if err != nil {
			return nil, err
		}
		return b.reply(ev, b.communityInfo(r.Lang, info)), nil
	}
	if len(fields) != 2 {
		return b.reply(ev, usage), nil
	}
	arg := fields[1]
	var err error
	var m Message
	switch core.Fold(fields[0]) {
	case "create", "creer", "crear", "new", "nouvelle":
		var c core.Community
		c, err = b.net.CreateCommunity(ctx, ev.Sender, arg)
		m = say(r.Lang, msgCommunityCreated, strong(c.Name), b.cmd("community join "+c.Name))
	case "join", "rejoindre", "unir", "move", "deplacer":
		if ev.DM {
			return b.reply(ev, say(r.Lang, msgCommunityInRoom)), nil
		}
		var c core.Community
		c, err = b.net.MoveRoom(ctx, ev.Sender, roomOf(ev), arg)
		m = say(r.Lang, msgCommunityJoined, strong(c.Name))
	case "allow", "autoriser", "permitir", "add", "ajouter":
		m, err = b.setAccess(ctx, r, arg, true)
	case "deny", "retirer", "remove", "quitar", "interdire":
		m, err = b.setAccess(ctx, r, arg, false)
	default:
		return b.reply(ev, usage), nil
	}
	switch {
	case errors.Is(err, core.ErrForbidden):
		return b.reply(ev, say(r.Lang, msgAdminsOnlyCommunity)), nil
	case errors.Is(err, core.ErrInvalid):
		return b.reply(ev, say(r.Lang, msgBadRule, strong(arg))), nil
	case errors.Is(err, core.ErrNotFound):
		return b.reply(ev, say(r.Lang, msgNoSuchThing, strong(arg))), nil
	case errors.Is(err, core.ErrConflict):
		return b.reply(ev, say(r.Lang, msgAlreadyThere, strong(arg))), nil
	case err != nil:
		return nil, err
	}
	return b.reply(ev, m), nil
}

func (b *Bot) setAccess(ctx context.Context, r *Request, rule string, add bool) (Message, error) {
	community, err := b.net.CommunityOf(ctx, roomOf(r.Event))
	if err != nil {
		return Message{}, err
	}
	got, err := b.net.SetAccess(ctx, r.Event.Sender, community, rule, add)
	if !add {
		return say(r.Lang, msgAccessRemoved, strong(string(got))), err
	}
	return say(r.Lang, msgAccessAdded, strong(string(got))), err
}

func (b *Bot) communityInfo(lang string, info core.CommunityInfo) Message {
	rooms := make([]string, len(info.Rooms))
	for i, room := range info.Rooms {
		rooms[i] = string(room.Platform) + ":" + room.ID
	}
	if len(rooms) == 0 {
		rooms = []string{"-"}
	}
	m := say(lang, msgCommunityInfo, strong(info.Community.Name), plain(strings.Join(rooms, ", ")))
	m.Break()
	if len(info.Rules) == 0 {
		m.Spans = append(m.Spans, say(lang, msgAccessOpen).Spans...)
		return m
	}
	rules := make([]string, len(info.Rules))
	for i, rule := range info.Rules {
		rules[i] = string(rule)
	}
	m.Spans = append(m.Spans, say(lang, msgAccessRules, plain(strings.Join(rules, ", "))).Spans...)
	return m
}

// audit handles "!audit": the latest accesses to the authors of
// pseudonymous questions, for administrators.
func (b *Bot) audit(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	community, err := b.net.CommunityOf(ctx, roomOf(ev))
	if err != nil {
		return nil, err
	}
	entries, err := b.net.AuditLog(ctx, ev.Sender, community, 20)
	if errors.Is(err, core.ErrForbidden) {
		return b.reply(ev, say(r.Lang, msgAdminsOnlyCommunity)), nil
	}
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return b.reply(ev, say(r.Lang, msgAuditEmpty)), nil
	}
	m := say(r.Lang, msgAuditHeader, plain(strconv.Itoa(len(entries))))
	for _, e := range entries {
		m.Break()
		m.Text(fmt.Sprintf("%s · %s · question %d · %s", e.At.In(b.net.Location()).Format("2006-01-02 15:04"), e.Action, e.Question, e.Actor))
	}
	return b.reply(ev, m), nil
}
