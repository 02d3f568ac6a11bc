package matrix

import (
	"context"
	"log/slog"
	"os"
	"testing"
)

// testLogger returns a logger that writes warnings and errors (everything
// with ENTRAIDE_TEST_MATRIX_DEBUG set) to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("ENTRAIDE_TEST_MATRIX_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(testHandler{t: t, level: level, h: slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level})})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// testHandler stops logging when the test is over.
type testHandler struct {
	t     *testing.T
	level slog.Level
	h     slog.Handler
}

func (h testHandler) Enabled(ctx context.Context, l slog.Level) bool { return l >= h.level }
func (h testHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.h.Handle(ctx, r)
}
func (h testHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return testHandler{h.t, h.level, h.h.WithAttrs(as)}
}
func (h testHandler) WithGroup(n string) slog.Handler {
	return testHandler{h.t, h.level, h.h.WithGroup(n)}
}
