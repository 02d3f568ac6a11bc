// Command entraide runs the entraide bot: questions asked in chat rooms are
// routed to the best-matched experts, and their answers come back to the
// asker's thread.
//
// Run "entraide --help" for the commands and settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // time zones even where the system has none

	"entraide/adapters/console"
	"entraide/adapters/feeds"
	"entraide/adapters/leader"
	"entraide/adapters/metrics"
	"entraide/adapters/sqlstore"
	"entraide/bots"
	"entraide/core"
	"entraide/core/match"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `entraide routes questions asked in chat rooms to the experts best placed to answer.

Usage:
  entraide [settings] [command] [command settings]

Commands:
  run       serve the configured platforms (the default; with none configured,
            the console on standard input)
  console   talk to entraide from the terminal: lines "alice> !ask ...",
            "alice@#room> ...", "alice@dm> ..."
  demo      play a short French scenario through the console
  migrate   apply the database migrations and exit
  config check
            check the settings (environment and flags) and the platforms'
            variables without connecting to anything, and say what is wrong
  bench     benchmarks: "entraide bench match --help", "entraide bench scale --help",
            "entraide bench intake --help"
  version   print the version
  help      print this help

Settings (flags override the environment, which overrides the file that
ENTRAIDE_CONFIG names: a YAML mapping of the same variables):
`

// config is the typed configuration of the process, filled from the
// environment and flags.
type config struct {
	Database    string
	Router      string
	TimeZone    string
	LogLevel    string
	LogFormat   string
	Bot         bots.Config
	Network     core.Config
	Console     console.Config
	consoleEcho bool
	// Offer feeds and calendars to import, comma-separated addresses.
	Feeds, Calendars string
	FeedInterval     time.Duration
	// HTTPAddr is where calendars are served ("" for nowhere).
	HTTPAddr string
	// Admins and DigestSchedule are read into Network by Validate.
	Admins, DigestSchedule string
	// SessionKey signs the animators' page sessions.
	SessionKey string
	// Access is read into Network.Access by Validate.
	Access string
	// MessagesRetention is how long delivery rows are kept.
	MessagesRetention time.Duration
	// LeaseTTL is how long a replica holds a platform's connection
	// without renewing its lease.
	LeaseTTL time.Duration
}

// setting is one configuration variable: its flag, environment variable and
// help.
type setting struct {
	flag, env, help string
	value           flag.Value
}

