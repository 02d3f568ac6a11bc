package console_test

import (
	"bytes"
	"context"
	"entraide/internal/golden"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"entraide/adapters/console"
	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// play runs a script through a console over store, on a clock that stands
// still, and returns what the console printed.
func play(t *testing.T, store *sqlstore.Store, script string) string {
	t.Helper()
	clock := core.NewManualClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	net, err := core.NewNetwork(store, nil, clock, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	bot, err := bots.New(net, bots.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c, err := console.New(console.DefaultConfig(), &out, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := bots.NewPipeline(store, bot, []bots.Sender{c}, clock, bots.DefaultPipelineConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background(), strings.NewReader(script), p); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestScripts plays each testdata script on every backend: the output is the
// same on SQLite and PostgreSQL, and equals the golden file.
func TestScripts(t *testing.T) {
	for _, name := range []string{"issue", "mistakes", "availability", "anonymous", "bulletin", "accept"} {
		script, err := os.ReadFile(filepath.Join("testdata", name+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		for backend, open := range sqlstoretest.Backends() {
			t.Run(name+"/"+backend, func(t *testing.T) {
				golden.Check(t, name, play(t, open(t), string(script)))
			})
		}
	}
}

// TestIssueScenario states the foundation's promise without golden files:
// bob gets the question by DM, its answer reaches #general, carol gets
// nothing.
func TestIssueScenario(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("testdata", "issue.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			out := play(t, open(t), string(script))
			var dmBob, answerInGeneral bool
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, "[dm bob]") && strings.Contains(line, "Comment rédiger le cahier des charges d'un marché public de fournitures ?") {
					dmBob = true
				}
				if strings.HasPrefix(line, "[#general") && strings.Contains(line, "Partez du modèle de la DAJ et adaptez les clauses techniques.") {
					answerInGeneral = true
				}
				if strings.HasPrefix(line, "[dm carol]") {
					t.Errorf("carol got %q", line)
				}
			}
			if !dmBob || !answerInGeneral {
				t.Errorf("DM to bob with the question: %v; answer in #general: %v\n%s", dmBob, answerInGeneral, out)
			}
		})
	}
}

// TestIDsSurviveRestart checks that message numbers continue across runs on
// one database, so a thread id never points at two messages.
func TestIDsSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.db")
	var outs []string
	for range 2 {
		store, err := sqlstore.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, play(t, store, "alice> !aide\n"))
		store.Close()
	}
	if !strings.HasPrefix(outs[0], "[#general thread 1]") || !strings.HasPrefix(outs[1], "[#general thread 2]") {
		t.Fatalf("runs printed %q", outs)
	}
}

func TestParseLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		want console.Line
		ok   bool
		err  bool
	}{
		{in: "alice> !ask Quoi ?", want: console.Line{User: "alice", Room: "#general", Text: "!ask Quoi ?"}, ok: true},
		{in: "  bob@#rh>   bonjour  ", want: console.Line{User: "bob", Room: "#rh", Text: "bonjour"}, ok: true},
		{in: "bob@dm> !answer 1 oui", want: console.Line{User: "bob", DM: true, Text: "!answer 1 oui"}, ok: true},
		{in: "bob@DM> x", want: console.Line{User: "bob", DM: true, Text: "x"}, ok: true},
		{in: "élodie> a > b", want: console.Line{User: "élodie", Room: "#general", Text: "a > b"}, ok: true},
		{in: "alice>", want: console.Line{User: "alice", Room: "#general"}, ok: true},
		{in: ""},
		{in: "   "},
		{in: "# a comment"},
		{in: "no prompt", err: true},
		{in: "> text", err: true},
		{in: "bad name> x", err: true},
		{in: "alice@general> x", err: true},
		{in: "alice@#> x", err: true},
		{in: "alice@#a b> x", err: true},
		{in: "\xff> x", err: true},
	} {
		got, ok, err := console.ParseLine(c.in, "#general")
		if (err != nil) != c.err || ok != c.ok || got != c.want {
			t.Errorf("ParseLine(%q) = %+v, %v, %v", c.in, got, ok, err)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"alice> !ask q", "bob@#rh> x", "bob@dm> y", "# c", "a@>", "\xff", "x@#\x00> y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, ok, err := console.ParseLine(s, "#general")
		if err != nil || !ok {
			return
		}
		if l.User == "" || (l.DM != (l.Room == "")) || strings.ContainsAny(l.User, "@> ") {
			t.Fatalf("ParseLine(%q) = %+v", s, l)
		}
		if l.Room != "" && !strings.HasPrefix(l.Room, "#") {
			t.Fatalf("room %q", l.Room)
		}
	})
}

