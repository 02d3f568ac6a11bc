package discord

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"entraide/bots"
)

// The ids of the fake's world.
const (
	appID   = "100000000000000001"
	botID   = "100000000000000002"
	guildID = "500000000000000001"
	chanC1  = "600000000000000001"
	userU1  = "111111111111111111"
	userU2  = "222222222222222222"
)

// request is a request the fake received.
type request struct {
	Method, Path string
	Body         json.RawMessage
}

// fakeDiscord is an httptest double of Discord's REST API (the routes the
// adapter calls) and of its gateway websocket.
type fakeDiscord struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	log       []string // "deliver <id>" notes and "METHOD path" of requests, in order
	requests  []request
	nextID    int64
	history   map[string][]map[string]any // channel -> messages, for GET messages
	threads   map[string]bool
	limited   int // the next posts answered with 429
	retryAfer float64
	global    bool

	// gateway
	conn       *websocket.Conn
	wmu        sync.Mutex
	seq        int
	frames     []map[string]any // dispatches sent, for replays
	identifies []map[string]any
	resumes    []map[string]any
	heartbeats int
}

func newFake(t *testing.T) *fakeDiscord {
	f := &fakeDiscord{t: t, nextID: 1300000000000000000, history: map[string][]map[string]any{}, threads: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v10/gateway/bot", func(w http.ResponseWriter, r *http.Request) {
		f.record(r, nil)
		var body map[string]any
		readJSON(t, "gateway_bot.json", &body)
		body["url"] = "ws://" + r.Host + "/gateway"
		writeJSON(w, 200, body)
	})
	mux.HandleFunc("/gateway/", f.serveGateway)
	mux.HandleFunc("POST /api/v10/channels/{ch}/messages", func(w http.ResponseWriter, r *http.Request) {
		body := f.record(r, r.Body)
		f.mu.Lock()
		if f.limited > 0 {
			f.limited--
			ra, global := f.retryAfer, f.global
			f.mu.Unlock()
			w.Header().Set("Retry-After", strconv.FormatFloat(ra, 'f', -1, 64))
			if global {
				w.Header().Set("X-RateLimit-Global", "true")
			}
			writeJSON(w, 429, map[string]any{"message": "You are being rate limited.", "retry_after": ra, "global": global})
			return
		}
		f.mu.Unlock()
		if r.PathValue("ch") == "403" {
			writeJSON(w, 403, map[string]any{"message": "Missing Access", "code": 50001})
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		m["id"] = f.newID()
		m["channel_id"] = r.PathValue("ch")
		m["author"] = map[string]any{"id": botID, "username": "entraide", "bot": true}
		f.mu.Lock()
		f.history[r.PathValue("ch")] = append(f.history[r.PathValue("ch")], m)
		f.mu.Unlock()
		writeJSON(w, 200, m)
	})
	mux.HandleFunc("GET /api/v10/channels/{ch}/messages", func(w http.ResponseWriter, r *http.Request) {
		f.record(r, nil)
		after := r.URL.Query().Get("after")
		f.mu.Lock()
		var out []map[string]any
		for _, m := range f.history[r.PathValue("ch")] {
			if newer(m["id"].(string), after) {
				out = append([]map[string]any{m}, out...) // newest first, as Discord does
			}
		}
		f.mu.Unlock()
		writeJSON(w, 200, out)
	})
	mux.HandleFunc("POST /api/v10/channels/{ch}/messages/{msg}/threads", func(w http.ResponseWriter, r *http.Request) {
		f.record(r, r.Body)
		id := r.PathValue("msg")
		f.mu.Lock()
		exists := f.threads[id]
		f.threads[id] = true
		f.mu.Unlock()
		if exists {
			writeJSON(w, 400, map[string]any{"message": "A thread has already been created for this message", "code": 160004})
			return
		}
		writeJSON(w, 201, map[string]any{"id": id, "type": 11, "parent_id": r.PathValue("ch"), "name": "x"})
	})
	mux.HandleFunc("POST /api/v10/users/@me/channels", func(w http.ResponseWriter, r *http.Request) {
		body := f.record(r, r.Body)
		var in struct {
			RecipientID string `json:"recipient_id"`
		}
		json.Unmarshal(body, &in)
		writeJSON(w, 200, map[string]any{"id": dmOf(in.RecipientID), "type": 1, "recipients": []any{map[string]any{"id": in.RecipientID}}})
	})
	mux.HandleFunc("POST /api/v10/interactions/{id}/{token}/callback", func(w http.ResponseWriter, r *http.Request) {
		f.record(r, r.Body)
		w.WriteHeader(204)
	})
	mux.HandleFunc("PATCH /api/v10/webhooks/{app}/{token}/messages/@original", func(w http.ResponseWriter, r *http.Request) {
		body := f.record(r, r.Body)
		var m map[string]any
		json.Unmarshal(body, &m)
		m["id"] = f.newID()
		writeJSON(w, 200, m)
	})
	mux.HandleFunc("POST /api/v10/webhooks/{app}/{token}", func(w http.ResponseWriter, r *http.Request) {
		body := f.record(r, r.Body)
		var m map[string]any
		json.Unmarshal(body, &m)
		m["id"] = f.newID()
		writeJSON(w, 200, m)
	})
	putCommands := func(w http.ResponseWriter, r *http.Request) {
		body := f.record(r, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}
	mux.HandleFunc("PUT /api/v10/applications/{app}/commands", putCommands)
	mux.HandleFunc("PUT /api/v10/applications/{app}/guilds/{g}/commands", putCommands)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.record(r, r.Body)
		writeJSON(w, 404, map[string]any{"message": "404: Not Found", "code": 0})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.mu.Lock()
		c := f.conn
		f.mu.Unlock()
		if c != nil {
			c.Close()
		}
		f.srv.Close()
	})
	return f
}

