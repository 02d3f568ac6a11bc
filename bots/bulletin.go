package bots

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"entraide/core"
)

// The bulletin's commands: post and list job offers and events, answer an
// event, save an offer, subscribe, and choose the rooms where new items are
// announced.

// listLimit is how many offers or events a list shows.
const listLimit = 10

func roomOf(ev Event) core.Room {
	if ev.DM {
		return core.Room{}
	}
	return core.Room{Platform: ev.Platform, ID: ev.Room}
}

// postError turns a mistake in a post into a short reply naming the field
// and what it wants, in the reader's language.
func (b *Bot) postError(ev Event, lang string, err error, usage Span) ([]Outgoing, error) {
	var pe *PostError
	var fe *core.FieldError
	switch {
	case errors.As(err, &pe) && pe.Reason == "unknown":
		return b.reply(ev, say(lang, msgPostUnknownField, code(pe.Field), usage)), nil
	case errors.As(err, &pe) && pe.Reason == "missing":
		return b.reply(ev, say(lang, msgPostMissing, code(fieldWord(lang, pe.Field)), usage)), nil
	case errors.As(err, &pe):
		return b.reply(ev, say(lang, msgPostBadField, code(pe.Field), plain(word(lang, fieldHint(pe.Reason))))), nil
	case errors.As(err, &fe) && fe.Reason == "missing":
		return b.reply(ev, say(lang, msgPostMissing, code(fieldWord(lang, fe.Field)), usage)), nil
	case errors.As(err, &fe):
		hint := msgHintText
		switch {
		case strings.Contains(fe.Reason, "bytes"):
			hint = msgHintShorter
		case fe.Reason == "already past":
			hint = msgHintFuture
		case fe.Field == "link":
			hint = msgHintLink
		case fe.Field == "end":
			hint = msgHintEnd
		case fe.Field == "timezone":
			hint = msgHintTimeZone
		case fe.Field == "capacity":
			hint = msgHintNumber
		}
		return b.reply(ev, say(lang, msgPostBadField, code(fieldWord(lang, fe.Field)), plain(word(lang, hint)))), nil
	}
	return nil, err
}

// fieldHint returns the wording that says what a field wants.
func fieldHint(reason string) msgKey {
	switch reason {
	case "date":
		return msgHintDate
	case "duration":
		return msgHintDuration
	case "number":
		return msgHintNumber
	case "timezone":
		return msgHintTimeZone
	}
	return msgHintText
}

// fieldWord names a core field in lang, as people type it in a post.
func fieldWord(lang, field string) string {
	fr := map[string]string{
		"title": "titre", "employer": "employeur", "location": "lieu", "category": "catégorie", "contract": "contrat",
		"remote": "télétravail", "description": "description", "link": "lien", "closes": "clôture",
		"organiser": "organisateur", "start": "début", "end": "fin", "place": "lieu", "capacity": "places",
		"timezone": "fuseau",
	}
	if lang == "fr" {
		if w, ok := fr[field]; ok {
			return w
		}
	}
	return field
}

// postOffer handles "!offre": with a number alone, shows that offer.
func (b *Bot) postOffer(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	usage := b.cmd(word(r.Lang, msgOfferExample))
	if r.Args == "" {
		out := b.reply(ev, say(r.Lang, msgOfferUsage, usage))
		out[0].Message.Actions = []Action{formAction("offer/"+r.Lang, word(r.Lang, msgFormButton))}
		return out, nil
	}
	if id, rest, ok := splitID(r.Args); ok && rest == "" {
		o, err := b.net.Store().Offer(ctx, core.OfferID(id))
		if errors.Is(err, core.ErrNotFound) {
			return b.reply(ev, say(r.Lang, msgItemNotFound, strong(r.Args))), nil
		}
		if err != nil {
			return nil, err
		}
		m := Message{Card: b.offerCard(r.Lang, o)}
		m.Actions = b.offerActions(r.Lang, o)
		return []Outgoing{{To: ReplyTo(ev), Message: m, Key: eventKey(ev, "reply")}}, nil
	}
	o, err := ParseOffer(r.Args, b.net.Location())
	if err != nil {
		return b.postError(ev, r.Lang, err, usage)
	}
	o, err = b.net.PostOffer(ctx, ev.Sender, ev.SenderName, roomOf(ev), o)
	if errors.Is(err, core.ErrPostingRestricted) {
		return b.postingRefused(ctx, ev, r.Lang)
	}
	if err != nil {
		return b.postError(ev, r.Lang, err, usage)
	}
	id := strconv.FormatInt(int64(o.ID), 10)
	m := say(r.Lang, msgOfferPosted, strong(id), b.cmd("offers"))
	m.Card = b.offerCard(r.Lang, o)
	m.Actions = b.offerActions(r.Lang, o)
	return []Outgoing{{To: ReplyTo(ev), Message: m, Key: eventKey(ev, "reply")}}, nil
}

