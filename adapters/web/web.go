package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"entraide/core"
)

// Config tunes the animators' page.
type Config struct {
	// SessionKey signs the session cookies and the CSRF tokens (with
	// HMAC-SHA256): at least 32 random bytes, kept secret, the same on
	// every replica. Changing it ends every session.
	SessionKey []byte
	// Secure marks cookies Secure (and names them with the __Host-
	// prefix): set it when the page is served over https.
	Secure bool
	// SessionLifetime is how long a login lasts; 12 hours when zero.
	SessionLifetime time.Duration
	// Prefix is the bot's command prefix, to tell people how to ask for a
	// new link ("!web"); "!" when empty.
	Prefix string
}

// DefaultSessionLifetime is how long a login lasts unless configured.
const DefaultSessionLifetime = 12 * time.Hour

// MinSessionKeyLen is the shortest Config.SessionKey accepted, in bytes.
const MinSessionKeyLen = 32

// Validate reports settings out of range.
func (c Config) Validate() error {
	if len(c.SessionKey) < MinSessionKeyLen {
		return fmt.Errorf("web: session key of %d bytes: want at least %d random bytes", len(c.SessionKey), MinSessionKeyLen)
	}
	if c.SessionLifetime < 0 || c.SessionLifetime > MaxSessionLifetime {
		return fmt.Errorf("web: session lifetime %s: want up to 7 days", c.SessionLifetime)
	}
	if len(c.Prefix) > 8 {
		return fmt.Errorf("web: command prefix %q: want at most 8 bytes", c.Prefix)
	}
	return nil
}

// Patterns are the paths the handler serves, to mount on a mux beside
// others: for _, p := range web.Patterns() { mux.Handle(p, h) }.
func Patterns() []string { return []string{"/login", "/logout", "/animate", "/animate/"} }

//go:embed templates/*.html
var templateFiles embed.FS

// handler serves the animators' page.
type handler struct {
	net   *core.Network
	cfg   Config
	log   *slog.Logger
	keys  sessionKeys
	pages map[string]*template.Template
	mux   *http.ServeMux
	// crossOrigin refuses cross-site POSTs by their Sec-Fetch-Site or
	// Origin header, before the CSRF token is even read.
	crossOrigin *http.CrossOriginProtection
}

// New returns the handler of the animators' page over a network. It serves
//
//	GET  /login?token=…   asks to confirm a one-time link from the bot's !web
//	POST /login           spends it (token in the form), opens a session
//	GET  /animate         the dashboard: figures of the last 30 days, charts over 12 weeks
//	GET  /animate/digest  the editor of the community's latest digest
//	POST /animate/digest  saves the intro and the items kept, publishes, or drafts
//	POST /logout          ends the session
//
// Every response carries a strict Content-Security-Policy; pages need no
// script. A nil log discards.
func New(net *core.Network, cfg Config, log *slog.Logger) (http.Handler, error) {
	if net == nil {
		return nil, errors.New("web: nil network")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = DefaultSessionLifetime
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "!"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{net: net, cfg: cfg, log: log, keys: deriveKeys(cfg.SessionKey), pages: map[string]*template.Template{},
		mux: http.NewServeMux(), crossOrigin: http.NewCrossOriginProtection()}
	for _, name := range []string{"ask", "login", "dashboard", "digest"} {
		t, err := template.New(name).ParseFS(templateFiles, "templates/layout.html", "templates/chart.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: templates: %w", err)
		}
		h.pages[name] = t
	}
	h.crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ask(w, r, http.StatusForbidden, "ask.csrf", "")
	}))
	h.mux.HandleFunc("GET /login", h.loginPage)
	h.mux.Handle("POST /login", h.crossOrigin.Handler(http.HandlerFunc(h.login)))
	h.mux.Handle("POST /logout", h.crossOrigin.Handler(http.HandlerFunc(h.logout)))
	h.mux.HandleFunc("GET /animate", h.animator(h.dashboard))
	h.mux.HandleFunc("GET /animate/digest", h.animator(h.digestPage))
	h.mux.Handle("POST /animate/digest", h.crossOrigin.Handler(h.animator(h.digestPost)))
	h.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/animate", http.StatusSeeOther)
	})
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.ask(w, r, http.StatusNotFound, "ask.notfound", "")
	})
	return h, nil
}

