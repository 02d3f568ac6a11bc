package slack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Tokens of the tests.
const (
	testBotToken = "xoxb-test-bot-token"
	testAppToken = "xapp-test-app-token"
	testSecret   = "8f742231b10e8888abcd99yyyzzz85a5"
	testBotUser  = "UBOT"
)

// apiCall is one request the fake Web API received.
type apiCall struct {
	Method string
	Auth   string
	Form   url.Values
	JSON   map[string]any
	// TS is the ts the fake gave an accepted chat.postMessage.
	TS string
}

// fakeSlack is an httptest fake of the Web API methods the adapter calls
// (auth.test, chat.postMessage, conversations.open, views.open,
// apps.connections.open) and of the Socket Mode websocket. It records every
// call.
type fakeSlack struct {
	t   testing.TB
	srv *httptest.Server

	mu    sync.Mutex
	calls []apiCall
	ts    int
	// limited is how many of the next chat.postMessage calls answer 429
	// with Retry-After: retryAfter.
	limited    int
	retryAfter string
	// errs maps a channel or user id to the error code Slack answers for it.
	errs map[string]string
	// openFailures is how many of the next apps.connections.open calls
	// answer 404.
	openFailures int

	// Socket Mode.
	upgrader  websocket.Upgrader
	wsMu      sync.Mutex // serialises writes to conn
	conn      *websocket.Conn
	connected chan struct{}
	acks      chan string
}

func newFakeSlack(t testing.TB) *fakeSlack {
	f := &fakeSlack{t: t, errs: map[string]string{}, connected: make(chan struct{}, 16), acks: make(chan string, 64), retryAfter: "1"}
	// slack-go dials with the Origin of Slack's site.
	f.upgrader.CheckOrigin = func(r *http.Request) bool { return r.Header.Get("Origin") == "https://api.slack.com" }
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", f.serveAPI)
	mux.HandleFunc("/socket", f.serveSocket)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.wsMu.Lock()
		if f.conn != nil {
			f.conn.Close()
		}
		f.wsMu.Unlock()
		f.srv.Close()
	})
	return f
}

// apiURL is the base URL to give the adapter.
func (f *fakeSlack) apiURL() string { return f.srv.URL + "/api/" }

func (f *fakeSlack) reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (f *fakeSlack) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	call := apiCall{Method: method, Auth: r.Header.Get("Authorization")}
	body, _ := io.ReadAll(r.Body)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if len(body) > 0 {
			if err := json.Unmarshal(body, &call.JSON); err != nil {
				f.t.Errorf("fake slack: %s: bad JSON: %v", method, err)
			}
		}
	} else {
		call.Form, _ = url.ParseQuery(string(body))
		if tok := call.Form.Get("token"); tok != "" && call.Auth == "" {
			call.Auth = "Bearer " + tok
		}
	}
	want := "Bearer " + testBotToken
	if method == "apps.connections.open" {
		want = "Bearer " + testAppToken
	}
	if call.Auth != want {
		f.reply(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	idx := len(f.calls) - 1
	f.mu.Unlock()
	switch method {
	case "auth.test":
		f.reply(w, map[string]any{"ok": true, "url": "https://entraide-test.slack.com/", "team": "Test", "user": "entraide", "team_id": "T1", "user_id": testBotUser, "bot_id": "B1"})
	case "chat.postMessage":
		ch := call.Form.Get("channel")
		f.mu.Lock()
		limited := f.limited > 0
		if limited {
			f.limited--
		}
		code := f.errs[ch]
		ts := ""
		if !limited && code == "" {
			f.ts++
			ts = fmt.Sprintf("1700000000.%06d", f.ts)
			f.calls[idx].TS = ts
		}
		f.mu.Unlock()
		switch {
		case limited:
			w.Header().Set("Retry-After", f.retryAfter)
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
		case code != "":
			f.reply(w, map[string]any{"ok": false, "error": code})
		default:
			f.reply(w, map[string]any{"ok": true, "channel": ch, "ts": ts, "message": map[string]any{"type": "message", "text": call.Form.Get("text"), "ts": ts, "bot_id": "B1"}})
		}
	case "conversations.open":
		user := call.Form.Get("users")
		f.mu.Lock()
		code := f.errs[user]
		f.mu.Unlock()
		if code != "" {
			f.reply(w, map[string]any{"ok": false, "error": code})
			return
		}
		f.reply(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + strings.TrimPrefix(user, "U")}})
	case "views.open":
		if call.JSON["trigger_id"] == "" {
			f.reply(w, map[string]any{"ok": false, "error": "invalid_trigger_id"})
			return
		}
		f.reply(w, map[string]any{"ok": true, "view": map[string]any{"id": "V" + fmt.Sprint(len(f.calls)), "type": "modal"}})
	case "apps.connections.open":
		f.mu.Lock()
		fail := f.openFailures > 0
		if fail {
			f.openFailures--
		}
		f.mu.Unlock()
		if fail {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		f.reply(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/socket"})
	default:
		f.reply(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// serveSocket plays Slack's side of Socket Mode: hello, pings, and the
// acknowledgements it reads.
func (f *fakeSlack) serveSocket(w http.ResponseWriter, r *http.Request) {
	conn, err := f.upgrader.Upgrade(w, r, nil)
	if err != nil {
		f.t.Errorf("fake slack: upgrade: %v", err)
		return
	}
	defer conn.Close()
	f.wsMu.Lock()
	f.conn = conn
	err = conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": "A1"}, "debug_info": map[string]any{"host": "fake"}})
	f.wsMu.Unlock()
	if err != nil {
		return
	}
	f.connected <- struct{}{}
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if conn.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second)) != nil {
					return
				}
			}
		}
	}()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if err := json.Unmarshal(data, &ack); err != nil || ack.EnvelopeID == "" {
			f.t.Errorf("fake slack: not an acknowledgement: %s", data)
			continue
		}
		f.acks <- ack.EnvelopeID
	}
}

