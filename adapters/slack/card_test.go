package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"entraide/bots"
	"entraide/internal/fixture"
	"entraide/internal/golden"
)

// hostileCard tries, in every text of a card, to ping, to link, to inject
// HTML or a javascript: link, and to format.
const hostileCard = "@room @everyone @here <!channel> <!here> <!everyone> <@U123> <#C42> <!subteam^S1|@team> <script>alert(1)</script> <a href=javascript:alert(1)>clic</a> *gras* **x** _it_ ```code``` <https://evil|ici> & &amp; &lt;"

// cardMessages are the announcements rendered into golden files: a job
// offer, an event, and a card whose every text is hostile.
func cardMessages() map[string]bots.Message {
	job, event := fixture.JobCard(), fixture.EventCard()

	var hostile bots.Message
	hostile.Text("Annonce :")
	hostile.Card = &bots.Card{
		Title:  hostileCard,
		URL:    "javascript:alert(1)",
		Fields: []bots.CardField{{Label: hostileCard, Value: hostileCard}, {Label: "Lieu", Value: "<!here>\n<b>Lyon</b>"}},
		Body:   hostileCard + "\n" + hostileCard,
		Footer: hostileCard,
	}
	return map[string]bots.Message{"card_job": job, "card_event": event, "card_hostile": hostile}
}

func TestRenderCardGolden(t *testing.T) {
	for name, m := range cardMessages() {
		t.Run(name, func(t *testing.T) { golden.Check(t, name, rendered(t, m)) })
	}
}

// withoutLinks removes the http(s) links the renderer writes ("<url|label>"
// becomes label, "<url>" goes), failing on a link to anything else.
func withoutLinks(t testing.TB, s string) string {
	t.Helper()
	var b strings.Builder
	for {
		i := strings.Index(s, "<http")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		end := strings.IndexAny(s, "|>")
		if end < 0 {
			t.Fatalf("unclosed link in %q", s)
		}
		link, sep := s[:end], s[end]
		if !strings.HasPrefix(link, "http://") && !strings.HasPrefix(link, "https://") || strings.ContainsAny(link, "< ") {
			t.Fatalf("link to %q", link)
		}
		s = s[end+1:]
		if sep == '|' {
			j := strings.IndexByte(s, '>')
			if j < 0 {
				t.Fatalf("unclosed link label in %q", s)
			}
			b.WriteString(s[:j])
			s = s[j+1:]
		}
	}
}

// checkCardInert fails when m's rendering could notify anyone or carries
// markup from the card's texts: in mrkdwn, the only "<" open the
// renderer's http(s) links and the only ">" close them or start a Quote
// span's lines; other texts are plain_text.
func checkCardInert(t testing.TB, m bots.Message) {
	t.Helper()
	for line := range strings.SplitSeq(mrkdwn(m), "\n") {
		if rest := withoutLinks(t, strings.TrimPrefix(line, "> ")); strings.ContainsAny(rest, "<>") {
			t.Fatalf("text fallback has markup from the card: %q", mrkdwn(m))
		}
	}
	for _, b := range blocks(m) {
		switch b := b.(type) {
		case *slack.SectionBlock:
			objs := b.Fields
			if b.Text != nil {
				objs = append(objs, b.Text)
			}
			for _, o := range objs {
				if o.Type == slack.MarkdownType {
					if !o.Verbatim {
						t.Errorf("mrkdwn not verbatim: %q", o.Text)
					}
					if rest := withoutLinks(t, o.Text); strings.ContainsAny(rest, "<>") {
						t.Fatalf("mrkdwn with markup from the card: %q", o.Text)
					}
				}
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if o, ok := e.(*slack.TextBlockObject); !ok || o.Type != slack.PlainTextType {
					t.Errorf("context element %#v is not plain text", e)
				}
			}
		}
	}
	raw, _ := json.Marshal(blocks(m))
	if strings.Contains(string(raw), `"type":"user"`) || strings.Contains(string(raw), `"broadcast"`) {
		t.Fatalf("blocks notify: %s", raw)
	}
}

