// Package slacktest is a fake Slack workspace for tests: an httptest
// server playing the Web API methods entraide's Slack adapter calls
// (auth.test, chat.postMessage, conversations.open, views.open,
// apps.connections.open and the external file upload flow), Slack's side of
// Socket Mode, and signed Events API requests. It records what the app
// does (messages posted, modals opened, files uploaded) and plays what
// people do (writing to the bot, mentioning it, slash commands, buttons,
// modal submissions, shortcuts), each delivered as Slack delivers it and
// waited for until the app acknowledged it.
//
// A test in another package drives the real adapter over it:
//
//	ws := slacktest.New(t)
//	cfg, _, err := slack.ConfigFromEnv(ws.Env(slacktest.SocketMode)) // or slacktest.EventsAPI
//	if err != nil {
//		t.Fatal(err)
//	}
//	a, err := slack.New(cfg, inbox, nil) // inbox: the bots.Pipeline's Deliver, say
//	...
//	go a.Run(ctx) // cancel ctx, and wait for Run, before the test ends
//
//	alice := slacktest.User{ID: "U2", Name: "alice"}
//	bob := slacktest.User{ID: "U1", Name: "bob"}
//	ws.Do(t, ws.DM(bob, "!expert marchés publics"))                    // message.im
//	ask := ws.Mention(alice, "C1", "", "Qui valide un avenant ?")      // app_mention
//	ws.Do(t, ask)
//	request := ws.WaitPost(t, ws.IMChannel(bob.ID), "", "avenant")     // chat.postMessage
//	ws.Do(t, ws.Press(bob, request, "answer:1"))                        // block_actions: a modal opens
//	ws.Do(t, ws.Submit(bob, "Le service juridique."))                   // view_submission, inputs in order
//	answer := ws.WaitPost(t, "C1", ask.TS, "Le service juridique")      // in the question's thread
//	file := ws.WaitFile(t, ws.IMChannel(bob.ID), "entraide-mes-donnees.json") // file.Data, file.Thread
//
// The adapter keeps the messages to one conversation a second apart, so a
// scenario of several replies in one conversation takes seconds; every
// wait here allows WaitTimeout.
//
// The adapter's settings come from ws.Env through slack.ConfigFromEnv,
// as cmd/entraide reads them, so this package does not import the adapter
// (whose own tests use it). Helpers that take a testing.TB fail the test
// when Slack's side cannot go on; the others return errors and may be
// called from any goroutine.
package slacktest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The credentials and ids of the fake workspace and of its app.
const (
	BotToken      = "xoxb-test-bot-token"
	AppToken      = "xapp-test-app-token"
	SigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	// BotUser is the member id of the app's bot user, as auth.test gives it.
	BotUser = "UBOT"
	BotID   = "B1"
	AppID   = "A1"
	// TeamID is the workspace's id: the team of its members, unless a
	// User says otherwise.
	TeamID     = "T1"
	TeamDomain = "entraide-test"
)

// The kinds of requests Slack sends to an app, as Socket Mode names them.
const (
	KindEvents      = "events_api"
	KindSlash       = "slash_commands"
	KindInteractive = "interactive"
)

// Upload names, in Calls and RateLimit, the POST of a file's bytes to the
// upload_url that files.getUploadURLExternal gave: not a Web API method.
const Upload = "upload"

// WaitTimeout bounds every wait of this package: a delivery's
// acknowledgement, a connection, a post.
const WaitTimeout = 10 * time.Second

// The environment variables of the adapter, which Env answers.
const (
	envBotToken      = "ENTRAIDE_SLACK_BOT_TOKEN"
	envAppToken      = "ENTRAIDE_SLACK_APP_TOKEN"
	envSigningSecret = "ENTRAIDE_SLACK_SIGNING_SECRET"
	envAPIURL        = "ENTRAIDE_SLACK_API_URL"
	envListen        = "ENTRAIDE_SLACK_LISTEN"
)

// EnvNames are the variables Env answers, for a test to check that they
// are the adapter's.
var EnvNames = []string{envBotToken, envAppToken, envSigningSecret, envAPIURL, envListen}

// Transport is how Slack's requests reach the app.
type Transport int

const (
	// SocketMode: the app opens a websocket (apps.connections.open) on
	// which the workspace sends its requests.
	SocketMode Transport = iota + 1
	// EventsAPI: the workspace posts signed requests to the app's URL.
	EventsAPI
)

// Call is one request the fake Web API received.
type Call struct {
	Method string
	Auth   string
	// Form holds the arguments of a form-encoded call, JSON those of a
	// JSON one (views.open).
	Form url.Values
	JSON map[string]any
	// TS is the ts given to an accepted chat.postMessage.
	TS string
}

