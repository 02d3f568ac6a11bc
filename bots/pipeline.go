package bots

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"entraide/core"
)

// PipelineConfig tunes a Pipeline.
type PipelineConfig struct {
	// Owner names this process in leases; empty means a random name.
	Owner string
	// Lease is how long a claimed event or message stays with this process
	// before another may take it over.
	Lease time.Duration
	// Batch is how many events or jobs are claimed at once.
	Batch int
	// SendBatch is how many messages are claimed at once; zero means four
	// times Batch, since an event often causes several messages (a
	// question, its acknowledgement and a request to each expert).
	SendBatch int
	// MaxAttempts is how many times an event is handled, or a message
	// sent, before it is set aside as failed.
	MaxAttempts int
	// Poll is how often Run looks for work when nobody woke it.
	Poll time.Duration
	// Workers is how many goroutines Run works with, each handling events
	// and jobs, then sending messages, in one step.
	// More than one helps on PostgreSQL, where they claim different rows;
	// SQLite has one writer and gains nothing.
	Workers int
	// Retention is how long handled events, sent messages and done jobs
	// are kept (to recognise late duplicate deliveries) before Run purges
	// them, once an hour, when it also applies the network's retention;
	// zero keeps them.
	Retention time.Duration
	// BatchTx handles each claimed batch of events in one transaction,
	// which saves a commit per event. A queue that can defer a
	// transaction's writes to its commit (sqlstore on PostgreSQL) is told
	// to: a batch then costs a few statements per table, and takes its
	// locks only at commit, in order. A queue whose transactions lock
	// events (sqlstore on PostgreSQL) claims the batch in its transaction,
	// with no lease written (see eventLocker). When the batch fails (a
	// budget spent by another process meanwhile, a lease lost), its events
	// are claimed and handled again one transaction each.
	BatchTx bool
	// Observer hears what the pipeline does, for metrics; nil hears
	// nothing.
	Observer Observer
}

// DefaultPipelineConfig returns the settings used when none are given.
func DefaultPipelineConfig() PipelineConfig {
	return PipelineConfig{Lease: 2 * time.Minute, Batch: 32, MaxAttempts: 8, Poll: time.Second, Workers: 1, Retention: 7 * 24 * time.Hour}
}

// Failpoint is called by a Pipeline at each step of its work, with the
// step's name; a non-nil error stops the work right there, as a crash would.
// Tests use it to prove that nothing is lost or sent twice.
type Failpoint func(step string) error

// The steps a Failpoint sees.
const (
	StepStored      = "stored"       // the event is in the inbox, not handled
	StepHandled     = "handled"      // handled, its effects not committed
	StepCommitted   = "committed"    // effects and messages committed, none sent
	StepSent        = "sent"         // a message was sent, not marked sent
	StepMarkedSent  = "marked-sent"  // a message was sent and marked sent
	StepBeforeClaim = "before-claim" // about to claim events
)

// Pipeline is the durable path from platforms to the bot and back: adapters
// Deliver events into the inbox; each event is handled by the bot in one
// transaction with its effects and the messages it causes, which go to the
// outbox; the outbox is sent through each platform's Sender, and a message
// is marked sent only after its platform accepted it. After a crash,
// whatever was not finished is done again: events are deduplicated by
// platform and id, messages by key.
type Pipeline struct {
	queue   Queue
	bot     *Bot
	senders map[core.Platform]Sender
	// idempotent holds the platforms whose senders deduplicate by key.
	idempotent map[core.Platform]bool
	// checking holds the platforms whose senders can look a message up by
	// its key (CheckingSender): their sends are recorded as begun.
	checking map[core.Platform]bool
	// reacting holds the platforms whose senders offer actions as
	// reactions (ReactingSender): the reactions of their messages are
	// recorded when the messages are marked sent.
	reacting  map[core.Platform]bool
	platforms []core.Platform
	clock     core.Clock
	cfg       PipelineConfig
	log       *slog.Logger
	fail      Failpoint
	obs       Observer
	wake      chan struct{}

	// handoff holds messages that this process stored already leased to
	// itself (Queue.PutOutgoingClaimed), committed and not yet sent: the
	// senders take them from here rather than claim them again, which
	// would rewrite each row once more.
	handoffMu sync.Mutex
	handoff   []handed
	// lastClaim is when messages were last claimed from the store.
	claimMu   sync.Mutex
	lastClaim time.Time

	// deliverMu guards the deliveries waiting to be stored, and whether a
	// call to Deliver is storing a batch.
	deliverMu sync.Mutex
	waiting   []*delivery
	storing   bool
}

// handed is a message handed from the transaction that stored it to the
// senders.
type handed struct {
	item OutboxItem
	at   time.Time
}

