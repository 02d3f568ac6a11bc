package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"entraide/adapters/matrix"
	"entraide/adapters/matrix/matrixtest"
	slackad "entraide/adapters/slack"
	"entraide/adapters/slack/slacktest"
	"entraide/adapters/sqlstore"
	"entraide/bots"
	"entraide/core"
	"entraide/core/match"
)

// loadOptions describe a load run: who asks how fast on which platforms,
// and what happens to the service meanwhile.
type loadOptions struct {
	// Database is the store: a SQLite path or a postgres:// URL, as
	// sqlstore.Open takes it.
	Database string
	// Duration is how long questions are asked; Rate how many per second
	// on Slack, spread over Askers channels (one asker each, in turn).
	Duration time.Duration
	Rate     float64
	Askers   int
	// Experts declare themselves on Slack, three per topic; each question
	// is on one topic, in turn.
	Experts int
	// Homeserver, when set, adds MatrixRooms rooms on that Matrix
	// homeserver (one asker each) where MatrixRate questions per second
	// are asked, routed to the same Slack experts.
	Homeserver  string
	MatrixRooms int
	MatrixRate  float64
	// Transport carries Slack's requests: Socket Mode or the Events API.
	Transport slacktest.Transport
	// Copies is how many times Slack delivers each request (1 = once),
	// concurrently, as a platform that redelivers does.
	Copies int
	// Lease is the pipeline's lease (how soon a restarted process takes
	// over the work of a killed one); 0 keeps the default.
	Lease time.Duration
	// Settle bounds the wait, after the last question, for every question
	// to be handled and every message sent.
	Settle time.Duration
	// Fault, when set, runs once FaultAt after the first question, while
	// the load goes on.
	Fault   func(ctx context.Context, l *loadRun) error
	FaultAt time.Duration
	// Log receives the service's logs; nil discards them.
	Log *slog.Logger
}

// loadReport is what a load run measured; "entraide bench load --json"
// prints it.
type loadReport struct {
	Database  string   `json:"database"`
	Platforms []string `json:"platforms"`
	Transport string   `json:"slack_transport"`
	// DurationS is how long questions were asked; WindowS runs from the
	// first question to the last message it caused, seen by the platform.
	DurationS float64 `json:"duration_s"`
	WindowS   float64 `json:"window_s"`
	RateAsked float64 `json:"rate_asked"`
	Askers    int     `json:"askers"`
	Experts   int     `json:"experts"`
	// Questions are the questions the platforms accepted (the adapter
	// acknowledged them, or the homeserver stored them).
	Questions       int `json:"questions"`
	SlackQuestions  int `json:"slack_questions"`
	MatrixQuestions int `json:"matrix_questions"`
	// EventsPerS is questions handled end to end per second of the
	// window; MessagesPerS counts every message in and out (questions,
	// acknowledgements, DMs) per second of the window.
	EventsPerS   float64 `json:"events_per_s"`
	MessagesPerS float64 `json:"messages_per_s"`
	MessagesSent int     `json:"messages_sent"`
	DMs          int     `json:"dms"`
	DMP50ms      float64 `json:"dm_p50_ms"`
	DMP99ms      float64 `json:"dm_p99_ms"`
	AckP50ms     float64 `json:"ack_p50_ms"`
	AckP99ms     float64 `json:"ack_p99_ms"`
	// HeapMB is the peak of the Go heap in use, RSSMB the peak resident
	// set of the process (service, fakes and load generator together).
	HeapMB float64 `json:"heap_mb"`
	RSSMB  float64 `json:"rss_mb"`
	// PacingCeiling is the question rate Slack's pacing (one message per
	// conversation per second) allows with these askers and experts.
	PacingCeiling float64 `json:"pacing_ceiling_per_s"`
	// Lost counts accepted questions that were not stored or not
	// acknowledged to their asker; Duplicated counts questions stored or
	// acknowledged more than once plus messages a recipient saw twice.
	Lost       int `json:"lost"`
	Duplicated int `json:"duplicated"`
	// The parts of Duplicated and Lost.
	Unstored       int `json:"unstored"`
	Unacknowledged int `json:"unacknowledged"`
	// HomeserverLost counts Matrix questions the homeserver accepted and
	// then lost (a crash before its own commit): they are not in the room
	// any more, so no bot could have read them; not counted in Lost.
	HomeserverLost int `json:"homeserver_lost,omitempty"`
	StoredTwice    int `json:"stored_twice"`
	AckedTwice     int `json:"acked_twice"`
	DupPostsByText int `json:"dup_posts_by_text"`
	DupPostsByKey  int `json:"dup_posts_by_key"`
	// Unrouted counts questions that reached no expert (told to their
	// asker, so not lost); SetAside the events and messages the pipeline
	// gave up on.
	Unrouted int `json:"unrouted"`
	SetAside int `json:"set_aside"`
	// Deliveries counts the platform's deliveries of questions, retries and
	// copies included; Restarts the service's restarts.
	Deliveries int64 `json:"deliveries"`
	Restarts   int   `json:"restarts"`
	// Settled is false when Settle ran out before everything was sent.
	Settled bool `json:"settled"`
}

