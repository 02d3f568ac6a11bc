package discord

import (
	"encoding/json"
	"testing"
	"time"
)

// inGuild moves an interaction payload sent in a direct message into
// channel C1 of the guild: guild_id, a member instead of a user.
func inGuild(m map[string]any) {
	m["guild_id"], m["channel_id"] = guildID, chanC1
	m["channel"] = map[string]any{"id": chanC1, "type": 0, "guild_id": guildID}
	m["member"] = map[string]any{"user": m["user"], "nick": nil, "roles": []any{}}
	delete(m, "user")
}

// inDM moves an interaction payload sent in the guild into the direct
// message channel of its user: no guild_id, a user instead of a member.
func inDM(m map[string]any) {
	u := m["member"].(map[string]any)["user"].(map[string]any)
	ch := dmOf(u["id"].(string))
	delete(m, "guild_id")
	delete(m, "member")
	m["user"], m["channel_id"] = u, ch
	m["channel"] = map[string]any{"id": ch, "type": 1}
	m["context"] = 1
}

// TestTenant checks that every inbound path gives the event the guild id
// as its tenant, and none in a direct message: gateway messages, slash
// commands, buttons and modal submissions, each from Discord's payloads.
func TestTenant(t *testing.T) {
	for _, c := range []struct {
		name, kind, file string
		edit             func(m map[string]any)
		tenant           string
		dm               bool
	}{
		{name: "mention in a server", kind: "MESSAGE_CREATE", file: "message_mention.json", tenant: guildID},
		{name: "direct message", kind: "MESSAGE_CREATE", file: "message_dm.json", dm: true},
		{name: "slash command in a server", kind: "INTERACTION_CREATE", file: "slash_expert.json", tenant: guildID},
		{name: "slash command in a direct message", kind: "INTERACTION_CREATE", file: "slash_expert.json", edit: inDM, dm: true},
		{name: "/ask in a server", kind: "INTERACTION_CREATE", file: "slash_ask.json", tenant: guildID},
		{name: "/ask in a direct message", kind: "INTERACTION_CREATE", file: "slash_ask.json", edit: inDM, dm: true},
		{name: "button in a direct message", kind: "INTERACTION_CREATE", file: "button_answer.json", edit: commandButton, dm: true},
		{name: "button in a server", kind: "INTERACTION_CREATE", file: "button_answer.json", edit: func(m map[string]any) {
			commandButton(m)
			inGuild(m)
		}, tenant: guildID, dm: true},
		{name: "modal from a button in a direct message", kind: "INTERACTION_CREATE", file: "modal_answer.json", dm: true},
		{name: "modal from a button in a server", kind: "INTERACTION_CREATE", file: "modal_answer.json", edit: inGuild, tenant: guildID, dm: true},
		{name: "modal of /ask in a server", kind: "INTERACTION_CREATE", file: "modal_answer.json", edit: func(m map[string]any) {
			inGuild(m)
			delete(m, "message")
			m["data"].(map[string]any)["custom_id"] = "q|ask"
		}, tenant: guildID},
		{name: "modal of /ask in a direct message", kind: "INTERACTION_CREATE", file: "modal_answer.json", edit: func(m map[string]any) {
			delete(m, "message")
			m["data"].(map[string]any)["custom_id"] = "q|ask"
		}, dm: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			in := &recInbox{f: f}
			a, err := New(testConfig(f), in, newMemStore(), nil)
			if err != nil {
				t.Fatal(err)
			}
			a.botID = botID
			raw, err := json.Marshal(payload(t, c.file, c.edit))
			if err != nil {
				t.Fatal(err)
			}
			a.dispatch(&runState{ctx: t.Context()}, c.kind, raw)
			evs := in.wait(t, 1)
			if len(evs) != 1 {
				t.Fatalf("events %+v", evs)
			}
			if ev := evs[0]; ev.Tenant != c.tenant || ev.DM != c.dm {
				t.Errorf("event %+v: tenant %q and DM %v, want %q and %v", ev, ev.Tenant, ev.DM, c.tenant, c.dm)
			}
		})
	}
}

func commandButton(m map[string]any) {
	m["data"].(map[string]any)["custom_id"] = "c|pass:1|pass 1"
}

// TestBackfillDirectMessageTenant checks that a direct message read back
// after a restart has no tenant, and that its channel is not looked up.
func TestBackfillDirectMessageTenant(t *testing.T) {
	f := newFake(t)
	store := newMemStore()
	dm := dmOf(userU2)
	store.m[keyWatched] = "d:" + dm
	store.m[keyLast+dm] = "1200000000000000001"
	f.history[dm] = []map[string]any{payload(t, "message_dm.json", nil)}
	in := &recInbox{f: f}
	start(t, f, testConfig(f), in, store)
	evs := in.wait(t, 1)
	time.Sleep(50 * time.Millisecond)
	if evs = in.wait(t, 1); len(evs) != 1 || evs[0].Tenant != "" || !evs[0].DM || evs[0].Room != dm {
		t.Errorf("backfilled %+v", evs)
	}
	for _, r := range f.find("GET /api/v10/channels/" + dm) {
		if r.Path == "/api/v10/channels/"+dm {
			t.Errorf("looked up the DM channel")
		}
	}
}