// Post is a message the app posted with chat.postMessage and the fake
// accepted.
type Post struct {
	Channel string
	// Thread is the thread_ts the message was posted in, "" outside threads.
	Thread string
	// TS is the ts the fake gave the message.
	TS   string
	Text string
	// Blocks is the JSON array of Block Kit blocks, as sent.
	Blocks string
	// Metadata is the JSON of the message's metadata, as sent.
	Metadata string
	// Form holds every argument of the call.
	Form url.Values
	// At is when the fake accepted the message.
	At time.Time
}

// File is a file the app uploaded and shared with
// files.completeUploadExternal.
type File struct {
	ID string
	// Name is the filename given to files.getUploadURLExternal, Title the
	// title given to files.completeUploadExternal.
	Name, Title string
	Data        []byte
	// Channel and Thread are where the file was shared (channel_id and
	// thread_ts); Channel is "" for a file kept private.
	Channel, Thread string
}

// View is a modal the app opened with views.open.
type View struct {
	ID        string
	TriggerID string
	// User is who the trigger was given to, "" for a trigger this
	// workspace did not give (a payload a test wrote itself).
	User            string
	CallbackID      string
	PrivateMetadata string
	// JSON is the view as the app sent it.
	JSON map[string]any
	// Submitted is true once Submit delivered its submission.
	Submitted bool
}

type limit struct {
	n     int
	after time.Duration
}

// upload is a file between files.getUploadURLExternal and
// files.completeUploadExternal.
type upload struct {
	id, name, token string
	length          int
	data            []byte
	posted, done    bool
}

// Workspace is a fake Slack workspace with one app installed. Its zero
// value is not usable: New makes one.
type Workspace struct {
	t   testing.TB
	srv *httptest.Server

	mu           sync.Mutex
	calls        []Call
	posts        []Post
	seq          int // ids
	tsSeq        int // message timestamps
	limits       map[string]limit
	latency      map[string]time.Duration
	cuts         map[string]int
	users        map[string]User // the people met in requests, for users.info
	errs         map[string]string
	openFailures int
	uploads      map[string]*upload // by file id and by upload token
	files        []File
	views        []View
	triggers     map[string]string // trigger id -> user id
	channels     map[string]string // channel id -> name
	eventsURL    string
	events       http.Handler
	now          func() time.Time
	acked        map[string]int
	ackLog       []string
	ackSignal    chan struct{}

	// Socket Mode.
	upgrader  websocket.Upgrader
	wsMu      sync.Mutex // serialises writes to conn
	conn      *websocket.Conn
	connected chan struct{}
}

// New starts a fake workspace that stops when the test ends.
func New(t testing.TB) *Workspace {
	w := &Workspace{
		t:         t,
		limits:    map[string]limit{},
		latency:   map[string]time.Duration{},
		cuts:      map[string]int{},
		users:     map[string]User{},
		errs:      map[string]string{},
		uploads:   map[string]*upload{},
		triggers:  map[string]string{},
		channels:  map[string]string{},
		now:       time.Now,
		acked:     map[string]int{},
		ackSignal: make(chan struct{}),
		connected: make(chan struct{}, 16),
	}
	// slack-go dials with the Origin of Slack's site.
	w.upgrader.CheckOrigin = func(r *http.Request) bool { return r.Header.Get("Origin") == "https://api.slack.com" }
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", w.serveAPI)
	mux.HandleFunc("/upload/v1/", w.serveUpload)
	mux.HandleFunc("/socket", w.serveSocket)
	w.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		w.wsMu.Lock()
		if w.conn != nil {
			w.conn.Close()
		}
		w.wsMu.Unlock()
		w.srv.Close()
	})
	return w
}

// APIURL is the base URL of the fake Web API, for the adapter's APIURL.
func (w *Workspace) APIURL() string { return w.srv.URL + "/api/" }

// Env returns a getenv for slack.ConfigFromEnv: the fake's bot token and
// API URL, with the app token for SocketMode, or the signing secret and a
// free local address to listen on for EventsAPI, to which the workspace
// then posts its requests (see SetEventsURL).
func (w *Workspace) Env(tr Transport) func(string) string {
	env := map[string]string{envBotToken: BotToken, envAPIURL: w.APIURL()}
	switch tr {
	case SocketMode:
		env[envAppToken] = AppToken
	case EventsAPI:
		addr := freeAddr(w.t)
		env[envSigningSecret] = SigningSecret
		env[envListen] = addr
		w.SetEventsURL("http://" + addr + "/slack/events")
	default:
		w.t.Fatalf("slacktest: Env: unknown transport %d", tr)
	}
	return func(name string) string { return env[name] }
}

// freeAddr returns a local address no one listens on yet.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("slacktest: find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// SetEventsURL makes the workspace post its requests, signed, to the app's
// Events API at url, instead of sending them over Socket Mode.
func (w *Workspace) SetEventsURL(url string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.eventsURL, w.events = url, nil
}

// SetEventsHandler makes the workspace hand its requests, signed, to h
// (the adapter's Handler) in process, instead of sending them over Socket
// Mode.
func (w *Workspace) SetEventsHandler(h http.Handler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.eventsURL, w.events = "", h
}

