package discord

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"entraide/bots"
)

// maxContent is the most characters Discord takes in one message's content.
const maxContent = 2000

// zwj is the zero-width joiner put after "@" in "@everyone" and "@here",
// and after "<" of "<@", "<#", "<@&", so that relayed text never becomes a
// mention, whatever allowed_mentions says.
const zwj = "\u200d"

// messagePayload is the body of a message Discord posts (channels,
// webhooks and interaction responses share it).
type messagePayload struct {
	Content          string            `json:"content"`
	AllowedMentions  allowedMentions   `json:"allowed_mentions"`
	Embeds           []embed           `json:"embeds,omitempty"`
	Components       []component       `json:"components,omitempty"`
	Flags            int               `json:"flags,omitempty"`
	MessageReference *messageReference `json:"message_reference,omitempty"`
	// Nonce and EnforceNonce make a post idempotent for a few minutes:
	// Discord returns the message the bot already created with this nonce
	// instead of creating another (see nonceOf).
	Nonce        string `json:"nonce,omitempty"`
	EnforceNonce bool   `json:"enforce_nonce,omitempty"`
	// Attachments describe the files sent with the message, file the one
	// uploaded as its files[0] part (see messageBody).
	Attachments []attachment `json:"attachments,omitempty"`
	file        *upload
}

// allowedMentions says who a message may notify: nobody from parsed text
// (Parse is always empty), only the users of deliberate Mention spans.
type allowedMentions struct {
	Parse       []string `json:"parse"`
	Users       []string `json:"users,omitempty"`
	RepliedUser bool     `json:"replied_user"`
}

type messageReference struct {
	MessageID       string `json:"message_id"`
	FailIfNotExists bool   `json:"fail_if_not_exists"`
}

// component is a message component: an action row (type 1) of buttons
// (type 2), or a text input (type 4) in a modal's row. Required is a
// pointer because Discord takes a text input without it as required.
type component struct {
	Type        int         `json:"type"`
	Components  []component `json:"components,omitempty"`
	Style       int         `json:"style,omitempty"`
	Label       string      `json:"label,omitempty"`
	CustomID    string      `json:"custom_id,omitempty"`
	Placeholder string      `json:"placeholder,omitempty"`
	Required    *bool       `json:"required,omitempty"`
	MinLength   int         `json:"min_length,omitempty"`
	MaxLength   int         `json:"max_length,omitempty"`
}

