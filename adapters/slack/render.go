package slack

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"entraide/bots"
)

// Limits of Block Kit this renderer keeps under.
const (
	maxTextElement = 3000 // characters of one rich text element; longer text is split
	maxButtonLabel = 75
	maxButtonValue = 2000
	maxActionID    = 255
	maxBlockID     = 255
	maxButtons     = 25
	maxFallback    = 4000 // Slack truncates longer text fallbacks
)

// Block ids of the actions blocks. A form button sits alone in a block whose
// id carries the form's title and label, or the ref of a form of several
// inputs (see bots.LookupForm), so a press can open the modal without any
// state kept between the message and the press.
const (
	blockCommands   = "entraide.cmd"
	blockFormPrefix = "entraide.form."
)

// escapeText escapes text for Slack's mrkdwn: &, < and > become entities, so
// that "<!channel>", "<!here>" or "<@U123>" written by someone is shown as
// written and notifies nobody. Invalid UTF-8 is replaced.
func escapeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return mrkdwnEscaper.Replace(s)
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// unescapeText undoes escapeText: Slack sends message text with &, < and > escaped.
func unescapeText(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return mrkdwnUnescaper.Replace(s)
}

var mrkdwnUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// userIDPattern matches the ids of Slack users (members and Enterprise Grid
// users); only such ids are turned into mentions.
var userIDPattern = regexp.MustCompile(`^[UW][A-Z0-9]{1,30}$`)

// channelIDPattern matches Slack conversation ids: public and private
// channels (C, G) and direct messages (D).
var channelIDPattern = regexp.MustCompile(`^[CGD][A-Z0-9]{1,30}$`)

// linkableChannel returns the Slack channel a Room span names, when it is
// one.
func linkableChannel(s bots.Span) (string, bool) {
	return s.Where.ID, s.Where.Platform == Platform && channelIDPattern.MatchString(s.Where.ID)
}

// mrkdwn renders m as mrkdwn, the text fallback of a message (shown in
// notifications and where blocks are not): Strong is *x*, Code is `x`, a
// Quote is on lines of its own starting with "> ", a Mention is <@U...>,
// a Card follows on lines of its own (see cardMrkdwn), and the text of
// every span is escaped.
func mrkdwn(m bots.Message) string {
	var b strings.Builder
	atLineStart := true
	newline := func() {
		if !atLineStart {
			b.WriteByte('\n')
			atLineStart = true
		}
	}
	write := func(s string) {
		if s == "" {
			return
		}
		b.WriteString(s)
		atLineStart = strings.HasSuffix(s, "\n")
	}
	afterQuote := false
	for _, s := range m.Spans {
		if s.Kind == bots.Break && afterQuote {
			afterQuote = false
			continue // the quote already ended its line
		}
		afterQuote = false
		switch s.Kind {
		case bots.Break:
			b.WriteByte('\n')
			atLineStart = true
		case bots.Strong:
			write(wrapTrimmed(s.Text, "*", escapeText))
		case bots.Code:
			write(wrapTrimmed(s.Text, "`", func(t string) string { return escapeText(strings.ReplaceAll(t, "`", "'")) }))
		case bots.Quote:
			newline()
			for line := range strings.SplitSeq(strings.ReplaceAll(s.Text, "\r\n", "\n"), "\n") {
				write("> " + escapeText(line) + "\n")
			}
			afterQuote = true
		case bots.Mention:
			if userIDPattern.MatchString(s.Who.User) {
				write("<@" + s.Who.User + ">")
			} else {
				write("@" + escapeText(s.Text))
			}
		case bots.Room:
			if ch, ok := linkableChannel(s); ok {
				write("<#" + ch + ">")
			} else {
				write(escapeText(s.Text))
			}
		default:
			write(escapeText(s.Text))
		}
	}
	text := strings.TrimRight(b.String(), "\n")
	if m.Card != nil {
		if text != "" {
			text += "\n"
		}
		text += cardMrkdwn(*m.Card, maxFallback-len(text))
	}
	return truncate(text, maxFallback)
}