// settings lists every setting of c.
func (c *config) settings() []setting {
	return []setting{
		{"database", "ENTRAIDE_DATABASE", "a postgres:// URL, or a SQLite file path", (*stringValue)(&c.Database)},
		{"router", "ENTRAIDE_ROUTER", "how experts are matched: match (learned from topics and answers) or topics (declared topics only)", (*stringValue)(&c.Router)},
		{"lang", "ENTRAIDE_LANG", "language used with people who chose none: fr or en", (*stringValue)(&c.Bot.Lang)},
		{"prefix", "ENTRAIDE_PREFIX", "prefix of chat commands", (*stringValue)(&c.Bot.Prefix)},
		{"route-limit", "ENTRAIDE_ROUTE_LIMIT", "experts asked about each question", (*intValue)(&c.Network.RouteLimit)},
		{"daily-budget", "ENTRAIDE_DAILY_BUDGET", "questions an expert is asked per 24 hours at most", (*intValue)(&c.Network.DailyBudget)},
		{"escalate-after", "ENTRAIDE_ESCALATE_AFTER", "how long a question waits for an answer before more experts are asked (Go duration, such as 24h)", (*durationValue)(&c.Network.EscalateAfter)},
		{"escalation-rounds", "ENTRAIDE_ESCALATION_ROUNDS", "how many times an unanswered question goes to new experts before it expires", (*intValue)(&c.Network.EscalationRounds)},
		{"timezone", "ENTRAIDE_TIMEZONE", "time zone of experts' quiet hours (IANA name)", (*stringValue)(&c.TimeZone)},
		{"event-reminder", "ENTRAIDE_EVENT_REMINDER", "how long before an event those who answered going or maybe are reminded", (*durationValue)(&c.Network.Bulletin.EventReminder)},
		{"offer-reminder", "ENTRAIDE_OFFER_REMINDER", "how long before an offer closes those who saved it are reminded", (*durationValue)(&c.Network.Bulletin.OfferReminder)},
		{"notice-budget", "ENTRAIDE_NOTICE_BUDGET", "offers and events a subscriber hears of at once per 24 hours at most; the rest waits for the daily digest", (*intValue)(&c.Network.Bulletin.NoticeBudget)},
		{"digest-hour", "ENTRAIDE_DIGEST_HOUR", "hour (0-23, in ENTRAIDE_TIMEZONE) of the daily and weekly (Monday) digests of subscriptions", (*intValue)(&c.Network.Bulletin.DigestHour)},
		{"feeds", "ENTRAIDE_FEEDS", "job offer feeds to import (RSS, Atom or JSON Feed addresses, comma-separated)", (*stringValue)(&c.Feeds)},
		{"calendars", "ENTRAIDE_CALENDARS", "event calendars to import (iCalendar addresses, comma-separated)", (*stringValue)(&c.Calendars)},
		{"feed-interval", "ENTRAIDE_FEED_INTERVAL", "time between two polls of a feed or calendar", (*durationValue)(&c.FeedInterval)},
		{"http-addr", "ENTRAIDE_HTTP_ADDR", "address to serve calendars on, such as :8080 (none when empty)", (*stringValue)(&c.HTTPAddr)},
		{"public-url", "ENTRAIDE_PUBLIC_URL", "address where people reach that server, such as https://entraide.example.gouv.fr, for links in messages", (*stringValue)(&c.Bot.PublicURL)},
		{"admins", "ENTRAIDE_ADMINS", "administrators of every community, who give the animator role: platform:user, comma-separated (matrix:@alice:tchap.gouv.fr,slack:U123)", (*stringValue)(&c.Admins)},
		{"digest-schedule", "ENTRAIDE_DIGEST_SCHEDULE", "when community digests are published, in ENTRAIDE_TIMEZONE: days and a time, such as \"mon 09:00\" or \"mon,thu 8h30\"", (*stringValue)(&c.DigestSchedule)},
		{"digest-draft-ahead", "ENTRAIDE_DIGEST_DRAFT_AHEAD", "how long before publication the digest draft goes to the animators", (*durationValue)(&c.Network.Digest.DraftAhead)},
		{"session-key", "ENTRAIDE_SESSION_KEY", "key (32 bytes or more) that signs the animators' page sessions; generated once and kept in the database when unset", (*stringValue)(&c.SessionKey)},
		{"access", "ENTRAIDE_ACCESS", "who may use entraide, per community: community=rule,rule;other=rule with rules slack:<workspace id>, discord:<server id>, matrix:<homeserver> (*.example.org for subdomains), mail:<domain of Tchap ids>, user:<platform>:<id>, <platform>:*; a community without rules is open to all", (*stringValue)(&c.Access)},
		{"rate-user", "ENTRAIDE_RATE_USER", "messages one account may send to the bot, as count/duration such as 30/1m (0 for no limit)", (*rateValue)(&c.Bot.Limit.User)},
		{"rate-room", "ENTRAIDE_RATE_ROOM", "messages to the bot one room may carry, as count/duration such as 120/1m (0 for no limit)", (*rateValue)(&c.Bot.Limit.Room)},
		{"retention-questions", "ENTRAIDE_RETENTION_QUESTIONS", "how long a resolved or expired question keeps its text and its answers' text (such as 730d; 0 keeps them)", (*daysValue)(&c.Network.Retention.Questions)},
		{"retention-bulletin", "ENTRAIDE_RETENTION_BULLETIN", "how long job offers and events are kept after they closed or ended (0 keeps them)", (*daysValue)(&c.Network.Retention.Bulletin)},
		{"retention-audit", "ENTRAIDE_RETENTION_AUDIT", "how long the audit log of accesses to pseudonymous askers is kept (0 keeps it)", (*daysValue)(&c.Network.Retention.Audit)},
		{"retention-pseudonyms", "ENTRAIDE_RETENTION_PSEUDONYMS", "how long after a pseudonymous question closed the link to its author is kept (0 keeps it)", (*daysValue)(&c.Network.Retention.Pseudonyms)},
		{"retention-messages", "ENTRAIDE_RETENTION_MESSAGES", "how long handled platform events, sent messages and done jobs are kept to recognise late duplicates", (*daysValue)(&c.MessagesRetention)},
		{"lease-ttl", "ENTRAIDE_LEASE_TTL", "how long the replica that holds the Matrix, Discord or Slack Socket Mode connection keeps it without renewing its lease in the database (every third of it): another replica takes over that long after it died", (*durationValue)(&c.LeaseTTL)},
		{"console-files-dir", "ENTRAIDE_CONSOLE_FILES_DIR", "directory where the console saves the files the bot sends, such as data exports (none when empty)", (*stringValue)(&c.Console.FilesDir)},
		{"console-room", "ENTRAIDE_CONSOLE_ROOM", "console room of lines that name none", (*stringValue)(&c.Console.Room)},
		{"log-level", "ENTRAIDE_LOG_LEVEL", "debug, info, warn or error", (*stringValue)(&c.LogLevel)},
		{"log-format", "ENTRAIDE_LOG_FORMAT", "text or json", (*stringValue)(&c.LogFormat)},
	}
}