var _ Inbox = (*Pipeline)(nil)

// NewPipeline returns a Pipeline over queue, handing events to bot and
// sending through senders. fail may be nil.
func NewPipeline(queue Queue, bot *Bot, senders []Sender, clock core.Clock, cfg PipelineConfig, log *slog.Logger, fail Failpoint) (*Pipeline, error) {
	if cfg.Owner == "" {
		buf := make([]byte, 6)
		rand.Read(buf)
		cfg.Owner = "entraide-" + hex.EncodeToString(buf)
	}
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	if cfg.SendBatch == 0 {
		cfg.SendBatch = 4 * cfg.Batch
	}
	if cfg.Lease <= 0 || cfg.Batch <= 0 || cfg.SendBatch < 0 || cfg.MaxAttempts <= 0 || cfg.Poll <= 0 || cfg.Workers < 0 {
		return nil, fmt.Errorf("bots: pipeline: lease, batch, attempts and poll must be positive: %+v", cfg)
	}
	if clock == nil {
		clock = core.SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	obs := cfg.Observer
	if obs == nil {
		obs = NopObserver{}
	}
	p := &Pipeline{queue: queue, bot: bot, senders: map[core.Platform]Sender{}, idempotent: map[core.Platform]bool{}, checking: map[core.Platform]bool{},
		reacting: map[core.Platform]bool{}, clock: clock, cfg: cfg, log: log, fail: fail, obs: obs, wake: make(chan struct{}, 1),
		lastClaim: clock.Now()}
	for _, s := range senders {
		if _, dup := p.senders[s.Platform()]; dup {
			return nil, fmt.Errorf("bots: pipeline: two senders for %s", s.Platform())
		}
		p.senders[s.Platform()] = s
		p.platforms = append(p.platforms, s.Platform())
		if i, ok := s.(IdempotentSender); ok && i.IdempotentSends() {
			p.idempotent[s.Platform()] = true
		} else if _, ok := s.(CheckingSender); ok {
			p.checking[s.Platform()] = true
		}
		if r, ok := s.(ReactingSender); ok && r.Reactions() {
			p.reacting[s.Platform()] = true
		}
	}
	return p, nil
}

func (p *Pipeline) failpoint(step string) error {
	if p.fail == nil {
		return nil
	}
	return p.fail(step)
}

// maxDeliveryBatch bounds how many waiting deliveries go in one insert.
const maxDeliveryBatch = 256

// delivery is a call to Deliver waiting for its event to be stored: by a
// batch that another call leads, or by one it leads itself when lead is set.
type delivery struct {
	ev    Event
	done  chan struct{} // closed when fresh and err are set, or lead
	lead  bool
	fresh bool
	err   error
}

// Deliver implements Inbox: it stores ev and wakes the pipeline. It returns
// only once ev is committed to the inbox (or was there already), so the
// caller may then acknowledge it to its platform.
//
// Concurrent calls share commits: the first caller stores its event at
// once, and the calls that arrive meanwhile wait; when it is done, the
// oldest of them stores every waiting event in one statement and one
// commit, and so on. A lone caller never waits for others.
func (p *Pipeline) Deliver(ctx context.Context, ev Event) error {
	if ev.ID == "" || ev.Platform == "" {
		return fmt.Errorf("bots: deliver: event without platform or id")
	}
	d := &delivery{ev: ev, done: make(chan struct{})}
	p.deliverMu.Lock()
	p.waiting = append(p.waiting, d)
	lead := !p.storing
	p.storing = true
	p.deliverMu.Unlock()
	if !lead {
		lead = p.await(ctx, d)
	}
	if lead {
		p.storeWaiting(ctx)
	}
	if d.err != nil {
		p.obs.EventDelivered(DeliveryReport{Platform: ev.Platform, Err: d.err})
		return fmt.Errorf("bots: deliver %s %s: %w", ev.Platform, ev.ID, d.err)
	}
	p.obs.EventDelivered(DeliveryReport{Platform: ev.Platform, Duplicate: !d.fresh})
	if !d.fresh {
		p.log.Debug("duplicate event ignored", "platform", ev.Platform, "event", ev.ID)
		return nil
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return p.failpoint(StepStored)
}

// await waits until d is stored or has to lead, and reports whether it
// leads. When ctx ends while d is still waiting, d leaves the line with
// ctx's error; once taken into a batch, it waits for the batch's result.
func (p *Pipeline) await(ctx context.Context, d *delivery) bool {
	select {
	case <-d.done:
		return d.lead
	case <-ctx.Done():
	}
	p.deliverMu.Lock()
	for i, w := range p.waiting {
		if w == d && !d.lead {
			p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
			d.err = ctx.Err()
			p.deliverMu.Unlock()
			return false
		}
	}
	p.deliverMu.Unlock()
	<-d.done
	return d.lead
}

// storeWaiting is the leader's work: it stores the oldest waiting events,
// its own first, in one statement, hands the lead to the oldest event
// still waiting if any, and gives every event of the batch its result. The
// statement runs with the leader's ctx: if that ends, the whole batch fails
// and its events are delivered again, as after any failed insert.
func (p *Pipeline) storeWaiting(ctx context.Context) {
	p.deliverMu.Lock()
	n := min(len(p.waiting), maxDeliveryBatch)
	batch := make([]*delivery, n)
	copy(batch, p.waiting)
	p.waiting = append(p.waiting[:0], p.waiting[n:]...)
	p.deliverMu.Unlock()

	now := p.clock.Now()
	if len(batch) == 1 {
		batch[0].fresh, batch[0].err = p.queue.PutEvent(ctx, batch[0].ev, now)
	} else {
		evs := make([]Event, len(batch))
		for i, d := range batch {
			evs[i] = d.ev
		}
		fresh, err := p.queue.PutEvents(ctx, evs, now)
		for i, d := range batch {
			if err != nil {
				d.err = err
			} else {
				d.fresh = fresh[i]
			}
		}
	}

	p.deliverMu.Lock()
	if len(p.waiting) > 0 {
		next := p.waiting[0]
		next.lead = true
		close(next.done)
	} else {
		p.storing = false
	}
	p.deliverMu.Unlock()
	for _, d := range batch[1:] {
		close(d.done)
	}
}

// Run works until ctx is done with Workers goroutines: it handles events as
// they arrive and sends messages when they are due, looking for work at
// least every Poll.
func (p *Pipeline) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.purgeHourly(ctx)
	}()
	// Each worker handles, then sends in the same step: a goroutine that
	// only sent was tried and measured worse (bench load, docs/BENCHMARKS.md):
	// on SQLite its marks waited behind every batch transaction, and on
	// PostgreSQL it sent in series what the workers send side by side.
	for range p.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work(ctx)
		}()
	}
	wg.Wait()
	p.releaseHanded()
	return nil
}

