// Package bots is how entraide talks: commands parsed from text, the words
// in each language, and the platform-neutral rich Message that adapters
// render. It knows core, not platforms.
package bots

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"entraide/core"
)

// Config tunes the conversation.
type Config struct {
	// Prefix starts every command ("!" by default, as Matrix bots do).
	Prefix string
	// Lang is the language used with people who chose none.
	Lang string
	// PublicURL is where entraide's web pages are served (calendars), such
	// as https://entraide.example.gouv.fr; empty when they are not.
	PublicURL string
	// Limit bounds how fast one account or room may write to the bot; the
	// zero value bounds nothing.
	Limit RateLimit
}

// DefaultConfig returns the settings used when none are given.
func DefaultConfig() Config { return Config{Prefix: "!", Lang: "fr"} }

// Validate reports settings the bot cannot work with.
func (c Config) Validate() error {
	if c.Prefix == "" || strings.ContainsFunc(c.Prefix, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' }) || len(c.Prefix) > 4 {
		return fmt.Errorf("bots: command prefix %q: want 1 to 4 characters without spaces, such as !", c.Prefix)
	}
	if !supported(c.Lang) {
		return fmt.Errorf("bots: language %q: want one of %s", c.Lang, strings.Join(Languages, ", "))
	}
	return nil
}

// Handler turns an event into the messages to send. Adapters call it.
type Handler interface {
	Handle(ctx context.Context, ev Event) ([]Outgoing, error)
}

// Bot is entraide's conversation layer over a core.Network.
type Bot struct {
	net      *core.Network
	cfg      Config
	log      *slog.Logger
	commands map[string]*Command
	ordered  []*Command
	limits   *limiter
}

var _ Handler = (*Bot)(nil)

