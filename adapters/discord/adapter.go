// Package discord is entraide's Discord adapter. It turns what people do in
// a server or in direct messages (application commands, mentions of the
// bot, direct messages, buttons and modals, and plain channel messages in
// the optional message content mode) into bots.Event values delivered to a
// bots.Inbox, and sends the bot's messages as Discord markdown with buttons
// through the REST API.
//
// The gateway (the websocket that carries events, its heartbeats, resume
// and reconnection) is github.com/bwmarrin/discordgo's. Everything the
// adapter sends goes through a small REST client of its own over net/http:
// it targets Config.APIURL (API v10), sends allowed_mentions on every
// message, keeps a global budget of 50 requests per second, and retries a
// 429 a bounded number of times before handing it back as a
// *bots.RetryAfterError. discordgo's own REST client is used only for the
// gateway address, pointed at Config.APIURL's /gateway/bot through a
// rewriting transport, with its unbounded 429 retries off.
//
// Identities: a Discord user is core.Identity{Platform: "discord", User: id}
// with the user's snowflake id. A room is a channel id (a guild text
// channel, a thread, or a direct message channel). Event ids are the
// interaction id for application commands, buttons and modal submissions,
// and the message id for messages: the gateway may replay an event after a
// resume and the backfill may read a message again, and both keep the id,
// for the inbox to drop the duplicate. An event's Tenant is the guild id of
// the server it comes from, empty in a direct message.
//
// Files: a message's File is uploaded as an attachment (multipart/form-data,
// payload_json and files[0]), its name sanitised; a file over
// bots.MaxFileSize is refused as undeliverable.
//
// Threads: Discord threads are channels. An answer to a question goes into
// a thread started on the question message (POST
// /channels/{channel}/messages/{message}/threads, whose thread has the
// message's id), created once and remembered through the Checkpointer. A
// question asked with /ask in a channel is first posted there by the bot, so
// that it has a message to start the thread on; a question asked by
// mentioning the bot has the person's own message. A message written inside
// a thread has the thread as its room (and as its thread, when the adapter
// knows the channel is a thread): replies go into that thread.
package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"entraide/bots"
	"entraide/core"
)

// Platform is Discord's platform name.
const Platform core.Platform = "discord"

// Checkpointer keeps small values across restarts: created threads, the
// last message seen in each watched channel, the channels watched.
// adapters/sqlstore.Store implements it.
type Checkpointer interface {
	Checkpoint(ctx context.Context, key string) (string, error)
	SetCheckpoint(ctx context.Context, key, value string) error
}

// Adapter connects entraide to Discord as one bot application.
type Adapter struct {
	cfg   Config
	inbox bots.Inbox
	store Checkpointer
	log   *slog.Logger
	api   *rest
	clock clock

	// minBackoff and maxBackoff bound the waits between attempts to
	// register commands and to open the gateway.
	minBackoff, maxBackoff time.Duration
	// interactionTTL is how long an interaction's token can send follow-ups.
	interactionTTL time.Duration

	mu       sync.Mutex
	botID    string
	dms      map[string]string       // user id -> direct message channel id
	threads  map[string]string       // channel/root -> channel to post in
	known    map[string]bool         // channel ids known to be threads
	names    map[string]string       // root message id -> thread name
	anchors  map[string]*anchor      // interaction id -> question posted for it
	pending  map[string]*interaction // interaction id -> deferred response to follow up
	handled  map[string]time.Time    // interaction id -> when it was first handled
	backfill sync.Once
}

var _ bots.Sender = (*Adapter)(nil)