func defaultConfig() config {
	return config{
		Database:       sqlstore.DefaultDatabase,
		Router:         "match",
		TimeZone:       "Europe/Paris",
		LogLevel:       "info",
		LogFormat:      "text",
		Bot:            botDefaults(),
		Network:        core.DefaultConfig(),
		Console:        console.DefaultConfig(),
		FeedInterval:   feeds.DefaultInterval,
		DigestSchedule: "mon 09:00",

		MessagesRetention: bots.DefaultPipelineConfig().Retention,
		LeaseTTL:          leader.DefaultTTL,
	}
}

// fromEnv reads the settings set in the environment.
func (c *config) fromEnv(getenv func(string) string) error {
	for _, s := range c.settings() {
		if v := getenv(s.env); v != "" {
			if err := s.value.Set(v); err != nil {
				return fmt.Errorf("%s=%q: %v", s.env, v, err)
			}
		}
	}
	return nil
}

// flags returns a flag set that fills c.
func (c *config) flags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, s := range c.settings() {
		fs.Var(s.value, s.flag, s.help+" ($"+s.env+")")
	}
	return fs
}

// Validate checks every setting and says which one is wrong.
func (c *config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Database) == "" {
		errs = append(errs, errors.New("ENTRAIDE_DATABASE is empty: give a postgres:// URL or a SQLite file path"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if loc, err := time.LoadLocation(c.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("ENTRAIDE_TIMEZONE=%q: want a time zone name such as Europe/Paris", c.TimeZone))
	} else {
		c.Network.Location = loc
	}
	if c.Router != "match" && c.Router != "topics" {
		errs = append(errs, fmt.Errorf("ENTRAIDE_ROUTER=%q: want match or topics", c.Router))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("ENTRAIDE_LOG_FORMAT=%q: want text or json", c.LogFormat))
	}
	if sc, err := core.ParseSchedule(c.DigestSchedule); err != nil {
		errs = append(errs, fmt.Errorf("ENTRAIDE_DIGEST_SCHEDULE=%q: want days then a time, such as \"mon 09:00\"", c.DigestSchedule))
	} else {
		c.Network.Digest.Publish = sc
	}
	c.Network.Admins = nil
	for _, a := range strings.FieldsFunc(c.Admins, func(r rune) bool { return r == ',' || r == ' ' }) {
		platform, user, ok := strings.Cut(a, ":")
		if !ok || platform == "" || user == "" {
			errs = append(errs, fmt.Errorf("ENTRAIDE_ADMINS: %q: want platform:user, such as matrix:@alice:tchap.gouv.fr", a))
			continue
		}
		c.Network.Admins = append(c.Network.Admins, core.Identity{Platform: core.Platform(platform), User: user})
	}
	if access, err := parseAccess(c.Access); err != nil {
		errs = append(errs, fmt.Errorf("ENTRAIDE_ACCESS: %w", err))
	} else {
		c.Network.Access = access
	}
	if c.MessagesRetention != 0 && c.MessagesRetention < time.Hour {
		errs = append(errs, fmt.Errorf("ENTRAIDE_RETENTION_MESSAGES=%s: want at least 1h (duplicates arrive up to hours late), or 0 to keep everything", c.MessagesRetention))
	}
	if c.LeaseTTL < 3*time.Second || c.LeaseTTL > 10*time.Minute {
		errs = append(errs, fmt.Errorf("ENTRAIDE_LEASE_TTL=%s: want between 3s and 10m, such as 30s", c.LeaseTTL))
	}
	if _, err := feeds.ParseSources(c.Feeds, core.KindOffer); err != nil {
		errs = append(errs, fmt.Errorf("ENTRAIDE_FEEDS: %v", err))
	}
	if _, err := feeds.ParseSources(c.Calendars, core.KindEvent); err != nil {
		errs = append(errs, fmt.Errorf("ENTRAIDE_CALENDARS: %v", err))
	}
	if c.FeedInterval < time.Minute {
		errs = append(errs, fmt.Errorf("ENTRAIDE_FEED_INTERVAL=%s: want at least 1m", c.FeedInterval))
	}
	if c.SessionKey != "" && len(c.SessionKey) < 32 {
		errs = append(errs, fmt.Errorf("ENTRAIDE_SESSION_KEY: %d bytes: want 32 or more random bytes (openssl rand -base64 32)", len(c.SessionKey)))
	}
	if c.Bot.PublicURL != "" {
		if _, err := core.CheckLink("public-url", c.Bot.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("ENTRAIDE_PUBLIC_URL=%q: want an http or https address", c.Bot.PublicURL))
		}
	}
	for _, v := range []interface{ Validate() error }{c.Bot, c.Network, c.Console} {
		if err := v.Validate(); err != nil {
			errs = append(errs, namedSetting(err))
		}
	}
	return errors.Join(errs...)
}