// New returns a Bot with entraide's commands.
func New(net *core.Network, cfg Config, log *slog.Logger) (*Bot, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bot{net: net, cfg: cfg, log: log, commands: map[string]*Command{}, limits: &limiter{}}
	for _, c := range builtinCommands() {
		if err := b.register(c); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// In returns a Bot whose network works in tx, a transaction of the
// network's store, and a function that tells the network's learner what
// happened, to call once tx committed.
func (b *Bot) In(tx core.Store) (*Bot, func()) {
	c := *b
	c.net = b.net.Bind(tx)
	return &c, c.net.Flush
}

// register adds a command under its name and aliases.
func (b *Bot) register(c *Command) error {
	for _, name := range append([]string{c.Name}, c.Aliases...) {
		key := core.Fold(name)
		if _, dup := b.commands[key]; dup {
			return fmt.Errorf("bots: command name %q registered twice", name)
		}
		b.commands[key] = c
	}
	b.ordered = append(b.ordered, c)
	return nil
}

// Handle implements Handler. Mistakes of users get a short reply saying what
// to do; an internal failure gets an apology and is returned as the error,
// for the adapter to log.
func (b *Bot) Handle(ctx context.Context, ev Event) ([]Outgoing, error) {
	if len(ev.Text) > MaxCommandLen {
		return b.reply(ev, say(b.langOf(ctx, ev.Sender), msgTooLong, plain(strconv.Itoa(core.MaxAnswerLen)))), nil
	}
	name, args, ok := ParseCommand(b.cfg.Prefix, ev.Text)
	lang := b.langOf(ctx, ev.Sender)
	if !ok {
		if ev.DM && strings.TrimSpace(ev.Text) != "" {
			if out, stop := b.gate(ctx, ev, lang); stop {
				return out, nil
			}
			return b.reply(ev, say(lang, msgDMHint, code(b.cfg.Prefix+"ask "+word(lang, msgYourQuestion)), code(b.cfg.Prefix+"help"))), nil
		}
		return nil, nil
	}
	if out, stop := b.gate(ctx, ev, lang); stop {
		return out, nil
	}
	cmd, ok := b.commands[name]
	if !ok {
		if near, ok := closestCommand(name); ok {
			return b.reply(ev, say(lang, msgUnknownCommandNear, code(b.cfg.Prefix+name), code(b.cfg.Prefix+near), code(b.cfg.Prefix+"help"))), nil
		}
		return b.reply(ev, say(lang, msgUnknownCommand, code(b.cfg.Prefix+name), code(b.cfg.Prefix+"help"))), nil
	}
	b.log.Debug("command", "command", cmd.Name, "platform", ev.Platform, "event", ev.ID)
	out, err := cmd.Handle(b, ctx, &Request{Event: ev, Name: name, Args: args, Lang: lang})
	if err != nil {
		return b.reply(ev, say(lang, msgInternal)), fmt.Errorf("bots: %s: %w", cmd.Name, err)
	}
	return out, nil
}

// gate applies the rate limits and the access rules to an event addressed
// to the bot: it reports whether to stop there, with what to say.
func (b *Bot) gate(ctx context.Context, ev Event, lang string) ([]Outgoing, bool) {
	now := b.net.Clock().Now()
	l := b.cfg.Limit
	ok, warn, wait := b.limits.take("u/"+ev.Sender.String(), l.User, now)
	if ok && !ev.DM && ev.Room != "" {
		ok, warn, wait = b.limits.take("r/"+string(ev.Platform)+"/"+ev.Room, l.Room, now)
	}
	if !ok {
		b.log.Warn("rate limited", "platform", ev.Platform, "event", ev.ID, "warned", warn)
		if !warn {
			return nil, true
		}
		secs := int(wait.Round(time.Second) / time.Second)
		return b.reply(ev, say(lang, msgSlowDown, plain(strconv.Itoa(max(secs, 1))))), true
	}
	admitted, err := b.net.Admit(ctx, ev.Sender, ev.Tenant, roomOf(ev))
	if err != nil {
		b.log.Error("access check failed", "platform", ev.Platform, "event", ev.ID, "err", err)
		return b.reply(ev, say(lang, msgInternal)), true
	}
	if !admitted {
		b.log.Info("not admitted", "platform", ev.Platform, "event", ev.ID)
		return b.reply(ev, say(lang, msgNotAdmitted)), true
	}
	return nil, false
}

// langOf returns the language to use with who.
func (b *Bot) langOf(ctx context.Context, who core.Identity) string {
	p, err := b.net.PersonByIdentity(ctx, who)
	if err == nil && supported(p.Lang) {
		return p.Lang
	}
	return b.cfg.Lang
}

func (b *Bot) reply(ev Event, m Message) []Outgoing {
	return []Outgoing{{To: ReplyTo(ev), Message: m, Key: eventKey(ev, "reply")}}
}

// eventKey is the idempotency key of one effect of one event: the same
// event handled again (after a crash) gives the same keys, whatever ids the
// database hands out the second time.
func eventKey(ev Event, effect string) string {
	return string(ev.Platform) + ":" + ev.ID + "/" + effect
}

func (b *Bot) cmd(s string) Span { return code(b.cfg.Prefix + s) }

func (b *Bot) ask(ctx context.Context, r *Request) ([]Outgoing, error) {
	return b.askWith(ctx, r, core.AskOptions{})
}

// anon asks a question whose asker's name experts and rooms never see.
func (b *Bot) anon(ctx context.Context, r *Request) ([]Outgoing, error) {
	return b.askWith(ctx, r, core.AskOptions{Anonymous: true})
}

// askerName is how a question's asker is named to others, in lang.
func askerName(q core.Question, asker core.Person, lang string) string {
	if q.Anonymous {
		return word(lang, msgAnonymous)
	}
	return asker.Name()
}

func (b *Bot) askWith(ctx context.Context, r *Request, opts core.AskOptions) ([]Outgoing, error) {
	ev := r.Event
	if r.Args == "" {
		return b.reply(ev, say(r.Lang, msgAskUsage, b.cmd("ask "+word(r.Lang, msgYourQuestion)))), nil
	}
	if len(r.Args) > core.MaxQuestionLen {
		return b.reply(ev, say(r.Lang, msgTooLong, plain(strconv.Itoa(core.MaxQuestionLen)))), nil
	}
	origin := core.MessageRef{Platform: ev.Platform, Room: ev.Room, Message: ev.ID, Thread: ev.ThreadRoot(), DM: ev.DM}
	asked, err := b.net.AskWith(ctx, ev.Sender, ev.SenderName, r.Args, origin, opts)
	if errors.Is(err, core.ErrInvalid) {
		return b.reply(ev, say(r.Lang, msgAskUsage, b.cmd("ask "+word(r.Lang, msgYourQuestion)))), nil
	}
	if err != nil {
		return nil, err
	}
	id := strconv.FormatInt(int64(asked.Question.ID), 10)
	var out []Outgoing
	switch len(asked.Experts) {
	case 0:
		out = b.reply(ev, say(r.Lang, msgAskedNoExpert, strong(id)))
	case 1:
		out = b.reply(ev, say(r.Lang, msgAskedRoutedOne, strong(id)))
	default:
		out = b.reply(ev, say(r.Lang, msgAskedRouted, strong(id), plain(strconv.Itoa(len(asked.Experts)))))
	}
	if hint, err := b.suggestion(ctx, r.Lang, asked.Question); err != nil {
		return nil, err
	} else if len(hint.Spans) > 0 {
		out[0].Message.Break()
		out[0].Message.Spans = append(out[0].Message.Spans, hint.Spans...)
	}
	where := ev.Room
	if ev.DM {
		where = ""
	}
	out = append(out, b.requests(asked.Question, asked.Asker, asked.Experts, where, msgExpertRequest, func(e core.Person) string {
		return eventKey(ev, fmt.Sprintf("request/%d", e.ID))
	})...)
	return out, nil
}

// requests returns the direct messages that ask experts to answer q, where
// is the room the question was asked in ("" for a direct message).
func (b *Bot) requests(q core.Question, asker core.Person, experts []core.Person, where string, key msgKey, keyOf func(core.Person) string) []Outgoing {
	id := strconv.FormatInt(int64(q.ID), 10)
	var out []Outgoing
	for _, e := range experts {
		lang := b.cfg.Lang
		if supported(e.Lang) {
			lang = e.Lang
		}
		place := plain(word(lang, msgDirectMessage))
		if where != "" {
			place = roomSpan(core.Room{Platform: q.Origin.Platform, ID: where})
		}
		m := say(lang, key, strong(id), strong(askerName(q, asker, lang)), place, quote(q.Text),
			b.cmd("answer "+id+" "+word(lang, msgAnswerHint)))
		m.Actions = []Action{
			{
				Kind: ActionForm, ID: "answer:" + id, Label: word(lang, msgAnswerButton), Command: "answer " + id,
				FormTitle: word(lang, msgAnswerButton) + " (" + id + ")", FormLabel: word(lang, msgYourAnswer),
			},
			{Kind: ActionCommand, ID: "pass:" + id, Label: word(lang, msgPassButton), Command: "pass " + id, Reaction: ReactPass},
			{Kind: ActionCommand, ID: "snooze:" + id, Label: word(lang, msgSnoozeButton), Command: "snooze " + id, Reaction: ReactSnooze},
		}
		out = append(out, Outgoing{To: DirectTo(e.Identity), Message: m, Key: keyOf(e)})
	}
	return out
}

// HandleJob runs a scheduled job and returns the messages it causes.
func (b *Bot) HandleJob(ctx context.Context, j core.Job) ([]Outgoing, error) {
	if out, handled, err := b.handleBulletinJob(ctx, j); handled {
		return out, err
	}
	if out, handled, err := b.handleAnimationJob(ctx, j); handled {
		return out, err
	}
	switch j.Kind {
	case core.JobEscalate:
		id, round, err := core.ParseEscalationJob(j)
		if err != nil {
			return nil, err
		}
		esc, err := b.net.Escalate(ctx, id, round)
		if err != nil {
			return nil, err
		}
		q := esc.Question
		where := q.Origin.Room
		if q.Origin.DM {
			where = ""
		}
		out := b.requests(q, esc.Asker, esc.Experts, where, msgEscalated, func(e core.Person) string {
			return "job:" + j.Key + fmt.Sprintf("/request/%d", e.ID)
		})
		// The animators may answer, or know whom to ask: the request
		// offers them the answer button only.
		for _, o := range b.requests(q, esc.Asker, esc.Animators, where, msgEscalatedAnimator, func(a core.Person) string {
			return fmt.Sprintf("job:%s/animator/%d", j.Key, a.ID)
		}) {
			o.Message.Actions = o.Message.Actions[:1]
			out = append(out, o)
		}
		if esc.Expired {
			lang := b.cfg.Lang
			if supported(esc.Asker.Lang) {
				lang = esc.Asker.Lang
			}
			qid := strconv.FormatInt(int64(q.ID), 10)
			out = append(out, Outgoing{
				To: OriginOf(q.Origin, esc.Asker.Identity),
				Message: say(lang, msgExpired, askerSpan(q, esc.Asker, lang),
					strong(qid), b.cmd("ask "+word(lang, msgYourQuestion))),
				Key: "job:" + j.Key + "/expired",
			})
		}
		return out, nil
	case core.JobRemind:
		id, expert, err := core.ParseReminderJob(j)
		if err != nil {
			return nil, err
		}
		rem, err := b.net.Remind(ctx, id, expert)
		if err != nil || !rem.Due {
			return nil, err
		}
		where := rem.Question.Origin.Room
		if rem.Question.Origin.DM {
			where = ""
		}
		return b.requests(rem.Question, rem.Asker, []core.Person{rem.Expert}, where, msgReminder, func(core.Person) string {
			return "job:" + j.Key
		}), nil
	}
	return nil, fmt.Errorf("bots: unknown job kind %q", j.Kind)
}

func (b *Bot) expert(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	example := b.cmd("expert " + word(r.Lang, msgTopicExample))
	switch folded := core.Fold(r.Args); {
	case r.Args == "":
		p, err := b.net.PersonByIdentity(ctx, ev.Sender)
		if errors.Is(err, core.ErrNotFound) {
			return b.reply(ev, say(r.Lang, msgNotExpert, example)), nil
		}
		if err != nil {
			return nil, err
		}
		e, err := b.net.Store().Expert(ctx, p.ID)
		if errors.Is(err, core.ErrNotFound) {
			return b.reply(ev, say(r.Lang, msgNotExpert, example)), nil
		}
		if err != nil {
			return nil, err
		}
		return b.reply(ev, say(r.Lang, msgExpertShow, strong(strings.Join(e.Topics, ", ")), example)), nil
	case folded == "off" || folded == "stop" || folded == "quitter" || folded == "leave":
		err := b.net.LeaveDirectory(ctx, ev.Sender)
		if errors.Is(err, core.ErrNotFound) {
			return b.reply(ev, say(r.Lang, msgNotExpert, example)), nil
		}
		if err != nil {
			return nil, err
		}
		return b.reply(ev, say(r.Lang, msgExpertLeft, example)), nil
	}
	topics, err := core.ParseTopics(r.Args)
	if err != nil {
		return b.reply(ev, say(r.Lang, msgTopicsUsage, plain(strconv.Itoa(core.MaxTopics)), plain(strconv.Itoa(core.MaxTopicLen)), example)), nil
	}
	e, err := b.net.DeclareExpert(ctx, ev.Sender, ev.SenderName, topics)
	if err != nil {
		return nil, err
	}
	return b.reply(ev, say(r.Lang, msgExpertSaved, strong(strings.Join(e.Topics, ", ")), b.cmd("expert off"))), nil
}

// splitID takes a leading question number ("12" or "#12") off args.
func splitID(args string) (core.QuestionID, string, bool) {
	first, rest, _ := strings.Cut(args, " ")
	n, err := strconv.ParseInt(strings.TrimPrefix(first, "#"), 10, 64)
	if err != nil || n <= 0 || first == "#" {
		return 0, args, false
	}
	return core.QuestionID(n), strings.TrimSpace(rest), true
}

func (b *Bot) answer(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	usage := b.cmd("answer 12 " + word(r.Lang, msgAnswerHint))
	id, text, _ := splitID(r.Args)
	if text == "" {
		return b.reply(ev, say(r.Lang, msgAnswerUsage, usage)), nil
	}
	if len(text) > core.MaxAnswerLen {
		return b.reply(ev, say(r.Lang, msgTooLong, plain(strconv.Itoa(core.MaxAnswerLen)))), nil
	}
	res, err := b.net.Answer(ctx, ev.Sender, ev.SenderName, id, text)
	if err != nil {
		return b.questionError(ev, r.Lang, id, err, "answer", usage)
	}
	qid := strconv.FormatInt(int64(res.Question.ID), 10)
	asker := res.Asker
	askerLang := b.cfg.Lang
	if supported(asker.Lang) {
		askerLang = asker.Lang
	}
	relay := say(askerLang, msgAnswerRelayed, Span{Kind: Mention, Text: asker.Name(), Who: asker.Identity},
		strong(res.Author.Name()), strong(qid), quote(res.Answer.Text), b.cmd("resolve "+qid))
	if res.Question.Anonymous {
		// No mention: it would name the asker in the room.
		relay = say(askerLang, msgAnswerRelayedAnon, strong(res.Author.Name()), strong(qid), quote(res.Answer.Text), b.cmd("resolve "+qid))
	}
	// Several experts may answer: the asker picks one, with the button or
	// the command the text gives.
	aid := strconv.FormatInt(int64(res.Answer.ID), 10)
	relay.Break()
	relay.Spans = append(relay.Spans, say(askerLang, msgAcceptHint, b.cmd("accept "+aid)).Spans...)
	relay.Actions = []Action{{Kind: ActionCommand, ID: "accept:" + aid, Label: word(askerLang, msgAcceptButton), Command: "accept " + aid, Reaction: ReactAccept}}
	return []Outgoing{
		{To: OriginOf(res.Question.Origin, asker.Identity), Message: relay, Key: eventKey(ev, "relay")},
		{
			To:      ReplyTo(ev),
			Message: say(r.Lang, msgAnswerThanks, strong(qid), strong(askerName(res.Question, asker, r.Lang))),
			Key:     eventKey(ev, "thanks"),
		},
	}, nil
}

// questionError turns a core error about a question into a reply, or
// returns it when it is internal.
func (b *Bot) questionError(ev Event, lang string, id core.QuestionID, err error, verb string, usage Span) ([]Outgoing, error) {
	var amb *core.AmbiguousError
	qid := strconv.FormatInt(int64(id), 10)
	switch {
	case errors.As(err, &amb):
		ids := make([]string, len(amb.Candidates))
		for i, c := range amb.Candidates {
			ids[i] = strconv.FormatInt(int64(c), 10)
		}
		key := msgAmbiguousAnswer
		if verb == "resolve" {
			key = msgAmbiguousResolve
		}
		return b.reply(ev, say(lang, key, plain(strings.Join(ids, ", ")), usage)), nil
	case errors.Is(err, core.ErrNotFound) && id != 0:
		return b.reply(ev, say(lang, msgQuestionNotFound, strong(qid))), nil
	case errors.Is(err, core.ErrNotFound) && verb == "resolve":
		return b.reply(ev, say(lang, msgNoOpenQuestion, b.cmd("ask "+word(lang, msgYourQuestion)))), nil
	case errors.Is(err, core.ErrNotFound):
		return b.reply(ev, say(lang, msgNoPending, usage)), nil
	case errors.Is(err, core.ErrForbidden) && verb == "pass":
		return b.reply(ev, say(lang, msgNotWaiting, strong(qid), b.cmd("mine"))), nil
	case errors.Is(err, core.ErrForbidden) && verb == "resolve":
		return b.reply(ev, say(lang, msgNotAsker, strong(qid))), nil
	case errors.Is(err, core.ErrForbidden):
		return b.reply(ev, say(lang, msgOwnQuestion, b.cmd("resolve "+qid))), nil
	case errors.Is(err, core.ErrConflict):
		state := word(lang, msgStateResolved)
		if strings.Contains(err.Error(), string(core.StateExpired)) {
			state = word(lang, msgStateExpired)
		}
		return b.reply(ev, say(lang, msgQuestionClosed, strong(qid), plain(state))), nil
	case errors.Is(err, core.ErrInvalid):
		return b.reply(ev, say(lang, msgAnswerUsage, usage)), nil
	}
	return nil, err
}

func (b *Bot) resolve(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	usage := b.cmd("resolve 12")
	var id core.QuestionID
	if r.Args != "" {
		var ok bool
		var rest string
		id, rest, ok = splitID(r.Args)
		if !ok || rest != "" {
			return b.reply(ev, say(r.Lang, msgBadID, quote(r.Args), usage)), nil
		}
	}
	res, err := b.net.Resolve(ctx, ev.Sender, id)
	if err != nil {
		return b.questionError(ev, r.Lang, id, err, "resolve", usage)
	}
	qid := strconv.FormatInt(int64(res.Question.ID), 10)
	out := b.reply(ev, say(r.Lang, msgResolved, strong(qid)))
	seen := map[core.PersonID]bool{}
	asker, err := b.net.PersonByIdentity(ctx, ev.Sender)
	if err != nil {
		return nil, err
	}
	for _, a := range res.Answers {
		if seen[a.Author] {
			continue
		}
		seen[a.Author] = true
		author, err := b.net.Store().Person(ctx, a.Author)
		if err != nil {
			return nil, err
		}
		lang := b.cfg.Lang
		if supported(author.Lang) {
			lang = author.Lang
		}
		out = append(out, Outgoing{
			To:      DirectTo(author.Identity),
			Message: say(lang, msgResolvedNotice, strong(askerName(res.Question, asker, lang)), strong(qid)),
			Key:     eventKey(ev, fmt.Sprintf("resolved/%d", a.Author)),
		})
	}
	return out, nil
}

// accept handles "!accept 17": the asker chooses answer 17.
func (b *Bot) accept(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	n, rest, ok := splitID(r.Args)
	if !ok || rest != "" {
		return b.reply(ev, say(r.Lang, msgAcceptUsage, b.cmd("accept 17"))), nil
	}
	res, err := b.net.Accept(ctx, ev.Sender, core.AnswerID(n))
	switch {
	case errors.Is(err, core.ErrNotFound):
		return b.reply(ev, say(r.Lang, msgItemNotFound, strong(r.Args))), nil
	case errors.Is(err, core.ErrForbidden):
		return b.reply(ev, say(r.Lang, msgAcceptNotAsker)), nil
	case errors.Is(err, core.ErrConflict):
		return b.reply(ev, say(r.Lang, msgQuestionClosed, strong(r.Args), plain(word(r.Lang, msgStateExpired)))), nil
	case err != nil:
		return nil, err
	}
	qid := strconv.FormatInt(int64(res.Question.ID), 10)
	key := msgAccepted
	if !res.Resolved {
		key = msgAcceptedChanged
	}
	out := b.reply(ev, say(r.Lang, key, strong(res.Author.Name()), strong(qid)))
	if res.Author.ID != res.Question.Asker {
		lang := b.langOfPerson(res.Author)
		asker, err := b.net.Store().Person(ctx, res.Question.Asker)
		if err != nil {
			return nil, err
		}
		out = append(out, Outgoing{
			To:      DirectTo(res.Author.Identity),
			Message: say(lang, msgAcceptedNotice, strong(askerName(res.Question, asker, lang)), strong(qid)),
			Key:     eventKey(ev, "accepted"),
		})
	}
	return out, nil
}

func (b *Bot) lang(ctx context.Context, r *Request) ([]Outgoing, error) {
	lang := core.Fold(r.Args)
	if !supported(lang) || utf8.RuneCountInString(r.Args) > 8 {
		return b.reply(r.Event, say(r.Lang, msgLangUsage, plain(strings.Join(Languages, ", ")), b.cmd("lang en"))), nil
	}
	if err := b.net.SetLang(ctx, r.Event.Sender, r.Event.SenderName, lang); err != nil {
		return nil, err
	}
	return b.reply(r.Event, say(lang, msgLangSet)), nil
}

func (b *Bot) help(_ context.Context, r *Request) ([]Outgoing, error) {
	l := r.Lang
	return b.reply(r.Event, say(l, msgHelp,
		b.cmd("ask "+word(l, msgYourQuestion)),
		b.cmd("anon "+word(l, msgYourQuestion)),
		b.cmd("expert "+word(l, msgTopicExample)),
		b.cmd("expert off"),
		b.cmd("answer 12 "+word(l, msgAnswerHint)),
		b.cmd("pass 12"),
		b.cmd("snooze 12 2h"),
		b.cmd("mine"),
		b.cmd("search "+word(l, msgTopicExample)),
		b.cmd("away 2026-12-01"),
		b.cmd("back"),
		b.cmd("quiet 19-8"),
		b.cmd("resolve 12"),
		b.cmd("offer"),
		b.cmd("offers"),
		b.cmd("save 12"),
		b.cmd("event"),
		b.cmd("events"),
		b.cmd("rsvp 12 "+word(l, msgRSVPYes)),
		b.cmd("subscribe offers weekly lieu:Lyon"),
		b.cmd("subscriptions"),
		b.cmd("announce offers events"),
		b.cmd("link"),
		b.cmd("mydata"),
		b.cmd("forget"),
		b.cmd("lang en"),
		b.cmd("help"),
	)), nil
}

func (b *Bot) pass(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	usage := b.cmd("pass 12")
	id, rest, ok := splitID(r.Args)
	if r.Args != "" && (!ok || rest != "") {
		return b.reply(ev, say(r.Lang, msgBadID, quote(r.Args), usage)), nil
	}
	res, err := b.net.Pass(ctx, ev.Sender, id)
	if err != nil {
		return b.questionError(ev, r.Lang, id, err, "pass", usage)
	}
	qid := strconv.FormatInt(int64(res.Question.ID), 10)
	key := msgPassed
	if len(res.Experts) == 0 {
		key = msgPassedNobody
	}
	out := b.reply(ev, say(r.Lang, key, strong(qid)))
	where := res.Question.Origin.Room
	if res.Question.Origin.DM {
		where = ""
	}
	return append(out, b.requests(res.Question, res.Asker, res.Experts, where, msgPassedRequest, func(e core.Person) string {
		return eventKey(ev, fmt.Sprintf("request/%d", e.ID))
	})...), nil
}

func (b *Bot) away(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	usage := say(r.Lang, msgAwayUsage, b.cmd("away 2026-12-01"), b.cmd("away 2w"))
	until, err := ParseUntil(r.Args, b.net.Clock().Now())
	if err != nil {
		return b.reply(ev, usage), nil
	}
	e, err := b.net.SetAway(ctx, ev.Sender, until)
	switch {
	case errors.Is(err, core.ErrNotFound):
		return b.reply(ev, say(r.Lang, msgNotExpert, b.cmd("expert "+word(r.Lang, msgTopicExample)))), nil
	case errors.Is(err, core.ErrInvalid):
		return b.reply(ev, usage), nil
	case err != nil:
		return nil, err
	}
	return b.reply(ev, say(r.Lang, msgAwaySet, strong(e.AwayUntil.Format("2006-01-02 15:04 UTC")), b.cmd("back"))), nil
}

func (b *Bot) back(ctx context.Context, r *Request) ([]Outgoing, error) {
	_, err := b.net.SetAway(ctx, r.Event.Sender, time.Time{})
	switch {
	case errors.Is(err, core.ErrNotFound):
		return b.reply(r.Event, say(r.Lang, msgNotExpert, b.cmd("expert "+word(r.Lang, msgTopicExample)))), nil
	case err != nil:
		return nil, err
	}
	return b.reply(r.Event, say(r.Lang, msgBack)), nil
}

// maxListed bounds the questions listed by !mine in each part.
const maxListed = 10

func (b *Bot) mine(ctx context.Context, r *Request) ([]Outgoing, error) {
	mine, err := b.net.Mine(ctx, r.Event.Sender)
	if err != nil {
		return nil, err
	}
	if len(mine.Asked) == 0 && len(mine.Waiting) == 0 {
		return b.reply(r.Event, say(r.Lang, msgMineNone)), nil
	}
	var m Message
	list := func(title msgKey, qs []core.Question) {
		if len(qs) == 0 {
			return
		}
		if len(m.Spans) > 0 {
			m.Break()
		}
		m.Spans = append(m.Spans, say(r.Lang, title).Spans...)
		for i, q := range qs {
			if i == maxListed {
				m.Break().Text("…")
				break
			}
			text := q.Text
			if runes := []rune(text); len(runes) > 80 {
				text = string(runes[:80]) + "…"
			}
			m.Break()
			m.Spans = append(m.Spans, say(r.Lang, msgMineItem, strong(strconv.FormatInt(int64(q.ID), 10)), plain(stateWord(r.Lang, q.State)), quote(text)).Spans...)
		}
	}
	list(msgMineAsked, mine.Asked)
	list(msgMineWaiting, mine.Waiting)
	return b.reply(r.Event, m), nil
}

// stateWord names a question's state for people.
func stateWord(lang string, s core.State) string {
	words := map[string]map[core.State]string{
		"fr": {core.StateOpen: "ouverte", core.StateRouted: "transmise", core.StateAnswered: "répondue", core.StateResolved: "résolue", core.StateExpired: "expirée"},
		"en": {core.StateOpen: "open", core.StateRouted: "sent to experts", core.StateAnswered: "answered", core.StateResolved: "resolved", core.StateExpired: "expired"},
	}
	if w, ok := words[lang][s]; ok {
		return w
	}
	return string(s)
}

// searchResults is how many questions !search shows.
const searchResults = 3

// excerpt shortens text to at most n characters.
func excerpt(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if runes := []rune(text); len(runes) > n {
		return string(runes[:n]) + "…"
	}
	return text
}

func (b *Bot) search(ctx context.Context, r *Request) ([]Outgoing, error) {
	ask := b.cmd("ask " + word(r.Lang, msgYourQuestion))
	if r.Args == "" {
		return b.reply(r.Event, say(r.Lang, msgSearchUsage, b.cmd("search "+word(r.Lang, msgTopicExample)))), nil
	}
	found, err := b.net.Search(ctx, r.Args, r.Lang, searchResults)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return b.reply(r.Event, say(r.Lang, msgSearchNone, ask)), nil
	}
	m := say(r.Lang, msgSearchFound)
	for _, f := range found {
		if len(f.Answers) == 0 {
			continue
		}
		a := f.Answers[0]
		author, err := b.net.Store().Person(ctx, a.Author)
		if err != nil {
			return nil, err
		}
		m.Break()
		m.Spans = append(m.Spans, say(r.Lang, msgSearchItem, strong(strconv.FormatInt(int64(f.Question.ID), 10)),
			quote(excerpt(f.Question.Text, 120)), strong(author.Name()), quote(excerpt(a.Text, 300))).Spans...)
	}
	return b.reply(r.Event, m), nil
}

// suggestion returns the closest resolved question to q with its first
// answer, for its asker to read while the experts are asked; an empty
// message when there is none.
func (b *Bot) suggestion(ctx context.Context, lang string, q core.Question) (Message, error) {
	found, err := b.net.Search(ctx, q.Text, lang, 1)
	if err != nil || len(found) == 0 || len(found[0].Answers) == 0 || found[0].Question.ID == q.ID {
		return Message{}, err
	}
	f := found[0]
	author, err := b.net.Store().Person(ctx, f.Answers[0].Author)
	if err != nil {
		return Message{}, err
	}
	return say(lang, msgSuggestion, strong(strconv.FormatInt(int64(f.Question.ID), 10)), quote(excerpt(f.Question.Text, 120)),
		strong(author.Name()), quote(excerpt(f.Answers[0].Text, 300)), b.cmd("resolve "+strconv.FormatInt(int64(q.ID), 10))), nil
}

// askerSpan names the asker in a message to them: a mention, or for an
// anonymous question a plain word that names no one.
func askerSpan(q core.Question, asker core.Person, lang string) Span {
	if q.Anonymous {
		return plain(word(lang, msgAnonymous))
	}
	return Span{Kind: Mention, Text: asker.Name(), Who: asker.Identity}
}

func (b *Bot) snooze(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	usage := b.cmd("snooze 12 2h")
	// "!snooze", "!snooze 2h", "!snooze 12", "!snooze 12 3j".
	var id core.QuestionID
	args := r.Args
	if n, rest, ok := splitID(args); ok {
		if _, err := ParseUntil(args, time.Time{}); err != nil {
			id, args = n, rest
		}
	}
	d := 2 * time.Hour
	if args != "" {
		now := b.net.Clock().Now()
		until, err := ParseUntil(args, now)
		if err != nil {
			return b.reply(ev, say(r.Lang, msgSnoozeUsage, usage)), nil
		}
		d = until.Sub(now)
	}
	q, until, err := b.net.Snooze(ctx, ev.Sender, id, d)
	switch {
	case errors.Is(err, core.ErrInvalid):
		return b.reply(ev, say(r.Lang, msgSnoozeUsage, usage)), nil
	case err != nil:
		return b.questionError(ev, r.Lang, id, err, "pass", usage)
	}
	return b.reply(ev, say(r.Lang, msgSnoozed, strong(strconv.FormatInt(int64(q.ID), 10)), strong(until.Format("2006-01-02 15:04 UTC")))), nil
}

func (b *Bot) quiet(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	var q core.QuietHours
	switch folded := core.Fold(r.Args); {
	case folded == "off" || folded == "aucune" || folded == "none":
	default:
		var err error
		if q, err = core.ParseQuietHours(r.Args); err != nil {
			return b.reply(ev, say(r.Lang, msgQuietUsage, b.cmd("quiet 19-8"), b.cmd("quiet off"))), nil
		}
	}
	_, err := b.net.SetQuiet(ctx, ev.Sender, q)
	switch {
	case errors.Is(err, core.ErrNotFound):
		return b.reply(ev, say(r.Lang, msgNotExpert, b.cmd("expert "+word(r.Lang, msgTopicExample)))), nil
	case err != nil:
		return nil, err
	case !q.Set:
		return b.reply(ev, say(r.Lang, msgQuietOff)), nil
	}
	return b.reply(ev, say(r.Lang, msgQuietSet, strong(q.String()), plain(b.net.Location().String()), b.cmd("quiet off"))), nil
}