// postEvent handles "!evenement": with a number alone, shows that event.
func (b *Bot) postEvent(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	usage := b.cmd(word(r.Lang, msgEventExample))
	if r.Args == "" {
		out := b.reply(ev, say(r.Lang, msgEventUsage, usage))
		out[0].Message.Actions = []Action{formAction("event/"+r.Lang, word(r.Lang, msgFormButton))}
		return out, nil
	}
	if id, rest, ok := splitID(r.Args); ok && rest == "" {
		e, err := b.net.Store().Event(ctx, core.EventID(id))
		if errors.Is(err, core.ErrNotFound) {
			return b.reply(ev, say(r.Lang, msgItemNotFound, strong(r.Args))), nil
		}
		if err != nil {
			return nil, err
		}
		rsvps, err := b.net.Store().RSVPs(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		m := Message{Card: b.eventCard(r.Lang, e, core.CountRSVPs(rsvps))}
		m.Actions = b.eventActions(r.Lang, e)
		return []Outgoing{{To: ReplyTo(ev), Message: m, Key: eventKey(ev, "reply")}}, nil
	}
	e, err := ParseEvent(r.Args, b.net.Location())
	if err != nil {
		return b.postError(ev, r.Lang, err, usage)
	}
	e, err = b.net.PostEvent(ctx, ev.Sender, ev.SenderName, roomOf(ev), e)
	if errors.Is(err, core.ErrPostingRestricted) {
		return b.postingRefused(ctx, ev, r.Lang)
	}
	if err != nil {
		return b.postError(ev, r.Lang, err, usage)
	}
	id := strconv.FormatInt(int64(e.ID), 10)
	m := say(r.Lang, msgEventPosted, strong(id), b.cmd("events"))
	m.Card = b.eventCard(r.Lang, e, core.RSVPCounts{})
	m.Actions = b.eventActions(r.Lang, e)
	return []Outgoing{{To: ReplyTo(ev), Message: m, Key: eventKey(ev, "reply")}}, nil
}

// listOffers handles "!offres [filtre]".
func (b *Bot) listOffers(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	filter, err := core.ParseFilter(r.Args)
	if err != nil {
		return b.reply(ev, say(r.Lang, msgFilterUsage, b.cmd("offers lieu:Lyon informatique"))), nil
	}
	offers, err := b.net.Offers(ctx, roomOf(ev), filter, listLimit)
	if err != nil {
		return nil, err
	}
	if len(offers) == 0 {
		return b.reply(ev, say(r.Lang, msgOffersNone, b.cmd(word(r.Lang, msgOfferExample)), b.cmd("subscribe offers "+filter.String()))), nil
	}
	m := say(r.Lang, msgOffersFound)
	for _, o := range offers {
		m.Break()
		m.Spans = append(m.Spans, b.offerLine(r.Lang, o).Spans...)
	}
	m.Break()
	m.Spans = append(m.Spans, say(r.Lang, msgListHint, b.cmd("offer 12"), b.cmd("save 12")).Spans...)
	return b.reply(ev, m), nil
}

// listEvents handles "!evenements [filtre]".
func (b *Bot) listEvents(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	filter, err := core.ParseFilter(r.Args)
	if err != nil {
		return b.reply(ev, say(r.Lang, msgFilterUsage, b.cmd("events lieu:Lyon formation"))), nil
	}
	events, err := b.net.Events(ctx, roomOf(ev), filter, listLimit)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return b.reply(ev, say(r.Lang, msgEventsNone, b.cmd(word(r.Lang, msgEventExample)))), nil
	}
	m := say(r.Lang, msgEventsFound)
	for _, e := range events {
		m.Break()
		m.Spans = append(m.Spans, b.eventLine(r.Lang, e).Spans...)
	}
	m.Break()
	m.Spans = append(m.Spans, say(r.Lang, msgListHint, b.cmd("event 12"), b.cmd("rsvp 12 oui")).Spans...)
	return b.reply(ev, m), nil
}