// settingNames maps the words of core's and bots' validation errors to the
// variables that hold the setting, so that a mistake names what to fix.
var settingNames = []struct{ words, env string }{
	{"route limit", "ENTRAIDE_ROUTE_LIMIT"}, {"daily budget", "ENTRAIDE_DAILY_BUDGET"},
	{"escalation delay", "ENTRAIDE_ESCALATE_AFTER"}, {"escalation rounds", "ENTRAIDE_ESCALATION_ROUNDS"},
	{"event reminder", "ENTRAIDE_EVENT_REMINDER"}, {"offer reminder", "ENTRAIDE_OFFER_REMINDER"},
	{"notice budget", "ENTRAIDE_NOTICE_BUDGET"}, {"digest hour", "ENTRAIDE_DIGEST_HOUR"},
	{"digest draft ahead", "ENTRAIDE_DIGEST_DRAFT_AHEAD"}, {"command prefix", "ENTRAIDE_PREFIX"},
	{"language", "ENTRAIDE_LANG"}, {"console: room", "ENTRAIDE_CONSOLE_ROOM"},
	{"retention of questions", "ENTRAIDE_RETENTION_QUESTIONS"}, {"retention of bulletin", "ENTRAIDE_RETENTION_BULLETIN"},
	{"retention of audit", "ENTRAIDE_RETENTION_AUDIT"}, {"retention of pseudonyms", "ENTRAIDE_RETENTION_PSEUDONYMS"},
	{"console: files", "ENTRAIDE_CONSOLE_FILES_DIR"},
}

