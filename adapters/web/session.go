package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"entraide/core"
)

// A session lives in a cookie, signed, not stored: the person, the
// community, when it ends, and a random nonce the CSRF token is bound to.
// The role is checked again through core on every request, so a role taken
// away ends access at once even while the cookie lives.

// session is what the cookie says.
type session struct {
	Person    core.PersonID
	Community core.CommunityID
	Expires   time.Time
	Nonce     string // base64url of 16 random bytes
}

// errSession is any cookie that cannot be trusted: missing, malformed,
// forged or expired. Its causes are not told apart to the visitor.
var errSession = errors.New("web: no valid session")

// sessionKeys are the keys derived from Config.SessionKey, one per use, so
// that a cookie's signature never serves as a CSRF token.
type sessionKeys struct {
	cookie, csrf []byte
}

func deriveKeys(key []byte) sessionKeys {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("entraide/web " + label))
		return m.Sum(nil)
	}
	return sessionKeys{cookie: derive("session cookie"), csrf: derive("csrf token")}
}

func sign(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// newSession starts a session for a person in a community.
func newSession(person core.PersonID, community core.CommunityID, expires time.Time) (session, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return session{}, fmt.Errorf("web: session nonce: %w", err)
	}
	return session{Person: person, Community: community, Expires: expires, Nonce: base64.RawURLEncoding.EncodeToString(b[:])}, nil
}

// payload writes the session as signed: "v1|person|community|expiry|nonce".
func (s session) payload() string {
	return strings.Join([]string{"v1", strconv.FormatInt(int64(s.Person), 10), strconv.FormatInt(int64(s.Community), 10),
		strconv.FormatInt(s.Expires.Unix(), 10), s.Nonce}, "|")
}

// encode returns the cookie's value: the payload and its HMAC-SHA256, both
// in base64url, joined by a dot.
func (k sessionKeys) encode(s session) string {
	p := s.payload()
	return base64.RawURLEncoding.EncodeToString([]byte(p)) + "." + base64.RawURLEncoding.EncodeToString(sign(k.cookie, p))
}

// decode checks a cookie's value and returns its session if the signature
// holds (compared in constant time) and the session has not ended at now.
func (k sessionKeys) decode(value string, now time.Time) (session, error) {
	if len(value) > 512 {
		return session{}, errSession
	}
	p64, mac64, ok := strings.Cut(value, ".")
	if !ok {
		return session{}, errSession
	}
	p, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(mac64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, sign(k.cookie, string(p))) {
		return session{}, errSession
	}
	f := strings.Split(string(p), "|")
	if len(f) != 5 || f[0] != "v1" {
		return session{}, errSession
	}
	person, err1 := strconv.ParseInt(f[1], 10, 64)
	community, err2 := strconv.ParseInt(f[2], 10, 64)
	expires, err3 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || person <= 0 || community <= 0 || f[4] == "" {
		return session{}, errSession
	}
	s := session{Person: core.PersonID(person), Community: core.CommunityID(community), Expires: time.Unix(expires, 0), Nonce: f[4]}
	if !now.Before(s.Expires) {
		return session{}, errSession
	}
	return s, nil
}

// csrfToken returns the token forms carry: bound to the session, so a
// token from another session, or from before a new login, fails.
func (k sessionKeys) csrfToken(s session) string {
	return base64.RawURLEncoding.EncodeToString(sign(k.csrf, s.payload()))
}

// checkCSRF reports whether token is the session's, in constant time.
func (k sessionKeys) checkCSRF(s session, token string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && hmac.Equal(got, sign(k.csrf, s.payload()))
}

// cookieName is the session cookie's name; behind https it takes the
// __Host- prefix, which browsers only accept Secure, host-only, on path /.
func (h *handler) cookieName() string {
	if h.cfg.Secure {
		return "__Host-entraide-session"
	}
	return "entraide-session"
}

// setSession sends the session's cookie.
func (h *handler) setSession(w http.ResponseWriter, s session) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(), Value: h.keys.encode(s), Path: "/",
		MaxAge:   int(h.cfg.SessionLifetime.Seconds()),
		HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode,
	})
}

// clearSession tells the browser to forget the cookie.
func (h *handler) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
}

// session returns the request's session, or errSession.
func (h *handler) session(r *http.Request) (session, error) {
	c, err := r.Cookie(h.cookieName())
	if err != nil {
		return session{}, errSession
	}
	return h.keys.decode(c.Value, h.net.Clock().Now())
}