// rsvpWords maps what people answer to an event.
var rsvpWords = map[string]core.RSVPStatus{
	"": core.RSVPGoing, "oui": core.RSVPGoing, "yes": core.RSVPGoing, "si": core.RSVPGoing, "going": core.RSVPGoing,
	"je viens": core.RSVPGoing, "present": core.RSVPGoing, "go": core.RSVPGoing,
	"peut etre": core.RSVPMaybe, "peutetre": core.RSVPMaybe, "maybe": core.RSVPMaybe, "quizas": core.RSVPMaybe, "tal vez": core.RSVPMaybe,
	"non": core.RSVPNo, "no": core.RSVPNo, "absent": core.RSVPNo,
}

// rsvp handles "!rsvp 5 [oui|peut-être|non]".
func (b *Bot) rsvp(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	usage := b.cmd("rsvp 12 " + word(r.Lang, msgRSVPYes))
	id, rest, ok := splitID(r.Args)
	// "withdraw going": a reaction taken back (Action.Unreact).
	withdrawn, withdraw := strings.CutPrefix(core.Fold(rest), "withdraw ")
	if withdraw {
		rest = withdrawn
	}
	status, known := rsvpWords[core.Fold(rest)]
	if !ok || !known {
		return b.reply(ev, say(r.Lang, msgRSVPUsage, usage, b.cmd("events"))), nil
	}
	var res core.RSVPed
	var err error
	if withdraw {
		var changed bool
		res, changed, err = b.net.WithdrawRSVP(ctx, ev.Sender, ev.SenderName, core.EventID(id), status)
		if err == nil && !changed {
			return nil, nil // their answer had changed since: nothing to take back
		}
		status = core.RSVPNo
	} else {
		res, err = b.net.RSVP(ctx, ev.Sender, ev.SenderName, core.EventID(id), status)
	}
	var full *core.FullError
	switch {
	case errors.Is(err, core.ErrNotFound):
		return b.reply(ev, say(r.Lang, msgItemNotFound, strong(strconv.FormatInt(int64(id), 10)))), nil
	case errors.As(err, &full):
		return b.reply(ev, say(r.Lang, msgEventFull, strong(strconv.FormatInt(int64(id), 10)), plain(strconv.Itoa(full.Capacity)),
			b.cmd(fmt.Sprintf("rsvp %d %s", id, word(r.Lang, msgRSVPMaybe))))), nil
	case errors.Is(err, core.ErrConflict):
		return b.reply(ev, say(r.Lang, msgEventOver, strong(strconv.FormatInt(int64(id), 10)))), nil
	case err != nil:
		return nil, err
	}
	key := map[core.RSVPStatus]msgKey{core.RSVPGoing: msgRSVPGoing, core.RSVPMaybe: msgRSVPMaybeSaved, core.RSVPNo: msgRSVPNo}[status]
	c := res.Counts
	return b.reply(ev, say(r.Lang, key, strong(res.Event.Title), plain(strconv.Itoa(c.Going)), plain(strconv.Itoa(c.Maybe)))), nil
}

// save handles "!garder 3".
func (b *Bot) save(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	id, rest, ok := splitID(r.Args)
	if !ok || rest != "" {
		return b.reply(ev, say(r.Lang, msgSaveUsage, b.cmd("save 12"), b.cmd("offers"))), nil
	}
	o, err := b.net.SaveOffer(ctx, ev.Sender, ev.SenderName, core.OfferID(id))
	sid := strconv.FormatInt(int64(id), 10)
	switch {
	case errors.Is(err, core.ErrNotFound):
		return b.reply(ev, say(r.Lang, msgItemNotFound, strong(sid))), nil
	case errors.Is(err, core.ErrConflict):
		return b.reply(ev, say(r.Lang, msgOfferClosed, strong(sid))), nil
	case err != nil:
		return nil, err
	}
	if o.Closes.IsZero() {
		return b.reply(ev, say(r.Lang, msgSavedNoDate, strong(o.Title))), nil
	}
	return b.reply(ev, say(r.Lang, msgSaved, strong(o.Title), plain(b.formatDay(r.Lang, o.Closes.Add(-time.Second), b.net.Location())))), nil
}

