package bots

import (
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"entraide/core"
)

// SpanKind says how a span of a Message is shown.
type SpanKind int

// The kinds of spans. Adapters render each natively (HTML for Matrix, mrkdwn
// for Slack, Markdown for Discord, plain text for the console) and escape
// the text of every span: markup comes only from the kinds, never from text.
const (
	// Plain is ordinary text written by the bot.
	Plain SpanKind = iota
	// Strong is emphasised text written by the bot.
	Strong
	// Code is a command or identifier to type as is.
	Code
	// Quote is text written by a user and relayed by the bot: it must never
	// ping anyone or carry markup, whatever it contains.
	Quote
	// Mention names a person and notifies them where the platform can.
	Mention
	// Break ends a paragraph.
	Break
	// Room names a room (Where), linked where its platform can (a channel
	// mention on Slack and Discord, a matrix.to link on Matrix); Text is
	// what is shown elsewhere.
	Room
)

// Span is one piece of a Message. Empty fields are left out of its JSON
// (the outbox stores every message, and most spans name no one).
type Span struct {
	Kind SpanKind `json:",omitempty"`
	Text string   `json:",omitempty"`
	// Who is the person a Mention names.
	Who core.Identity `json:",omitzero"`
	// Where is the room a Room span names.
	Where core.Room `json:",omitzero"`
}

// Message is a platform-neutral rich message: what the bot says, before an
// adapter renders it.
type Message struct {
	Spans []Span
	// Actions are buttons offered under the message, where the platform has
	// them; the text always says how to do the same with a command.
	Actions []Action
	// Card is a structured announcement (a job offer, an event) shown after
	// the spans; nil for none.
	Card *Card `json:",omitempty"`
	// File is a document sent with the message (a person's data export,
	// say), after the spans; nil for none. Adapters upload it natively (a
	// Matrix m.file, a Slack file, a Discord attachment) and show the spans
	// as its caption or as a message just before it.
	File *File `json:",omitempty"`
}

// File is a document attached to a message.
type File struct {
	// Name is the file name shown to the person, such as
	// "entraide-mes-donnees.json"; only letters, digits, '.', '-' and '_'.
	Name string
	// MIME is the media type, such as "application/json".
	MIME string
	Data []byte
}

// MaxFileSize is the largest File a message may carry: within every
// platform's upload limit (Discord's 10 MiB for bots without boosts, say).
const MaxFileSize = 8 << 20

// Card is a structured announcement: a title, labelled fields, a longer
// text. Adapters render it natively where the platform can (an HTML block
// for Matrix, a Block Kit section with fields for Slack, an embed for
// Discord) and as lines of text elsewhere. Every text in a card is
// untrusted (imported feeds, what agents typed): adapters escape it like a
// Quote, so it never pings anyone or carries markup.
type Card struct {
	Title string
	// URL is where the title links to: an http or https address, or empty.
	URL string
	// Fields are short labelled values, such as "Lieu" and "Lyon".
	Fields []CardField
	// Body is the longer text, such as a description; adapters cut it to
	// the platform's limits.
	Body string
	// Footer is a short line under the card, such as "Offre 3".
	Footer string
}

// Link returns the card's URL when it is a safe link (see SafeLink), and
// "" otherwise: only such a link may be shown or made clickable.
func (c Card) Link() string { return SafeLink(c.URL) }

// SafeLink returns s when it is an absolute http or https address of at
// most 2048 bytes, valid UTF-8, without spaces, control characters, quotes
// or angle brackets, and without credentials; "" otherwise (javascript:,
// relative, malformed). Adapters apply their platform's shorter limits on
// top.
func SafeLink(s string) string {
	if s == "" || len(s) > 2048 || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' || r == '"'
	}) {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	return s
}

// CardField is one labelled value of a card.
type CardField struct {
	Label, Value string
}

// ActionKind says what pressing a button does.
type ActionKind int

// The kinds of actions.
const (
	// ActionCommand runs Command as if the person had typed it (with the
	// prefix) in a direct message to the bot.
	ActionCommand ActionKind = iota
	// ActionForm asks the person for a text first (a modal where the
	// platform has one), then runs Command followed by a space and the text.
	ActionForm
)