// releaseHanded gives up the leases of the messages handed to the senders
// and not sent, when Run stops: the next process sends them at once,
// rather than once their lease has run out.
func (p *Pipeline) releaseHanded() {
	p.handoffMu.Lock()
	ids := make([]int64, len(p.handoff))
	for i, h := range p.handoff {
		ids[i] = h.item.ID
	}
	p.handoff = nil
	p.handoffMu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := p.queue.ReleaseOutgoing(ctx, ids, p.cfg.Owner); err != nil {
		p.log.Warn("messages left leased at shutdown: sent once their lease runs out", "messages", len(ids), "err", err)
	}
}

// purgeHourly purges what is older than Retention, at start and then every
// hour, until ctx is done.
func (p *Pipeline) purgeHourly(ctx context.Context) {
	ticker := time.NewTicker(time.Hour)
	defer ticker.Stop()
	for {
		if err := p.Purge(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("purge failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Purge deletes the handled events, sent messages and done jobs older than
// Retention, and applies the network's retention of questions, bulletin
// items, the audit log and pseudonyms (core.RetentionConfig).
func (p *Pipeline) Purge(ctx context.Context) error {
	r, err := p.bot.net.ApplyRetention(ctx)
	if err != nil {
		return fmt.Errorf("bots: pipeline: %w", err)
	}
	if r.Total() > 0 {
		p.log.Info("retention applied", "questions", r.Questions, "offers", r.Offers, "events", r.Events,
			"audit", r.Audit, "pseudonyms", r.Pseudonyms)
	}
	if p.cfg.Retention <= 0 {
		return nil
	}
	n, err := p.queue.Purge(ctx, p.clock.Now().Add(-p.cfg.Retention))
	if err != nil {
		return fmt.Errorf("bots: pipeline: %w", err)
	}
	if n > 0 {
		p.log.Info("purged old delivery rows", "rows", n, "retention", p.cfg.Retention)
	}
	return nil
}

// work is one worker of Run: it steps while there is work, then waits for
// a wake-up or the next poll.
func (p *Pipeline) work(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-timer.C:
		}
		for ctx.Err() == nil {
			stepCtx, done := graceful(ctx, ShutdownGrace)
			n, err := p.Step(stepCtx)
			done()
			if err != nil && ctx.Err() == nil {
				p.log.Error("pipeline step failed", "err", err)
				break
			}
			if n == 0 {
				break
			}
		}
		timer.Reset(p.cfg.Poll)
	}
}

// ShutdownGrace is how long a step under way when Run's context ends may
// go on: the events it claimed are handled and committed, the messages it
// sent marked sent, rather than left leased until their lease runs out.
const ShutdownGrace = 10 * time.Second

// graceful returns a context that ends grace after ctx does (or when done
// is called), not at once.
func graceful(ctx context.Context, grace time.Duration) (context.Context, func()) {
	inner, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(inner, func() { t.Stop() })
	})
	return inner, func() { stop(); cancel() }
}

