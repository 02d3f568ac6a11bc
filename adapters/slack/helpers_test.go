package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"entraide/bots"
)

// testNow is the clock of the signature checks in tests.
var testNow = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

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
// unless socket is true, no pause between posts and a fixed clock.
func newTestAdapter(t testing.TB, f *fakeSlack, inbox bots.Inbox, socket bool) *Adapter {
	t.Helper()
	cfg := Config{BotToken: testBotToken, APIURL: f.apiURL()}
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

// sign returns the signature headers of body at the given time.
func sign(secret string, at time.Time, body []byte) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

// httpBody turns a payload of the given kind into the body and content type
// Slack posts over HTTP: JSON for events, a form for slash commands, a form
// with a payload field for interactions.
func httpBody(t testing.TB, kind string, p []byte) ([]byte, string) {
	t.Helper()
	switch kind {
	case kindEvents:
		return p, "application/json"
	case kindInteractive:
		return []byte(url.Values{"payload": {string(p)}}.Encode()), "application/x-www-form-urlencoded"
	case kindSlash:
		var fields map[string]any
		if err := json.Unmarshal(p, &fields); err != nil {
			t.Fatal(err)
		}
		form := url.Values{}
		for k, v := range fields {
			if s, ok := v.(string); ok {
				form.Set(k, s)
			} else {
				b, _ := json.Marshal(v)
				form.Set(k, string(b))
			}
		}
		return []byte(form.Encode()), "application/x-www-form-urlencoded"
	}
	t.Fatalf("kind %q", kind)
	return nil, ""
}

// postSigned posts a signed request of the given kind to the adapter's
// handler and returns the response.
func postSigned(t testing.TB, a *Adapter, kind string, p []byte) *httptest.ResponseRecorder {
	t.Helper()
	body, ct := httpBody(t, kind, p)
	req := httptest.NewRequest(http.MethodPost, "/slack/events", bytes.NewReader(body))
	req.Header = sign(testSecret, testNow, body)
	req.Header.Set("Content-Type", ct)
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	return rec
}
