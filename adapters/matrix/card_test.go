package matrix

import (
	"encoding/json"
	"strings"
	"testing"

	"entraide/bots"
	"entraide/internal/fixture"
	"entraide/internal/golden"
)

// hostileCard tries, in every text of a card, to ping the room or a user,
// to inject HTML or a javascript: link, and to format with markdown.
const hostileCard = "@room @everyone @here <!channel> <!here> <@U123> @bob:example.org <script>alert(1)</script> <a href=javascript:alert(1)>clic</a> **gras** ```code``` [lien](http://evil) & &amp; \"'"

// cardMessages are the announcements rendered into golden files: a job
// offer, an event, and a card whose every text is hostile.
func cardMessages() map[string]bots.Message {
	job, event := fixture.JobCard(), fixture.EventCard()

	var hostile bots.Message
	hostile.Text("Annonce :")
	hostile.Card = &bots.Card{
		Title:  hostileCard,
		URL:    "javascript:alert(1)",
		Fields: []bots.CardField{{Label: hostileCard, Value: hostileCard}, {Label: "Lieu", Value: "@room\n<b>Lyon</b>"}},
		Body:   hostileCard + "\n" + hostileCard,
		Footer: hostileCard,
	}
	return map[string]bots.Message{"card_job": job, "card_event": event, "card_hostile": hostile}
}

func marshalContent(t *testing.T, m bots.Message) string {
	t.Helper()
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Render(m)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestRenderCardGolden compares the content of announcements with golden
// files.
func TestRenderCardGolden(t *testing.T) {
	for name, m := range cardMessages() {
		t.Run(name, func(t *testing.T) {
			golden.Check(t, name+".json", marshalContent(t, m))
		})
	}
}

// cardTags are the tags cardHTML writes, besides a title's link.
var cardTags = []string{"<p>", "</p>", "<strong>", "</strong>", "<ul>", "</ul>", "<li>", "</li>", "<b>", "</b>", "<em>", "</em>", "<br>", "</a>", "<code>", "</code>"}

// checkCardInert fails when the content of c could notify anyone or carries
// markup other than the renderer's own tags and an http(s) title link.
func checkCardInert(t *testing.T, c bots.Message) {
	t.Helper()
	content := Render(c)
	if content.Mentions == nil || content.Mentions.Room || len(content.Mentions.UserIDs) != 0 {
		t.Fatalf("m.mentions %+v", content.Mentions)
	}
	rest := content.FormattedBody
	if i := strings.Index(rest, `<a href="`); i >= 0 {
		end := strings.Index(rest[i:], `">`)
		href := rest[i+len(`<a href="`) : i+end]
		if !strings.HasPrefix(href, "https://") && !strings.HasPrefix(href, "http://") {
			t.Fatalf("link to %q", href)
		}
		rest = rest[:i] + rest[i+end+2:]
	}
	for _, tag := range cardTags {
		rest = strings.ReplaceAll(rest, tag, "")
	}
	if strings.ContainsAny(rest, "<>\"") {
		t.Fatalf("unescaped markup in %q", content.FormattedBody)
	}
}

// TestRenderCardIsInert checks the hostile card: nothing notifies, the
// javascript: URL is not linked, every text is escaped.
func TestRenderCardIsInert(t *testing.T) {
	for name, m := range cardMessages() {
		t.Run(name, func(t *testing.T) { checkCardInert(t, m) })
	}
	c := Render(cardMessages()["card_hostile"])
	if strings.Contains(c.FormattedBody, "<a ") || strings.Contains(c.Body, "<javascript:alert(1)>") {
		t.Errorf("the javascript: URL is linked:\n%s\n%s", c.FormattedBody, c.Body)
	}
	for _, want := range []string{"&lt;script&gt;", "@room", "**gras**", "&lt;a href=javascript:alert(1)&gt;"} {
		if !strings.Contains(c.FormattedBody, want) {
			t.Errorf("formatted_body lacks %q: %s", want, c.FormattedBody)
		}
	}
}

// TestRenderCardLimits checks that a long card is cut to the limits, and
// that even a card of hostile size keeps the event under Matrix's limit.
func TestRenderCardLimits(t *testing.T) {
	card := bots.Card{
		Title:  strings.Repeat("T", 1000),
		URL:    "https://example.org/" + strings.Repeat("a", 3000),
		Body:   strings.Repeat("é", 10000),
		Footer: "Offre 3",
	}
	for range 40 {
		card.Fields = append(card.Fields, bots.CardField{Label: "Lieu", Value: "Lyon"})
	}
	c := Render(bots.Message{Card: &card})
	if strings.Contains(c.FormattedBody, "<a ") {
		t.Error("a URL over the length limit is linked")
	}
	if n := strings.Count(c.FormattedBody, "<li>"); n != maxCardFields {
		t.Errorf("%d fields, want %d", n, maxCardFields)
	}
	if want := strings.Repeat("T", maxCardTitle-1) + "…\n"; !strings.HasPrefix(c.Body, want) {
		t.Errorf("title not cut to %d characters: %.300q", maxCardTitle, c.Body)
	}
	if want := "\n" + strings.Repeat("é", maxCardBody-1) + "…\nOffre 3"; !strings.HasSuffix(c.Body, want) {
		t.Errorf("body not cut to %d characters", maxCardBody)
	}

	huge := strings.Repeat(`"<&é`, 20000)
	card = bots.Card{Title: huge, URL: "https://example.org/", Body: huge, Footer: huge}
	for range 40 {
		card.Fields = append(card.Fields, bots.CardField{Label: huge, Value: huge})
	}
	m := bots.Message{Card: &card}
	checkCardInert(t, m)
	raw, err := json.Marshal(Render(m))
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > maxContentBytes {
		t.Errorf("event content of %d bytes", len(raw))
	}

	// A card of ordinary size is not cut.
	job := cardMessages()["card_job"]
	if got := Render(job).Body; !strings.Contains(got, job.Card.Body) || !strings.Contains(got, job.Card.URL) {
		t.Errorf("job offer cut: %q", got)
	}
}

func TestLinkURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.org/a?b=1&c=2": "https://example.org/a?b=1&c=2",
		"HTTP://example.org":            "HTTP://example.org",
		"javascript:alert(1)":           "",
		"JavaScript:alert(1)":           "",
		"data:text/html,<b>x</b>":       "",
		"//example.org":                 "",
		"/relative":                     "",
		"https://user:pw@example.org":   "",
		"https://example.org/\"onclick": "",
		"https://exa mple.org":          "",
		"https://example.org/\n":        "",
		"https:///nohost":               "",
		"ftp://example.org":             "",
		"":                              "",
	} {
		if got := linkURL(in); got != want {
			t.Errorf("linkURL(%q) = %q, want %q", in, got, want)
		}
	}
}
