package main

// The fault suite: each test runs a short load through the real adapters
// (the Slack fake, and a Dendrite of the test's own for the homeserver
// restart) with the durable pipeline, injects one fault while questions
// are being asked, lets everything settle, and checks the invariant:
// every question a platform accepted is stored once and acknowledged to
// its asker once, and no one sees a message twice. Every test logs a
// one-line report; none asserts a timing.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"entraide/adapters/slack/slacktest"
)

// runFault runs a load with opts (SQLite in a temporary directory unless
// opts.Database is set) and returns its report, logged.
func runFault(t *testing.T, name string, opts loadOptions) *loadReport {
	t.Helper()
	if testing.Short() {
		t.Skip("fault suite skipped in -short mode")
	}
	if opts.Database == "" {
		opts.Database = filepath.Join(t.TempDir(), "load.db")
	}
	if opts.Settle == 0 {
		opts.Settle = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := runLoad(ctx, t, opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Logf("fault %-22s questions %4d (slack %d, matrix %d), lost %d, duplicated %d, messages %d, deliveries %d, restarts %d, unrouted %d, set aside %d, settled %v",
		name, rep.Questions, rep.SlackQuestions, rep.MatrixQuestions, rep.Lost, rep.Duplicated, rep.MessagesSent,
		rep.Deliveries, rep.Restarts, rep.Unrouted, rep.SetAside, rep.Settled)
	if rep.HomeserverLost > 0 {
		t.Logf("  %d Matrix questions accepted then lost by the homeserver itself (not in the room after its restart)", rep.HomeserverLost)
	}
	if rep.Duplicated > 0 || rep.Lost > 0 {
		t.Logf("  parts: unstored %d, unacknowledged %d, stored twice %d, acknowledged twice %d, posts twice by text %d, by key %d",
			rep.Unstored, rep.Unacknowledged, rep.StoredTwice, rep.AckedTwice, rep.DupPostsByText, rep.DupPostsByKey)
	}
	return rep
}

// checkInvariant fails the test unless every accepted question ended
// exactly once and nothing was seen twice.
func checkInvariant(t *testing.T, rep *loadReport) {
	t.Helper()
	if rep.Questions == 0 {
		t.Error("no question was accepted")
	}
	if !rep.Settled {
		t.Error("work was still pending when the run ended")
	}
	if rep.Lost != 0 || rep.Duplicated != 0 || rep.SetAside != 0 {
		t.Errorf("lost %d, duplicated %d, set aside %d: want none", rep.Lost, rep.Duplicated, rep.SetAside)
	}
}

// smallLoad is the load of the fault tests: enough questions to catch
// work in every stage when the fault strikes, few enough for CI.
func smallLoad() loadOptions {
	return loadOptions{Duration: 4 * time.Second, Rate: 15, Askers: 45, Experts: 90, FaultAt: 1500 * time.Millisecond}
}

// TestFaultProcessKill kills the service mid-load (its context cancelled
// with transactions, sends and deliveries in flight, nothing drained) and
// starts a fresh one on the same database; Slack redelivers the requests
// that were not acknowledged, and the new process takes over the work of
// the old one when its leases run out.
func TestFaultProcessKill(t *testing.T) {
	for _, tr := range []struct {
		name string
		tr   slacktest.Transport
	}{{"socket", slacktest.SocketMode}, {"http", slacktest.EventsAPI}} {
		t.Run(tr.name, func(t *testing.T) {
			opts := smallLoad()
			opts.Transport = tr.tr
			opts.Lease = 2 * time.Second
			opts.Rate = 30
			opts.Askers = 90
			opts.Fault = func(ctx context.Context, l *loadRun) error {
				// Slow posts first, so that the kill finds sends in flight
				// and messages waiting, besides events being handled.
				l.Workspace().SetLatency("chat.postMessage", 40*time.Millisecond)
				time.Sleep(700 * time.Millisecond)
				if n := l.current(); n != nil {
					events, messages, err := n.store.Backlog(ctx)
					t.Logf("  killed with %d events and %d messages pending (%v)", events, messages, err)
				}
				l.Kill()
				l.Workspace().SetLatency("chat.postMessage", 0)
				time.Sleep(300 * time.Millisecond) // Slack's requests meanwhile go unanswered
				return l.Restart(ctx)
			}
			var ws *slacktest.Workspace
			fault := opts.Fault
			opts.Fault = func(ctx context.Context, l *loadRun) error {
				ws = l.Workspace()
				return fault(ctx, l)
			}
			rep := runFault(t, "process kill/"+tr.name, opts)
			// A message Slack accepted just before the kill, not yet marked
			// sent, is in doubt: the next process finds it by its key
			// instead of posting it again.
			t.Logf("  messages in doubt looked up: %d", len(ws.Calls("conversations.history"))+len(ws.Calls("conversations.replies")))
			if rep.Restarts != 1 {
				t.Errorf("%d restarts, want 1", rep.Restarts)
			}
			checkInvariant(t, rep)
		})
	}
}

// TestFaultRateLimitStorm answers 429 to most chat.postMessage calls for
// two seconds: the adapter holds the conversations as Slack asks and the
// pipeline retries after Retry-After.
func TestFaultRateLimitStorm(t *testing.T) {
	opts := smallLoad()
	var ws *slacktest.Workspace
	opts.Fault = func(ctx context.Context, l *loadRun) error {
		ws = l.Workspace()
		end := time.Now().Add(2 * time.Second)
		for time.Now().Before(end) && ctx.Err() == nil {
			l.Workspace().RateLimit("chat.postMessage", 30, time.Second)
			time.Sleep(250 * time.Millisecond)
		}
		return nil
	}
	rep := runFault(t, "429 storm", opts)
	limited := len(ws.Calls("chat.postMessage")) - len(ws.Posts())
	t.Logf("  %d chat.postMessage calls answered 429", limited)
	if limited == 0 {
		t.Error("no call was rate-limited: the storm missed the load")
	}
	checkInvariant(t, rep)
}

// TestFaultDuplicateDeliveries delivers every request of Slack three
// times at once: over Socket Mode (three envelopes of the same payload)
// and over the Events API (the same signed request three times).
func TestFaultDuplicateDeliveries(t *testing.T) {
	for _, tr := range []struct {
		name string
		tr   slacktest.Transport
	}{{"socket", slacktest.SocketMode}, {"http", slacktest.EventsAPI}} {
		t.Run(tr.name, func(t *testing.T) {
			opts := smallLoad()
			opts.Transport = tr.tr
			opts.Copies = 3
			rep := runFault(t, "duplicates x3/"+tr.name, opts)
			if rep.Deliveries < 3*int64(rep.Questions) {
				t.Errorf("%d deliveries of %d questions: want each at least 3 times", rep.Deliveries, rep.Questions)
			}
			checkInvariant(t, rep)
		})
	}
}

// TestFaultSlowConsumer makes Slack's Web API answer slowly (150 ms a
// post, 100 ms a conversations.open) from the middle of the run on:
// sending falls behind asking, and the backlog drains afterwards.
func TestFaultSlowConsumer(t *testing.T) {
	opts := smallLoad()
	opts.Rate = 8
	opts.Fault = func(ctx context.Context, l *loadRun) error {
		l.Workspace().SetLatency("chat.postMessage", 150*time.Millisecond)
		l.Workspace().SetLatency("conversations.open", 100*time.Millisecond)
		return nil
	}
	rep := runFault(t, "slow web api", opts)
	checkInvariant(t, rep)
}

// TestFaultRepliesCut cuts the connection of many chat.postMessage calls
// after Slack posted their message, before it replies, as a network
// failure or a client timeout would: the pipeline cannot tell whether each
// was posted, keeps it in doubt, and at the next attempt finds it by its
// key rather than posting it again.
func TestFaultRepliesCut(t *testing.T) {
	opts := smallLoad()
	var ws *slacktest.Workspace
	const cuts = 20
	opts.Fault = func(ctx context.Context, l *loadRun) error {
		ws = l.Workspace()
		ws.CutReplies("chat.postMessage", cuts)
		return nil
	}
	rep := runFault(t, "replies cut", opts)
	lookups := len(ws.Calls("conversations.history")) + len(ws.Calls("conversations.replies"))
	t.Logf("  %d chat.postMessage replies cut, %d messages in doubt looked up", cuts, lookups)
	if lookups < cuts {
		t.Errorf("%d lookups for %d replies cut: every message whose reply was cut is looked up", lookups, cuts)
	}
	checkInvariant(t, rep)
}

// TestFaultDatabaseRestart runs the load on a PostgreSQL of the test's
// own and restarts it (immediate shutdown, as a crash) mid-load. It runs
// when ENTRAIDE_TEST_POSTGRES is set, as the other PostgreSQL tests do,
// and needs the server's binaries (initdb, pg_ctl).
func TestFaultDatabaseRestart(t *testing.T) {
	if os.Getenv("ENTRAIDE_TEST_POSTGRES") == "" {
		t.Skip("PostgreSQL fault test skipped: set ENTRAIDE_TEST_POSTGRES (bash .ci/pg-up.sh prints a URL); the test then runs a PostgreSQL of its own")
	}
	pg := startPostgres(t)
	opts := smallLoad()
	opts.Database = pg.url
	opts.Lease = 2 * time.Second
	opts.Fault = func(ctx context.Context, l *loadRun) error {
		if err := pg.ctl("stop", "-m", "immediate", "-w"); err != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond)
		return pg.ctl("start", "-w", "-t", "30", "-l", filepath.Join(pg.dir, "server.log"), "-o", pg.options)
	}
	rep := runFault(t, "postgres restart", opts)
	checkInvariant(t, rep)
}

// TestFaultHomeserverRestart asks questions in Matrix rooms on a Dendrite
// of the test's own (never the shared one, which other packages' tests
// use) and restarts it mid-load: the askers retry their sends, the
// adapter resumes its sync from its saved position and retries its
// sends. The answers go to experts on the Slack fake.
func TestFaultHomeserverRestart(t *testing.T) {
	hs := startDendrite(t)
	opts := smallLoad()
	opts.Rate = 5
	opts.Homeserver = hs.url
	opts.MatrixRooms = 2
	opts.MatrixRate = 3
	opts.Duration = 6 * time.Second
	opts.FaultAt = 2 * time.Second
	opts.Fault = func(ctx context.Context, l *loadRun) error {
		hs.stop(t)
		time.Sleep(time.Second)
		return hs.start(t)
	}
	rep := runFault(t, "homeserver restart", opts)
	if rep.MatrixQuestions == 0 {
		t.Error("no Matrix question was accepted")
	}
	checkInvariant(t, rep)
}

// freePort returns a loopback port no one listens on yet.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testPostgres is a PostgreSQL server of a test's own.
type testPostgres struct {
	bin, dir, options, url string
	uid, gid               int // the user the server runs as; 0 = this one
}

// ctl runs pg_ctl on the server.
func (pg *testPostgres) ctl(args ...string) error {
	return pg.run("pg_ctl", append([]string{"-D", filepath.Join(pg.dir, "data")}, args...)...)
}

func (pg *testPostgres) run(tool string, args ...string) error {
	cmd := exec.Command(filepath.Join(pg.bin, tool), args...)
	if pg.uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(pg.uid), Gid: uint32(pg.gid)}}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", tool, strings.Join(args, " "), err, out)
	}
	return nil
}

