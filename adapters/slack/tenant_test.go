package slack

import (
	"fmt"
	"testing"
	"time"

	"entraide/adapters/slack/slacktest"
	"entraide/bots"
)

// TestTenant delivers recorded payloads of every inbound kind, over the
// Events API and over Socket Mode, and checks the Tenant of the event: the
// team of the person, which in a channel shared with another organisation
// is theirs, not the workspace's.
func TestTenant(t *testing.T) {
	command := []any{map[string]any{"action_id": "resolve:1", "block_id": blockCommands, "value": "resolve 1", "type": "button"}}
	askValues := map[string]any{blockText: map[string]any{actionText: map[string]any{"type": "plain_text_input", "value": "Quel délai ?"}}}
	cases := []struct {
		name, kind, file string
		set              map[string]any
		id, want         string
	}{
		{"app_mention", kindEvents, "app_mention", nil, "Ev0MENTION1", "T1"},
		{"app_mention in a channel shared with another organisation", kindEvents, "app_mention_shared", nil, "Ev0SHARED01", "T2EXT"},
		{"message.im", kindEvents, "message_im", nil, "Ev0DIRECT01", "T1"},
		{"message.im with the author's team", kindEvents, "message_im", map[string]any{"event_id": "Ev0DIRECT02", "event.team": "T3"}, "Ev0DIRECT02", "T3"},
		{"message.im with a team that is not an id", kindEvents, "message_im", map[string]any{"event_id": "Ev0DIRECT03", "event.user_team": "T2 T9", "event.team": ""}, "Ev0DIRECT03", "T1"},
		{"slash command", kindSlash, "slash_command", map[string]any{"text": "help"}, "slash:13345224609.738474920.8088930838d88f008e0", "T1"},
		{"slash command from another workspace", kindSlash, "slash_command", map[string]any{"text": "help", "team_id": "T2EXT", "trigger_id": "t-ext"}, "slash:t-ext", "T2EXT"},
		{"block_actions", kindInteractive, "block_actions", map[string]any{"trigger_id": "t-a", "actions": command}, "action:t-a", "T1"},
		{"block_actions of a guest from another organisation", kindInteractive, "block_actions", map[string]any{"trigger_id": "t-b", "actions": command, "user.team_id": "T2EXT"}, "action:t-b", "T2EXT"},
		{"block_actions without the user's team", kindInteractive, "block_actions", map[string]any{"trigger_id": "t-c", "actions": command, "user.team_id": nil, "team.id": "T4"}, "action:t-c", "T4"},
		{"view_submission", kindInteractive, "view_submission", nil, "view:VNHU13V36", "T1"},
		{"view_submission of a guest", kindInteractive, "view_submission", map[string]any{"view.id": "V2", "user.team_id": "T2EXT"}, "view:V2", "T2EXT"},
		{"view_submission of the global shortcut's modal", kindInteractive, "view_submission", map[string]any{
			"view.id": "VASK", "view.callback_id": viewAsk, "view.private_metadata": "", "view.state.values": askValues, "user.team_id": "T2EXT",
		}, "view:VASK", "T2EXT"},
		{"message shortcut", kindInteractive, "message_action", nil, "shortcut:13345224609.8534564800.6f8ab1f53e13d0cd15f96106292d5536", "T1"},
		{"message shortcut of a guest", kindInteractive, "message_action", map[string]any{"trigger_id": "t-m", "user.team_id": "T2EXT"}, "shortcut:t-m", "T2EXT"},
	}
	for _, socket := range []bool{false, true} {
		t.Run(map[bool]string{false: "events API", true: "socket mode"}[socket], func(t *testing.T) {
			f := slacktest.New(t)
			inbox := &recordingInbox{}
			a := newTestAdapter(t, f, inbox, socket)
			if socket {
				runAdapter(t, a)
				f.WaitConnected(t)
			} else {
				a.botUserID = testBotUser
			}
			for i, c := range cases {
				p := payload(t, c.file, c.set)
				if socket {
					env := fmt.Sprintf("env-tenant-%d", i)
					f.SendEnvelope(t, c.kind, env, p, 0)
					if !f.WaitAck(env, 5*time.Second) {
						t.Fatalf("%s: not acknowledged", c.name)
					}
				} else if rec := postSigned(t, a, c.kind, p); rec.Code != 200 {
					t.Fatalf("%s: status %d %s", c.name, rec.Code, rec.Body)
				}
				ev, ok := lastEvent(inbox, c.id)
				if !ok {
					t.Errorf("%s: no event %s among %+v", c.name, c.id, inbox.delivered())
					continue
				}
				if ev.Tenant != c.want {
					t.Errorf("%s: Tenant %q, want %q", c.name, ev.Tenant, c.want)
				}
			}
			// The global shortcut delivers nothing: it opens the modal
			// whose submission is the question (above).
			before := len(inbox.delivered())
			if socket {
				f.DeliverUntilAcked(t, kindInteractive, "env-shortcut", payload(t, "shortcut", nil), 1, 5*time.Second)
			} else {
				postSigned(t, a, kindInteractive, payload(t, "shortcut", nil))
			}
			if n := len(inbox.delivered()); n != before || len(f.Views()) == 0 {
				t.Errorf("global shortcut: %d events, %d views", n-before, len(f.Views()))
			}
		})
	}
}

// lastEvent returns the last event delivered with id.
func lastEvent(inbox *recordingInbox, id string) (bots.Event, bool) {
	evs := inbox.delivered()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].ID == id {
			return evs[i], true
		}
	}
	return bots.Event{}, false
}

// TestTenantPattern checks which team ids become a Tenant.
func TestTenantPattern(t *testing.T) {
	for _, c := range []struct {
		ids  []string
		want string
	}{
		{[]string{"T1"}, "T1"},
		{[]string{"", "T0123ABCD"}, "T0123ABCD"},
		{[]string{"E0AB1CD2E", "T1"}, "E0AB1CD2E"},
		{[]string{"T2 T9", "t1", "U1", "T1\n", "T1"}, "T1"},
		{[]string{"slack:T1", ""}, ""},
		{nil, ""},
	} {
		if got := tenant(c.ids...); got != c.want {
			t.Errorf("tenant(%q) = %q, want %q", c.ids, got, c.want)
		}
	}
}
