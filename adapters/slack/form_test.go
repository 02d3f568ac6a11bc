package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"entraide/adapters/slack/slacktest"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
	"entraide/internal/golden"
)

// offerButton is the button the bot puts under its usage of "!offre": it
// opens the form "offer/fr".
func offerButton(t testing.TB) bots.Action {
	t.Helper()
	f, ok := bots.LookupForm("offer/fr")
	if !ok {
		t.Fatal("no form offer/fr")
	}
	return bots.Action{Kind: bots.ActionForm, ID: "form:offer/fr", Label: "Remplir le formulaire", Command: f.Command, Form: f.Ref, FormTitle: f.Title}
}

// offerAnswers are what someone types in the form offer/fr, and the
// command they make.
var (
	offerAnswers = []string{"Juriste", "Préfecture", "Lyon", "31/12/2026", "Conseil juridique aux services.\ncontrat: CDD 3 ans"}
	offerCommand = "!offer Juriste | employeur: Préfecture | lieu: Lyon | clôture: 31/12/2026 | description: Conseil juridique aux services.\ncontrat: CDD 3 ans"
)

// formValues is the state.values of a submitted form modal holding answers.
func formValues(answers []string) map[string]any {
	values := map[string]any{}
	for i, v := range answers {
		values[fieldBlockID(i)] = map[string]any{actionText: map[string]any{"type": "plain_text_input", "value": v}}
	}
	return values
}

// dedupeInbox keeps each event id once, as the durable inbox does.
type dedupeInbox struct {
	recordingInbox
	seen map[string]bool
}

func (d *dedupeInbox) Deliver(ctx context.Context, ev bots.Event) error {
	d.mu.Lock()
	seen := d.seen[ev.ID]
	d.seen[ev.ID] = true
	d.mu.Unlock()
	if seen {
		return nil
	}
	return d.recordingInbox.Deliver(ctx, ev)
}

// TestRenderFormGolden renders the bot's message with a form button, and
// the modal of each form.
func TestRenderFormGolden(t *testing.T) {
	var m bots.Message
	m.Text("Pour publier une offre d'emploi, donnez son titre puis ses champs. Exemple : ").Code("!offre Juriste | lieu: Lyon")
	m.Actions = []bots.Action{offerButton(t)}
	golden.Check(t, "render_form", rendered(t, m))
	for _, ref := range []string{"offer/fr", "event/en"} {
		form, _ := bots.LookupForm(ref)
		view, err := formView(form)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.MarshalIndent(view, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, "modal_"+strings.ReplaceAll(ref, "/", "_"), string(raw)+"\n")
	}
}

// TestFormViewLimits checks that a form with too many fields and texts too
// long for Slack still makes a modal within Slack's limits, cut on
// character boundaries.
func TestFormViewLimits(t *testing.T) {
	long := strings.Repeat("é", 2100)
	form := bots.Form{Ref: "offer/fr", Title: long, Submit: long, Command: "offer"}
	for range 7 {
		form.Fields = append(form.Fields, bots.FormField{Label: long, Placeholder: long, MaxLen: 10000})
	}
	form.Fields[2].Label = ""
	view, err := formView(form)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what, s string, n int) {
		t.Helper()
		if c := utf8.RuneCountInString(s); c > n || c == 0 || !utf8.ValidString(s) {
			t.Errorf("%s of %d characters (at most %d), valid UTF-8 %v", what, c, n, utf8.ValidString(s))
		}
	}
	check("title", view.Title.Text, maxModalTitle)
	check("submit", view.Submit.Text, maxModalSubmit)
	if n := len(view.Blocks.BlockSet); n != bots.MaxFormFields {
		t.Fatalf("%d inputs, want %d", n, bots.MaxFormFields)
	}
	for i, b := range view.Blocks.BlockSet {
		in := b.(*slack.InputBlock)
		check("label", in.Label.Text, maxModalLabel)
		el := in.Element.(*slack.PlainTextInputBlockElement)
		check("placeholder", el.Placeholder.Text, maxModalPlaceholder)
		if el.MaxLength != maxInputLength || in.BlockID != fieldBlockID(i) || !in.Optional {
			t.Errorf("input %d: %+v %+v", i, in, el)
		}
	}
}

