package bots

import (
	"context"
	"errors"
	"fmt"
	"time"

	"entraide/core"
)

// Inbox is where adapters deliver what people write. Deliver returns nil once
// the event is stored durably, or recognised as a duplicate of one already
// stored (same platform and event id); only then may the adapter acknowledge
// the event to its platform. An error means the event was not taken: the
// adapter must not acknowledge it, so the platform delivers it again.
type Inbox interface {
	Deliver(ctx context.Context, ev Event) error
}

// InboxFunc adapts a function to the Inbox interface.
type InboxFunc func(ctx context.Context, ev Event) error

// Deliver implements Inbox.
func (f InboxFunc) Deliver(ctx context.Context, ev Event) error { return f(ctx, ev) }

// Sent describes a message a platform accepted.
type Sent struct {
	// MessageID is the platform's id of the new message (a Matrix event id,
	// a Slack ts, a Discord message id), empty when the platform gives none.
	MessageID string
}

// Sender sends messages on one platform. After a crash the same Outgoing
// (same Key) may be sent again: a Sender passes the key to its platform as
// the idempotency or transaction id where the platform has one.
//
// Send returns a *RetryAfterError when the platform asks to slow down, an
// error wrapping ErrUndeliverable when retrying cannot help (unknown user,
// room gone, forbidden), and any other error for transient failures.
type Sender interface {
	Platform() core.Platform
	Send(ctx context.Context, o Outgoing) (Sent, error)
}

// IdempotentSender is a Sender whose platform recognises a message sent
// again under the same key and shows it once (Matrix transaction ids): the
// pipeline marks its messages sent together, after a batch. The messages
// of other senders (Slack: no such key; Discord: a nonce, kept only a few
// minutes) are marked one by one, as soon as their platform accepted them,
// so that a crash duplicates at most the message in flight.
type IdempotentSender interface {
	Sender
	IdempotentSends() bool
}

// CheckingSender is a Sender whose platform keeps each message's key where
// the sender can look it up (Slack: in the message's metadata), although
// it does not deduplicate sends by it. The pipeline asks it before sending
// a message in doubt (OutboxItem.InDoubt: a process that held it stopped
// without marking it sent), so that a message the platform accepted just
// before a crash is found rather than posted twice.
type CheckingSender interface {
	Sender
	// FindSent looks for the message o posted with its key since since
	// (when it was stored), and returns it when found.
	FindSent(ctx context.Context, o Outgoing, since time.Time) (Sent, bool, error)
}

// ErrUndeliverable marks a message that no retry can deliver.
var ErrUndeliverable = errors.New("undeliverable")

// RetryAfterError says the platform rate-limited a send: try again after
// After.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

// Error describes the limit.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("rate limited, retry after %s: %v", e.After, e.Err)
}

// Unwrap returns the platform's error.
func (e *RetryAfterError) Unwrap() error { return e.Err }
