package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"entraide/adapters/slack/slacktest"
	"entraide/bots"
)

// testNow is the clock of the signature checks in tests.
var testNow = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// The credentials of the fake workspace.
const (
	testBotToken = slacktest.BotToken
	testAppToken = slacktest.AppToken
	testSecret   = slacktest.SigningSecret
	testBotUser  = slacktest.BotUser
)

// recordingInbox records the events delivered to it; fail, when set, may
// refuse one.
type recordingInbox struct {
	mu     sync.Mutex
	events []bots.Event
	fail   func(ev bots.Event) error
}

func (r *recordingInbox) Deliver(_ context.Context, ev bots.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(ev); err != nil {
			return err
		}
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *recordingInbox) delivered() []bots.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bots.Event(nil), r.events...)
}

// newTestAdapter returns an adapter over the fake, with the HTTP transport
// (the fake handing its requests to the adapter's handler) unless socket is
// true, no pause between posts and a fixed clock.
func newTestAdapter(t testing.TB, f *slacktest.Workspace, inbox bots.Inbox, socket bool) *Adapter {
	t.Helper()
	cfg := Config{BotToken: testBotToken, APIURL: f.APIURL()}
	if socket {
		cfg.AppToken = testAppToken
	} else {
		cfg.SigningSecret = testSecret
		cfg.Listen = "127.0.0.1:0"
	}
	a, err := New(cfg, inbox, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.now = func() time.Time { return testNow }
	a.pace = 0
	a.pingInterval = 2 * time.Second
	a.minBackoff = 20 * time.Millisecond
	a.maxBackoff = 200 * time.Millisecond
	if !socket {
		f.SetEventsHandler(a.Handler())
		f.SetClock(func() time.Time { return testNow })
	}
	return a
}

// payload reads testdata/name.json and sets the fields of set, named by
// dotted paths such as "event.text".
func payload(t testing.TB, name string, set map[string]any) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for path, v := range set {
		keys := strings.Split(path, ".")
		m := doc
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[keys[len(keys)-1]] = v
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// postSigned posts a signed request of the given kind to the adapter's
// handler and returns the response.
func postSigned(t testing.TB, a *Adapter, kind string, p []byte) *httptest.ResponseRecorder {
	t.Helper()
	body, ct, err := slacktest.RequestBody(kind, p)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/slack/events", bytes.NewReader(body))
	req.Header = slacktest.Sign(testSecret, testNow, body)
	req.Header.Set("Content-Type", ct)
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	return rec
}

// findButton returns the action Slack sends when the button actionID of
// blocks is pressed.
func findButton(t testing.TB, blocks, actionID string) map[string]any {
	t.Helper()
	b, err := slacktest.Button(blocks, actionID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