// loadQuestion is one question asked during a run.
type loadQuestion struct {
	token    string
	platform core.Platform
	// Slack: the channel and ts of the asker's message.
	channel, ts string
	// Matrix: the room and event of the asker's message.
	room   id.RoomID
	event  id.EventID
	posted time.Time
	ok     bool // accepted by the platform
}

// loadNode is one process's worth of entraide: store, pipeline, adapters.
type loadNode struct {
	store  *sqlstore.Store
	pipe   *bots.Pipeline
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// loadRun is a load run in progress: the fake Slack workspace, the Matrix
// accounts, the service (restartable) and the questions asked.
type loadRun struct {
	tb   testing.TB
	opts loadOptions
	log  *slog.Logger
	ws   *slacktest.Workspace
	scfg slackad.Config

	mcfg    matrix.Config
	mAskers []*matrixtest.User
	mRooms  []id.RoomID

	mu       sync.Mutex
	node     *loadNode
	restarts int
	qs       []*loadQuestion

	deliveries atomic.Int64
	heapPeak   atomic.Uint64
}

// benchSyllables make the made-up topic words, one per topic, so
// that each question has exactly the evidence of its topic's experts.
var benchSyllables = []string{"ka", "lo", "mi", "nu", "pe", "ri", "so", "tu", "va", "zo", "be", "da", "fi", "go", "ju", "xe"}

// topicWord returns the made-up word of topic i: three syllables and a
// final consonant, which no stemmer folds into another topic's.
func topicWord(i int) string {
	n := len(benchSyllables)
	return benchSyllables[i%n] + benchSyllables[(i/n)%n] + benchSyllables[(i/n/n)%n] + "x" + strconv.Itoa(i/(n*n*n))
}

var tokenPattern = regexp.MustCompile(`LQ[0-9]{7}`)

// runLoad runs the load described by opts against a fresh fake Slack
// workspace (and the Matrix homeserver when set) and returns what it
// measured. tb receives the fakes' complaints; outside tests it is a
// benchTB.
func runLoad(ctx context.Context, tb testing.TB, opts loadOptions) (*loadReport, error) {
	if opts.Rate <= 0 || opts.Askers < 1 || opts.Experts < 3 || opts.Duration <= 0 {
		return nil, errors.New("bench load: --rate, --askers and --duration must be positive and --experts at least 3")
	}
	if opts.Copies < 1 {
		opts.Copies = 1
	}
	if opts.Transport == 0 {
		opts.Transport = slacktest.SocketMode
	}
	if opts.Settle <= 0 {
		opts.Settle = time.Minute
	}
	if opts.MatrixRooms < 1 {
		opts.MatrixRooms = 4
	}
	l := &loadRun{tb: tb, opts: opts, log: opts.Log}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.ws = slacktest.New(tb)
	scfg, _, err := slackad.ConfigFromEnv(l.ws.Env(opts.Transport))
	if err != nil {
		return nil, err
	}
	l.scfg = scfg
	if opts.Homeserver != "" {
		l.mcfg = matrixtest.BotConfig(tb, opts.Homeserver, matrix.EncryptionOff)
	}
	if err := l.Start(ctx); err != nil {
		return nil, err
	}
	defer l.Kill()
	memCtx, stopMem := context.WithCancel(ctx)
	var memWG sync.WaitGroup
	memWG.Go(func() { l.sampleMemory(memCtx) })
	defer func() { stopMem(); memWG.Wait() }()

	if err := l.declareExperts(ctx); err != nil {
		return nil, err
	}
	if opts.Homeserver != "" {
		if err := l.openMatrixRooms(ctx); err != nil {
			return nil, err
		}
	}
	setupPosts := len(l.ws.Posts())

	start := time.Now()
	deadline := start.Add(opts.Duration + opts.Settle)
	askCtx, stopAsking := context.WithDeadline(ctx, deadline)
	defer stopAsking()
	var gen sync.WaitGroup
	gen.Go(func() { l.ask(askCtx, core.Platform("slack"), opts.Rate, start) })
	if opts.Homeserver != "" && opts.MatrixRate > 0 {
		gen.Go(func() { l.ask(askCtx, matrix.Platform, opts.MatrixRate, start) })
	}
	var faultErr error
	if opts.Fault != nil {
		gen.Go(func() {
			if !sleepCtx(askCtx, opts.FaultAt) {
				return
			}
			faultErr = opts.Fault(askCtx, l)
		})
	}
	gen.Wait()
	if faultErr != nil {
		return nil, fmt.Errorf("bench load: fault: %w", faultErr)
	}
	settled, err := l.settle(ctx, deadline)
	if err != nil {
		return nil, err
	}
	rep, err := l.report(ctx, start, setupPosts)
	if err != nil {
		return nil, err
	}
	rep.Settled = settled
	return rep, nil
}

// Start starts a fresh service on the run's database: store, router
// loaded from it, pipeline and adapters, and waits until the adapters are
// connected.
func (l *loadRun) Start(ctx context.Context) error {
	store, err := sqlstore.Open(ctx, l.opts.Database)
	if err != nil {
		return fmt.Errorf("bench load: open %s: %w", sqlstore.DialectOf(l.opts.Database), err)
	}
	router := match.NewRouter(match.NewEngine(match.DefaultConfig()))
	if err := router.Load(ctx, store); err != nil {
		store.Close()
		return fmt.Errorf("bench load: load the router: %w", err)
	}
	ncfg := core.DefaultConfig()
	ncfg.DailyBudget = 1000
	net, err := core.NewNetwork(store, router, core.SystemClock{}, ncfg)
	if err != nil {
		store.Close()
		return err
	}
	// Per-account rate limits are off: a flood from one account is not
	// the load under study, and the askers here write every few seconds.
	bcfg := bots.DefaultConfig()
	bcfg.Limit = bots.RateLimit{}
	bot, err := bots.New(net, bcfg, l.log)
	if err != nil {
		store.Close()
		return err
	}
	n := &loadNode{store: store}
	inbox := bots.InboxFunc(func(ctx context.Context, ev bots.Event) error { return n.pipe.Deliver(ctx, ev) })
	sa, err := slackad.New(l.scfg, inbox, l.log)
	if err != nil {
		store.Close()
		return err
	}
	senders := []bots.Sender{sa}
	var ma *matrix.Adapter
	if l.opts.Homeserver != "" {
		if ma, err = matrix.New(l.mcfg, inbox, store, store.DB().DB, l.log); err != nil {
			store.Close()
			return err
		}
		senders = append(senders, ma)
	}
	pcfg := pipelineConfig(store.Dialect(), time.Hour)
	pcfg.Poll = 100 * time.Millisecond
	if l.opts.Lease > 0 {
		pcfg.Lease = l.opts.Lease
	}
	if n.pipe, err = bots.NewPipeline(store, bot, senders, core.SystemClock{}, pcfg, l.log, nil); err != nil {
		store.Close()
		return err
	}
	nctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.cancel = cancel
	n.wg.Go(func() { n.pipe.Run(nctx) })
	n.wg.Go(func() {
		if err := sa.Run(nctx); err != nil {
			l.log.Error("bench load: slack adapter stopped", "err", err)
		}
	})
	if ma != nil {
		n.wg.Go(func() {
			if err := ma.Run(nctx); err != nil {
				l.log.Error("bench load: matrix adapter stopped", "err", err)
			}
		})
	}
	if l.opts.Transport == slacktest.SocketMode {
		l.ws.WaitConnected(l.tb)
	}
	if ma != nil {
		wctx, wcancel := context.WithTimeout(nctx, time.Minute)
		ma.Encrypted(wctx) // returns once logged in
		wcancel()
	}
	l.mu.Lock()
	l.node = n
	l.mu.Unlock()
	return nil
}

// Kill stops the service abruptly, as a crash would: its context is
// cancelled with work in flight (a transaction, a send, a delivery not yet
// acknowledged to Slack), nothing is drained, and its database connections
// are closed. Requests Slack sent meanwhile stay unacknowledged, so Slack
// sends them again.
func (l *loadRun) Kill() {
	l.mu.Lock()
	n := l.node
	l.node = nil
	l.mu.Unlock()
	if n == nil {
		return
	}
	n.cancel()
	n.wg.Wait()
	n.store.Close()
}

// Restart kills the service and starts a fresh one on the same database.
func (l *loadRun) Restart(ctx context.Context) error {
	l.Kill()
	l.mu.Lock()
	l.restarts++
	l.mu.Unlock()
	return l.Start(ctx)
}

// Workspace is the fake Slack workspace, for faults to act on.
func (l *loadRun) Workspace() *slacktest.Workspace { return l.ws }

// current returns the running service, nil between a kill and a start.
func (l *loadRun) current() *loadNode {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.node
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sampleMemory records the peak of the Go heap in use until ctx is done.
func (l *loadRun) sampleMemory(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > l.heapPeak.Load() {
			l.heapPeak.Store(m.HeapInuse)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func expertUser(i int) slacktest.User {
	return slacktest.User{ID: fmt.Sprintf("UEXP%05d", i), Name: fmt.Sprintf("expert%d", i)}
}

// topics is how many topics the experts cover, three experts each.
func (l *loadRun) topics() int { return l.opts.Experts / 3 }

// declareExperts has every expert declare their topic in a DM to the bot,
// and waits until the bot confirmed to each.
func (l *loadRun) declareExperts(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	next := atomic.Int64{}
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= l.opts.Experts {
					return
				}
				u := expertUser(i)
				if err := l.ws.Deliver(l.ws.DM(u, "!expert "+topicWord(i%l.topics()))); err != nil {
					select {
					case errs <- fmt.Errorf("bench load: declare expert %s: %w", u.ID, err):
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	// Every expert hears back once in their DM.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if len(l.ws.Posts()) >= l.opts.Experts {
			return nil
		}
		if time.Now().After(deadline) || !sleepCtx(ctx, 100*time.Millisecond) {
			return fmt.Errorf("bench load: %d of %d experts confirmed", len(l.ws.Posts()), l.opts.Experts)
		}
	}
}

// openMatrixRooms registers the Matrix askers, each with a room the bot
// joins.
func (l *loadRun) openMatrixRooms(ctx context.Context) error {
	bot := id.UserID(l.mcfg.User)
	for i := range l.opts.MatrixRooms {
		u := matrixtest.Register(l.tb, l.opts.Homeserver, fmt.Sprintf("asker%d", i))
		room := u.CreateRoom(l.tb, []id.UserID{bot})
		l.mAskers = append(l.mAskers, u)
		l.mRooms = append(l.mRooms, room)
	}
	for i, u := range l.mAskers {
		u.WaitJoined(l.tb, l.mRooms[i], bot)
	}
	return ctx.Err()
}

// ask asks questions on platform at rate per second from start for the
// run's duration, each in its own goroutine (so a slow acknowledgement
// does not slow the others), and waits for their deliveries.
func (l *loadRun) ask(ctx context.Context, platform core.Platform, rate float64, start time.Time) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, 128)
	interval := time.Duration(float64(time.Second) / rate)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	i := 0
	for {
		due := int(time.Since(start)/interval) + 1
		if limit := int(l.opts.Duration / interval); due > limit {
			due = limit
		}
		for ; i < due; i++ {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			q := &loadQuestion{platform: platform}
			l.mu.Lock()
			q.token = fmt.Sprintf("LQ%07d", len(l.qs))
			l.qs = append(l.qs, q)
			l.mu.Unlock()
			n := i
			wg.Go(func() {
				defer func() { <-slots }()
				if platform == matrix.Platform {
					l.askMatrix(ctx, q, n)
				} else {
					l.askSlack(ctx, q, n)
				}
			})
		}
		if time.Since(start) >= l.opts.Duration {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// questionText is the text of the question with token on topic.
func questionText(token, topic string) string {
	return fmt.Sprintf("Qui connaît la procédure %s pour notre service ? (réf %s)", topic, token)
}

// askSlack has asker n mention the bot in their channel, and delivers the
// request until the adapter acknowledges it, Copies times at once.
func (l *loadRun) askSlack(ctx context.Context, q *loadQuestion, n int) {
	a := n % l.opts.Askers
	u := slacktest.User{ID: fmt.Sprintf("UASK%05d", a), Name: fmt.Sprintf("asker%d", a)}
	q.channel = fmt.Sprintf("CLOAD%05d", a)
	req := l.ws.Mention(u, q.channel, "", questionText(q.token, topicWord(n%l.topics())))
	q.ts = req.TS
	q.posted = time.Now()
	var ok atomic.Bool
	var wg sync.WaitGroup
	for range l.opts.Copies {
		wg.Go(func() {
			for ctx.Err() == nil {
				l.deliveries.Add(1)
				if err := l.ws.Deliver(req); err == nil {
					ok.Store(true)
					return
				}
				sleepCtx(ctx, 50*time.Millisecond)
			}
		})
	}
	wg.Wait()
	l.mu.Lock()
	q.ok = ok.Load()
	l.mu.Unlock()
}

// askMatrix has the asker of a room write the question there, again with
// the same transaction id until the homeserver stores it.
func (l *loadRun) askMatrix(ctx context.Context, q *loadQuestion, n int) {
	r := n % len(l.mRooms)
	u := l.mAskers[r]
	q.room = l.mRooms[r]
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "!ask " + questionText(q.token, topicWord(n%l.topics()))}
	q.posted = time.Now()
	for ctx.Err() == nil {
		l.deliveries.Add(1)
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := u.Client.SendMessageEvent(rctx, q.room, event.EventMessage, content, mautrix.ReqSendEvent{TransactionID: "load-" + q.token})
		cancel()
		if err == nil {
			l.mu.Lock()
			q.event, q.ok = resp.EventID, true
			l.mu.Unlock()
			return
		}
		sleepCtx(ctx, 200*time.Millisecond)
	}
}

// settle waits until every accepted question is stored and nothing is left
// to handle or send, or until deadline; it reports whether it got there.
func (l *loadRun) settle(ctx context.Context, deadline time.Time) (bool, error) {
	l.mu.Lock()
	accepted := 0
	for _, q := range l.qs {
		if q.ok {
			accepted++
		}
	}
	l.mu.Unlock()
	// Settled: nothing pending and every accepted question stored, three
	// checks in a row; or nothing pending for 30 s, when a question never
	// reached the service (a homeserver that lost it): the report tells.
	quiet, idle := 0, 0
	for time.Now().Before(deadline) {
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return false, ctx.Err()
		}
		n := l.current()
		if n == nil {
			continue
		}
		events, messages, err := n.store.Backlog(ctx)
		if err != nil {
			quiet = 0
			continue // a database restarting
		}
		var stored int
		if err := n.store.DB().GetContext(ctx, &stored, "SELECT COUNT(*) FROM questions"); err != nil {
			quiet = 0
			continue
		}
		switch {
		case events == 0 && messages == 0 && stored >= accepted:
			quiet++
		case events == 0 && messages == 0:
			quiet, idle = 0, idle+1
		default:
			quiet, idle = 0, 0
		}
		if quiet >= 3 || idle >= 150 {
			return true, nil
		}
	}
	return false, nil
}

// slackKey returns the outbox key a post carries in its metadata.
func slackKey(p slacktest.Post) string {
	var m struct {
		Payload struct {
			Key string `json:"key"`
		} `json:"event_payload"`
	}
	if json.Unmarshal([]byte(p.Metadata), &m) != nil {
		return ""
	}
	return m.Payload.Key
}

// report checks the invariants and computes the figures of the run.
func (l *loadRun) report(ctx context.Context, start time.Time, setupPosts int) (*loadReport, error) {
	n := l.current()
	if n == nil {
		return nil, errors.New("bench load: the service is not running")
	}
	l.mu.Lock()
	qs := slices.Clone(l.qs)
	restarts := l.restarts
	l.mu.Unlock()
	rep := &loadReport{
		Database: string(n.store.Dialect()), Platforms: []string{"slack"}, Transport: "socket_mode",
		DurationS: l.opts.Duration.Seconds(), RateAsked: l.opts.Rate + l.opts.MatrixRate*btof(l.opts.Homeserver != ""),
		Askers: l.opts.Askers, Experts: l.opts.Experts, Restarts: restarts, Deliveries: l.deliveries.Load(),
		HeapMB: float64(l.heapPeak.Load()) / (1 << 20), RSSMB: peakRSSMB(),
		PacingCeiling: float64(min(l.opts.Askers, l.topics())),
	}
	if l.opts.Transport == slacktest.EventsAPI {
		rep.Transport = "events_api"
	}
	if l.opts.Homeserver != "" {
		rep.Platforms = append(rep.Platforms, "matrix")
	}

	// What the database holds: each accepted question once.
	var bodies []struct {
		Body    string `db:"body"`
		Message string `db:"origin_message"`
		State   string `db:"state"`
	}
	if err := n.store.DB().SelectContext(ctx, &bodies, "SELECT body, origin_message, state FROM questions"); err != nil {
		return nil, fmt.Errorf("bench load: read questions: %w", err)
	}
	// A question is stored once per message that asked it: by token, and
	// by the platform's message (a homeserver that stored an asker's retry
	// twice made two messages, which is no fault of the service).
	stored := map[string]int{}
	perMessage := map[string]int{}
	for _, b := range bodies {
		stored[tokenPattern.FindString(b.Body)]++
		perMessage[b.Message]++
		if b.State == "open" {
			rep.Unrouted++
		}
	}
	for _, c := range perMessage {
		rep.StoredTwice += c - 1
	}
	if err := n.store.DB().GetContext(ctx, &rep.SetAside, "SELECT (SELECT COUNT(*) FROM inbox WHERE state = 'failed') + (SELECT COUNT(*) FROM outbox WHERE state = 'failed')"); err != nil {
		return nil, fmt.Errorf("bench load: count failed rows: %w", err)
	}

	// What Slack's people saw.
	posts := l.ws.Posts()[setupPosts:]
	byText := map[string]int{}
	byKey := map[string]int{}
	inThread := map[string][]slacktest.Post{}
	dms := map[string][]slacktest.Post{}
	var last time.Time
	for _, p := range posts {
		byText[p.Channel+"\x00"+p.Text]++
		if k := slackKey(p); k != "" {
			byKey[k]++
		}
		if p.Thread != "" {
			inThread[p.Channel+"/"+p.Thread] = append(inThread[p.Channel+"/"+p.Thread], p)
		}
		if strings.HasPrefix(p.Channel, "D") {
			if tok := tokenPattern.FindString(p.Text); tok != "" {
				dms[tok] = append(dms[tok], p)
			}
		}
		if p.At.After(last) {
			last = p.At
		}
	}
	for _, c := range byText {
		rep.DupPostsByText += c - 1
	}
	for _, c := range byKey {
		rep.DupPostsByKey += c - 1
	}
	rep.MessagesSent = len(posts)

	// What Matrix's askers saw: the bot's messages in the thread of each
	// question.
	matrixAcks := map[id.EventID][]*event.Event{}
	inRoom := map[id.EventID]bool{}
	if l.opts.Homeserver != "" {
		bot := id.UserID(l.mcfg.User)
		for i, room := range l.mRooms {
			evts, err := roomEvents(ctx, l.mAskers[i].Client, room)
			if err != nil {
				return nil, fmt.Errorf("bench load: read %s: %w", room, err)
			}
			seen := map[string]int{}
			for _, evt := range evts {
				inRoom[evt.ID] = true
				if evt.Sender != bot || evt.Type != event.EventMessage {
					continue
				}
				msg := evt.Content.AsMessage()
				seen[msg.Body]++
				if root := msg.RelatesTo.GetThreadParent(); root != "" {
					matrixAcks[root] = append(matrixAcks[root], evt)
				}
				if at := time.UnixMilli(evt.Timestamp); at.After(last) && at.After(start) {
					last = at
				}
				rep.MessagesSent++
			}
			for _, c := range seen {
				rep.DupPostsByText += c - 1
			}
		}
	}

	var dmLat, ackLat []float64
	for _, q := range qs {
		if !q.ok {
			continue
		}
		if q.platform == matrix.Platform && l.opts.Homeserver != "" && !inRoom[q.event] && stored[q.token] == 0 {
			rep.HomeserverLost++
			continue
		}
		rep.Questions++
		if stored[q.token] == 0 {
			rep.Unstored++
		}
		var acks int
		var ackAt time.Time
		if q.platform == matrix.Platform {
			rep.MatrixQuestions++
			as := matrixAcks[q.event]
			acks = len(as)
			if acks > 0 {
				ackAt = time.UnixMilli(as[0].Timestamp)
			}
		} else {
			rep.SlackQuestions++
			as := inThread[q.channel+"/"+q.ts]
			acks = len(as)
			if acks > 0 {
				ackAt = as[0].At
			}
		}
		switch {
		case acks == 0:
			rep.Unacknowledged++
		case acks > 1:
			rep.AckedTwice += acks - 1
		}
		if acks > 0 {
			ackLat = append(ackLat, float64(ackAt.Sub(q.posted).Microseconds())/1000)
		}
		if d := dms[q.token]; len(d) > 0 {
			first := d[0].At
			for _, p := range d {
				if p.At.Before(first) {
					first = p.At
				}
			}
			rep.DMs += len(d)
			dmLat = append(dmLat, float64(first.Sub(q.posted).Microseconds())/1000)
		}
	}
	rep.Lost = max(rep.Unstored, rep.Unacknowledged)
	rep.Duplicated = rep.StoredTwice + max(rep.AckedTwice, rep.DupPostsByText, rep.DupPostsByKey)
	if !last.IsZero() {
		rep.WindowS = last.Sub(start).Seconds()
	}
	if rep.WindowS > 0 {
		rep.EventsPerS = float64(rep.Questions) / rep.WindowS
		rep.MessagesPerS = float64(rep.Questions+rep.MessagesSent) / rep.WindowS
	}
	rep.DMP50ms, rep.DMP99ms = round1(percentile(dmLat, 0.5)), round1(percentile(dmLat, 0.99))
	rep.AckP50ms, rep.AckP99ms = round1(percentile(ackLat, 0.5)), round1(percentile(ackLat, 0.99))
	rep.HeapMB, rep.RSSMB = round1(rep.HeapMB), round1(rep.RSSMB)
	rep.WindowS, rep.EventsPerS, rep.MessagesPerS = round1(rep.WindowS), round1(rep.EventsPerS), round1(rep.MessagesPerS)
	return rep, nil
}

func btof(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func round1(f float64) float64 {
	if f != f { // NaN: nothing measured
		return 0
	}
	return float64(int64(f*10+0.5)) / 10
}

// roomEvents returns every event of room's timeline, oldest first, with
// their contents parsed.
func roomEvents(ctx context.Context, cli *mautrix.Client, room id.RoomID) ([]*event.Event, error) {
	var out []*event.Event
	from := ""
	for {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		resp, err := cli.Messages(rctx, room, from, "", mautrix.DirectionBackward, nil, 500)
		cancel()
		if err != nil {
			return nil, err
		}
		for _, evt := range resp.Chunk {
			if evt.Content.Parsed == nil {
				_ = evt.Content.ParseRaw(evt.Type)
			}
			out = append(out, evt)
		}
		if resp.End == "" || len(resp.Chunk) == 0 {
			break
		}
		from = resp.End
	}
	slices.Reverse(out)
	return out, nil
}

// peakRSSMB is the peak resident set of this process (VmHWM), in MB.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// benchTB lets "entraide bench load" use the test fakes (slacktest,
// matrixtest) outside "go test": they report through a testing.TB. Only
// the methods below are called; a fatal report ends the run with an
// error.
type benchTB struct {
	testing.TB // nil: any other method panics

	mu       sync.Mutex
	cleanups []func()
	errs     []string
}

// benchFatal is the panic of a fatal report, recovered by runBenchLoad.
type benchFatal string

func (b *benchTB) Helper()      {}
func (b *benchTB) Name() string { return "entraide-bench-load" }
func (b *benchTB) Cleanup(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cleanups = append(b.cleanups, f)
}
func (b *benchTB) Log(args ...any)                 {}
func (b *benchTB) Logf(format string, args ...any) {}
func (b *benchTB) Error(args ...any)               { b.record(fmt.Sprint(args...)) }
func (b *benchTB) Errorf(format string, args ...any) {
	b.record(fmt.Sprintf(format, args...))
}
func (b *benchTB) Fatal(args ...any) { panic(benchFatal(fmt.Sprint(args...))) }
func (b *benchTB) Fatalf(format string, args ...any) {
	panic(benchFatal(fmt.Sprintf(format, args...)))
}
func (b *benchTB) Skipf(format string, args ...any) {
	panic(benchFatal(fmt.Sprintf(format, args...)))
}
func (b *benchTB) Failed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.errs) > 0
}

func (b *benchTB) record(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, s)
}

// close runs the cleanups, last registered first.
func (b *benchTB) close() {
	b.mu.Lock()
	fs := b.cleanups
	b.cleanups = nil
	b.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// runBenchLoad is "entraide bench load".
func runBenchLoad(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("entraide bench load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	database := fs.String("database", "", "a postgres:// URL (a schema of its own is created and dropped) or a SQLite path (default: a temporary SQLite file)")
	duration := fs.Duration("duration", 30*time.Second, "how long questions are asked")
	rate := fs.Float64("rate", 100, "questions per second asked on Slack")
	askers := fs.Int("askers", 0, "Slack askers, one channel each (default: 3 per question per second, so that Slack's pacing of one message per conversation per second is not what is measured)")
	experts := fs.Int("experts", 0, "experts declared on Slack, three per topic (default: 9 per question per second)")
	withMatrix := fs.Bool("matrix", false, "also ask in Matrix rooms, on the homeserver of --homeserver or "+matrixtest.HomeserverEnv)
	homeserver := fs.String("homeserver", "", "Matrix homeserver URL with shared-secret registration (default: $"+matrixtest.HomeserverEnv+")")
	matrixRate := fs.Float64("matrix-rate", 5, "questions per second asked in Matrix rooms, with --matrix")
	matrixRooms := fs.Int("matrix-rooms", 4, "Matrix rooms (one asker each), with --matrix")
	transport := fs.String("transport", "socket", "how Slack's requests come: socket (Socket Mode) or http (Events API)")
	settle := fs.Duration("settle", 2*time.Minute, "how long to wait, after the last question, for everything to be sent")
	asJSON := fs.Bool("json", false, "print one JSON object")
	verbose := fs.Bool("v", false, "write the service's warnings and errors to stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: entraide bench load [--json] [--database URL] [--duration 30s] [--rate N] [--askers N] [--experts N] [--matrix]

Drives the real Slack adapter through the fake Slack workspace (slacktest:
Web API, Socket Mode or the Events API), and with --matrix the real Matrix
adapter through a real homeserver, with the durable pipeline and store, in
one process: askers mention the bot in their channels (and write in Matrix
rooms), experts declared on Slack receive the routed DMs. Reports questions
handled per second end to end, latency from a question to its first expert
DM and to the asker's acknowledgement, messages sent, memory, and the
invariants: every accepted question stored and acknowledged exactly once,
every message seen once by its recipient (by channel and text, and by
outbox key).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("bench load: %w", err)
	}
	if *askers == 0 {
		*askers = max(1, int(3**rate+0.5))
	}
	if *experts == 0 {
		*experts = max(3, int(9**rate+0.5))
	}
	opts := loadOptions{Duration: *duration, Rate: *rate, Askers: *askers, Experts: *experts, Settle: *settle,
		MatrixRate: *matrixRate, MatrixRooms: *matrixRooms}
	switch *transport {
	case "socket":
		opts.Transport = slacktest.SocketMode
	case "http":
		opts.Transport = slacktest.EventsAPI
	default:
		return fmt.Errorf("bench load: --transport %q: want socket or http", *transport)
	}
	if *withMatrix {
		opts.Homeserver = *homeserver
		if opts.Homeserver == "" {
			opts.Homeserver = getenv(matrixtest.HomeserverEnv)
		}
		if opts.Homeserver == "" {
			return fmt.Errorf("bench load: --matrix needs a homeserver: set --homeserver or %s (bash .ci/dendrite-up.sh starts one)", matrixtest.HomeserverEnv)
		}
	}
	if *verbose {
		opts.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	db, cleanup, err := benchDatabase(*database)
	if err != nil {
		return err
	}
	defer cleanup()
	opts.Database = db

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench load: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench load: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	tb := &benchTB{}
	defer func() {
		tb.close()
		if r := recover(); r != nil {
			f, ok := r.(benchFatal)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("bench load: %s", string(f))
		}
	}()
	rep, err := runLoad(ctx, tb, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(rep)
	}
	return writeLoadReport(stdout, rep)
}

func writeLoadReport(w io.Writer, r *loadReport) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "load on %s, %s (Slack over %s): %.0f questions/s asked for %.0f s, %d askers, %d experts\n",
		r.Database, strings.Join(r.Platforms, " + "), r.Transport, r.RateAsked, r.DurationS, r.Askers, r.Experts)
	fmt.Fprintf(&sb, "  %d questions (%d Slack, %d Matrix) handled end to end in %.1f s: %.1f questions/s, %.1f messages/s in and out\n",
		r.Questions, r.SlackQuestions, r.MatrixQuestions, r.WindowS, r.EventsPerS, r.MessagesPerS)
	fmt.Fprintf(&sb, "  question -> first expert DM: p50 %.1f ms, p99 %.1f ms; -> acknowledgement: p50 %.1f ms, p99 %.1f ms\n",
		r.DMP50ms, r.DMP99ms, r.AckP50ms, r.AckP99ms)
	fmt.Fprintf(&sb, "  %d messages sent (%d DMs), heap peak %.1f MB, RSS peak %.1f MB\n", r.MessagesSent, r.DMs, r.HeapMB, r.RSSMB)
	fmt.Fprintf(&sb, "  Slack's pacing (1 message per conversation per second) allows %.0f questions/s with these askers and experts\n", r.PacingCeiling)
	fmt.Fprintf(&sb, "  lost %d (unstored %d, unacknowledged %d), duplicated %d (stored twice %d, acknowledged twice %d, posts twice by text %d, by key %d), unrouted %d, set aside %d\n",
		r.Lost, r.Unstored, r.Unacknowledged, r.Duplicated, r.StoredTwice, r.AckedTwice, r.DupPostsByText, r.DupPostsByKey, r.Unrouted, r.SetAside)
	if !r.Settled {
		sb.WriteString("  NOT SETTLED: work was still pending when --settle ran out\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
