package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/adapters/web"
	"entraide/bots"
	"entraide/core"
)

// The people of the fixtures. Anna administers every community by
// configuration; the others ask, answer, or know a topic.
var (
	anna    = core.Identity{Platform: "test", User: "anna"}
	bob     = core.Identity{Platform: "test", User: "bob"}
	claire  = core.Identity{Platform: "test", User: "claire"}
	david   = core.Identity{Platform: "test", User: "david"}
	fanny   = core.Identity{Platform: "test", User: "fanny"}
	gilles  = core.Identity{Platform: "test", User: "gilles"}
	hugo    = core.Identity{Platform: "test", User: "hugo"}
	ivan    = core.Identity{Platform: "test", User: "ivan"}
	julie   = core.Identity{Platform: "test", User: "julie"}
	karim   = core.Identity{Platform: "test", User: "karim"}
	lea     = core.Identity{Platform: "test", User: "lea"}
	nadia   = core.Identity{Platform: "test", User: "nadia"}
	olivier = core.Identity{Platform: "test", User: "olivier"}
	zoe     = core.Identity{Platform: "test", User: "zoe"}
)

// Hostile text, as anyone may write it in chat.
const (
	hostileQuestion = `RGPD <script>alert("x")</script> & <img src=x onerror=alert(1)> cookies ?`
	hostileName     = `Gilles <b onmouseover="alert(2)">G</b>`
)

// questionsRoom is where the fixtures' questions are asked; digests are
// announced in #general.
var questionsRoom = "#questions"

// env is a network over a fresh SQLite store, its clock, and the page's
// handler served by httptest.
type env struct {
	t         *testing.T
	store     *sqlstore.Store
	clock     *core.ManualClock
	net       *core.Network
	srv       *httptest.Server
	community core.CommunityID
	key       []byte
}

// sessionKey is the fixtures' key: 32 bytes, not secret.
var sessionKey = []byte("0123456789abcdef0123456789abcdef")

