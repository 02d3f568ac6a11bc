package bots

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"entraide/core"
)

// MaxCommandLen bounds the text of one message the bot reads, in bytes.
const MaxCommandLen = 16 * 1024

// Command is one thing people can ask the bot to do.
type Command struct {
	// Name is the command's canonical name, without prefix.
	Name string
	// Aliases are other names that run the command, such as a French one.
	Aliases []string
	// Handle runs the command on the bot handling the event (which may work
	// in a transaction, see Bot.In) and returns what to send.
	Handle func(b *Bot, ctx context.Context, r *Request) ([]Outgoing, error)
}

// Request is a command being handled: the event, the command's arguments
// and the language to answer in.
type Request struct {
	Event Event
	// Name is the command name as typed, folded.
	Name string
	// Args is the text after the command name, trimmed.
	Args string
	// Lang is the language to reply in.
	Lang string
}

// ParseCommand splits text into a command name and its arguments when text
// starts with prefix. The name is lowercased and its accents removed, so
// "!Réponse" and "!reponse" are the same command. A prefix alone, or a
// prefix followed by a space, is not a command.
func ParseCommand(prefix, text string) (name, args string, ok bool) {
	text = strings.TrimLeftFunc(text, unicode.IsSpace)
	if prefix == "" || !strings.HasPrefix(text, prefix) {
		return "", "", false
	}
	rest := text[len(prefix):]
	end := strings.IndexFunc(rest, unicode.IsSpace)
	if end < 0 {
		end = len(rest)
	}
	raw := rest[:end]
	if raw == "" || !utf8.ValidString(raw) {
		return "", "", false
	}
	name = core.Fold(raw)
	if name == "" || strings.ContainsRune(name, ' ') {
		return "", "", false
	}
	return name, strings.TrimSpace(rest[end:]), true
}