// TestFormInteraction presses a form button, checks the modal Slack is
// asked to open, submits it twice, and tampers with the button and the
// modal.
func TestFormInteraction(t *testing.T) {
	f := slacktest.New(t)
	inbox := &dedupeInbox{seen: map[string]bool{}}
	a := newTestAdapter(t, f, inbox, false)
	alice := core.Identity{Platform: Platform, User: "U2"}
	var m bots.Message
	m.Text("Pour publier une offre d'emploi…")
	m.Actions = []bots.Action{offerButton(t)}
	raw, _ := json.Marshal(blocks(m))
	button := findButton(t, string(raw), "form:offer/fr")
	press := func(trigger string, button map[string]any) int {
		t.Helper()
		return postSigned(t, a, kindInteractive, payload(t, "block_actions", map[string]any{
			"user":       map[string]any{"id": "U2", "username": "alice", "name": "alice"},
			"trigger_id": trigger, "channel": map[string]any{"id": "D2", "name": "directmessage"},
			"actions": []any{button},
		})).Code
	}

	// Pressing the button opens the form: five inputs, the last on several
	// lines, the title required.
	if code := press("trig-form", button); code != 200 {
		t.Fatalf("press: status %d", code)
	}
	views := f.Calls("views.open")
	if len(views) != 1 || views[0].JSON["trigger_id"] != "trig-form" {
		t.Fatalf("views.open: %+v", views)
	}
	view := views[0].JSON["view"].(map[string]any)
	if view["callback_id"] != viewForm || view["private_metadata"] != `{"f":"offer/fr"}` ||
		view["title"].(map[string]any)["text"] != "Publier une offre" || view["submit"].(map[string]any)["text"] != "Publier" {
		t.Errorf("modal %v", view)
	}
	inputs := view["blocks"].([]any)
	if len(inputs) != 5 {
		t.Fatalf("%d inputs, want 5: %v", len(inputs), inputs)
	}
	for i, b := range inputs {
		b := b.(map[string]any)
		el := b["element"].(map[string]any)
		if b["type"] != "input" || b["block_id"] != fieldBlockID(i) || el["action_id"] != actionText || el["type"] != "plain_text_input" {
			t.Errorf("input %d: %v", i, b)
		}
		if optional, _ := b["optional"].(bool); optional != (i != 0) {
			t.Errorf("input %d: optional %v", i, b["optional"])
		}
		if multiline, _ := el["multiline"].(bool); multiline != (i == 4) {
			t.Errorf("input %d: multiline %v", i, el["multiline"])
		}
	}
	if got := inputs[1].(map[string]any)["label"].(map[string]any)["text"]; got != "Employeur" {
		t.Errorf("label of input 1: %v", got)
	}
	if got := inputs[4].(map[string]any)["element"].(map[string]any)["max_length"]; got != 3000.0 {
		t.Errorf("max_length of input 4: %v", got)
	}

	// The submission, delivered twice, makes one command.
	submission := payload(t, "view_submission", map[string]any{
		"user":    map[string]any{"id": "U2", "username": "alice", "name": "alice"},
		"view.id": "V-offer", "view.private_metadata": view["private_metadata"],
		"view.state.values": formValues(offerAnswers),
	})
	for range 2 {
		if rec := postSigned(t, a, kindInteractive, submission); rec.Code != 200 {
			t.Fatalf("submission: %d %s", rec.Code, rec.Body)
		}
	}
	want := bots.Event{ID: "view:V-offer", Platform: Platform, Tenant: "T1", DM: true, Sender: alice, SenderName: "alice", Text: offerCommand}
	if got := inbox.delivered(); len(got) != 1 || got[0] != want {
		t.Fatalf("delivered\n%+v\nwant\n%+v", got, want)
	}

	// A button or a modal naming no form, or the form of another, are
	// refused: no modal, no event.
	for _, blockID := range []string{"entraide.form.0:f=offer%2Fxx", "entraide.form.0:f=", "entraide.form.0:f=%zz"} {
		tampered := map[string]any{"action_id": "form:offer/fr", "block_id": blockID, "value": "offer", "type": "button"}
		if code := press("trig-bad", tampered); code != 400 {
			t.Errorf("block %q: status %d, want 400", blockID, code)
		}
	}
	if n := len(f.Calls("views.open")); n != 1 {
		t.Errorf("%d modals opened, want 1", n)
	}
	for i, meta := range []string{`{"f":"offer/xx"}`, `{"f":""}`, `{}`, `{"f":["offer/fr"]}`, `{"f":"offer/fr"}`} {
		answers := offerAnswers
		if i == 4 {
			answers = []string{" ", "", "\n"} // nothing typed
		}
		rec := postSigned(t, a, kindInteractive, payload(t, "view_submission", map[string]any{
			"view.id": "V-bad", "view.private_metadata": meta, "view.state.values": formValues(answers),
		}))
		if rec.Code != 400 {
			t.Errorf("metadata %s: status %d, want 400", meta, rec.Code)
		}
	}
	if n := len(inbox.delivered()); n != 1 {
		t.Errorf("%d events delivered, want 1", n)
	}
}

