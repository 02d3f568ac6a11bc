package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"entraide/adapters/metrics"
	"entraide/bots"
	"entraide/core"
)

func newObserver(t *testing.T, cfg metrics.Config) *metrics.Observer {
	t.Helper()
	o, err := metrics.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// compare checks the named counters and gauges of o against want, one
// line per series as in the text format ("name{label="value"} 1"), in any
// order.
func compare(t *testing.T, o *metrics.Observer, want string, names ...string) {
	t.Helper()
	got := series(t, o.Gatherer(), names...)
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		lines = append(lines, strings.TrimSpace(line))
	}
	slices.Sort(lines)
	if !slices.Equal(got, lines) {
		t.Errorf("gathered:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(lines, "\n"))
	}
}

// series returns the counters and gauges of g with the given names, one
// line each, sorted.
func series(t *testing.T, g prometheus.Gatherer, names ...string) []string {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		if !slices.Contains(names, f.GetName()) {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			line := f.GetName()
			if len(labels) > 0 {
				line += "{" + strings.Join(labels, ",") + "}"
			}
			out = append(out, line+" "+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	slices.Sort(out)
	return out
}

// histogram returns the count and sum of the histogram name with the given
// label.
func histogram(t *testing.T, o *metrics.Observer, name, label, value string) (uint64, float64) {
	t.Helper()
	families, err := o.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	return 0, 0
}

func TestObserverCounts(t *testing.T) {
	o := newObserver(t, metrics.Config{})
	o.EventDelivered(bots.DeliveryReport{Platform: "slack"})
	o.EventDelivered(bots.DeliveryReport{Platform: "slack"})
	o.EventDelivered(bots.DeliveryReport{Platform: "slack", Duplicate: true})
	o.EventDelivered(bots.DeliveryReport{Platform: "matrix", Err: errors.New("database is locked")})

	o.EventHandled(bots.HandlingReport{Platform: "slack", Command: "ask", Duration: 40 * time.Millisecond, Outcome: bots.OutcomeOK})
	o.EventHandled(bots.HandlingReport{Platform: "slack", Command: "ask", Duration: 60 * time.Millisecond, Outcome: bots.OutcomeOK})
	o.EventHandled(bots.HandlingReport{Platform: "slack", Duration: 2 * time.Millisecond, Outcome: bots.OutcomeOK})
	o.EventHandled(bots.HandlingReport{Platform: "slack", Command: "expert", Duration: time.Second, Outcome: bots.OutcomeBotError, Err: errors.New("x")})
	o.EventHandled(bots.HandlingReport{Platform: "slack", Command: "ask", Outcome: bots.OutcomeCrash})

	o.MessageSent(bots.SendReport{Platform: "slack", Duration: 100 * time.Millisecond, Outcome: bots.OutcomeOK})
	o.MessageSent(bots.SendReport{Platform: "slack", Duration: 20 * time.Millisecond, Outcome: bots.OutcomeRateLimited, RetryAfter: 30 * time.Second})
	o.MessageSent(bots.SendReport{Platform: "slack", Duration: 20 * time.Millisecond, Outcome: bots.OutcomeRateLimited, RetryAfter: 1500 * time.Millisecond})
	o.MessageSent(bots.SendReport{Platform: "discord", Duration: 300 * time.Millisecond, Outcome: bots.OutcomeRetry})
	o.MessageSent(bots.SendReport{Platform: "discord", Duration: 300 * time.Millisecond, Outcome: bots.OutcomeFailed})

	o.JobRun(bots.JobReport{Kind: core.JobEscalate, Outcome: bots.OutcomeOK})
	o.JobRun(bots.JobReport{Kind: core.JobEscalate, Outcome: bots.OutcomeOK})
	o.JobRun(bots.JobReport{Kind: core.JobDigest, Outcome: bots.OutcomeStoreError})

	compare(t, o, `
		entraide_events_total{platform="matrix",result="error"} 1
		entraide_events_total{platform="slack",result="duplicate"} 1
		entraide_events_total{platform="slack",result="new"} 2
		entraide_events_handled_total{platform="slack",result="bot_error"} 1
		entraide_events_handled_total{platform="slack",result="crash"} 1
		entraide_events_handled_total{platform="slack",result="ok"} 3
		entraide_messages_total{platform="discord",result="failed"} 1
		entraide_messages_total{platform="discord",result="retry"} 1
		entraide_messages_total{platform="slack",result="ok"} 1
		entraide_messages_total{platform="slack",result="rate_limited"} 2
		entraide_rate_limit_wait_seconds_total{platform="slack"} 31.5
		entraide_jobs_total{kind="digest",result="store_error"} 1
		entraide_jobs_total{kind="escalate",result="ok"} 2
	`, "entraide_events_total", "entraide_events_handled_total", "entraide_messages_total",
		"entraide_rate_limit_wait_seconds_total", "entraide_jobs_total")

	// Only committed handlings are timed; text without a command is
	// labelled none.
	if n, sum := histogram(t, o, "entraide_handle_seconds", "command", "ask"); n != 2 || sum < 0.0999 || sum > 0.1001 {
		t.Errorf("handle_seconds{ask}: %d observations, sum %g", n, sum)
	}
	if n, _ := histogram(t, o, "entraide_handle_seconds", "command", "none"); n != 1 {
		t.Errorf("handle_seconds{none}: %d observations", n)
	}
	if n, _ := histogram(t, o, "entraide_handle_seconds", "command", "expert"); n != 0 {
		t.Errorf("handle_seconds{expert}: %d observations of a failed handling", n)
	}
	// Every send is timed, whatever the platform answered.
	if n, sum := histogram(t, o, "entraide_send_seconds", "platform", "slack"); n != 3 || sum < 0.1399 || sum > 0.1401 {
		t.Errorf("send_seconds{slack}: %d observations, sum %g", n, sum)
	}
	if n, _ := histogram(t, o, "entraide_send_seconds", "platform", "discord"); n != 2 {
		t.Errorf("send_seconds{discord}: %d observations", n)
	}
}

func TestPlatformsStartAtZero(t *testing.T) {
	o := newObserver(t, metrics.Config{Platforms: []core.Platform{"matrix"}})
	compare(t, o, `
		entraide_events_total{platform="matrix",result="duplicate"} 0
		entraide_events_total{platform="matrix",result="error"} 0
		entraide_events_total{platform="matrix",result="new"} 0
		entraide_messages_total{platform="matrix",result="failed"} 0
		entraide_messages_total{platform="matrix",result="ok"} 0
		entraide_messages_total{platform="matrix",result="rate_limited"} 0
		entraide_messages_total{platform="matrix",result="retry"} 0
		entraide_rate_limit_wait_seconds_total{platform="matrix"} 0
	`, "entraide_events_total", "entraide_messages_total", "entraide_rate_limit_wait_seconds_total")
}

func TestScrapeAsksTheStore(t *testing.T) {
	backlog := func(context.Context) (int, int, error) { return 4, 7, nil }
	questions := func(context.Context) (map[core.State]int, error) {
		return map[core.State]int{core.StateRouted: 3, core.StateResolved: 12}, nil
	}
	o := newObserver(t, metrics.Config{Backlog: backlog, Questions: questions})
	compare(t, o, `
		entraide_backlog{queue="events"} 4
		entraide_backlog{queue="messages"} 7
		entraide_questions{state="answered"} 0
		entraide_questions{state="expired"} 0
		entraide_questions{state="open"} 0
		entraide_questions{state="resolved"} 12
		entraide_questions{state="routed"} 3
	`, "entraide_backlog", "entraide_questions")

	// Without the functions, the gauges are left out.
	bare := newObserver(t, metrics.Config{})
	if got := series(t, bare.Gatherer(), "entraide_backlog", "entraide_questions"); len(got) != 0 {
		t.Errorf("without functions: %q", got)
	}
}

func TestScrapeTimesOutAndSurvivesAFailedQuery(t *testing.T) {
	var logs bytes.Buffer
	slow := func(ctx context.Context) (int, int, error) {
		<-ctx.Done()
		return 0, 0, ctx.Err()
	}
	questions := func(context.Context) (map[core.State]int, error) {
		return map[core.State]int{core.StateOpen: 1}, nil
	}
	o := newObserver(t, metrics.Config{Backlog: slow, Questions: questions, Timeout: 10 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	o.EventDelivered(bots.DeliveryReport{Platform: "slack"})
	if _, err := o.Gatherer().Gather(); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("gather with a slow backlog: %v", err)
	}
	// /metrics still serves the rest, and the error goes to the log.
	code, body := scrape(t, o)
	if code != http.StatusOK || !strings.Contains(body, `entraide_events_total{platform="slack",result="new"} 1`) ||
		!strings.Contains(body, `entraide_questions{state="open"} 1`) || strings.Contains(body, "entraide_backlog{") {
		t.Errorf("scrape: %d\n%s", code, body)
	}
	if !strings.Contains(logs.String(), "backlog") {
		t.Errorf("log: %q", logs.String())
	}
}

func TestHandlerServesRuntimeAndBuild(t *testing.T) {
	o := newObserver(t, metrics.Config{Version: "v1.2.3"})
	code, body := scrape(t, o)
	if code != http.StatusOK {
		t.Fatalf("scrape: %d", code)
	}
	for _, want := range []string{
		`entraide_build_info{version="v1.2.3"} 1`,
		"go_goroutines ",
		"go_memstats_heap_alloc_bytes ",
		"process_resident_memory_bytes ",
		"process_open_fds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

func TestRegisterAddsCollectors(t *testing.T) {
	o := newObserver(t, metrics.Config{})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "entraide_test_extra", Help: "x"})
	g.Set(2)
	if err := o.Register(g); err != nil {
		t.Fatal(err)
	}
	if err := o.Register(g); err == nil {
		t.Error("a collector registered twice")
	}
	if got := series(t, o.Gatherer(), "entraide_test_extra"); !slices.Equal(got, []string{"entraide_test_extra 2"}) {
		t.Errorf("extra gauge gathered: %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := metrics.New(metrics.Config{Timeout: -time.Second}); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("negative timeout: %v", err)
	}
}

func TestTwoObserversShareNothing(t *testing.T) {
	a, b := newObserver(t, metrics.Config{}), newObserver(t, metrics.Config{})
	a.JobRun(bots.JobReport{Kind: "remind", Outcome: bots.OutcomeOK})
	if got := series(t, b.Gatherer(), "entraide_jobs_total"); len(got) != 0 {
		t.Errorf("b heard a's job: %q", got)
	}
}

func scrape(t *testing.T, o *metrics.Observer) (int, string) {
	t.Helper()
	srv := httptest.NewServer(o.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
