package bots_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// reactingFake is a platformFake whose platform offers buttons as
// reactions, as Matrix does (bots.ReactingSender), unless off.
type reactingFake struct {
	*platformFake
	off bool
}

func (f reactingFake) Reactions() bool { return !f.off }

// newReacting returns a conversation on a platform that offers reactions
// (or not, when off).
func newReacting(t *testing.T, off bool) *conversation {
	c := &conversation{t: t, clock: core.NewManualClock(t0), sender: newPlatformFake()}
	c.p = buildPipeline(t, sqlstoretest.SQLite(t), c.clock, core.DefaultConfig(), reactingFake{platformFake: c.sender, off: off}, nil, nil)
	return c
}

// react delivers user's reaction key to the message sent under key (the
// fake's message ids are "m-" + key) and returns what the bot sent.
func (c *conversation) react(user, messageID, key string) string {
	c.t.Helper()
	c.n++
	ev := bots.Event{
		ID: fmt.Sprintf("r%d", c.n), Platform: "test", DM: true,
		Sender: core.Identity{Platform: "test", User: user}, SenderName: user,
		ReactionTo: messageID, Reaction: key,
	}
	return c.sent(func() error { return c.p.Deliver(context.Background(), ev) })
}

// requestTo returns the message id of the last request sent to user, and
// the question's number.
func (c *conversation) requestTo(user string) (string, string) {
	c.t.Helper()
	c.sender.mu.Lock()
	defer c.sender.mu.Unlock()
	for i := len(c.sender.order) - 1; i >= 0; i-- {
		key := c.sender.order[i]
		if strings.HasPrefix(c.sender.visible[key], "//"+user+": ") && strings.Contains(key, "/request") {
			n := digits.FindString(c.sender.visible[key][len(user)+4:])
			return "m-" + key, n
		}
	}
	c.t.Fatalf("no request to %s in %v", user, c.sender.visible)
	return "", ""
}

// TestReactionRunsTheButtonCommand: on a platform that offers reactions, a
// reaction with a button's emoji (whatever its variation selector or skin
// tone) to the message that carries the button runs the button's command,
// exactly as typing it would; any other reaction, a reaction to another
// message, or a platform that does not offer reactions does nothing.
func TestReactionRunsTheButtonCommand(t *testing.T) {
	setup := func(c *conversation) (string, string) {
		c.say("bob", "#general", "!expert marchés publics, achats")
		c.say("carol", "#general", "!expert marchés publics")
		c.say("alice", "#general", "!ask Comment rédiger le cahier des charges d'un marché public ?")
		return c.requestTo("bob")
	}

	typed := newReacting(t, false)
	_, n := setup(typed)
	want := typed.say("bob", "", "!pass "+n)
	if want == "" {
		t.Fatal("typing !pass sent nothing")
	}

	c := newReacting(t, false)
	request, _ := setup(c)
	if got := c.react("bob", request, "😄"); got != "" {
		t.Errorf("a reaction that stands for no button sent %q", got)
	}
	if got := c.react("bob", "m-another-message", bots.ReactPass); got != "" {
		t.Errorf("a reaction to a message without buttons sent %q", got)
	}
	if got := c.react("bob", request, "👎🏽\uFE0F"); got != want {
		t.Errorf("reacting %s to the request sent\n%s\nwant what typing !pass %s sends:\n%s", bots.ReactPass, got, n, want)
	}

	off := newReacting(t, true)
	request, _ = setup(off)
	if got := off.react("bob", request, bots.ReactPass); got != "" {
		t.Errorf("on a platform without reactions, a reaction sent %q", got)
	}
}

