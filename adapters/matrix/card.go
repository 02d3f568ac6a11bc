package matrix

import (
	"html"
	"strings"
	"unicode/utf8"

	"entraide/bots"
)

// Limits this renderer keeps a card under. Matrix itself only bounds the
// whole event, so a card is cut to sizes that read well in a room (those of
// a Discord embed), then shrunk further if the event would still be too
// large.
const (
	maxCardTitle  = 256
	maxCardFields = 25
	maxCardLabel  = 256
	maxCardValue  = 1024
	maxCardBody   = 4000
	maxCardFooter = 2048
	maxCardURL    = 2048
	// maxContentBytes bounds the JSON of an event's content: Matrix takes
	// events of up to 65536 bytes, and encryption makes them a third larger.
	maxContentBytes = 40000
)

// cardLimits are the sizes a card's texts are cut to, in characters.
type cardLimits struct{ title, label, value, body, footer int }

var defaultCardLimits = cardLimits{title: maxCardTitle, label: maxCardLabel, value: maxCardValue, body: maxCardBody, footer: maxCardFooter}

// halved returns limits half as large, and false once they are all zero.
func (l cardLimits) halved() (cardLimits, bool) {
	h := cardLimits{l.title / 2, l.label / 2, l.value / 2, l.body / 2, l.footer / 2}
	return h, l != cardLimits{}
}

// fitCard returns c with its texts cut to lim and its URL dropped unless it
// is a plain http or https address.
func fitCard(c bots.Card, lim cardLimits) bots.Card {
	out := bots.Card{
		Title:  cut(c.Title, lim.title),
		URL:    linkURL(c.URL),
		Body:   cut(c.Body, lim.body),
		Footer: cut(c.Footer, lim.footer),
	}
	for i, f := range c.Fields {
		if i == maxCardFields {
			break
		}
		out.Fields = append(out.Fields, bots.CardField{Label: cut(f.Label, lim.label), Value: cut(f.Value, lim.value)})
	}
	return out
}

// cardHTML renders a fitted card as an HTML block: the title in bold
// (a link when the card has a URL), the fields as a list of "Label : value"
// items, the body as a paragraph and the footer in italics. Every text is
// escaped as a Quote span's is: markup comes from the card's structure only.
func cardHTML(c bots.Card) string {
	var b strings.Builder
	if strings.TrimSpace(c.Title) != "" || c.URL != "" {
		title := escape(c.Title)
		if c.URL != "" {
			if strings.TrimSpace(c.Title) == "" {
				title = escape(c.URL)
			}
			title = `<a href="` + html.EscapeString(c.URL) + `">` + title + "</a>"
		}
		b.WriteString("<p><strong>" + title + "</strong></p>")
	}
	if len(c.Fields) > 0 {
		b.WriteString("<ul>")
		for _, f := range c.Fields {
			b.WriteString("<li><b>" + escape(f.Label) + "</b> : " + escape(f.Value) + "</li>")
		}
		b.WriteString("</ul>")
	}
	if strings.TrimSpace(c.Body) != "" {
		b.WriteString("<p>" + escape(strings.TrimRight(c.Body, "\n")) + "</p>")
	}
	if strings.TrimSpace(c.Footer) != "" {
		b.WriteString("<p><em>" + escape(c.Footer) + "</em></p>")
	}
	return b.String()
}

// linkURL returns s when it is an absolute http or https address a title
// may link to, and "" otherwise (javascript:, data:, relative, with
// credentials, blanks or control characters, too long).
func linkURL(s string) string {
	if len(s) > maxCardURL || bots.SafeLink(s) == "" {
		return ""
	}
	return s
}

// cut shortens s to at most n characters, ending with "…" when cut.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
