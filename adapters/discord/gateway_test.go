package discord

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestResume forces a reconnection: discordgo resumes the session (op 6
// with the session id and the last sequence), the fake replays from there,
// and every message arrives; the replayed one keeps its id, for the inbox
// to drop.
func TestResume(t *testing.T) {
	f := newFake(t)
	in := &recInbox{f: f}
	start(t, f, testConfig(f), in, newMemStore())
	f.dispatch("MESSAGE_CREATE", payload(t, "message_mention.json", nil))
	in.wait(t, 1)
	f.mu.Lock()
	lastSeq := f.seq
	f.mu.Unlock()

	f.reconnect()
	f.dispatch("MESSAGE_CREATE", payload(t, "message_dm.json", nil)) // while disconnected
	f.connected(2)
	evs := in.wait(t, 3)
	time.Sleep(50 * time.Millisecond)
	evs = in.wait(t, 3)
	ids := map[string]int{}
	for _, ev := range evs {
		ids[ev.ID]++
	}
	if len(evs) != 3 || ids["1200000000000000001"] != 2 || ids["1200000000000000002"] != 1 {
		t.Errorf("events after the resume: %v", ids)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.identifies) != 1 || len(f.resumes) != 1 {
		t.Fatalf("%d identifies, %d resumes; want one of each", len(f.identifies), len(f.resumes))
	}
	r := f.resumes[0]
	if r["session_id"] != "d1b1bb54e7e7f8c1f1c1e1d1a1b1c1d1" || int(r["seq"].(float64)) != lastSeq || r["token"] != "Bot test-token" {
		t.Errorf("resume %v, want session d1b1… at sequence %d", r, lastSeq)
	}
	if f.heartbeats == 0 {
		t.Error("no heartbeat")
	}
}

// TestBackfill starts an adapter after messages were written to it while
// it was away: those after the checkpoint that mention the bot are
// delivered, the checkpoint moves past all of them. Messages read from the
// REST API carry no guild id: the event's tenant comes from the channel.
func TestBackfill(t *testing.T) {
	f := newFake(t)
	store := newMemStore()
	store.m[keyWatched] = chanC1
	store.m[keyLast+chanC1] = "1200000000000000001"
	mention := payload(t, "message_mention.json", nil)
	missed := payload(t, "message_mention.json", func(m map[string]any) { m["id"] = "1200000000000000005"; delete(m, "guild_id") })
	plain := payload(t, "message_mention.json", func(m map[string]any) {
		m["id"], m["content"], m["mentions"] = "1200000000000000006", "merci", []any{}
		delete(m, "guild_id")
	})
	f.history[chanC1] = []map[string]any{mention, missed, plain}
	in := &recInbox{f: f}
	start(t, f, testConfig(f), in, store)
	evs := in.wait(t, 1)
	get := f.waitFor("GET /api/v10/channels/"+chanC1+"/messages", atLeast(1))
	if get[0].Path != "/api/v10/channels/"+chanC1+"/messages?limit=100&after=1200000000000000001" {
		t.Errorf("backfill asked %s", get[0].Path)
	}
	time.Sleep(50 * time.Millisecond)
	evs = in.wait(t, 1)
	if len(evs) != 1 || evs[0].ID != "1200000000000000005" || evs[0].DM || evs[0].Room != chanC1 || evs[0].Text != "!ask Qui valide un avenant de marché ?" || evs[0].Tenant != guildID {
		t.Errorf("backfilled %+v", evs)
	}
	if v, _ := store.Checkpoint(t.Context(), keyLast+chanC1); v != "1200000000000000006" {
		t.Errorf("checkpoint %q", v)
	}
}

// TestRefusedToken checks that Run stops with an error naming the
// variables to check when Discord refuses the token, without showing it.
func TestRefusedToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, map[string]any{"message": "401: Unauthorized", "code": 0})
	}))
	defer srv.Close()
	a, err := New(Config{Token: "refused-token", AppID: appID, APIURL: srv.URL + "/api/v10"}, &recInbox{}, newMemStore(), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = a.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), EnvToken) || strings.Contains(err.Error(), "refused-token") {
		t.Fatalf("Run = %v", err)
	}
}