// Drain works until nothing is due: every pending event handled, every due
// message sent or set to be retried later. The console calls it after each
// line, so scripts are deterministic.
func (p *Pipeline) Drain(ctx context.Context) error {
	for {
		n, err := p.Step(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// Step handles one batch of due events and jobs and sends one batch of due
// messages, and returns how many it took.
func (p *Pipeline) Step(ctx context.Context) (int, error) {
	handled, err := p.StepHandle(ctx)
	if err != nil {
		return handled, err
	}
	sent, err := p.StepSend(ctx)
	return handled + sent, err
}

// StepHandle handles one batch of due events and one of due jobs, and
// returns how many it took.
func (p *Pipeline) StepHandle(ctx context.Context) (int, error) {
	if err := p.failpoint(StepBeforeClaim); err != nil {
		return 0, err
	}
	events, err := p.handleEvents(ctx)
	if err != nil {
		return events, err
	}
	jobs, err := p.runJobs(ctx)
	return events + jobs, err
}

// StepSend sends one batch of due messages and returns how many it took.
func (p *Pipeline) StepSend(ctx context.Context) (int, error) {
	return p.sendMessages(ctx)
}

func (p *Pipeline) runJobs(ctx context.Context) (int, error) {
	jobs, err := p.queue.ClaimJobs(ctx, p.cfg.Owner, p.cfg.Batch, p.cfg.Lease, p.clock.Now())
	if err != nil {
		return 0, fmt.Errorf("bots: pipeline: %w", err)
	}
	for _, j := range jobs {
		if err := p.runJob(ctx, j); err != nil {
			return len(jobs), err
		}
	}
	return len(jobs), nil
}

// runJob runs one job in one transaction with its effects and messages.
func (p *Pipeline) runJob(ctx context.Context, j core.Job) error {
	start := time.Now()
	var claimed []handed
	flush, err := p.inTx(ctx, func(q Queue, bot *Bot) error {
		claimed = claimed[:0]
		return p.unit(ctx, q,
			func() error { return q.FinishJob(ctx, j.ID, p.cfg.Owner, p.clock.Now()) },
			func() ([]Outgoing, error) { return bot.HandleJob(ctx, j) }, &claimed)
	})
	report := JobReport{Kind: j.Kind, Duration: time.Since(start), Outcome: OutcomeOK}
	var crash errCrash
	var botErr *errBot
	switch {
	case errors.As(err, &crash):
		report.Outcome, report.Err = OutcomeCrash, crash.error
		p.obs.JobRun(report)
		return crash.error
	case errors.Is(err, core.ErrConflict) && !errors.As(err, &botErr):
		report.Outcome = OutcomeConflict
		p.obs.JobRun(report)
		return nil
	case err != nil:
		failed := j.Attempts+1 >= p.cfg.MaxAttempts
		report.Outcome, report.Err = failure(errors.As(err, &botErr), failed), err
		p.obs.JobRun(report)
		p.log.Error("job failed", "job", j.Key, "attempt", j.Attempts+1, "given_up", failed, "err", err)
		if err := p.queue.RetryJob(ctx, j.ID, p.clock.Now().Add(backoff(j.Attempts)), failed, err.Error()); err != nil {
			return fmt.Errorf("bots: pipeline: %w", err)
		}
		return nil
	}
	flush()
	p.handOff(claimed)
	p.obs.JobRun(report)
	return p.failpoint(StepCommitted)
}

func (p *Pipeline) handleEvents(ctx context.Context) (int, error) {
	l, ok := p.queue.(eventLocker)
	locks := ok && p.cfg.BatchTx && l.LocksEvents()
	if locks {
		// The batch's transaction locks its events (no lease written);
		// when it fails, they are claimed and handled one by one below.
		n, done, err := p.handleBatch(ctx, nil)
		if err != nil || done {
			return n, err
		}
	}
	items, err := p.queue.ClaimEvents(ctx, p.cfg.Owner, p.cfg.Batch, p.cfg.Lease, p.clock.Now())
	if err != nil {
		return 0, fmt.Errorf("bots: pipeline: %w", err)
	}
	if len(items) > 1 && p.cfg.BatchTx && !locks {
		_, done, err := p.handleBatch(ctx, items)
		if err != nil || done {
			return len(items), err
		}
	}
	for _, item := range items {
		if err := p.handle(ctx, item); err != nil {
			return len(items), err
		}
	}
	return len(items), nil
}

// errCrash marks failpoint errors, which stop the work instead of counting
// as a failed attempt.
type errCrash struct{ error }

// errBot marks an error of the bot itself, with the apology it returned,
// apart from the store's errors.
type errBot struct {
	err     error
	apology []Outgoing
}

func (e *errBot) Error() string { return e.err.Error() }
func (e *errBot) Unwrap() error { return e.err }

// inTx runs work in one transaction of the queue, with the bot bound to it,
// and returns the function that tells the learner, to call after commit.
func (p *Pipeline) inTx(ctx context.Context, work func(q Queue, bot *Bot) error) (func(), error) {
	var flush func()
	err := p.queue.InTx(ctx, func(tx core.Store) error {
		q, ok := tx.(Queue)
		if !ok {
			return fmt.Errorf("bots: pipeline: the queue's transactions are not queues")
		}
		bot, f := p.bot.In(tx)
		flush = f
		return work(q, bot)
	})
	return flush, err
}

// unit is one claimed row's work inside a transaction: finish marks the row
// done first (on PostgreSQL this locks it, so a second process that took
// over a lapsed lease waits, then fails), produce runs the bot, and its
// messages are queued.
func (p *Pipeline) unit(ctx context.Context, q Queue, finish func() error, produce func() ([]Outgoing, error), claimed *[]handed) error {
	if err := finish(); err != nil {
		return err
	}
	out, err := produce()
	if err != nil {
		return &errBot{err: err, apology: out}
	}
	if err := p.failpoint(StepHandled); err != nil {
		return errCrash{err}
	}
	return p.putOutgoing(ctx, q, out, claimed)
}

// handoffMax is how many messages may wait in the hand-off, in units of
// SendBatch; beyond, messages are stored for the senders to claim.
const handoffMax = 4

// putOutgoing queues out in the transaction of q: the messages for this
// process's platforms are stored leased to it and added to claimed, to be
// handed to the senders once the transaction is committed (see
// handOff); the others, or all when the hand-off is full, are stored for
// any process to claim.
func (p *Pipeline) putOutgoing(ctx context.Context, q Queue, out []Outgoing, claimed *[]handed) error {
	now := p.clock.Now()
	if claimed == nil || p.handoffLen()+len(*claimed) >= handoffMax*p.cfg.SendBatch {
		return q.PutOutgoing(ctx, out, now)
	}
	var mine, others []Outgoing
	for _, o := range out {
		if _, ok := p.senders[o.To.Platform]; ok {
			mine = append(mine, o)
		} else {
			others = append(others, o)
		}
	}
	if err := q.PutOutgoing(ctx, others, now); err != nil {
		return err
	}
	items, err := q.PutOutgoingClaimed(ctx, mine, p.cfg.Owner, p.cfg.Lease, now)
	if err != nil {
		return err
	}
	for _, it := range items {
		*claimed = append(*claimed, handed{item: it, at: now})
	}
	return nil
}

func (p *Pipeline) handoffLen() int {
	p.handoffMu.Lock()
	defer p.handoffMu.Unlock()
	return len(p.handoff)
}

// handOff gives the senders the messages of a committed transaction.
func (p *Pipeline) handOff(claimed []handed) {
	if len(claimed) == 0 {
		return
	}
	p.handoffMu.Lock()
	p.handoff = append(p.handoff, claimed...)
	p.handoffMu.Unlock()
}

// takeHanded returns up to limit handed messages, oldest first. Those
// whose lease is half gone are dropped: they are claimed from the store
// once it has run out, so that no one may claim a message this process is
// still sending.
func (p *Pipeline) takeHanded(limit int) []OutboxItem {
	p.handoffMu.Lock()
	defer p.handoffMu.Unlock()
	now := p.clock.Now()
	var out []OutboxItem
	n := 0
	for _, h := range p.handoff {
		n++
		if now.Sub(h.at) > p.cfg.Lease/2 {
			continue
		}
		out = append(out, h.item)
		if len(out) == limit {
			break
		}
	}
	p.handoff = p.handoff[n:]
	if len(p.handoff) == 0 {
		p.handoff = nil
	}
	return out
}

// eventUnit is unit for a claimed event.
func (p *Pipeline) eventUnit(ctx context.Context, q Queue, bot *Bot, item InboxItem, claimed *[]handed) error {
	return p.unit(ctx, q,
		func() error { return q.FinishEvent(ctx, item.ID, p.cfg.Owner, p.clock.Now()) },
		func() ([]Outgoing, error) {
			ev, ok, err := p.reaction(ctx, q, item.Event)
			if err != nil || !ok {
				return nil, err
			}
			return bot.Handle(core.WithEventTime(ctx, ev.At), ev)
		}, claimed)
}

// reaction turns a reaction (Event.ReactionTo) into the command it stands
// for, recorded when the message reacted to was sent, as a button press
// would: in a direct message to the bot; and a reaction taken back
// (Event.Unreact) into the button's Action.Unreact. ok is false for a
// reaction that stands for nothing (another emoji, a message that is not
// the bot's, a reaction taken back that the inbox no longer holds or that
// someone else made), which is dropped. Other events are returned as they
// are.
func (p *Pipeline) reaction(ctx context.Context, q Queue, ev Event) (Event, bool, error) {
	undo := ev.Unreact != ""
	if undo {
		// The reaction taken back: its own event, if the inbox still
		// holds it and the same person made it.
		orig, ok, err := q.HandledEvent(ctx, ev.Platform, ev.Unreact)
		if err != nil || !ok || orig.ReactionTo == "" || orig.Sender != ev.Sender {
			return ev, false, err
		}
		ev.ReactionTo, ev.Reaction = orig.ReactionTo, orig.Reaction
	}
	if ev.ReactionTo == "" {
		return ev, true, nil
	}
	key := NormalizeReaction(ev.Reaction)
	if !actionReactions[key] {
		return ev, false, nil
	}
	r, err := q.ReactionFor(ctx, ev.Platform, ev.ReactionTo, key)
	command := r.Command
	if undo {
		command = r.Undo
	}
	if err != nil || command == "" {
		return ev, false, err
	}
	ev.Text, ev.DM = p.bot.cfg.Prefix+command, true
	return ev, true, nil
}

// writeDeferrer is a queue transaction that can keep the rows it writes
// until commit and write them then, a statement per table: a batch then
// costs a few round trips per table instead of several per event
// (sqlstore does on PostgreSQL).
type writeDeferrer interface {
	DeferWrites()
}

// peopleKeeper is a queue transaction that can read the people of many
// accounts in one statement and keep them for the rest of the transaction
// (sqlstore does): a batch reads its events' senders together.
type peopleKeeper interface {
	KeepPeople(ctx context.Context, ids []core.Identity) error
}

// eventLocker is a queue whose transactions can claim events by locking
// them, with no lease written (sqlstore does on PostgreSQL, with FOR
// UPDATE SKIP LOCKED): a batch's transaction takes its events, handles them
// and marks them done, and should it roll back or its process die, they
// are due again at once. Claiming with a lease updated every event once
// more.
type eventLocker interface {
	LocksEvents() bool
	LockEvents(ctx context.Context, limit int, now time.Time) ([]InboxItem, error)
}

// handleBatch handles events in one transaction, which saves a commit per
// event: the claimed items, or when items is nil up to a batch of events
// the transaction locks (see eventLocker). It reports how many events it
// took, and whether it handled them: when any of them fails it rolls back
// and reports false, and the events are then handled in a transaction
// each.
func (p *Pipeline) handleBatch(ctx context.Context, items []InboxItem) (int, bool, error) {
	// took holds the time of each event's own work; the batch's commit is
	// shared.
	lock := items == nil
	took := make([]time.Duration, 0, p.cfg.Batch)
	var start time.Time
	var claimed []handed
	flush, err := p.inTx(ctx, func(q Queue, bot *Bot) error {
		took, claimed = took[:0], claimed[:0]
		if lock {
			l, ok := q.(eventLocker)
			if !ok {
				return fmt.Errorf("bots: pipeline: the queue's transactions do not lock events")
			}
			var err error
			if items, err = l.LockEvents(ctx, p.cfg.Batch, p.clock.Now()); err != nil || len(items) == 0 {
				return err
			}
		}
		if d, ok := q.(writeDeferrer); ok {
			d.DeferWrites()
		}
		if k, ok := q.(peopleKeeper); ok {
			senders := make([]core.Identity, len(items))
			for i, item := range items {
				senders[i] = item.Event.Sender
			}
			if err := k.KeepPeople(ctx, senders); err != nil {
				return err
			}
		}
		for _, item := range items {
			start = time.Now()
			if err := p.eventUnit(ctx, q, bot, item, &claimed); err != nil {
				return err
			}
			took = append(took, time.Since(start))
		}
		return nil
	})
	var crash errCrash
	switch {
	case errors.As(err, &crash):
		item := items[len(took)]
		p.obs.EventHandled(HandlingReport{Platform: item.Event.Platform, Command: p.bot.commandOf(item.Event.Text),
			Duration: time.Since(start), Outcome: OutcomeCrash, Err: crash.error})
		return len(items), false, crash.error
	case err != nil:
		p.log.Debug("batch rolled back, handling its events one by one", "events", len(items), "err", err)
		return len(items), false, nil
	}
	flush()
	p.handOff(claimed)
	for i, item := range items {
		p.obs.EventHandled(HandlingReport{Platform: item.Event.Platform, Command: p.bot.commandOf(item.Event.Text),
			Duration: took[i], Outcome: OutcomeOK})
	}
	if len(items) == 0 {
		return 0, true, nil
	}
	return len(items), true, p.failpoint(StepCommitted)
}

// handle handles one event in one transaction: the event is marked done,
// the bot's effects are stored and its messages queued, all or nothing.
func (p *Pipeline) handle(ctx context.Context, item InboxItem) error {
	start := time.Now()
	var claimed []handed
	flush, err := p.inTx(ctx, func(q Queue, bot *Bot) error {
		claimed = claimed[:0]
		return p.eventUnit(ctx, q, bot, item, &claimed)
	})
	report := HandlingReport{Platform: item.Event.Platform, Command: p.bot.commandOf(item.Event.Text),
		Duration: time.Since(start), Outcome: OutcomeOK}
	failed := item.Attempts+1 >= p.cfg.MaxAttempts
	var crash errCrash
	var botErr *errBot
	switch {
	case errors.As(err, &crash):
		report.Outcome, report.Err = OutcomeCrash, crash.error
		p.obs.EventHandled(report)
		return crash.error
	case errors.As(err, &botErr):
		report.Outcome, report.Err = failure(true, failed), botErr.err
		p.obs.EventHandled(report)
		return p.retryEvent(ctx, item, botErr.err, botErr.apology)
	case errors.Is(err, core.ErrConflict):
		report.Outcome = OutcomeConflict
		p.obs.EventHandled(report)
		p.log.Info("event handled elsewhere", "event", item.Event.ID)
		return nil
	case err != nil:
		report.Outcome, report.Err = failure(false, failed), err
		p.obs.EventHandled(report)
		return p.retryEvent(ctx, item, err, nil)
	}
	flush()
	p.handOff(claimed)
	p.obs.EventHandled(report)
	return p.failpoint(StepCommitted)
}

// retryEvent sets a failed event to be handled again later, or aside for
// good after MaxAttempts, when the sender gets the bot's apology.
func (p *Pipeline) retryEvent(ctx context.Context, item InboxItem, cause error, apology []Outgoing) error {
	failed := item.Attempts+1 >= p.cfg.MaxAttempts
	next := p.clock.Now().Add(backoff(item.Attempts))
	p.log.Error("event handling failed", "platform", item.Event.Platform, "event", item.Event.ID,
		"attempt", item.Attempts+1, "given_up", failed, "err", cause)
	if err := p.queue.RetryEvent(ctx, item.ID, next, failed, cause.Error()); err != nil {
		return fmt.Errorf("bots: pipeline: %w", err)
	}
	if failed && len(apology) > 0 {
		if err := p.queue.PutOutgoing(ctx, apology, p.clock.Now()); err != nil {
			return fmt.Errorf("bots: pipeline: %w", err)
		}
	}
	return nil
}

// backoff is the delay before attempt n+1: 2 s doubling, at most 10 min.
func backoff(attempts int) time.Duration {
	d := 2 * time.Second
	for range attempts {
		d *= 2
		if d >= 10*time.Minute {
			return 10 * time.Minute
		}
	}
	return d
}

func (p *Pipeline) sendMessages(ctx context.Context) (int, error) {
	// Messages handed over by this process's transactions go first, with
	// no claim; the store is asked when there are none, and at least every
	// Poll, so that the messages only the store holds (retries, those of a
	// process that died, those stored when the hand-off was full) never
	// wait behind a steady hand-off.
	items := p.takeHanded(p.cfg.SendBatch)
	now := p.clock.Now()
	p.claimMu.Lock()
	claim := len(items) == 0 || now.Sub(p.lastClaim) >= p.cfg.Poll
	if claim {
		p.lastClaim = now
	}
	p.claimMu.Unlock()
	if claim {
		claimed, err := p.queue.ClaimOutgoing(ctx, p.cfg.Owner, p.platforms, max(p.cfg.SendBatch-len(items), p.cfg.SendBatch/4), p.cfg.Lease, now)
		if err != nil {
			return 0, fmt.Errorf("bots: pipeline: %w", err)
		}
		items = append(items, claimed...)
	}
	// Messages to platforms that deduplicate by key are marked together,
	// in one statement, after the batch: a crash in between sends them
	// again with the same keys, and the platform shows them once. Others
	// are marked as soon as they are sent. On platforms whose senders can
	// look a message up by key, each send is also recorded as begun (in
	// doubt), in the statement that marks the one before it: after a
	// crash, the message in flight is looked for before it is posted again.
	var sent []SentMessage
	var crash error
	var doubted int64 // the message last recorded in doubt
	for i, item := range items {
		if p.checking[item.Outgoing.To.Platform] && !item.InDoubt && doubted != item.ID {
			if err := p.queue.MarkSentAndDoubt(ctx, nil, item.ID, p.clock.Now()); err != nil {
				crash = fmt.Errorf("bots: pipeline: %w", err)
				break
			}
		}
		s, ok, err := p.send(ctx, item)
		if err != nil {
			crash = err
			break
		}
		if !ok {
			continue
		}
		if p.idempotent[item.Outgoing.To.Platform] {
			sent = append(sent, s)
			continue
		}
		var next int64
		if i+1 < len(items) && p.checking[items[i+1].Outgoing.To.Platform] && !items[i+1].InDoubt {
			next = items[i+1].ID
		}
		if err := p.queue.MarkSentAndDoubt(ctx, []SentMessage{s}, next, p.clock.Now()); err != nil {
			crash = fmt.Errorf("bots: pipeline: %w", err)
			break
		}
		doubted = next
		if err := p.failpoint(StepMarkedSent); err != nil {
			crash = err
			break
		}
	}
	if crash != nil {
		return len(items), crash
	}
	if len(sent) == 0 {
		return len(items), nil
	}
	if err := p.queue.MarkAllSent(ctx, sent, p.clock.Now()); err != nil {
		return len(items), fmt.Errorf("bots: pipeline: %w", err)
	}
	for range sent {
		if err := p.failpoint(StepMarkedSent); err != nil {
			return len(items), err
		}
	}
	return len(items), nil
}

// send sends one message; it reports whether the platform accepted it. A
// refused message is set to be retried, or aside; the error is a crash.
func (p *Pipeline) send(ctx context.Context, item OutboxItem) (SentMessage, bool, error) {
	o := item.Outgoing
	start := time.Now()
	sender := p.senders[o.To.Platform]
	var sent Sent
	var found, lookupFailed bool
	var err error
	if c, ok := sender.(CheckingSender); ok && item.InDoubt {
		if sent, found, err = c.FindSent(ctx, o, item.Created); found {
			p.log.Info("message in doubt found already posted: not sent again", "platform", o.To.Platform, "key", o.Key)
		}
		lookupFailed = err != nil
	}
	if err == nil && !found {
		sent, err = sender.Send(ctx, o)
	}
	// retry sets the message to be sent again at next. On a platform
	// where messages are looked up, it stays in doubt unless the platform
	// refused it outright (rate limited): the lookup of a message in doubt
	// failed, or the send failed in a way that does not say whether the
	// platform took it (a timeout, a connection cut, a server error).
	retry := func(next time.Time, failed bool, cause error, refused bool) error {
		inDoubt := p.checking[o.To.Platform] && !failed && (lookupFailed || !refused)
		if err := p.queue.RetryOutgoing(ctx, item.ID, next, failed, cause.Error(), inDoubt); err != nil {
			return fmt.Errorf("bots: pipeline: %w", err)
		}
		return nil
	}
	report := SendReport{Platform: o.To.Platform, Duration: time.Since(start), Outcome: OutcomeOK, Err: err}
	var limited *RetryAfterError
	switch {
	case err == nil:
		p.obs.MessageSent(report)
	case errors.As(err, &limited):
		report.Outcome, report.RetryAfter = OutcomeRateLimited, limited.After
		p.obs.MessageSent(report)
		p.log.Warn("rate limited", "platform", o.To.Platform, "key", o.Key, "retry_after", limited.After)
		return SentMessage{}, false, retry(p.clock.Now().Add(limited.After), false, err, !lookupFailed)
	default:
		failed := errors.Is(err, ErrUndeliverable) || item.Attempts+1 >= p.cfg.MaxAttempts
		report.Outcome = OutcomeRetry
		if failed {
			report.Outcome = OutcomeFailed
		}
		p.obs.MessageSent(report)
		p.log.Error("send failed", "platform", o.To.Platform, "key", o.Key, "attempt", item.Attempts+1, "given_up", failed, "err", err)
		return SentMessage{}, false, retry(p.clock.Now().Add(backoff(item.Attempts)), failed, err, false)
	}
	if err := p.failpoint(StepSent); err != nil {
		return SentMessage{}, false, err
	}
	s := SentMessage{ID: item.ID, MessageID: sent.MessageID, Scrub: o.Scrub}
	if p.reacting[o.To.Platform] && sent.MessageID != "" {
		s.Reactions, s.Platform = ReactionsOf(o.Message), o.To.Platform
	}
	return s, true, nil
}
