package bots

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"entraide/core"
)

// The animators' commands: roles, the community digest, the figures, the
// login link to the web page.

// roleWords maps the words of "!role".
var roleWords = map[string]core.Role{
	"animateur": core.RoleAnimator, "animatrice": core.RoleAnimator, "animator": core.RoleAnimator, "animador": core.RoleAnimator,
	"admin": core.RoleAdmin, "administrateur": core.RoleAdmin, "administratrice": core.RoleAdmin, "administrator": core.RoleAdmin,
}

// ParseUserRef reads a person named in a command, as platforms write
// mentions: "<@U123>" or "<@U123|name>" (Slack), "<@123>" or "<@!123>"
// (Discord), "@alice:tchap.gouv.fr" (Matrix), "@alice" or "alice" (console).
func ParseUserRef(platform core.Platform, s string) (core.Identity, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<@") && strings.HasSuffix(s, ">") {
		s = strings.TrimPrefix(strings.TrimSuffix(s[2:], ">"), "!")
		s, _, _ = strings.Cut(s, "|")
	} else if !strings.Contains(s, ":") || platform != "matrix" {
		s = strings.TrimPrefix(s, "@")
	}
	if s == "" || len(s) > 255 || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' || r == '|'
	}) {
		return core.Identity{}, false
	}
	return core.Identity{Platform: platform, User: s}, true
}

// role handles "!role", "!role animateur @bob" and "!role retirer animateur @bob".
func (b *Bot) role(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	community, err := b.net.CommunityOf(ctx, roomOf(ev))
	if err != nil {
		return nil, err
	}
	usage := b.cmd("role animator @bob")
	fields := strings.Fields(r.Args)
	if len(fields) == 0 {
		roles, err := b.net.RolesOf(ctx, ev.Sender, community)
		if err != nil {
			return nil, err
		}
		if len(roles) == 0 {
			return b.reply(ev, say(r.Lang, msgNoRole)), nil
		}
		names := make([]string, len(roles))
		for i, role := range roles {
			names[i] = roleName(r.Lang, role)
		}
		return b.reply(ev, say(r.Lang, msgYourRoles, strong(strings.Join(names, ", ")))), nil
	}
	grant := true
	switch core.Fold(fields[0]) {
	case "retirer", "remove", "enlever", "quitar", "off", "-":
		grant, fields = false, fields[1:]
	case "ajouter", "add", "donner", "give", "anadir", "+":
		fields = fields[1:]
	}
	if len(fields) != 2 {
		return b.reply(ev, say(r.Lang, msgRoleUsage, usage, b.cmd("role remove animator @bob"))), nil
	}
	role, ok := roleWords[core.Fold(fields[0])]
	target, okTarget := ParseUserRef(ev.Platform, fields[1])
	if !ok || !okTarget {
		return b.reply(ev, say(r.Lang, msgRoleUsage, usage, b.cmd("role remove animator @bob"))), nil
	}
	p, err := b.net.Grant(ctx, ev.Sender, community, target, role, grant)
	if errors.Is(err, core.ErrForbidden) {
		return b.reply(ev, say(r.Lang, msgAdminsOnly)), nil
	}
	if err != nil {
		return nil, err
	}
	key := msgRoleGiven
	if !grant {
		key = msgRoleTaken
	}
	return b.reply(ev, say(r.Lang, key, strong(roleName(r.Lang, role)), strong(p.Name()))), nil
}

func roleName(lang string, role core.Role) string {
	if role == core.RoleAdmin {
		return word(lang, msgRoleAdmin)
	}
	return word(lang, msgRoleAnimator)
}