// New returns a Discord adapter that delivers events to inbox and keeps its
// checkpoints in store. It does not connect: Run does.
func New(cfg Config, inbox bots.Inbox, store Checkpointer, log *slog.Logger) (*Adapter, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if inbox == nil || store == nil {
		return nil, errors.New("discord: new adapter: nil inbox or checkpointer")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := systemClock()
	return &Adapter{
		cfg:   cfg,
		inbox: inbox,
		store: store,
		log:   log.With("platform", string(Platform)),
		api: &rest{base: cfg.APIURL, token: cfg.Token, client: &http.Client{Timeout: restTimeout},
			bucket: newBucket(c, globalRequestsPerSec), retries: maxRESTRetries},
		clock:          c,
		minBackoff:     time.Second,
		maxBackoff:     2 * time.Minute,
		interactionTTL: 14 * time.Minute,
		dms:            map[string]string{},
		threads:        map[string]string{},
		known:          map[string]bool{},
		names:          map[string]string{},
		anchors:        map[string]*anchor{},
		pending:        map[string]*interaction{},
		handled:        map[string]time.Time{},
	}, nil
}

// Platform implements bots.Sender.
func (a *Adapter) Platform() core.Platform { return Platform }

// Run registers the application commands, connects to the gateway and
// delivers events until ctx is done, then closes the connection and waits
// for the events being handled. It returns nil after a graceful stop, or
// the error that keeps the bot from starting (a token or application id
// Discord refuses).
func (a *Adapter) Run(ctx context.Context) error {
	if err := a.retry(ctx, "register commands", a.registerCommands); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	run := &runState{ctx: ctx}
	s, err := a.session(run)
	if err != nil {
		return err
	}
	if err := a.retry(ctx, "open the gateway", func(context.Context) error {
		if err := s.Open(); err != nil {
			return fmt.Errorf("discord: open gateway: %w", err)
		}
		return nil
	}); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	<-ctx.Done()
	run.stop()
	if err := s.Close(); err != nil {
		a.log.Warn("discord: close gateway", "err", err)
	}
	run.wg.Wait()
	return nil
}

// retry runs f until it succeeds, fails for good (Discord refused the
// credentials or the request), or ctx is done, waiting longer after each
// transient failure.
func (a *Adapter) retry(ctx context.Context, what string, f func(context.Context) error) error {
	wait := a.minBackoff
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		if ae := apiErrorOf(err); ae != nil && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusTooManyRequests {
			return fmt.Errorf("%w (check %s and %s)", err, EnvToken, EnvAppID)
		}
		a.log.Warn("discord: "+what+" failed, retrying", "err", err, "in", wait)
		if !a.clock.sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(2*wait, a.maxBackoff)
	}
}

// runState is one Run: its context, and the event handlers in flight.
type runState struct {
	ctx     context.Context
	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup
}

// enter counts a handler in, unless the run is stopping.
func (r *runState) enter() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return false
	}
	r.wg.Add(1)
	return true
}

func (r *runState) isStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// goTracked runs f in a goroutine counted with the handlers, unless the
// run is stopping.
func (r *runState) goTracked(f func()) {
	if !r.enter() {
		return
	}
	go func() {
		defer r.wg.Done()
		f()
	}()
}

func (r *runState) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
}

// session returns a discordgo session for the gateway only: least intents,
// no state cache, no unbounded 429 retries, the gateway address taken from
// Config.APIURL's /gateway/bot. Resuming after a dropped connection is
// discordgo's (ShouldReconnectOnError, on).
func (a *Adapter) session(run *runState) (*discordgo.Session, error) {
	s, err := discordgo.New("Bot " + a.cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("discord: new session: %w", err)
	}
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 0
	s.ShouldReconnectOnError = true
	s.StateEnabled = false
	// One event at a time, in the gateway's order: a person's "!expert"
	// then "!ask" reach the inbox in that order.
	s.SyncEvents = true
	s.LogLevel = -1 // discordgo logs through the standard log package; the adapter logs what matters
	s.Identify.Intents = discordgo.Intent(a.cfg.intents())
	to, err := url.Parse(a.cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("discord: %s: %w", EnvAPIURL, err)
	}
	s.Client = &http.Client{Timeout: restTimeout, Transport: &rewrite{from: discordgo.EndpointAPI, to: to, next: http.DefaultTransport}}
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		if !run.enter() {
			return
		}
		defer run.wg.Done()
		a.dispatch(run, e.Type, e.RawData)
	})
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
		if !run.isStopped() {
			a.log.Warn("discord: gateway disconnected; discordgo reconnects and resumes")
		}
	})
	s.AddHandler(func(s *discordgo.Session, _ *discordgo.Connect) {
		// discordgo's reconnection loop does not know Run's context: a
		// connection it opens after Run stopped is closed at once.
		if run.isStopped() {
			go s.Close()
		}
	})
	return s, nil
}

// rewrite sends discordgo's requests for Discord's API to Config.APIURL, and
// its gateway address request to /gateway/bot, as the issue asks.
type rewrite struct {
	from string
	to   *url.URL
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	u := req.URL.String()
	if !strings.HasPrefix(u, t.from) {
		return t.next.RoundTrip(req)
	}
	rest := strings.TrimPrefix(u, t.from)
	if rest == "gateway" {
		rest = "gateway/bot"
	}
	nu, err := url.Parse(strings.TrimRight(t.to.String(), "/") + "/" + rest)
	if err != nil {
		return nil, fmt.Errorf("discord: rewrite %s: %w", req.URL.Path, err)
	}
	r := req.Clone(req.Context())
	r.URL, r.Host = nu, nu.Host
	return t.next.RoundTrip(r)
}
