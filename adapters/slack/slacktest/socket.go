package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// serveSocket plays Slack's side of Socket Mode: hello, pings, and the
// acknowledgements it reads.
func (w *Workspace) serveSocket(rw http.ResponseWriter, r *http.Request) {
	conn, err := w.upgrader.Upgrade(rw, r, nil)
	if err != nil {
		w.t.Errorf("slacktest: upgrade: %v", err)
		return
	}
	defer conn.Close()
	w.wsMu.Lock()
	w.conn = conn
	err = conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": AppID}, "debug_info": map[string]any{"host": "slacktest"}})
	w.wsMu.Unlock()
	defer func() {
		w.wsMu.Lock()
		if w.conn == conn {
			w.conn = nil
		}
		w.wsMu.Unlock()
	}()
	if err != nil {
		return
	}
	select {
	case w.connected <- struct{}{}:
	default: // nobody waits for so many connections
	}
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
			w.t.Errorf("slacktest: not an acknowledgement: %s", data)
			continue
		}
		w.mu.Lock()
		w.acked[ack.EnvelopeID]++
		w.ackLog = append(w.ackLog, ack.EnvelopeID)
		close(w.ackSignal)
		w.ackSignal = make(chan struct{})
		w.mu.Unlock()
	}
}

// DropConnection closes the current Socket Mode connection, as Slack does
// at times; the app is expected to open another.
func (w *Workspace) DropConnection() {
	w.wsMu.Lock()
	defer w.wsMu.Unlock()
	if w.conn != nil {
		w.conn.Close()
	}
}

// WaitConnected waits for a new Socket Mode connection (one not waited for
// yet), and fails the test when none comes within WaitTimeout.
func (w *Workspace) WaitConnected(t testing.TB) {
	t.Helper()
	select {
	case <-w.connected:
	case <-time.After(WaitTimeout):
		t.Fatal("slacktest: no Socket Mode connection")
	}
}

// errNotConnected says no Socket Mode connection is open.
var errNotConnected = errors.New("slacktest: no Socket Mode connection to send on")

// sendEnvelope sends a Socket Mode request.
func (w *Workspace) sendEnvelope(kind, envelopeID string, payload []byte, retry int) error {
	msg, err := json.Marshal(map[string]any{
		"type": kind, "envelope_id": envelopeID, "payload": json.RawMessage(payload),
		"accepts_response_payload": kind != KindEvents, "retry_attempt": retry, "retry_reason": map[bool]string{true: "timeout"}[retry > 0],
	})
	if err != nil {
		return fmt.Errorf("slacktest: envelope %s: %w", envelopeID, err)
	}
	w.wsMu.Lock()
	defer w.wsMu.Unlock()
	if w.conn == nil {
		return errNotConnected
	}
	if err := w.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		return fmt.Errorf("slacktest: send envelope %s: %w", envelopeID, err)
	}
	return nil
}

// SendEnvelope sends a Socket Mode request of the given kind (KindEvents,
// KindSlash, KindInteractive) with retry as its retry_attempt, without
// waiting for its acknowledgement (see WaitAck).
func (w *Workspace) SendEnvelope(t testing.TB, kind, envelopeID string, payload []byte, retry int) {
	t.Helper()
	if err := w.sendEnvelope(kind, envelopeID, payload, retry); err != nil {
		t.Fatal(err)
	}
}

// WaitAck waits up to d for an acknowledgement of envelopeID not waited
// for yet, and reports whether it came.
func (w *Workspace) WaitAck(envelopeID string, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		w.mu.Lock()
		if w.acked[envelopeID] > 0 {
			w.acked[envelopeID]--
			w.mu.Unlock()
			return true
		}
		signal := w.ackSignal
		w.mu.Unlock()
		select {
		case <-signal:
		case <-timer.C:
			return false
		}
	}
}

// Acks returns the envelope ids the app acknowledged, in order.
func (w *Workspace) Acks() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.ackLog)
}

// DeliverUntilAcked sends a request as Slack does: again, with a growing
// retry_attempt, when it is not acknowledged within wait; it returns how
// many times it was sent, and fails the test after maxTries.
func (w *Workspace) DeliverUntilAcked(t testing.TB, kind, envelopeID string, payload []byte, maxTries int, wait time.Duration) int {
	t.Helper()
	for try := range maxTries {
		w.SendEnvelope(t, kind, envelopeID, payload, try)
		if w.WaitAck(envelopeID, wait) {
			return try + 1
		}
	}
	t.Fatalf("slacktest: envelope %s never acknowledged in %d tries", envelopeID, maxTries)
	return 0
}