// TestFormSocketMode submits a form over Socket Mode: a tampered one is
// acknowledged and dropped, a good one delivered.
func TestFormSocketMode(t *testing.T) {
	f := slacktest.New(t)
	inbox := &recordingInbox{}
	a := newTestAdapter(t, f, inbox, true)
	runAdapter(t, a)
	f.WaitConnected(t)
	bad := payload(t, "view_submission", map[string]any{"view.id": "V-bad", "view.private_metadata": `{"f":"../../etc"}`, "view.state.values": formValues(offerAnswers)})
	good := payload(t, "view_submission", map[string]any{"view.id": "V-good", "view.private_metadata": `{"f":"offer/fr"}`, "view.state.values": formValues(offerAnswers)})
	f.DeliverUntilAcked(t, kindInteractive, "env-bad", bad, 1, 5*time.Second)
	f.DeliverUntilAcked(t, kindInteractive, "env-good", good, 1, 5*time.Second)
	if got := inbox.delivered(); len(got) != 1 || got[0].ID != "view:V-good" || got[0].Text != offerCommand {
		t.Fatalf("delivered %+v", got)
	}
}

// FuzzFormCommand checks that no private_metadata and no answers make
// formCommand panic, and that a form's command always starts with the
// form's command.
func FuzzFormCommand(f *testing.F) {
	f.Add(`{"f":"offer/fr"}`, "Juriste", "Préfecture | lieu: Paris", "Lyon\n", "31/12/2026", "a\nb")
	f.Add(`{"c":"answer 1"}`, "x", "", "", "", "")
	f.Add(`{"f":"event/en","c":"ask"}`, "", "", "", "", "")
	f.Add(`{"f":"offer/xx"}`, "a", "b", "c", "d", "e")
	f.Add(`"f"`, "\xff", "", "", "", "")
	f.Fuzz(func(t *testing.T, metadata, v0, v1, v2, v3, v4 string) {
		answers := map[string]string{fieldBlockID(0): v0, fieldBlockID(1): v1, fieldBlockID(2): v2, fieldBlockID(3): v3, fieldBlockID(4): v4, blockText: v0}
		command, err := formCommand(metadata, func(block, action string) string {
			if action != actionText {
				t.Fatalf("action %q", action)
			}
			return strings.TrimSpace(answers[block])
		})
		if err != nil {
			if !errors.Is(err, errMalformed) || command != "" {
				t.Fatalf("formCommand(%q) = %q, %v", metadata, command, err)
			}
			return
		}
		var meta formMeta
		if json.Unmarshal([]byte(metadata), &meta) != nil {
			t.Fatalf("formCommand(%q) took unreadable metadata", metadata)
		}
		if meta.Form == "" {
			if !strings.HasPrefix(command, meta.Command+" ") {
				t.Fatalf("one-text form %q made %q", meta.Command, command)
			}
			return
		}
		form, ok := bots.LookupForm(meta.Form)
		if !ok || !strings.HasPrefix(command, form.Command) || command == form.Command {
			t.Fatalf("form %q made %q", meta.Form, command)
		}
	})
}