// dmOf is the id of the fake's direct message channel with user.
func dmOf(user string) string { return "8" + user[1:] }

func (f *fakeDiscord) apiURL() string { return f.srv.URL + "/api/v10" }

func (f *fakeDiscord) newID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	return strconv.FormatInt(f.nextID, 10)
}

// record notes a request and returns its body.
func (f *fakeDiscord) record(r *http.Request, withBody io.Reader) []byte {
	var raw []byte
	if withBody != nil {
		raw, _ = io.ReadAll(withBody)
	}
	if auth := r.Header.Get("Authorization"); auth != "Bot test-token" {
		f.t.Errorf("%s %s: Authorization %q", r.Method, r.URL.Path, auth)
	}
	path := r.URL.Path
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, request{Method: r.Method, Path: path, Body: raw})
	f.log = append(f.log, r.Method+" "+path)
	return raw
}

// note adds a line to the fake's log, to check the order of what happened.
func (f *fakeDiscord) note(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, s)
}

// limit answers the next n message posts with 429 and retry_after.
func (f *fakeDiscord) limit(n int, retryAfter float64, global bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited, f.retryAfer, f.global = n, retryAfter, global
}

// find returns the requests whose "METHOD path" starts with prefix.
func (f *fakeDiscord) find(prefix string) []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []request
	for _, r := range f.requests {
		if strings.HasPrefix(r.Method+" "+r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// waitFor waits until cond holds for the requests whose "METHOD path"
// starts with prefix, and returns them.
func (f *fakeDiscord) waitFor(prefix string, cond func([]request) bool) []request {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := f.find(prefix)
		if cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			f.mu.Lock()
			log := strings.Join(f.log, "\n")
			f.mu.Unlock()
			f.t.Fatalf("timed out waiting for %s; log:\n%s", prefix, log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func atLeast(n int) func([]request) bool {
	return func(r []request) bool { return len(r) >= n }
}

// serveGateway is the gateway websocket: Hello, then Identify (answered
// with READY) or Resume (answered with RESUMED and the dispatches from the
// resumed sequence on), then heartbeats until the connection closes.
func (f *fakeDiscord) serveGateway(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		f.t.Errorf("gateway upgrade: %v", err)
		return
	}
	defer c.Close()
	f.wmu.Lock()
	err = c.WriteJSON(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 45000}})
	f.wmu.Unlock()
	if err != nil {
		return
	}
	var first struct {
		Op int            `json:"op"`
		D  map[string]any `json:"d"`
	}
	if err := c.ReadJSON(&first); err != nil {
		return
	}
	switch first.Op {
	case 2:
		f.mu.Lock()
		f.identifies = append(f.identifies, first.D)
		f.conn = c
		f.mu.Unlock()
		var ready map[string]any
		readJSON(f.t, "ready.json", &ready)
		f.dispatch("READY", ready)
	case 6:
		f.mu.Lock()
		f.resumes = append(f.resumes, first.D)
		from, _ := first.D["seq"].(float64)
		var replay []map[string]any
		for _, fr := range f.frames {
			if fr["s"].(int) >= int(from) && fr["t"] != "READY" {
				replay = append(replay, fr)
			}
		}
		f.conn = c
		f.seq++
		resumed := map[string]any{"op": 0, "t": "RESUMED", "s": f.seq, "d": map[string]any{}}
		f.mu.Unlock()
		f.write(c, resumed)
		for _, fr := range replay {
			f.write(c, fr)
		}
	default:
		f.t.Errorf("gateway: first op %d, want 2 (Identify) or 6 (Resume)", first.Op)
		return
	}
	for {
		var in struct {
			Op int `json:"op"`
		}
		if err := c.ReadJSON(&in); err != nil {
			return
		}
		if in.Op == 1 {
			f.mu.Lock()
			f.heartbeats++
			f.mu.Unlock()
			f.write(c, map[string]any{"op": 11})
		}
	}
}

func (f *fakeDiscord) write(c *websocket.Conn, v any) {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	c.WriteJSON(v)
}

// dispatch sends a dispatch event (op 0) on the current connection, or only
// keeps it for a resume to replay when there is none.
func (f *fakeDiscord) dispatch(kind string, d any) {
	f.mu.Lock()
	f.seq++
	fr := map[string]any{"op": 0, "t": kind, "s": f.seq, "d": d}
	f.frames = append(f.frames, fr)
	c := f.conn
	f.mu.Unlock()
	if c != nil {
		f.write(c, fr)
	}
}

// reconnect asks the client to reconnect (op 7) and forgets the connection:
// what is dispatched until the client resumes is replayed then.
func (f *fakeDiscord) reconnect() {
	f.mu.Lock()
	c := f.conn
	f.conn = nil
	f.mu.Unlock()
	if c != nil {
		f.write(c, map[string]any{"op": 7, "d": nil})
	}
}

// connected waits for n Identify or Resume handshakes in all.
func (f *fakeDiscord) connected(n int) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		got := len(f.identifies) + len(f.resumes)
		ok := f.conn != nil
		f.mu.Unlock()
		if got >= n && ok {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("gateway: %d handshakes, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// readJSON decodes testdata/name into v.
func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// payload returns the JSON object of testdata/name, changed by edit.
func payload(t testing.TB, name string, edit func(m map[string]any)) map[string]any {
	t.Helper()
	var m map[string]any
	readJSON(t, name, &m)
	if edit != nil {
		edit(m)
	}
	return m
}

// memStore is an in-memory Checkpointer.
type memStore struct {
	mu sync.Mutex
	m  map[string]string
}

func newMemStore() *memStore { return &memStore{m: map[string]string{}} }

func (s *memStore) Checkpoint(_ context.Context, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}

func (s *memStore) SetCheckpoint(_ context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = value
	return nil
}

// recInbox records the events delivered to it, and fails while err is set.
type recInbox struct {
	f      *fakeDiscord
	mu     sync.Mutex
	events []bots.Event
	err    error
	delay  time.Duration
}

func (in *recInbox) Deliver(_ context.Context, ev bots.Event) error {
	time.Sleep(in.delay)
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.err != nil {
		return in.err
	}
	in.events = append(in.events, ev)
	if in.f != nil {
		in.f.note("deliver " + ev.ID)
	}
	return nil
}

func (in *recInbox) setErr(err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.err = err
}

// wait waits for n events and returns them.
func (in *recInbox) wait(t *testing.T, n int) []bots.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		in.mu.Lock()
		got := append([]bots.Event(nil), in.events...)
		in.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d events, want %d: %+v", len(got), n, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testConfig is a configuration pointing at f.
func testConfig(f *fakeDiscord) Config {
	return Config{Token: "test-token", AppID: appID, APIURL: f.apiURL()}
}

// start runs an adapter on f until the test ends.
func start(t *testing.T, f *fakeDiscord, cfg Config, inbox bots.Inbox, store Checkpointer) *Adapter {
	t.Helper()
	a, err := New(cfg, inbox, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	run(t, f, a)
	return a
}

// run runs a until the test ends, and waits for its first connection.
func run(t *testing.T, f *fakeDiscord, a *Adapter) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after its context was done")
		}
	})
	f.connected(1)
}

// body decodes a request body.
func body(t testing.TB, r request) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%s %s: %v: %s", r.Method, r.Path, err, r.Body)
	}
	return m
}
