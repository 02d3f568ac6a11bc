package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Limits of the HTTP transport.
const (
	maxBody         = 1 << 20
	signatureWindow = 5 * time.Minute
	shutdownTimeout = 10 * time.Second
)

// Errors of signature verification. None of them says more than what is
// wrong with the request.
var (
	errNoSignature  = errors.New("missing X-Slack-Signature or X-Slack-Request-Timestamp")
	errBadTimestamp = errors.New("malformed X-Slack-Request-Timestamp")
	errStale        = errors.New("request timestamp outside the 5-minute window")
	errBadSignature = errors.New("signature mismatch")
)

// parseSignatureHeaders reads the X-Slack-Request-Timestamp and
// X-Slack-Signature headers: a Unix time in seconds, and "v0=" followed by
// the hex HMAC-SHA256.
func parseSignatureHeaders(timestamp, signature string) (time.Time, []byte, error) {
	if timestamp == "" || signature == "" {
		return time.Time{}, nil, errNoSignature
	}
	if len(timestamp) > 12 || strings.TrimLeft(timestamp, "0123456789") != "" {
		return time.Time{}, nil, errBadTimestamp
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return time.Time{}, nil, errBadTimestamp
	}
	hexMAC, ok := strings.CutPrefix(signature, "v0=")
	if !ok || len(hexMAC) != 2*sha256.Size {
		return time.Time{}, nil, errBadSignature
	}
	mac, err := hex.DecodeString(hexMAC)
	if err != nil {
		return time.Time{}, nil, errBadSignature
	}
	return time.Unix(secs, 0), mac, nil
}

// verifySignature checks that body was signed by Slack with secret: the
// headers' timestamp is within five minutes of now, either way, and the
// signature is the HMAC-SHA256 of "v0:timestamp:body", compared in constant
// time.
func verifySignature(secret []byte, now time.Time, h http.Header, body []byte) error {
	timestamp := h.Get("X-Slack-Request-Timestamp")
	at, got, err := parseSignatureHeaders(timestamp, h.Get("X-Slack-Signature"))
	if err != nil {
		return err
	}
	if d := now.Sub(at); d > signatureWindow || d < -signatureWindow {
		return errStale
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), got) {
		return errBadSignature
	}
	return nil
}

// Handler returns the HTTP handler of the Events API transport. One URL
// serves the three request URLs of the app (events, slash commands and
// interactivity): it checks the signature, answers url_verification,
// delivers the event, and answers 200 only once the inbox took it. A bad
// signature gets 401, a malformed request 400, a failed delivery 500 (Slack
// retries events).
func (a *Adapter) Handler() http.Handler {
	return http.HandlerFunc(a.serve)
}

func (a *Adapter) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := verifySignature([]byte(a.cfg.SigningSecret), a.now(), r.Header, body); err != nil {
		a.log.Warn("slack: request refused", "reason", err, "remote", r.RemoteAddr)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	kind, payload, err := decodeRequest(r.Header.Get("Content-Type"), body)
	switch {
	case err != nil:
		a.log.Warn("slack: malformed request", "err", err)
		http.Error(w, "malformed request", http.StatusBadRequest)
		return
	case kind == "url_verification":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, string(payload))
		return
	case kind == "":
		w.WriteHeader(http.StatusOK) // ssl_check and other pings
		return
	}
	if err := a.handle(r.Context(), kind, payload); err != nil {
		if errors.Is(err, errMalformed) {
			a.log.Warn("slack: malformed request", "kind", kind, "err", err)
			http.Error(w, "malformed request", http.StatusBadRequest)
			return
		}
		a.log.Error("slack: request not taken, Slack will retry", "kind", kind, "err", err)
		http.Error(w, "not taken, retry", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// decodeRequest tells what an HTTP request of Slack is: an Events API
// callback (JSON), an interaction (a form with a JSON payload) or a slash
// command (a form), and returns its JSON payload. A url_verification
// request returns its challenge as payload.
func decodeRequest(contentType string, body []byte) (kind string, payload []byte, err error) {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	switch mediaType {
	case "application/json":
		var probe struct {
			Type      string `json:"type"`
			Challenge string `json:"challenge"`
		}
		if err := json.Unmarshal(body, &probe); err != nil {
			return "", nil, fmt.Errorf("slack: event: %w: %v", errMalformed, err)
		}
		if probe.Type == "url_verification" {
			return "url_verification", []byte(probe.Challenge), nil
		}
		return kindEvents, body, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", nil, fmt.Errorf("slack: form: %w: %v", errMalformed, err)
		}
		if p := form.Get("payload"); p != "" {
			return kindInteractive, []byte(p), nil
		}
		if form.Get("ssl_check") == "1" {
			return "", nil, nil
		}
		if form.Get("command") == "" {
			return "", nil, fmt.Errorf("slack: form: %w: neither payload nor command", errMalformed)
		}
		cmd := slashCommand{
			TeamID: form.Get("team_id"), ChannelID: form.Get("channel_id"), ChannelName: form.Get("channel_name"),
			UserID: form.Get("user_id"), UserName: form.Get("user_name"), Command: form.Get("command"),
			Text: form.Get("text"), TriggerID: form.Get("trigger_id"),
		}
		payload, err := json.Marshal(cmd)
		if err != nil {
			return "", nil, fmt.Errorf("slack: slash command: %w", err)
		}
		return kindSlash, payload, nil
	}
	return "", nil, fmt.Errorf("slack: content type %q: %w", contentType, errMalformed)
}

// serveHTTP serves Handler on cfg.Listen until ctx is done, then shuts the
// server down, letting requests in flight finish.
func (a *Adapter) serveHTTP(ctx context.Context) error {
	srv := &http.Server{
		Addr:              a.cfg.Listen,
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("slack: listen on %s (%s): %w", a.cfg.Listen, EnvListen, err)
	}
	a.log.Info("slack: serving the Events API", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("slack: serve %s: %w", a.cfg.Listen, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("slack: shut down the Events API server: %w", err)
	}
	<-errc
	return nil
}
