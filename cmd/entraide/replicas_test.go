package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// TestPlatformsRunUnderTheirLeases checks which connections need a lease
// and which platforms only the lease's holder sends on.
func TestPlatformsRunUnderTheirLeases(t *testing.T) {
	store := sqlstoretest.SQLite(t)
	inbox := bots.InboxFunc(func(context.Context, bots.Event) error { return nil })
	env := map[string]string{
		"ENTRAIDE_MATRIX_HOMESERVER": "https://matrix.example.org", "ENTRAIDE_MATRIX_USER": "@entraide:example.org",
		"ENTRAIDE_MATRIX_PASSWORD": "secret", "ENTRAIDE_MATRIX_ENCRYPTION": "off",
		"ENTRAIDE_SLACK_BOT_TOKEN": "xoxb-1", "ENTRAIDE_SLACK_APP_TOKEN": "xapp-1",
		"ENTRAIDE_DISCORD_TOKEN": "token-123", "ENTRAIDE_DISCORD_APP_ID": "42",
	}
	log := slog.New(slog.DiscardHandler)
	plats, err := platforms(func(k string) string { return env[k] }, botDefaults(), inbox, store, log)
	if err != nil {
		t.Fatal(err)
	}
	got := map[core.Platform]string{}
	for _, p := range plats {
		got[p.name] = fmt.Sprintf("lease %q, holder sends: %v", p.lease, p.holding != nil)
	}
	want := map[core.Platform]string{
		"matrix":  `lease "platform/matrix", holder sends: true`,
		"slack":   `lease "platform/slack", holder sends: false`,
		"discord": `lease "platform/discord", holder sends: true`,
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %s, want %s", name, got[name], w)
		}
	}
	// The Events API over HTTP runs on every replica.
	delete(env, "ENTRAIDE_SLACK_APP_TOKEN")
	env["ENTRAIDE_SLACK_SIGNING_SECRET"], env["ENTRAIDE_SLACK_LISTEN"] = "s3cret", ":0"
	plats, err = platforms(func(k string) string { return env[k] }, botDefaults(), inbox, store, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plats {
		if p.name == "slack" && (p.lease != "" || p.holding != nil) {
			t.Errorf("slack over HTTP: lease %q, holder sends: %v", p.lease, p.holding != nil)
		}
	}
}

func TestLeaseTTLIsChecked(t *testing.T) {
	for _, v := range []string{"1s", "1h", "soon"} {
		_, _, err := entraide(t, map[string]string{"ENTRAIDE_LEASE_TTL": v}, "", "config", "check")
		if err == nil || !strings.Contains(err.Error(), "ENTRAIDE_LEASE_TTL") {
			t.Errorf("%s: %v", v, err)
		}
	}
}

// TestRelaySendsThroughTheCurrentTerm: nothing is sent before a term, nor
// after it; a send waiting for the adapter fails when the term ends.
func TestRelaySendsThroughTheCurrentTerm(t *testing.T) {
	r := &relay{platform: "matrix"}
	o := bots.Outgoing{To: bots.Destination{Platform: "matrix", Room: "!r"}, Key: "k"}
	if _, err := r.Send(context.Background(), o); err == nil {
		t.Fatal("sent before any term")
	}
	term, end := context.WithCancel(context.Background())
	blocked := &fakeConn{name: "matrix", replica: "r1", block: make(chan struct{})}
	r.begin(term, blocked)
	errc := make(chan error, 1)
	go func() {
		_, err := r.Send(context.Background(), o)
		errc <- err
	}()
	<-blocked.block // the send waits in the adapter
	end()
	if err := <-errc; err == nil {
		t.Error("a send waiting in the adapter outlived its term")
	}
	if _, err := r.Send(context.Background(), o); err == nil {
		t.Error("sent after the term")
	}

	// The relay tells the pipeline what the adapters say of their sends,
	// and whether they offer buttons as reactions.
	next := func() (platformAdapter, error) { return nil, nil }
	for _, a := range []platformAdapter{&fakeConn{name: "matrix"}, idempotentConn{&fakeConn{name: "matrix"}}} {
		_, want := a.(idempotentConn)
		i, ok := termPlatform("matrix", leaseMatrix, a, next).sender.(interface{ IdempotentSends() bool })
		if says := ok && i.IdempotentSends(); says != want {
			t.Errorf("%T: the relay says idempotent sends %v, want %v", a, says, want)
		}
		rs, ok := termPlatform("matrix", leaseMatrix, a, next).sender.(bots.ReactingSender)
		if says := ok && rs.Reactions(); says != want {
			t.Errorf("%T: the relay says reactions %v, want %v", a, says, want)
		}
	}
}

