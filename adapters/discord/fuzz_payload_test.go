package discord

import (
	"context"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"entraide/bots"
	"entraide/core"
)

// The fuzz target of this file feeds gateway dispatches to the adapter, as
// discordgo hands them over (an event name and its JSON data), and checks
// what comes out: the events delivered are well-formed, and an interaction
// delivered is answered once.

// fuzzDispatches are the gateway events the adapter reads, indexed by the
// fuzzer's kind byte.
var fuzzDispatches = []string{"MESSAGE_CREATE", "INTERACTION_CREATE", "THREAD_CREATE", "GUILD_CREATE", "READY"}

// fuzzSeeds maps each recorded payload of testdata/ to its gateway event.
var fuzzSeeds = map[string]string{
	"message_mention.json": "MESSAGE_CREATE",
	"message_dm.json":      "MESSAGE_CREATE",
	"slash_ask.json":       "INTERACTION_CREATE",
	"slash_expert.json":    "INTERACTION_CREATE",
	"button_answer.json":   "INTERACTION_CREATE",
	"modal_answer.json":    "INTERACTION_CREATE",
	"ready.json":           "READY",
}

// okREST answers every REST call in process with a success whose id
// serves as the id of a posted message, and counts the interaction
// responses by interaction.
type okREST struct {
	mu        sync.Mutex
	callbacks map[string]int // interaction id -> responses
}

