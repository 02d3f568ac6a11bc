package bots

import (
	"context"
	"time"

	"entraide/core"
)

// Observer hears what a Pipeline does, at the points operations watch:
// events delivered and handled, messages sent, jobs run. adapters/metrics
// turns what it hears into Prometheus metrics.
//
// A Pipeline calls its Observer on its own goroutines (several when it has
// several workers), on the path of the work: an Observer must be safe for
// concurrent use, quick, and must not block. What it hears changes nothing
// in the work. Embed NopObserver to hear only some of it.
type Observer interface {
	// EventDelivered is called when Deliver stored an event, recognised it
	// as a duplicate, or failed to store it.
	EventDelivered(DeliveryReport)
	// EventHandled is called when an attempt at handling an event ended.
	EventHandled(HandlingReport)
	// MessageSent is called when an attempt at sending a message ended.
	MessageSent(SendReport)
	// JobRun is called when an attempt at running a scheduled job ended.
	JobRun(JobReport)
}

// Outcome says how an attempt ended.
type Outcome string

// The outcomes an Observer hears.
const (
	// OutcomeOK: the work is done (handled and committed, or sent).
	OutcomeOK Outcome = "ok"
	// OutcomeBotError: the bot failed to handle an event or run a job; it
	// will be tried again after a backoff.
	OutcomeBotError Outcome = "bot_error"
	// OutcomeStoreError: the store failed (a transaction, a write); the
	// event or job will be tried again after a backoff.
	OutcomeStoreError Outcome = "store_error"
	// OutcomeConflict: another process handled the event or ran the job
	// first (it took over a lapsed lease); nothing to do here.
	OutcomeConflict Outcome = "conflict"
	// OutcomeCrash: a Failpoint stopped the work as a crash would; what was
	// not committed is done again later.
	OutcomeCrash Outcome = "crash"
	// OutcomeRetry: the platform refused a message for a reason that may
	// pass; it is sent again after a backoff.
	OutcomeRetry Outcome = "retry"
	// OutcomeRateLimited: the platform asked to slow down; the message is
	// sent again after the wait it asked for (SendReport.RetryAfter).
	OutcomeRateLimited Outcome = "rate_limited"
	// OutcomeFailed: the attempt failed and the event, message or job is
	// set aside for good (MaxAttempts reached, or a message no retry can
	// deliver).
	OutcomeFailed Outcome = "failed"
)

// DeliveryReport describes a call to Pipeline.Deliver.
type DeliveryReport struct {
	Platform core.Platform
	// Duplicate is true when an event with the same platform and id was
	// stored already: the delivery is dropped.
	Duplicate bool
	// Err is why the event could not be stored, nil when it was (or was a
	// duplicate). The platform delivers it again.
	Err error
}

// HandlingReport describes an attempt at handling an event.
type HandlingReport struct {
	Platform core.Platform
	// Command is the canonical name of the command the event's text starts
	// with ("ask" for "!question ..."), empty when it starts with none that
	// the bot knows. The duration of "ask" and "anon" is the time to route
	// a question.
	Command string
	// Duration is the time the attempt took, from the start of its
	// transaction to its commit. When events are handled in a batch
	// (PipelineConfig.BatchTx), it is the time of the event's own work in
	// the batch, without the batch's commit.
	Duration time.Duration
	// Outcome is OutcomeOK, OutcomeBotError, OutcomeStoreError,
	// OutcomeConflict, OutcomeCrash or OutcomeFailed.
	Outcome Outcome
	// Err is the cause of an outcome other than OutcomeOK and
	// OutcomeConflict.
	Err error
}

// SendReport describes an attempt at sending a message.
type SendReport struct {
	Platform core.Platform
	// Duration is the time the platform's Sender took.
	Duration time.Duration
	// Outcome is OutcomeOK, OutcomeRetry, OutcomeRateLimited or
	// OutcomeFailed.
	Outcome Outcome
	// RetryAfter is the wait the platform asked for, with
	// OutcomeRateLimited.
	RetryAfter time.Duration
	// Err is the platform's error, nil with OutcomeOK.
	Err error
}

// JobReport describes an attempt at running a scheduled job.
type JobReport struct {
	// Kind is the job's kind, such as core.JobEscalate.
	Kind string
	// Duration is the time the attempt took, from the start of its
	// transaction to its commit.
	Duration time.Duration
	// Outcome is OutcomeOK, OutcomeBotError, OutcomeStoreError,
	// OutcomeConflict, OutcomeCrash or OutcomeFailed.
	Outcome Outcome
	// Err is the cause of an outcome other than OutcomeOK and
	// OutcomeConflict.
	Err error
}

// NopObserver hears nothing. A Pipeline without an Observer uses it.
type NopObserver struct{}

var _ Observer = NopObserver{}

// EventDelivered implements Observer.
func (NopObserver) EventDelivered(DeliveryReport) {}

// EventHandled implements Observer.
func (NopObserver) EventHandled(HandlingReport) {}

// MessageSent implements Observer.
func (NopObserver) MessageSent(SendReport) {}

// JobRun implements Observer.
func (NopObserver) JobRun(JobReport) {}

// Backlog counts the events waiting to be handled and the messages waiting
// to be sent, for metrics of queue depth.
func (p *Pipeline) Backlog(ctx context.Context) (events, messages int, err error) {
	return p.queue.Backlog(ctx)
}

// commandOf returns the canonical name of the command text starts with, or
// "" when it starts with none the bot knows.
func (b *Bot) commandOf(text string) string {
	if len(text) > MaxCommandLen {
		return ""
	}
	name, _, ok := ParseCommand(b.cfg.Prefix, text)
	if !ok {
		return ""
	}
	if c, ok := b.commands[name]; ok {
		return c.Name
	}
	return ""
}

// failure returns the outcome of a failed attempt at an event or a job:
// botErr tells whether the bot failed, rather than the store; failed tells
// whether the attempt was the last.
func failure(botErr, failed bool) Outcome {
	switch {
	case failed:
		return OutcomeFailed
	case botErr:
		return OutcomeBotError
	}
	return OutcomeStoreError
}