// ServeHTTP sets the headers every response carries, then serves.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer") // the login link carries a token
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

// visit is an authenticated request: the session, the person behind it,
// checked through core to animate the community, and their language.
type visit struct {
	sess      session
	person    core.Person
	community core.Community
	lang      string
	csrf      string
}

// animator checks the session and the person's role, through core, before
// next; a person whose role was taken away loses the page at once.
func (h *handler) animator(next func(http.ResponseWriter, *http.Request, *visit)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := h.session(r)
		if err != nil {
			h.clearIfPresent(w, r)
			h.ask(w, r, http.StatusUnauthorized, "ask.session", "")
			return
		}
		ctx := r.Context()
		if revoked, err := h.net.Store().Checkpoint(ctx, revokedKey(sess)); err != nil {
			h.fail(w, r, "session", err)
			return
		} else if revoked != "" {
			h.clearSession(w)
			h.ask(w, r, http.StatusUnauthorized, "ask.session", "")
			return
		}
		p, err := h.net.Store().Person(ctx, sess.Person)
		if errors.Is(err, core.ErrNotFound) {
			h.clearSession(w)
			h.ask(w, r, http.StatusUnauthorized, "ask.session", "")
			return
		}
		if err != nil {
			h.fail(w, r, "person", err)
			return
		}
		ok, err := h.net.CanAnimate(ctx, p.Identity, sess.Community)
		if err != nil {
			h.fail(w, r, "role", err)
			return
		}
		lang := pickLang(p.Lang, r.Header.Get("Accept-Language"))
		if !ok {
			h.clearSession(w)
			h.ask(w, r, http.StatusForbidden, "ask.role", lang)
			return
		}
		v := &visit{sess: sess, person: p, lang: lang, csrf: h.keys.csrfToken(sess)}
		v.community, err = h.communityNamed(ctx, sess.Community)
		if err != nil {
			h.fail(w, r, "community", err)
			return
		}
		next(w, r, v)
	}
}

func (h *handler) communityNamed(ctx context.Context, id core.CommunityID) (core.Community, error) {
	all, err := h.net.Store().Communities(ctx)
	if err != nil {
		return core.Community{}, err
	}
	for _, c := range all {
		if c.ID == id {
			return c, nil
		}
	}
	return core.Community{ID: id}, nil
}

func (h *handler) clearIfPresent(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(h.cookieName()); err == nil {
		h.clearSession(w)
	}
}

// login spends a one-time token and opens a session.
// loginPage asks to confirm the login with a button: a GET must not spend
// the one-time link, or a chat server or client fetching the link for a
// preview would spend it before the person clicks.
func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" || len(token) > 100 {
		h.ask(w, r, http.StatusUnauthorized, "ask.login", "")
		return
	}
	lang := pickLang("", r.Header.Get("Accept-Language"))
	h.render(w, http.StatusOK, "login", page{Lang: lang, Title: word(lang, "login.title"), Body: loginBody{Token: token}})
}

// loginBody is the confirmation page of a login link.
type loginBody struct{ Token string }

// login spends the one-time token posted by the confirmation page and
// opens a session.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	token := r.PostFormValue("token")
	p, community, err := h.net.UseLoginToken(r.Context(), token)
	switch {
	case errors.Is(err, core.ErrNotFound), errors.Is(err, core.ErrForbidden):
		// Never log the token: it may still be valid for someone else's
		// typo, and logs outlive it.
		h.log.Info("web: login refused", "reason", reasonOf(err))
		h.ask(w, r, http.StatusUnauthorized, "ask.login", "")
		return
	case err != nil:
		h.fail(w, r, "login", err)
		return
	}
	sess, err := newSession(p.ID, community, h.net.Clock().Now().Add(h.cfg.SessionLifetime))
	if err != nil {
		h.fail(w, r, "login", err)
		return
	}
	h.setSession(w, sess)
	h.log.Info("web: login", "person", p.ID, "community", community)
	http.Redirect(w, r, "/animate", http.StatusSeeOther)
}

// MaxSessionLifetime bounds Config.SessionLifetime.
const MaxSessionLifetime = 7 * 24 * time.Hour

