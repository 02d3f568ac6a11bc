package discord

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"entraide/bots"
	"entraide/internal/fixture"
	"entraide/internal/golden"
)

// hostileCard tries, in every text of a card, to ping, to link, to inject
// HTML or a javascript: link, and to format.
const hostileCard = "@room @everyone @here <@123> <@&456> <#789> </ask:1> <!channel> <@U123> <script>alert(1)</script> <a href=javascript:alert(1)>clic</a> **gras** __u__ ||spoiler|| ```code``` [lien](http://evil) > citation\n# titre\n- item"

// cardMessages are the announcements rendered into golden files: a job
// offer, an event, and a card whose every text is hostile.
func cardMessages() map[string]bots.Message {
	job, event := fixture.JobCard(), fixture.EventCard()
	// A long value, to show a field that is not inline.
	job.Card.Fields[3].Value = "Titulaire ou contractuel·le (CDD de 3 ans), temps complet, prise de poste au 1er février"

	var hostile bots.Message
	hostile.Text("Annonce :")
	hostile.Card = &bots.Card{
		Title:  hostileCard,
		URL:    "javascript:alert(1)",
		Fields: []bots.CardField{{Label: hostileCard, Value: hostileCard}, {Label: "", Value: ""}, {Label: "Lieu", Value: "@here"}},
		Body:   hostileCard + "\n" + hostileCard,
		Footer: hostileCard,
	}
	return map[string]bots.Message{"card_job": job, "card_event": event, "card_hostile": hostile}
}

func TestRenderCardGolden(t *testing.T) {
	for name, m := range cardMessages() {
		t.Run(name, func(t *testing.T) {
			var got strings.Builder
			enc := json.NewEncoder(&got)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(payloads(m)); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, name, got.String())
		})
	}
}

// checkEmbedInert fails when the messages of m could ping anyone, or when
// an embed carries a mention, a link or markup from the card's texts.
func checkEmbedInert(t testing.TB, m bots.Message) {
	t.Helper()
	for _, p := range payloads(m) {
		if p.AllowedMentions.Parse == nil || len(p.AllowedMentions.Parse) != 0 || len(p.AllowedMentions.Users) != 0 {
			t.Fatalf("allowed_mentions %+v", p.AllowedMentions)
		}
		for _, e := range p.Embeds {
			if e.URL != "" && !strings.HasPrefix(strings.ToLower(e.URL), "http://") && !strings.HasPrefix(strings.ToLower(e.URL), "https://") {
				t.Fatalf("embed links to %q", e.URL)
			}
			texts := []string{e.Title, e.Description}
			for _, f := range e.Fields {
				texts = append(texts, f.Name, f.Value)
			}
			for _, s := range texts {
				checkNoMention(t, s)
				checkEscaped(t, s)
			}
			if e.Footer != nil {
				checkNoMention(t, e.Footer.Text)
			}
		}
	}
}

func checkNoMention(t testing.TB, s string) {
	t.Helper()
	lower := strings.ToLower(s)
	for _, bad := range []string{"@everyone", "@here", "<@", "<#", "</", "<:", "<t:"} {
		if strings.Contains(lower, bad) {
			t.Fatalf("embed text %q contains %q", s, bad)
		}
	}
}

// checkEscaped fails when a markdown character of s has no backslash.
func checkEscaped(t testing.TB, s string) {
	t.Helper()
	r := []rune(s)
	for i := 0; i < len(r); i++ {
		if r[i] == '\\' {
			i++ // the escaped character
			continue
		}
		if strings.ContainsRune("*_`~|>#[]()-<", r[i]) {
			t.Fatalf("unescaped %q in embed text %q", r[i], s)
		}
	}
}