// kindWords and frequencyWords map the words of "!abonner".
var kindWords = map[string]core.ItemKind{
	"offres": core.KindOffer, "offre": core.KindOffer, "offers": core.KindOffer, "offer": core.KindOffer, "jobs": core.KindOffer,
	"job": core.KindOffer, "emplois": core.KindOffer, "emploi": core.KindOffer, "ofertas": core.KindOffer, "postes": core.KindOffer,
	"evenements": core.KindEvent, "evenement": core.KindEvent, "events": core.KindEvent, "event": core.KindEvent,
	"eventos": core.KindEvent, "agenda": core.KindEvent,
	"tout": "", "all": "", "todo": "",
}

// digestWords name the community digest in "!annonces".
var digestWords = map[string]bool{"digest": true, "digests": true, "lettre": true, "lettres": true, "synthese": true, "resume": true, "boletin": true}

var frequencyWords = map[string]core.Frequency{
	"immediat": core.Immediately, "immediatement": core.Immediately, "immediate": core.Immediately, "now": core.Immediately,
	"instant": core.Immediately, "direct": core.Immediately,
	"quotidien": core.Daily, "jour": core.Daily, "daily": core.Daily, "diario": core.Daily, "chaque jour": core.Daily,
	"hebdo": core.Weekly, "hebdomadaire": core.Weekly, "semaine": core.Weekly, "weekly": core.Weekly, "semanal": core.Weekly,
}

// subscribe handles "!abonner [offres|evenements] [immediat|quotidien|hebdo] [filtre]".
func (b *Bot) subscribe(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	usage := b.cmd("subscribe offers weekly lieu:Lyon informatique")
	kind, freq := core.ItemKind(""), core.Daily
	rest := r.Args
	for range 2 {
		first, after, _ := strings.Cut(rest, " ")
		if k, ok := kindWords[core.Fold(first)]; ok && first != "" {
			kind, rest = k, strings.TrimSpace(after)
		} else if f, ok := frequencyWords[core.Fold(first)]; ok && first != "" {
			freq, rest = f, strings.TrimSpace(after)
		}
	}
	filter, err := core.ParseFilter(rest)
	if err != nil {
		return b.reply(ev, say(r.Lang, msgFilterUsage, usage)), nil
	}
	sub, err := b.net.Subscribe(ctx, ev.Sender, ev.SenderName, kind, filter, freq)
	switch {
	case errors.Is(err, core.ErrConflict) && strings.Contains(err.Error(), "already"):
		return b.reply(ev, say(r.Lang, msgAlreadySubscribed, b.cmd("subscriptions"))), nil
	case errors.Is(err, core.ErrConflict):
		return b.reply(ev, say(r.Lang, msgTooManySubscriptions, plain(strconv.Itoa(core.MaxSubscriptions)), b.cmd("unsubscribe 12"))), nil
	case err != nil:
		return nil, err
	}
	return b.reply(ev, say(r.Lang, msgSubscribed, strong(b.subscriptionText(r.Lang, sub)),
		b.cmd(fmt.Sprintf("unsubscribe %d", sub.ID)))), nil
}

// subscriptionText describes a subscription in lang.
func (b *Bot) subscriptionText(lang string, s core.Subscription) string {
	what := word(lang, msgKindAll)
	switch s.Kind {
	case core.KindOffer:
		what = word(lang, msgKindOffers)
	case core.KindEvent:
		what = word(lang, msgKindEvents)
	}
	if f := filterText(lang, s.Filter); f != "" {
		what += " « " + f + " »"
	}
	freq := map[core.Frequency]msgKey{core.Immediately: msgFreqNow, core.Daily: msgFreqDaily, core.Weekly: msgFreqWeekly}[s.Frequency]
	return what + ", " + word(lang, freq)
}

// filterText writes a filter with the field names of lang ("lieu:" in
// French), as people type them.
func filterText(lang string, f core.Filter) string {
	if lang != "fr" {
		return f.String()
	}
	names := map[core.FilterField]string{core.FieldPlace: "lieu", core.FieldOrg: "org", core.FieldCategory: "cat", core.FieldContract: "contrat"}
	var parts []string
	for _, c := range f.Conditions {
		one := core.Filter{Conditions: []core.Condition{{Text: c.Text}}}.String()
		if c.Field != core.FieldAny {
			one = names[c.Field] + ":" + one
		}
		parts = append(parts, one)
	}
	return strings.Join(parts, " ")
}

