package web_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"entraide/adapters/web"
	"entraide/core"
)

// textOf returns the text of an element by id, tags dropped and spaces
// folded, for assertions on what a reader sees.
func textOf(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no element %q in\n%s", id, body)
	}
	start := strings.LastIndex(body[:i], "<")
	tag := regexp.MustCompile(`^<([a-z0-9]+)`).FindStringSubmatch(body[start:])[1]
	end := strings.Index(body[i:], "</"+tag+">")
	inner := body[i : i+end]
	inner = inner[strings.Index(inner, ">")+1:]
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(inner, " ")
	text = strings.NewReplacer("&nbsp;", " ", "\u00a0", " ", "&#39;", "'", "&amp;", "&").Replace(text)
	return strings.Join(strings.Fields(text), " ")
}

// TestFigures logs in through a one-time link and reads the figures of a
// small fixture whose numbers are known.
func TestFigures(t *testing.T) {
	e := smallFixture(t)
	c := e.login(anna)
	r := c.get("/animate")
	if r.code != 200 {
		t.Fatalf("dashboard: %d\n%s", r.code, r.body)
	}
	for id, want := range map[string]string{
		"fig-questions": "Questions posées 7",
		"fig-producers": "Ont demandé / Ont répondu 5 / 3",
		"fig-rate":      "Taux de réponse 43 % 3 sur 7 ont eu une réponse",
		"fig-median":    "Première réponse (médiane) 2 h",
		"fig-p90":       "Première réponse (9 sur 10) 4 h",
		"fig-escalated": "Relancées 1",
		"fig-expired":   "Restées sans réponse 1",
		"fig-resolved":  "Résolues 1",
		"fig-experts":   "Experts dans l'annuaire 2",
		"overbudget":    "Experts au bout de leur budget du jour Claire (test:claire)",
	} {
		if got := textOf(t, r.body, id); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
	unmatched := textOf(t, r.body, "unmatched")
	for _, want := range []string{"comptabilite 1 Gilles &lt;b onmouseover=&#34;alert(2)&#34;&gt;G&lt;/b&gt; (test:gilles)", "mecenat 1 personne pour l'instant"} {
		if !strings.Contains(unmatched, want) {
			t.Errorf("unmatched: %q, want %q", unmatched, want)
		}
	}
	if helpful := textOf(t, r.body, "helpful"); !strings.Contains(helpful, "Claire (test:claire) · 1 réponse") || !strings.Contains(helpful, "David") {
		t.Errorf("helpful: %q", helpful)
	}
	if !strings.Contains(r.body, `<html lang="fr">`) || !strings.Contains(r.body, "Les 30 derniers jours, du 29 septembre 2026 au 29 octobre 2026.") {
		t.Errorf("language or period:\n%s", r.body[:min(len(r.body), 600)])
	}
}

// TestCharts draws the three charts with their text alternatives and data
// tables.
func TestCharts(t *testing.T) {
	e := smallFixture(t)
	r := e.login(anna).get("/animate")
	for _, id := range []string{"chart-questions", "chart-people", "chart-delay"} {
		fig := r.body[strings.Index(r.body, `<figure class="chart" id="`+id+`"`):]
		fig = fig[:strings.Index(fig, "</figure>")]
		for _, want := range []string{`role="img"`, `aria-labelledby="` + id + `-t ` + id + `-d"`, `<title id="` + id + `-t">`, `<desc id="` + id + `-d">`, "<table>", "<caption>"} {
			if !strings.Contains(fig, want) {
				t.Errorf("%s lacks %s:\n%s", id, want, fig)
			}
		}
		if rows := strings.Count(fig, `<th scope="row">`); rows != 12 {
			t.Errorf("%s: %d weeks in the table, want 12", id, rows)
		}
	}
	questions := r.body[strings.Index(r.body, `id="chart-questions"`):]
	questions = questions[:strings.Index(questions, "</svg>")]
	if bars := strings.Count(questions, `<rect class="bar `); bars != 24 {
		t.Errorf("questions chart: %d bars, want 24 (12 weeks, 2 series)", bars)
	}
	// The last week (from Thursday 22 October, 12 weeks before now) holds
	// the fixture: 7 questions, 3 answered.
	if !strings.Contains(r.body, `<th scope="row">22 oct.</th><td class="n">7</td><td class="n">3</td>`) {
		t.Errorf("questions table lacks the week of 22 Oct:\n%s", questions)
	}
	people := r.body[strings.Index(r.body, `id="chart-people"`):]
	if strings.Count(people[:strings.Index(people, "</svg>")], "<polyline") != 2 {
		t.Errorf("people chart: want two lines")
	}
	if !strings.Contains(r.body, "<th scope=\"row\">22 oct.</th><td class=\"n\">2\u00a0h</td>") {
		t.Errorf("delay table lacks the median of the week of 22 Oct")
	}
}

// TestLoginOnce spends a link once: the second use shows the page that
// sends people back to the bot.
func TestLoginOnce(t *testing.T) {
	e := smallFixture(t)
	token := e.token(anna)
	c := e.client()
	// Fetching the link (a preview) spends nothing.
	for range 2 {
		if r := e.client().get("/login?token=" + token); r.code != 200 || !strings.Contains(r.body, `name="token"`) {
			t.Fatalf("confirmation page: %d\n%s", r.code, r.body)
		}
	}
	r := c.login(token)
	if r.code != 200 || !strings.Contains(r.body, "Tableau de bord") {
		t.Fatalf("first login: %d", r.code)
	}
	if r := e.client().get("/login"); r.code != http.StatusUnauthorized || !strings.Contains(r.body, "!web") {
		t.Errorf("no token: %d", r.code)
	}
	for name, token := range map[string]string{"again": token, "unknown": strings.Repeat("x", 32), "empty": ""} {
		r := e.client().post("/login", url.Values{"token": {token}}, "Origin", e.srv.URL)
		if r.code != http.StatusUnauthorized || !strings.Contains(r.body, "!web") || !strings.Contains(r.body, "Ce lien ne fonctionne plus") {
			t.Errorf("%s: %d\n%s", name, r.code, r.body)
		}
		if token != "" && strings.Contains(r.body, token) {
			t.Errorf("%s: the page repeats the token", name)
		}
	}
	expired := e.token(anna)
	e.clock.Advance(core.LoginTokenLifetime + time.Second)
	if r := e.client().login(expired); r.code != http.StatusUnauthorized {
		t.Errorf("expired link: %d", r.code)
	}
}

// TestSessionCookie checks the cookie's attributes, and refuses forged,
// re-signed and expired cookies and no cookie at all.
func TestSessionCookie(t *testing.T) {
	e := smallFixture(t)
	c := e.client()
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r := c.login(e.token(anna))
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/animate" {
		t.Fatalf("login: %d %s", r.code, r.header.Get("Location"))
	}
	set := r.header.Get("Set-Cookie")
	for _, want := range []string{"entraide-session=", "Path=/", "Max-Age=43200", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(set, want) {
			t.Errorf("cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("cookie %q is Secure without Config.Secure", set)
	}
	value := strings.TrimPrefix(strings.Split(set, ";")[0], "entraide-session=")
	payload, mac, _ := strings.Cut(value, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Split(string(raw), "|")
	reencode := func(f []string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(f, "|")))
	}
	other := append([]string(nil), fields...)
	other[1] = "2" // someone else
	longer := append([]string(nil), fields...)
	longer[3] = "9999999999"
	for name, cookie := range map[string]string{
		"forged person":   reencode(other) + "." + mac,
		"forged expiry":   reencode(longer) + "." + mac,
		"no signature":    payload,
		"bad signature":   payload + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32)),
		"garbage":         "%%%.%%%",
		"empty signature": payload + ".",
	} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/animate", nil)
		req.AddCookie(&http.Cookie{Name: "entraide-session", Value: cookie})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
	// The genuine cookie works, until 12 hours have passed.
	req, _ := http.NewRequest("GET", e.srv.URL+"/animate", nil)
	req.AddCookie(&http.Cookie{Name: "entraide-session", Value: value})
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("genuine cookie: %v %v", resp.StatusCode, err)
	}
	e.clock.Advance(12*time.Hour + time.Second)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired cookie: %d, want 401", resp.StatusCode)
	}
	// No cookie at all: the page that sends back to the bot.
	if r := e.client().get("/animate/digest"); r.code != http.StatusUnauthorized || !strings.Contains(r.body, "!web") {
		t.Errorf("no cookie: %d\n%s", r.code, r.body)
	}
}

