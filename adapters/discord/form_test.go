package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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

// submittedForm makes payload a submission of the modal customID holding
// answers, one row per answer as Discord sends them.
func submittedForm(customID string, answers []string) func(m map[string]any) {
	return func(m map[string]any) {
		var rows []any
		for i, v := range answers {
			rows = append(rows, map[string]any{"type": 1, "components": []any{map[string]any{"type": 4, "custom_id": fieldCustomID(i), "value": v}}})
		}
		m["data"] = map[string]any{"custom_id": customID, "components": rows}
	}
}

// encoded is v as indented JSON, as the golden files hold it.
func encoded(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestRenderFormGolden renders the bot's message with a form button, and
// the modal of two forms.
func TestRenderFormGolden(t *testing.T) {
	var m bots.Message
	m.Text("Pour publier une offre d'emploi, donnez son titre puis ses champs. Exemple : ").Code("!offre Juriste | lieu: Lyon")
	m.Actions = []bots.Action{offerButton(t)}
	golden.Check(t, "render_form", encoded(t, payloads(m)))
	for _, ref := range []string{"offer/fr", "event/en"} {
		form, _ := bots.LookupForm(ref)
		modal, ok := formModal(form)
		if !ok {
			t.Fatalf("no modal for %s", ref)
		}
		golden.Check(t, "modal_"+strings.ReplaceAll(ref, "/", "_"), encoded(t, modal))
	}
}

// TestFormModalLimits checks that a form with too many fields and texts too
// long for Discord still makes a modal within Discord's limits, cut on
// character boundaries, with optional fields said to be optional.
func TestFormModalLimits(t *testing.T) {
	long := strings.Repeat("é", 200)
	form := bots.Form{Ref: "offer/fr", Title: long, Command: "offer"}
	for i := range 7 {
		form.Fields = append(form.Fields, bots.FormField{Label: long, Placeholder: long, MaxLen: 10000, Required: i == 0, Multiline: i == 1})
	}
	form.Fields[2].Label = " "
	m, ok := formModal(form)
	if !ok {
		t.Fatal("no modal")
	}
	check := func(what, s string, n int) {
		t.Helper()
		if c := utf8.RuneCountInString(s); c > n || c == 0 || !utf8.ValidString(s) {
			t.Errorf("%s %q of %d characters (at most %d)", what, s, c, n)
		}
	}
	check("title", m.Title, maxModalTitle)
	if len(m.Components) != bots.MaxFormFields {
		t.Fatalf("%d rows, want %d", len(m.Components), bots.MaxFormFields)
	}
	for i, row := range m.Components {
		in := row.Components[0]
		check("label", in.Label, maxInputLabel)
		check("placeholder", in.Placeholder, maxInputPlaceholder)
		if row.Type != 1 || len(row.Components) != 1 || in.Type != 4 || in.CustomID != fieldCustomID(i) || in.MaxLength != maxInputLength ||
			in.Required == nil || *in.Required != (i == 0) || (in.Style == 2) != (i == 1) || (in.MinLength == 1) != (i == 0) {
			t.Errorf("row %d: %+v", i, in)
		}
	}
	raw, _ := json.Marshal(m)
	if !strings.Contains(string(raw), `"required":false`) {
		t.Errorf("optional inputs must say so, Discord takes them as required: %s", raw)
	}
	for _, bad := range []bots.Form{{Ref: ""}, {Ref: "a|b"}, {Ref: strings.Repeat("x", 100)}} {
		if _, ok := formModal(bad); ok {
			t.Errorf("modal for ref %q", bad.Ref)
		}
	}
}

func TestFormCustomIDs(t *testing.T) {
	id, ok := actionCustomID(offerButton(t))
	if !ok || id != "r|form:offer/fr|offer/fr" {
		t.Fatalf("custom id %q, %v", id, ok)
	}
	if p, ok := parseCustomID(id); !ok || p.Kind != customFormRef || p.Ref != "offer/fr" || p.ActionID != "form:offer/fr" {
		t.Errorf("%q parsed as %+v, %v", id, p, ok)
	}
	if p, ok := parseCustomID("s|event/en"); !ok || p.Kind != customFormModal || p.Ref != "event/en" {
		t.Errorf("s|event/en parsed as %+v, %v", p, ok)
	}
	for _, a := range []bots.Action{
		{Kind: bots.ActionForm, ID: "form:x", Command: "offer", Form: "offer/xx"},
		{Kind: bots.ActionForm, ID: "a|b", Command: "offer", Form: "offer/fr"},
		{Kind: bots.ActionForm, ID: strings.Repeat("i", 95), Command: "offer", Form: "offer/fr"},
	} {
		if id, ok := actionCustomID(a); ok {
			t.Errorf("%+v: custom id %q", a, id)
		}
	}
	var m bots.Message
	m.Actions = []bots.Action{{Kind: bots.ActionForm, ID: "form:x", Label: "x", Command: "offer", Form: "nope"}}
	if p := payloads(m); len(p[0].Components) != 0 {
		t.Errorf("a button for an unknown form: %+v", p[0].Components)
	}
	for _, bad := range []string{"r|a|", "r|a", "r|a|b|c", "s|", "s", "s|a|b"} {
		if p, ok := parseCustomID(bad); ok {
			t.Errorf("parseCustomID(%q) = %+v", bad, p)
		}
	}
}

// TestFormInteraction presses a form button, checks the modal the
// interaction response holds, submits it twice, and tampers with the
// button and the modal.
func TestFormInteraction(t *testing.T) {
	f := newFake(t)
	in := &recInbox{f: f}
	start(t, f, testConfig(f), in, newMemStore())
	var m bots.Message
	m.Text("Pour publier une offre d'emploi…")
	m.Actions = []bots.Action{offerButton(t)}
	buttonID := payloads(m)[0].Components[0].Components[0].CustomID
	press := func(id, customID string) map[string]any {
		t.Helper()
		f.dispatch("INTERACTION_CREATE", payload(t, "button_answer.json", func(m map[string]any) {
			m["id"] = id
			m["data"].(map[string]any)["custom_id"] = customID
		}))
		return body(t, f.waitFor("POST /api/v10/interactions/"+id+"/", atLeast(1))[0])
	}

	// Pressing the button opens the form: five rows of one text input.
	resp := press("900000000000000031", buttonID)
	if resp["type"].(float64) != responseModal {
		t.Fatalf("response %v, want a modal", resp)
	}
	modal := resp["data"].(map[string]any)
	if modal["custom_id"] != "s|offer/fr" || modal["title"] != "Publier une offre" {
		t.Errorf("modal %v", modal)
	}
	rows := modal["components"].([]any)
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5: %v", len(rows), rows)
	}
	for i, r := range rows {
		r := r.(map[string]any)
		input := r["components"].([]any)[0].(map[string]any)
		if r["type"].(float64) != 1 || input["type"].(float64) != 4 || input["custom_id"] != fieldCustomID(i) ||
			input["required"] != (i == 0) || (input["style"].(float64) == 2) != (i == 4) || utf8.RuneCountInString(input["label"].(string)) > 45 {
			t.Errorf("row %d: %v", i, input)
		}
	}
	if got := rows[4].(map[string]any)["components"].([]any)[0].(map[string]any)["label"]; got != "Description et autres champs, un par ligne" {
		t.Errorf("label of the description %q", got)
	}
	if got := rows[0].(map[string]any)["components"].([]any)[0].(map[string]any)["placeholder"]; got != "Chargé·e de mission achats" {
		t.Errorf("placeholder of the title %q", got)
	}

	// The submission, replayed by the gateway, is one event delivered
	// twice with the same id, for the inbox to drop, and one response.
	submission := payload(t, "modal_answer.json", submittedForm(modal["custom_id"].(string), offerAnswers))
	f.dispatch("INTERACTION_CREATE", submission)
	f.dispatch("INTERACTION_CREATE", submission)
	evs := in.wait(t, 2)
	want := bots.Event{ID: "900000000000000004", Platform: Platform, Room: dmOf(userU1), DM: true,
		Sender: core.Identity{Platform: Platform, User: userU1}, SenderName: "Bob", Text: offerCommand}
	if evs[0] != want || evs[1] != want {
		t.Errorf("events\n%+v\nwant twice\n%+v", evs, want)
	}
	cb := f.waitFor("POST /api/v10/interactions/900000000000000004/", atLeast(1))
	time.Sleep(50 * time.Millisecond)
	if cb = f.find("POST /api/v10/interactions/900000000000000004/"); len(cb) != 1 || body(t, cb[0])["type"].(float64) != responseDeferredUpdate {
		t.Errorf("responses %+v, want one deferred update", cb)
	}

	// A button or a modal naming no form, or a form submitted empty, get
	// a short ephemeral error and deliver nothing.
	stale := func(what string, resp map[string]any) {
		t.Helper()
		data, _ := resp["data"].(map[string]any)
		if resp["type"].(float64) != responseMessage || data["flags"].(float64) != flagEphemeral || !strings.Contains(data["content"].(string), "ne fonctionne plus") {
			t.Errorf("%s: response %v, want a short ephemeral error", what, resp)
		}
	}
	stale("unknown form button", press("900000000000000032", "r|form:offer/xx|offer/xx"))
	for n, c := range []struct {
		customID string
		answers  []string
	}{
		{"s|offer/xx", offerAnswers},
		{"s|../offer/fr", offerAnswers},
		{"s|offer/fr", []string{" ", "", "\n"}},
		{"s|offer/fr|x", offerAnswers},
	} {
		id := fmt.Sprint(900000000000000040 + n)
		f.dispatch("INTERACTION_CREATE", payload(t, "modal_answer.json", func(m map[string]any) {
			submittedForm(c.customID, c.answers)(m)
			m["id"] = id
		}))
		stale(c.customID, body(t, f.waitFor("POST /api/v10/interactions/"+id+"/", atLeast(1))[0]))
	}
	if got := in.wait(t, 2); len(got) != 2 {
		t.Errorf("%d events delivered, want 2", len(got))
	}
}

