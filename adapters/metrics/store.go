package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"entraide/core"
)

// storeCollector asks the database, at each scrape, for what is better
// counted there than by hand: the queue depth and the questions by state.
// Several processes then report the same figures, which is right for a
// shared database (graph them with max, not sum).
type storeCollector struct {
	backlog   func(ctx context.Context) (events, messages int, err error)
	questions func(ctx context.Context) (map[core.State]int, error)
	timeout   time.Duration

	backlogDesc   *prometheus.Desc
	questionsDesc *prometheus.Desc
}

func newStoreCollector(cfg Config) *storeCollector {
	return &storeCollector{
		backlog:   cfg.Backlog,
		questions: cfg.Questions,
		timeout:   cfg.Timeout,
		backlogDesc: prometheus.NewDesc("entraide_backlog",
			"Events waiting to be handled (queue=events) and messages waiting to be sent (queue=messages), retries included.",
			[]string{"queue"}, nil),
		questionsDesc: prometheus.NewDesc("entraide_questions",
			"Questions in each state.",
			[]string{"state"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	if c.backlog != nil {
		ch <- c.backlogDesc
	}
	if c.questions != nil {
		ch <- c.questionsDesc
	}
}

// Collect implements prometheus.Collector. A query that fails leaves its
// metric out of the scrape, with the error for the handler to log.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if c.backlog != nil {
		events, messages, err := c.backlog(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.backlogDesc, fmt.Errorf("backlog: %w", err))
		} else {
			ch <- prometheus.MustNewConstMetric(c.backlogDesc, prometheus.GaugeValue, float64(events), "events")
			ch <- prometheus.MustNewConstMetric(c.backlogDesc, prometheus.GaugeValue, float64(messages), "messages")
		}
	}
	if c.questions != nil {
		counts, err := c.questions(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.questionsDesc, fmt.Errorf("questions by state: %w", err))
			return
		}
		for _, s := range core.States {
			ch <- prometheus.MustNewConstMetric(c.questionsDesc, prometheus.GaugeValue, float64(counts[s]), string(s))
		}
	}
}
