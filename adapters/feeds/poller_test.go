package feeds_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"entraide/adapters/feeds"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/core"
)

// publisher serves the testdata files with an ETag, like a real publisher,
// and counts full responses.
type publisher struct {
	mu   sync.Mutex
	full map[string]int
	body map[string][]byte
}

func newPublisher(t *testing.T) (*publisher, *httptest.Server) {
	p := &publisher{full: map[string]int{}, body: map[string][]byte{}}
	for _, name := range []string{"offres.rss", "offres.atom", "offres.json", "agenda.ics"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		p.body["/"+name] = b
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		b, ok := p.body[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		etag := `"` + time.Unix(int64(len(b)), 0).Format("150405") + `"`
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		p.full[r.URL.Path]++
		w.Header().Set("ETag", etag)
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return p, srv
}

// TestPollerImportsOnceAcrossRestarts imports every kind of feed, then
// again from a new poller on the same database (a restart): nothing is
// imported twice, unchanged documents are not even downloaded again, the
// malformed entries are reported and the others kept. On both backends.
func TestPollerImportsOnceAcrossRestarts(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			store := open(t)
			pub, srv := newPublisher(t)
			clock := core.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
			sources := []feeds.Source{
				{URL: srv.URL + "/offres.rss", Kind: core.KindOffer},
				{URL: srv.URL + "/offres.atom", Kind: core.KindOffer},
				{URL: srv.URL + "/offres.json", Kind: core.KindOffer},
				{URL: srv.URL + "/agenda.ics", Kind: core.KindEvent},
			}
			newPoller := func() *feeds.Poller {
				net, err := core.NewNetwork(store, nil, clock, core.DefaultConfig())
				if err != nil {
					t.Fatal(err)
				}
				return &feeds.Poller{Net: net, Fetcher: &feeds.Fetcher{AllowPrivate: true}, Sources: sources}
			}
			first := newPoller()
			created, problems := 0, 0
			for _, s := range sources {
				rep, err := first.Poll(ctx, s)
				if err != nil {
					t.Fatalf("%s: %v", s.URL, err)
				}
				if rep.Created == 0 || rep.Updated+rep.Unchanged != 0 {
					t.Errorf("%s: first poll %+v", s.URL, rep)
				}
				created += rep.Created
				problems += len(rep.Problems)
			}
			if problems < 3 {
				t.Errorf("%d problems reported, want the malformed entries of each test file", problems)
			}
			offers, err := store.OpenOffers(ctx, 0, clock.Now(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			events, err := store.EventsBetween(ctx, 0, clock.Now().AddDate(-1, 0, 0), clock.Now().AddDate(1, 0, 0), 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(offers)+len(events) != created {
				t.Fatalf("%d created, %d offers and %d events stored", created, len(offers), len(events))
			}
			for _, o := range offers {
				if tag.MatchString(o.Description) || strings.Contains(o.Description, "alert(") {
					t.Errorf("offer %q keeps markup or script: %q", o.Title, o.Description)
				}
			}

			// A restart: the same documents, a new poller.
			second := newPoller()
			for _, s := range sources {
				rep, err := second.Poll(ctx, s)
				if err != nil {
					t.Fatal(err)
				}
				if !rep.NotModified || rep.Created != 0 {
					t.Errorf("%s: second poll %+v, want not modified", s.URL, rep)
				}
			}
			for path, n := range pub.full {
				if n != 1 {
					t.Errorf("%s downloaded %d times", path, n)
				}
			}
			// The publisher changes a title and its ETag: one update, no
			// new offer, no second announcement.
			pub.mu.Lock()
			pub.body["/offres.rss"] = []byte(strings.Replace(string(pub.body["/offres.rss"]),
				"Gestionnaire paie &amp; carrières (H/F)", "Gestionnaire paie et carrières (H/F)", 1) + " ")
			pub.mu.Unlock()
			clock.Advance(time.Hour)
			rep, err := second.Poll(ctx, sources[0])
			if err != nil {
				t.Fatal(err)
			}
			if rep.Created != 0 || rep.Updated != 1 || rep.Unchanged == 0 {
				t.Fatalf("after an edit: %+v", rep)
			}
			if again, _ := store.OpenOffers(ctx, 0, clock.Now(), 1000); len(again) != len(offers) {
				t.Fatalf("%d offers after the edit, want %d", len(again), len(offers))
			}
		})
	}
}

// tag finds what a browser would read as the start of a tag.
var tag = regexp.MustCompile(`<[a-zA-Z/!?]`)

// TestPollerRun polls when due and stops with its context.
func TestPollerRun(t *testing.T) {
	store := sqlstoretest.SQLite(t)
	_, srv := newPublisher(t)
	net, err := core.NewNetwork(store, nil, core.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)), core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	p := &feeds.Poller{Net: net, Fetcher: &feeds.Fetcher{AllowPrivate: true},
		Sources: []feeds.Source{{URL: srv.URL + "/offres.json", Kind: core.KindOffer}, {URL: srv.URL + "/missing.rss", Kind: core.KindOffer}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		offers, err := store.OpenOffers(context.Background(), 0, net.Clock().Now(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(offers) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing imported")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestParseSources(t *testing.T) {
	s, err := feeds.ParseSources("https://a.example/rss, justice=https://b.example/atom?x=1\nhttp://c.example/x", core.KindOffer)
	if err != nil || len(s) != 3 || s[2].URL != "http://c.example/x" || s[1].Community != "justice" ||
		s[1].URL != "https://b.example/atom?x=1" || s[0].Community != "" {
		t.Fatalf("sources = %+v, %v", s, err)
	}
	for _, bad := range []string{"ftp://a.example/x", "Justice=https://a.example/x", "=https://a.example/x", "justice=", "a b=https://x.example/"} {
		if _, err := feeds.ParseSources(bad, core.KindOffer); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestPollerImportsIntoCommunity: a source named after a community brings
// its items there, creating the community on first poll.
func TestPollerImportsIntoCommunity(t *testing.T) {
	ctx := context.Background()
	store := sqlstoretest.SQLite(t)
	_, srv := newPublisher(t)
	clock := core.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	net, err := core.NewNetwork(store, nil, clock, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	sources, err := feeds.ParseSources("justice="+srv.URL+"/offres.json", core.KindOffer)
	if err != nil {
		t.Fatal(err)
	}
	p := &feeds.Poller{Net: net, Fetcher: &feeds.Fetcher{AllowPrivate: true}, Sources: sources}
	if _, err := p.Poll(ctx, sources[0]); err != nil {
		t.Fatal(err)
	}
	justice, err := store.CommunityByName(ctx, "justice")
	if err != nil {
		t.Fatal(err)
	}
	def, err := store.CommunityByName(ctx, core.DefaultCommunity)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := store.OpenOffers(ctx, justice.ID, clock.Now(), 100)
	out, _ := store.OpenOffers(ctx, def.ID, clock.Now(), 100)
	if len(in) == 0 || len(out) != 0 {
		t.Fatalf("%d offers in justice, %d in the default community", len(in), len(out))
	}
}
