package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"entraide/adapters/sqlstore"
	"entraide/bots"
	"entraide/core"
	"entraide/core/match"
)

// intakeReport is the JSON printed by "entraide bench intake --json".
type intakeReport struct {
	Database     string  `json:"database"`
	Experts      int     `json:"experts"`
	Questions    int     `json:"questions"`
	Seconds      float64 `json:"seconds"`
	PerSecond    float64 `json:"questions_per_s"`
	DeliverPerS  float64 `json:"deliver_per_s"`
	LatencyP50ms float64 `json:"latency_p50_ms"`
	LatencyP99ms float64 `json:"latency_p99_ms"`
	Routed       int     `json:"routed"`
	Messages     int64   `json:"messages_sent"`
	Workers      int     `json:"workers"`
	Producers    int     `json:"producers"`
	HeapMB       float64 `json:"heap_mb"`
}

// countingSender is the bench's platform: it counts what it is given.
type countingSender struct{ n atomic.Int64 }

func (*countingSender) Platform() core.Platform { return "bench" }

// IdempotentSends implements bots.IdempotentSender: the bench's platform
// deduplicates by key, as Matrix does, so sent messages are marked per
// batch. The target is measured to routed-and-persisted; marking each
// message on its own (Slack, Discord) costs one more statement each.
func (*countingSender) IdempotentSends() bool { return true }
func (s *countingSender) Send(context.Context, bots.Outgoing) (bots.Sent, error) {
	s.n.Add(1)
	return bots.Sent{}, nil
}

// askCounter hears the pipeline of bench intake: it counts the questions
// handled and committed, and closes all once want of them are, so that the
// bench does not have to ask the database, on the cores it measures, for
// the end of the run.
type askCounter struct {
	bots.NopObserver
	n, want int64
	mu      sync.Mutex
	all     chan struct{}
}

// EventHandled implements bots.Observer.
func (c *askCounter) EventHandled(r bots.HandlingReport) {
	if r.Outcome != bots.OutcomeOK || r.Command != "ask" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n++; c.n == c.want {
		close(c.all)
	}
}

