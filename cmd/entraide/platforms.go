package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"entraide/adapters/discord"
	"entraide/adapters/leader"
	"entraide/adapters/matrix"
	slackad "entraide/adapters/slack"
	"entraide/adapters/sqlstore"
	"entraide/bots"
	"entraide/core"
)

// platform is a chat platform entraide serves: the sender the pipeline
// sends its messages through, and the connection that delivers what people
// write.
//
// Several replicas may share one database. A connection that the platform
// keeps once per bot (the Matrix sync loop and its encryption device, the
// Discord gateway, Slack's Socket Mode) runs only in the replica that holds
// the platform's lease; the Slack Events API over HTTP runs everywhere.
type platform struct {
	name   core.Platform
	sender bots.Sender
	// connect returns the connection's Run for one term of the lease (or
	// for the whole process when lease is empty).
	connect func() (run func(ctx context.Context) error, err error)
	// lease names the lease this replica holds while it runs the
	// connection; empty when every replica runs it.
	lease string
	// holding is true while this replica holds the lease. It is nil when
	// every replica sends the platform's messages, and set when only the
	// holder does, because sending needs what the connection holds.
	holding *atomic.Bool
}

// The names of the platforms' leases.
const (
	leaseMatrix  = "platform/matrix"
	leaseDiscord = "platform/discord"
	leaseSlack   = "platform/slack"
)

// platforms returns each platform configured in the environment, its
// adapter made (which checks its configuration) but not connected; the
// configuration errors of all of them at once.
func platforms(getenv func(string) string, botCfg bots.Config, inbox bots.Inbox, store *sqlstore.Store, log *slog.Logger) ([]platform, error) {
	var out []platform
	var errs []error

	if cfg, enabled, err := matrix.ConfigFromEnv(getenv); err != nil {
		errs = append(errs, err)
	} else if enabled {
		cfg.Prefix = botCfg.Prefix
		mlog := log.With("platform", "matrix")
		// Send waits for Run's login and encrypts with Run's device, and
		// Run may be called once: each term gets an adapter of its own,
		// and only the holder sends.
		a, err := matrix.New(cfg, inbox, store, store.DB().DB, mlog)
		if err != nil {
			errs = append(errs, err)
		} else {
			out = append(out, termPlatform(matrix.Platform, leaseMatrix, a, func() (platformAdapter, error) {
				return matrix.New(cfg, inbox, store, store.DB().DB, mlog)
			}))
		}
	}

	if cfg, enabled, err := slackad.ConfigFromEnv(getenv); err != nil {
		errs = append(errs, err)
	} else if enabled {
		cfg.Prefix = botCfg.Prefix
		// The Web API sends from any replica; Run may be called again.
		a, err := slackad.New(cfg, inbox, log.With("platform", "slack"))
		if err != nil {
			errs = append(errs, err)
		} else {
			p := platform{name: slackad.Platform, sender: a, connect: func() (func(context.Context) error, error) { return a.Run, nil }}
			if cfg.SocketMode() {
				p.lease = leaseSlack
			}
			out = append(out, p)
		}
	}
	if cfg, enabled, err := discord.ConfigFromEnv(getenv); err != nil {
		errs = append(errs, err)
	} else if enabled {
		cfg.Prefix = botCfg.Prefix
		dlog := log.With("platform", "discord")
		// Sending works without the gateway, but the replies to slash
		// commands follow up the interactions that the gateway's holder
		// deferred, in its memory, and Discord's global rate limit is kept
		// per process: only the holder sends. A new adapter per term
		// reads back the messages written while no replica held the
		// gateway.
		a, err := discord.New(cfg, inbox, store, dlog)
		if err != nil {
			errs = append(errs, err)
		} else {
			out = append(out, termPlatform(discord.Platform, leaseDiscord, a, func() (platformAdapter, error) {
				return discord.New(cfg, inbox, store, dlog)
			}))
		}
	}
	return out, errors.Join(errs...)
}

// platformAdapter is what each platform's adapter is: a sender, and a Run
// that delivers what people write to an inbox until its context ends.
type platformAdapter interface {
	bots.Sender
	Run(ctx context.Context) error
}

// termPlatform is a platform whose connection runs under lease with an
// adapter per term, first for the first term and made by next for the
// others, and whose messages only the holder sends, through the adapter of
// its current term.
func termPlatform(name core.Platform, lease string, first platformAdapter, next func() (platformAdapter, error)) platform {
	r := &relay{platform: name}
	if i, ok := first.(interface{ IdempotentSends() bool }); ok {
		r.idempotent = i.IdempotentSends()
	}
	if i, ok := first.(bots.ReactingSender); ok {
		r.reactions = i.Reactions()
	}
	var mu sync.Mutex
	return platform{name: name, sender: r, lease: lease, holding: new(atomic.Bool),
		connect: func() (func(context.Context) error, error) {
			mu.Lock()
			a := first
			first = nil
			mu.Unlock()
			if a == nil {
				var err error
				if a, err = next(); err != nil {
					return nil, err
				}
			}
			return func(ctx context.Context) error {
				r.begin(ctx, a)
				return a.Run(ctx)
			}, nil
		}}
}

