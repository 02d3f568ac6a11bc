package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"entraide/bots"
	"entraide/core"
)

// Config says what an Observer collects beside what the pipeline tells it.
// Its zero value works: no queue depth, no questions by state.
type Config struct {
	// Version is entraide's version, shown by entraide_build_info.
	Version string
	// Platforms are the platforms served, whose counters start at zero
	// so that rates exist before the first event; others appear when
	// first seen.
	Platforms []core.Platform
	// Backlog counts the events waiting to be handled and the messages
	// waiting to be sent (bots.Pipeline.Backlog); nil leaves
	// entraide_backlog out.
	Backlog func(ctx context.Context) (events, messages int, err error)
	// Questions counts the questions in each state; states it leaves out
	// count zero. Nil leaves entraide_questions out.
	Questions func(ctx context.Context) (map[core.State]int, error)
	// Timeout bounds the queries of a scrape; zero means 5 seconds.
	Timeout time.Duration
	// Log hears the queries that failed at a scrape; nil discards.
	Log *slog.Logger
}

// Validate reports settings an Observer cannot work with.
func (c Config) Validate() error {
	if c.Timeout < 0 {
		return fmt.Errorf("metrics: scrape timeout %s: want a positive duration, or zero for 5s", c.Timeout)
	}
	return nil
}

// The results of deliveries, beside the outcomes of bots.
const (
	resultNew       = "new"
	resultDuplicate = "duplicate"
	resultError     = "error"
)

// noCommand labels the handling of text that starts with no command.
const noCommand = "none"

// Observer is a bots.Observer that counts what a pipeline does in
// Prometheus metrics, and serves them with Handler.
type Observer struct {
	reg     *prometheus.Registry
	handler http.Handler

	events      *prometheus.CounterVec
	handled     *prometheus.CounterVec
	handle      *prometheus.HistogramVec
	messages    *prometheus.CounterVec
	send        *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	jobs        *prometheus.CounterVec
}

var _ bots.Observer = (*Observer)(nil)

// New returns an Observer with its own registry, holding entraide's
// metrics and the Go runtime's and the process's.
func New(cfg Config) (*Observer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	o := &Observer{
		reg: prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entraide_events_total",
			Help: "Events platforms delivered, by result: new (stored), duplicate (dropped), error (not stored; the platform delivers it again).",
		}, []string{"platform", "result"}),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entraide_events_handled_total",
			Help: "Attempts at handling an event, by result: ok, bot_error or store_error (tried again later), failed (set aside), conflict (handled by another process), crash.",
		}, []string{"platform", "result"}),
		handle: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "entraide_handle_seconds",
			Help:    "Time to handle an event and commit its effects, by command (none for text without one); command ask is the time to route a question.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10),
		}, []string{"command"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entraide_messages_total",
			Help: "Attempts at sending a message, by result: ok, retry (tried again later), rate_limited (sent after the platform's wait), failed (set aside).",
		}, []string{"platform", "result"}),
		send: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "entraide_send_seconds",
			Help:    "Time a platform took to answer a send, whatever the answer.",
			Buckets: prometheus.DefBuckets,
		}, []string{"platform"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entraide_rate_limit_wait_seconds_total",
			Help: "Waits platforms asked for when they rate-limited a send.",
		}, []string{"platform"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entraide_jobs_total",
			Help: "Attempts at running a scheduled job, by kind and result: ok, bot_error or store_error (tried again later), failed (set aside), conflict (run by another process), crash.",
		}, []string{"kind", "result"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "entraide_build_info",
		Help: "Always 1, labelled with entraide's version.",
	}, []string{"version"})
	build.WithLabelValues(cfg.Version).Set(1)
	for _, c := range []prometheus.Collector{
		o.events, o.handled, o.handle, o.messages, o.send, o.rateLimited, o.jobs, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := o.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	if cfg.Backlog != nil || cfg.Questions != nil {
		if err := o.reg.Register(newStoreCollector(cfg)); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	for _, p := range cfg.Platforms {
		for _, r := range []string{resultNew, resultDuplicate, resultError} {
			o.events.WithLabelValues(string(p), r)
		}
		for _, r := range []bots.Outcome{bots.OutcomeOK, bots.OutcomeBotError, bots.OutcomeStoreError, bots.OutcomeFailed} {
			o.handled.WithLabelValues(string(p), string(r))
		}
		for _, r := range []bots.Outcome{bots.OutcomeOK, bots.OutcomeRetry, bots.OutcomeRateLimited, bots.OutcomeFailed} {
			o.messages.WithLabelValues(string(p), string(r))
		}
		o.rateLimited.WithLabelValues(string(p))
	}
	o.handler = promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{
		// A failed query leaves its metric out; the others are served.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      errorLog{cfg.Log},
		Registry:      o.reg,
	})
	return o, nil
}

// Handler returns the handler of /metrics, in Prometheus's text and
// OpenMetrics formats.
func (o *Observer) Handler() http.Handler { return o.handler }

// Register adds a collector to the Observer's registry, such as
// collectors.NewDBStatsCollector for the database's connection pool.
func (o *Observer) Register(c prometheus.Collector) error {
	if err := o.reg.Register(c); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// Gatherer returns the Observer's registry, for tests and for pushing.
func (o *Observer) Gatherer() prometheus.Gatherer { return o.reg }

// EventDelivered implements bots.Observer.
func (o *Observer) EventDelivered(d bots.DeliveryReport) {
	result := resultNew
	switch {
	case d.Err != nil:
		result = resultError
	case d.Duplicate:
		result = resultDuplicate
	}
	o.events.WithLabelValues(string(d.Platform), result).Inc()
}

// EventHandled implements bots.Observer. Only the handlings that committed
// count in entraide_handle_seconds: they are what people wait for.
func (o *Observer) EventHandled(h bots.HandlingReport) {
	o.handled.WithLabelValues(string(h.Platform), string(h.Outcome)).Inc()
	if h.Outcome != bots.OutcomeOK {
		return
	}
	command := h.Command
	if command == "" {
		command = noCommand
	}
	o.handle.WithLabelValues(command).Observe(h.Duration.Seconds())
}

// MessageSent implements bots.Observer.
func (o *Observer) MessageSent(s bots.SendReport) {
	platform := string(s.Platform)
	o.messages.WithLabelValues(platform, string(s.Outcome)).Inc()
	o.send.WithLabelValues(platform).Observe(s.Duration.Seconds())
	if s.Outcome == bots.OutcomeRateLimited && s.RetryAfter > 0 {
		o.rateLimited.WithLabelValues(platform).Add(s.RetryAfter.Seconds())
	}
}

// JobRun implements bots.Observer.
func (o *Observer) JobRun(j bots.JobReport) {
	o.jobs.WithLabelValues(j.Kind, string(j.Outcome)).Inc()
}

// errorLog passes promhttp's errors to slog.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) { l.log.Error("metrics: " + fmt.Sprint(v...)) }