// TestOfferFormLoop posts a job offer through the form with a real bot and
// the durable pipeline: alice writes "!offre" to the bot, presses the
// button of its reply, fills the modal in, and the bot answers that offer
// n°1 is posted; the submission redelivered posts nothing more.
func TestOfferFormLoop(t *testing.T) {
	f := slacktest.New(t)
	store := sqlstoretest.SQLite(t)
	net, err := core.NewNetwork(store, nil, core.SystemClock{}, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	bot, err := bots.New(net, bots.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var p *bots.Pipeline
	a := newTestAdapter(t, f, bots.InboxFunc(func(ctx context.Context, ev bots.Event) error { return p.Deliver(ctx, ev) }), false)
	cfg := bots.DefaultPipelineConfig()
	cfg.Poll = 20 * time.Millisecond
	if p, err = bots.NewPipeline(store, bot, []bots.Sender{a}, core.SystemClock{}, cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { p.Run(ctx) })
	l := &loop{t: t, f: f}
	alice := map[string]any{"id": "U2", "username": "alice", "name": "alice", "team_id": "T1"}

	l.deliver(kindEvents, payload(t, "message_im", map[string]any{
		"event_id": "Ev-offre", "event.channel": "D2", "event.user": "U2", "event.text": "!offre", "event.ts": "1700000000.000100",
	}), 1)
	usage := l.waitPost("D2", "", "offre")
	var ref string
	for _, r := range []string{"offer/fr", "offer/en"} {
		if strings.Contains(usage.Blocks, `"form:`+r+`"`) {
			ref = r
		}
	}
	if ref == "" {
		t.Fatalf("no form button in %s", usage.Blocks)
	}
	button := findButton(t, usage.Blocks, "form:"+ref)
	l.deliver(kindInteractive, payload(t, "block_actions", map[string]any{
		"user": alice, "trigger_id": "trig-offer", "channel": map[string]any{"id": "D2", "name": "directmessage"},
		"container": map[string]any{"type": "message", "message_ts": usage.TS, "channel_id": "D2"},
		"actions":   []any{button},
	}), 1)
	views := f.Calls("views.open")
	if len(views) != 1 {
		t.Fatalf("views.open: %+v", views)
	}
	view := views[0].JSON["view"].(map[string]any)
	if n := len(view["blocks"].([]any)); n != 5 {
		t.Fatalf("%d inputs", n)
	}
	answers := append([]string(nil), offerAnswers...)
	answers[3] = fmt.Sprintf("31/12/%d", time.Now().Year()+1) // still open whenever the test runs
	submission := payload(t, "view_submission", map[string]any{
		"user": alice, "view.id": "V-offer", "view.private_metadata": view["private_metadata"],
		"view.state.values": formValues(answers),
	})
	l.deliver(kindInteractive, submission, 2)
	posted := l.waitPost("D2", "", "n°*1*")
	if ref == "offer/fr" && !strings.Contains(posted.Text, "Offre n°*1* publiée") {
		t.Errorf("reply %q", posted.Text)
	}
	o, err := store.Offer(context.Background(), 1)
	if err != nil || o.Title != "Juriste" || o.Employer != "Préfecture" || o.Location != "Lyon" || o.Contract != "CDD 3 ans" {
		t.Fatalf("offer 1: %+v, %v", o, err)
	}
	before := len(f.Posts())
	l.deliver(kindInteractive, submission, 1)
	time.Sleep(100 * time.Millisecond)
	if n := len(f.Posts()); n != before {
		t.Errorf("a redelivered submission posted %d more messages", n-before)
	}
	if _, err := store.Offer(context.Background(), 2); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a second offer exists: %v", err)
	}
}