// wrapTrimmed wraps the trimmed text in marker, keeping the surrounding
// spaces outside: mrkdwn ignores "* x *".
func wrapTrimmed(text, marker string, esc func(string) string) string {
	trimmed := strings.TrimSpace(text)
	if trimmed == "" {
		return esc(text)
	}
	i := strings.Index(text, trimmed)
	return esc(text[:i]) + marker + esc(trimmed) + marker + esc(text[i+len(trimmed):])
}

// truncate shortens s to at most n bytes on a rune boundary, never inside
// an entity.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if amp := strings.LastIndexByte(s[:cut], '&'); amp >= 0 && !strings.Contains(s[amp:cut], ";") {
		cut = amp
	}
	return s[:cut] + "…"
}

// The Block Kit types this adapter sends. Rich text elements hold text
// literally: Slack neither parses markup nor mentions in them, so user text
// cannot format anything or notify anyone.
type (
	richTextBlock struct {
		Type     slack.MessageBlockType `json:"type"`
		BlockID  string                 `json:"block_id,omitempty"`
		Elements []richTextPart         `json:"elements"`
	}
	// richTextPart is a rich_text_section or a rich_text_quote.
	richTextPart struct {
		Type     string         `json:"type"`
		Elements []richTextLeaf `json:"elements"`
	}
	// richTextLeaf is a text or user element.
	richTextLeaf struct {
		Type      string         `json:"type"`
		Text      string         `json:"text,omitempty"`
		UserID    string         `json:"user_id,omitempty"`
		ChannelID string         `json:"channel_id,omitempty"`
		Style     *richTextStyle `json:"style,omitempty"`
	}
	richTextStyle struct {
		Bold bool `json:"bold,omitempty"`
		Code bool `json:"code,omitempty"`
	}
)

// BlockType implements slack.Block.
func (b richTextBlock) BlockType() slack.MessageBlockType { return b.Type }

// ID implements slack.Block.
func (b richTextBlock) ID() string { return b.BlockID }

// blocks renders m as Block Kit: one rich_text block (sections, with each
// Quote in a rich_text_quote of its own), the blocks of its Card (see
// cardBlocks) and actions blocks for its buttons.
func blocks(m bots.Message) []slack.Block {
	var parts []richTextPart
	var cur []richTextLeaf
	flush := func() {
		// Drop the line breaks that only separated this section from a quote.
		for n := len(cur); n > 0 && cur[n-1].Type == "text" && cur[n-1].Style == nil && strings.HasSuffix(cur[n-1].Text, "\n"); n = len(cur) {
			if cur[n-1].Text = strings.TrimRight(cur[n-1].Text, "\n"); cur[n-1].Text == "" {
				cur = cur[:n-1]
			}
		}
		if len(cur) > 0 {
			parts = append(parts, richTextPart{Type: "rich_text_section", Elements: cur})
		}
		cur = nil
	}
	text := func(s string, style *richTextStyle) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		if s == "" {
			return
		}
		// Merge plain text with the previous plain element.
		if n := len(cur); n > 0 && cur[n-1].Type == "text" && style == nil && cur[n-1].Style == nil {
			cur[n-1].Text += s
			return
		}
		cur = append(cur, richTextLeaf{Type: "text", Text: s, Style: style})
	}
	for _, s := range m.Spans {
		switch s.Kind {
		case bots.Break:
			if len(cur) == 0 {
				continue // a quote or the start already broke the line
			}
			text("\n", nil)
		case bots.Strong:
			text(s.Text, &richTextStyle{Bold: true})
		case bots.Code:
			text(s.Text, &richTextStyle{Code: true})
		case bots.Quote:
			flush()
			q := strings.ToValidUTF8(s.Text, "\uFFFD")
			if q == "" {
				q = " "
			}
			parts = append(parts, richTextPart{Type: "rich_text_quote", Elements: []richTextLeaf{{Type: "text", Text: q}}})
		case bots.Mention:
			if userIDPattern.MatchString(s.Who.User) {
				cur = append(cur, richTextLeaf{Type: "user", UserID: s.Who.User})
			} else {
				text("@"+s.Text, nil)
			}
		case bots.Room:
			if ch, ok := linkableChannel(s); ok {
				cur = append(cur, richTextLeaf{Type: "channel", ChannelID: ch})
			} else {
				text(s.Text, nil)
			}
		default:
			text(s.Text, nil)
		}
	}
	flush()
	for i := range parts {
		parts[i].Elements = splitLongText(parts[i].Elements)
	}
	var out []slack.Block
	if len(parts) > 0 {
		out = append(out, richTextBlock{Type: slack.MBTRichText, BlockID: "entraide.text", Elements: parts})
	}
	if m.Card != nil {
		out = append(out, cardBlocks(*m.Card)...)
	}
	return append(out, actionBlocks(m.Actions)...)
}

