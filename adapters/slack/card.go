package slack

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"entraide/bots"
)

// Limits of Block Kit, and of this renderer, for cards.
const (
	maxSectionText   = 3000 // characters of a section's text
	maxSectionFields = 10   // fields of one section
	maxFieldText     = 2000 // characters of one field
	maxCardTitle     = 256
	maxCardFields    = 25 // over several sections
	maxCardFooter    = 2000
	maxCardURL       = 2048
	blockCardTitle   = "entraide.card.title"
	blockCardFields  = "entraide.card.fields." // + index of the section
	blockCardBody    = "entraide.card.body"
	blockCardFooter  = "entraide.card.footer"
)

// cardBlocks renders a card as Block Kit: a section with the title in bold
// (a link when the card has an http or https URL), sections of at most ten
// "*Label*\nvalue" fields, a section with the body and a context block with
// the footer. The title and fields are mrkdwn with every text escaped as a
// Quote's is in the text fallback, and verbatim, so Slack neither links nor
// mentions anything in them; the body and the footer are plain_text, which
// Slack shows as written.
func cardBlocks(c bots.Card) []slack.Block {
	var out []slack.Block
	if title := cardTitle(c); title != "" {
		out = append(out, slack.NewSectionBlock(mrkdwnObject(title), nil, nil, slack.SectionBlockOptionBlockID(blockCardTitle)))
	}
	var fields []*slack.TextBlockObject
	flush := func() {
		if len(fields) > 0 {
			id := blockCardFields + strconv.Itoa(len(out))
			out = append(out, slack.NewSectionBlock(nil, fields, nil, slack.SectionBlockOptionBlockID(id)))
		}
		fields = nil
	}
	n := 0
	for _, f := range c.Fields {
		text := cardField(f)
		if text == "" || n == maxCardFields {
			continue
		}
		n++
		fields = append(fields, mrkdwnObject(text))
		if len(fields) == maxSectionFields {
			flush()
		}
	}
	flush()
	if body := cleanText(c.Body); strings.TrimSpace(body) != "" {
		out = append(out, slack.NewSectionBlock(plainText(truncateRunes(body, maxSectionText)), nil, nil, slack.SectionBlockOptionBlockID(blockCardBody)))
	}
	if footer := cleanText(c.Footer); strings.TrimSpace(footer) != "" {
		out = append(out, slack.NewContextBlock(blockCardFooter, plainText(truncateRunes(footer, maxCardFooter))))
	}
	return out
}

// cardTitle is the mrkdwn of a card's title: "*<url|title>*", or "*title*"
// without a usable URL, or "" for neither.
func cardTitle(c bots.Card) string {
	title := truncateRunes(oneLine(c.Title), maxCardTitle)
	link := linkURL(c.URL)
	switch {
	case link != "" && title == "" && utf8.RuneCountInString(link) < maxSectionText-2:
		return "<" + link + ">"
	case link != "" && utf8.RuneCountInString(link)+utf8.RuneCountInString(escapeText(title)) < maxSectionText-5:
		return "*<" + link + "|" + escapeText(title) + ">*"
	case title == "":
		return ""
	}
	return "*" + escapeText(title) + "*"
}

// cardField is the mrkdwn of a field, "*Label*\nvalue" cut to a field's
// limit, or "" for an empty field.
func cardField(f bots.CardField) string {
	label := truncateRunes(oneLine(f.Label), maxCardTitle)
	value := strings.TrimSpace(cleanText(f.Value))
	var text string
	switch {
	case label == "" && value == "":
		return ""
	case label == "":
		text = escapeText(value)
	default:
		text = "*" + escapeText(label) + "*\n" + escapeText(value)
	}
	return truncateEscaped(text, maxFieldText)
}

// cardMrkdwn renders a card for the text fallback: the title, one
// "Label : value" line per field, the body and the footer, all escaped.
// The title links to the card's URL when the link fits in room bytes, so
// that cutting the fallback never leaves half a link.
func cardMrkdwn(c bots.Card, room int) string {
	var lines []string
	title := cardTitle(c)
	if len(title) > room-len("…") {
		title = cardTitle(bots.Card{Title: c.Title})
	}
	if title != "" {
		lines = append(lines, title)
	}
	for i, f := range c.Fields {
		if i == maxCardFields {
			break
		}
		label, value := oneLine(f.Label), oneLine(f.Value)
		switch {
		case label == "" && value == "":
		case label == "":
			lines = append(lines, escapeText(value))
		default:
			lines = append(lines, escapeText(label)+" : "+escapeText(value))
		}
	}
	for _, s := range []string{c.Body, c.Footer} {
		if s = strings.TrimSpace(cleanText(s)); s != "" {
			lines = append(lines, escapeText(s))
		}
	}
	return strings.Join(lines, "\n")
}

func mrkdwnObject(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, true)
}

// cleanText makes s valid UTF-8 with "\n" line ends.
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\r\n", "\n")
}

// oneLine makes s valid UTF-8 on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
}

// linkURL returns s, escaped for a mrkdwn link, when it is an absolute
// http or https address, and "" otherwise (javascript:, relative, with
// credentials, blanks or control characters, too long).
func linkURL(s string) string {
	if len(s) > maxCardURL || bots.SafeLink(s) == "" {
		return ""
	}
	return escapeText(strings.ReplaceAll(s, "|", "%7C"))
}

// truncateEscaped shortens escaped mrkdwn to at most n characters, ending
// with "…" when cut, never inside an entity.
func truncateEscaped(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	cut := string(r[:n-1])
	if amp := strings.LastIndexByte(cut, '&'); amp >= 0 && !strings.Contains(cut[amp:], ";") {
		cut = cut[:amp]
	}
	return cut + "…"
}
