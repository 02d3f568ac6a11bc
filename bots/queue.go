package bots

import (
	"context"
	"time"

	"entraide/core"
)

// InboxItem is an event taken from the inbox to be handled.
type InboxItem struct {
	ID       int64
	Event    Event
	Attempts int
}

// OutboxItem is a message taken from the outbox to be sent.
type OutboxItem struct {
	ID       int64
	Outgoing Outgoing
	Attempts int
	// Created is when the message was stored: its platform cannot have
	// accepted it before.
	Created time.Time
	// InDoubt is set when a send of the message began and nothing was
	// recorded of its end (the process died): its platform may have
	// accepted it. Only the sends through a CheckingSender are recorded
	// so (Queue.MarkSentAndDoubt).
	InDoubt bool
}

// SentMessage is a message of the outbox that its platform accepted, with
// the id the platform gave it.
type SentMessage struct {
	ID        int64
	MessageID string
	// Scrub erases the message's content once marked sent (Outgoing.Scrub).
	Scrub bool
	// Reactions are the reactions the message offers on a ReactingSender's
	// platform (ReactionsOf), Platform, stored with the mark so that a
	// reaction to the message finds its command (Queue.ReactionFor).
	Reactions []Reaction    `json:",omitempty"`
	Platform  core.Platform `json:",omitempty"`
}

// Queue is the durable storage of a Pipeline: the inbox of events and the
// outbox of messages, in the same database as the network's data so that
// handling an event, storing its effects and the messages it causes commit
// together. adapters/sqlstore implements it.
//
// Claims lease items to an owner until a deadline: another owner may take
// them after it (a crashed process), never before.
type Queue interface {
	core.Store

	// PutEvent stores ev unless an event with the same platform and id is
	// already stored; it reports whether ev was new.
	PutEvent(ctx context.Context, ev Event, now time.Time) (bool, error)
	// PutEvents stores several events at once, all or none, like PutEvent
	// each; it reports which of them were new. An event that appears twice
	// in evs is new at most once, at its first place.
	PutEvents(ctx context.Context, evs []Event, now time.Time) ([]bool, error)
	// ClaimEvents leases up to limit pending events that are due, oldest
	// first.
	ClaimEvents(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]InboxItem, error)
	// FinishEvent marks a claimed event handled. It fails with
	// core.ErrConflict when owner no longer holds the event's lease or the
	// event was handled already.
	FinishEvent(ctx context.Context, id int64, owner string, now time.Time) error
	// RetryEvent releases a claimed event after a failed attempt: it is due
	// again at next, or never when failed is true.
	RetryEvent(ctx context.Context, id int64, next time.Time, failed bool, lastErr string) error

	// PutOutgoing stores messages to send; a message whose key is already
	// stored is skipped.
	PutOutgoing(ctx context.Context, out []Outgoing, now time.Time) error
	// PutOutgoingClaimed stores messages like PutOutgoing, already leased
	// to owner until now+lease, and returns those it stored (not those
	// whose key was stored already), so that the process that made them
	// sends them without claiming them. Should it die first, they are
	// claimed by anyone once the lease has run out.
	PutOutgoingClaimed(ctx context.Context, out []Outgoing, owner string, lease time.Duration, now time.Time) ([]OutboxItem, error)
	// ReleaseOutgoing gives up owner's lease on messages still pending, so
	// that any process may send them at once (a process that stops with
	// messages handed to it but not sent).
	ReleaseOutgoing(ctx context.Context, ids []int64, owner string) error
	// ClaimOutgoing leases up to limit pending messages for the given
	// platforms that are due, oldest first.
	ClaimOutgoing(ctx context.Context, owner string, platforms []core.Platform, limit int, lease time.Duration, now time.Time) ([]OutboxItem, error)
	// MarkSent records that a message was sent.
	MarkSent(ctx context.Context, id int64, messageID string, now time.Time) error
	// MarkAllSent records that messages were sent, all or none.
	MarkAllSent(ctx context.Context, sent []SentMessage, now time.Time) error
	// MarkSentAndDoubt records that the messages sent were sent, as
	// MarkAllSent does, and, when doubt is not zero, that the send of
	// message doubt begins: should the process die before marking it,
	// whoever claims it next finds it in doubt (OutboxItem.InDoubt). One
	// statement does both for one message sent.
	MarkSentAndDoubt(ctx context.Context, sent []SentMessage, doubt int64, now time.Time) error
	// RetryOutgoing releases a claimed message after a failed send: it is
	// due again at next, or never when failed is true; it stays in doubt
	// (OutboxItem.InDoubt) when inDoubt is set, and is no longer in doubt
	// otherwise.
	RetryOutgoing(ctx context.Context, id int64, next time.Time, failed bool, lastErr string, inDoubt bool) error
	// ReactionFor returns the reaction key (normalised) to the message
	// messageID, as recorded when the message was marked sent
	// (SentMessage.Reactions); its Command is "" when there is none.
	ReactionFor(ctx context.Context, platform core.Platform, messageID, key string) (Reaction, error)
	// HandledEvent returns the stored event of platform with id eventID,
	// while the inbox keeps it (Purge); ok is false when it does not.
	HandledEvent(ctx context.Context, platform core.Platform, eventID string) (ev Event, ok bool, err error)
	// ClaimJobs leases up to limit pending jobs that are due, oldest first.
	ClaimJobs(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]core.Job, error)
	// FinishJob marks a claimed job done; like FinishEvent, it fails with
	// core.ErrConflict when owner lost the lease.
	FinishJob(ctx context.Context, id int64, owner string, now time.Time) error
	// RetryJob releases a claimed job after a failed attempt.
	RetryJob(ctx context.Context, id int64, next time.Time, failed bool, lastErr string) error

	// Purge deletes the events handled, messages sent and jobs done before
	// before, and reports how many rows went. Pending and failed rows stay.
	// The reactions of sent messages are kept ReactionsKept longer: an
	// event's card is answered until the event.
	Purge(ctx context.Context, before time.Time) (int64, error)

	// Backlog counts the pending events and messages.
	Backlog(ctx context.Context) (events, messages int, err error)
}
