package bots_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// platformFake is a Sender that behaves like a platform with idempotent
// sends (Matrix transaction ids): a message sent twice with the same key is
// shown once. It counts every call, to see what reached the platform.
type platformFake struct {
	mu      sync.Mutex
	calls   map[string]int
	visible map[string]string
	order   []string
}

func newPlatformFake() *platformFake {
	return &platformFake{calls: map[string]int{}, visible: map[string]string{}}
}

func (f *platformFake) Platform() core.Platform { return "test" }

// IdempotentSends implements bots.IdempotentSender.
func (f *platformFake) IdempotentSends() bool { return true }

func (f *platformFake) Send(_ context.Context, o bots.Outgoing) (bots.Sent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[o.Key]++
	if _, seen := f.visible[o.Key]; !seen {
		where := o.To.Room + "/" + o.To.Thread + "/" + o.To.User
		f.visible[o.Key] = where + ": " + o.Message.PlainText()
		f.order = append(f.order, o.Key)
	}
	return bots.Sent{MessageID: "m-" + o.Key}, nil
}

// digits hides numbers: PostgreSQL does not give back the ids of a
// rolled-back transaction, so after a crash a question may be n°2 where it
// was n°1.
var digits = regexp.MustCompile(`[0-9]+`)

// seen returns what people saw, one line per message, in key order, with
// numbers hidden.
func (f *platformFake) seen() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var lines []string
	for k, v := range f.visible {
		lines = append(lines, digits.ReplaceAllString(k+" => "+v, "N"))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func event(n int, user, room, text string) bots.Event {
	return bots.Event{
		ID: fmt.Sprintf("e%d", n), Platform: "test", Room: room, DM: room == "",
		Sender: core.Identity{Platform: "test", User: user}, SenderName: user, Text: text,
	}
}

// scenario is the foundation's conversation, as platform events.
var scenario = []bots.Event{
	event(1, "bob", "#general", "!expert marchés publics, achats"),
	event(2, "carol", "#general", "!expert ressources humaines, congés"),
	event(3, "alice", "#general", "!ask Comment rédiger le cahier des charges d'un marché public de fournitures ?"),
	event(4, "bob", "", "!answer Partez du modèle de la DAJ et adaptez les clauses techniques."),
	event(5, "alice", "#general", "!resolve"),
}

func newPipeline(t *testing.T, store *sqlstore.Store, clock core.Clock, sender bots.Sender, owner string, fail bots.Failpoint) *bots.Pipeline {
	t.Helper()
	return buildPipeline(t, store, clock, core.DefaultConfig(), sender, fail, func(c *bots.PipelineConfig) {
		c.Owner, c.Batch = owner, 2
	})
}

// buildPipeline returns a pipeline over store with a bot on a network of
// cfg, sending through sender; tune adjusts the pipeline's settings.
func buildPipeline(t testing.TB, store *sqlstore.Store, clock core.Clock, cfg core.Config, sender bots.Sender, fail bots.Failpoint, tune func(*bots.PipelineConfig)) *bots.Pipeline {
	t.Helper()
	return buildPipelineOver(t, store, store, clock, cfg, sender, fail, tune)
}

// buildPipelineOver is buildPipeline with the pipeline's queue apart from
// the store the network uses (a wrapper of it, in tests that count or
// hold the queue's calls).
func buildPipelineOver(t testing.TB, store *sqlstore.Store, queue bots.Queue, clock core.Clock, cfg core.Config, sender bots.Sender, fail bots.Failpoint, tune func(*bots.PipelineConfig)) *bots.Pipeline {
	t.Helper()
	net, err := core.NewNetwork(store, nil, clock, cfg)
	if err != nil {
		t.Fatal(err)
	}
	bot, err := bots.New(net, bots.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	pcfg := bots.DefaultPipelineConfig()
	if tune != nil {
		tune(&pcfg)
	}
	p, err := bots.NewPipeline(queue, bot, []bots.Sender{sender}, clock, pcfg, nil, fail)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// conversation drives a pipeline as people would, on a fake clock, and
// tells what each step sent.
type conversation struct {
	t      *testing.T
	p      *bots.Pipeline
	clock  *core.ManualClock
	sender *platformFake
	n      int
}

func newConversation(t *testing.T, store *sqlstore.Store, cfg core.Config) *conversation {
	c := &conversation{t: t, clock: core.NewManualClock(t0), sender: newPlatformFake()}
	c.p = buildPipeline(t, store, c.clock, cfg, c.sender, nil, nil)
	return c
}

// say delivers what user wrote in room ("" for a DM) and returns what the
// bot sent because of it, one message a line.
func (c *conversation) say(user, room, text string) string {
	c.t.Helper()
	c.n++
	return c.sent(func() error { return c.p.Deliver(context.Background(), event(c.n, user, room, text)) })
}

// after moves the clock by d and returns what the bot sent meanwhile.
func (c *conversation) after(d time.Duration) string {
	c.t.Helper()
	return c.sent(func() error { c.clock.Advance(d); return nil })
}

func (c *conversation) sent(do func() error) string {
	c.t.Helper()
	before := len(c.sender.order)
	if err := do(); err != nil {
		c.t.Fatal(err)
	}
	if err := c.p.Drain(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	var got []string
	for _, key := range c.sender.order[before:] {
		got = append(got, c.sender.visible[key])
	}
	return strings.Join(got, "\n")
}

// crashAt returns a failpoint that fails the n-th time step is reached, and
// a function telling whether it did.
func crashAt(step string, n int) (bots.Failpoint, func() bool) {
	var mu sync.Mutex
	seen, crashed := 0, false
	return func(s string) error {
			mu.Lock()
			defer mu.Unlock()
			if s != step || crashed {
				return nil
			}
			seen++
			if seen == n {
				crashed = true
				return errors.New("crash at " + step)
			}
			return nil
		}, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return crashed
		}
}

// play runs the scenario in one process that crashes where fail says, then
// in a second one started after the first one's leases ran out, to which the
// platform delivers every event again (it never got all the acks).
func play(t *testing.T, store *sqlstore.Store, sender *platformFake, fail bots.Failpoint) {
	ctx := context.Background()
	clock := core.NewManualClock(t0)
	first := newPipeline(t, store, clock, sender, "first", fail)
	for _, ev := range scenario {
		if err := first.Deliver(ctx, ev); err != nil {
			break // not acknowledged: the platform will deliver it again
		}
		if err := first.Drain(ctx); err != nil {
			break // the process died
		}
		clock.Advance(time.Second)
	}
	clock.Advance(bots.DefaultPipelineConfig().Lease + time.Second)
	second := newPipeline(t, store, clock, sender, "second", nil)
	for _, ev := range scenario {
		if err := second.Deliver(ctx, ev); err != nil {
			t.Fatalf("redelivery of %s: %v", ev.ID, err)
		}
		if err := second.Drain(ctx); err != nil {
			t.Fatalf("after restart: %v", err)
		}
	}
}

// TestCrashAnywhereLosesNothing kills the pipeline at every step of its
// work, at every occurrence, restarts it and redelivers every event: people
// see exactly what they see without a crash, once, and the database holds
// one question with one answer. On SQLite and PostgreSQL.
func TestCrashAnywhereLosesNothing(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			clean := newPlatformFake()
			play(t, open(t), clean, nil)
			want := clean.seen()
			if !strings.Contains(want, "Partez du modèle de la DAJ") || strings.Count(want, " => ") != 8 {
				t.Fatalf("clean run shows:\n%s", want)
			}
			crashes := 0
			for _, step := range []string{bots.StepStored, bots.StepBeforeClaim, bots.StepHandled, bots.StepCommitted, bots.StepSent, bots.StepMarkedSent} {
				for n := 1; ; n++ {
					fail, crashed := crashAt(step, n)
					store := open(t)
					sender := newPlatformFake()
					play(t, store, sender, fail)
					if !crashed() {
						break
					}
					crashes++
					name := fmt.Sprintf("%s#%d", step, n)
					if got := sender.seen(); got != want {
						t.Errorf("crash at %s: people saw\n%s\nwant\n%s", name, got, want)
					}
					assertOneQuestion(t, store, name)
					for key, calls := range sender.calls {
						if calls > 1 && step != bots.StepSent {
							t.Errorf("crash at %s: %s sent %d times", name, key, calls)
						}
					}
				}
			}
			if crashes < 20 {
				t.Fatalf("only %d crash points exercised", crashes)
			}
		})
	}
}