// startPostgres starts a throwaway PostgreSQL on a free port with its
// data in a temporary directory (fsync off, as no machine crashes here, but
// synchronous commits on: an immediate shutdown must keep what was
// committed), found as .ci/pg-up.sh finds it (the
// newest /usr/lib/postgresql/*/bin), as the postgres user when the test
// runs as root. It skips the test when the binaries are missing.
func startPostgres(t *testing.T) *testPostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Skip("PostgreSQL fault test skipped: no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql, or run bash .ci/pg-up.sh once)")
	}
	sort.Slice(bins, func(i, j int) bool { return pgVersion(bins[i]) < pgVersion(bins[j]) })
	dir, err := os.MkdirTemp("", "entraide-fault-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := freePort(t)
	pg := &testPostgres{bin: filepath.Dir(bins[len(bins)-1]), dir: dir,
		options: fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c full_page_writes=off", port, dir),
		url:     fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("PostgreSQL fault test skipped: running as root and there is no postgres user to run the server as")
		}
		pg.uid, _ = strconv.Atoi(u.Uid)
		pg.gid, _ = strconv.Atoi(u.Gid)
		if err := os.Chown(dir, pg.uid, pg.gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := pg.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatal(err)
	}
	if err := pg.ctl("start", "-w", "-t", "30", "-l", filepath.Join(dir, "server.log"), "-o", pg.options); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pg.ctl("stop", "-m", "immediate", "-w"); err != nil {
			t.Log(err)
		}
	})
	return pg
}