// TestReactionsArePurgedLater: the reactions of a sent message outlive the
// message's own row by bots.ReactionsKept (an event's card is answered
// until the event), then go. On SQLite and PostgreSQL.
func TestReactionsArePurgedLater(t *testing.T) {
	ctx := context.Background()
	for name, open := range sqlstoretest.Backends() {
		t.Run(name, func(t *testing.T) {
			store := open(t)
			out := bots.Outgoing{To: bots.DirectTo(core.Identity{Platform: "test", User: "bob"}), Key: "k1",
				Message: bots.Message{Actions: []bots.Action{{Kind: bots.ActionCommand, ID: "going:1", Command: "rsvp 1 going", Reaction: bots.ReactGoing, Unreact: "rsvp 1 withdraw going"}}}}
			items, err := store.PutOutgoingClaimed(ctx, []bots.Outgoing{out}, "me", time.Minute, t0)
			if err != nil || len(items) != 1 {
				t.Fatal(items, err)
			}
			sent := bots.SentMessage{ID: items[0].ID, MessageID: "$m1", Platform: "test", Reactions: bots.ReactionsOf(out.Message)}
			if err := store.MarkAllSent(ctx, []bots.SentMessage{sent}, t0); err != nil {
				t.Fatal(err)
			}
			// Marked again (a resend after a crash): recorded once.
			if err := store.MarkSentAndDoubt(ctx, []bots.SentMessage{sent}, 0, t0); err != nil {
				t.Fatal(err)
			}
			command := func() string {
				t.Helper()
				r, err := store.ReactionFor(ctx, "test", "$m1", bots.ReactGoing)
				if err != nil {
					t.Fatal(err)
				}
				return r.Command
			}
			if got := command(); got != "rsvp 1 going" {
				t.Fatalf("command = %q, want rsvp 1 going", got)
			}
			if r, err := store.ReactionFor(ctx, "test", "$m1", bots.ReactGoing); err != nil || r.Undo != "rsvp 1 withdraw going" {
				t.Errorf("undo = %q, %v; want rsvp 1 withdraw going", r.Undo, err)
			}
			if r, err := store.ReactionFor(ctx, "other", "$m1", bots.ReactGoing); err != nil || r.Command != "" {
				t.Errorf("another platform's message: %q, %v", r.Command, err)
			}
			week := 7 * 24 * time.Hour
			if _, err := store.Purge(ctx, t0.Add(week)); err != nil {
				t.Fatal(err)
			}
			if got := command(); got != "rsvp 1 going" {
				t.Errorf("after the message's purge, command = %q, want it kept", got)
			}
			if _, err := store.Purge(ctx, t0.Add(bots.ReactionsKept+time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got := command(); got != "" {
				t.Errorf("after ReactionsKept, command = %q, want none", got)
			}
		})
	}
}

func TestNormalizeReaction(t *testing.T) {
	for in, want := range map[string]string{
		"👍": "👍", "👍\uFE0F": "👍", "👍🏿": "👍", " ✅ ": "✅", "✔️": "✔", "\xff": "", strings.Repeat("👍", 9): "",
	} {
		if got := bots.NormalizeReaction(in); got != want {
			t.Errorf("NormalizeReaction(%q) = %q, want %q", in, got, want)
		}
	}
	if !bots.IsActionReaction("⏰\uFE0F") || bots.IsActionReaction("😄") {
		t.Error("IsActionReaction: ⏰ with its variation selector stands for a button, 😄 for none")
	}
}

// FuzzNormalizeReaction: a normalised key is valid UTF-8, short, free of
// variation selectors and skin tones, and normalised already.
func FuzzNormalizeReaction(f *testing.F) {
	for _, s := range []string{"👍", "👍🏽\uFE0F", " ✅ ", "\xff", "⏰︎", " \uFE0F ✅", strings.Repeat("🔖", 10)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		got := bots.NormalizeReaction(key)
		if !utf8.ValidString(got) || len(got) > 32 || strings.ContainsAny(got, "\uFE0E\uFE0F🏻🏼🏽🏾🏿") {
			t.Fatalf("NormalizeReaction(%q) = %q", key, got)
		}
		if again := bots.NormalizeReaction(got); again != got {
			t.Fatalf("NormalizeReaction(%q) = %q, then %q", key, got, again)
		}
	})
}

// unreact delivers user's taking back of the reaction whose event id is
// reaction, and returns what the bot sent.
func (c *conversation) unreact(user, reaction string) string {
	c.t.Helper()
	c.n++
	ev := bots.Event{
		ID: fmt.Sprintf("u%d", c.n), Platform: "test", DM: true,
		Sender: core.Identity{Platform: "test", User: user}, SenderName: user, Unreact: reaction,
	}
	return c.sent(func() error { return c.p.Deliver(context.Background(), ev) })
}

// TestTakingAReactionBack: on a platform that offers reactions, taking
// back the 👍 on an event's card withdraws "going", but only while it is
// still the person's answer (after a 🤔 the "maybe" stays), and only for
// the person who reacted; taking back a reaction the inbox does not hold
// does nothing.
func TestTakingAReactionBack(t *testing.T) {
	c := newReacting(t, false)
	c.say("alice", "#agenda", "!evenement Atelier achats | début: 2026-11-20 14:00 | lieu: Lyon")
	card := fmt.Sprintf("m-test:e%d/reply", c.n)
	going := func() string { c.t.Helper(); return c.react("bob", card, bots.ReactGoing) }
	if got := going(); !strings.Contains(got, "C'est noté, vous venez à Atelier achats") {
		t.Fatalf("👍 on the card sent %q", got)
	}
	thumb := fmt.Sprintf("r%d", c.n)
	if got := c.react("bob", card, bots.ReactMaybe); !strings.Contains(got, "peut-être") {
		t.Fatalf("🤔 on the card sent %q", got)
	}
	think := fmt.Sprintf("r%d", c.n)
	c.react("carol", card, bots.ReactMaybe)
	if got := c.unreact("bob", thumb); got != "" {
		t.Errorf("taking back 👍 after 🤔 sent %q, want nothing (bob stays maybe)", got)
	}
	if got := c.unreact("carol", think); got != "" {
		t.Errorf("carol taking back bob's reaction sent %q, want nothing (her own maybe stays)", got)
	}
	if got := c.unreact("bob", "r-unknown"); got != "" {
		t.Errorf("taking back an unknown reaction sent %q", got)
	}
	if got := c.unreact("bob", think); !strings.Contains(got, "C'est noté, vous ne venez pas à Atelier achats. Inscrits : 0, peut-être : 1.") {
		t.Errorf("taking back 🤔 sent %q, want bob not going", got)
	}
}
