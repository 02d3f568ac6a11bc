package discord

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"entraide/bots"
)

// Limits of an embed, in characters.
const (
	maxEmbedTitle       = 256
	maxEmbedDescription = 4096
	maxEmbedFields      = 25
	maxEmbedFieldName   = 256
	maxEmbedFieldValue  = 1024
	maxEmbedFooter      = 2048
	maxEmbedTotal       = 6000 // title, description, field names and values, footer together
	maxEmbedURL         = 2048
	maxInlineValue      = 40 // longer values get a line of their own
	embedColor          = 0x000091
	emptyField          = "\u200b" // Discord refuses empty field names and values
)

// embed is a message's rich card.
type embed struct {
	Title       string       `json:"title,omitempty"`
	URL         string       `json:"url,omitempty"`
	Description string       `json:"description,omitempty"`
	Color       int          `json:"color,omitempty"`
	Fields      []embedField `json:"fields,omitempty"`
	Footer      *embedFooter `json:"footer,omitempty"`
}

type embedField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline,omitempty"`
}

type embedFooter struct {
	Text string `json:"text"`
}

// cardEmbed renders a card as an embed: the title (linked to the card's URL
// when it is http or https), the body as the description, a field per
// labelled value (inline when short) and the footer. Texts Discord reads
// as markdown (title, description, field names and values) are escaped
// with Escape; the footer, shown as written, gets the same zero-width
// joiners so that it reads as no mention either. Each text is cut to its
// limit, then the description and the last fields are given up until the
// embed fits in Discord's 6000 characters. ok is false for an empty card.
func cardEmbed(c bots.Card) (e embed, ok bool) {
	e = embed{
		Title:       cutEscaped(Escape(singleLine(c.Title)), maxEmbedTitle),
		Description: cutEscaped(Escape(strings.TrimSpace(c.Body)), maxEmbedDescription),
		Color:       embedColor,
	}
	if e.URL = linkURL(c.URL); e.URL != "" && e.Title == "" {
		e.Title = cutEscaped(Escape(e.URL), maxEmbedTitle)
	}
	for _, f := range c.Fields {
		if len(e.Fields) == maxEmbedFields {
			break
		}
		name, value := singleLine(f.Label), strings.TrimSpace(f.Value)
		if name == "" && value == "" {
			continue
		}
		e.Fields = append(e.Fields, embedField{
			Name:   orEmpty(cutEscaped(Escape(name), maxEmbedFieldName)),
			Value:  orEmpty(cutEscaped(Escape(value), maxEmbedFieldValue)),
			Inline: utf8.RuneCountInString(value) <= maxInlineValue && !strings.Contains(value, "\n"),
		})
	}
	if footer := singleLine(inert(c.Footer)); footer != "" {
		e.Footer = &embedFooter{Text: truncateRunes(footer, maxEmbedFooter)}
	}
	for over := e.size() - maxEmbedTotal; over > 0; over = e.size() - maxEmbedTotal {
		n := utf8.RuneCountInString(e.Description)
		switch {
		case n > 0:
			e.Description = cutEscaped(e.Description, max(0, n-over))
		case len(e.Fields) > 0:
			e.Fields = e.Fields[:len(e.Fields)-1]
		default:
			e.Footer.Text = truncateRunes(e.Footer.Text, max(1, utf8.RuneCountInString(e.Footer.Text)-over))
		}
	}
	return e, e.Title != "" || e.Description != "" || len(e.Fields) > 0 || e.Footer != nil
}

// size is the number of characters Discord counts towards an embed's
// total.
func (e embed) size() int {
	n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
	for _, f := range e.Fields {
		n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
	}
	if e.Footer != nil {
		n += utf8.RuneCountInString(e.Footer.Text)
	}
	return n
}

// cutEscaped shortens escaped text to at most n characters, ending with
// "…" when cut and never in the middle of an escape.
func cutEscaped(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return ""
	}
	r := []rune(s)[:n-1]
	if trailingBackslashes(r)%2 == 1 {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// inert makes text that Discord shows as written (an embed's footer)
// unable to read as a mention: a zero-width joiner follows "<" and the "@"
// of "@everyone" and "@here"; control characters are dropped.
func inert(s string) string {
	s = visible(s)
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '<':
			b.WriteString("<" + zwj)
		case r == '@':
			b.WriteByte('@')
			if massMention(s[i+1:]) {
				b.WriteString(zwj)
			}
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// singleLine makes s a single line of valid UTF-8.
func singleLine(s string) string {
	return strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
}

func orEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return emptyField
	}
	return s
}

// linkURL returns s when it is an absolute http or https address an
// embed's title may link to, and "" otherwise (javascript:, relative, with
// credentials, blanks or control characters, too long).
func linkURL(s string) string {
	if len(s) > maxEmbedURL || bots.SafeLink(s) == "" {
		return ""
	}
	return s
}
