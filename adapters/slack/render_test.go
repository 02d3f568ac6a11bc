package slack

import (
	"encoding/json"
	"entraide/internal/golden"
	"strings"
	"testing"
	"unicode/utf8"

	"entraide/bots"
	"entraide/core"
)

// hostile is user text that would notify or format if it were not escaped.
const hostile = "Urgent <!channel> <!here> <!everyone> @everyone @here <@U123> <#C42> *bold* _it_ `code` <https://x|y> & &amp; &lt; > fin"

// rendered shows a message as Slack receives it: the text fallback and the
// blocks.
func rendered(t *testing.T, m bots.Message) string {
	t.Helper()
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(blocks(m)); err != nil {
		t.Fatal(err)
	}
	return "--- text\n" + mrkdwn(m) + "\n--- blocks\n" + buf.String()
}

func renderCases() map[string]bots.Message {
	alice := core.Identity{Platform: Platform, User: "U2"}
	var request, relay, names bots.Message
	request.Text("Question n°").Strong("1").Text(" posée par ").Strong("alice <!here>").Text(" (C1) :").Break().
		Quote(hostile).Break().Text("Pour répondre : ").Code("!answer 1 `votre` réponse")
	request.Actions = []bots.Action{{Kind: bots.ActionForm, ID: "answer:1", Label: "Répondre", Command: "answer 1", FormTitle: "Répondre (1)", FormLabel: "Votre réponse"}}
	relay.Mention(alice, "alice").Text(", réponse de ").Strong(" bob ").Text(" à la question n°").Strong("1").Text(" :").Break().
		Quote("ligne 1 *gras*\n> ligne 2 <@U123>\n<!subteam^S1|@team>").Break().Text("Si c'est résolu : ").Code("!resolve 1")
	relay.Actions = []bots.Action{{Kind: bots.ActionCommand, ID: "resolve:1", Label: "Résolu", Command: "resolve 1"}}
	names.Mention(core.Identity{Platform: Platform, User: "<!channel>"}, "<!channel> & co").Text(" <@U999> ").Break().Break().Text("fin")
	return map[string]bots.Message{"render_request": request, "render_relay": relay, "render_names": names}
}

func TestRenderGolden(t *testing.T) {
	for name, m := range renderCases() {
		t.Run(name, func(t *testing.T) { golden.Check(t, name, rendered(t, m)) })
	}
}