func (o *okREST) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/v10/interactions/"); ok && r.Method == http.MethodPost {
		id, _, _ := strings.Cut(rest, "/")
		o.mu.Lock()
		o.callbacks[id]++
		o.mu.Unlock()
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"id":"1300000000000000099","guild_id":"` + guildID + `"}`)),
		Request:    r,
	}, nil
}

// FuzzGatewayDispatch hands any data to the adapter as each gateway event
// it reads: messages (mentions, direct messages, plain channel messages in
// message content mode), interactions (application commands, buttons and
// modal submissions), threads and READY. A delivered event has an id, a
// sender and Discord as its platform, a tenant that is one guild id or
// none, and a text no larger than the payload could carry (a JSON string
// grows threefold at most when decoded, an invalid byte becoming U+FFFD;
// the prefix and command words stay under a few hundred bytes). An
// interaction delivered is answered exactly once, none more than once.
func FuzzGatewayDispatch(f *testing.F) {
	for _, name := range slices.Sorted(maps.Keys(fuzzSeeds)) {
		kind := fuzzSeeds[name]
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for i, k := range fuzzDispatches {
			if k == kind {
				f.Add(uint8(i), false, raw)
				f.Add(uint8(i), true, raw)
			}
		}
	}
	f.Add(uint8(0), true, []byte(`{"id":"1","channel_id":"2","guild_id":"3","author":{"id":"4"},"content":"ask Quoi ?"}`))
	f.Add(uint8(1), false, []byte(`{"id":"1","type":5,"token":"t","user":{"id":"4"},"data":{"custom_id":"s|offer/fr","components":[{"components":[{"custom_id":"f0","value":"Juriste"}]}]}}`))
	f.Add(uint8(0), false, []byte(`{"id":"1","channel_id":"2","guild_id":"3 mail:gouv.fr","author":{"id":"4"},"content":"<@`+botID+`> ask Quoi ?"}`))
	f.Add(uint8(1), false, []byte(`{"id":"1","type":2,"token":"t","guild_id":"5\t6","member":{"user":{"id":"4"}},"data":{"name":"expert","options":[{"name":"topics","value":"x"}]}}`))
	f.Add(uint8(2), false, []byte(`{"id":"600000000000000001","type":11}`))
	f.Add(uint8(3), false, []byte(`{"threads":[{"id":"600000000000000001","type":11}]}`))
	f.Fuzz(func(t *testing.T, k uint8, messageContent bool, raw []byte) {
		kind := fuzzDispatches[int(k)%len(fuzzDispatches)]
		inbox := &recInbox{}
		a, err := New(Config{Token: "test-token", AppID: appID, APIURL: "http://discord.invalid/api/v10", MessageContent: messageContent}, inbox, newMemStore(), nil)
		if err != nil {
			t.Fatal(err)
		}
		api := &okREST{callbacks: map[string]int{}}
		a.api.client = &http.Client{Transport: api}
		a.api.bucket = newBucket(a.clock, 1<<20)
		a.botID = botID
		run := &runState{ctx: context.Background()}
		a.dispatch(run, kind, raw)
		run.stop()
		run.wg.Wait()

		inbox.mu.Lock()
		evs := append([]bots.Event(nil), inbox.events...)
		inbox.mu.Unlock()
		if len(evs) > 1 {
			t.Fatalf("%s delivered %d events: %+v", kind, len(evs), evs)
		}
		for _, ev := range evs {
			checkEvent(t, ev, len(raw))
			if kind == "INTERACTION_CREATE" && api.callbacks[ev.ID] != 1 {
				t.Fatalf("interaction %s delivered and answered %d times", ev.ID, api.callbacks[ev.ID])
			}
		}
		for id, n := range api.callbacks {
			if n > 1 {
				t.Fatalf("interaction %q answered %d times", id, n)
			}
		}
	})
}

// checkEvent checks one event delivered from a payload of size bytes.
func checkEvent(t *testing.T, ev bots.Event, size int) {
	t.Helper()
	if ev.ID == "" || ev.Sender.User == "" {
		t.Fatalf("event without id or sender: %+v", ev)
	}
	if ev.Platform != Platform || ev.Sender != (core.Identity{Platform: Platform, User: ev.Sender.User}) {
		t.Fatalf("event of platform %q, sender %+v", ev.Platform, ev.Sender)
	}
	if ev.Tenant != "" && !snowflake(ev.Tenant) {
		t.Fatalf("tenant %q is not a guild id", ev.Tenant)
	}
	if ev.Text == "" || !utf8.ValidString(ev.Text) || len(ev.Text) > 3*size+256 {
		t.Fatalf("text of %d bytes (valid UTF-8: %v) from a payload of %d: %q", len(ev.Text), utf8.ValidString(ev.Text), size, ev.Text)
	}
}

// TestTenantIsOneGuildID checks that a guild id that is not a snowflake
// gives no tenant, on messages and interactions alike: "3 mail:gouv.fr"
// would otherwise read as two tenants, one of them an e-mail domain that
// access rules admit.
func TestTenantIsOneGuildID(t *testing.T) {
	for _, c := range []struct{ kind, raw string }{
		{"MESSAGE_CREATE", `{"id":"1","channel_id":"2","guild_id":"3 mail:gouv.fr","author":{"id":"4"},"content":"<@` + botID + `> ask Quoi ?"}`},
		{"INTERACTION_CREATE", `{"id":"1","type":2,"token":"t","channel_id":"2","guild_id":"5\tmail:gouv.fr","member":{"user":{"id":"4"}},"data":{"name":"expert","options":[{"name":"topics","value":"x"}]}}`},
	} {
		inbox := &recInbox{}
		a, err := New(Config{Token: "test-token", AppID: appID, APIURL: "http://discord.invalid/api/v10"}, inbox, newMemStore(), nil)
		if err != nil {
			t.Fatal(err)
		}
		a.api.client = &http.Client{Transport: &okREST{callbacks: map[string]int{}}}
		a.botID = botID
		a.dispatch(&runState{ctx: t.Context()}, c.kind, []byte(c.raw))
		if len(inbox.events) != 1 || inbox.events[0].Tenant != "" || inbox.events[0].DM || inbox.events[0].Room != "2" {
			t.Errorf("%s: events %+v, want one in room 2 without tenant", c.kind, inbox.events)
		}
	}
}

// TestMessageNeedsIDAndChannel checks that a MESSAGE_CREATE without a
// message id or a channel id delivers nothing: the inbox tells events
// apart by id, and the channel's checkpoint is kept under its id.
func TestMessageNeedsIDAndChannel(t *testing.T) {
	for _, raw := range []string{
		`{"author":{"id":"4"},"content":"0"}`,
		`{"channel_id":"2","author":{"id":"4"},"content":"!mine"}`,
		`{"id":"1","author":{"id":"4"},"content":"!mine"}`,
	} {
		inbox := &recInbox{}
		store := newMemStore()
		a, err := New(Config{Token: "test-token", AppID: appID, APIURL: "http://discord.invalid/api/v10"}, inbox, store, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.api.client = &http.Client{Transport: &okREST{callbacks: map[string]int{}}}
		a.dispatch(&runState{ctx: t.Context()}, "MESSAGE_CREATE", []byte(raw))
		if len(inbox.events) != 0 || len(store.m) != 0 {
			t.Errorf("%s: delivered %+v, checkpoints %v", raw, inbox.events, store.m)
		}
	}
}