// pgVersion is the major version in a /usr/lib/postgresql/N/bin path.
func pgVersion(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

// testDendrite is a Dendrite of a test's own.
type testDendrite struct {
	url, dir, bin string
	port          int
	cmd           *exec.Cmd
}

// startDendrite starts a second Dendrite on a free port with
// .ci/dendrite-up.sh (HS_PORT, HS_DIR), and stops it when the test ends.
// It skips the test when the Dendrite binary is not built.
func startDendrite(t *testing.T) *testDendrite {
	t.Helper()
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	bin := filepath.Join(cache, "entraide-dendrite-v0.15.2", "bin")
	if _, err := os.Stat(filepath.Join(bin, "dendrite")); err != nil {
		t.Skipf("homeserver fault test skipped: Dendrite is not built in %s (bash .ci/dendrite-up.sh builds it once, about 5 minutes)", bin)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("homeserver fault test skipped: no bash to run .ci/dendrite-up.sh")
	}
	hs := &testDendrite{port: freePort(t), bin: bin}
	hs.dir = filepath.Join(os.TempDir(), fmt.Sprintf("entraide-fault-dendrite-%d", hs.port))
	hs.url = fmt.Sprintf("http://127.0.0.1:%d", hs.port)
	script := filepath.Join("..", "..", ".ci", "dendrite-up.sh")
	env := append(os.Environ(), "HS_PORT="+strconv.Itoa(hs.port), "HS_DIR="+hs.dir, "HS_BIN="+bin, "HS_DB=", "HS_DURABLE=1")
	up := exec.Command("bash", script)
	up.Env = env
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("start a Dendrite of the test's own: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		hs.stop(t)
		os.RemoveAll(hs.dir)
	})
	return hs
}

