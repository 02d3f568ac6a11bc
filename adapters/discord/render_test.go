package discord

import (
	"encoding/json"
	"entraide/internal/golden"
	"strings"
	"testing"

	"entraide/bots"
	"entraide/core"
)

// hostile is user text that tries every way to ping, link or format.
const hostile = "@everyone @here @EVERYONE <@123> <@!123> <@&456> <#789> </ask:1> **bold** __u__ ~~s~~ ||spoiler|| `code` [x](http://evil) > quote\n# title\n-# small\n- item \\*esc"

// TestRenderGolden renders messages carrying hostile text in every span
// kind: nothing pings, nothing formats, and allowed_mentions.parse is
// empty; only the deliberate mention may notify.
func TestRenderGolden(t *testing.T) {
	var request bots.Message
	request.Text("Question n°").Strong("1").Text(" posée par ").Strong(hostile).Text(" (#général) :").Break().
		Quote(hostile).Break().Text("Pour répondre : ").Code("!answer 1 @everyone `x`")
	request.Actions = []bots.Action{{Kind: bots.ActionForm, ID: "answer:1", Label: "Répondre", Command: "answer 1", FormTitle: "Répondre (1)", FormLabel: "Votre réponse"}}
	var relay bots.Message
	relay.Mention(core.Identity{Platform: "discord", User: userU2}, "Alice").Text(", réponse de ").Strong("Bob").Text(" :").Break().
		Quote(hostile).Break().Text("Si c'est résolu : ").Code("!resolve 1").Mention(core.Identity{Platform: "slack", User: "U1"}, "@here")
	for name, m := range map[string]bots.Message{"render_request": request, "render_relay": relay} {
		msgs := payloads(m)
		var got strings.Builder
		enc := json.NewEncoder(&got)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(msgs); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, name, got.String())
		for _, p := range msgs {
			checkInert(t, p.Content)
			if p.AllowedMentions.Parse == nil || len(p.AllowedMentions.Parse) != 0 {
				t.Errorf("%s: allowed_mentions.parse %v", name, p.AllowedMentions.Parse)
			}
			for _, u := range p.AllowedMentions.Users {
				if u != userU2 {
					t.Errorf("%s: user %s may be pinged", name, u)
				}
			}
		}
		raw, _ := json.Marshal(msgs[0])
		if !strings.Contains(string(raw), `"parse":[]`) {
			t.Errorf("%s: %s lacks \"parse\":[]", name, raw)
		}
	}
}

// checkInert fails when rendered content could ping or link from user
// text: the only mention allowed is the deliberate <@U2>.
func checkInert(t *testing.T, content string) {
	t.Helper()
	c := strings.ReplaceAll(content, "<@"+userU2+">", "")
	lower := strings.ToLower(c)
	for _, bad := range []string{"@everyone", "@here", "<@", "<#", "</", "](http"} {
		if strings.Contains(lower, bad) {
			t.Errorf("rendered text contains %q: %q", bad, content)
		}
	}
}

func TestSplitLongContent(t *testing.T) {
	var m bots.Message
	m.Text("Réponse :").Break().Quote(strings.Repeat("a*", 1500) + "\n" + strings.Repeat("é", 2500))
	m.Actions = []bots.Action{{Kind: bots.ActionCommand, ID: "pass:1", Label: "Passer", Command: "pass 1"}}
	msgs := payloads(m)
	if len(msgs) < 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	var all strings.Builder
	for i, p := range msgs {
		if n := len([]rune(p.Content)); n > maxContent {
			t.Errorf("message %d has %d characters", i, n)
		}
		if trailingBackslashes([]rune(p.Content))%2 == 1 {
			t.Errorf("message %d ends inside an escape", i)
		}
		if (p.Components != nil) != (i == len(msgs)-1) {
			t.Errorf("message %d: components %v", i, p.Components)
		}
		all.WriteString(p.Content)
	}
	if got := strings.Count(all.String(), "é"); got != 2501 { // with the one of "Réponse"
		t.Errorf("%d é kept of 2501", got)
	}
	if got := strings.Count(all.String(), `\*`); got != 1500 {
		t.Errorf("%d escaped * kept of 1500", got)
	}
}