// Escape makes user text inert in Discord markdown: markup characters get a
// backslash, "@everyone" and "@here" get a zero-width joiner after "@", and
// "<" gets one after it, so no user, role, channel or command mention can
// form. Control characters other than line breaks and tabs are dropped.
func Escape(s string) string {
	s = visible(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range s {
		switch {
		case r == '@':
			b.WriteByte('@')
			if massMention(s[i+1:]) {
				b.WriteString(zwj)
			}
		case r == '<':
			b.WriteString(`\<` + zwj)
		case strings.ContainsRune("\\*_`~|>#[]()-", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// visible returns s as valid UTF-8 without the characters renderers drop
// (controls other than line breaks and tabs, carriage returns, Unicode line
// and paragraph separators). They go first, so that none of them can hide
// a mass mention from the check ("@\u2029everyone").
func visible(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\u2028' || r == '\u2029' || unicode.IsControl(r) && r != '\n' && r != '\t' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// massMention reports whether rest, the text after an "@", starts with
// "everyone" or "here" in any case. It reads only those first bytes, so
// escaping stays linear in the length of the text.
func massMention(rest string) bool {
	hasPrefixFold := func(p string) bool { return len(rest) >= len(p) && strings.EqualFold(rest[:len(p)], p) }
	return hasPrefixFold("everyone") || hasPrefixFold("here")
}

// codeText makes text safe inside an inline code span, where markdown is
// not read: backticks cannot close it early, and mentions are neutralised.
func codeText(s string) string {
	s = strings.NewReplacer("`", "'", "\n", " ").Replace(visible(s))
	s = strings.ReplaceAll(s, "<", "<"+zwj)
	var b strings.Builder
	for i, r := range s {
		b.WriteRune(r)
		if r == '@' && massMention(s[i+1:]) {
			b.WriteString(zwj)
		}
	}
	return b.String()
}

// Render turns m into Discord markdown and the users it may notify (the
// people of its Mention spans, when they are Discord users). Every span's
// text is escaped: markup and mentions come from span kinds only.
func Render(m bots.Message) (content string, users []string) {
	var b strings.Builder
	atLineStart := func() bool {
		s := b.String()
		return s == "" || strings.HasSuffix(s, "\n")
	}
	for i, s := range m.Spans {
		switch s.Kind {
		case bots.Plain:
			b.WriteString(Escape(s.Text))
		case bots.Strong:
			if t := Escape(s.Text); strings.TrimSpace(t) != "" {
				b.WriteString("**" + t + "**")
			} else {
				b.WriteString(t)
			}
		case bots.Code:
			if t := codeText(s.Text); t != "" {
				b.WriteString("`" + t + "`")
			}
		case bots.Quote:
			if !atLineStart() {
				b.WriteString("\n")
			}
			lines := strings.Split(strings.TrimRight(strings.ReplaceAll(s.Text, "\r\n", "\n"), "\n"), "\n")
			for j, line := range lines {
				if j > 0 {
					b.WriteString("\n")
				}
				b.WriteString("> " + Escape(line))
			}
			if i+1 < len(m.Spans) && m.Spans[i+1].Kind != bots.Break {
				b.WriteString("\n")
			}
		case bots.Mention:
			if s.Who.Platform == Platform && snowflake(s.Who.User) {
				b.WriteString("<@" + s.Who.User + ">")
				if !contains(users, s.Who.User) {
					users = append(users, s.Who.User)
				}
			} else {
				b.WriteString("@" + Escape(s.Text))
			}
		case bots.Break:
			b.WriteString("\n")
		case bots.Room:
			if s.Where.Platform == Platform && snowflake(s.Where.ID) {
				b.WriteString("<#" + s.Where.ID + ">")
			} else {
				b.WriteString(Escape(s.Text))
			}
		default:
			b.WriteString(Escape(s.Text))
		}
	}
	return strings.TrimRight(b.String(), "\n "), users
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// payloads renders m as the messages to post: one, or several when the
// content is longer than Discord allows (split at line ends), the card's
// embed, the buttons and the file under the last one.
func payloads(m bots.Message) []messagePayload {
	content, users := Render(m)
	chunks := splitContent(content, maxContent)
	out := make([]messagePayload, len(chunks))
	for i, c := range chunks {
		out[i] = messagePayload{Content: c, AllowedMentions: allowedMentions{Parse: []string{}}}
		for _, u := range users {
			if strings.Contains(c, "<@"+u+">") {
				out[i].AllowedMentions.Users = append(out[i].AllowedMentions.Users, u)
			}
		}
	}
	last := &out[len(out)-1]
	if m.Card != nil {
		if e, ok := cardEmbed(*m.Card); ok {
			last.Embeds = []embed{e}
		}
	}
	last.Components = buttons(m.Actions)
	if m.File != nil {
		u := newUpload(*m.File)
		last.file = &u
		last.Attachments = []attachment{{ID: 0, Filename: u.name}}
	}
	return out
}

// splitContent cuts s into pieces of at most n characters, at line ends
// where it can; a line too long is cut between characters, never after a
// lone backslash, and a cut quote line goes on quoted.
func splitContent(s string, n int) []string {
	if utf8.RuneCountInString(s) <= n {
		return []string{s}
	}
	var chunks []string
	var cur strings.Builder
	curLen := 0
	flush := func() {
		if curLen > 0 {
			chunks = append(chunks, strings.TrimRight(cur.String(), "\n"))
		}
		cur.Reset()
		curLen = 0
	}
	for _, line := range strings.Split(s, "\n") {
		lineLen := utf8.RuneCountInString(line) + 1
		if curLen+lineLen <= n {
			cur.WriteString(line + "\n")
			curLen += lineLen
			continue
		}
		flush()
		quoted := strings.HasPrefix(line, "> ")
		for utf8.RuneCountInString(line) >= n {
			runes := []rune(line)
			cut := n - 1
			if trailingBackslashes(runes[:cut])%2 == 1 {
				cut-- // keep an escape with the character it escapes
			}
			chunks = append(chunks, string(runes[:cut]))
			line = string(runes[cut:])
			if quoted {
				line = "> " + line
			}
		}
		cur.WriteString(line + "\n")
		curLen = utf8.RuneCountInString(line) + 1
	}
	flush()
	if len(chunks) == 0 {
		return []string{""}
	}
	return chunks
}

// trailingBackslashes counts the backslashes that end r.
func trailingBackslashes(r []rune) int {
	n := 0
	for n < len(r) && r[len(r)-1-n] == '\\' {
		n++
	}
	return n
}

// The kinds of custom ids the adapter puts on buttons and modals.
const (
	customCommand   = "c" // a button that runs a command
	customForm      = "f" // a button that opens a form
	customModal     = "m" // a form's modal
	customAsk       = "q" // the modal of /ask without a question
	customFormRef   = "r" // a button that opens a form of several inputs
	customFormModal = "s" // the modal of a form of several inputs
	maxCustomID     = 100
	maxButtons      = 25
	maxModalTitle   = 45
	// maxInputLabel and maxInputPlaceholder are the most characters of a
	// text input's label and placeholder; maxInputLength the most it takes.
	maxInputLabel       = 45
	maxInputPlaceholder = 100
	maxInputLength      = 4000
)

// buttons renders actions as rows of at most five buttons. An action whose
// custom id would not fit is left out: the text says how to type it.
func buttons(actions []bots.Action) []component {
	var rows []component
	n := 0
	for _, a := range actions {
		id, ok := actionCustomID(a)
		if !ok || n == maxButtons {
			continue
		}
		style := 2
		if a.Kind == bots.ActionForm {
			style = 1
		}
		label := truncateRunes(strings.TrimSpace(a.Label), 80)
		if label == "" {
			label = truncateRunes(a.Command, 80)
		}
		if n%5 == 0 {
			rows = append(rows, component{Type: 1})
		}
		row := &rows[len(rows)-1]
		row.Components = append(row.Components, component{Type: 2, Style: style, Label: label, CustomID: id})
		n++
	}
	return rows
}

// actionCustomID encodes an action as a button's custom id:
// "c|<action id>|<command>" or "f|<action id>|<command>|<form title>|<form label>"
// (title and label are dropped when they do not fit in 100 characters), or
// "r|<action id>|<form ref>" for a form of several inputs, which must be
// one bots.LookupForm knows.
func actionCustomID(a bots.Action) (string, bool) {
	if a.Kind == bots.ActionForm && a.Form != "" {
		id := customFormRef + "|" + a.ID + "|" + a.Form
		if _, ok := bots.LookupForm(a.Form); !ok || strings.Contains(a.ID, "|") || strings.Contains(a.Form, "|") || len(id) > maxCustomID {
			return "", false
		}
		return id, true
	}
	if strings.Contains(a.ID, "|") || strings.Contains(a.Command, "|") || strings.TrimSpace(a.Command) == "" {
		return "", false
	}
	kind := customCommand
	if a.Kind == bots.ActionForm {
		kind = customForm
	}
	id := kind + "|" + a.ID + "|" + a.Command
	if a.Kind == bots.ActionForm {
		clean := strings.NewReplacer("|", "/", "\n", " ").Replace
		if full := id + "|" + clean(a.FormTitle) + "|" + clean(a.FormLabel); len(full) <= maxCustomID {
			id = full
		}
	}
	if len(id) > maxCustomID {
		return "", false
	}
	return id, true
}

// parsedCustomID is a decoded custom id.
type parsedCustomID struct {
	Kind, ActionID, Command, Title, Label string
	// Ref names the form of several inputs of kinds r and s.
	Ref string
}

// parseCustomID decodes a custom id made by actionCustomID or modal.
func parseCustomID(s string) (parsedCustomID, bool) {
	parts := strings.Split(s, "|")
	var p parsedCustomID
	switch {
	case len(parts) == 3 && parts[0] == customCommand:
		p = parsedCustomID{Kind: parts[0], ActionID: parts[1], Command: parts[2]}
	case (len(parts) == 3 || len(parts) == 5) && parts[0] == customForm:
		p = parsedCustomID{Kind: parts[0], ActionID: parts[1], Command: parts[2]}
		if len(parts) == 5 {
			p.Title, p.Label = parts[3], parts[4]
		}
	case len(parts) == 2 && (parts[0] == customModal || parts[0] == customAsk):
		p = parsedCustomID{Kind: parts[0], Command: parts[1]}
	case len(parts) == 3 && parts[0] == customFormRef:
		p = parsedCustomID{Kind: parts[0], ActionID: parts[1], Ref: parts[2]}
		return p, p.Ref != ""
	case len(parts) == 2 && parts[0] == customFormModal:
		p = parsedCustomID{Kind: parts[0], Ref: parts[1]}
		return p, p.Ref != ""
	default:
		return parsedCustomID{}, false
	}
	return p, strings.TrimSpace(p.Command) != ""
}

// modal is the data of a modal response (interaction callback type 9).
type modal struct {
	CustomID   string      `json:"custom_id"`
	Title      string      `json:"title"`
	Components []component `json:"components"`
}

// newModal returns a modal asking for one paragraph of text; submitting it
// runs command followed by the text.
func newModal(kind, command, title, label string, maxLen int) modal {
	return modal{
		CustomID: truncateBytes(kind+"|"+command, maxCustomID),
		Title:    truncateRunes(title, maxModalTitle),
		Components: []component{{Type: 1, Components: []component{{
			Type: 4, CustomID: "text", Style: 2, Label: truncateRunes(label, maxModalTitle),
			Required: new(true), MinLength: 1, MaxLength: maxLen,
		}}}},
	}
}

// formModal returns the modal of a form of several inputs: a row per
// field (five at most, Discord's limit), each a text input on one line or
// a paragraph, under Discord's limits. Its custom id keeps the form's ref,
// for the submission to find the form again.
func formModal(form bots.Form) (modal, bool) {
	id := customFormModal + "|" + form.Ref
	if form.Ref == "" || strings.Contains(form.Ref, "|") || len(id) > maxCustomID {
		return modal{}, false
	}
	m := modal{CustomID: id, Title: truncateRunes(orDefault(strings.TrimSpace(form.Title), "entraide"), maxModalTitle)}
	for i, f := range form.Fields[:min(len(form.Fields), bots.MaxFormFields)] {
		input := component{
			Type: 4, CustomID: fieldCustomID(i), Style: 1,
			Label:       truncateRunes(orDefault(strings.TrimSpace(f.Label), orDefault(f.Name, m.Title)), maxInputLabel),
			Placeholder: truncateRunes(f.Placeholder, maxInputPlaceholder),
			Required:    new(f.Required),
			MaxLength:   maxInputLength,
		}
		if f.Multiline {
			input.Style = 2
		}
		if f.MaxLen > 0 {
			input.MaxLength = min(f.MaxLen, maxInputLength)
		}
		if f.Required {
			input.MinLength = 1
		}
		m.Components = append(m.Components, component{Type: 1, Components: []component{input}})
	}
	return m, true
}

// fieldCustomID is the custom id of the text input of field i of a form.
func fieldCustomID(i int) string { return "field" + strconv.Itoa(i) }

// truncateRunes shortens s to at most n characters, with "…" when cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// truncateBytes shortens s to at most n bytes, on a character boundary.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