// stop stops the server: through the script when it started it, or the
// process this test started.
func (hs *testDendrite) stop(t *testing.T) {
	if hs.cmd != nil {
		hs.cmd.Process.Signal(syscall.SIGTERM)
		hs.cmd.Wait()
		hs.cmd = nil
		return
	}
	down := exec.Command("bash", filepath.Join("..", "..", ".ci", "dendrite-up.sh"), "stop")
	down.Env = append(os.Environ(), "HS_PORT="+strconv.Itoa(hs.port), "HS_DIR="+hs.dir)
	if out, err := down.CombinedOutput(); err != nil {
		t.Logf("stop the test's Dendrite: %v\n%s", err, out)
	}
}

// start starts the server again on its data, as the script does but
// without wiping it, and waits until it answers.
func (hs *testDendrite) start(t *testing.T) error {
	out, err := os.Create(filepath.Join(hs.dir, "dendrite-restarted.out"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(filepath.Join(hs.bin, "dendrite"), "-config", "dendrite.yaml",
		"-http-bind-address", fmt.Sprintf("127.0.0.1:%d", hs.port), "-really-enable-open-registration")
	cmd.Dir, cmd.Stdout, cmd.Stderr = hs.dir, out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restart Dendrite: %w", err)
	}
	hs.cmd = cmd
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(hs.url + "/_matrix/client/versions")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("restarted Dendrite does not answer on %s", hs.url)
}