func namedSetting(err error) error {
	for _, n := range settingNames {
		if strings.Contains(err.Error(), n.words) {
			return fmt.Errorf("%s: %w", n.env, err)
		}
	}
	return err
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("ENTRAIDE_LOG_LEVEL=%q: want debug, info, warn or error", s)
	}
	return l, nil
}

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v = intValue(n)
	return nil
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 90m or 24h", s)
	}
	*v = durationValue(d)
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "entraide:", err)
		os.Exit(1)
	}
}

// run is the whole program, with its inputs and outputs handed in.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	getenv, err := withConfigFile(getenv)
	if err != nil {
		return err
	}
	if getenv, err = withSecretFiles(getenv); err != nil {
		return err
	}
	cfg := defaultConfig()
	if err := cfg.fromEnv(getenv); err != nil {
		return err
	}
	top := cfg.flags("entraide", stderr)
	top.Usage = func() {
		fmt.Fprint(stderr, usage)
		top.PrintDefaults()
	}
	if err := top.Parse(args); err != nil {
		return err
	}
	command, rest := "run", top.Args()
	if len(rest) > 0 {
		command, rest = rest[0], rest[1:]
	}
	switch command {
	case "help":
		top.SetOutput(stdout)
		fmt.Fprint(stdout, usage)
		top.PrintDefaults()
		return nil
	case "version":
		fmt.Fprintln(stdout, "entraide", version)
		return nil
	case "bench":
		if len(rest) > 0 && rest[0] == "intake" {
			return runBenchIntake(ctx, rest[1:], stdout, stderr)
		}
		return runBench(ctx, rest, stdout, stderr)
	case "config":
		if len(rest) == 0 || rest[0] != "check" {
			return fmt.Errorf(`config: want "entraide config check"`)
		}
		return runConfigCheck(cfg, rest[1:], getenv, stdout, stderr)
	case "run", "console", "demo", "migrate":
	default:
		return fmt.Errorf("unknown command %q: run \"entraide help\" for the list", command)
	}
	sub := cfg.flags("entraide "+command, stderr)
	if err := sub.Parse(rest); err != nil {
		return err
	}
	if sub.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", command, sub.Arg(0))
	}
	// The demo plays in a temporary database unless one was named.
	if command == "demo" && getenv("ENTRAIDE_DATABASE") == "" && !isSet(top, "database") && !isSet(sub, "database") {
		dir, err := os.MkdirTemp("", "entraide-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.Database = filepath.Join(dir, "demo.db")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(cfg, stderr)
	store, err := sqlstore.Open(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer store.Close()
	log.Debug("database ready", "dialect", store.Dialect())
	if command == "migrate" {
		fmt.Fprintf(stdout, "entraide: %s database migrated\n", store.Dialect())
		return nil
	}
	router, err := newRouter(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	net, err := core.NewNetwork(store, router, core.SystemClock{}, cfg.Network)
	if err != nil {
		return err
	}
	bot, err := bots.New(net, cfg.Bot, log)
	if err != nil {
		return err
	}
	if err := net.EnsureCommunities(ctx); err != nil {
		return err
	}
	if err := net.ScheduleDigests(ctx); err != nil {
		return err
	}
	if err := net.ScheduleCommunityDigests(ctx); err != nil {
		return err
	}
	switch command {
	case "demo":
		cfg.Console.Echo = true
		fmt.Fprintln(stdout, "# entraide demo: four agents on the console, a SQLite database, no token.")
		return runConsole(ctx, cfg, bot, store, log, strings.NewReader(demoScript), stdout)
	case "run":
		// The pipeline is made after the adapters, which deliver to it.
		var pipe *bots.Pipeline
		inbox := bots.InboxFunc(func(ctx context.Context, ev bots.Event) error { return pipe.Deliver(ctx, ev) })
		plats, err := platforms(getenv, cfg.Bot, inbox, store, log)
		if err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		if len(plats) > 0 {
			senders := make([]bots.Sender, len(plats))
			var names []core.Platform
			for i, p := range plats {
				senders[i] = p.sender
				names = append(names, p.name)
			}
			obs, err := metrics.New(metrics.Config{Version: version, Platforms: names,
				Backlog: store.Backlog, Questions: store.QuestionsByState, Log: log})
			if err != nil {
				return err
			}
			pcfg := pipelineConfig(store.Dialect(), cfg.MessagesRetention)
			pcfg.Observer = obs
			if pipe, err = bots.NewPipeline(newSendingQueue(store, plats), bot, senders, core.SystemClock{}, pcfg, log, nil); err != nil {
				return err
			}
			lc := leasing{store: store, owner: leaseOwner(), ttl: cfg.LeaseTTL}
			return serve(ctx, pipe, plats, lc, background(cfg, net, router, store, obs.Handler(), log), log)
		}
		log.Info("no platform configured: reading the console on standard input")
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for _, r := range background(cfg, net, router, store, nil, log) {
			go func() {
				if err := r.run(ctx); err != nil && ctx.Err() == nil {
					log.Error(r.name+" stopped", "err", err)
				}
			}()
		}
	}
	return runConsole(ctx, cfg, bot, store, log, stdin, stdout)
}

// runner is work that goes on beside the platforms until its context ends.
type runner struct {
	name string
	run  func(ctx context.Context) error
}

// background returns the work cfg asks for besides the platforms: importing
// feeds and calendars, serving calendars over HTTP.
func background(cfg config, net *core.Network, router core.Router, store *sqlstore.Store, metricsHandler http.Handler, log *slog.Logger) []runner {
	var out []runner
	if r, ok := router.(*match.Router); ok {
		// Erasures and linked accounts rebuild the matching index.
		out = append(out, runner{"matching index", r.Run})
	}
	offers, _ := feeds.ParseSources(cfg.Feeds, core.KindOffer)
	calendars, _ := feeds.ParseSources(cfg.Calendars, core.KindEvent)
	if sources := append(offers, calendars...); len(sources) > 0 {
		p := &feeds.Poller{Net: net, Fetcher: &feeds.Fetcher{}, Sources: sources, Interval: cfg.FeedInterval, Log: log}
		out = append(out, runner{"feeds", p.Run})
	}
	if cfg.HTTPAddr != "" {
		h := serverHandler(net, cfg, store, metricsHandler, log)
		out = append(out, runner{"web", func(ctx context.Context) error { return serveWeb(ctx, cfg.HTTPAddr, h, log) }})
	}
	return out
}

// serve runs the pipeline, the work beside it and every platform's
// connection, those with a lease only while this replica holds it, until
// ctx ends or one of them fails; then it stops them all.
func serve(ctx context.Context, pipe *bots.Pipeline, plats []platform, lc leasing, extra []runner, log *slog.Logger) error {
	work := slices.Clone(extra)
	var names []string
	for _, p := range plats {
		r, err := lc.connection(p, log)
		if err != nil {
			return err
		}
		work = append(work, r)
		names = append(names, string(p.name))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(work)+1)
	go func() { errs <- pipe.Run(ctx) }()
	for _, r := range work {
		go func() {
			err := r.run(ctx)
			if err != nil {
				err = fmt.Errorf("%s: %w", r.name, err)
			}
			errs <- err
		}()
	}
	log.Info("entraide is serving", "platforms", strings.Join(names, ","), "replica", lc.owner)
	var first error
	for range len(work) + 1 {
		err := <-errs
		if err != nil && first == nil && ctx.Err() == nil {
			first = err
		}
		cancel()
	}
	log.Info("entraide stopped")
	return first
}

// pipelineConfig returns the pipeline settings that suit a backend: a
// batch of events in one transaction each time, by one worker on SQLite
// (one writer), by four on PostgreSQL, where a batch's writes are deferred
// to its commit (sqlstore.Store.DeferWrites) and a batch takes up to 64
// events: each batch costs about a dozen statements whatever its size
// (docs/BENCHMARKS.md, Intake, session 9).
func pipelineConfig(d sqlstore.Dialect, retention time.Duration) bots.PipelineConfig {
	cfg := bots.DefaultPipelineConfig()
	cfg.Retention = retention
	cfg.BatchTx = true
	if d == sqlstore.Postgres {
		cfg.Workers, cfg.Batch = 4, 64
	}
	return cfg
}

// newRouter returns the router cfg names, loaded with what the store holds.
func newRouter(ctx context.Context, cfg config, store *sqlstore.Store, log *slog.Logger) (core.Router, error) {
	if cfg.Router == "topics" {
		return core.TopicRouter{}, nil
	}
	start := time.Now()
	r := match.NewRouter(match.NewEngine(match.DefaultConfig()))
	if err := r.Load(ctx, store); err != nil {
		return nil, err
	}
	experts, questions := r.Engine().Len()
	log.Debug("matching engine loaded", "experts", experts, "questions", questions, "took", time.Since(start))
	return r, nil
}

// isSet reports whether the flag name was given on fs's command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func runConsole(ctx context.Context, cfg config, bot *bots.Bot, store *sqlstore.Store, log *slog.Logger, in io.Reader, out io.Writer) error {
	c, err := console.New(cfg.Console, out, store, log)
	if err != nil {
		return err
	}
	p, err := bots.NewPipeline(store, bot, []bots.Sender{c}, core.SystemClock{}, pipelineConfig(store.Dialect(), cfg.MessagesRetention), log, nil)
	if err != nil {
		return err
	}
	return c.Run(ctx, in, p)
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	level, _ := parseLevel(cfg.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// demoScript is the scenario of "entraide demo": in French, as on Tchap.
const demoScript = `# Bob, acheteur public, et Carole, gestionnaire RH, rejoignent l'annuaire des experts.
bob> !expert marchés publics, achats
carol> !expert ressources humaines, congés
# Alice pose une question dans #general : elle est transmise à Bob seul, en privé.
alice> !ask Comment rédiger le cahier des charges d'un marché public de fournitures ?
# Bob répond en privé : la réponse arrive dans le fil de la question d'Alice.
bob@dm> !answer Partez du modèle de la DAJ et adaptez les clauses techniques.
alice> !resolve
# Dan pose une question sur les congés dans #rh ; Carole répond avec le numéro.
dan@#rh> !question Combien de jours de congés pour un déménagement ?
carol@dm> !reponse 2 Un jour d'autorisation d'absence, selon le règlement intérieur.
# Une commande mal tapée reçoit une aide courte.
erin> !aks ma question
# Offres d'emploi : #emploi les annonce, Erin s'abonne à celles de Lyon, Dan en publie une.
dan@#emploi> !annonces offres
erin@dm> !abonner offres immediat lieu:lyon
dan> !offre Juriste marchés publics | employeur: Métropole de Lyon | lieu: Lyon | contrat: CDD 3 ans
`

// runConfigCheck validates the configuration as "run" would, without
// opening the database or connecting to a platform, and prints a summary
// without secrets, or every mistake with the variable that holds it.
func runConfigCheck(cfg config, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sub := cfg.flags("entraide config check", stderr)
	if err := sub.Parse(args); err != nil {
		return err
	}
	if sub.NArg() > 0 {
		return fmt.Errorf("config check: unexpected argument %q", sub.Arg(0))
	}
	errs := []error{cfg.Validate()}
	names, err := checkPlatforms(getenv)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if len(names) == 0 {
		names = []string{"console"}
	}
	web := "off"
	if cfg.HTTPAddr != "" {
		web = cfg.HTTPAddr
	}
	fmt.Fprintf(stdout, "configuration OK\n  database: %s\n  platforms: %s\n  router: %s, %d experts per question, %d questions per expert per day\n  time zone: %s, digests %s\n  web server: %s\n",
		sqlstore.DialectOf(cfg.Database), strings.Join(names, ", "), cfg.Router, cfg.Network.RouteLimit, cfg.Network.DailyBudget,
		cfg.TimeZone, cfg.DigestSchedule, web)
	return nil
}