// TestRenderCardIsInert checks every card, hostile included: nothing
// pings, nothing formats, the javascript: URL is not linked, and the
// buttons stay under the embed.
func TestRenderCardIsInert(t *testing.T) {
	for name, m := range cardMessages() {
		t.Run(name, func(t *testing.T) {
			checkEmbedInert(t, m)
			msgs := payloads(m)
			last := msgs[len(msgs)-1]
			if len(last.Embeds) != 1 || len(last.Components) == 0 && len(m.Actions) > 0 {
				t.Errorf("last message: %d embeds, components %v", len(last.Embeds), last.Components)
			}
		})
	}
	e := payloads(cardMessages()["card_hostile"])[0].Embeds[0]
	if e.URL != "" {
		t.Errorf("javascript: URL kept: %q", e.URL)
	}
	if f := e.Fields[1]; f.Name != "Lieu" || f.Value != "@"+zwj+"here" || !f.Inline {
		t.Errorf("empty field not skipped, or short value not inline: %+v", e.Fields)
	}
	job := payloads(cardMessages()["card_job"])[0].Embeds[0]
	if job.Fields[0].Inline != true || job.Fields[3].Inline != false {
		t.Errorf("inline: %+v", job.Fields)
	}
}

// TestRenderCardLimits checks Discord's limits with a card too large in
// every way, and a long message whose embed goes with its last part.
func TestRenderCardLimits(t *testing.T) {
	long := strings.Repeat("é*<@", 3000)
	card := bots.Card{Title: long, URL: "https://example.org/" + strings.Repeat("a", 3000), Body: long, Footer: long}
	for range 40 {
		card.Fields = append(card.Fields, bots.CardField{Label: long, Value: long})
	}
	var m bots.Message
	m.Quote(strings.Repeat("a", 3000))
	m.Card = &card
	m.Actions = []bots.Action{{ID: "save:1", Label: "Enregistrer", Command: "save 1"}}
	checkEmbedInert(t, m)
	msgs := payloads(m)
	if len(msgs) < 2 || msgs[0].Embeds != nil || len(msgs[len(msgs)-1].Embeds) != 1 || msgs[len(msgs)-1].Components == nil {
		t.Fatalf("embed and buttons not under the last of %d messages", len(msgs))
	}
	e := msgs[len(msgs)-1].Embeds[0]
	if e.URL != "" {
		t.Error("URL over the length limit kept")
	}
	runes := utf8.RuneCountInString
	if runes(e.Title) > maxEmbedTitle || runes(e.Description) > maxEmbedDescription || len(e.Fields) > maxEmbedFields || runes(e.Footer.Text) > maxEmbedFooter {
		t.Errorf("limits: title %d, description %d, fields %d, footer %d", runes(e.Title), runes(e.Description), len(e.Fields), runes(e.Footer.Text))
	}
	for _, f := range e.Fields {
		if runes(f.Name) > maxEmbedFieldName || runes(f.Value) > maxEmbedFieldValue {
			t.Errorf("field of %d and %d characters", runes(f.Name), runes(f.Value))
		}
	}
	if e.size() > maxEmbedTotal {
		t.Errorf("embed of %d characters", e.size())
	}
	if len(e.Fields) == 0 {
		t.Error("every field given up")
	}

	body := bots.Card{Title: "t", Body: strings.Repeat("ab", 3000)}
	e, _ = cardEmbed(body)
	if runes(e.Description) != maxEmbedDescription || !strings.HasSuffix(e.Description, "…") {
		t.Errorf("description of %d characters", runes(e.Description))
	}
	if _, ok := cardEmbed(bots.Card{Fields: []bots.CardField{{}}}); ok {
		t.Error("an empty card makes an embed")
	}
}

func TestCutEscaped(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{`abc`, 3, `abc`},
		{`abcd`, 3, `ab…`},
		{`a\*b`, 3, `a…`},
		{`\*\*`, 3, `\*…`},
		{`ab`, 1, ``},
	} {
		if got := cutEscaped(c.in, c.n); got != c.want {
			t.Errorf("cutEscaped(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