// TestSecureCookie names the cookie __Host- and marks it Secure behind
// https.
func TestSecureCookie(t *testing.T) {
	e := smallFixture(t)
	h, err := web.New(e.net, web.Config{SessionKey: e.key, Secure: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"token": {e.token(anna)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(rec, req)
	set := rec.Header().Get("Set-Cookie")
	if !strings.HasPrefix(set, "__Host-entraide-session=") || !strings.Contains(set, "; Secure") {
		t.Errorf("cookie %q", set)
	}
}

// TestConfig refuses short keys.
func TestConfig(t *testing.T) {
	e := newEnv(t, t0)
	for _, cfg := range []web.Config{{}, {SessionKey: []byte("short")}, {SessionKey: e.key, SessionLifetime: -time.Hour}} {
		if _, err := web.New(e.net, cfg, nil); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	if _, err := web.New(nil, web.Config{SessionKey: e.key}, nil); err == nil {
		t.Error("nil network accepted")
	}
}

// TestRoleTakenAway closes the page to someone whose animator role was
// taken away, at once, cookie or not; and a link sent before is refused.
func TestRoleTakenAway(t *testing.T) {
	e := smallFixture(t)
	ctx := context.Background()
	_, err := e.net.Grant(ctx, anna, e.community, zoe, core.RoleAnimator, true)
	e.must(err)
	c := e.login(zoe)
	pending := e.token(zoe)
	_, err = e.net.Grant(ctx, anna, e.community, zoe, core.RoleAnimator, false)
	e.must(err)
	if r := c.get("/animate/digest"); r.code != http.StatusForbidden || !strings.Contains(r.body, "animez plus cette communauté") {
		t.Errorf("after the role was taken: %d\n%s", r.code, r.body)
	}
	if r := c.get("/animate"); r.code != http.StatusUnauthorized {
		t.Errorf("the cookie was not dropped: %d", r.code)
	}
	if r := e.client().login(pending); r.code != http.StatusUnauthorized {
		t.Errorf("link sent before the role was taken: %d", r.code)
	}
	// Someone who never animated gets no link at all.
	if _, _, err := e.net.NewLoginToken(ctx, bob, "", e.community); err == nil {
		t.Error("a link for a member")
	}
}

// TestDigestEditAndPublish drafts, edits and publishes the digest through
// the forms, then lets the bots' pipeline post it.
func TestDigestEditAndPublish(t *testing.T) {
	e := smallFixture(t)
	ctx := context.Background()
	e.must(e.net.SetAnnounce(ctx, core.Room{Platform: "test", ID: "#general"}, []core.ItemKind{core.KindDigest}))
	c := e.login(anna)
	r := c.get("/animate/digest")
	if r.code != 200 || !strings.Contains(r.body, "Aucune lettre n&#39;est en préparation.") {
		t.Fatalf("no digest yet: %d\n%s", r.code, r.body)
	}
	csrf := csrfOf(t, r.body)
	r = c.post("/animate/digest", url.Values{"csrf": {csrf}, "action": {"draft"}})
	if r.code != 200 || !strings.Contains(r.body, "Le brouillon est prêt.") {
		t.Fatalf("draft: %d\n%s", r.code, r.body)
	}
	d, err := e.net.LatestDigest(ctx, anna, e.community)
	e.must(err)
	if len(d.Items) != 6 {
		t.Fatalf("draft of %d items, want 6: %+v", len(d.Items), d.Items)
	}
	for i, it := range d.Items {
		if !strings.Contains(r.body, `name="keep" value="`+itoa(i+1)+`" id="keep-`+itoa(i+1)+`" checked>`) {
			t.Errorf("item %d (%s) not offered, ticked", i+1, it.Title)
		}
	}
	// Keep all but the second; the intro has a line break, as browsers send it.
	var removed string
	form := url.Values{"csrf": {csrf}, "digest": {itoa(int(d.ID))}, "action": {"save"}, "intro": {"Bonne semaine !\r\nÀ lundi."}}
	for i, it := range d.Items {
		if i == 1 {
			removed = it.Title
			continue
		}
		form.Add("keep", itoa(i+1))
	}
	r = c.post("/animate/digest", form)
	if r.code != 200 || !strings.Contains(r.body, "C&#39;est enregistré.") || !strings.Contains(r.body, `<li class="removed"><input type="checkbox" name="keep" value="2" id="keep-2">`) {
		t.Fatalf("save: %d\n%s", r.code, r.body)
	}
	d, err = e.net.LatestDigest(ctx, anna, e.community)
	e.must(err)
	if d.Intro != "Bonne semaine !\nÀ lundi." || !d.Items[1].Removed || len(d.Kept()) != 5 {
		t.Fatalf("saved: %q %+v", d.Intro, d.Items)
	}
	if preview := textOf(t, r.body, "preview"); !strings.Contains(preview, "Bonne semaine !") || strings.Contains(preview, removed) {
		t.Errorf("preview: %q", preview)
	}
	// Publish as saved.
	form.Set("action", "publish")
	r = c.post("/animate/digest", form)
	if r.code != 200 || !strings.Contains(r.body, "C&#39;est parti") {
		t.Fatalf("publish: %d\n%s", r.code, r.body)
	}
	sender := &senderFake{}
	e.drain(sender)
	d, err = e.net.LatestDigest(ctx, anna, e.community)
	e.must(err)
	if d.State != core.DigestPublished {
		t.Fatalf("state %s after the pipeline ran", d.State)
	}
	posted := sender.toRoom("#general")
	if len(posted) != 1 || !strings.Contains(posted[0], "Bonne semaine !") || strings.Contains(posted[0], removed) {
		t.Fatalf("posted in #general: %q (removed %q)", posted, removed)
	}
	// Published: read only, and a late form changes nothing.
	r = c.get("/animate/digest")
	if !strings.Contains(r.body, `id="published"`) || strings.Contains(r.body, `name="intro"`) {
		t.Errorf("published digest still editable:\n%s", r.body)
	}
	form.Set("action", "save")
	form.Set("intro", "trop tard")
	if r := c.post("/animate/digest", form); !strings.Contains(r.body, "Cette lettre est déjà publiée.") {
		t.Errorf("late edit: %d\n%s", r.code, r.body)
	}
}

var itoa = strconv.Itoa

// TestDigestInvalid shows the form again, as posted, when the intro is too
// long, and changes nothing.
func TestDigestInvalid(t *testing.T) {
	e := smallFixture(t)
	ctx := context.Background()
	d, err := e.net.DraftNow(ctx, anna, e.community)
	e.must(err)
	c := e.login(anna)
	csrf := csrfOf(t, c.get("/animate/digest").body)
	long := strings.Repeat("é", core.MaxIntroLen) // 2 bytes each
	r := c.post("/animate/digest", url.Values{"csrf": {csrf}, "digest": {itoa(int(d.ID))}, "action": {"save"}, "intro": {long}, "keep": {"1"}})
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "trop long") || !strings.Contains(r.body, long) {
		t.Fatalf("too long: %d", r.code)
	}
	if got, _ := e.net.LatestDigest(ctx, anna, e.community); got.Intro != "" || len(got.Kept()) != len(got.Items) {
		t.Errorf("changed: %+v", got)
	}
	// A form for another digest than the latest changes nothing either.
	r = c.post("/animate/digest", url.Values{"csrf": {csrf}, "digest": {"999"}, "action": {"save"}, "intro": {"x"}})
	if !strings.Contains(r.body, "La lettre a changé entre-temps") {
		t.Errorf("stale form: %d\n%s", r.code, r.body)
	}
}

// TestCSRF refuses forms without the session's token, with another
// session's, and from another site.
func TestCSRF(t *testing.T) {
	e := smallFixture(t)
	ctx := context.Background()
	d, err := e.net.DraftNow(ctx, anna, e.community)
	e.must(err)
	a := e.login(anna)
	b := e.login(anna)
	csrfA := csrfOf(t, a.get("/animate/digest").body)
	csrfB := csrfOf(t, b.get("/animate/digest").body)
	if csrfA == csrfB {
		t.Fatal("two sessions share a CSRF token")
	}
	form := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "digest": {itoa(int(d.ID))}, "action": {"save"}, "intro": {"piégé"}}
	}
	for name, try := range map[string]func() response{
		"no token":        func() response { return a.post("/animate/digest", form("")) },
		"other session's": func() response { return a.post("/animate/digest", form(csrfB)) },
		"garbage":         func() response { return a.post("/animate/digest", form("!!")) },
		"cross-site":      func() response { return a.post("/animate/digest", form(csrfA), "Sec-Fetch-Site", "cross-site") },
		"other origin":    func() response { return a.post("/animate/digest", form(csrfA), "Origin", "https://evil.example") },
		"publish": func() response {
			return a.post("/animate/digest", url.Values{"action": {"publish"}, "digest": {itoa(int(d.ID))}})
		},
		"logout": func() response { return a.post("/logout", url.Values{"csrf": {csrfB}}) },
	} {
		if r := try(); r.code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, r.code)
		}
	}
	if got, _ := e.net.LatestDigest(ctx, anna, e.community); got.Intro != "" {
		t.Errorf("intro changed to %q", got.Intro)
	}
	// Still logged in; then out, with the right token.
	if r := a.get("/animate"); r.code != 200 {
		t.Fatalf("session lost: %d", r.code)
	}
	// A copy of the cookie taken before the logout opens nothing after it:
	// the session is revoked on the server, not only dropped by the browser.
	stolen := e.client()
	u, _ := url.Parse(e.srv.URL)
	stolen.http.Jar.SetCookies(u, a.http.Jar.Cookies(u))
	if r := stolen.get("/animate"); r.code != 200 {
		t.Fatalf("copied cookie before logout: %d", r.code)
	}
	if r := a.post("/logout", url.Values{"csrf": {csrfA}}); r.code != 200 || !strings.Contains(r.body, "Vous êtes déconnecté.") {
		t.Errorf("logout: %d\n%s", r.code, r.body)
	}
	if r := a.get("/animate"); r.code != http.StatusUnauthorized {
		t.Errorf("after logout: %d", r.code)
	}
	if r := stolen.get("/animate"); r.code != http.StatusUnauthorized {
		t.Errorf("copied cookie after logout: %d, want 401", r.code)
	}
	if r := b.get("/animate"); r.code != 200 {
		t.Errorf("anna's other session after the logout of one: %d, want 200", r.code)
	}
}

