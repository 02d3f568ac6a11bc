package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
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
	// Body is the JSON body, or the payload_json part of a multipart form.
	Body json.RawMessage
	// Files are the files[n] parts of a multipart form, in order.
	Files []fakeFile
	// Refused is why the fake answered 400 Invalid Form Body, if it did.
	Refused string
}

// fakeFile is a file uploaded in a files[n] part.
type fakeFile struct {
	// Field is the part's name, such as "files[0]"; Filename is its
	// filename exactly as sent, without the clean-up of
	// multipart.Part.FileName.
	Field, Filename, ContentType string
	Data                         []byte
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
	nonces    map[string]map[string]any // channel + "\x00" + nonce -> message created with enforce_nonce
	limited   int                       // the next posts answered with 429
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
	f := &fakeDiscord{t: t, nextID: 1300000000000000000, history: map[string][]map[string]any{}, threads: map[string]bool{}, nonces: map[string]map[string]any{}}
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
		body, files, ok := f.recordMessage(w, r)
		if !ok {
			return
		}
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
		// As Discord does: a nonce is at most 25 characters, and with
		// enforce_nonce a nonce the bot used in the channel before returns
		// that message instead of creating one (Discord keeps nonces a few
		// minutes; the fake keeps them all).
		nonce, _ := m["nonce"].(string)
		if len(nonce) > 25 {
			writeJSON(w, 400, map[string]any{"message": "Invalid Form Body", "code": 50035})
			return
		}
		key := r.PathValue("ch") + "\x00" + nonce
		enforce, _ := m["enforce_nonce"].(bool)
		f.mu.Lock()
		if first, ok := f.nonces[key]; ok && enforce && nonce != "" {
			f.mu.Unlock()
			writeJSON(w, 200, first)
			return
		}
		f.mu.Unlock()
		delete(m, "enforce_nonce")
		m["id"] = f.newID()
		m["channel_id"] = r.PathValue("ch")
		m["author"] = map[string]any{"id": botID, "username": "entraide", "bot": true}
		m["attachments"] = f.attachments(r.PathValue("ch"), files)
		f.mu.Lock()
		f.history[r.PathValue("ch")] = append(f.history[r.PathValue("ch")], m)
		if enforce && nonce != "" {
			f.nonces[key] = m
		}
		f.mu.Unlock()
		writeJSON(w, 200, m)
	})
	mux.HandleFunc("GET /api/v10/channels/{ch}", func(w http.ResponseWriter, r *http.Request) {
		f.record(r, nil)
		switch ch := r.PathValue("ch"); {
		case ch == "403":
			writeJSON(w, 403, map[string]any{"message": "Missing Access", "code": 50001})
		case strings.HasPrefix(ch, "8"): // dmOf
			writeJSON(w, 200, map[string]any{"id": ch, "type": 1})
		default:
			writeJSON(w, 200, map[string]any{"id": ch, "type": 0, "guild_id": guildID, "name": "general"})
		}
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
	webhookMessage := func(w http.ResponseWriter, r *http.Request) {
		body, files, ok := f.recordMessage(w, r)
		if !ok {
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		m["id"] = f.newID()
		m["attachments"] = f.attachments("webhook", files)
		writeJSON(w, 200, m)
	}
	mux.HandleFunc("PATCH /api/v10/webhooks/{app}/{token}/messages/@original", webhookMessage)
	mux.HandleFunc("POST /api/v10/webhooks/{app}/{token}", webhookMessage)
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
	f.save(request{Body: raw}, r)
	return raw
}

// recordMessage notes a request that posts or edits a message, and returns
// its JSON payload and its files. As Discord does, it takes a JSON body, or
// a multipart/form-data body with a payload_json part and files[n] parts,
// each described in payload_json's attachments by its id n (and the same
// filename). Anything else is refused with 400 Invalid Form Body (code
// 50035), recorded with the reason, and ok is false.
func (f *fakeDiscord) recordMessage(w http.ResponseWriter, r *http.Request) (body []byte, files []fakeFile, ok bool) {
	body, files, err := readMessageBody(r)
	req := request{Body: body, Files: files}
	if err != nil {
		req.Refused = err.Error()
	}
	f.save(req, r)
	if err != nil {
		writeJSON(w, 400, map[string]any{"message": "Invalid Form Body", "code": 50035, "errors": map[string]any{"_errors": []any{map[string]any{"code": "BASE_TYPE_INVALID", "message": err.Error()}}}})
		return nil, nil, false
	}
	return body, files, true
}

// readMessageBody reads and checks a message's body (see recordMessage).
func readMessageBody(r *http.Request) ([]byte, []fakeFile, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, nil, fmt.Errorf("content type %q: %v", r.Header.Get("Content-Type"), err)
	}
	var attachments struct {
		Attachments []struct {
			ID       *json.Number `json:"id"`
			Filename string       `json:"filename"`
		} `json:"attachments"`
	}
	if mt == "application/json" {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(raw, &attachments); err != nil {
			return raw, nil, fmt.Errorf("JSON body: %v", err)
		}
		if len(attachments.Attachments) > 0 {
			return raw, nil, errors.New("attachments without files: a JSON body carries no upload")
		}
		return raw, nil, nil
	}
	if mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, nil, fmt.Errorf("content type %q: want application/json or multipart/form-data", mt)
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var payload []byte
	var files []fakeFile
	byIndex := map[int]int{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return payload, files, fmt.Errorf("multipart: %v", err)
		}
		disp, dp, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if err != nil || disp != "form-data" || dp["name"] == "" {
			return payload, files, fmt.Errorf("part with Content-Disposition %q", p.Header.Get("Content-Disposition"))
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return payload, files, fmt.Errorf("part %s: %v", dp["name"], err)
		}
		name := dp["name"]
		switch {
		case name == "payload_json":
			if payload != nil {
				return payload, files, errors.New("two payload_json parts")
			}
			payload = data
		case strings.HasPrefix(name, "files[") && strings.HasSuffix(name, "]"):
			n, err := strconv.Atoi(name[len("files[") : len(name)-1])
			if err != nil || n < 0 || n > 9 {
				return payload, files, fmt.Errorf("part %q: want files[0] to files[9]", name)
			}
			if _, dup := byIndex[n]; dup {
				return payload, files, fmt.Errorf("two parts %q", name)
			}
			if dp["filename"] == "" {
				return payload, files, fmt.Errorf("part %q without a filename", name)
			}
			byIndex[n] = len(files)
			files = append(files, fakeFile{Field: name, Filename: dp["filename"], ContentType: p.Header.Get("Content-Type"), Data: data})
		default:
			return payload, files, fmt.Errorf("unexpected part %q", name)
		}
	}
	if payload == nil {
		return nil, files, errors.New("no payload_json part")
	}
	if err := json.Unmarshal(payload, &attachments); err != nil {
		return payload, files, fmt.Errorf("payload_json: %v", err)
	}
	if len(attachments.Attachments) != len(files) {
		return payload, files, fmt.Errorf("%d attachments for %d files", len(attachments.Attachments), len(files))
	}
	for _, at := range attachments.Attachments {
		if at.ID == nil {
			return payload, files, errors.New("attachment without id")
		}
		id, err := strconv.Atoi(at.ID.String())
		i, ok := byIndex[id]
		if err != nil || !ok {
			return payload, files, fmt.Errorf("attachment id %s matches no files[n] part", at.ID)
		}
		if at.Filename != files[i].Filename {
			return payload, files, fmt.Errorf("attachment %d named %q, its part %q", id, at.Filename, files[i].Filename)
		}
	}
	return payload, files, nil
}

// attachments returns the attachment objects Discord answers for files.
func (f *fakeDiscord) attachments(ch string, files []fakeFile) []any {
	out := []any{}
	for _, file := range files {
		id := f.newID()
		out = append(out, map[string]any{
			"id": id, "filename": file.Filename, "size": len(file.Data), "content_type": file.ContentType,
			"url": "https://cdn.discordapp.com/attachments/" + ch + "/" + id + "/" + file.Filename,
		})
	}
	return out
}

// save notes req, a request received as r.
func (f *fakeDiscord) save(req request, r *http.Request) {
	if auth := r.Header.Get("Authorization"); auth != "Bot test-token" {
		f.t.Errorf("%s %s: Authorization %q", r.Method, r.URL.Path, auth)
	}
	path := r.URL.Path
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	req.Method, req.Path = r.Method, path
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	f.log = append(f.log, r.Method+" "+path)
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
