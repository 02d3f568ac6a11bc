package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"entraide/adapters/feeds"
	"entraide/adapters/sqlstore"
	"entraide/adapters/web"
	"entraide/core"
)

// webHandler serves what entraide publishes over HTTP: the calendar of
// events to subscribe to, one event as a .ics file to add to a diary, the
// animators' page, and a health check.
func webHandler(net *core.Network, cfg config, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	animators, err := animatorsPage(net, cfg, log)
	if err != nil {
		log.Error("the animators' page is off", "err", err)
	} else {
		for _, path := range web.Patterns() {
			mux.Handle(path, animators)
		}
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /calendar.ics", func(w http.ResponseWriter, r *http.Request) {
		now := net.Clock().Now()
		events, err := net.Calendar(r.Context(), now.AddDate(0, -3, 0), now.AddDate(1, 0, 0))
		if err != nil {
			log.Error("calendar", "err", err)
			http.Error(w, "the calendar is unavailable, try again later", http.StatusServiceUnavailable)
			return
		}
		serveICS(w, r, "entraide.ics", func(b *bytes.Buffer) error {
			return feeds.WriteCalendar(b, "entraide", events, eventUID)
		})
	})
	mux.HandleFunc("GET /events/{file}", func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
		id, err := strconv.ParseInt(name, 10, 64)
		if !ok || err != nil || id <= 0 {
			http.Error(w, "no such event: want /events/<number>.ics", http.StatusNotFound)
			return
		}
		e, err := net.Store().Event(r.Context(), core.EventID(id))
		if errors.Is(err, core.ErrNotFound) {
			http.Error(w, "no such event", http.StatusNotFound)
			return
		}
		if err != nil {
			log.Error("event", "id", id, "err", err)
			http.Error(w, "the event is unavailable, try again later", http.StatusServiceUnavailable)
			return
		}
		serveICS(w, r, fmt.Sprintf("evenement-%d.ics", id), func(b *bytes.Buffer) error {
			return feeds.WriteEvent(b, e, eventUID(e))
		})
	})
	return mux
}

// serverHandler is everything ENTRAIDE_HTTP_ADDR serves: webHandler's
// pages, /readyz, and /metrics when metrics are kept (a platform runs).
func serverHandler(net *core.Network, cfg config, store *sqlstore.Store, metricsHandler http.Handler, log *slog.Logger) http.Handler {
	mux := webHandler(net, cfg, log).(*http.ServeMux)
	mux.HandleFunc("GET /readyz", readyz(store))
	if metricsHandler != nil {
		mux.Handle("GET /metrics", metricsHandler)
	}
	return mux
}

// readyz answers 200 when the database answers, 503 otherwise: a load
// balancer sends no traffic to a process that cannot store what it
// receives.
func readyz(store *sqlstore.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if _, _, err := store.Backlog(ctx); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	}
}

// animatorsPage returns the animators' page, signed with the configured
// session key, or with one generated once and kept in the database (so
// that replicas share it).
func animatorsPage(net *core.Network, cfg config, log *slog.Logger) (http.Handler, error) {
	key := []byte(cfg.SessionKey)
	if len(key) == 0 {
		var err error
		if key, err = storedSessionKey(net.Store()); err != nil {
			return nil, err
		}
	}
	return web.New(net, web.Config{SessionKey: key, Secure: strings.HasPrefix(cfg.Bot.PublicURL, "https://"), Prefix: cfg.Bot.Prefix}, log)
}

// storedSessionKey returns the session key kept in the database, making it
// on first use. Two processes starting at once may both make one: the
// second write wins, which only ends the sessions opened in between.
func storedSessionKey(store core.Store) ([]byte, error) {
	ctx := context.Background()
	const name = "web/session-key"
	stored, err := store.Checkpoint(ctx, name)
	if err != nil {
		return nil, err
	}
	if key, err := hex.DecodeString(stored); err == nil && len(key) >= 32 {
		return key, nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := store.SetCheckpoint(ctx, name, hex.EncodeToString(key)); err != nil {
		return nil, err
	}
	return key, nil
}

// eventUID is the stable UID of an event in the calendars entraide serves:
// the source's UID for an imported event, so that a diary that has both
// sees one event.
func eventUID(e core.Event) string {
	if e.Source != "" {
		if uid, _, ok := strings.Cut(e.SourceID, "/"); ok && uid != "" {
			return uid + "/" + e.Start.UTC().Format("20060102T150405Z")
		}
		return e.SourceID
	}
	return fmt.Sprintf("event-%d@entraide", e.ID)
}

func serveICS(w http.ResponseWriter, r *http.Request, filename string, write func(*bytes.Buffer) error) {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		http.Error(w, "the calendar could not be written", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="`+filename+`"`)
	w.Header().Set("Cache-Control", "max-age=300")
	http.ServeContent(w, r, filename, time.Time{}, bytes.NewReader(b.Bytes()))
}

// serveWeb serves h on addr until ctx ends, then shuts down gracefully.
func serveWeb(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ENTRAIDE_HTTP_ADDR=%q: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	log.Info("serving calendars", "addr", ln.Addr().String())
	errs := make(chan error, 1)
	go func() { errs <- srv.Serve(ln) }()
	select {
	case err := <-errs:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	}
}