func TestRenderIsOneSafeLine(t *testing.T) {
	var m bots.Message
	m.Text("Question ").Strong("3").Break().Quote("ligne 1\nligne 2\r\n\x1b[2J\x07fin\u202e").Mention(core.Identity{Platform: "console", User: "alice"}, "alice")
	a, err := console.New(console.DefaultConfig(), io.Discard, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		to   bots.Destination
		want string
	}{
		{bots.Destination{Platform: "console", Room: "#g", Thread: "4"}, "[#g thread 4] entraide: "},
		{bots.Destination{Platform: "console", Room: "#g"}, "[#g] entraide: "},
		{bots.Destination{Platform: "console", User: "bob"}, "[dm bob] entraide: "},
	} {
		got := a.Render(bots.Outgoing{To: c.to})
		if got != c.want {
			t.Errorf("Render(%+v) = %q, want %q", c.to, got, c.want)
		}
	}
	got := console.RenderText(m)
	want := "Question 3 / « ligne 1 ligne 2 [2Jfin »@alice"
	if got != want {
		t.Fatalf("RenderText = %q, want %q", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := console.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []console.Config{{Room: "general", BotName: "e"}, {Room: "#general", BotName: " "}, {Room: "#a b", BotName: "e"}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// TestAnonymousQuestionNamesNoOne checks that nothing the bot sends to
// others names the asker of an anonymous question.
func TestAnonymousQuestionNamesNoOne(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("testdata", "anonymous.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out := play(t, sqlstoretest.SQLite(t), string(script))
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, "[dm alice]") && strings.Contains(line, "alice") {
			t.Errorf("names the asker: %s", line)
		}
	}
	if !strings.Contains(out, "[dm alice] entraide: Réponse de bob à la question n°1") || !strings.Contains(out, "posée par un agent (anonyme)") {
		t.Errorf("the anonymous loop did not complete:\n%s", out)
	}
}

// cardMessages are announcements: a job offer, an event, and a card whose
// every text is hostile.
func cardMessages() []bots.Message {
	var job bots.Message
	job.Strong("Nouvelle offre d'emploi").Text(" correspondant à vos abonnements :")
	job.Card = &bots.Card{
		Title: "Chargé·e de mission achats responsables (H/F)",
		URL:   "https://choisirleservicepublic.gouv.fr/offre-emploi/2026-1234567/?source=entraide&lang=fr",
		Fields: []bots.CardField{
			{Label: "Employeur", Value: "Direction des achats de l'État"},
			{Label: "Lieu", Value: "Lyon (69)"},
			{Label: "Catégorie", Value: "A — attaché·e d'administration"},
			{Label: "Contrat", Value: "Titulaire ou contractuel·le (CDD de 3 ans)"},
			{Label: "Télétravail", Value: "2 jours par semaine"},
			{Label: "Date limite", Value: "15 décembre 2026"},
		},
		Body:   "Au sein du bureau de la performance, vous pilotez la politique d'achats responsables.\n\nMissions :\n- animer le réseau des acheteurs ;\n- suivre les clauses sociales et environnementales.",
		Footer: "Offre n°12 · importée de Choisir le service public",
	}
	job.Actions = []bots.Action{{Kind: bots.ActionCommand, ID: "save:job:12", Label: "Enregistrer", Command: "save job 12"}}

	var event bots.Message
	event.Text("Événement à venir dans ").Strong("#achats").Text(" :")
	event.Card = &bots.Card{
		Title: "Webinaire : la commande publique responsable",
		URL:   "https://www.economie.gouv.fr/daj/webinaire-achats-2026",
		Fields: []bots.CardField{
			{Label: "Organisateur", Value: "Direction des affaires juridiques"},
			{Label: "Début", Value: "jeudi 3 décembre 2026, 14 h 00 (Europe/Paris)"},
			{Label: "Lieu", Value: "En visio"},
		},
		Body:   "Présentation du nouveau guide, puis questions-réponses.",
		Footer: "Événement n°5 · 12 inscrits",
	}
	event.Actions = []bots.Action{
		{Kind: bots.ActionCommand, ID: "rsvp:5:yes", Label: "Je viens", Command: "rsvp 5 yes"},
		{Kind: bots.ActionCommand, ID: "rsvp:5:maybe", Label: "Peut-être", Command: "rsvp 5 maybe"},
	}

	hostileText := "@room @everyone <!channel> <@U123> <script>alert(1)</script> **x** ```\n\x1b[2J\x07fin\u202e"
	hostile := bots.Message{Card: &bots.Card{
		Title: hostileText, URL: "javascript:alert(1)",
		Fields: []bots.CardField{{Label: hostileText, Value: hostileText}},
		Body:   hostileText, Footer: hostileText,
	}}
	return []bots.Message{job, event, hostile}
}

// TestRenderCards shows announcements as the console prints them: each on
// one line, its card after its text.
func TestRenderCards(t *testing.T) {
	a, err := console.New(console.DefaultConfig(), io.Discard, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, m := range cardMessages() {
		line := a.Render(bots.Outgoing{To: bots.Destination{Platform: "console", Room: "#emploi"}, Message: m})
		if strings.ContainsAny(line, "\n\r\x1b\x07\u202e") {
			t.Errorf("not one safe line: %q", line)
		}
		got.WriteString(line + "\n")
	}
	golden.Check(t, "cards", got.String())
}
