package matrix

import (
	"encoding/json"
	"html"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"entraide/bots"
)

// Render turns a bots.Message into the content of an m.notice: a plain body
// (bots.Message.PlainText), an HTML formatted_body in which the text of every
// span is escaped, and m.mentions listing only the people the bot mentions
// on purpose (an empty object otherwise, so "@room" or a user id inside
// relayed text never notifies anyone). A Card follows the spans as an HTML
// block (see cardHTML), its texts cut so the event stays under Matrix's
// size limit. Actions are left out: Matrix has no buttons, and the text
// already says which command to type; those that carry an emoji are
// offered as reactions under the message (Adapter.Send).
func Render(m bots.Message) *event.MessageEventContent {
	spans, mentions := renderSpans(m.Spans)
	if m.Card == nil {
		return notice(m.PlainText(), spans, mentions)
	}
	for lim, more := defaultCardLimits, true; ; lim, more = lim.halved() {
		card := fitCard(*m.Card, lim)
		withCard := m
		withCard.Card = &card
		c := notice(withCard.PlainText(), spans+cardHTML(card), mentions)
		if !more || contentSize(c) <= maxContentBytes {
			return c
		}
	}
}

// contentSize is the size of c's JSON, as sent.
func contentSize(c *event.MessageEventContent) int {
	raw, err := json.Marshal(c)
	if err != nil {
		return 0
	}
	return len(raw)
}

// notice returns the content of an m.notice.
func notice(body, formatted string, mentions *event.Mentions) *event.MessageEventContent {
	return &event.MessageEventContent{
		MsgType:       event.MsgNotice,
		Body:          body,
		Format:        event.FormatHTML,
		FormattedBody: formatted,
		Mentions:      mentions,
	}
}

// renderSpans renders spans as HTML and returns the people it mentions.
func renderSpans(spans []bots.Span) (string, *event.Mentions) {
	var b strings.Builder
	mentions := &event.Mentions{}
	for _, s := range spans {
		switch s.Kind {
		case bots.Strong:
			b.WriteString("<strong>" + escape(s.Text) + "</strong>")
		case bots.Code:
			b.WriteString("<code>" + escape(s.Text) + "</code>")
		case bots.Quote:
			b.WriteString("« " + escape(s.Text) + " »")
		case bots.Mention:
			user, ok := mentionable(s)
			if !ok {
				b.WriteString("@" + escape(s.Text))
				continue
			}
			name := s.Text
			if name == "" {
				name = string(user)
			}
			b.WriteString(`<a href="` + html.EscapeString(user.URI().MatrixToURL()) + `">` + escape(name) + "</a>")
			mentions.Add(user)
		case bots.Break:
			b.WriteString("<br>")
		case bots.Room:
			room, ok := linkableRoom(s)
			if !ok {
				b.WriteString(escape(s.Text))
				continue
			}
			b.WriteString(`<a href="` + html.EscapeString(room.URI().MatrixToURL()) + `">` + escape(orText(s.Text, string(room))) + "</a>")
		default:
			b.WriteString(escape(s.Text))
		}
	}
	return b.String(), mentions
}

// linkableRoom returns the Matrix room a Room span names, when it is one:
// an id such as !abc:example.org.
func linkableRoom(s bots.Span) (id.RoomID, bool) {
	r := s.Where.ID
	if s.Where.Platform != Platform || !strings.HasPrefix(r, "!") || !strings.Contains(r, ":") || len(r) > 255 ||
		strings.ContainsFunc(r, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		return "", false
	}
	return id.RoomID(r), true
}

func orText(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// escape escapes text for HTML and keeps its line breaks.
func escape(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>")
}

// mentionable returns the Matrix user a Mention span names, when it names
// one.
func mentionable(s bots.Span) (id.UserID, bool) {
	if s.Who.Platform != Platform {
		return "", false
	}
	user := id.UserID(s.Who.User)
	if _, _, err := user.ParseAndValidateRelaxed(); err != nil {
		return "", false
	}
	return user, true
}