// FuzzFormCustomID checks that no custom id and no submitted values make
// the adapter's readers panic, that a form's command always starts with
// the form's command, and that the custom ids the adapter makes parse
// back.
func FuzzFormCustomID(f *testing.F) {
	f.Add("s|offer/fr", "Juriste", "Préfecture | lieu: Paris", "Lyon\n", "31/12/2026", "a\nb", "form:offer/fr", "offer/fr")
	f.Add("m|answer 1", "x", "", "", "", "", "answer:1", "")
	f.Add("r|form:event/en|event/en", "", "", "", "", "", "a|b", "event/en")
	f.Add("s|offer/xx", "a", "b", "c", "d", "e", "", "x|y")
	f.Add("f|a|b|c|d", "\xff", "", "", "", "", "\xff", "\xff")
	f.Fuzz(func(t *testing.T, customID, v0, v1, v2, v3, v4, actionID, ref string) {
		var rows []any
		for i, v := range []string{v0, v1, v2, v3, v4} {
			rows = append(rows, map[string]any{"components": []any{
				map[string]any{"custom_id": fieldCustomID(i), "value": v}, map[string]any{"custom_id": "text", "value": v},
			}})
		}
		raw, _ := json.Marshal(map[string]any{"custom_id": customID, "components": rows})
		var d interactionData
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		if c, ok := parseCustomID(customID); ok && (c.Kind == customModal || c.Kind == customFormModal) {
			command, err := modalCommand(c, d)
			if err == nil && c.Kind == customFormModal {
				form, known := bots.LookupForm(c.Ref)
				if !known || !strings.HasPrefix(command, form.Command+" ") {
					t.Fatalf("form %q made %q", c.Ref, command)
				}
			}
			if err != nil && command != "" {
				t.Fatalf("%q: %q with %v", customID, command, err)
			}
		}
		a := bots.Action{Kind: bots.ActionForm, ID: actionID, Command: "offer", Form: ref}
		if ref == "" {
			return
		}
		if id, ok := actionCustomID(a); ok {
			p, parsed := parseCustomID(id)
			if len(id) > maxCustomID || !parsed || p.Kind != customFormRef || p.Ref != ref || p.ActionID != actionID {
				t.Fatalf("%+v: custom id %q parsed as %+v, %v", a, id, p, parsed)
			}
		} else if _, known := bots.LookupForm(ref); known && !strings.Contains(actionID, "|") && len(actionID)+len(ref) <= maxCustomID-4 {
			t.Fatalf("%+v refused", a)
		}
	})
}