// Action is a button under a message. Pressing it becomes an ordinary Event
// whose Text is the command, so buttons and typed commands share one path.
type Action struct {
	Kind ActionKind `json:",omitempty"`
	// ID is stable for the same button of the same message, such as
	// "answer:12".
	ID    string
	Label string
	// Command is the command to run, without prefix, such as "answer 12".
	Command string
	// FormTitle and FormLabel describe the text asked by an ActionForm.
	FormTitle string `json:",omitempty"`
	FormLabel string `json:",omitempty"`
	// Form, when set, names a form of several inputs (see LookupForm) that
	// an ActionForm opens instead of one text; the answers make the whole
	// command (Form.CommandText).
	Form string `json:",omitempty"`
	// Reaction, when set on an ActionCommand, is an emoji that does what
	// the button does, on platforms where people react to messages rather
	// than press buttons (Matrix: ReactingSender): the adapter adds it
	// under the message, and a person's reaction with it runs Command.
	Reaction string `json:",omitempty"`
	// Unreact, when set with Reaction, is the command that taking the
	// reaction back runs (without prefix), such as "rsvp 12 withdraw going".
	Unreact string `json:",omitempty"`
}

// Text appends plain text.
func (m *Message) Text(s string) *Message { return m.add(Span{Kind: Plain, Text: s}) }

// Strong appends emphasised text.
func (m *Message) Strong(s string) *Message { return m.add(Span{Kind: Strong, Text: s}) }

// Code appends a command to type.
func (m *Message) Code(s string) *Message { return m.add(Span{Kind: Code, Text: s}) }

// Quote appends text written by a user.
func (m *Message) Quote(s string) *Message { return m.add(Span{Kind: Quote, Text: s}) }

// Cite appends a short text written by a user inside a line, between « »:
// a title in a list, say. It is a Plain span, which adapters escape like
// every span (no markup, no mention comes from text); Quote is for whole
// paragraphs a user wrote, shown apart.
func (m *Message) Cite(s string) *Message { return m.add(Span{Kind: Plain, Text: "« " + s + " »"}) }

// Mention appends a mention of who, shown as name.
func (m *Message) Mention(who core.Identity, name string) *Message {
	return m.add(Span{Kind: Mention, Text: name, Who: who})
}

// Break ends a paragraph.
func (m *Message) Break() *Message { return m.add(Span{Kind: Break}) }

// RoomLink names room, shown as text where its platform cannot link it.
func (m *Message) RoomLink(room core.Room, text string) *Message {
	return m.add(Span{Kind: Room, Text: text, Where: room})
}

func (m *Message) add(s Span) *Message {
	m.Spans = append(m.Spans, s)
	return m
}

// PlainText renders the message as plain text, paragraphs on lines of their
// own, quotes in « ». Adapters without rich text use it as the fallback.
func (m Message) PlainText() string {
	var b strings.Builder
	for _, s := range m.Spans {
		switch s.Kind {
		case Break:
			b.WriteString("\n")
		case Quote:
			b.WriteString("« " + s.Text + " »")
		case Mention:
			b.WriteString("@" + s.Text)
		default:
			b.WriteString(s.Text)
		}
	}
	if c := m.Card; c != nil {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(c.PlainText())
	}
	return b.String()
}

// PlainText renders the card as lines of text: the title (and its link),
// one line per field, the body, the footer.
func (c Card) PlainText() string {
	var b strings.Builder
	b.WriteString(c.Title)
	if link := c.Link(); link != "" {
		b.WriteString(" <" + link + ">")
	}
	for _, f := range c.Fields {
		b.WriteString("\n" + f.Label + ": " + f.Value)
	}
	if c.Body != "" {
		b.WriteString("\n" + c.Body)
	}
	if c.Footer != "" {
		b.WriteString("\n" + c.Footer)
	}
	return b.String()
}

