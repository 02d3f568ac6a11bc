package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
)

// fakeHomeserver answers the few client API calls the adapter makes, from
// recorded payload shapes of the Matrix spec.
type fakeHomeserver struct {
	mu     sync.Mutex
	sinces []string // the since of every /sync, in order
	batch  string   // the timeline batch served to since=s1
	send   func(w http.ResponseWriter, r *http.Request)
	upload func(w http.ResponseWriter, r *http.Request) // media uploads; nil answers 404
	// sync, when set, answers the /sync calls it wants to (it reports
	// whether it did); messages answers /messages (nil answers 404).
	sync     func(w http.ResponseWriter, since string) bool
	messages func(w http.ResponseWriter, r *http.Request)
}

func (f *fakeHomeserver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/account/whoami"):
		fmt.Fprint(w, `{"user_id":"@bot:fake","device_id":"ENTRAIDE"}`)
	case strings.Contains(p, "/account_data/"):
		w.WriteHeader(404)
		fmt.Fprint(w, `{"errcode":"M_NOT_FOUND","error":"Account data not found"}`)
	case strings.HasSuffix(p, "/sync"):
		since := r.URL.Query().Get("since")
		f.mu.Lock()
		f.sinces = append(f.sinces, since)
		f.mu.Unlock()
		if f.sync != nil && f.sync(w, since) {
			return
		}
		switch since {
		case "":
			fmt.Fprint(w, `{"next_batch":"s1"}`)
		case "s1":
			fmt.Fprintf(w, `{"next_batch":"s2","rooms":{"join":{"!r:fake":{"timeline":{"events":[%s]}}}}}`, f.batch)
		default:
			select { // an idle long poll
			case <-r.Context().Done():
			case <-time.After(200 * time.Millisecond):
			}
			fmt.Fprintf(w, `{"next_batch":%q}`, since)
		}
	case strings.Contains(p, "/send/"):
		f.send(w, r)
	case strings.HasSuffix(p, "/messages") && f.messages != nil:
		f.messages(w, r)
	case strings.HasSuffix(p, "/media/v3/upload") && f.upload != nil:
		f.upload(w, r)
	default:
		w.WriteHeader(404)
		fmt.Fprint(w, `{"errcode":"M_UNRECOGNIZED","error":"unknown endpoint"}`)
	}
}

// runFake runs an adapter against f until the test ends.
func runFake(t *testing.T, f *fakeHomeserver, inbox bots.Inbox) (*Adapter, *sqlstore.Store) {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	store := sqlstoretest.SQLite(t)
	return startFake(t, srv.URL, store, inbox), store
}