// splitLongText splits text elements longer than maxTextElement characters
// into several elements of the same style.
func splitLongText(leaves []richTextLeaf) []richTextLeaf {
	var out []richTextLeaf
	for _, l := range leaves {
		for l.Type == "text" && utf8.RuneCountInString(l.Text) > maxTextElement {
			r := []rune(l.Text)
			head := l
			head.Text = string(r[:maxTextElement])
			out = append(out, head)
			l.Text = string(r[maxTextElement:])
		}
		out = append(out, l)
	}
	return out
}

// actionBlocks renders buttons: command buttons together in one actions
// block, each form button in a block of its own.
func actionBlocks(actions []bots.Action) []slack.Block {
	var commands []slack.BlockElement
	var forms []slack.Block
	for i, a := range actions {
		// A cut id or command would run something else: such a button is
		// left out, and the text still says what to type.
		if a.ID == "" || a.Command == "" || len(a.ID) > maxActionID || utf8.RuneCountInString(a.Command) > maxButtonValue {
			continue
		}
		blockID := ""
		if a.Kind == bots.ActionForm {
			var ok bool
			if blockID, ok = formBlockID(i, a); !ok {
				continue // a form this adapter cannot find again
			}
		}
		btn := slack.NewButtonBlockElement(a.ID, a.Command,
			slack.NewTextBlockObject(slack.PlainTextType, truncateRunes(orDefault(a.Label, a.Command), maxButtonLabel), true, false))
		if a.Kind == bots.ActionForm {
			btn.Style = slack.StylePrimary
			if len(forms) < maxButtons {
				forms = append(forms, slack.NewActionBlock(blockID, btn))
			}
			continue
		}
		if len(commands) < maxButtons {
			commands = append(commands, btn)
		}
	}
	if len(commands) > 0 {
		forms = append([]slack.Block{slack.NewActionBlock(blockCommands, commands...)}, forms...)
	}
	return forms
}

// formBlockID encodes in the id of its block a form's title and label or,
// for a form of several inputs, its ref ("f"). It reports false for a ref
// that names no form or does not fit.
func formBlockID(i int, a bots.Action) (string, bool) {
	head := blockFormPrefix + strconv.Itoa(i) + ":"
	if a.Form != "" {
		id := head + url.Values{"f": {a.Form}}.Encode()
		if _, ok := bots.LookupForm(a.Form); !ok || len(id) > maxBlockID {
			return "", false
		}
		return id, true
	}
	title, label := truncateRunes(a.FormTitle, maxModalTitle), a.FormLabel
	for {
		id := head + url.Values{"t": {title}, "l": {label}}.Encode()
		if len(id) <= maxBlockID || label == "" {
			if len(id) > maxBlockID {
				return head, true
			}
			return id, true
		}
		label = truncateRunes(label, utf8.RuneCountInString(label)/2)
	}
}

// formBlock is what the id of a form button's block carries: the title and
// label of a one-text form, or the ref of a form of several inputs.
// Malformed is true when the id has the form prefix but no readable query:
// not something formBlockID made.
type formBlock struct {
	Title, Label, Ref string
	Malformed         bool
}

// parseFormBlockID decodes an id made by formBlockID; ok is false when id
// is not a form block's.
func parseFormBlockID(id string) (b formBlock, ok bool) {
	rest, ok := strings.CutPrefix(id, blockFormPrefix)
	if !ok {
		return formBlock{}, false
	}
	_, query, _ := strings.Cut(rest, ":")
	v, err := url.ParseQuery(query)
	if err != nil || v.Has("f") && v.Get("f") == "" {
		return formBlock{Malformed: true}, true
	}
	return formBlock{Title: v.Get("t"), Label: v.Get("l"), Ref: v.Get("f")}, true
}

// truncateRunes shortens s to at most n characters, ending with "…" when
// cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