// idempotentConn is an adapter whose platform deduplicates by key and
// offers buttons as reactions, as Matrix does.
type idempotentConn struct{ *fakeConn }

func (idempotentConn) IdempotentSends() bool { return true }
func (idempotentConn) Reactions() bool       { return true }

// sentBy is a message a replica sent.
type sentBy struct{ replica, key string }

// fakeConn is a platform's adapter in one replica: it counts the replicas
// that run its connection at once, and tells what it sends.
type fakeConn struct {
	name    core.Platform
	replica string
	active  *atomic.Int32
	overlap *atomic.Bool
	runs    chan string
	sent    chan sentBy
	// block, when set, makes Send tell it started, then wait for its
	// context.
	block chan struct{}
}

func (f *fakeConn) Platform() core.Platform { return f.name }

func (f *fakeConn) Send(ctx context.Context, o bots.Outgoing) (bots.Sent, error) {
	if f.block != nil {
		close(f.block)
		<-ctx.Done()
		return bots.Sent{}, ctx.Err()
	}
	f.sent <- sentBy{f.replica, o.Key}
	return bots.Sent{MessageID: o.Key}, nil
}

func (f *fakeConn) Run(ctx context.Context) error {
	if f.active.Add(1) > 1 && f.overlap != nil {
		f.overlap.Store(true)
	}
	f.runs <- f.replica
	<-ctx.Done()
	f.active.Add(-1)
	return nil
}

