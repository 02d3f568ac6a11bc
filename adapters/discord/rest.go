package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"entraide/bots"
)

// The REST API's error codes the adapter acts on.
const (
	codeUnknownMessage    = 10008
	codeMissingAccess     = 50001
	codeWrongChannelType  = 50024
	codeThreadExists      = 160004
	maxRESTRetries        = 2               // retries of one request after a 429
	maxInlineRetryWait    = 5 * time.Second // longer waits go back to the caller
	restTimeout           = 15 * time.Second
	globalRequestsPerSec  = 50
	interactionRouteLabel = "interaction"
)

// apiError is an answer of the REST API other than a success.
type apiError struct {
	Method, Route string
	Status        int
	Code          int
	Message       string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d, code %d: %s", e.Method, e.Route, e.Status, e.Code, e.Message)
}

// undeliverable reports whether no retry can help: access refused, the
// channel, user or message gone, or a file larger than Discord takes.
func (e *apiError) undeliverable() bool {
	return e.Status == http.StatusForbidden || e.Status == http.StatusNotFound || e.Status == http.StatusRequestEntityTooLarge
}

// rest calls Discord's REST API: JSON (or a multipart form, for files) in
// and JSON out, the bot token, a global budget of requests per second, and
// bounded retries of 429 answers.
type rest struct {
	base   string
	token  string
	client *http.Client
	bucket *bucket
	// retries is how many times a rate-limited request is tried again
	// before the limit goes back to the caller as a *bots.RetryAfterError.
	retries int
}

// do sends a request with body encoded as JSON (none when nil), or as a
// multipart form when body is a formBody, and decodes the answer into out
// (ignored when nil). route names the request in errors without ids of
// secrets (interaction tokens stay out of logs). The body is encoded once:
// a retry sends the same bytes.
func (r *rest) do(ctx context.Context, method, path, route string, body, out any) error {
	var payload []byte
	contentType := "application/json"
	var err error
	switch b := body.(type) {
	case nil:
	case formBody:
		payload, contentType, err = b.encode()
	default:
		payload, err = json.Marshal(body)
	}
	if err != nil {
		return fmt.Errorf("%s %s: encode: %w", method, route, err)
	}
	for attempt := 0; ; attempt++ {
		// Interaction responses do not count against the global limit, and
		// must not wait behind it: they have 3 seconds.
		if route != interactionRouteLabel {
			if err := r.bucket.wait(ctx); err != nil {
				return fmt.Errorf("%s %s: %w", method, route, err)
			}
		}
		limited, err := r.once(ctx, method, path, route, payload, contentType, out)
		if limited == nil {
			return err
		}
		if attempt >= r.retries || limited.After > maxInlineRetryWait {
			return limited
		}
		if !r.bucket.clock.sleep(ctx, limited.After) {
			return fmt.Errorf("%s %s: %w", method, route, ctx.Err())
		}
	}
}

// once sends one request. A 429 is returned as limited, other failures as
// err.
func (r *rest) once(ctx context.Context, method, path, route string, payload []byte, contentType string, out any) (limited *bots.RetryAfterError, err error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, route, err)
	}
	req.Header.Set("Authorization", "Bot "+r.token)
	req.Header.Set("User-Agent", "DiscordBot (https://entraide.example, 1)")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		// The URL may hold an interaction token: keep it out of errors.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", method, route, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read: %w", method, route, err)
	}
	var e struct {
		Message    string  `json:"message"`
		Code       int     `json:"code"`
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		_ = json.Unmarshal(raw, &e)
		after := retryAfter(e.RetryAfter, resp.Header)
		global := e.Global || resp.Header.Get("X-RateLimit-Global") == "true"
		if global {
			r.bucket.pause(after)
		}
		return &bots.RetryAfterError{After: after, Err: &apiError{Method: method, Route: route, Status: resp.StatusCode, Code: e.Code, Message: e.Message}}, nil
	case resp.StatusCode >= 300:
		_ = json.Unmarshal(raw, &e)
		ae := &apiError{Method: method, Route: route, Status: resp.StatusCode, Code: e.Code, Message: e.Message}
		if ae.undeliverable() {
			return nil, fmt.Errorf("%w: %w", ae, bots.ErrUndeliverable)
		}
		return nil, ae
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode: %w", method, route, err)
		}
	}
	return nil, nil
}

// retryAfter reads how long to wait from the body's retry_after (seconds,
// fractional) or the Retry-After header, at least a millisecond.
func retryAfter(body float64, h http.Header) time.Duration {
	secs := body
	if secs <= 0 {
		secs, _ = strconv.ParseFloat(h.Get("Retry-After"), 64)
	}
	if secs <= 0 || math.IsNaN(secs) || math.IsInf(secs, 0) {
		return time.Second
	}
	return max(time.Duration(secs*float64(time.Second)), time.Millisecond)
}

// apiErrorOf returns the API error err wraps, or nil.
func apiErrorOf(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

// clock is the time source of the bucket and of retry waits, injectable
// for tests.
type clock struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) bool
}

// systemClock is the real time.
func systemClock() clock { return clock{now: time.Now, sleep: sleep} }

// sleep waits for d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// bucket is a token bucket: rate requests per second, bursts of rate, and
// a pause after a global 429.
type bucket struct {
	clock  clock
	rate   float64
	mu     sync.Mutex
	tokens float64
	last   time.Time
	until  time.Time // no request before this (global rate limit)
}

func newBucket(c clock, rate int) *bucket {
	return &bucket{clock: c, rate: float64(rate), tokens: float64(rate), last: c.now()}
}

// wait takes a token, waiting for one when the bucket is empty.
func (b *bucket) wait(ctx context.Context) error {
	for {
		d := b.take()
		if d <= 0 {
			return nil
		}
		if !b.clock.sleep(ctx, d) {
			return ctx.Err()
		}
	}
}

// take takes a token and returns 0, or returns how long to wait for one.
func (b *bucket) take() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.now()
	if now.Before(b.until) {
		return b.until.Sub(now)
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(b.rate, b.tokens+elapsed*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// pause stops all requests for d.
func (b *bucket) pause(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := b.clock.now().Add(d); until.After(b.until) {
		b.until = until
	}
}