// revokedPrefix starts the checkpoint keys of sessions ended by a logout.
const revokedPrefix = "web:revoked:"

// revokedKey is the checkpoint that records sess as ended.
func revokedKey(sess session) string { return revokedPrefix + sess.Nonce }

// checkpointPurger drops old checkpoints (sqlstore does).
type checkpointPurger interface {
	PurgeCheckpoints(ctx context.Context, prefix string, before time.Time) (int64, error)
}

func reasonOf(err error) string {
	if errors.Is(err, core.ErrForbidden) {
		return "not an animator"
	}
	return "unknown, used or expired token"
}

// logout ends the session: the cookie is dropped, and the session is
// recorded as revoked until it expires, so that a copy of the cookie opens
// nothing either. A POST with a wrong CSRF token changes nothing.
func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	sess, err := h.session(r)
	if err == nil && !h.keys.checkCSRF(sess, r.PostFormValue("csrf")) {
		h.ask(w, r, http.StatusForbidden, "ask.csrf", "")
		return
	}
	if err == nil {
		ctx := r.Context()
		if err := h.net.Store().SetCheckpoint(ctx, revokedKey(sess), strconv.FormatInt(sess.Expires.Unix(), 10)); err != nil {
			h.fail(w, r, "logout", err)
			return
		}
		// Revocations outlive their sessions by a day at most: the longest
		// session lasts MaxSessionLifetime.
		if p, ok := h.net.Store().(checkpointPurger); ok {
			if _, err := p.PurgeCheckpoints(ctx, revokedPrefix, h.net.Clock().Now().Add(-MaxSessionLifetime-24*time.Hour)); err != nil {
				h.log.Warn("web: purge revoked sessions", "err", err)
			}
		}
	}
	h.clearSession(w)
	h.ask(w, r, http.StatusOK, "ask.loggedout", "")
}

// page is what every template receives.
type page struct {
	Lang      string
	Title     string
	Nav       string // "dashboard" or "digest": the current entry of the menu
	CSRF      string // empty when nobody is logged in
	Person    string
	Community string
	Body      any
}

// T returns the words of key in the page's language.
func (p page) T(key string) string { return word(p.Lang, key) }

// F returns the words of key with args put in (as text: the template
// escapes the result).
func (p page) F(key string, args ...any) string { return fmt.Sprintf(word(p.Lang, key), args...) }

// render writes a page, or a plain error if the template fails (the page
// is rendered to a buffer first, so no half page goes out).
func (h *handler) render(w http.ResponseWriter, status int, name string, p page) {
	var b bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		h.log.Error("web: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	b.WriteTo(w)
}

// askBody is the page that says how to get in: ask the bot for a link.
type askBody struct {
	Reason string // the key of the words saying why
	// Command is the bot's command that sends a new link; empty when
	// asking for one would not help.
	Command string
}

// ask renders the page that sends people back to the bot, with why.
func (h *handler) ask(w http.ResponseWriter, r *http.Request, status int, reason, lang string) {
	if lang == "" {
		lang = pickLang("", r.Header.Get("Accept-Language"))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `OneTimeLink realm="entraide"`)
	}
	body := askBody{Reason: reason}
	if reason != "ask.error" && reason != "ask.csrf" {
		body.Command = h.cfg.Prefix + "web"
	}
	h.render(w, status, "ask", page{Lang: lang, Title: word(lang, reason), Body: body})
}

// fail logs an internal error and tells the visitor to try again later,
// without the cause; a role lost meanwhile closes the page.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	if errors.Is(err, core.ErrForbidden) { // the role went away mid-request
		h.clearSession(w)
		h.ask(w, r, http.StatusForbidden, "ask.role", "")
		return
	}
	h.log.Error("web: "+op, "path", r.URL.Path, "err", err)
	h.ask(w, r, http.StatusServiceUnavailable, "ask.error", "")
}

// base returns the page fields every animator page shares.
func (v *visit) base(title, nav string, body any) page {
	name := v.community.Name
	if name == "" {
		name = fmt.Sprint(v.community.ID)
	}
	return page{Lang: v.lang, Title: title, Nav: nav, CSRF: v.csrf, Person: v.person.Name(), Community: name, Body: body}
}
