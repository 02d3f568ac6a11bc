package bots

import (
	"strings"
	"time"
	"unicode/utf8"
)

// The emoji that stand for buttons (Action.Reaction), written without
// variation selector or skin tone (NormalizeReaction).
const (
	ReactGoing  = "👍"
	ReactMaybe  = "🤔"
	ReactAccept = "✅"
	ReactPass   = "👎"
	ReactSnooze = "⏰"
	ReactSave   = "🔖"
)

// actionReactions are the emoji some action may carry: a reaction with any
// other is not worth storing.
var actionReactions = map[string]bool{
	ReactGoing: true, ReactMaybe: true, ReactAccept: true, ReactPass: true, ReactSnooze: true, ReactSave: true,
}

// ReactionsKept is how much longer than the messages themselves the
// reactions of sent messages are kept (Queue.Purge).
const ReactionsKept = 90 * 24 * time.Hour

// maxReactionLen bounds a reaction's key once normalised: emoji are a few
// code points.
const maxReactionLen = 32

// NormalizeReaction returns a reaction's key as actions name it: without
// variation selectors (U+FE0E, U+FE0F) nor skin tone modifiers, so that
// "👍🏽" and "👍️" both are 👍, and without surrounding spaces. Invalid
// UTF-8 or a key longer than a few emoji gives "".
func NormalizeReaction(key string) string {
	if !utf8.ValidString(key) {
		return ""
	}
	var b strings.Builder
	for _, r := range key {
		if r == '\uFE0E' || r == '\uFE0F' || r >= 0x1F3FB && r <= 0x1F3FF {
			continue
		}
		b.WriteRune(r)
	}
	out := strings.TrimSpace(b.String())
	if len(out) > maxReactionLen {
		return ""
	}
	return out
}

// IsActionReaction reports whether key (normalised) is an emoji some action
// carries: adapters need not deliver other reactions.
func IsActionReaction(key string) bool { return actionReactions[NormalizeReaction(key)] }

// Reaction is an emoji under a sent message and the command a person's
// reaction with it runs.
type Reaction struct {
	Key     string
	Command string
	// Undo is the command that taking the reaction back runs; "" for
	// none (Action.Unreact).
	Undo string
}

// ReactionsOf returns the reactions m offers: those of its commands that
// carry an emoji, each emoji once.
func ReactionsOf(m Message) []Reaction {
	var out []Reaction
	for _, a := range m.Actions {
		key := NormalizeReaction(a.Reaction)
		if a.Kind != ActionCommand || key == "" || a.Command == "" {
			continue
		}
		dup := false
		for _, r := range out {
			dup = dup || r.Key == key
		}
		if !dup {
			out = append(out, Reaction{Key: key, Command: a.Command, Undo: a.Unreact})
		}
	}
	return out
}

// ReactingSender is a Sender whose platform offers a message's actions as
// reactions (Action.Reaction) rather than buttons: the pipeline records the
// commands of each sent message's reactions with the message, so that a
// person's reaction to it (Event.ReactionTo) runs them.
type ReactingSender interface {
	Sender
	Reactions() bool
}
