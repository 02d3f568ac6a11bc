package slack

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"entraide/adapters/slack/slacktest"
)

func TestVerifySignature(t *testing.T) {
	body := payload(t, "app_mention", nil)
	good := slacktest.Sign(testSecret, testNow, body)
	for _, c := range []struct {
		name   string
		header http.Header
		body   []byte
		want   error
	}{
		{name: "valid", header: good, body: body},
		{name: "valid, clock 4m59s ahead of Slack", header: slacktest.Sign(testSecret, testNow.Add(-5*time.Minute+time.Second), body), body: body},
		{name: "valid, clock 4m59s behind Slack", header: slacktest.Sign(testSecret, testNow.Add(5*time.Minute-time.Second), body), body: body},
		{name: "bad signature", header: slacktest.Sign("another-secret", testNow, body), body: body, want: errBadSignature},
		{name: "stale timestamp", header: slacktest.Sign(testSecret, testNow.Add(-6*time.Minute), body), body: body, want: errStale},
		{name: "future timestamp", header: slacktest.Sign(testSecret, testNow.Add(6*time.Minute), body), body: body, want: errStale},
		{name: "body tampered", header: good, body: append([]byte(strings.Replace(string(body), "U2", "U9", 1)), ' '), want: errBadSignature},
		{name: "missing headers", header: http.Header{}, body: body, want: errNoSignature},
		{name: "missing signature", header: http.Header{"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]}, body: body, want: errNoSignature},
		{name: "missing timestamp", header: http.Header{"X-Slack-Signature": good["X-Slack-Signature"]}, body: body, want: errNoSignature},
		{name: "timestamp replaced", header: http.Header{"X-Slack-Signature": good["X-Slack-Signature"], "X-Slack-Request-Timestamp": {"1793610001"}}, body: body, want: errBadSignature},
		{name: "timestamp not a number", header: http.Header{"X-Slack-Signature": good["X-Slack-Signature"], "X-Slack-Request-Timestamp": {"-12"}}, body: body, want: errBadTimestamp},
		{name: "other version", header: http.Header{"X-Slack-Signature": {"v1=" + strings.TrimPrefix(good.Get("X-Slack-Signature"), "v0=")}, "X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]}, body: body, want: errBadSignature},
		{name: "signature not hex", header: http.Header{"X-Slack-Signature": {"v0=" + strings.Repeat("zz", 32)}, "X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]}, body: body, want: errBadSignature},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := verifySignature([]byte(testSecret), testNow, c.header, c.body)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("verifySignature = %v, want %v", err, c.want)
			}
		})
	}
}

// TestHandlerRejects checks that refused requests get the right status and
// that nothing reaches the inbox, and that no secret appears in the reply.
func TestHandlerRejects(t *testing.T) {
	f := slacktest.New(t)
	inbox := &recordingInbox{}
	a := newTestAdapter(t, f, inbox, false)
	body := payload(t, "app_mention", nil)
	for _, c := range []struct {
		name   string
		method string
		header http.Header
		body   string
		ct     string
		want   int
	}{
		{name: "bad signature", header: slacktest.Sign("wrong", testNow, body), body: string(body), ct: "application/json", want: 401},
		{name: "old timestamp", header: slacktest.Sign(testSecret, testNow.Add(-10*time.Minute), body), body: string(body), ct: "application/json", want: 401},
		{name: "future timestamp", header: slacktest.Sign(testSecret, testNow.Add(10*time.Minute), body), body: string(body), ct: "application/json", want: 401},
		{name: "unsigned", header: http.Header{}, body: string(body), ct: "application/json", want: 401},
		{name: "malformed JSON", header: slacktest.Sign(testSecret, testNow, []byte(`{"type":"event_callback",`)), body: `{"type":"event_callback",`, ct: "application/json", want: 400},
		{name: "event without id", header: slacktest.Sign(testSecret, testNow, []byte(`{"type":"event_callback","event":{"type":"app_mention","user":"U1","channel":"C1","text":"x"}}`)), body: `{"type":"event_callback","event":{"type":"app_mention","user":"U1","channel":"C1","text":"x"}}`, ct: "application/json", want: 400},
		{name: "malformed interaction", header: slacktest.Sign(testSecret, testNow, []byte("payload=%7Bnope")), body: "payload=%7Bnope", ct: "application/x-www-form-urlencoded", want: 400},
		{name: "form without command", header: slacktest.Sign(testSecret, testNow, []byte("user_id=U1")), body: "user_id=U1", ct: "application/x-www-form-urlencoded", want: 400},
		{name: "other content type", header: slacktest.Sign(testSecret, testNow, []byte("x")), body: "x", ct: "text/plain", want: 400},
		{name: "GET", method: http.MethodGet, header: http.Header{}, want: 405},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "/slack/events", strings.NewReader(c.body))
			if c.method == "" {
				req.Method = http.MethodPost
			}
			req.Header = c.header
			req.Header.Set("Content-Type", c.ct)
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d (%s)", rec.Code, c.want, rec.Body)
			}
			if strings.Contains(rec.Body.String(), testSecret) || strings.Contains(rec.Body.String(), testBotToken) {
				t.Fatalf("reply leaks a secret: %s", rec.Body)
			}
		})
	}
	if got := inbox.delivered(); len(got) != 0 {
		t.Fatalf("refused requests reached the inbox: %+v", got)
	}
}

func FuzzParseSignatureHeaders(f *testing.F) {
	for _, s := range [][2]string{
		{"1531420618", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"},
		{"", ""}, {"-1", "v0="}, {"99999999999999999999", "v0=zz"}, {"1e9", "v1=00"}, {"０１", "v0=" + strings.Repeat("A", 64)},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, ts, sig string) {
		at, mac, err := parseSignatureHeaders(ts, sig)
		if err != nil {
			return
		}
		if len(mac) != 32 || at.Unix() < 0 || !strings.HasPrefix(sig, "v0=") {
			t.Fatalf("parseSignatureHeaders(%q, %q) = %v, %x", ts, sig, at, mac)
		}
		// Whatever the headers, a body signed with another secret fails.
		h := http.Header{"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {sig}}
		if verifySignature([]byte("secret"), at, h, []byte("body")) == nil && verifySignature([]byte("other"), at, h, []byte("body")) == nil {
			t.Fatal("one signature verified under two secrets")
		}
	})
}