// digest handles "!digest" and its verbs: intro, retirer, remettre,
// publier, préparer.
func (b *Bot) digest(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	community, err := b.net.CommunityOf(ctx, roomOf(ev))
	if err != nil {
		return nil, err
	}
	if ok, err := b.net.CanAnimate(ctx, ev.Sender, community); err != nil {
		return nil, err
	} else if !ok {
		return b.reply(ev, say(r.Lang, msgAnimatorsOnly, b.cmd("role"))), nil
	}
	verb, rest, _ := strings.Cut(r.Args, " ")
	rest = strings.TrimSpace(rest)
	usage := say(r.Lang, msgDigestUsage, b.cmd("digest"), b.cmd("digest intro "+word(r.Lang, msgIntroExample)),
		b.cmd("digest remove 2"), b.cmd("digest restore 2"), b.cmd("digest publish"), b.cmd("digest prepare"))
	if core.Fold(verb) == "preparer" || core.Fold(verb) == "prepare" || core.Fold(verb) == "draft" {
		d, err := b.net.DraftNow(ctx, ev.Sender, community)
		if err != nil && !errors.Is(err, core.ErrConflict) {
			return nil, err
		}
		return b.digestPreview(ev, r.Lang, d), nil
	}
	d, err := b.net.LatestDigest(ctx, ev.Sender, community)
	if errors.Is(err, core.ErrNotFound) {
		return b.reply(ev, say(r.Lang, msgNoDigest, b.cmd("digest prepare"))), nil
	}
	if err != nil {
		return nil, err
	}
	var edit core.DigestEdit
	switch core.Fold(verb) {
	case "":
		return b.digestPreview(ev, r.Lang, d), nil
	case "intro", "mot", "edito":
		edit.Intro = &rest
	case "retirer", "remove", "enlever", "quitar":
		n, err := strconv.Atoi(rest)
		if err != nil {
			return b.reply(ev, usage), nil
		}
		edit.Remove = []int{n}
	case "remettre", "restore", "restaurar":
		n, err := strconv.Atoi(rest)
		if err != nil {
			return b.reply(ev, usage), nil
		}
		edit.Restore = []int{n}
	case "publier", "publish", "publicar":
		if _, err := b.net.PublishDigestNow(ctx, ev.Sender, d.ID); errors.Is(err, core.ErrConflict) {
			return b.reply(ev, say(r.Lang, msgDigestAlreadyPublished, b.cmd("digest prepare"))), nil
		} else if err != nil {
			return nil, err
		}
		return b.reply(ev, say(r.Lang, msgDigestPublishing)), nil
	default:
		return b.reply(ev, usage), nil
	}
	d, err = b.net.EditDigest(ctx, ev.Sender, d.ID, edit)
	switch {
	case errors.Is(err, core.ErrConflict):
		return b.reply(ev, say(r.Lang, msgDigestAlreadyPublished, b.cmd("digest prepare"))), nil
	case errors.Is(err, core.ErrInvalid):
		return b.reply(ev, usage), nil
	case err != nil:
		return nil, err
	}
	return b.digestPreview(ev, r.Lang, d), nil
}

// digestPreview shows a draft to an animator, numbered, with what to do.
func (b *Bot) digestPreview(ev Event, lang string, d core.CommunityDigest) []Outgoing {
	m := b.draftMessage(lang, d)
	return []Outgoing{{To: ReplyTo(ev), Message: m, Key: eventKey(ev, "reply")}}
}

// draftMessage is a draft as animators see it: numbered items, removed
// ones marked, and buttons to publish or change the intro.
func (b *Bot) draftMessage(lang string, d core.CommunityDigest) Message {
	id := strconv.FormatInt(int64(d.ID), 10)
	var m Message
	if d.State == core.DigestPublished {
		m = say(lang, msgDraftPublished, strong(id))
	} else {
		m = say(lang, msgDraftHeader, strong(id), plain(b.formatDay(lang, d.PeriodEnd, b.net.Location())))
	}
	m.Break()
	if d.Intro != "" {
		m.Quote(d.Intro)
	} else {
		m.Text(word(lang, msgDraftNoIntro))
	}
	for i, it := range d.Items {
		m.Break()
		m.Code(strconv.Itoa(i + 1)).Text(" " + sectionName(lang, it.Section) + " · ").Cite(it.Title)
		if it.Removed {
			m.Text(" " + word(lang, msgDraftRemoved))
		}
	}
	if len(d.Items) == 0 {
		m.Break()
		m.Text(word(lang, msgDraftEmpty))
	}
	if d.State == core.DigestDraft {
		m.Break()
		m.Spans = append(m.Spans, say(lang, msgDraftHelp, b.cmd("digest intro "+word(lang, msgIntroExample)), b.cmd("digest remove 2"),
			b.cmd("digest publish"), plain(b.formatDay(lang, d.PeriodEnd, b.net.Location())+" "+d.PeriodEnd.In(b.net.Location()).Format("15:04"))).Spans...)
		m.Actions = []Action{
			{Kind: ActionCommand, ID: "digest-publish:" + id, Label: word(lang, msgPublishButton), Command: "digest publish"},
			{Kind: ActionForm, ID: "digest-intro:" + id, Label: word(lang, msgIntroButton), Command: "digest intro",
				FormTitle: word(lang, msgIntroButton), FormLabel: word(lang, msgIntroLabel)},
		}
	}
	return m
}