// TestRenderCardIsInert checks every card, hostile included: nothing
// notifies, the javascript: URL is not linked, buttons come after the card.
func TestRenderCardIsInert(t *testing.T) {
	for name, m := range cardMessages() {
		t.Run(name, func(t *testing.T) {
			checkCardInert(t, m)
			bs := blocks(m)
			if len(m.Actions) > 0 && bs[len(bs)-1].BlockType() != slack.MBTAction {
				t.Errorf("last block is %s, want the buttons", bs[len(bs)-1].BlockType())
			}
		})
	}
	m := cardMessages()["card_hostile"]
	raw, _ := json.Marshal(blocks(m))
	if strings.Contains(mrkdwn(m), "javascript:alert(1)|") || strings.Contains(string(raw), "<javascript") {
		t.Errorf("the javascript: URL is linked")
	}
	if !strings.Contains(string(raw), `"text":"*@room @everyone @here \u0026lt;!channel\u0026gt;`) {
		t.Errorf("title not escaped: %s", raw)
	}
}

// TestRenderCardLimits checks Block Kit's limits with a card too large in
// every way.
func TestRenderCardLimits(t *testing.T) {
	long := strings.Repeat("é&<", 5000)
	card := bots.Card{Title: long, URL: "https://example.org/?q=" + strings.Repeat("&", 3000), Body: long, Footer: long}
	for range 40 {
		card.Fields = append(card.Fields, bots.CardField{Label: long, Value: long})
	}
	m := bots.Message{Card: &card, Actions: []bots.Action{{ID: "save:1", Label: "Enregistrer", Command: "save 1"}}}
	checkCardInert(t, m)
	bs := blocks(m)
	fields := 0
	for _, b := range bs {
		switch b := b.(type) {
		case *slack.SectionBlock:
			if len(b.Fields) > maxSectionFields {
				t.Errorf("section of %d fields", len(b.Fields))
			}
			fields += len(b.Fields)
			for _, f := range b.Fields {
				if n := utf8.RuneCountInString(f.Text); n > maxFieldText {
					t.Errorf("field of %d characters", n)
				}
			}
			if b.Text != nil {
				if n := utf8.RuneCountInString(b.Text.Text); n > maxSectionText {
					t.Errorf("section text of %d characters", n)
				}
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if n := utf8.RuneCountInString(e.(*slack.TextBlockObject).Text); n > maxCardFooter {
					t.Errorf("footer of %d characters", n)
				}
			}
		}
	}
	if fields != maxCardFields {
		t.Errorf("%d fields, want %d", fields, maxCardFields)
	}
	if len(bs) > 50 {
		t.Errorf("%d blocks", len(bs))
	}
	if bs[len(bs)-1].BlockType() != slack.MBTAction {
		t.Error("the buttons are not kept after a large card")
	}
	if n := len(mrkdwn(m)); n > maxFallback {
		t.Errorf("fallback of %d bytes", n)
	}
	if strings.Contains(mrkdwn(m), "<https://example.org") {
		t.Error("a link too long for a section is kept")
	}
}

// TestFallbackNeverCutsLink checks that the text fallback keeps the title's
// link whole or leaves it out, wherever the fallback is cut.
func TestFallbackNeverCutsLink(t *testing.T) {
	for _, n := range []int{0, 3000, 3900, 3990, maxFallback} {
		var m bots.Message
		m.Text(strings.Repeat("a", n))
		m.Card = &bots.Card{Title: strings.Repeat("t&", 100), URL: "https://example.org/" + strings.Repeat("&", 1000), Body: "corps"}
		text := mrkdwn(m)
		if strings.Contains(text, "<https://") && !strings.Contains(text, ">*") {
			t.Errorf("after %d characters, the link is cut: %q", n, text[max(0, len(text)-100):])
		}
		withoutLinks(t, text)
	}
}

func TestLinkURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.org/a?b=1&c=2": "https://example.org/a?b=1&amp;c=2",
		"https://example.org/a|b":       "https://example.org/a%7Cb",
		"HTTP://example.org":            "HTTP://example.org",
		"javascript:alert(1)":           "",
		"data:text/html,<b>x</b>":       "",
		"//example.org":                 "",
		"https://user:pw@example.org":   "",
		"https://example.org/<!here>":   "",
		"https://exa mple.org":          "",
		"ftp://example.org":             "",
		"":                              "",
	} {
		if got := linkURL(in); got != want {
			t.Errorf("linkURL(%q) = %q, want %q", in, got, want)
		}
	}
}