// TestOfferFormLoop posts a job offer through the form with a real bot and
// the durable pipeline: alice writes "offre" to the bot in a direct
// message, presses the button of its reply, fills the modal in (the
// gateway replays the submission), and the bot answers that offer n°1 is
// posted, once.
func TestOfferFormLoop(t *testing.T) {
	store := sqlstoretest.SQLite(t)
	net, err := core.NewNetwork(store, nil, core.SystemClock{}, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	bot, err := bots.New(net, bots.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFake(t)
	var p *bots.Pipeline
	a, err := New(testConfig(f), bots.InboxFunc(func(ctx context.Context, ev bots.Event) error { return p.Deliver(ctx, ev) }), store, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := bots.DefaultPipelineConfig()
	cfg.Poll = 20 * time.Millisecond
	if p, err = bots.NewPipeline(store, bot, []bots.Sender{a}, core.SystemClock{}, cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	run(t, f, a)

	dm := dmOf(userU2)
	f.dispatch("MESSAGE_CREATE", payload(t, "message_dm.json", func(m map[string]any) { m["content"] = "offre" }))
	withButton := func(r request) bool { return strings.Contains(string(r.Body), `"custom_id":"r|form:offer/`) }
	var usage map[string]any
	for _, r := range f.waitFor("POST /api/v10/channels/"+dm+"/messages", func(r []request) bool { return slices.ContainsFunc(r, withButton) }) {
		if withButton(r) {
			usage = body(t, r)
		}
	}
	buttonID := usage["components"].([]any)[0].(map[string]any)["components"].([]any)[0].(map[string]any)["custom_id"].(string)
	asAlice := func(id string, edit func(m map[string]any)) func(m map[string]any) {
		return func(m map[string]any) {
			edit(m)
			m["id"], m["channel_id"] = id, dm
			m["channel"] = map[string]any{"id": dm, "type": 1}
			m["user"] = map[string]any{"id": userU2, "username": "alice", "global_name": "Alice"}
		}
	}
	f.dispatch("INTERACTION_CREATE", payload(t, "button_answer.json", asAlice("900000000000000051", func(m map[string]any) {
		m["data"].(map[string]any)["custom_id"] = buttonID
	})))
	resp := body(t, f.waitFor("POST /api/v10/interactions/900000000000000051/", atLeast(1))[0])
	modal, _ := resp["data"].(map[string]any)
	if resp["type"].(float64) != responseModal || len(modal["components"].([]any)) != 5 {
		t.Fatalf("button response %v", resp)
	}
	answers := append([]string(nil), offerAnswers...)
	answers[3] = fmt.Sprintf("31/12/%d", time.Now().Year()+1) // still open whenever the test runs
	submission := payload(t, "modal_answer.json", asAlice("900000000000000052", submittedForm(modal["custom_id"].(string), answers)))
	f.dispatch("INTERACTION_CREATE", submission)
	f.dispatch("INTERACTION_CREATE", submission)
	posted := func(r []request) bool {
		for _, x := range r {
			if strings.Contains(string(x.Body), "n°**1**") {
				return true
			}
		}
		return false
	}
	replies := f.waitFor("POST /api/v10/channels/"+dm+"/messages", posted)
	if !strings.Contains(string(replies[len(replies)-1].Body), "n°**1** publiée") && strings.HasSuffix(buttonID, "/fr") {
		t.Errorf("reply %s", replies[len(replies)-1].Body)
	}
	o, err := store.Offer(context.Background(), 1)
	if err != nil || o.Title != "Juriste" || o.Employer != "Préfecture" || o.Location != "Lyon" || o.Contract != "CDD 3 ans" {
		t.Fatalf("offer 1: %+v, %v", o, err)
	}
	time.Sleep(200 * time.Millisecond)
	n := 0
	for _, x := range f.find("POST /api/v10/channels/" + dm + "/messages") {
		if strings.Contains(string(x.Body), "n°**1**") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d replies about offer 1, want 1", n)
	}
	if _, err := store.Offer(context.Background(), 2); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a second offer exists: %v", err)
	}
}
