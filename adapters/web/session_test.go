package web

import (
	"testing"
	"time"
)

// FuzzSessionDecode feeds cookies to the decoder: it never panics, and
// what it accepts is a session signed with the key.
func FuzzSessionDecode(f *testing.F) {
	keys := deriveKeys([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Date(2026, 10, 29, 11, 0, 0, 0, time.UTC)
	s, err := newSession(3, 1, now.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(keys.encode(s))
	f.Add("")
	f.Add(".")
	f.Add("djF8M3wxfDk5OTk5OTk5OTl8eA.AAAA")
	f.Fuzz(func(t *testing.T, value string) {
		got, err := keys.decode(value, now)
		if err != nil {
			return
		}
		if again, err := keys.decode(keys.encode(got), now); err != nil || again != got {
			t.Fatalf("accepted %q as %+v, which does not round-trip: %+v %v", value, got, again, err)
		}
		if !keys.checkCSRF(got, keys.csrfToken(got)) {
			t.Fatalf("session %+v rejects its own CSRF token", got)
		}
	})
}

// TestSessionKeysApart keeps cookie signatures and CSRF tokens apart, and
// sessions signed with another key out.
func TestSessionKeysApart(t *testing.T) {
	keys := deriveKeys([]byte("0123456789abcdef0123456789abcdef"))
	other := deriveKeys([]byte("fedcba9876543210fedcba9876543210"))
	now := time.Now()
	s, err := newSession(3, 1, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.decode(other.encode(s), now); err == nil {
		t.Error("a cookie signed with another key is accepted")
	}
	if keys.checkCSRF(s, other.csrfToken(s)) {
		t.Error("a CSRF token made with another key is accepted")
	}
	if _, err := keys.decode(keys.encode(s), now.Add(time.Hour)); err == nil {
		t.Error("a session is accepted at its end")
	}
	t2, _ := newSession(3, 1, s.Expires)
	if keys.csrfToken(s) == keys.csrfToken(t2) {
		t.Error("two sessions of the same person share a CSRF token")
	}
}
