package discord

import (
	"context"
	"strings"
	"testing"
	"time"

	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// TestQuestionLoop wires a real bots.Bot and bots.Pipeline over SQLite to
// the adapter and the fake: /expert by U1, /ask by U2 in C1, the DM to U1
// with an Answer button, the button opening a modal, the modal submitted,
// and the answer in a thread on the question message in C1.
func TestQuestionLoop(t *testing.T) {
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
	inbox := bots.InboxFunc(func(ctx context.Context, ev bots.Event) error {
		err := p.Deliver(ctx, ev)
		if err == nil {
			f.note("deliver " + ev.ID)
		}
		return err
	})
	a, err := New(testConfig(f), inbox, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := bots.DefaultPipelineConfig()
	cfg.Poll = 20 * time.Millisecond
	p, err = bots.NewPipeline(store, bot, []bots.Sender{a}, core.SystemClock{}, cfg, nil, nil)
	if err != nil {
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

	// U1 becomes an expert: the reply edits the deferred response.
	f.dispatch("INTERACTION_CREATE", payload(t, "slash_expert.json", nil))
	edit := f.waitFor("PATCH /api/v10/webhooks/"+appID+"/aW50ZXJhY3Rpb246OTAwMDAwMDAwMDAwMDAwMDAy/messages/@original", atLeast(1))
	if c := body(t, edit[0])["content"].(string); !strings.Contains(c, "marchés publics") {
		t.Errorf("/expert reply %q", c)
	}

	// U2 asks in C1: the question is posted there, U1 gets a DM with a button.
	f.dispatch("INTERACTION_CREATE", payload(t, "slash_ask.json", nil))
	f.waitFor("POST /api/v10/channels/"+chanC1+"/messages", atLeast(1))
	f.mu.Lock()
	anchorID := f.history[chanC1][0]["id"].(string)
	f.mu.Unlock()
	dm := f.waitFor("POST /api/v10/channels/"+dmOf(userU1)+"/messages", atLeast(1))[0]
	dmBody := body(t, dm)
	if c := dmBody["content"].(string); !strings.Contains(c, "Comment rédiger un CCTP de marché public ?") {
		t.Errorf("DM to U1 %q", c)
	}
	button := dmBody["components"].([]any)[0].(map[string]any)["components"].([]any)[0].(map[string]any)
	customID := button["custom_id"].(string)
	if !strings.HasPrefix(customID, "f|answer:") {
		t.Fatalf("button %v", button)
	}
	if open := f.find("POST /api/v10/users/@me/channels"); len(open) != 1 {
		t.Errorf("DM channel opened %d times", len(open))
	}

	// U1 presses the button: a modal opens.
	f.dispatch("INTERACTION_CREATE", payload(t, "button_answer.json", func(m map[string]any) {
		m["data"].(map[string]any)["custom_id"] = customID
	}))
	cb := f.waitFor("POST /api/v10/interactions/900000000000000003/", atLeast(1))[0]
	resp := body(t, cb)
	if resp["type"].(float64) != 9 {
		t.Fatalf("button response %s, want a modal (type 9)", cb.Body)
	}
	modalID := resp["data"].(map[string]any)["custom_id"].(string)

	// U1 submits the modal: the answer goes into a thread on the question.
	f.dispatch("INTERACTION_CREATE", payload(t, "modal_answer.json", func(m map[string]any) {
		m["data"].(map[string]any)["custom_id"] = modalID
	}))
	cb = f.waitFor("POST /api/v10/interactions/900000000000000004/", atLeast(1))[0]
	if body(t, cb)["type"].(float64) != 6 {
		t.Errorf("modal response %s, want a deferred update (type 6)", cb.Body)
	}
	inThread := f.waitFor("POST /api/v10/channels/"+anchorID+"/messages", func(r []request) bool {
		for _, x := range r {
			if strings.Contains(string(x.Body), "Partez du modèle de la DAJ") {
				return true
			}
		}
		return false
	})
	var relay map[string]any
	for _, x := range inThread {
		if strings.Contains(string(x.Body), "Partez du modèle de la DAJ") {
			relay = body(t, x)
		}
	}
	if c := relay["content"].(string); !strings.HasPrefix(c, "<@"+userU2+">") {
		t.Errorf("relay %q should mention the asker", c)
	}
	am := relay["allowed_mentions"].(map[string]any)
	if len(am["parse"].([]any)) != 0 || len(am["users"].([]any)) != 1 || am["users"].([]any)[0] != userU2 {
		t.Errorf("relay allowed_mentions %v", am)
	}
	if th := f.find("POST /api/v10/channels/" + chanC1 + "/messages/" + anchorID + "/threads"); len(th) != 1 {
		t.Errorf("thread on the question started %d times", len(th))
	} else if name := body(t, th[0])["name"]; name != "Comment rédiger un CCTP de marché public ?" {
		t.Errorf("thread name %q", name)
	}
	// The thanks reaches U1 in the DM channel.
	f.waitFor("POST /api/v10/channels/"+dmOf(userU1)+"/messages", atLeast(2))
	f.mu.Lock()
	t.Logf("what the fake saw:\n%s", strings.Join(f.log, "\n"))
	f.mu.Unlock()
}
