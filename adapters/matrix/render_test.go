package matrix

import (
	"encoding/json"
	"entraide/internal/golden"
	"html"
	"strings"
	"testing"

	"entraide/bots"
	"entraide/core"
)

// TestRender checks the HTML of each kind of span and that relayed text
// never carries markup or notifies anyone.
func TestRender(t *testing.T) {
	bob := core.Identity{Platform: Platform, User: "@bob:example.org"}
	for _, tc := range []struct {
		name     string
		msg      *bots.Message
		body     string
		html     string
		mentions []string
	}{
		{"plain", new(bots.Message).Text("Bonjour"), "Bonjour", "Bonjour", nil},
		{"kinds", new(bots.Message).Text("Tapez ").Code("!ask <q>").Text(" ou ").Strong("lisez"), "Tapez !ask <q> ou lisez",
			"Tapez <code>!ask &lt;q&gt;</code> ou <strong>lisez</strong>", nil},
		{"room ping in a quote", new(bots.Message).Text("Question : ").Quote("@room urgent !"), "Question : « @room urgent ! »",
			"Question : « @room urgent ! »", nil},
		{"script", new(bots.Message).Quote(`<script>alert("x")</script>`), `« <script>alert("x")</script> »`,
			"« &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; »", nil},
		{"markdown stays text", new(bots.Message).Quote("**gras** [lien](http://x) `code`"), "« **gras** [lien](http://x) `code` »",
			"« **gras** [lien](http://x) `code` »", nil},
		{"user id in quote", new(bots.Message).Quote("@bob:example.org regarde"), "« @bob:example.org regarde »",
			"« @bob:example.org regarde »", nil},
		{"mention", new(bots.Message).Text("Merci ").Mention(bob, "Bob <B>"), "Merci @Bob <B>",
			`Merci <a href="https://matrix.to/#/@bob:example.org">Bob &lt;B&gt;</a>`, []string{"@bob:example.org"}},
		{"mention elsewhere", new(bots.Message).Mention(core.Identity{Platform: "slack", User: "U1"}, "carol"), "@carol", "@carol", nil},
		{"breaks", new(bots.Message).Text("a").Break().Quote("l1\nl2"), "a\n« l1\nl2 »", "a<br>« l1<br>l2 »", nil},
		{"room", new(bots.Message).Text("(").RoomLink(core.Room{Platform: Platform, ID: "!abc:example.org"}, "!abc:example.org").Text(")"),
			"(!abc:example.org)", `(<a href="https://matrix.to/#/%21abc:example.org">!abc:example.org</a>)`, nil},
		{"room elsewhere", new(bots.Message).RoomLink(core.Room{Platform: "slack", ID: "C1"}, "<C1>"), "<C1>", "&lt;C1&gt;", nil},
		{"room not an id", new(bots.Message).RoomLink(core.Room{Platform: Platform, ID: "#x:y\"><script>"}, "x"), "x", "x", nil},
		{"ampersand", new(bots.Message).Strong("R&D"), "R&D", "<strong>R&amp;D</strong>", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Render(*tc.msg)
			if c.MsgType != "m.notice" || c.Format != "org.matrix.custom.html" {
				t.Errorf("msgtype %q format %q", c.MsgType, c.Format)
			}
			if c.Body != tc.body {
				t.Errorf("body %q, want %q", c.Body, tc.body)
			}
			if c.FormattedBody != tc.html {
				t.Errorf("formatted_body %q, want %q", c.FormattedBody, tc.html)
			}
			if c.Mentions == nil {
				t.Fatal("m.mentions missing")
			}
			if strings.Join(idsToStrings(c.Mentions.UserIDs), ",") != strings.Join(tc.mentions, ",") || c.Mentions.Room {
				t.Errorf("mentions %+v, want %v", c.Mentions, tc.mentions)
			}
		})
	}
}

// TestRenderJSON compares the JSON sent to the homeserver with a golden
// file: m.mentions is present and empty for relayed text.
func TestRenderJSON(t *testing.T) {
	var m bots.Message
	m.Strong("Nouvelle question").Break().Quote("@room <b>urgent</b> & co").Break().Text("Répondez avec ").Code("!answer 12 ...")
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Render(m)); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	golden.Check(t, "render.json", got)
	if !strings.Contains(got, `"m.mentions": {}`) {
		t.Errorf("m.mentions is not an empty object:\n%s", got)
	}
}

func idsToStrings[T ~string](ids []T) []string {
	out := make([]string, len(ids))
	for i, v := range ids {
		out[i] = string(v)
	}
	return out
}

// FuzzRender checks that no text from a span or a card reaches the HTML
// unescaped: once the tags the renderer writes are removed, no '<' is left;
// only http(s) addresses are linked, and the body starts with the plain
// text of the spans.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"@room", "<script>alert(1)</script>", "a\nb", "**x**", `"><img src=x onerror=alert(1)>`, "&lt;"} {
		f.Add(s, "@bob:example.org", "https://example.org/?a=1&b=2")
		f.Add(s, "@room", "javascript:alert(1)")
		f.Add(s, "!abc:example.org", "https://example.org/")
	}
	f.Fuzz(func(t *testing.T, text, user, link string) {
		var m bots.Message
		m.Text(text).Strong(text).Code(text).Quote(text).Break().Mention(core.Identity{Platform: Platform, User: user}, text).
			RoomLink(core.Room{Platform: Platform, ID: user}, text)
		m.Card = &bots.Card{Title: text, URL: link, Fields: []bots.CardField{{Label: text, Value: text}}, Body: text, Footer: text}
		c := Render(m)
		rest := c.FormattedBody
		if u, ok := mentionable(bots.Span{Who: core.Identity{Platform: Platform, User: user}}); ok {
			link := `<a href="` + html.EscapeString(u.URI().MatrixToURL()) + `">`
			if !strings.Contains(rest, link) {
				t.Fatalf("mention link %q missing from %q", link, rest)
			}
			rest = strings.ReplaceAll(rest, link, "")
		}
		if r, ok := linkableRoom(bots.Span{Where: core.Room{Platform: Platform, ID: user}}); ok {
			link := `<a href="` + html.EscapeString(r.URI().MatrixToURL()) + `">`
			if !strings.Contains(rest, link) {
				t.Fatalf("room link %q missing from %q", link, rest)
			}
			rest = strings.ReplaceAll(rest, link, "")
		}
		if i := strings.Index(rest, `<p><strong><a href="`); i >= 0 {
			href, _, ok := strings.Cut(rest[i+len(`<p><strong><a href="`):], `">`)
			if h := strings.ToLower(href); !ok || !strings.HasPrefix(h, "http://") && !strings.HasPrefix(h, "https://") {
				t.Fatalf("title links to %q", href)
			}
			rest = strings.Replace(rest, `<a href="`+href+`">`, "", 1)
		}
		for _, tag := range cardTags {
			rest = strings.ReplaceAll(rest, tag, "")
		}
		if strings.ContainsAny(rest, "<>") {
			t.Fatalf("unescaped markup in %q (from %q)", c.FormattedBody, text)
		}
		if !strings.HasPrefix(c.Body, bots.Message{Spans: m.Spans}.PlainText()) {
			t.Fatalf("body %q, want it to start with %q", c.Body, m.PlainText())
		}
		if c.Mentions == nil || c.Mentions.Room {
			t.Fatalf("mentions %+v", c.Mentions)
		}
		if len(c.Mentions.UserIDs) > 1 {
			t.Fatalf("mentions %v, want at most the one mentioned on purpose", c.Mentions.UserIDs)
		}
	})
}