// SetClock sets the time the workspace signs its Events API requests
// with (time.Now by default), for an app whose clock is fixed.
func (w *Workspace) SetClock(now func() time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = now
}

// RateLimit makes the next n calls of a Web API method (or of Upload)
// answer 429 with a Retry-After of after, in whole seconds.
func (w *Workspace) RateLimit(method string, n int, after time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.limits[method] = limit{n: n, after: after}
}

// CutReplies makes the next n calls of a Web API method be carried out
// (a chat.postMessage posts its message) and then cut: the connection is
// closed before any reply, as when a network fails or a client times out
// after Slack has done the work. The caller cannot tell whether the call
// took effect.
func (w *Workspace) CutReplies(method string, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cuts[method] = n
}

// SetLatency makes every call of a Web API method wait d before it is
// answered, as a slow or distant Slack would; 0 ends it. Load and fault
// tests use it to play slow consumers.
func (w *Workspace) SetLatency(method string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d <= 0 {
		delete(w.latency, method)
		return
	}
	w.latency[method] = d
}

// Fail makes Slack answer the error code (such as "channel_not_found" or
// "not_in_channel") to chat.postMessage and files.completeUploadExternal in
// the channel id, and to conversations.open with the user id; an empty
// code ends it.
func (w *Workspace) Fail(id, code string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if code == "" {
		delete(w.errs, id)
		return
	}
	w.errs[id] = code
}

// FailConnectionsOpen makes the next n apps.connections.open calls answer
// 404.
func (w *Workspace) FailConnectionsOpen(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.openFailures = n
}

// AddChannel names a channel, as slash commands and interactions in it
// show it; a channel not added is named after its id ("directmessage" for
// a D... one).
func (w *Workspace) AddChannel(id, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.channels[id] = name
}

func (w *Workspace) channelName(id string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if name, ok := w.channels[id]; ok {
		return name
	}
	if strings.HasPrefix(id, "D") {
		return "directmessage"
	}
	return strings.ToLower(id)
}

// IMChannel returns the id of the direct message conversation between the
// bot and user, as conversations.open gives it: "D1" for "U1".
func IMChannel(user string) string { return "D" + strings.TrimPrefix(user, "U") }

// IMChannel is the package's IMChannel, for convenience.
func (w *Workspace) IMChannel(user string) string { return IMChannel(user) }

// Calls returns the calls of a Web API method (or of Upload) received so
// far, accepted or not, in order; every call when method is "".
func (w *Workspace) Calls(method string) []Call {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Call
	for _, c := range w.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Posts returns the messages the app posted, in order.
func (w *Workspace) Posts() []Post {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.posts)
}

// FindPost returns the first message posted in channel, in thread ("" for
// outside threads), whose text contains text.
func (w *Workspace) FindPost(channel, thread, text string) (Post, bool) {
	for _, p := range w.Posts() {
		if p.Channel == channel && p.Thread == thread && strings.Contains(p.Text, text) {
			return p, true
		}
	}
	return Post{}, false
}

// WaitPost waits for a message posted in channel, in thread ("" for
// outside threads), whose text contains text, and fails the test, listing
// the posts, when none comes within WaitTimeout.
func (w *Workspace) WaitPost(t testing.TB, channel, thread, text string) Post {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for {
		if p, ok := w.FindPost(channel, thread, text); ok {
			return p
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var seen []string
	for _, p := range w.Posts() {
		seen = append(seen, fmt.Sprintf("%s/%s ts=%s: %q", p.Channel, p.Thread, p.TS, p.Text))
	}
	t.Fatalf("slacktest: no post in %s thread %q with %q among:\n%s", channel, thread, text, strings.Join(seen, "\n"))
	return Post{}
}

// Files returns the files the app uploaded and shared, in order.
func (w *Workspace) Files() []File {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.files)
}

// WaitFile waits for a file named name shared in channel, and fails the
// test when none comes within WaitTimeout.
func (w *Workspace) WaitFile(t testing.TB, channel, name string) File {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for {
		for _, f := range w.Files() {
			if f.Channel == channel && f.Name == name {
				return f
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var seen []string
	for _, f := range w.Files() {
		seen = append(seen, fmt.Sprintf("%s in %s/%s (%d bytes)", f.Name, f.Channel, f.Thread, len(f.Data)))
	}
	t.Fatalf("slacktest: no file %q in %s among %q", name, channel, seen)
	return File{}
}

// Views returns the modals the app opened, in order.
func (w *Workspace) Views() []View {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.views)
}

// next returns the next number of the workspace's sequence of ids.
func (w *Workspace) next() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	return w.seq
}

// nextTS returns the ts of a new message: 1700000000.000001, then
// 1700000000.000002...
func (w *Workspace) nextTS() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nextTSLocked()
}

func (w *Workspace) nextTSLocked() string {
	w.tsSeq++
	return fmt.Sprintf("1700000000.%06d", w.tsSeq)
}

func reply(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", "application/json")
	json.NewEncoder(rw).Encode(v)
}