func sectionName(lang string, s core.DigestSection) string {
	return word(lang, map[core.DigestSection]msgKey{
		core.SectionResolved: msgSectionResolved, core.SectionWaiting: msgSectionWaiting, core.SectionExperts: msgSectionExperts,
		core.SectionOffers: msgSectionOffers, core.SectionEvents: msgSectionEvents,
	}[s])
}

// DigestMessage renders a published digest as rooms see it: the intro, then
// each section with its items, then how to take part.
func DigestMessage(lang, prefix string, loc *time.Location, d core.CommunityDigest) Message {
	b := &Bot{cfg: Config{Prefix: prefix, Lang: lang}}
	return b.digestMessage(lang, loc, d)
}

func (b *Bot) digestMessage(lang string, loc *time.Location, d core.CommunityDigest) Message {
	m := say(lang, msgDigestTitle, plain(formatDayIn(lang, d.PeriodStart, loc)), plain(formatDayIn(lang, d.PeriodEnd, loc)))
	if d.Intro != "" {
		m.Break()
		m.Quote(d.Intro)
	}
	kept := d.Kept()
	for _, section := range core.DigestSections {
		first := true
		for _, it := range kept {
			if it.Section != section {
				continue
			}
			if first {
				m.Break()
				m.Strong(sectionName(lang, section))
				first = false
			}
			m.Break()
			m.Text("• ").Cite(it.Title)
			switch section {
			case core.SectionResolved:
				if it.Detail != "" {
					m.Text(" → ").Cite(it.Detail)
				}
			case core.SectionWaiting:
				m.Text(" · ").Code(b.cfg.Prefix + "answer " + strconv.FormatInt(it.Ref, 10) + " …")
			case core.SectionExperts:
				if it.Detail != "" {
					m.Text(" · ").Cite(it.Detail)
				}
			case core.SectionOffers:
				if it.Detail != "" {
					m.Text(" · ").Cite(it.Detail)
				}
				m.Text(" · ").Code(b.cfg.Prefix + "offer " + strconv.FormatInt(it.Ref, 10))
			case core.SectionEvents:
				if t, err := time.Parse(time.RFC3339, it.Detail); err == nil {
					m.Text(" · " + formatDayIn(lang, t, loc) + " " + t.In(loc).Format("15:04"))
				}
				m.Text(" · ").Code(b.cfg.Prefix + "event " + strconv.FormatInt(it.Ref, 10))
			}
		}
	}
	if len(kept) == 0 {
		m.Break()
		m.Text(word(lang, msgDigestQuiet))
	}
	m.Break()
	m.Spans = append(m.Spans, say(lang, msgDigestJoin, code(b.cfg.Prefix+"ask "+word(lang, msgYourQuestion)),
		code(b.cfg.Prefix+"expert "+word(lang, msgTopicExample))).Spans...)
	return m
}

func formatDayIn(lang string, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if lang == "fr" {
		return fmt.Sprintf("%d %s %d", t.Day(), frMonths[t.Month()-1], t.Year())
	}
	return t.Format("2 January 2006")
}

// stats handles "!stats": the figures of the last 30 days.
func (b *Bot) stats(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	community, err := b.net.CommunityOf(ctx, roomOf(ev))
	if err != nil {
		return nil, err
	}
	now := b.net.Clock().Now()
	s, err := b.net.Stats(ctx, ev.Sender, community, now.AddDate(0, 0, -30), now)
	if errors.Is(err, core.ErrForbidden) {
		return b.reply(ev, say(r.Lang, msgAnimatorsOnly, b.cmd("role"))), nil
	}
	if err != nil {
		return nil, err
	}
	pct := "–"
	if s.Questions > 0 {
		pct = strconv.Itoa(int(s.AnswerRate*100+0.5)) + " %"
	}
	m := say(r.Lang, msgStats,
		plain(strconv.Itoa(s.Questions)), plain(strconv.Itoa(s.Askers)), plain(strconv.Itoa(s.Answerers)), plain(strconv.Itoa(s.Experts)),
		strong(pct), plain(humanDuration(r.Lang, s.FirstAnswerMedian)), plain(humanDuration(r.Lang, s.FirstAnswerP90)),
		plain(strconv.Itoa(s.Escalated)), plain(strconv.Itoa(s.Expired)))
	if len(s.Unmatched) > 0 {
		m.Break()
		m.Text(word(r.Lang, msgStatsUnmatched) + " ")
		for i, t := range s.Unmatched[:min(5, len(s.Unmatched))] {
			if i > 0 {
				m.Text(", ")
			}
			m.Cite(t.Topic).Text(" (" + strconv.Itoa(t.Questions) + ")")
			if len(t.Suggested) > 0 {
				m.Text(" → ").Text(t.Suggested[0].Name())
			}
		}
	}
	if len(s.OverBudget) > 0 {
		names := make([]string, len(s.OverBudget))
		for i, p := range s.OverBudget {
			names[i] = p.Name()
		}
		m.Break()
		m.Text(word(r.Lang, msgStatsOverBudget) + " " + strings.Join(names, ", "))
	}
	if len(s.Helpful) > 0 {
		m.Break()
		m.Text(word(r.Lang, msgStatsHelpful) + " ")
		for i, h := range s.Helpful {
			if i > 0 {
				m.Text(", ")
			}
			m.Text(h.Person.Name() + " (" + strconv.Itoa(h.Count) + ")")
		}
	}
	if b.cfg.PublicURL != "" {
		m.Break()
		m.Spans = append(m.Spans, say(r.Lang, msgStatsWeb, b.cmd("web")).Spans...)
	}
	return b.reply(ev, m), nil
}

