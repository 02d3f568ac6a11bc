package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// DefaultUserAgent is the User-Agent of a Fetcher that sets none.
const DefaultUserAgent = "entraide/1 (+https://github.com/entraide/entraide)"

// DefaultTimeout is how long a Fetcher without Timeout waits for a whole
// response.
const DefaultTimeout = 30 * time.Second

// ErrTooLarge is the error of a fetch whose body exceeds the limit.
var ErrTooLarge = errors.New("feeds: document too large")

// Validators are what a server said about the version of a document it
// sent, to ask next time for the document only if it changed (conditional
// GET). The zero value asks unconditionally.
type Validators struct {
	ETag         string
	LastModified string
}

// String encodes v for storage; ParseValidators reads it back.
func (v Validators) String() string {
	q := url.Values{}
	if v.ETag != "" {
		q.Set("etag", v.ETag)
	}
	if v.LastModified != "" {
		q.Set("modified", v.LastModified)
	}
	return q.Encode()
}

// ParseValidators reads what Validators.String wrote; "" is the zero value.
func ParseValidators(s string) (Validators, error) {
	q, err := url.ParseQuery(s)
	if err != nil {
		return Validators{}, fmt.Errorf("feeds: parse validators %q: %w", truncate(s, 80), err)
	}
	return Validators{ETag: q.Get("etag"), LastModified: q.Get("modified")}, nil
}

// MarshalText encodes v as String does.
func (v Validators) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText decodes what MarshalText wrote.
func (v *Validators) UnmarshalText(b []byte) error {
	parsed, err := ParseValidators(string(b))
	if err != nil {
		return err
	}
	*v = parsed
	return nil
}

// Fetcher gets feeds and calendars over HTTP for a poller. The zero value
// is ready to use: it sends DefaultUserAgent, gives up after
// DefaultTimeout, reads at most MaxDocumentSize bytes, and refuses to
// connect to loopback, private and link-local addresses, so that a feed
// address given in chat cannot reach the bot's own network.
type Fetcher struct {
	// Client sends the requests; nil uses a client of the Fetcher's own
	// that checks the addresses it connects to. A Client given here is
	// used as it is, and AllowPrivate does not apply.
	Client *http.Client
	// UserAgent is sent with each request; "" sends DefaultUserAgent.
	UserAgent string
	// Timeout bounds one fetch, body included; 0 is DefaultTimeout.
	Timeout time.Duration
	// MaxSize is the largest body read, in bytes; 0 is MaxDocumentSize.
	MaxSize int64
	// AllowPrivate lets the Fetcher's own client connect to loopback,
	// private and link-local addresses: for tests, intranet feeds, and a
	// proxy (HTTPS_PROXY) on a private address.
	AllowPrivate bool
}

// Fetch gets the document at rawURL, an http or https address. With the
// validators of the previous fetch, it asks for the document only if it
// changed: when the server says it did not (304), Fetch returns
// notModified and prev as next. Otherwise it returns the body and the
// validators to give next time. A status other than 2xx or 304, a body over
// the limit and a timeout are errors.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, prev Validators) (body []byte, next Validators, notModified bool, err error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, prev, false, fmt.Errorf("feeds: fetch %q: not an http or https address", truncate(rawURL, 200))
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, prev, false, fmt.Errorf("feeds: fetch %s: %w", u.Redacted(), err)
	}
	ua := f.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "application/atom+xml, application/rss+xml, application/feed+json, text/calendar, application/xml;q=0.9, application/json;q=0.9, text/xml;q=0.8, */*;q=0.5")
	if prev.ETag != "" {
		req.Header.Set("If-None-Match", prev.ETag)
	}
	if prev.LastModified != "" {
		req.Header.Set("If-Modified-Since", prev.LastModified)
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return nil, prev, false, fmt.Errorf("feeds: fetch %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return nil, prev, true, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, prev, false, fmt.Errorf("feeds: fetch %s: server answered %s", u.Redacted(), resp.Status)
	}
	max := f.MaxSize
	if max <= 0 {
		max = MaxDocumentSize
	}
	if resp.ContentLength > max {
		return nil, prev, false, fmt.Errorf("feeds: fetch %s: %w: %d bytes, at most %d", u.Redacted(), ErrTooLarge, resp.ContentLength, max)
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, prev, false, fmt.Errorf("feeds: fetch %s: read body: %w", u.Redacted(), err)
	}
	if int64(len(body)) > max {
		return nil, prev, false, fmt.Errorf("feeds: fetch %s: %w: more than %d bytes", u.Redacted(), ErrTooLarge, max)
	}
	next = Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	return body, next, false, nil
}

func (f *Fetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !f.AllowPrivate {
		dialer.Control = refusePrivate
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 20 * time.Second,
			// Feeds are polled minutes apart: no connection is kept
			// for the next fetch, and none outlives this one.
			DisableKeepAlives: true,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to %q, not an http or https address", req.URL.Scheme+":")
			}
			return nil
		},
	}
}

// refusePrivate refuses connections to addresses outside the public
// internet. It runs on the address actually dialled, after name
// resolution, so a name that resolves to a private address is refused too.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return fmt.Errorf("connection to %s refused: not a public address", host)
	}
	return nil
}