// unsubscribe handles "!desabonner 3" and "!desabonner tout".
func (b *Bot) unsubscribe(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	var id core.SubscriptionID
	if k, ok := kindWords[core.Fold(r.Args)]; !ok || k != "" {
		n, rest, ok := splitID(r.Args)
		if !ok || rest != "" {
			return b.reply(ev, say(r.Lang, msgUnsubscribeUsage, b.cmd("unsubscribe 12"), b.cmd("unsubscribe all"), b.cmd("subscriptions"))), nil
		}
		id = core.SubscriptionID(n)
	}
	n, err := b.net.Unsubscribe(ctx, ev.Sender, id)
	if errors.Is(err, core.ErrNotFound) {
		return b.reply(ev, say(r.Lang, msgSubscriptionNotFound, strong(r.Args), b.cmd("subscriptions"))), nil
	}
	if err != nil {
		return nil, err
	}
	return b.reply(ev, say(r.Lang, msgUnsubscribed, plain(strconv.Itoa(n)))), nil
}

// subscriptions handles "!abonnements".
func (b *Bot) subscriptions(ctx context.Context, r *Request) ([]Outgoing, error) {
	subs, err := b.net.Subscriptions(ctx, r.Event.Sender)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return b.reply(r.Event, say(r.Lang, msgNoSubscription, b.cmd("subscribe offers weekly lieu:Lyon"))), nil
	}
	m := say(r.Lang, msgSubscriptionList)
	for _, s := range subs {
		m.Break()
		m.Strong(strconv.FormatInt(int64(s.ID), 10)).Text(" : ").Text(b.subscriptionText(r.Lang, s))
	}
	m.Break()
	m.Spans = append(m.Spans, say(r.Lang, msgUnsubscribeUsage, b.cmd("unsubscribe 12"), b.cmd("unsubscribe all"), b.cmd("subscriptions")).Spans...)
	return b.reply(r.Event, m), nil
}