// TestReplicasShareTheConnections serves two replicas on one database: the
// Matrix-like connection runs in one of them at a time and its messages
// leave from that one only; the Slack-over-HTTP-like one runs in both, and
// both send its messages. When the holder stops, the other replica takes
// the connection over at once.
func TestReplicasShareTheConnections(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			database := filepath.Join(t.TempDir(), "entraide.db")
			if backend == "postgres" {
				database = sqlstoretest.PostgresURL(t)
			}
			var (
				matrixActive, slackActive atomic.Int32
				overlap                   atomic.Bool
				matrixRuns                = make(chan string, 10)
				slackRuns                 = make(chan string, 10)
				sent                      = make(chan sentBy, 100)
			)
			clock := core.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			type replica struct {
				store *sqlstore.Store
				stop  func()
			}
			start := func(name string) replica {
				store, err := sqlstore.Open(context.Background(), database)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { store.Close() })
				conn := func() *fakeConn {
					return &fakeConn{name: "matrix", replica: name, active: &matrixActive, overlap: &overlap, runs: matrixRuns, sent: sent}
				}
				web := &fakeConn{name: "slack", replica: name, active: &slackActive, runs: slackRuns, sent: sent}
				plats := []platform{
					termPlatform("matrix", leaseMatrix, conn(), func() (platformAdapter, error) { return conn(), nil }),
					{name: "slack", sender: web, connect: func() (func(context.Context) error, error) { return web.Run, nil }},
				}
				net, err := core.NewNetwork(store, core.TopicRouter{}, core.SystemClock{}, core.DefaultConfig())
				if err != nil {
					t.Fatal(err)
				}
				log := slog.New(slog.DiscardHandler)
				bot, err := bots.New(net, botDefaults(), log)
				if err != nil {
					t.Fatal(err)
				}
				pcfg := pipelineConfig(store.Dialect(), 0)
				pcfg.Poll = 2 * time.Millisecond
				pipe, err := bots.NewPipeline(newSendingQueue(store, plats), bot, []bots.Sender{plats[0].sender, plats[1].sender}, core.SystemClock{}, pcfg, log, nil)
				if err != nil {
					t.Fatal(err)
				}
				lc := leasing{store: store, owner: name, ttl: 30 * time.Second, renew: time.Millisecond, poll: time.Millisecond, clock: clock}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- serve(ctx, pipe, plats, lc, nil, log) }()
				var once sync.Once
				stop := func() {
					once.Do(func() {
						cancel()
						if err := <-done; err != nil {
							t.Errorf("%s: serve: %v", name, err)
						}
					})
				}
				t.Cleanup(stop)
				return replica{store, stop}
			}
			recv := func(what string, c <-chan string) string {
				t.Helper()
				select {
				case v := <-c:
					return v
				case <-time.After(20 * time.Second):
					t.Fatalf("still waiting for %s", what)
					return ""
				}
			}
			// put queues n messages on platform and returns who sent each.
			put := func(store *sqlstore.Store, platform core.Platform, prefix string, n int) map[string]string {
				t.Helper()
				var out []bots.Outgoing
				for i := range n {
					var m bots.Message
					m.Text("hello")
					out = append(out, bots.Outgoing{To: bots.Destination{Platform: platform, Room: "room"}, Message: m, Key: fmt.Sprintf("%s/%d", prefix, i)})
				}
				if err := store.PutOutgoing(context.Background(), out, time.Now()); err != nil {
					t.Fatal(err)
				}
				by := map[string]string{}
				for len(by) < n {
					select {
					case s := <-sent:
						if !strings.HasPrefix(s.key, prefix+"/") {
							t.Fatalf("unexpected message %+v", s)
						}
						if prev, twice := by[s.key]; twice {
							t.Fatalf("%s sent twice, by %s and %s", s.key, prev, s.replica)
						}
						by[s.key] = s.replica
					case <-time.After(20 * time.Second):
						t.Fatalf("still waiting for the messages %s: %v", prefix, by)
					}
				}
				return by
			}

			r1 := start("r1")
			if got := recv("the first connection", matrixRuns); got != "r1" {
				t.Fatalf("matrix runs in %s", got)
			}
			r2 := start("r2")
			both := map[string]bool{recv("slack in one replica", slackRuns): true, recv("slack in the other", slackRuns): true}
			if !both["r1"] || !both["r2"] {
				t.Errorf("slack runs in %v, want both", both)
			}
			for key, by := range put(r2.store, "matrix", "m1", 8) {
				if by != "r1" {
					t.Errorf("%s sent by %s, which does not hold the connection", key, by)
				}
			}
			put(r2.store, "slack", "s1", 8)

			r1.stop()
			if got := recv("the connection taken over", matrixRuns); got != "r2" {
				t.Fatalf("matrix runs in %s after r1 stopped", got)
			}
			for key, by := range put(r2.store, "matrix", "m2", 4) {
				if by != "r2" {
					t.Errorf("%s sent by %s after r1 stopped", key, by)
				}
			}
			// Each message went out at its first attempt: the replica that
			// does not hold the connection never claimed it.
			var retried int
			if err := r2.store.DB().Get(&retried, "SELECT COUNT(*) FROM outbox WHERE attempts > 0"); err != nil {
				t.Fatal(err)
			}
			if retried > 0 {
				t.Errorf("%d messages needed another attempt", retried)
			}
			r2.stop()
			if overlap.Load() {
				t.Error("two replicas ran the matrix connection at once")
			}
			if matrixActive.Load() != 0 || slackActive.Load() != 0 {
				t.Errorf("connections left running: matrix %d, slack %d", matrixActive.Load(), slackActive.Load())
			}
		})
	}
}
