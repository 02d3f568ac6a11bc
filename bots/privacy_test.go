package bots_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// recordingPlatform is a Sender of one named platform that keeps every
// message it was given, files included.
type recordingPlatform struct {
	name core.Platform
	mu   sync.Mutex
	out  []bots.Outgoing
}

func (p *recordingPlatform) Platform() core.Platform { return p.name }

func (p *recordingPlatform) Send(_ context.Context, o bots.Outgoing) (bots.Sent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out = append(p.out, o)
	return bots.Sent{MessageID: fmt.Sprintf("%s-%d", p.name, len(p.out))}, nil
}

// world drives a pipeline with two platforms, "tchap" and "slack", on a
// fake clock.
type world struct {
	t        *testing.T
	store    *sqlstore.Store
	clock    *core.ManualClock
	p        *bots.Pipeline
	net      *core.Network
	tchap    *recordingPlatform
	slack    *recordingPlatform
	n        int
	platform map[core.Platform]*recordingPlatform
}

func newWorld(t *testing.T, store *sqlstore.Store, cfg core.Config, botCfg bots.Config) *world {
	w := &world{t: t, store: store, clock: core.NewManualClock(t0),
		tchap: &recordingPlatform{name: "tchap"}, slack: &recordingPlatform{name: "slack"}}
	w.platform = map[core.Platform]*recordingPlatform{"tchap": w.tchap, "slack": w.slack}
	net, err := core.NewNetwork(store, nil, w.clock, cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.net = net
	bot, err := bots.New(net, botCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.p, err = bots.NewPipeline(store, bot, []bots.Sender{w.tchap, w.slack}, w.clock, bots.DefaultPipelineConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// say delivers what who wrote (in room, "" for a DM, with tenant) and
// returns the messages it caused, on every platform.
func (w *world) say(who core.Identity, name, tenant, room, text string) []bots.Outgoing {
	w.t.Helper()
	w.n++
	before := map[core.Platform]int{"tchap": len(w.tchap.out), "slack": len(w.slack.out)}
	ev := bots.Event{ID: fmt.Sprintf("e%d", w.n), Platform: who.Platform, Room: room, DM: room == "", Sender: who,
		SenderName: name, Text: text, Tenant: tenant}
	ctx := context.Background()
	if err := w.p.Deliver(ctx, ev); err != nil {
		w.t.Fatal(err)
	}
	if err := w.p.Drain(ctx); err != nil {
		w.t.Fatal(err)
	}
	var got []bots.Outgoing
	for _, name := range []core.Platform{"tchap", "slack"} {
		got = append(got, w.platform[name].out[before[name]:]...)
	}
	return got
}

func texts(out []bots.Outgoing) string {
	var lines []string
	for _, o := range out {
		lines = append(lines, fmt.Sprintf("%s %s/%s: %s", o.To.Platform, o.To.Room, o.To.User, o.Message.PlainText()))
	}
	return strings.Join(lines, "\n")
}

func wantSaid(t *testing.T, out []bots.Outgoing, parts ...string) {
	t.Helper()
	got := texts(out)
	for _, p := range parts {
		if !strings.Contains(got, p) {
			t.Fatalf("want %q in:\n%s", p, got)
		}
	}
}

var codeRE = regexp.MustCompile(`[A-Z0-9]{4}-[A-Z0-9]{4}`)

// TestLinkExportForget: an agent links their Tchap and Slack accounts,
// gets everything entraide holds about them as a JSON file, then erases
// it; afterwards nothing of them is left in any table, on SQLite and
// PostgreSQL.
func TestLinkExportForget(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			store := open(t)
			w := newWorld(t, store, core.DefaultConfig(), bots.DefaultConfig())
			alice := core.Identity{Platform: "tchap", User: "@alice.zephyrine-agriculture.gouv.fr:agent.tchap.gouv.fr"}
			aliceSlack := core.Identity{Platform: "slack", User: "U0ALICEZ"}
			carol := core.Identity{Platform: "slack", User: "U0CAROL"}
			const name = "Alice Zéphyrine"

			w.say(carol, "Carol", "T1", "C1", "!expert congés, mutations")
			out := w.say(alice, name, "", "!room", "!ask Zorglub : quels congés pour un déménagement ?")
			wantSaid(t, out, "slack /U0CAROL: ")
			out = w.say(carol, "Carol", "T1", "", "!answer Un jour, selon la circulaire.")
			wantSaid(t, out, "tchap !room/: ", "Un jour, selon la circulaire.")
			w.say(aliceSlack, name, "T1", "", "!expert drones agricoles")

			// Link: the code comes by DM on Tchap, even when asked in a room.
			out = w.say(alice, name, "", "!room", "!link")
			wantSaid(t, out, "tchap /"+alice.User+": ", "tchap !room/: Je vous ai répondu en message privé.")
			code := codeRE.FindString(texts(out))
			if code == "" {
				t.Fatalf("no code in:\n%s", texts(out))
			}
			out = w.say(aliceSlack, name, "T1", "C1", "!link "+code)
			wantSaid(t, out, "en message privé au robot, pas dans un salon")
			out = w.say(alice, name, "", "", "!link")
			code = codeRE.FindString(texts(out))
			out = w.say(aliceSlack, name, "T1", "", "!link "+code)
			wantSaid(t, out, "vos comptes sont reliés", "Vos comptes : "+alice.String()+", slack:U0ALICEZ")

			// One profile: the Slack topics joined the Tchap profile.
			p, err := store.PersonByIdentity(context.Background(), aliceSlack)
			if err != nil {
				t.Fatal(err)
			}
			if e, err := store.Expert(context.Background(), p.ID); err != nil || strings.Join(e.Topics, ",") != "drones agricoles" {
				t.Fatalf("expert after linking: %+v, %v", e, err)
			}

			// The export comes as a JSON file in a DM to the account that
			// asked, even when asked in a room.
			out = w.say(aliceSlack, name, "T1", "C1", "!mydata")
			var file *bots.File
			for _, o := range out {
				if o.Message.File != nil {
					if o.To != bots.DirectTo(aliceSlack) {
						t.Fatalf("the export went to %+v", o.To)
					}
					file = o.Message.File
				}
			}
			if file == nil || file.Name != bots.ExportFileName || file.MIME != "application/json" {
				t.Fatalf("no export file in:\n%s", texts(out))
			}
			var data core.PersonData
			if err := json.Unmarshal(file.Data, &data); err != nil {
				t.Fatal(err)
			}
			if len(data.Accounts) != 2 || len(data.Questions) != 1 || !strings.Contains(data.Questions[0].Question.Text, "Zorglub") ||
				len(data.Questions[0].Answers) != 1 || data.Expert == nil || len(data.Tenants) != 0 {
				t.Fatalf("export: %s", file.Data)
			}

			// Forget asks first, then erases everything.
			out = w.say(alice, name, "", "", "!forget")
			wantSaid(t, out, "Pour confirmer : !forget confirmer")
			if dump := sqlstoretest.Dump(t, store); !strings.Contains(dump, "Zorglub") {
				t.Fatal("the question was erased before the confirmation")
			}
			out = w.say(aliceSlack, name, "T1", "", "!oublier confirmer")
			wantSaid(t, out, "slack /U0ALICEZ: C'est fait : entraide a tout effacé de vous.")

			dump := sqlstoretest.Dump(t, store)
			for _, trace := range []string{"Zorglub", "zephyrine", "Zéphyrine", "U0ALICEZ", "drones agricoles", "agriculture.gouv.fr"} {
				if strings.Contains(strings.ToLower(dump), strings.ToLower(trace)) {
					for _, line := range strings.Split(dump, "\n") {
						if strings.Contains(strings.ToLower(line), strings.ToLower(trace)) {
							t.Errorf("%q left in %s", trace, line)
						}
					}
				}
			}
			// Carol's answer stays, and she still sees her history.
			if !strings.Contains(dump, "Un jour, selon la circulaire.") {
				t.Error("carol's answer was erased")
			}
			// Writing again starts afresh.
			out = w.say(aliceSlack, "", "T1", "", "!mydata")
			wantSaid(t, out, "Voici tout ce qu'entraide garde sur vous, en JSON : 0 questions, 0 réponses")
		})
	}
}

// TestAccessRefusesOutsiders: in a community with rules, an outsider is
// told who entraide is for and nothing of theirs is kept; members and
// administrators go through; administrators change the rules in chat.
func TestAccessRefusesOutsiders(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			store := open(t)
			cfg := core.DefaultConfig()
			admin := core.Identity{Platform: "slack", User: "UADMIN"}
			cfg.Admins = []core.Identity{admin}
			cfg.Access = map[string][]core.AccessRule{"default": {"slack:T1", "mail:interieur.gouv.fr"}}
			w := newWorld(t, store, cfg, bots.DefaultConfig())
			if err := w.net.EnsureCommunities(context.Background()); err != nil {
				t.Fatal(err)
			}
			outsider := core.Identity{Platform: "slack", User: "UOUT"}
			out := w.say(outsider, "Eve", "T9", "C1", "!ask Une question ?")
			wantSaid(t, out, "entraide est réservé aux agents")
			if _, err := store.PersonByIdentity(context.Background(), outsider); err == nil {
				t.Error("an outsider was recorded")
			}
			// Chatter that is not a command gets no answer.
			if out := w.say(outsider, "Eve", "T9", "C1", "bonjour"); len(out) != 0 {
				t.Fatalf("answered chatter: %s", texts(out))
			}
			member := core.Identity{Platform: "tchap", User: "@jean-interieur.gouv.fr:agent.tchap.gouv.fr"}
			out = w.say(member, "Jean", "agent.tchap.gouv.fr mail:interieur.gouv.fr", "!r", "!ask Une question sur les congés ?")
			wantSaid(t, out, "Question n°")
			// The admin opens the community to the outsider's workspace.
			out = w.say(outsider, "Eve", "T9", "C1", "!community allow slack:T9")
			wantSaid(t, out, "entraide est réservé")
			out = w.say(admin, "Admin", "T0", "C1", "!community allow slack:T9")
			wantSaid(t, out, "Règle ajoutée : slack:T9.")
			out = w.say(admin, "Admin", "T0", "C1", "!community")
			wantSaid(t, out, "Communauté default", "Peuvent l'utiliser : slack:T1, mail:interieur.gouv.fr, slack:T9.")
			w.clock.Advance(10 * time.Second) // other replicas' caches
			out = w.say(outsider, "Eve", "T9", "C1", "!ask Une question ?")
			wantSaid(t, out, "Question n°")
		})
	}
}