// announce handles "!annonces offres evenements" and "!annonces off" in a
// room.
func (b *Bot) announce(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	usage := b.cmd("announce offers events")
	if ev.DM {
		return b.reply(ev, say(r.Lang, msgAnnounceInRoom, usage)), nil
	}
	var kinds []core.ItemKind
	switch f := core.Fold(r.Args); f {
	case "off", "non", "no", "aucune", "stop":
	case "", "on", "oui", "yes", "tout", "all":
		kinds = []core.ItemKind{core.KindOffer, core.KindEvent, core.KindDigest}
	default:
		for _, w := range strings.Fields(f) {
			k, ok := kindWords[w]
			if digestWords[w] {
				k, ok = core.KindDigest, true
			}
			if !ok {
				return b.reply(ev, say(r.Lang, msgAnnounceUsage, usage, b.cmd("announce off"))), nil
			}
			if k == "" {
				kinds = []core.ItemKind{core.KindOffer, core.KindEvent, core.KindDigest}
				break
			}
			if !containsKind(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	if err := b.net.SetAnnounceBy(ctx, ev.Sender, roomOf(ev), kinds); errors.Is(err, core.ErrForbidden) {
		return b.reply(ev, say(r.Lang, msgAnimatorsOnly, b.cmd("role"))), nil
	} else if err != nil {
		return nil, err
	}
	if len(kinds) == 0 {
		return b.reply(ev, say(r.Lang, msgAnnounceOff, usage)), nil
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = word(r.Lang, map[core.ItemKind]msgKey{core.KindOffer: msgKindOffers, core.KindEvent: msgKindEvents, core.KindDigest: msgKindDigest}[k])
	}
	return b.reply(ev, say(r.Lang, msgAnnounceOn, strong(strings.Join(names, ", ")), b.cmd("announce off"))), nil
}

// posting handles "!publication [tous|animateurs]": who may post offers
// and events in the room's community. Anyone may ask; only its animators
// and administrators change it.
func (b *Bot) posting(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	anyone, animators := b.cmd("posting "+word(r.Lang, msgPostingWordAnyone)), b.cmd("posting "+word(r.Lang, msgPostingWordAnimators))
	var p core.Posting
	switch core.Fold(r.Args) {
	case "":
		community, err := b.net.CommunityOf(ctx, roomOf(ev))
		if err != nil {
			return nil, err
		}
		if p, err = b.net.Store().PostingOf(ctx, community); err != nil {
			return nil, err
		}
	case "tous", "tout le monde", "anyone", "everyone", "all", "todos", "open", "ouvert":
		p = core.PostingAnyone
	case "animateurs", "animateur", "animators", "animator", "animadores", "reserve", "restricted":
		p = core.PostingAnimators
	default:
		return b.reply(ev, say(r.Lang, msgPostingUsage, anyone, animators)), nil
	}
	if r.Args != "" {
		if _, err := b.net.SetPostingBy(ctx, ev.Sender, roomOf(ev), p); errors.Is(err, core.ErrForbidden) {
			return b.reply(ev, say(r.Lang, msgAnimatorsOnly, b.cmd("role"))), nil
		} else if err != nil {
			return nil, err
		}
	}
	if p == core.PostingAnimators {
		return b.reply(ev, say(r.Lang, msgPostingAnimators, anyone)), nil
	}
	return b.reply(ev, say(r.Lang, msgPostingAnyone, animators)), nil
}

// postingRefused tells someone who may not post in a community that keeps
// posting to its animators whom to send their item to.
func (b *Bot) postingRefused(ctx context.Context, ev Event, lang string) ([]Outgoing, error) {
	community, err := b.net.CommunityOf(ctx, roomOf(ev))
	if err != nil {
		return nil, err
	}
	people, err := b.net.Animators(ctx, community)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(people))
	for i, p := range people {
		names[i] = p.Name()
	}
	return b.reply(ev, say(lang, msgPostingRefused, strong(strings.Join(names, ", ")))), nil
}

func containsKind(kinds []core.ItemKind, k core.ItemKind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// langOfPerson is the language to write to p in.
func (b *Bot) langOfPerson(p core.Person) string {
	if supported(p.Lang) {
		return p.Lang
	}
	return b.cfg.Lang
}

// itemCard renders an item's card and buttons.
func (b *Bot) itemMessage(ctx context.Context, lang string, it core.Item, intro Message) (Message, error) {
	m := intro
	switch it.Kind {
	case core.KindOffer:
		m.Card = b.offerCard(lang, it.Offer)
		m.Actions = b.offerActions(lang, it.Offer)
	case core.KindEvent:
		rsvps, err := b.net.Store().RSVPs(ctx, it.Event.ID)
		if err != nil {
			return Message{}, err
		}
		m.Card = b.eventCard(lang, it.Event, core.CountRSVPs(rsvps))
		m.Actions = b.eventActions(lang, it.Event)
	}
	return m, nil
}

// handleBulletinJob runs the bulletin's jobs; handled is false for other
// kinds.
func (b *Bot) handleBulletinJob(ctx context.Context, j core.Job) (out []Outgoing, handled bool, err error) {
	switch j.Kind {
	case core.JobAnnounce:
		a, err := b.net.Announce(ctx, j)
		if err != nil || a.Item.Kind == "" {
			return nil, true, err
		}
		introKey := msgNewOffer
		if a.Item.Kind == core.KindEvent {
			introKey = msgNewEvent
		}
		for _, room := range a.Rooms {
			m, err := b.itemMessage(ctx, b.cfg.Lang, a.Item, say(b.cfg.Lang, introKey))
			if err != nil {
				return nil, true, err
			}
			out = append(out, Outgoing{
				To:      Destination{Platform: room.Platform, Room: room.ID},
				Message: m,
				Key:     "job:" + j.Key + "/room/" + string(room.Platform) + "/" + room.ID,
			})
		}
		for _, p := range a.Subscribers {
			lang := b.langOfPerson(p)
			m, err := b.itemMessage(ctx, lang, a.Item, say(lang, msgSubscriptionMatch, b.cmd("subscriptions")))
			if err != nil {
				return nil, true, err
			}
			out = append(out, Outgoing{To: DirectTo(p.Identity), Message: m, Key: fmt.Sprintf("job:%s/p%d", j.Key, p.ID)})
		}
		return out, true, nil
	case core.JobItemReminder:
		rem, err := b.net.RemindItem(ctx, j)
		if err != nil || rem.Item.Kind == "" {
			return nil, true, err
		}
		for _, p := range rem.People {
			lang := b.langOfPerson(p)
			var intro Message
			if rem.Item.Kind == core.KindOffer {
				intro = say(lang, msgOfferClosing, strong(rem.Item.Offer.Title),
					plain(b.formatDay(lang, rem.Item.Offer.Closes.Add(-time.Second), b.net.Location())))
			} else {
				e := rem.Item.Event
				intro = say(lang, msgEventStarting, strong(e.Title), plain(b.formatWhen(lang, e)))
			}
			m, err := b.itemMessage(ctx, lang, rem.Item, intro)
			if err != nil {
				return nil, true, err
			}
			out = append(out, Outgoing{To: DirectTo(p.Identity), Message: m, Key: fmt.Sprintf("job:%s/p%d", j.Key, p.ID)})
		}
		return out, true, nil
	case core.JobDigest:
		freq, digests, err := b.net.Digests(ctx, j)
		if err != nil {
			return nil, true, err
		}
		for _, d := range digests {
			lang := b.langOfPerson(d.Person)
			key := msgDigestDaily
			if freq == core.Weekly {
				key = msgDigestWeekly
			}
			m := say(lang, key)
			for i, it := range d.Items {
				if i == core.MaxDigestItems {
					m.Break()
					m.Spans = append(m.Spans, say(lang, msgDigestMore, plain(strconv.Itoa(len(d.Items)-i)), b.cmd("offers"), b.cmd("events")).Spans...)
					break
				}
				m.Break()
				if it.Kind == core.KindOffer {
					m.Spans = append(m.Spans, b.offerLine(lang, it.Offer).Spans...)
				} else {
					m.Spans = append(m.Spans, b.eventLine(lang, it.Event).Spans...)
				}
			}
			m.Break()
			m.Spans = append(m.Spans, say(lang, msgDigestFooter, b.cmd("offer 12"), b.cmd("subscriptions")).Spans...)
			out = append(out, Outgoing{To: DirectTo(d.Person.Identity), Message: m, Key: fmt.Sprintf("job:%s/p%d", j.Key, d.Person.ID)})
		}
		return out, true, nil
	}
	return nil, false, nil
}

// offerLine is one line of a list of offers.
func (b *Bot) offerLine(lang string, o core.Offer) Message {
	var m Message
	m.Strong(word(lang, msgOfferWord) + " " + strconv.FormatInt(int64(o.ID), 10)).Text(" · ").Cite(o.Title)
	var details []string
	for _, s := range []string{o.Employer, o.Location, o.Contract} {
		if s != "" {
			details = append(details, s)
		}
	}
	if len(details) > 0 {
		m.Text(" · ").Cite(strings.Join(details, ", "))
	}
	if !o.Closes.IsZero() {
		m.Text(" · " + word(lang, msgClosesLabel) + " " + b.formatDay(lang, o.Closes.Add(-time.Second), b.net.Location()))
	}
	return m
}

// eventLine is one line of a list of events.
func (b *Bot) eventLine(lang string, e core.Event) Message {
	var m Message
	m.Strong(word(lang, msgEventWord) + " " + strconv.FormatInt(int64(e.ID), 10)).Text(" · ").Cite(e.Title)
	m.Text(" · " + b.formatWhen(lang, e))
	if e.Place != "" {
		m.Text(" · ").Cite(e.Place)
	}
	return m
}

// offerCard is the card of a job offer.
func (b *Bot) offerCard(lang string, o core.Offer) *Card {
	c := &Card{Title: o.Title, URL: o.Link, Body: excerpt(o.Description, 1500)}
	add := func(key msgKey, v string) {
		if v != "" {
			c.Fields = append(c.Fields, CardField{Label: word(lang, key), Value: v})
		}
	}
	add(msgEmployerLabel, o.Employer)
	add(msgLocationLabel, o.Location)
	add(msgCategoryLabel, o.Category)
	add(msgContractLabel, o.Contract)
	if o.Remote != core.RemoteUnknown {
		add(msgRemoteLabel, word(lang, map[core.Remote]msgKey{core.RemoteNone: msgRemoteNone, core.RemotePartial: msgRemotePartial, core.RemoteFull: msgRemoteFull}[o.Remote]))
	}
	if !o.Closes.IsZero() {
		add(msgClosesLabel, b.formatDay(lang, o.Closes.Add(-time.Second), b.net.Location()))
	}
	id := strconv.FormatInt(int64(o.ID), 10)
	c.Footer = word(lang, msgOfferWord) + " " + id + " · " + b.cfg.Prefix + "save " + id
	return c
}

func (b *Bot) offerActions(lang string, o core.Offer) []Action {
	id := strconv.FormatInt(int64(o.ID), 10)
	return []Action{{Kind: ActionCommand, ID: "save:" + id, Label: word(lang, msgSaveButton), Command: "save " + id, Reaction: ReactSave}}
}

// eventCard is the card of an event.
func (b *Bot) eventCard(lang string, e core.Event, counts core.RSVPCounts) *Card {
	c := &Card{Title: e.Title, URL: e.Link, Body: excerpt(e.Description, 1500)}
	add := func(key msgKey, v string) {
		if v != "" {
			c.Fields = append(c.Fields, CardField{Label: word(lang, key), Value: v})
		}
	}
	add(msgWhenLabel, b.formatWhen(lang, e))
	add(msgPlaceLabel, e.Place)
	add(msgOrganiserLabel, e.Organiser)
	seats := strconv.Itoa(counts.Going)
	if e.Capacity > 0 {
		seats += " / " + strconv.Itoa(e.Capacity)
	}
	add(msgGoingLabel, seats+" · "+word(lang, msgMaybeLabel)+" "+strconv.Itoa(counts.Maybe))
	id := strconv.FormatInt(int64(e.ID), 10)
	c.Footer = word(lang, msgEventWord) + " " + id + " · " + b.cfg.Prefix + "rsvp " + id + " " + word(lang, msgRSVPYes)
	if b.cfg.PublicURL != "" {
		c.Footer += " · " + strings.TrimRight(b.cfg.PublicURL, "/") + "/events/" + id + ".ics"
	}
	return c
}

func (b *Bot) eventActions(lang string, e core.Event) []Action {
	id := strconv.FormatInt(int64(e.ID), 10)
	return []Action{
		{Kind: ActionCommand, ID: "going:" + id, Label: word(lang, msgGoingButton), Command: "rsvp " + id + " going", Reaction: ReactGoing, Unreact: "rsvp " + id + " withdraw going"},
		{Kind: ActionCommand, ID: "maybe:" + id, Label: word(lang, msgMaybeButton), Command: "rsvp " + id + " maybe", Reaction: ReactMaybe, Unreact: "rsvp " + id + " withdraw maybe"},
	}
}

var (
	frDays   = []string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	frMonths = []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
)

// formatDay writes the day of t in loc: "jeudi 3 décembre 2026".
func (b *Bot) formatDay(lang string, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if lang == "fr" {
		return fmt.Sprintf("%s %d %s %d", frDays[t.Weekday()], t.Day(), frMonths[t.Month()-1], t.Year())
	}
	return t.Format("Monday 2 January 2006")
}

// formatWhen writes when an event happens, in its time zone: "jeudi 3
// décembre 2026, 14:00–16:00 (Europe/Paris)".
func (b *Bot) formatWhen(lang string, e core.Event) string {
	loc := e.Location()
	s, end := e.Start.In(loc), e.End.In(loc)
	allDay := s.Hour() == 0 && s.Minute() == 0 && end.Hour() == 0 && end.Minute() == 0
	if allDay {
		last := end.AddDate(0, 0, -1)
		if last.YearDay() == s.YearDay() && last.Year() == s.Year() {
			return b.formatDay(lang, s, loc)
		}
		return b.formatDay(lang, s, loc) + " – " + b.formatDay(lang, last, loc)
	}
	out := b.formatDay(lang, s, loc) + ", " + s.Format("15:04") + "–"
	if end.YearDay() != s.YearDay() || end.Year() != s.Year() {
		out += b.formatDay(lang, end, loc) + ", "
	}
	out += end.Format("15:04")
	if e.TimeZone != "" && e.TimeZone != "UTC" || loc != b.net.Location() {
		out += " (" + e.TimeZone + ")"
	}
	return out
}