// runBenchIntake measures questions per second from intake (an adapter's
// Deliver) to routed-and-persisted (the question, its routings and every
// message it causes committed to the outbox), with the durable pipeline.
func runBenchIntake(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("entraide bench intake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	database := fs.String("database", "", "a postgres:// URL (a schema of its own is created and dropped) or a SQLite path (default: a temporary SQLite file)")
	questions := fs.Int("questions", 5000, "questions to deliver")
	experts := fs.Int("experts", 200, "experts in the directory")
	budget := fs.Int("budget", 1000, "questions each expert may be sent a day (high by default, so that 200 experts take every question; the service's default is 5)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	batch := fs.Int("batch", 0, "events a worker claims and handles together (default: 32 on SQLite, 64 on PostgreSQL, as in production)")
	workers := fs.Int("workers", 0, "pipeline workers (default: 1 on SQLite, 4 on PostgreSQL, as in production)")
	batchTx := fs.String("batch-tx", "", "handle each claimed batch of events in one transaction (writes deferred to its commit on PostgreSQL): on or off (default: on, as in production)")
	producers := fs.Int("producers", 1, "goroutines delivering the questions concurrently, as several rooms or adapters would")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured part to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *questions < 1 || *experts < 1 || *producers < 1 {
		return fmt.Errorf("bench intake: --questions, --experts and --producers must be positive")
	}
	db, cleanup, err := benchDatabase(*database)
	if err != nil {
		return err
	}
	defer cleanup()
	store, err := sqlstore.Open(ctx, db)
	if err != nil {
		return err
	}
	defer store.Close()
	cfg := core.DefaultConfig()
	cfg.DailyBudget = *budget
	router := match.NewRouter(match.NewEngine(match.DefaultConfig()))
	net, err := core.NewNetwork(store, router, core.SystemClock{}, cfg)
	if err != nil {
		return err
	}
	bot, err := bots.New(net, bots.DefaultConfig(), nil)
	if err != nil {
		return err
	}
	sender := &countingSender{}
	var pcfg bots.PipelineConfig
	pcfg = pipelineConfig(store.Dialect(), bots.DefaultPipelineConfig().Retention)
	asked := &askCounter{want: int64(*questions), all: make(chan struct{})}
	pcfg.Observer = asked
	if *workers > 0 {
		pcfg.Workers = *workers
	}
	if *batch > 0 {
		pcfg.Batch, pcfg.SendBatch = *batch, 4**batch
	}
	switch *batchTx {
	case "":
	case "on":
		pcfg.BatchTx = true
	case "off":
		pcfg.BatchTx = false
	default:
		return fmt.Errorf("bench intake: --batch-tx=%s: want on or off", *batchTx)
	}
	pipe, err := bots.NewPipeline(store, bot, []bots.Sender{sender}, core.SystemClock{}, pcfg, nil, nil)
	if err != nil {
		return err
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	n := 0
	next := func(user, text string) bots.Event {
		n++
		return bots.Event{ID: fmt.Sprintf("b%d", n), Platform: "bench", Room: "#bench",
			Sender: core.Identity{Platform: "bench", User: user}, SenderName: user, Text: text}
	}
	for i := range *experts {
		t1, t2 := benchTopics[rng.IntN(len(benchTopics))], benchTopics[rng.IntN(len(benchTopics))]
		if err := pipe.Deliver(ctx, next(fmt.Sprintf("expert%d", i), "!expert "+t1+", "+t2)); err != nil {
			return err
		}
	}
	if err := pipe.Drain(ctx); err != nil {
		return err
	}
	events := make([]bots.Event, *questions)
	for i := range events {
		topic := benchTopics[rng.IntN(len(benchTopics))]
		events[i] = next(fmt.Sprintf("agent%d", i%500), fmt.Sprintf("!ask Question %d : comment traiter un dossier de %s dans notre service ?", i, topic))
	}
	sentBefore := sender.n.Load()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	var delivered time.Duration
	var wg sync.WaitGroup
	var deliverErr error
	var deliverOnce sync.Once
	var done atomic.Bool
	// Producer i delivers events i, i+P, i+2P…, in order, as one room or
	// adapter would; together they deliver concurrently.
	for i := range *producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := i; j < len(events); j += *producers {
				if err := pipe.Deliver(ctx, events[j]); err != nil {
					deliverOnce.Do(func() { deliverErr = err })
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		delivered = time.Since(start)
		done.Store(true)
	}()
	// The pipeline runs as in production (Pipeline.Run: workers handle,
	// senders send); the questions are routed-and-persisted when the
	// pipeline reported every one handled and committed (askCounter), and
	// the inbox is then found empty.
	runCtx, stopRun := context.WithCancel(ctx)
	running := make(chan struct{})
	go func() {
		defer close(running)
		pipe.Run(runCtx)
	}()
	// pending tells whether table has a pending row, with one probe of its
	// pending-rows index (counting them all would cost the pipeline the
	// time it is measured on).
	pending := func(table string) (bool, error) {
		var n int
		err := store.DB().GetContext(ctx, &n, "SELECT COUNT(*) FROM (SELECT 1 FROM "+table+" WHERE state = 'pending' LIMIT 1) AS p")
		return n > 0, err
	}
	var stepErr error
	var handledAt time.Duration
	select {
	case <-asked.all:
	case <-ctx.Done():
		stepErr = ctx.Err()
	}
	for stepErr == nil {
		if !done.Load() {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		left, err := pending("inbox")
		if err != nil {
			stepErr = err
			break
		}
		if !left {
			handledAt = time.Since(start)
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	// Then every message is sent before the pipeline stops.
	for stepErr == nil {
		left, err := pending("outbox")
		if err != nil {
			stepErr = err
			break
		}
		if !left {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	stopRun()
	<-running
	if stepErr != nil {
		return stepErr
	}
	wg.Wait()
	elapsed := handledAt
	if deliverErr != nil {
		return deliverErr
	}
	if err := pipe.Drain(ctx); err != nil {
		return err
	}
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	lat, routed, err := intakeLatencies(ctx, store)
	if err != nil {
		return err
	}
	r := intakeReport{
		Database: string(store.Dialect()), Experts: *experts, Questions: *questions,
		Seconds: elapsed.Seconds(), PerSecond: float64(*questions) / elapsed.Seconds(),
		DeliverPerS:  float64(*questions) / delivered.Seconds(),
		LatencyP50ms: percentile(lat, 0.50), LatencyP99ms: percentile(lat, 0.99),
		Routed: routed, Messages: sender.n.Load() - sentBefore, HeapMB: float64(mem.HeapInuse) / (1 << 20), Workers: pcfg.Workers,
		Producers: *producers,
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(r)
	}
	fmt.Fprintf(stdout, "intake on %s: %d questions, %d experts, %d workers, %d producers\n", r.Database, r.Questions, r.Experts, r.Workers, r.Producers)
	fmt.Fprintf(stdout, "  %.0f questions/s from intake to routed-and-persisted (%.2f s), deliver %.0f/s\n", r.PerSecond, r.Seconds, r.DeliverPerS)
	fmt.Fprintf(stdout, "  latency intake -> persisted: p50 %.1f ms, p99 %.1f ms\n", r.LatencyP50ms, r.LatencyP99ms)
	fmt.Fprintf(stdout, "  %d questions routed, %d messages sent, heap %.1f MB\n", r.Routed, r.Messages, r.HeapMB)
	return nil
}

var benchTopics = []string{
	"marchés publics", "ressources humaines", "congés", "comptabilité publique", "urbanisme",
	"état civil", "protection des données", "archives", "subventions", "formation",
	"télétravail", "retraite", "achats", "informatique", "communication",
}

// intakeLatencies reads, for the benchmark's questions, the time from
// storage in the inbox to the commit of their handling, in milliseconds.
func intakeLatencies(ctx context.Context, store *sqlstore.Store) ([]float64, int, error) {
	var rows []struct {
		Received time.Time `db:"received_at"`
		Done     time.Time `db:"done_at"`
	}
	q := store.DB().Rebind("SELECT received_at, done_at FROM inbox WHERE state = 'done' AND payload LIKE ? ORDER BY id")
	if err := store.DB().SelectContext(ctx, &rows, q, "%!ask %"); err != nil {
		return nil, 0, fmt.Errorf("bench intake: latencies: %w", err)
	}
	lat := make([]float64, len(rows))
	for i, r := range rows {
		lat[i] = float64(r.Done.Sub(r.Received).Microseconds()) / 1000
	}
	var routed int
	if err := store.DB().GetContext(ctx, &routed, "SELECT COUNT(*) FROM questions WHERE state = 'routed'"); err != nil {
		return nil, 0, fmt.Errorf("bench intake: %w", err)
	}
	return lat, routed, nil
}

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// benchDatabase returns the database to bench on and how to clean it up: a
// temporary SQLite file by default, a schema of its own on PostgreSQL.
func benchDatabase(database string) (string, func(), error) {
	if database == "" {
		dir, err := os.MkdirTemp("", "entraide-bench-")
		if err != nil {
			return "", nil, err
		}
		return filepath.Join(dir, "bench.db"), func() { os.RemoveAll(dir) }, nil
	}
	if sqlstore.DialectOf(database) != sqlstore.Postgres {
		return database, func() {}, nil
	}
	buf := make([]byte, 4)
	rand.Read(buf)
	schema := "bench_" + hex.EncodeToString(buf)
	admin, err := sqlx.Open("postgres", database)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("bench intake: create schema: %w", err)
	}
	u, err := url.Parse(database)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	}, nil
}
