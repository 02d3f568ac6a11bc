// Package matrixtest runs tests against a real Matrix homeserver, the one
// named by ENTRAIDE_TEST_MATRIX_HOMESERVER (bash .ci/dendrite-up.sh starts a
// Dendrite and prints the line to use). Tests in any package use it: they
// skip with a message when the variable is unset, register fresh users
// (so tests share one server), create rooms, write as people do, wait for
// what the bot writes, and run the entraide adapter as the bot:
//
//	hs := matrixtest.Homeserver(t)
//	alice := matrixtest.Register(t, hs, "alice")
//	cfg := matrixtest.BotConfig(t, hs, matrix.EncryptionOff)
//	a, err := matrix.New(cfg, inbox, store, store.DB().DB, matrixtest.Logger(t))
//	...
//	matrixtest.Run(t, a)
//	room := alice.CreateRoom(t, []id.UserID{id.UserID(cfg.User)})
//	alice.WaitJoined(t, room, id.UserID(cfg.User))
//	q := alice.Send(t, room, "!ask Qui connaît les marchés publics ?")
//	answer := alice.WaitInThread(t, room, q, matrixtest.Timeout, matrixtest.BodyContains("DAJ"))
//
// With the goolm build tag, RegisterEncrypted gives a person whose client
// encrypts and decrypts, as Element or Tchap do.
package matrixtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/synapseadmin"

	"entraide/adapters/matrix"
)

// The variables the tests read.
const (
	// HomeserverEnv names the homeserver, such as http://127.0.0.1:18008.
	HomeserverEnv = "ENTRAIDE_TEST_MATRIX_HOMESERVER"
	// SecretEnv is its shared registration secret, "complement" when unset
	// (what Dendrite's generate-config -ci sets).
	SecretEnv = "ENTRAIDE_TEST_MATRIX_SECRET"
	// DebugEnv, when set, makes Logger write everything, not only
	// warnings and errors.
	DebugEnv = "ENTRAIDE_TEST_MATRIX_DEBUG"
)

// Timeout is how long the Wait methods of this package wait when given 0:
// long enough for a loaded CI machine, short enough to fail a test.
const Timeout = 30 * time.Second

// Homeserver returns the test homeserver's URL, or skips the test with a
// message saying how to run it.
func Homeserver(tb testing.TB) string {
	tb.Helper()
	hs := os.Getenv(HomeserverEnv)
	if hs == "" {
		tb.Skipf("Matrix integration test skipped: set %s to a homeserver URL with shared-secret registration (bash .ci/dendrite-up.sh starts one and prints the line to use)", HomeserverEnv)
	}
	return hs
}

// User is a person (or the bot) registered on the test homeserver, with a
// client logged in as them.
type User struct {
	Client   *mautrix.Client
	Password string
}

// ID returns the user's Matrix id.
func (u *User) ID() id.UserID { return u.Client.UserID }

// Register creates a fresh user on hs, named name followed by a random
// suffix (alice-1f2e3d4c), through the shared-secret registration API, and
// returns them logged in on a device of their own.
func Register(tb testing.TB, hs, name string) *User {
	tb.Helper()
	secret := os.Getenv(SecretEnv)
	if secret == "" {
		secret = "complement"
	}
	buf := make([]byte, 4)
	rand.Read(buf)
	username := strings.ToLower(name) + "-" + hex.EncodeToString(buf)
	password := "pw-" + hex.EncodeToString(buf) + "-long-enough"
	cli, err := mautrix.NewClient(hs, "", "")
	if err != nil {
		tb.Fatalf("matrixtest: homeserver %q: %v", hs, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	resp, err := (&synapseadmin.Client{Client: cli}).SharedSecretRegister(ctx, secret, synapseadmin.ReqSharedSecretRegister{
		Username: username, Password: password,
	})
	if err != nil {
		tb.Fatalf("matrixtest: register %s on %s (is %s the server's registration secret?): %v", username, hs, SecretEnv, err)
	}
	cli.UserID, cli.AccessToken, cli.DeviceID = resp.UserID, resp.AccessToken, resp.DeviceID
	return &User{Client: cli, Password: password}
}

// BotConfig registers a fresh bot account on hs and returns the adapter's
// configuration for it: password login, encryption enc, a pickle key.
func BotConfig(tb testing.TB, hs string, enc matrix.Encryption) matrix.Config {
	tb.Helper()
	bot := Register(tb, hs, "bot")
	return matrix.Config{
		Homeserver: hs, User: string(bot.ID()), Password: bot.Password,
		Encryption: enc, PickleKey: "test-pickle-key-0123456789",
	}
}

// Run runs a.Run until stop is called or the test ends, and returns once
// the adapter logged in (failing the test when it cannot within a minute).
// When Run returns an error, the test fails. stop waits for Run to return;
// calling it twice is harmless.
func Run(tb testing.TB, a *matrix.Adapter) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() {
		once.Do(func() {
			cancel()
			runErr = <-done
			if runErr != nil {
				tb.Errorf("matrixtest: the adapter's Run: %v", runErr)
			}
		})
	}
	tb.Cleanup(stop)
	// Encrypted returns once Run logged in, or when its context is done.
	loginCtx, loginCancel := context.WithTimeout(ctx, time.Minute)
	defer loginCancel()
	ready := make(chan struct{})
	go func() { a.Encrypted(loginCtx); close(ready) }()
	select {
	case <-ready:
		if loginCtx.Err() != nil {
			tb.Fatal("matrixtest: the adapter did not log in within a minute")
		}
	case err := <-done:
		once.Do(cancel) // Run is over: stop has nothing left to wait for
		tb.Fatalf("matrixtest: the adapter's Run stopped before logging in: %v", err)
	}
	return stop
}

// Logger returns a logger for an adapter under test: warnings and errors
// (everything when ENTRAIDE_TEST_MATRIX_DEBUG is set) go to the test's log
// until the test ends, and are dropped after.
func Logger(tb testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv(DebugEnv) != "" {
		level = slog.LevelDebug
	}
	w := &testWriter{tb: tb}
	tb.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// testWriter writes to a test's log until close: logging after the end of
// a test panics, and adapters may log while they stop.
type testWriter struct {
	tb     testing.TB
	mu     sync.Mutex
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

// requestCtx returns a context for one request of a test.
func requestCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), Timeout)
}

// fatalf fails the test with a message naming who did what.
func (u *User) fatalf(tb testing.TB, format string, args ...any) {
	tb.Helper()
	tb.Fatalf("matrixtest: %s: %s", u.ID(), fmt.Sprintf(format, args...))
}