// TestRenderNeverNotifies checks what the golden files show, as a rule: in
// the text, the only "<" open the bot's own mentions; in the blocks, user
// text is in literal text elements and the only user elements are the
// bot's mentions.
func TestRenderNeverNotifies(t *testing.T) {
	for name, m := range renderCases() {
		text := mrkdwn(m)
		rest := strings.ReplaceAll(text, "<@U2>", "")
		if strings.ContainsAny(rest, "<") || strings.Contains(rest, "<!") {
			t.Errorf("%s: text has markup from user text: %q", name, text)
		}
		for line := range strings.SplitSeq(rest, "\n") {
			if strings.Contains(strings.TrimPrefix(line, "> "), ">") {
				t.Errorf("%s: line %q has an unescaped >", name, line)
			}
		}
		raw, _ := json.Marshal(blocks(m))
		if strings.Contains(string(raw), `"broadcast"`) || strings.Count(string(raw), `"type":"user"`) > 1 {
			t.Errorf("%s: blocks notify: %s", name, raw)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "",
		"a & b":                 "a &amp; b",
		"<!channel>":            "&lt;!channel&gt;",
		"<@U123>":               "&lt;@U123&gt;",
		"&lt;":                  "&amp;lt;",
		"@everyone *bold* _i_":  "@everyone *bold* _i_",
		"<https://x|y>":         "&lt;https://x|y&gt;",
		"caf\xe9":               "caf\uFFFD",
		"déjà < vu > &amp; fin": "déjà &lt; vu &gt; &amp;amp; fin",
	} {
		if got := escapeText(in); got != want {
			t.Errorf("escapeText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := unescapeText("&lt;!here&gt; &amp;lt; &amp;"); got != "<!here> &lt; &" {
		t.Errorf("Unescape = %q", got)
	}
}

func TestFormBlockIDRoundTrip(t *testing.T) {
	for _, a := range []bots.Action{
		{ID: "answer:1", FormTitle: "Répondre (1)", FormLabel: "Votre réponse"},
		{ID: "x", FormTitle: "a:b&c=d", FormLabel: strings.Repeat("très long ", 100)},
		{ID: "y"},
		{ID: "form:offer/fr", Form: "offer/fr", FormTitle: "Publier une offre d'emploi"},
	} {
		id, ok := formBlockID(3, a)
		if !ok || len(id) > maxBlockID {
			t.Fatalf("block id %q of %d bytes, %v", id, len(id), ok)
		}
		b, ok := parseFormBlockID(id)
		if !ok || b.Malformed || b.Ref != a.Form || a.Form == "" && (b.Title != a.FormTitle || !strings.HasPrefix(a.FormLabel, strings.TrimSuffix(b.Label, "…"))) {
			t.Errorf("round trip of %+v: %+v, %v", a, b, ok)
		}
	}
	for _, ref := range []string{"offer/xx", strings.Repeat("a", 300)} {
		if id, ok := formBlockID(0, bots.Action{ID: "form", Form: ref}); ok {
			t.Errorf("form %q: block id %q", ref, id)
		}
	}
	for _, id := range []string{"entraide.form.0:f=", "entraide.form.0:f=%zz", "entraide.form.0:t=%"} {
		if b, ok := parseFormBlockID(id); !ok || !b.Malformed {
			t.Errorf("parseFormBlockID(%q) = %+v, %v", id, b, ok)
		}
	}
}

// FuzzFormBlockID checks that any block id parses without panic, and that
// the ids formBlockID makes fit and carry their ref back.
func FuzzFormBlockID(f *testing.F) {
	f.Add("entraide.form.0:f=offer%2Ffr", "offer/fr", "t", "l")
	f.Add("entraide.form.3:l=Votre+r%C3%A9ponse&t=R%C3%A9pondre+%281%29", "", "Répondre (1)", "Votre réponse")
	f.Add("entraide.form.", "event/en", "", "")
	f.Add("entraide.form.0:f=a&f=b;", "a|b", "\xff", "&=")
	f.Fuzz(func(t *testing.T, id, ref, title, label string) {
		parseFormBlockID(id)
		made, ok := formBlockID(1, bots.Action{ID: "x", Form: ref, FormTitle: title, FormLabel: label})
		if !ok {
			if _, known := bots.LookupForm(ref); known || ref == "" {
				t.Fatalf("form %q refused", ref)
			}
			return
		}
		if len(made) > maxBlockID {
			t.Fatalf("block id of %d bytes", len(made))
		}
		if b, ok := parseFormBlockID(made); !ok || b.Malformed || b.Ref != ref {
			t.Fatalf("%q parsed as %+v, %v", made, b, ok)
		}
	})
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", hostile, "&amp;", "&&&", "<<>>", "\xff<", "a\u2028b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := escapeText(s)
		if strings.ContainsAny(e, "<>") {
			t.Fatalf("escapeText(%q) = %q keeps < or >", s, e)
		}
		for i := strings.IndexByte(e, '&'); i >= 0; i = strings.IndexByte(e[i+1:], '&') + i + 1 {
			if !strings.HasPrefix(e[i:], "&amp;") && !strings.HasPrefix(e[i:], "&lt;") && !strings.HasPrefix(e[i:], "&gt;") {
				t.Fatalf("escapeText(%q) = %q: bare &", s, e)
			}
			if strings.IndexByte(e[i+1:], '&') < 0 {
				break
			}
		}
		if !utf8.ValidString(e) || unescapeText(e) != strings.ToValidUTF8(s, "\uFFFD") {
			t.Fatalf("unescapeText(escapeText(%q)) = %q", s, unescapeText(e))
		}
		// A message quoting s, and a card made of s, notify nobody, in
		// text or blocks; only the card's http(s) link is one.
		var m bots.Message
		m.Text("q ").Strong(s).Break().Quote(s).Code(s)
		m.Card = &bots.Card{Title: s, URL: "https://example.org/?a=1&b=2", Fields: []bots.CardField{{Label: s, Value: s}}, Body: s, Footer: s}
		text := mrkdwn(m)
		for line := range strings.SplitSeq(text, "\n") {
			if strings.ContainsAny(withoutLinks(t, strings.TrimPrefix(line, "> ")), "<>") {
				t.Fatalf("mrkdwn with %q: line %q", s, line)
			}
		}
		raw, err := json.Marshal(blocks(m))
		if err != nil || strings.Contains(string(raw), `"type":"user"`) || strings.Contains(string(raw), `"type":"broadcast"`) {
			t.Fatalf("Blocks with %q: %s, %v", s, raw, err)
		}
		checkCardInert(t, m)
		m.Card.URL = s
		checkCardInert(t, m)

		// A room named s is a channel mention, which notifies nobody, only
		// when s is a channel id; else it is escaped text.
		var r bots.Message
		r.RoomLink(core.Room{Platform: Platform, ID: s}, s)
		text = mrkdwn(r)
		if channelIDPattern.MatchString(s) {
			if text != "<#"+s+">" {
				t.Fatalf("room %q rendered as %q", s, text)
			}
		} else if strings.ContainsAny(text, "<>") {
			t.Fatalf("room %q rendered as %q", s, text)
		}
		raw, err = json.Marshal(blocks(r))
		if err != nil || strings.Contains(string(raw), `"type":"user"`) || strings.Contains(string(raw), `"type":"broadcast"`) ||
			strings.Contains(string(raw), `"type":"channel"`) != channelIDPattern.MatchString(s) {
			t.Fatalf("room %q: blocks %s, %v", s, raw, err)
		}
	})
}

func TestLongTextIsSplitNotCut(t *testing.T) {
	long := strings.Repeat("é", 2*maxTextElement+5)
	var m bots.Message
	m.Quote(long)
	raw, _ := json.Marshal(blocks(m))
	var blocks []richTextBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	var joined strings.Builder
	for _, l := range blocks[0].Elements[0].Elements {
		if n := utf8.RuneCountInString(l.Text); n > maxTextElement {
			t.Fatalf("element of %d characters", n)
		}
		joined.WriteString(l.Text)
	}
	if joined.String() != long {
		t.Fatalf("text changed: %d characters", utf8.RuneCountInString(joined.String()))
	}
}

// TestRenderRoom: a room of this workspace is a channel mention, in the
// text and in the blocks; a room of another platform, or an id of another
// shape, is escaped text.
func TestRenderRoom(t *testing.T) {
	for _, tc := range []struct {
		room      core.Room
		text      string
		wantText  string
		wantBlock string
	}{
		{core.Room{Platform: Platform, ID: "C1"}, "C1", "(<#C1>)", `{"type":"channel","channel_id":"C1"}`},
		{core.Room{Platform: "matrix", ID: "!a:b"}, "!a:b", "(!a:b)", `{"type":"text","text":"(!a:b)"}`},
		{core.Room{Platform: Platform, ID: "C1><!channel"}, "<!channel>", "(&lt;!channel&gt;)", `{"type":"text","text":"(\u003c!channel\u003e)"}`},
	} {
		var m bots.Message
		m.Text("(").RoomLink(tc.room, tc.text).Text(")")
		if got := mrkdwn(m); got != tc.wantText {
			t.Errorf("%+v: text %q, want %q", tc.room, got, tc.wantText)
		}
		raw, _ := json.Marshal(blocks(m))
		if !strings.Contains(string(raw), tc.wantBlock) {
			t.Errorf("%+v: blocks %s, want %s", tc.room, raw, tc.wantBlock)
		}
	}
}