func assertOneQuestion(t *testing.T, store *sqlstore.Store, name string) {
	t.Helper()
	ctx := context.Background()
	qs, err := store.QuestionsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1 || qs[0].State != core.StateResolved {
		t.Errorf("crash at %s: questions %+v, want one resolved", name, qs)
		return
	}
	answers, err := store.Answers(ctx, qs[0].ID)
	if err != nil || len(answers) != 1 {
		t.Errorf("crash at %s: answers %+v, %v", name, answers, err)
	}
	events, messages, err := store.Backlog(ctx)
	if err != nil || events != 0 || messages != 0 {
		t.Errorf("crash at %s: backlog of %d events and %d messages (%v)", name, events, messages, err)
	}
}

// TestDuplicateDeliveriesChangeNothing delivers every event three times.
func TestDuplicateDeliveriesChangeNothing(t *testing.T) {
	ctx := context.Background()
	store := sqlstoretest.SQLite(t)
	sender := newPlatformFake()
	p := newPipeline(t, store, core.NewManualClock(t0), sender, "one", nil)
	for _, ev := range scenario {
		for range 3 {
			if err := p.Deliver(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for key, n := range sender.calls {
		if n != 1 {
			t.Errorf("%s sent %d times", key, n)
		}
	}
	assertOneQuestion(t, store, "none")
}

// TestTwoReplicasNeverDoubleSend runs two pipelines on one PostgreSQL
// database, as two entraide processes would, over a burst of questions.
func TestTwoReplicasNeverDoubleSend(t *testing.T) {
	// One event per transaction, and batches of events in one transaction
	// each, their writes deferred to the commit (the default on
	// PostgreSQL), where budgets the other replica spent meanwhile fail the
	// batch and its events are handled one by one.
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) { twoReplicas(t, sqlstoretest.PostgresURL(t), batch) })
	}
}