// TestEscaping shows hostile text from chat as text: in the digest's
// items, its preview and the dashboard's names.
func TestEscaping(t *testing.T) {
	e := smallFixture(t)
	_, err := e.net.DraftNow(context.Background(), anna, e.community)
	e.must(err)
	c := e.login(anna)
	for _, path := range []string{"/animate/digest", "/animate"} {
		r := c.get(path)
		for _, bad := range []string{"<script", "<img", "<b ", `onmouseover="`} {
			if strings.Contains(r.body, bad) {
				t.Errorf("%s contains %s", path, bad)
			}
		}
		switch path {
		case "/animate/digest":
			if strings.Count(r.body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;") != 2 {
				t.Errorf("%s: the question is not shown escaped, in the editor and the preview", path)
			}
		case "/animate":
			if !strings.Contains(r.body, "Gilles &lt;b onmouseover=&#34;alert(2)&#34;&gt;G&lt;/b&gt;") {
				t.Errorf("%s: the name is not shown escaped", path)
			}
		}
	}
}

// TestHeaders checks the security headers on every kind of response.
func TestHeaders(t *testing.T) {
	e := smallFixture(t)
	c := e.login(anna)
	for _, r := range []response{c.get("/animate"), c.get("/animate/digest"), e.client().get("/animate"), e.client().get("/nowhere"), e.client().get("/login?token=x")} {
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Content-Type":            "text/html; charset=utf-8",
			"Cache-Control":           "no-store",
		} {
			if got := r.header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
	}
	if r := e.client().get("/nowhere"); r.code != http.StatusNotFound || !strings.Contains(r.body, "!web") {
		t.Errorf("unknown page: %d\n%s", r.code, r.body)
	}
}

// TestLanguage speaks the person's language, else the browser's, else
// French.
func TestLanguage(t *testing.T) {
	e := smallFixture(t)
	c := e.login(anna)
	if r := c.get("/animate", "Accept-Language", "en-GB,en;q=0.9,fr;q=0.5"); !strings.Contains(r.body, `<html lang="en">`) || !strings.Contains(r.body, "Answer rate") {
		t.Errorf("Accept-Language en: %s", r.body[:200])
	}
	if r := c.get("/animate", "Accept-Language", "de-DE,de;q=0.9"); !strings.Contains(r.body, `<html lang="fr">`) {
		t.Errorf("Accept-Language de: %s", r.body[:200])
	}
	e.must(e.net.SetLang(context.Background(), anna, "", "en"))
	if r := c.get("/animate/digest", "Accept-Language", "fr"); !strings.Contains(r.body, `<html lang="en">`) || !strings.Contains(r.body, "No digest is being prepared.") {
		t.Errorf("person's language en: %s", r.body)
	}
	if r := e.client().get("/animate", "Accept-Language", "en"); !strings.Contains(r.body, "ask the bot for a new link: write !web") {
		t.Errorf("unauthenticated, en: %s", r.body)
	}
}