// TestRateLimit: beyond the bound, one warning, then silence until the
// bucket refills.
func TestRateLimit(t *testing.T) {
	store := sqlstoretest.SQLite(t)
	botCfg := bots.DefaultConfig()
	botCfg.Limit = bots.RateLimit{User: bots.Rate{N: 3, Per: time.Minute}, Room: bots.Rate{N: 5, Per: time.Minute}}
	w := newWorld(t, store, core.DefaultConfig(), botCfg)
	bob := core.Identity{Platform: "slack", User: "UBOB"}
	for i := range 3 {
		if out := w.say(bob, "Bob", "T1", "", "!help"); len(out) != 1 || strings.Contains(texts(out), "Doucement") {
			t.Fatalf("message %d: %s", i+1, texts(out))
		}
	}
	wantSaid(t, w.say(bob, "Bob", "T1", "", "!help"), "Doucement : trop de messages d'un coup. Réessayez dans 20 secondes.")
	if out := w.say(bob, "Bob", "T1", "", "!help"); len(out) != 0 {
		t.Fatalf("a second warning: %s", texts(out))
	}
	w.clock.Advance(20 * time.Second)
	if out := w.say(bob, "Bob", "T1", "", "!help"); len(out) != 1 || strings.Contains(texts(out), "Doucement") {
		t.Fatalf("after the refill: %s", texts(out))
	}
	// A room is bounded too, whoever writes.
	for i := range 5 {
		who := core.Identity{Platform: "slack", User: fmt.Sprintf("U%d", i)}
		w.say(who, "", "T1", "C9", "!help")
	}
	wantSaid(t, w.say(core.Identity{Platform: "slack", User: "U9"}, "", "T1", "C9", "!help"), "Doucement")
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]string{"30/1m": "30/1m0s", "0": "0", " 5/10s ": "5/10s"} {
		r, err := bots.ParseRate(in)
		if err != nil || r.String() != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %s", in, r, err, want)
		}
	}
	for _, bad := range []string{"", "30", "30/", "-1/1m", "30/1ms", "x/1m", "30/48h", "1000001/1m"} {
		if _, err := bots.ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"30/1m", "0", "5/10s", "1/24h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := bots.ParseRate(s)
		if err != nil {
			return
		}
		again, err := bots.ParseRate(r.String())
		if err != nil || again != r {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, r, r.String(), again, err)
		}
	})
}

// TestUnknownCommandHint: a mistyped command is answered with the nearest
// command, an unknown one with the help command only, and "!poser" asks.
func TestUnknownCommandHint(t *testing.T) {
	w := newWorld(t, sqlstoretest.SQLite(t), core.DefaultConfig(), bots.DefaultConfig())
	alice := core.Identity{Platform: "tchap", User: "@alice:agent.tchap.gouv.fr"}
	wantSaid(t, w.say(alice, "alice", "", "!general", "!aks ma question"), "Commande inconnue : !aks. Vouliez-vous dire !ask ? Tapez !help")
	out := w.say(alice, "alice", "", "!general", "!zzzz")
	wantSaid(t, out, "Commande inconnue : !zzzz. Tapez !help")
	if strings.Contains(texts(out), "Vouliez-vous") {
		t.Errorf("a hint for a name far from every command:\n%s", texts(out))
	}
	wantSaid(t, w.say(alice, "alice", "", "!general", "!poser Comment rédiger un CCTP ?"), "Question n°1 enregistrée")
}