// startFake runs an adapter on the fake homeserver at url with store, as
// a restarted entraide would; Run stops at the end of the test.
func startFake(t *testing.T, url string, store *sqlstore.Store, inbox bots.Inbox) *Adapter {
	t.Helper()
	a, err := New(Config{Homeserver: url, Token: "tok", Encryption: EncryptionOff}, inbox, store, store.DB().DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.maxBackoff = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return a
}

// TestSendErrors checks how homeserver refusals reach bots.Sender's
// callers: rate limits as *bots.RetryAfterError with the delay asked for,
// refusals as bots.ErrUndeliverable.
func TestSendErrors(t *testing.T) {
	var reply struct {
		sync.Mutex
		status  int
		body    string
		header  string
		txnSeen []string
	}
	f := &fakeHomeserver{send: func(w http.ResponseWriter, r *http.Request) {
		reply.Lock()
		defer reply.Unlock()
		reply.txnSeen = append(reply.txnSeen, r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
		if reply.header != "" {
			w.Header().Set("Retry-After", reply.header)
		}
		w.WriteHeader(reply.status)
		fmt.Fprint(w, reply.body)
	}, messages: func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"chunk":[],"start":"t1"}`) // the sends in doubt took no event
	}}
	a, _ := runFake(t, f, bots.InboxFunc(func(context.Context, bots.Event) error { return nil }))
	ctx := context.Background()
	out := bots.Outgoing{To: bots.Destination{Platform: Platform, Room: "!r:fake"}, Message: *new(bots.Message).Text("x"), Key: "q1/request/2"}
	set := func(status int, body, header string) {
		reply.Lock()
		reply.status, reply.body, reply.header = status, body, header
		reply.Unlock()
	}

	set(429, `{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":1500}`, "")
	_, err := a.Send(ctx, out)
	var ra *bots.RetryAfterError
	if !errors.As(err, &ra) || ra.After != 1500*time.Millisecond {
		t.Fatalf("rate limited send: %v, want RetryAfterError after 1.5s", err)
	}

	set(429, `{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests"}`, "3")
	if _, err := a.Send(ctx, out); !errors.As(err, &ra) || ra.After != 3*time.Second {
		t.Fatalf("rate limited send with Retry-After: %v, want RetryAfterError after 3s", err)
	}

	set(403, `{"errcode":"M_FORBIDDEN","error":"not in room"}`, "")
	if _, err := a.Send(ctx, out); !errors.Is(err, bots.ErrUndeliverable) {
		t.Fatalf("forbidden send: %v, want ErrUndeliverable", err)
	}

	set(502, `bad gateway`, "")
	if _, err := a.Send(ctx, out); err == nil || errors.Is(err, bots.ErrUndeliverable) || errors.As(err, &ra) {
		t.Fatalf("gateway error: %v, want a transient error", err)
	}

	set(200, `{"event_id":"$e1"}`, "")
	sent, err := a.Send(ctx, out)
	if err != nil || sent.MessageID != "$e1" {
		t.Fatalf("send: %v %v", sent, err)
	}
	// A resend of the same key returns the recorded event without a request.
	set(500, `{}`, "")
	if again, err := a.Send(ctx, out); err != nil || again.MessageID != "$e1" {
		t.Fatalf("resend: %v %v, want the first event", again, err)
	}
	reply.Lock()
	defer reply.Unlock()
	for _, txn := range reply.txnSeen {
		if txn != "q1.2Frequest.2F2" {
			t.Errorf("transaction id %q, want the key", txn)
		}
	}
	if len(reply.txnSeen) != 5 {
		t.Errorf("%d send requests, want 5", len(reply.txnSeen))
	}
}

// TestSendInDoubtIsLookedFor: a send that got no clear answer (a server
// error, a cut connection) may have been taken by a homeserver that then
// forgot its transaction id (Dendrite across a restart): the next send of
// that message looks for the event first, by the transaction id written in
// its content, and returns it instead of sending a second one. A send
// refused outright (4xx) is not looked for, and a lookup that finds nothing
// sends the message.
func TestSendInDoubtIsLookedFor(t *testing.T) {
	var hs struct {
		sync.Mutex
		stored       []map[string]any // the room's events, oldest first
		sends, looks int
		status       int  // the answer to the next send
		take         bool // whether the homeserver takes it all the same
	}
	f := &fakeHomeserver{send: func(w http.ResponseWriter, r *http.Request) {
		hs.Lock()
		defer hs.Unlock()
		hs.sends++
		var content map[string]any
		json.NewDecoder(r.Body).Decode(&content)
		id := fmt.Sprintf("$e%d", len(hs.stored)+1)
		if hs.take || hs.status == 200 {
			hs.stored = append(hs.stored, map[string]any{"type": "m.room.message", "event_id": id, "sender": "@bot:fake",
				"origin_server_ts": time.Now().UnixMilli(), "content": content})
		}
		w.WriteHeader(hs.status)
		if hs.status == 200 {
			fmt.Fprintf(w, `{"event_id":%q}`, id)
			return
		}
		fmt.Fprint(w, `{"errcode":"M_UNKNOWN","error":"no"}`)
	}, messages: func(w http.ResponseWriter, r *http.Request) {
		hs.Lock()
		defer hs.Unlock()
		hs.looks++
		chunk := slices.Clone(hs.stored)
		slices.Reverse(chunk)
		json.NewEncoder(w).Encode(map[string]any{"chunk": chunk, "start": "t1"})
	}}
	a, store := runFake(t, f, bots.InboxFunc(func(context.Context, bots.Event) error { return nil }))
	ctx := context.Background()
	send := func(key string, status int, take bool) (bots.Sent, error) {
		hs.Lock()
		hs.status, hs.take = status, take
		hs.Unlock()
		return a.Send(ctx, bots.Outgoing{To: bots.Destination{Platform: Platform, Room: "!r:fake"}, Message: *new(bots.Message).Text("réponse " + key), Key: key})
	}
	counts := func() (int, int, int) {
		hs.Lock()
		defer hs.Unlock()
		return hs.sends, hs.looks, len(hs.stored)
	}

	// Taken, but the answer was a 502: found, not sent again.
	if _, err := send("k1", 502, true); err == nil {
		t.Fatal("a 502 reported no error")
	}
	sent, err := send("k1", 200, false)
	if sends, looks, stored := counts(); err != nil || sent.MessageID != "$e1" || sends != 1 || looks != 1 || stored != 1 {
		t.Fatalf("after a 502 that took the event: %v %v, %d sends, %d lookups, %d events; want $e1 found by one lookup, one send", sent, err, sends, looks, stored)
	}
	// Not taken (a 503 before the event was stored): looked for, then sent.
	send("k2", 503, false)
	sent, err = send("k2", 200, false)
	if sends, looks, stored := counts(); err != nil || sent.MessageID != "$e2" || sends != 3 || looks != 2 || stored != 2 {
		t.Fatalf("after a 503 that took nothing: %v %v, %d sends, %d lookups, %d events", sent, err, sends, looks, stored)
	}
	// Refused outright: no lookup.
	send("k3", 400, false)
	sent, err = send("k3", 200, false)
	if sends, looks, stored := counts(); err != nil || sent.MessageID != "$e3" || sends != 5 || looks != 2 || stored != 3 {
		t.Fatalf("after a 400: %v %v, %d sends, %d lookups, %d events", sent, err, sends, looks, stored)
	}
	// Taken but cut, then entraide restarts: the new process still looks
	// for it (the doubt is in the message's record), and sends nothing.
	send("k4", 502, true)
	a = startFake(t, a.cfg.Homeserver, store, bots.InboxFunc(func(context.Context, bots.Event) error { return nil }))
	sent, err = send("k4", 200, false)
	if sends, looks, stored := counts(); err != nil || sent.MessageID != "$e4" || sends != 6 || looks != 3 || stored != 4 {
		t.Fatalf("after a 502 that took the event and a restart: %v %v, %d sends, %d lookups, %d events; want $e4 found by a lookup, not sent again", sent, err, sends, looks, stored)
	}
	// Found once, it is recorded as sent: no second lookup.
	sent, err = send("k4", 200, false)
	if sends, looks, _ := counts(); err != nil || sent.MessageID != "$e4" || sends != 6 || looks != 3 {
		t.Fatalf("the found event sent again: %v %v, %d sends, %d lookups", sent, err, sends, looks)
	}
}

// TestCheckpointAfterDelivery checks that a batch whose delivery failed is
// fetched again (same since), and that the position moves on only after the
// inbox took its events.
func TestCheckpointAfterDelivery(t *testing.T) {
	f := &fakeHomeserver{batch: `{"type":"m.room.message","event_id":"$m1","sender":"@alice:fake","origin_server_ts":1,
		"content":{"msgtype":"m.text","body":"!ask test","m.relates_to":{"rel_type":"m.thread","event_id":"$root"}}}`}
	var mu sync.Mutex
	var got []bots.Event
	attempts := 0
	delivered := make(chan struct{})
	_, store := runFake(t, f, bots.InboxFunc(func(_ context.Context, ev bots.Event) error {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts == 1 {
			return errors.New("inbox down")
		}
		got = append(got, ev)
		if len(got) == 1 {
			close(delivered)
		}
		return nil
	}))
	select {
	case <-delivered:
	case <-time.After(10 * time.Second):
		t.Fatal("the event never reached the inbox")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := store.Checkpoint(context.Background(), "matrix:@bot:fake:next_batch")
		if err != nil {
			t.Fatal(err)
		}
		if v == "s2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint %q, want s2", v)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	want := bots.Event{ID: "$m1", Platform: Platform, Room: "!r:fake", Thread: "$root", Sender: got[0].Sender, Text: "!ask test", Tenant: "fake",
		At: time.UnixMilli(1).UTC()} // the batch's origin_server_ts
	if got[0] != want || got[0].Sender.User != "@alice:fake" {
		t.Errorf("event %+v, want %+v", got[0], want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sinces) < 3 || f.sinces[0] != "" || f.sinces[1] != "s1" || f.sinces[2] != "s1" {
		t.Errorf("sync positions %q, want \"\", s1, s1 (the failed batch again), ...", f.sinces)
	}
	b, _ := json.Marshal(f.sinces)
	t.Logf("sync positions: %s", b)
}

// TestCatchUpAfterSyncFailures: after /sync failed for a while, a message
// the homeserver accepted meanwhile but leaves out of every /sync (as a
// restarting homeserver may) is found with /messages and delivered; the
// messages already delivered are read again and dropped by the inbox.
func TestCatchUpAfterSyncFailures(t *testing.T) {
	now := time.Now().UnixMilli()
	f := &fakeHomeserver{batch: fmt.Sprintf(`{"type":"m.room.message","event_id":"$m1","sender":"@alice:fake","origin_server_ts":%d,
		"content":{"msgtype":"m.text","body":"!ask first"}}`, now)}
	failures := 0
	f.sync = func(w http.ResponseWriter, since string) bool {
		if since != "s2" {
			return false
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if failures < 2 {
			failures++
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, `{"errcode":"M_UNKNOWN","error":"restarting"}`)
			return true
		}
		fmt.Fprint(w, `{"next_batch":"s3"}`) // $m2 is never in a /sync
		return true
	}
	var messagesCalls []string
	f.messages = func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		messagesCalls = append(messagesCalls, r.URL.RawQuery)
		f.mu.Unlock()
		// Written during the failures, after the bot's first sync.
		now := time.Now().UnixMilli()
		fmt.Fprintf(w, `{"start":"t9","end":"t1","chunk":[
			{"type":"m.room.message","event_id":"$m2","room_id":"!r:fake","sender":"@bob:fake","origin_server_ts":%d,"content":{"msgtype":"m.text","body":"!ask second"}},
			{"type":"m.room.message","event_id":"$m1","room_id":"!r:fake","sender":"@alice:fake","origin_server_ts":%d,"content":{"msgtype":"m.text","body":"!ask first"}},
			{"type":"m.room.message","event_id":"$m0","room_id":"!r:fake","sender":"@alice:fake","origin_server_ts":1,"content":{"msgtype":"m.text","body":"!ask long ago"}}]}`, now+1, now)
	}
	var mu sync.Mutex
	var got []string
	second := make(chan struct{})
	runFake(t, f, bots.InboxFunc(func(_ context.Context, ev bots.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ev.ID)
		if ev.ID == "$m2" {
			close(second)
		}
		return nil
	}))
	select {
	case <-second:
	case <-time.After(10 * time.Second):
		t.Fatal("the message left out of /sync never reached the inbox")
	}
	mu.Lock()
	defer mu.Unlock()
	// $m1 from the first sync, then $m1 again (dropped by a real inbox)
	// and $m2 from the catch-up; $m0, older than the last good sync, not.
	if want := []string{"$m1", "$m1", "$m2"}; !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(messagesCalls) != 1 || !strings.Contains(messagesCalls[0], "dir=b") {
		t.Errorf("/messages calls %q, want one, backwards", messagesCalls)
	}
}