func TestCustomIDs(t *testing.T) {
	for _, a := range []bots.Action{
		{Kind: bots.ActionForm, ID: "answer:12", Command: "answer 12", FormTitle: "Répondre (12)", FormLabel: "Votre réponse"},
		{Kind: bots.ActionCommand, ID: "pass:12", Command: "pass 12"},
	} {
		id, ok := actionCustomID(a)
		if !ok || len(id) > 100 {
			t.Fatalf("%+v: %q %v", a, id, ok)
		}
		p, ok := parseCustomID(id)
		if !ok || p.Command != a.Command || p.ActionID != a.ID || p.Title != a.FormTitle || p.Label != a.FormLabel {
			t.Errorf("%q parsed as %+v", id, p)
		}
	}
	long := bots.Action{Kind: bots.ActionForm, ID: "answer:1", Command: "answer 1", FormTitle: strings.Repeat("t", 60), FormLabel: strings.Repeat("l", 60)}
	if id, ok := actionCustomID(long); !ok || strings.Contains(id, "ttt") {
		t.Errorf("long form title kept: %q", id)
	}
	if _, ok := actionCustomID(bots.Action{ID: "x", Command: strings.Repeat("c", 120)}); ok {
		t.Error("custom id over 100 characters accepted")
	}
	for _, bad := range []string{"", "x", "c|a", "z|a|b", "f|a|", "m|"} {
		if p, ok := parseCustomID(bad); ok {
			t.Errorf("parseCustomID(%q) = %+v", bad, p)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{hostile, "@@everyone", "<<@1>>", "@\u200deveryone", "\\@here", "<\\@1>", "@évery", "a\r\nb", "\xff@here"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkEmbedInert(t, bots.Message{Card: &bots.Card{Title: s, URL: s, Fields: []bots.CardField{{Label: s, Value: s}}, Body: s, Footer: s}})
		for _, kind := range []bots.SpanKind{bots.Plain, bots.Strong, bots.Quote, bots.Code, bots.Room} {
			// A Room span naming s as a room: only a snowflake id would be
			// a channel mention, and s is not one once it holds "<#".
			content, users := Render(bots.Message{Spans: []bots.Span{{Kind: kind, Text: s, Where: core.Room{Platform: Platform, ID: s}}}})
			if len(users) != 0 {
				t.Fatalf("users %v from text", users)
			}
			if kind == bots.Room && snowflake(s) {
				// A channel id of Discord is a channel mention, which
				// notifies nobody.
				if content != "<#"+s+">" {
					t.Fatalf("room %q rendered as %q", s, content)
				}
				continue
			}
			lower := strings.ToLower(content)
			for _, bad := range []string{"@everyone", "@here", "<@", "<#", "<:", "</", "<t:"} {
				if strings.Contains(lower, bad) {
					t.Fatalf("kind %d: %q rendered as %q, which contains %q", kind, s, content, bad)
				}
			}
		}
	})
}

// TestRenderRoom: a channel of Discord is a channel mention; a room of
// another platform, or an id that is not a snowflake, is escaped text.
func TestRenderRoom(t *testing.T) {
	for _, tc := range []struct {
		room core.Room
		text string
		want string
	}{
		{core.Room{Platform: Platform, ID: "123456789012345678"}, "123456789012345678", "dans <#123456789012345678>"},
		{core.Room{Platform: "slack", ID: "C1"}, "C1", "dans C1"},
		{core.Room{Platform: Platform, ID: "1>@everyone"}, "@everyone", "dans @\u200deveryone"},
	} {
		var m bots.Message
		m.Text("dans ").RoomLink(tc.room, tc.text)
		if got, users := Render(m); got != tc.want || len(users) != 0 {
			t.Errorf("%+v: %q %v, want %q", tc.room, got, users, tc.want)
		}
	}
}
