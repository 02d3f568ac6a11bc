package slack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"entraide/adapters/slack/slacktest"
	"entraide/bots"
)

// The fuzz targets of this file feed Slack's inbound requests to the
// adapter, as Socket Mode hands them over (a kind and a JSON payload) and
// as the Events API posts them (a signed body of some content type), and
// check what comes out: accepted requests give well-formed events, refused
// ones an error and no event.

// fuzzKinds are the kinds of Socket Mode requests, indexed by the fuzzer's
// kind byte.
var fuzzKinds = []string{kindEvents, kindSlash, kindInteractive}

// fuzzSeeds maps each recorded payload of testdata/ to its kind.
var fuzzSeeds = map[string]string{
	"app_mention":        kindEvents,
	"app_mention_shared": kindEvents,
	"message_im":         kindEvents,
	"message_im_bot":     kindEvents,
	"url_verification":   kindEvents,
	"slash_command":      kindSlash,
	"block_actions":      kindInteractive,
	"message_action":     kindInteractive,
	"shortcut":           kindInteractive,
	"view_submission":    kindInteractive,
}

// readSeed returns the recorded payload testdata/name.json.
func readSeed(f *testing.F, name string) []byte {
	f.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		f.Fatal(err)
	}
	return raw
}

// okAPI answers every Web API call in process, with a success that carries
// what chat.postMessage and views.open callers read.
type okAPI struct{}

func (okAPI) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"ok":true,"channel":"C1","ts":"1700000000.000001","view":{"id":"V1"}}`)),
		Request:    r,
	}, nil
}

// fuzzAdapter returns an Events API adapter whose Web API calls succeed in
// process, with no pause between posts, a fixed clock and a known bot user.
func fuzzAdapter(t *testing.T, inbox bots.Inbox) *Adapter {
	t.Helper()
	a, err := New(Config{BotToken: testBotToken, SigningSecret: testSecret, Listen: "127.0.0.1:0", APIURL: "http://slack.invalid/api/"}, inbox, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.api = slack.New(testBotToken, slack.OptionAPIURL(a.cfg.APIURL), slack.OptionHTTPClient(&http.Client{Transport: okAPI{}}))
	a.now = func() time.Time { return testNow }
	a.pace = 0
	a.botUserID = testBotUser
	return a
}

// checkEvents checks the events one request of size bytes delivered: at
// most one, each with an id, a sender and Slack as its platform, a tenant
// that is one team id or none, and a text no larger than the request could
// carry. A JSON string can grow threefold when decoded (an invalid byte
// becomes U+FFFD); the prefix and the command words a slash command,
// button or form adds stay under a few hundred bytes.
func checkEvents(t *testing.T, evs []bots.Event, size int) {
	t.Helper()
	if len(evs) > 1 {
		t.Fatalf("one request delivered %d events: %+v", len(evs), evs)
	}
	for _, ev := range evs {
		if ev.ID == "" || ev.Sender.User == "" {
			t.Fatalf("event without id or sender: %+v", ev)
		}
		if ev.Platform != Platform || ev.Sender.Platform != Platform {
			t.Fatalf("event of platform %q, sender of %q", ev.Platform, ev.Sender.Platform)
		}
		if ev.Tenant != "" && !teamIDPattern.MatchString(ev.Tenant) {
			t.Fatalf("tenant %q is not a team id", ev.Tenant)
		}
		if ev.Text == "" || !utf8.ValidString(ev.Text) || len(ev.Text) > 3*size+256 {
			t.Fatalf("text of %d bytes (valid UTF-8: %v) from a request of %d: %q", len(ev.Text), utf8.ValidString(ev.Text), size, ev.Text)
		}
	}
}

// FuzzSocketPayload hands any payload to the adapter as a Socket Mode
// request of each kind (Events API callbacks, slash commands and
// interactions: block_actions, view_submission, shortcuts): the adapter
// either takes it, delivering at most one well-formed event, or refuses it
// as malformed and delivers nothing. With an inbox and a Web API that
// never fail, no other error may come out: Slack would redeliver it
// forever.
func FuzzSocketPayload(f *testing.F) {
	for _, name := range slices.Sorted(maps.Keys(fuzzSeeds)) {
		kind := fuzzSeeds[name]
		f.Add(uint8(slices.Index(fuzzKinds, kind)), readSeed(f, name))
	}
	f.Add(uint8(0), []byte(`{"type":"event_callback","event_id":"Ev1","team_id":"T 1","event":{"type":"app_mention","user":"U1","text":"<@`+testBotUser+`>","channel":"C1"}}`))
	f.Add(uint8(1), []byte(`{"user_id":"U1","trigger_id":"t1","team_id":"E0X","text":"ask Quoi ?","channel_id":"C1","channel_name":"general"}`))
	f.Add(uint8(2), []byte(`{"type":"view_submission","user":{"id":"U1"},"view":{"id":"V1","callback_id":"entraide.form","private_metadata":"{\"f\":\"offer/fr\"}"}}`))
	f.Add(uint8(2), []byte(`{"type":"block_actions","user":{"id":"U1"},"trigger_id":"t","actions":[{"block_id":"entraide.form|x","value":"answer 1"}]}`))
	f.Fuzz(func(t *testing.T, k uint8, payload []byte) {
		kind := fuzzKinds[int(k)%len(fuzzKinds)]
		inbox := &recordingInbox{}
		a := fuzzAdapter(t, inbox)
		err := a.handle(context.Background(), kind, payload)
		evs := inbox.delivered()
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("%s: error that is not errMalformed: %v", kind, err)
			}
			if len(evs) > 0 {
				t.Fatalf("%s: refused (%v) but delivered %+v", kind, err, evs)
			}
			return
		}
		checkEvents(t, evs, len(payload))
	})
}

// FuzzEventsAPIRequest posts any signed body, of any content type, to the
// Events API handler: JSON callbacks and url_verification, and the forms of
// slash commands and interactions. The answer is 200 (taken or ignored) or
// 400 (malformed, nothing delivered), never 500 with an inbox that takes
// everything.
func FuzzEventsAPIRequest(f *testing.F) {
	for _, name := range slices.Sorted(maps.Keys(fuzzSeeds)) {
		kind := fuzzSeeds[name]
		body, ct, err := slacktest.RequestBody(kind, readSeed(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct, body)
	}
	f.Add("application/x-www-form-urlencoded", []byte("ssl_check=1&token=x"))
	f.Add("application/x-www-form-urlencoded", []byte("command=%2Fentraide&user_id=U1&trigger_id=t&text=ask+%25zz&team_id=T1"))
	f.Add("application/x-www-form-urlencoded; charset=utf-8", []byte("payload=%7B%22type%22%3A%22shortcut%22%7D"))
	f.Add("text/plain", []byte("hello"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		inbox := &recordingInbox{}
		a := fuzzAdapter(t, inbox)
		req := httptest.NewRequest(http.MethodPost, "/slack/events", bytes.NewReader(body))
		req.Header = slacktest.Sign(testSecret, testNow, body)
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, req)
		evs := inbox.delivered()
		switch rec.Code {
		case http.StatusOK:
			checkEvents(t, evs, len(body))
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if len(evs) > 0 {
				t.Fatalf("answered %d but delivered %+v", rec.Code, evs)
			}
		default:
			t.Fatalf("answered %d: %s", rec.Code, rec.Body)
		}
	})
}