// relay is the sender of a platform whose messages leave through the
// adapter of the current term of its lease.
type relay struct {
	platform core.Platform
	// idempotent is what the platform's adapters say of their sends
	// (bots.IdempotentSender), and reactions whether they offer buttons as
	// reactions (bots.ReactingSender), told the pipeline before any term.
	idempotent, reactions bool

	mu      sync.Mutex
	current bots.Sender
	term    context.Context
}

var _ bots.Sender = (*relay)(nil)

// begin makes s the sender of the term that lasts as long as ctx.
func (r *relay) begin(ctx context.Context, s bots.Sender) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current, r.term = s, ctx
}

// Platform implements bots.Sender.
func (r *relay) Platform() core.Platform { return r.platform }

// IdempotentSends reports whether the platform recognises a message sent
// again under the same key, as its adapters do.
func (r *relay) IdempotentSends() bool { return r.idempotent }

// Reactions reports whether the platform's adapters offer buttons as
// reactions (bots.ReactingSender).
func (r *relay) Reactions() bool { return r.reactions }

// Send implements bots.Sender through the adapter of the current term; a
// send still waiting when the term ends (for a login that will not come)
// fails, and is retried later by the pipeline, here or elsewhere.
func (r *relay) Send(ctx context.Context, o bots.Outgoing) (bots.Sent, error) {
	r.mu.Lock()
	s, term := r.current, r.term
	r.mu.Unlock()
	if s == nil || term.Err() != nil {
		return bots.Sent{}, fmt.Errorf("%s: send %s: this replica does not hold the connection", r.platform, o.Key)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(term, cancel)()
	return s.Send(ctx, o)
}

// sendingQueue is the store as the pipeline sees it: messages are claimed
// only for the platforms this replica can send on now, so that those whose
// sending needs the connection wait in the outbox for its holder.
type sendingQueue struct {
	*sqlstore.Store
	holding map[core.Platform]*atomic.Bool
}

var _ bots.Queue = sendingQueue{}

// newSendingQueue returns store, claiming messages as plats allow.
func newSendingQueue(store *sqlstore.Store, plats []platform) sendingQueue {
	q := sendingQueue{Store: store, holding: map[core.Platform]*atomic.Bool{}}
	for _, p := range plats {
		if p.holding != nil {
			q.holding[p.name] = p.holding
		}
	}
	return q
}

// ClaimOutgoing implements bots.Queue.
func (q sendingQueue) ClaimOutgoing(ctx context.Context, owner string, platforms []core.Platform, limit int, lease time.Duration, now time.Time) ([]bots.OutboxItem, error) {
	open := make([]core.Platform, 0, len(platforms))
	for _, p := range platforms {
		if h := q.holding[p]; h == nil || h.Load() {
			open = append(open, p)
		}
	}
	return q.Store.ClaimOutgoing(ctx, owner, open, limit, lease, now)
}

// leasing is how this replica takes the platforms' leases.
type leasing struct {
	store leader.Store
	// owner names this replica in the leases and the logs.
	owner string
	ttl   time.Duration
	// renew and poll are leader.Config's (a third of ttl when zero).
	renew, poll time.Duration
	// clock is core.SystemClock when nil.
	clock core.Clock
}

// leaseOwner names this process in the leases: its host name (a pod's
// name) and a random part, new at each start.
func leaseOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "entraide"
	}
	buf := make([]byte, 3)
	rand.Read(buf)
	return host + "-" + hex.EncodeToString(buf)
}

// connection returns the runner of p's connection: under its lease, when
// it has one.
func (lc leasing) connection(p platform, log *slog.Logger) (runner, error) {
	if p.lease == "" {
		return runner{string(p.name), func(ctx context.Context) error {
			run, err := p.connect()
			if err != nil {
				return err
			}
			return run(ctx)
		}}, nil
	}
	r, err := leader.New(lc.store, leader.Config{Name: p.lease, Owner: lc.owner, TTL: lc.ttl,
		Renew: lc.renew, Poll: lc.poll, Clock: lc.clock, Log: log.With("platform", string(p.name))})
	if err != nil {
		return runner{}, err
	}
	return runner{string(p.name), func(ctx context.Context) error {
		return r.Run(ctx, func(ctx context.Context, _ leader.Lease) error {
			run, err := p.connect()
			if err != nil {
				return err
			}
			if p.holding != nil {
				p.holding.Store(true)
				defer p.holding.Store(false)
			}
			return run(ctx)
		})
	}}, nil
}

// checkPlatforms reads the platforms' variables without connecting to
// anything: the names of the platforms configured, and every mistake.
func checkPlatforms(getenv func(string) string) ([]string, error) {
	var names []string
	var errs []error
	for _, p := range []struct {
		name string
		read func(func(string) string) (bool, error)
	}{
		{"matrix", func(g func(string) string) (bool, error) { _, on, err := matrix.ConfigFromEnv(g); return on, err }},
		{"slack", func(g func(string) string) (bool, error) { _, on, err := slackad.ConfigFromEnv(g); return on, err }},
		{"discord", func(g func(string) string) (bool, error) { _, on, err := discord.ConfigFromEnv(g); return on, err }},
	} {
		on, err := p.read(getenv)
		if err != nil {
			errs = append(errs, err)
		} else if on {
			names = append(names, p.name)
		}
	}
	return names, errors.Join(errs...)
}
