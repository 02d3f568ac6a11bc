package feeds

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFetch(t *testing.T) {
	const etag = `"v42"`
	const modified = "Mon, 09 Mar 2026 17:45:12 GMT"
	var gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA = r.Header.Get("User-Agent")
		switch r.URL.Path {
		case "/feed":
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", etag)
			w.Header().Set("Last-Modified", modified)
			w.Write([]byte("<rss/>"))
		case "/big":
			w.Write([]byte(strings.Repeat("x", 2048)))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := &Fetcher{AllowPrivate: true}
	ctx := context.Background()

	body, next, notModified, err := f.Fetch(ctx, srv.URL+"/feed", Validators{})
	if err != nil || notModified || string(body) != "<rss/>" {
		t.Fatalf("first fetch: %q, %v, %v", body, notModified, err)
	}
	if next != (Validators{ETag: etag, LastModified: modified}) {
		t.Errorf("validators %+v", next)
	}
	if !strings.HasPrefix(gotUA, "entraide/1 (+https://") {
		t.Errorf("User-Agent %q", gotUA)
	}
	stored, err := ParseValidators(next.String())
	if err != nil || stored != next {
		t.Errorf("validators stored as %q read back as %+v, %v", next.String(), stored, err)
	}

	body, again, notModified, err := f.Fetch(ctx, srv.URL+"/feed", stored)
	if err != nil || !notModified || body != nil || again != stored {
		t.Errorf("second fetch: %q, %+v, %v, %v; want not modified", body, again, notModified, err)
	}

	if _, _, _, err := f.Fetch(ctx, srv.URL+"/missing", Validators{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing: %v, want an error saying 404", err)
	}
	small := &Fetcher{AllowPrivate: true, MaxSize: 1024}
	if _, _, _, err := small.Fetch(ctx, srv.URL+"/big", Validators{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big: %v, want ErrTooLarge", err)
	}
	quick := &Fetcher{AllowPrivate: true, Timeout: 50 * time.Millisecond}
	if _, _, _, err := quick.Fetch(ctx, srv.URL+"/slow", Validators{}); err == nil {
		t.Error("slow: no error")
	}
	for _, bad := range []string{"file:///etc/passwd", "ftp://example.org/feed", "javascript:alert(1)", "", "https://"} {
		if _, _, _, err := f.Fetch(ctx, bad, Validators{}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// The zero Fetcher does not connect to the bot's own network.
	if _, _, _, err := new(Fetcher).Fetch(ctx, srv.URL+"/feed", Validators{}); err == nil || !strings.Contains(err.Error(), "not a public address") {
		t.Errorf("loopback with the zero Fetcher: %v, want a refusal", err)
	}
}

func TestValidators(t *testing.T) {
	for _, v := range []Validators{{}, {ETag: `W/"a&b=c"`}, {LastModified: "Tue, 03 Mar 2026 08:30:00 GMT"}, {ETag: `"x"`, LastModified: "y"}} {
		text, _ := v.MarshalText()
		var back Validators
		if err := back.UnmarshalText(text); err != nil || back != v {
			t.Errorf("%+v -> %q -> %+v, %v", v, text, back, err)
		}
	}
	if _, err := ParseValidators("%zz"); err == nil {
		t.Error("no error for a bad encoding")
	}
}
