package slack

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"entraide/adapters/slack/slacktest"
	"entraide/bots"
)

// runAdapter runs a in the background until the test ends, and checks that
// Run returns nil soon after its context is done.
func runAdapter(t *testing.T, a *Adapter) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

// journal records, in order, what the inbox did and what the fake received.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, s)
}

func (j *journal) get() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}

// TestSocketModeAcksAfterDelivery checks that an envelope is acknowledged
// only after Deliver returned nil: a failed delivery leaves it
// unacknowledged, Slack sends it again, and the second delivery, with the
// same event id, is acknowledged.
func TestSocketModeAcksAfterDelivery(t *testing.T) {
	f := slacktest.New(t)
	var j journal
	failures := 1
	var mu sync.Mutex
	inbox := bots.InboxFunc(func(_ context.Context, ev bots.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			j.add("fail " + ev.ID)
			return errors.New("store unavailable")
		}
		j.add("stored " + ev.ID)
		return nil
	})
	a := newTestAdapter(t, f, inbox, true)
	runAdapter(t, a)
	f.WaitConnected(t)

	f.SendEnvelope(t, kindEvents, "env-1", payload(t, "message_im", nil), 0)
	if f.WaitAck("env-1", 500*time.Millisecond) {
		t.Fatal("acknowledged although Deliver failed")
	}
	j.add("resent")
	f.SendEnvelope(t, kindEvents, "env-1", payload(t, "message_im", nil), 1)
	if !f.WaitAck("env-1", 5*time.Second) {
		t.Fatal("not acknowledged after a successful Deliver")
	}
	j.add("ack env-1")
	want := []string{"fail Ev0DIRECT01", "resent", "stored Ev0DIRECT01", "ack env-1"}
	if got := j.get(); !slices.Equal(got, want) {
		t.Fatalf("journal %q, want %q", got, want)
	}

	// Slash commands and interactions are acknowledged after delivery too;
	// a malformed envelope is acknowledged and dropped.
	f.SendEnvelope(t, kindSlash, "env-2", payload(t, "slash_command", map[string]any{"text": "help"}), 0)
	f.SendEnvelope(t, kindInteractive, "env-3", payload(t, "block_actions", map[string]any{"actions": []any{map[string]any{"action_id": "resolve:1", "block_id": blockCommands, "value": "resolve 1"}}}), 0)
	f.SendEnvelope(t, kindEvents, "env-4", []byte(`{"type":"event_callback","event":{"type":"message"}}`), 0)
	for _, id := range []string{"env-2", "env-3", "env-4"} {
		if !f.WaitAck(id, 5*time.Second) {
			t.Fatalf("%s not acknowledged; acknowledgements: %q", id, f.Acks())
		}
	}
	if want := []string{"stored slash:13345224609.738474920.8088930838d88f008e0", "stored action:12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3"}; !containsAll(j.get(), want) {
		t.Fatalf("journal %q lacks %q", j.get(), want)
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// TestSocketModeSupervised checks that the adapter comes back when slack-go
// gives up (a failed apps.connections.open ends its run loop for good) and
// when Slack drops the connection.
func TestSocketModeSupervised(t *testing.T) {
	f := slacktest.New(t)
	f.FailConnectionsOpen(1)
	inbox := &recordingInbox{}
	a := newTestAdapter(t, f, inbox, true)
	runAdapter(t, a)
	f.WaitConnected(t)
	if n := len(f.Calls("apps.connections.open")); n != 2 {
		t.Fatalf("apps.connections.open called %d times, want 2", n)
	}
	f.DropConnection()
	f.WaitConnected(t)
	f.DeliverUntilAcked(t, kindEvents, "env-9", payload(t, "app_mention", nil), 3, 2*time.Second)
	if got := inbox.delivered(); len(got) == 0 || got[0].ID != "Ev0MENTION1" {
		t.Fatalf("delivered %+v", got)
	}
}