// dropConnection closes the current websocket, as Slack does at times.
func (f *fakeSlack) dropConnection() {
	f.wsMu.Lock()
	defer f.wsMu.Unlock()
	if f.conn != nil {
		f.conn.Close()
	}
}

// waitConnected waits for a new Socket Mode connection.
func (f *fakeSlack) waitConnected(t testing.TB) {
	t.Helper()
	select {
	case <-f.connected:
	case <-time.After(10 * time.Second):
		t.Fatal("fake slack: no Socket Mode connection")
	}
}

// sendEnvelope sends a Socket Mode request.
func (f *fakeSlack) sendEnvelope(t testing.TB, kind, envelopeID string, payload []byte, retry int) {
	t.Helper()
	msg, _ := json.Marshal(map[string]any{
		"type": kind, "envelope_id": envelopeID, "payload": json.RawMessage(payload),
		"accepts_response_payload": kind != kindEvents, "retry_attempt": retry, "retry_reason": map[bool]string{true: "timeout"}[retry > 0],
	})
	f.wsMu.Lock()
	defer f.wsMu.Unlock()
	if f.conn == nil {
		t.Fatal("fake slack: no connection to send on")
	}
	if err := f.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		t.Fatalf("fake slack: send: %v", err)
	}
}

// waitAck waits up to d for the acknowledgement of envelopeID.
func (f *fakeSlack) waitAck(envelopeID string, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case id := <-f.acks:
			if id == envelopeID {
				return true
			}
			f.t.Errorf("fake slack: unexpected acknowledgement %q while waiting for %q", id, envelopeID)
		case <-timer.C:
			return false
		}
	}
}

// deliverUntilAcked sends a request as Slack does: again, with a growing
// retry_attempt, when it is not acknowledged within wait; it returns how
// many times it was sent.
func (f *fakeSlack) deliverUntilAcked(t testing.TB, kind, envelopeID string, payload []byte, maxTries int, wait time.Duration) int {
	t.Helper()
	for try := range maxTries {
		f.sendEnvelope(t, kind, envelopeID, payload, try)
		if f.waitAck(envelopeID, wait) {
			return try + 1
		}
	}
	t.Fatalf("envelope %s never acknowledged in %d tries", envelopeID, maxTries)
	return 0
}

// callsOf returns the recorded calls of a method.
func (f *fakeSlack) callsOf(method string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// posts returns the chat.postMessage calls.
func (f *fakeSlack) posts() []apiCall { return f.callsOf("chat.postMessage") }