func twoReplicas(t *testing.T, url string, batch bool) {
	ctx := context.Background()
	stores := make([]*sqlstore.Store, 2)
	for i := range stores {
		s, err := sqlstore.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	clock := core.NewManualClock(t0)
	sender := newPlatformFake()
	pipes := []*bots.Pipeline{
		buildPipeline(t, stores[0], clock, core.DefaultConfig(), sender, nil, func(c *bots.PipelineConfig) { c.Owner, c.BatchTx = "replica-a", batch }),
		buildPipeline(t, stores[1], clock, core.DefaultConfig(), sender, nil, func(c *bots.PipelineConfig) { c.Owner, c.BatchTx = "replica-b", batch }),
	}
	const experts, questions = 10, 60
	n := 0
	for i := range experts {
		n++
		if err := pipes[i%2].Deliver(ctx, event(n, fmt.Sprintf("expert%d", i), "#general", "!expert marchés publics")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range questions {
		n++
		ev := event(n, fmt.Sprintf("agent%d", i), "#general", fmt.Sprintf("!ask Question %d sur les marchés publics ?", i))
		if err := pipes[i%2].Deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, p := range pipes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Drain(ctx)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Whatever one replica left for the other, drain once more.
	for _, p := range pipes {
		if err := p.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for key, calls := range sender.calls {
		if calls != 1 {
			t.Errorf("%s sent %d times", key, calls)
		}
	}
	qs, err := stores[0].QuestionsAfter(ctx, 0, 1000)
	if err != nil || len(qs) != questions {
		t.Fatalf("%d questions stored (%v), want %d", len(qs), err, questions)
	}
	// Each question: an acknowledgement plus up to three requests, within
	// the experts' daily budgets (10 experts x 5 = 50 requests).
	acks, requests := 0, 0
	for key := range sender.calls {
		switch {
		case strings.HasSuffix(key, "/reply"):
			acks++
		case strings.Contains(key, "/request/"):
			requests++
		}
	}
	if acks != experts+questions || requests != experts*core.DefaultConfig().DailyBudget {
		t.Fatalf("%d replies and %d requests sent", acks, requests)
	}
}

// TestBatchedHandling delivers the whole conversation before any handling,
// so events are handled in batches of one transaction each, and crashes in
// the middle of a batch: people see what they see one event at a time.
func TestBatchedHandling(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) { batchedHandling(t, open) })
	}
}

func batchedHandling(t *testing.T, open sqlstoretest.Opener) {
	ctx := context.Background()
	clean := newPlatformFake()
	play(t, open(t), clean, nil)
	want := clean.seen()
	for _, crashStep := range []string{"", bots.StepHandled, bots.StepCommitted, bots.StepSent} {
		for n := 1; n <= 3; n++ {
			store := open(t)
			sender := newPlatformFake()
			clock := core.NewManualClock(t0)
			var fail bots.Failpoint
			crashed := func() bool { return false }
			if crashStep != "" {
				fail, crashed = crashAt(crashStep, n)
			}
			first := newBatchPipeline(t, store, clock, sender, "first", fail)
			for _, ev := range scenario[:3] {
				if err := first.Deliver(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			// The answer needs the question routed first: deliver it after.
			err := first.Drain(ctx)
			if err == nil {
				for _, ev := range scenario[3:] {
					if err = first.Deliver(ctx, ev); err != nil {
						break
					}
					if err = first.Drain(ctx); err != nil {
						break
					}
				}
			}
			if crashStep != "" && !crashed() {
				continue
			}
			clock.Advance(bots.DefaultPipelineConfig().Lease + time.Second)
			second := newBatchPipeline(t, store, clock, sender, "second", nil)
			for _, ev := range scenario {
				if err := second.Deliver(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := second.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if got := sender.seen(); got != want {
				t.Errorf("crash at %q#%d: people saw\n%s\nwant\n%s", crashStep, n, got, want)
			}
			assertOneQuestion(t, store, fmt.Sprintf("%s#%d", crashStep, n))
			if crashStep == "" {
				break
			}
		}
	}
}

func newBatchPipeline(t *testing.T, store *sqlstore.Store, clock core.Clock, sender bots.Sender, owner string, fail bots.Failpoint) *bots.Pipeline {
	t.Helper()
	return buildPipeline(t, store, clock, core.DefaultConfig(), sender, fail, func(c *bots.PipelineConfig) {
		c.Owner, c.BatchTx = owner, true
	})
}

// BenchmarkAskThroughPipeline measures one question from Deliver to its
// messages sent, on SQLite with the topic router: the hot path of intake.
func BenchmarkAskThroughPipeline(b *testing.B) {
	ctx := context.Background()
	store := sqlstoretest.SQLite(b)
	clock := core.NewManualClock(t0)
	cfg := core.DefaultConfig()
	cfg.DailyBudget = 1000
	net, err := core.NewNetwork(store, nil, clock, cfg)
	if err != nil {
		b.Fatal(err)
	}
	bot, err := bots.New(net, bots.DefaultConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	p, err := bots.NewPipeline(store, bot, []bots.Sender{newPlatformFake()}, clock, bots.DefaultPipelineConfig(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i, topic := range []string{"marchés publics", "congés", "urbanisme", "archives"} {
		if err := p.Deliver(ctx, event(i+1, fmt.Sprintf("expert%d", i), "#g", "!expert "+topic)); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Drain(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		ev := event(100+i, fmt.Sprintf("agent%d", i%50), "#g", fmt.Sprintf("!ask Question %d sur les marchés publics ?", i))
		if err := p.Deliver(ctx, ev); err != nil {
			b.Fatal(err)
		}
		if err := p.Drain(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPurgeKeepsWhatDedupeNeeds purges after the retention: old handled
// events go, and then a late duplicate of one would be handled again, which
// is why the retention (a week) outlasts every platform's redelivery.
func TestPurgeKeepsWhatDedupeNeeds(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) { testPurge(t, open(t)) })
	}
}

func testPurge(t *testing.T, store *sqlstore.Store) {
	ctx := context.Background()
	clock := core.NewManualClock(t0)
	sender := newPlatformFake()
	p := newPipeline(t, store, clock, sender, "one", nil)
	for _, ev := range scenario[:3] {
		if err := p.Deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(6 * 24 * time.Hour)
	if err := p.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	// Within the retention, a duplicate is still recognised.
	if err := p.Deliver(ctx, scenario[2]); err != nil {
		t.Fatal(err)
	}
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if qs, _ := store.QuestionsAfter(ctx, 0, 10); len(qs) != 1 {
		t.Fatalf("%d questions after a duplicate within the retention", len(qs))
	}
	clock.Advance(2 * 24 * time.Hour)
	if err := p.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	var rows int
	for _, table := range []string{"inbox", "outbox"} {
		var n int
		if err := store.DB().Get(&n, "SELECT COUNT(*) FROM "+table); err != nil {
			t.Fatal(err)
		}
		rows += n
	}
	// The escalation job of the question is pending for a day after t0 and
	// done since: it went too. What remains is nothing.
	if rows != 0 {
		t.Fatalf("%d inbox and outbox rows left after the retention", rows)
	}
	// The question itself is data, not delivery: it stays.
	if qs, _ := store.QuestionsAfter(ctx, 0, 10); len(qs) != 1 {
		t.Fatalf("purge removed questions: %d left", len(qs))
	}
}

// plainPlatform is a Sender without idempotency keys (Slack, Discord): a
// message sent twice is shown twice.
type plainPlatform struct{ *platformFake }

func (plainPlatform) IdempotentSends() bool { return false }

// crashAfterSend plays the first three events of the scenario in a
// process that crashes right after its n-th send (before marking it sent),
// and returns a second process over the same store, started once the
// first one's leases ran out.
func crashAfterSend(t *testing.T, ctx context.Context, store *sqlstore.Store, clock *core.ManualClock, sender bots.Sender, n int) *bots.Pipeline {
	t.Helper()
	fail, crashed := crashAt(bots.StepSent, n)
	first := buildPipeline(t, store, clock, core.DefaultConfig(), sender, fail, func(c *bots.PipelineConfig) { c.Owner, c.Batch = "first", 32 })
	for _, ev := range scenario[:3] {
		if err := first.Deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Drain(ctx); err == nil || !crashed() {
		t.Fatalf("no crash: %v", err)
	}
	clock.Advance(bots.DefaultPipelineConfig().Lease + time.Second)
	return buildPipeline(t, store, clock, core.DefaultConfig(), sender, nil, func(c *bots.PipelineConfig) { c.Owner = "second" })
}

// TestNonIdempotentPlatformDuplicatesAtMostOne: on a platform that cannot
// recognise a message sent again, a crash right after a send duplicates
// that message only, not the rest of its batch: messages are marked sent
// one by one.
func TestNonIdempotentPlatformDuplicatesAtMostOne(t *testing.T) {
	ctx := context.Background()
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			clock := core.NewManualClock(t0)
			sender := plainPlatform{newPlatformFake()}
			second := crashAfterSend(t, ctx, open(t), clock, sender, 4)
			if err := second.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			twice := 0
			for key, n := range sender.calls {
				if n > 1 {
					twice++
					if n > 2 {
						t.Errorf("%s sent %d times", key, n)
					}
				}
			}
			if twice != 1 {
				t.Fatalf("%d messages sent twice, want the one in flight at the crash", twice)
			}
		})
	}
}

// checkingPlatform is a platform without idempotent sends whose messages
// can be looked up by key (as Slack's, by their metadata).
type checkingPlatform struct {
	plainPlatform
	lookups map[string]int // key -> FindSent calls
	found   map[string]int
	// failLookups is how many lookups fail first.
	failLookups *int
}

func newCheckingPlatform() checkingPlatform {
	return checkingPlatform{plainPlatform{newPlatformFake()}, map[string]int{}, map[string]int{}, new(int)}
}

// FindSent implements bots.CheckingSender.
func (c checkingPlatform) FindSent(_ context.Context, o bots.Outgoing, _ time.Time) (bots.Sent, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookups[o.Key]++
	if *c.failLookups > 0 {
		*c.failLookups--
		return bots.Sent{}, false, errors.New("conversations.history: 500")
	}
	if _, ok := c.visible[o.Key]; ok {
		c.found[o.Key]++
		return bots.Sent{MessageID: "m-" + o.Key}, true, nil
	}
	return bots.Sent{}, false, nil
}

// TestCheckingPlatformPostsTheMessageInFlightOnce: on a platform where a
// message can be looked up by key, a crash right after a send duplicates
// nothing: the send was recorded as begun, and the next process finds the
// message instead of posting it again. Messages whose send never began are
// not looked up. A lookup that fails leaves the message in doubt: it is
// looked up again at the next attempt.
func TestCheckingPlatformPostsTheMessageInFlightOnce(t *testing.T) {
	ctx := context.Background()
	for backend, open := range sqlstoretest.Backends() {
		for _, failing := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/lookups failing %d", backend, failing), func(t *testing.T) {
				testCheckingPlatform(t, ctx, open(t), failing)
			})
		}
	}
}

func testCheckingPlatform(t *testing.T, ctx context.Context, store *sqlstore.Store, failing int) {
	clock := core.NewManualClock(t0)
	sender := newCheckingPlatform()
	second := crashAfterSend(t, ctx, store, clock, sender, 2)
	sentBefore := len(sender.visible)
	*sender.failLookups = failing
	if err := second.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute) // past the backoff of a failed lookup
	if err := second.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for key, n := range sender.calls {
		if n > 1 {
			t.Errorf("%s posted %d times", key, n)
		}
	}
	if len(sender.lookups) != 1 || len(sender.found) != 1 {
		t.Fatalf("looked up %v, found %v: want the one message in flight at the crash, found", sender.lookups, sender.found)
	}
	for key, n := range sender.lookups {
		if n != failing+1 {
			t.Errorf("%s looked up %d times, want %d", key, n, failing+1)
		}
	}
	if len(sender.visible) <= sentBefore {
		t.Fatalf("the second process sent nothing (%d messages before, %d after)", sentBefore, len(sender.visible))
	}
}

// failOnce fails the first send of each key with err.
type failOnce struct {
	checkingPlatform
	refused map[string]bool
	err     error
}

func (f failOnce) Send(ctx context.Context, o bots.Outgoing) (bots.Sent, error) {
	f.mu.Lock()
	refuse := !f.refused[o.Key]
	f.refused[o.Key] = true
	f.mu.Unlock()
	if refuse {
		return bots.Sent{}, f.err
	}
	return f.checkingPlatform.Send(ctx, o)
}

// TestFailedSendInDoubtOrNot: a send the platform refused outright (rate
// limited) is retried without being looked up; one that failed without
// saying whether the platform took it (a server error, a timeout) is
// looked up first.
func TestFailedSendInDoubtOrNot(t *testing.T) {
	ctx := context.Background()
	for backend, open := range sqlstoretest.Backends() {
		for _, tc := range []struct {
			name  string
			err   error
			doubt bool
		}{
			{"rate limited", &bots.RetryAfterError{After: time.Second, Err: errors.New("429")}, false},
			{"server error", errors.New("503 service unavailable"), true},
		} {
			t.Run(backend+"/"+tc.name, func(t *testing.T) {
				testFailedSend(t, ctx, open(t), tc.err, tc.doubt)
			})
		}
	}
}

func testFailedSend(t *testing.T, ctx context.Context, store *sqlstore.Store, sendErr error, doubt bool) {
	clock := core.NewManualClock(t0)
	sender := failOnce{newCheckingPlatform(), map[string]bool{}, sendErr}
	p := buildPipeline(t, store, clock, core.DefaultConfig(), sender, nil, nil)
	for _, ev := range scenario[:3] {
		if err := p.Deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(sender.refused) == 0 || len(sender.visible) != len(sender.refused) {
		t.Fatalf("%d messages refused once, %d sent after", len(sender.refused), len(sender.visible))
	}
	if doubt && len(sender.lookups) != len(sender.refused) || !doubt && len(sender.lookups) != 0 {
		t.Fatalf("looked up %v after %d failures (in doubt: %v)", sender.lookups, len(sender.refused), doubt)
	}
}

// blockingPlatform holds every send until released.
type blockingPlatform struct {
	*platformFake
	started chan struct{}
	release chan struct{}
}

func (b blockingPlatform) Send(ctx context.Context, o bots.Outgoing) (bots.Sent, error) {
	select {
	case b.started <- struct{}{}:
	default:
	}
	<-b.release
	return b.platformFake.Send(ctx, o)
}

// TestShutdownFinishesTheStepUnderWay: when Run's context ends during a
// send, the step goes on: the message is marked sent, not left leased for
// the next process to send again.
func TestShutdownFinishesTheStepUnderWay(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	store := sqlstoretest.SQLite(t)
	sender := blockingPlatform{newPlatformFake(), make(chan struct{}, 1), make(chan struct{})}
	p := buildPipeline(t, store, core.SystemClock{}, core.DefaultConfig(), sender, nil, func(c *bots.PipelineConfig) { c.Poll = 10 * time.Millisecond })
	if err := p.Deliver(context.Background(), event(1, "bob", "#general", "!expert marchés publics")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	<-sender.started
	cancel() // before the send returns, so before its mark
	close(sender.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_, pending, err := store.Backlog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Fatalf("%d messages left in the outbox after a clean shutdown, want the one under way marked sent", pending)
	}
}

// claimCounter is a queue that counts the claims of messages.
type claimCounter struct {
	bots.Queue
	claims atomic.Int64
}

func (c *claimCounter) ClaimOutgoing(ctx context.Context, owner string, platforms []core.Platform, limit int, lease time.Duration, now time.Time) ([]bots.OutboxItem, error) {
	c.claims.Add(1)
	return c.Queue.ClaimOutgoing(ctx, owner, platforms, limit, lease, now)
}

// TestHandedMessagesAreSentOnceWithoutClaim checks the hand-off from the
// transaction that stores messages to the senders of the same process:
// they are sent with no claim, no other process may send them meanwhile,
// and when the process dies before sending them, another one sends them
// once their lease has run out.
func TestHandedMessagesAreSentOnceWithoutClaim(t *testing.T) {
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			store := open(t)
			clock := core.NewManualClock(t0)
			sender := newPlatformFake()
			counter := &claimCounter{Queue: store}
			first := buildQueuePipelineClock(t, store, counter, clock, sender, "first")
			second := buildQueuePipelineClock(t, store, store, clock, sender, "second")
			ev := func(id string) bots.Event {
				return bots.Event{ID: id, Platform: "test", Room: "#r", Sender: core.Identity{Platform: "test", User: "alice"}, SenderName: "Alice", Text: "!aide"}
			}
			if err := first.Deliver(ctx, ev("e1")); err != nil {
				t.Fatal(err)
			}
			if n, err := first.StepHandle(ctx); err != nil || n != 1 {
				t.Fatalf("StepHandle = %d, %v", n, err)
			}
			// The reply is leased to first: second finds nothing to send.
			if err := second.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if got := len(sender.order); got != 0 {
				t.Fatalf("second sent %d messages leased to first", got)
			}
			if n, err := first.StepSend(ctx); err != nil || n != 1 {
				t.Fatalf("StepSend = %d, %v", n, err)
			}
			if c := counter.claims.Load(); c != 0 {
				t.Errorf("first claimed messages %d times; the handed one needs none", c)
			}
			// first dies after storing the reply to e2, before sending it.
			if err := first.Deliver(ctx, ev("e2")); err != nil {
				t.Fatal(err)
			}
			if _, err := first.StepHandle(ctx); err != nil {
				t.Fatal(err)
			}
			if err := second.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if got := len(sender.order); got != 1 {
				t.Fatalf("before the lease ran out, %d messages were sent, want 1", got)
			}
			clock.Advance(bots.DefaultPipelineConfig().Lease + time.Second)
			if err := second.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if len(sender.order) != 2 {
				t.Fatalf("after the lease ran out, sent %v, want both replies", sender.order)
			}
			// A third process stops (Run's context ends) with a handed
			// message not sent: it gives up the lease, and second sends
			// the message at once.
			third := buildQueuePipelineClock(t, store, store, clock, sender, "third")
			if err := third.Deliver(ctx, ev("e3")); err != nil {
				t.Fatal(err)
			}
			if _, err := third.StepHandle(ctx); err != nil {
				t.Fatal(err)
			}
			stopped, cancel := context.WithCancel(ctx)
			cancel()
			if err := third.Run(stopped); err != nil {
				t.Fatal(err)
			}
			if err := second.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if len(sender.order) != 3 {
				t.Fatalf("after third stopped, sent %v, want its reply too", sender.order)
			}
			for key, n := range sender.calls {
				if n != 1 {
					t.Errorf("%s sent %d times", key, n)
				}
			}
		})
	}
}

// buildQueuePipelineClock is a pipeline over queue (backed by store) on
// clock, sending through sender, with owner in its leases.
func buildQueuePipelineClock(t *testing.T, store *sqlstore.Store, queue bots.Queue, clock core.Clock, sender bots.Sender, owner string) *bots.Pipeline {
	t.Helper()
	return buildPipelineOver(t, store, queue, clock, core.DefaultConfig(), sender, nil, func(c *bots.PipelineConfig) { c.Owner = owner })
}

// TestStoredMessagesDoNotWaitBehindTheHandOff checks that a message only
// the store holds (a retry, one of a process that died) is claimed at
// least every Poll, even while the hand-off always has messages.
func TestStoredMessagesDoNotWaitBehindTheHandOff(t *testing.T) {
	ctx := context.Background()
	store := sqlstoretest.SQLite(t)
	clock := core.NewManualClock(t0)
	sender := newPlatformFake()
	p := buildQueuePipelineClock(t, store, store, clock, sender, "p")
	stored := bots.Outgoing{To: bots.Destination{Platform: "test", User: "bob"}, Key: "stored/1"}
	stored.Message.Text("from the store")
	if err := store.PutOutgoing(ctx, []bots.Outgoing{stored}, clock.Now()); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		ev := bots.Event{ID: fmt.Sprintf("e%d", i), Platform: "test", Room: "#r", Sender: core.Identity{Platform: "test", User: "alice"}, SenderName: "Alice", Text: "!aide"}
		if err := p.Deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if _, err := p.StepHandle(ctx); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			clock.Advance(bots.DefaultPipelineConfig().Poll)
		}
		if _, err := p.StepSend(ctx); err != nil {
			t.Fatal(err)
		}
		if got := sender.calls["stored/1"]; (i < 2 && got != 0) || (i == 2 && got != 1) {
			t.Fatalf("step %d: the stored message was sent %d times", i, got)
		}
	}
}