// humanDuration writes a delay as people read it: "3 h 20", "2 j", "–".
func humanDuration(lang string, d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Minute:
		return "< 1 min"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes()+0.5)) + " min"
	case d < 48*time.Hour:
		h := int(d.Hours())
		if m := int(d.Minutes()) % 60; m != 0 {
			return fmt.Sprintf("%d h %02d", h, m)
		}
		return strconv.Itoa(h) + " h"
	}
	unit := " j"
	if lang != "fr" {
		unit = " d"
	}
	return strconv.Itoa(int(d.Hours()/24+0.5)) + unit
}

// web handles "!web": a one-time link to the animators' page, by DM.
func (b *Bot) web(ctx context.Context, r *Request) ([]Outgoing, error) {
	ev := r.Event
	if b.cfg.PublicURL == "" {
		return b.reply(ev, say(r.Lang, msgWebOff)), nil
	}
	community, err := b.net.CommunityOf(ctx, roomOf(ev))
	if err != nil {
		return nil, err
	}
	token, expires, err := b.net.NewLoginToken(ctx, ev.Sender, ev.SenderName, community)
	if errors.Is(err, core.ErrForbidden) {
		return b.reply(ev, say(r.Lang, msgAnimatorsOnly, b.cmd("role"))), nil
	}
	if err != nil {
		return nil, err
	}
	link := strings.TrimRight(b.cfg.PublicURL, "/") + "/login?token=" + token
	minutes := strconv.Itoa(int(expires.Sub(b.net.Clock().Now()).Minutes() + 0.5))
	out := []Outgoing{{To: DirectTo(ev.Sender), Message: say(r.Lang, msgWebLink, code(link), plain(minutes)), Key: eventKey(ev, "link")}}
	if !ev.DM {
		out = append(out, b.reply(ev, say(r.Lang, msgWebSent))...)
	}
	return out, nil
}

// handleAnimationJob runs the jobs of community digests; handled is false
// for other kinds.
func (b *Bot) handleAnimationJob(ctx context.Context, j core.Job) (out []Outgoing, handled bool, err error) {
	switch j.Kind {
	case core.JobDraftDigest:
		drafted, err := b.net.DraftDigests(ctx, j)
		if err != nil {
			return nil, true, err
		}
		for _, d := range drafted {
			for _, p := range d.Animators {
				lang := b.langOfPerson(p)
				out = append(out, Outgoing{To: DirectTo(p.Identity), Message: b.draftMessage(lang, d.Digest),
					Key: fmt.Sprintf("job:%s/c%d/p%d", j.Key, d.Digest.Community, p.ID)})
			}
		}
		return out, true, nil
	case core.JobPublishDigest:
		pub, err := b.net.PublishDigest(ctx, j)
		if err != nil || pub.Digest.ID == 0 {
			return nil, true, err
		}
		m := b.digestMessage(b.cfg.Lang, b.net.Location(), pub.Digest)
		for _, room := range pub.Rooms {
			out = append(out, Outgoing{To: Destination{Platform: room.Platform, Room: room.ID}, Message: m,
				Key: fmt.Sprintf("digest:%d/room/%s/%s", pub.Digest.ID, room.Platform, room.ID)})
		}
		return out, true, nil
	}
	return nil, false, nil
}