// Event is a message someone wrote where the bot can read it, as an adapter
// hands it to the bot.
type Event struct {
	// ID is the platform's id of the message, unique on the platform.
	ID       string
	Platform core.Platform
	// Room is where the message was written; for a direct message it may be
	// empty (the adapter then reaches the sender by user id).
	Room string
	// Thread is the id of the thread root when the message was written in a
	// thread.
	Thread string
	// DM is true for a direct message to the bot.
	DM         bool
	Sender     core.Identity
	SenderName string
	Text       string
	// Tenant is the platform's organisation the sender belongs to, as
	// access rules name it: the Slack workspace (team) id, the Discord
	// server (guild) id, empty in a Discord DM; the Matrix homeserver name
	// comes from the sender's id and needs no tenant.
	Tenant string `json:",omitempty"`
	// ReactionTo, for a reaction, is the platform's id of the message
	// reacted to, and Reaction the emoji; Text is then empty. The pipeline
	// turns a reaction to a message the bot sent with that emoji among its
	// actions (Action.Reaction) into the action's command, as if the
	// person had pressed the button, and drops any other reaction.
	ReactionTo string `json:",omitempty"`
	Reaction   string `json:",omitempty"`
	// Unreact, for a reaction taken back, is the platform's id of that
	// reaction (its own event, delivered earlier); Text is then empty. The
	// pipeline runs the Action.Unreact of the button the reaction stood
	// for, when the same person had made it.
	Unreact string `json:",omitempty"`
	// At is when the platform says the message was written; zero when it
	// does not say (slash commands, buttons). Questions and answers are
	// dated from it (core.WithEventTime), not from when they are handled.
	At time.Time `json:",omitzero"`
}

// ThreadRoot returns the id of the thread a reply to the event belongs in.
func (e Event) ThreadRoot() string {
	if e.Thread != "" {
		return e.Thread
	}
	return e.ID
}

// Destination says where a message goes: a room (in a thread when Thread is
// set), or, when Room is empty, a direct message to User.
type Destination struct {
	Platform core.Platform
	Room     string `json:",omitempty"`
	Thread   string `json:",omitempty"`
	User     string `json:",omitempty"`
}

// DirectTo returns the destination of a direct message to who.
func DirectTo(who core.Identity) Destination {
	return Destination{Platform: who.Platform, User: who.User}
}

// ReplyTo returns where a reply to ev goes: its thread in a room, or the
// same direct conversation.
func ReplyTo(ev Event) Destination {
	if ev.DM {
		return Destination{Platform: ev.Platform, Room: ev.Room, User: ev.Sender.User}
	}
	return Destination{Platform: ev.Platform, Room: ev.Room, Thread: ev.ThreadRoot()}
}

// OriginOf returns where replies to a question asked at ref go.
func OriginOf(ref core.MessageRef, asker core.Identity) Destination {
	if ref.DM {
		return Destination{Platform: ref.Platform, Room: ref.Room, User: asker.User}
	}
	return Destination{Platform: ref.Platform, Room: ref.Room, Thread: ref.Thread}
}

// Outgoing is a message to send. Key is stable for the same effect of the
// same event, so a retried send can be recognised.
type Outgoing struct {
	To      Destination
	Message Message
	Key     string
	// Scrub erases the message's content and addressee from the outbox
	// once it is sent: the confirmation of an erasure leaves no trace.
	Scrub bool `json:",omitempty"`
}

// SafeFileName returns name as adapters show and store it: letters,
// digits, '.', '-' and '_' kept, every other character (slashes, spaces,
// control and bidi characters, invalid UTF-8) turned into '_', leading dots
// dropped (no hidden file, no ".."), cut to max characters keeping its
// extension; fallback when nothing but '_' is left.
func SafeFileName(name string, max int, fallback string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, strings.ToValidUTF8(name, "_"))
	name = strings.TrimLeft(name, ".")
	if utf8.RuneCountInString(name) > max {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i >= 0 && utf8.RuneCountInString(name[i:]) <= 16 {
			ext = name[i:]
		}
		r := []rune(strings.TrimSuffix(name, ext))
		name = string(r[:max-utf8.RuneCountInString(ext)]) + ext
	}
	if strings.Trim(name, "_") == "" {
		return fallback
	}
	return name
}
