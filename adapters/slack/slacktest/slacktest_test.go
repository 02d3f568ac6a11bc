package slacktest_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goslack "github.com/slack-go/slack"

	"entraide/adapters/slack"
	"entraide/adapters/slack/slacktest"
	"entraide/bots"
	"entraide/core"
)

// TestEnvNames checks that Env answers the adapter's variables.
func TestEnvNames(t *testing.T) {
	want := []string{slack.EnvBotToken, slack.EnvAppToken, slack.EnvSigningSecret, slack.EnvAPIURL, slack.EnvListen}
	if !slices.Equal(slacktest.EnvNames, want) {
		t.Fatalf("EnvNames %q, want %q", slacktest.EnvNames, want)
	}
}

// TestFileUploadFlow plays the three steps of an upload with slack-go, and
// checks that files.completeUploadExternal takes only a file id the
// workspace gave whose bytes were posted, with the declared length, once.
func TestFileUploadFlow(t *testing.T) {
	ws := slacktest.New(t)
	api := goslack.New(slacktest.BotToken, goslack.OptionAPIURL(ws.APIURL()))
	ctx := context.Background()
	start := func(name string, length int) *goslack.GetUploadURLExternalResponse {
		t.Helper()
		u, err := api.GetUploadURLExternalContext(ctx, goslack.GetUploadURLExternalParameters{FileName: name, FileSize: length})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	put := func(u *goslack.GetUploadURLExternalResponse, data string) {
		t.Helper()
		if err := api.UploadToURL(ctx, goslack.UploadToURLParameters{UploadURL: u.UploadURL, Filename: "x", Reader: strings.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
	}
	complete := func(id, channel, thread string) error {
		_, err := api.CompleteUploadExternalContext(ctx, goslack.CompleteUploadExternalParameters{
			Files: []goslack.FileSummary{{ID: id, Title: "Export"}}, Channel: channel, ThreadTimestamp: thread,
		})
		return err
	}
	slackError := func(err error) string {
		var resp goslack.SlackErrorResponse
		if errors.As(err, &resp) {
			return resp.Err
		}
		return ""
	}

	data := `{"a":"éé"}`
	good := start("export.json", len(data))
	put(good, data)
	if err := complete(good.FileID, "D1", "1700000000.000001"); err != nil {
		t.Fatal(err)
	}
	files := ws.Files()
	if len(files) != 1 || files[0].ID != good.FileID || files[0].Name != "export.json" || files[0].Title != "Export" ||
		files[0].Channel != "D1" || files[0].Thread != "1700000000.000001" || string(files[0].Data) != data {
		t.Fatalf("files %+v", files)
	}
	if err := complete(good.FileID, "D1", ""); slackError(err) != "already_completed" {
		t.Errorf("completed twice: %v", err)
	}
	if err := complete("F404", "D1", ""); slackError(err) != "file_not_found" {
		t.Errorf("unknown id: %v", err)
	}
	notPosted := start("a.txt", 3)
	if err := complete(notPosted.FileID, "D1", ""); slackError(err) != "file_not_uploaded" {
		t.Errorf("bytes never posted: %v", err)
	}
	short := start("b.txt", 10)
	put(short, "123")
	if err := complete(short.FileID, "D1", ""); slackError(err) != "file_size_mismatch" {
		t.Errorf("length differs: %v", err)
	}
	if _, err := api.GetUploadURLExternalContext(ctx, goslack.GetUploadURLExternalParameters{FileName: "c", FileSize: -1}); slackError(err) != "invalid_arguments" {
		t.Errorf("negative length: %v", err)
	}
	if n := len(ws.Files()); n != 1 {
		t.Errorf("%d files shared, want 1", n)
	}

	// A rate limit on any step answers 429 with Retry-After.
	for _, method := range []string{"files.getUploadURLExternal", slacktest.Upload, "files.completeUploadExternal"} {
		u := start("d.txt", 1)
		ws.RateLimit(method, 1, 2*time.Second)
		var err error
		switch method {
		case "files.getUploadURLExternal":
			_, err = api.GetUploadURLExternalContext(ctx, goslack.GetUploadURLExternalParameters{FileName: "d.txt", FileSize: 1})
		case slacktest.Upload:
			err = api.UploadToURL(ctx, goslack.UploadToURLParameters{UploadURL: u.UploadURL, Filename: "d.txt", Reader: strings.NewReader("d")})
		default:
			put(u, "d")
			err = complete(u.FileID, "C1", "")
		}
		var limited *goslack.RateLimitedError
		if !errors.As(err, &limited) || limited.RetryAfter != 2*time.Second {
			t.Errorf("%s: %v, want a rate limit of 2s", method, err)
		}
	}
}

// echo is an inbox that answers as a bot would, through the adapter: a
// form button to a direct message, a JSON file to the form's submission,
// and a reply in the thread of a mention.
type echo struct {
	a *slack.Adapter

	mu     sync.Mutex
	events []bots.Event
}

var export = []byte(`{"identities":[{"platform":"slack","user":"U1"}]}`)

func (e *echo) Deliver(ctx context.Context, ev bots.Event) error {
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
	var m bots.Message
	switch {
	case strings.HasPrefix(ev.Text, "!answer 1 "):
		m.Text("Voici vos données.")
		m.File = &bots.File{Name: "entraide-mes-donnees.json", MIME: "application/json", Data: export}
	case ev.DM:
		m.Text("Question n°1 : ").Quote(ev.Text)
		m.Actions = []bots.Action{{Kind: bots.ActionForm, ID: "answer:1", Label: "Répondre", Command: "answer 1", FormTitle: "Répondre (1)", FormLabel: "Votre réponse"}}
	default:
		m.Text("Bien reçu : ").Quote(ev.Text)
	}
	_, err := e.a.Send(ctx, bots.Outgoing{To: bots.ReplyTo(ev), Message: m, Key: ev.ID + "/reply"})
	return err
}

func (e *echo) event(t *testing.T, id string) bots.Event {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.events {
		if ev.ID == id {
			return ev
		}
	}
	t.Fatalf("no event %s among %+v", id, e.events)
	return bots.Event{}
}

// TestAdapterOverWorkspace runs the real adapter over the workspace, as a
// test of another package does, over each transport: a guest of another
// organisation writes to the bot, presses the button of its reply, fills
// the modal in and gets a file; someone mentions the bot in a channel and
// uses the slash command.
func TestAdapterOverWorkspace(t *testing.T) {
	for _, tr := range []slacktest.Transport{slacktest.SocketMode, slacktest.EventsAPI} {
		t.Run(map[slacktest.Transport]string{slacktest.SocketMode: "socket mode", slacktest.EventsAPI: "events API"}[tr], func(t *testing.T) {
			ws := slacktest.New(t)
			cfg, enabled, err := slack.ConfigFromEnv(ws.Env(tr))
			if err != nil || !enabled {
				t.Fatalf("config: %v, enabled %v", err, enabled)
			}
			inbox := &echo{}
			a, err := slack.New(cfg, inbox, nil)
			if err != nil {
				t.Fatal(err)
			}
			inbox.a = a
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- a.Run(ctx) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run = %v", err)
				}
			})

			dora := slacktest.User{ID: "U0EXT42", Name: "dora", Team: "T2EXT"}
			dm := ws.DM(dora, "Qui valide un avenant <b>?</b>")
			ws.Do(t, dm)
			if ev := inbox.event(t, dm.EventID); ev.Text != "Qui valide un avenant <b>?</b>" || ev.Tenant != "T2EXT" || !ev.DM || ev.Sender.User != dora.ID {
				t.Errorf("DM event %+v", ev)
			}
			request := ws.WaitPost(t, ws.IMChannel(dora.ID), "", "Question n°1")
			if !strings.Contains(request.Blocks, `"answer:1"`) {
				t.Fatalf("no button in %s", request.Blocks)
			}
			press := ws.Press(dora, request, "answer:1")
			ws.Do(t, press)
			views := ws.Views()
			if len(views) != 1 || views[0].User != dora.ID || views[0].TriggerID != press.Trigger {
				t.Fatalf("views %+v", views)
			}
			if r := ws.Submit(dora, "a", "b"); r.Err == nil {
				t.Errorf("two values for one input: no error")
			}
			submit := ws.Submit(dora, "Le service juridique.")
			ws.Do(t, submit)
			if ev := inbox.event(t, "view:"+views[0].ID); ev.Text != "!answer 1 Le service juridique." || ev.Tenant != "T2EXT" {
				t.Errorf("submission event %+v", ev)
			}
			file := ws.WaitFile(t, ws.IMChannel(dora.ID), "entraide-mes-donnees.json")
			if !bytes.Equal(file.Data, export) || file.Thread != "" {
				t.Errorf("file %+v", file)
			}
			if r := ws.Submit(dora, "again"); r.Err == nil {
				t.Errorf("a modal submitted twice")
			}

			bob := slacktest.User{ID: "U1", Name: "bob"}
			mention := ws.Mention(bob, "C1", "", "une question <!channel>")
			ws.Do(t, mention)
			reply := ws.WaitPost(t, "C1", mention.TS, "Bien reçu")
			if !strings.Contains(reply.Text, "&lt;!channel&gt;") {
				t.Errorf("reply %q", reply.Text)
			}
			help := ws.Slash(bob, "C1", "help")
			ws.Do(t, help)
			if slash := inbox.event(t, "slash:"+help.Trigger); slash.Text != "!help" || slash.Tenant != slacktest.TeamID || slash.Sender != (core.Identity{Platform: slack.Platform, User: "U1"}) {
				t.Errorf("slash event %+v", slash)
			}

			// The global shortcut opens the ask modal; its submission,
			// without a channel, is a question by direct message.
			ws.Do(t, ws.Shortcut(bob, slack.CallbackAskShortcut))
			ask := ws.Submit(bob, "Quel délai ?", "")
			ws.Do(t, ask)
			if views := ws.Views(); len(views) != 2 || views[1].User != bob.ID {
				t.Fatalf("views %+v", views)
			}
			if ev := inbox.event(t, "view:"+ws.Views()[1].ID); ev.Text != "!ask Quel délai ?" || !ev.DM || ev.Tenant != slacktest.TeamID {
				t.Errorf("ask modal event %+v", ev)
			}
			// The message shortcut asks a channel message in its thread.
			shortcut := ws.MessageShortcut(dora, slack.CallbackMessageShortcut, "C1", "1700000000.000900", bob, "Qui signe ?")
			ws.Do(t, shortcut)
			if ev := inbox.event(t, "shortcut:"+shortcut.Trigger); ev.Text != "!ask Qui signe ?" || ev.Room != "C1" || ev.Thread != "1700000000.000900" || ev.Tenant != "T2EXT" {
				t.Errorf("message shortcut event %+v", ev)
			}
		})
	}
}