func newEnv(t *testing.T, start time.Time) *env {
	t.Helper()
	store := sqlstoretest.SQLite(t)
	clock := core.NewManualClock(start)
	cfg := core.DefaultConfig()
	cfg.Admins = []core.Identity{anna}
	cfg.RouteLimit = 1
	cfg.DailyBudget = 2
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Location = paris
	net, err := core.NewNetwork(store, nil, clock, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := web.New(net, web.Config{SessionKey: sessionKey}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	community, err := net.CommunityOf(context.Background(), core.Room{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, store: store, clock: clock, net: net, srv: srv, community: community, key: sessionKey}
}

// at sets the clock.
func (e *env) at(t time.Time) { e.clock.Set(t) }

// ask asks a question in #questions; n makes its message id.
func (e *env) ask(who core.Identity, name, text string, n int) core.Question {
	e.t.Helper()
	ref := core.MessageRef{Platform: "test", Room: questionsRoom, Message: fmt.Sprintf("m%d", n)}
	ref.Thread = ref.Message
	a, err := e.net.AskWith(context.Background(), who, name, text, ref, core.AskOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Question
}

func (e *env) answer(who core.Identity, name string, q core.Question, text string) {
	e.t.Helper()
	if _, err := e.net.Answer(context.Background(), who, name, q.ID, text); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// t0 is the Monday the small fixture starts.
var t0 = time.Date(2026, 10, 26, 9, 0, 0, 0, time.UTC)

// smallFixture plays three days of a community whose figures are known:
// 7 questions from 5 askers, 3 answered (in 30 min, 2 h and 4 h) by 3
// people, 1 resolved, 1 escalated, 1 expired; 2 experts, Claire over her
// budget of 2; topics with no expert asked about in 2 questions, one of
// which Gilles answered. It ends at t0 + 3 days 11:00.
func smallFixture(t *testing.T) *env {
	e := newEnv(t, t0)
	playWeek(e, true)
	return e
}

// playWeek plays the small fixture's three days from t0; with hostile,
// a question and a name are written to break pages that do not escape.
func playWeek(e *env, hostile bool) {
	ctx := context.Background()
	question, name := "RGPD : peut-on poser des cookies de mesure d'audience ?", "Gilles"
	if hostile {
		question, name = hostileQuestion, hostileName
	}
	e.at(t0)
	_, err := e.net.DeclareExpert(ctx, claire, "Claire", []string{"rgpd"})
	e.must(err)
	_, err = e.net.DeclareExpert(ctx, david, "David", []string{"achats"})
	e.must(err)
	e.at(t0.Add(time.Hour))
	q1 := e.ask(bob, "Bob", "Comment appliquer le RGPD aux fichiers RH ?", 1)
	e.at(t0.Add(90 * time.Minute))
	e.answer(claire, "Claire", q1, "Tenez un registre des traitements et limitez les durées de conservation.")
	e.at(t0.Add(2 * time.Hour))
	_, err = e.net.Resolve(ctx, bob, q1.ID)
	e.must(err)
	e.at(t0.Add(3 * time.Hour))
	q2 := e.ask(fanny, "Fanny", "Quelle procédure pour des achats de logiciels ?", 2)
	e.at(t0.Add(5 * time.Hour))
	e.answer(david, "David", q2, "Passez par l'UGAP ou un marché subséquent.")
	e.at(t0.Add(6 * time.Hour))
	q3 := e.ask(bob, "Bob", "Qui connaît la comptabilité des régies ?", 3)
	e.at(t0.Add(10 * time.Hour))
	e.answer(gilles, name, q3, "Le guide de la DGFiP sur les régies est très clair.")
	e.at(t0.Add(24 * time.Hour))
	q4 := e.ask(fanny, "Fanny", "Un modèle de convention de mécénat ?", 4)
	e.at(t0.Add(25 * time.Hour))
	q5 := e.ask(hugo, "Hugo", "RGPD pour les achats en ligne ?", 5)
	e.at(t0.Add(49 * time.Hour))
	_, err = e.net.Escalate(ctx, q4.ID, 1)
	e.must(err)
	_, err = e.net.Escalate(ctx, q5.ID, 1) // goes on to David: escalated
	e.must(err)
	e.at(t0.Add(72 * time.Hour))
	e.ask(ivan, "Ivan", question, 6)
	e.ask(julie, "Julie", "RGPD et archives publiques ?", 7)
	e.at(t0.Add(73 * time.Hour))
	_, err = e.net.Escalate(ctx, q4.ID, 2) // no more experts: the animators hear of it
	e.must(err)
	_, err = e.net.Escalate(ctx, q4.ID, 3) // then it expires
	e.must(err)
	e.at(t0.Add(74 * time.Hour))
}

// richFixture plays eleven weeks of history before the small fixture's
// week, for charts worth looking at: activity grows, answers come faster.
func richFixture(t *testing.T) *env {
	start := t0.AddDate(0, 0, -7*11)
	e := newEnv(t, start)
	ctx := context.Background()
	_, err := e.net.DeclareExpert(ctx, claire, "Claire", []string{"rgpd"})
	e.must(err)
	_, err = e.net.DeclareExpert(ctx, david, "David", []string{"achats"})
	e.must(err)
	_, err = e.net.DeclareExpert(ctx, nadia, "Nadia", []string{"télétravail"})
	e.must(err)
	askers := []struct {
		who  core.Identity
		name string
	}{{bob, "Bob"}, {fanny, "Fanny"}, {hugo, "Hugo"}, {ivan, "Ivan"}, {julie, "Julie"}, {karim, "Karim"}, {lea, "Léa"}}
	texts := []string{
		"Quelle durée de conservation RGPD pour les candidatures ?",
		"Un marché pour des achats de mobilier, quel seuil ?",
		"Le télétravail est-il possible en période d'essai ?",
		"Comment tenir la comptabilité d'une régie d'avances ?",
		"Qui a un modèle de convention de mécénat ?",
		"Faut-il une analyse d'impact RGPD pour un registre de visiteurs ?",
		"Des achats groupés avec une autre collectivité, comment faire ?",
		"Combien de jours de télétravail par semaine au maximum ?",
		"Archivage des courriels : quelles règles ?",
	}
	delays := []time.Duration{20 * time.Minute, 45 * time.Minute, 90 * time.Minute, 3 * time.Hour, 5 * time.Hour}
	perWeek := []int{2, 3, 2, 4, 3, 5, 4, 5, 6, 5, 6}
	n := 100
	for w, count := range perWeek {
		monday := start.AddDate(0, 0, 7*w)
		for k := 0; k < count; k++ {
			n++
			e.at(monday.Add(time.Duration(k)*12*time.Hour + time.Hour))
			asker := askers[(w+k)%len(askers)]
			asked, err := e.net.AskWith(ctx, asker.who, asker.name, texts[(w*3+k)%len(texts)],
				core.MessageRef{Platform: "test", Room: questionsRoom, Message: fmt.Sprintf("m%d", n), Thread: fmt.Sprintf("m%d", n)}, core.AskOptions{})
			e.must(err)
			if (w+k)%4 == 3 {
				continue // nobody answers
			}
			delay := delays[(w+k)%len(delays)] * time.Duration(14-w) / 8
			e.at(e.clock.Now().Add(delay))
			who, name := gilles, "Gilles"
			if len(asked.Experts) > 0 {
				who, name = asked.Experts[0].Identity, asked.Experts[0].DisplayName
			} else if k%2 == 1 {
				who, name = olivier, "Olivier"
			}
			e.answer(who, name, asked.Question, "Voici ce que je sais, avec le texte de référence.")
			if k%2 == 0 {
				_, err := e.net.Resolve(ctx, asker.who, asked.Question.ID)
				e.must(err)
			}
		}
	}
	playWeek(e, false)
	return e
}

// client is a browser of the page: it keeps cookies and, unless told,
// follows redirects.
type client struct {
	e    *env
	http *http.Client
}

func (e *env) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &client{e: e, http: &http.Client{Jar: jar}}
}

// response is what a request got.
type response struct {
	code   int
	body   string
	header http.Header
}

func (c *client) do(req *http.Request) response {
	c.e.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return response{code: resp.StatusCode, body: string(b), header: resp.Header}
}

func (c *client) get(path string, header ...string) response {
	c.e.t.Helper()
	req, err := http.NewRequest("GET", c.e.srv.URL+path, nil)
	if err != nil {
		c.e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

func (c *client) post(path string, form url.Values, header ...string) response {
	c.e.t.Helper()
	req, err := http.NewRequest("POST", c.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

// token returns a one-time login link's token for who, as "!web" makes.
func (e *env) token(who core.Identity) string {
	e.t.Helper()
	token, _, err := e.net.NewLoginToken(context.Background(), who, "", e.community)
	if err != nil {
		e.t.Fatal(err)
	}
	return token
}

// login opens a session for who through a new one-time link.
func (e *env) login(who core.Identity) *client {
	e.t.Helper()
	c := e.client()
	if r := c.login(e.token(who)); r.code != 200 || !strings.Contains(r.body, `id="fig-questions"`) {
		e.t.Fatalf("login: %d\n%s", r.code, r.body)
	}
	return c
}

// login follows a one-time link as a person does: the page asks to
// confirm (and spends nothing: link previews fetch it too), the button
// posts the token.
func (c *client) login(token string) response {
	c.e.t.Helper()
	page := c.get("/login?token=" + url.QueryEscape(token))
	if page.code != 200 || !strings.Contains(page.body, `name="token"`) {
		return page
	}
	return c.post("/login", url.Values{"token": {token}}, "Origin", c.e.srv.URL)
}

// csrf returns the CSRF token of the session's forms, read from a page.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `name="csrf" value="`)
	token, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 || token == "" {
		t.Fatalf("no CSRF token in\n%s", body)
	}
	return token
}

// senderFake is a platform that records what it was asked to send.
type senderFake struct {
	mu   sync.Mutex
	sent []bots.Outgoing
}

func (f *senderFake) Platform() core.Platform { return "test" }

func (f *senderFake) Send(_ context.Context, o bots.Outgoing) (bots.Sent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, o)
	return bots.Sent{MessageID: "m-" + o.Key}, nil
}

// toRoom returns the plain text of the messages sent to a room outside
// any thread.
func (f *senderFake) toRoom(room string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, o := range f.sent {
		if o.To.Room == room && o.To.Thread == "" && o.To.User == "" {
			out = append(out, o.Message.PlainText())
		}
	}
	return out
}

// drain runs the bots' pipeline until nothing is due: the jobs the page
// scheduled (a publication) run, and their messages go to the fake.
func (e *env) drain(sender *senderFake) {
	e.t.Helper()
	bot, err := bots.New(e.net, bots.Config{Prefix: "!", Lang: "fr"}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := bots.NewPipeline(e.store, bot, []bots.Sender{sender}, e.clock, bots.DefaultPipelineConfig(), nil, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := p.Drain(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}
