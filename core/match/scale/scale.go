// Package scale measures the match engine at civil-service scale on a
// deterministic synthetic corpus of French-like questions: index build
// time, Rank and Similar latency percentiles and Go heap in use.
package scale

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"time"

	"entraide/core/match"
)

// Options sizes a scale run.
type Options struct {
	Experts   int
	Questions int
	// Queries is the number of timed Rank and Similar calls (default 2000).
	Queries int
	Seed    int64
}

// Report holds the figures of a scale run.
type Report struct {
	Experts    int     `json:"experts"`
	Questions  int     `json:"questions"`
	BuildS     float64 `json:"build_s"`
	RouteP50   float64 `json:"route_p50_ms"`
	RouteP99   float64 `json:"route_p99_ms"`
	SimilarP50 float64 `json:"similar_p50_ms"`
	SimilarP99 float64 `json:"similar_p99_ms"`
	// HeapMB is the live Go heap (MemStats.HeapAlloc) after a collection.
	HeapMB float64 `json:"heap_mb"`
	// HeapSpans is MemStats.HeapInuse: live heap plus fragmentation.
	HeapSpans float64 `json:"-"`
}

// frenchStop are frequent French function words; they take the top Zipf
// ranks of the synthetic vocabulary, as in real text.
var frenchStop = strings.Fields("de la le et les des à du un une pour en que qui dans est sur pas au avec ce il par plus ne se nous vous sont ou mais on cette son sa ses leur aux été être fait comme bien peut tout nos votre quel quelle comment pourquoi merci bonjour si y a d l qu")

// Corpus generates deterministic French-like questions on topics.
type Corpus struct {
	rng       *rand.Rand
	vocab     []string
	zipf      *rand.Zipf
	topics    [][]int // topic -> vocabulary ranks of its words
	topicZipf *rand.Zipf
	tags      []string
	experts   int
	expTopic  [][]int // topic -> experts specialised in it
	actZipf   *rand.Zipf
	start     time.Time
}

// NewCorpus returns a corpus generator for n experts.
func NewCorpus(seed int64, experts int) *Corpus {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	c := &Corpus{rng: rng, experts: experts, start: time.Date(2020, 1, 1, 8, 0, 0, 0, time.UTC)}
	// Content words from syllables and French suffixes.
	onsets := strings.Fields("b c d f g j l m n p r s t v ch pr tr br gr pl cl fr")
	vowels := strings.Fields("a e i o u é è ou ai au eu an on in")
	suffixes := []string{"", "tion", "ment", "é", "er", "ique", "age", "eur", "ité", "ance", "ée", "s", "x", "al", "aux", "ier"}
	seen := map[string]bool{}
	c.vocab = append(c.vocab, frenchStop...)
	for _, w := range frenchStop {
		seen[w] = true
	}
	for len(c.vocab) < 60000 {
		var b strings.Builder
		for s := 0; s < 1+rng.IntN(3); s++ {
			b.WriteString(onsets[rng.IntN(len(onsets))])
			b.WriteString(vowels[rng.IntN(len(vowels))])
		}
		b.WriteString(suffixes[rng.IntN(len(suffixes))])
		w := b.String()
		if len(w) < 3 || seen[w] {
			continue
		}
		seen[w] = true
		c.vocab = append(c.vocab, w)
	}
	c.zipf = rand.NewZipf(rng, 1.07, 2, uint64(len(c.vocab)-1))
	nTopics := 2000
	c.topics = make([][]int, nTopics)
	for t := range c.topics {
		for j := 0; j < 40; j++ {
			c.topics[t] = append(c.topics[t], len(frenchStop)+50+rng.IntN(len(c.vocab)-len(frenchStop)-50))
		}
		c.tags = append(c.tags, fmt.Sprintf("%s-%s", c.vocab[c.topics[t][0]], c.vocab[c.topics[t][1]]))
	}
	c.topicZipf = rand.NewZipf(rng, 1.1, 10, uint64(nTopics-1))
	c.expTopic = make([][]int, nTopics)
	for x := 0; x < experts; x++ {
		for j := 0; j < 1+rng.IntN(3); j++ {
			t := int(c.topicZipf.Uint64())
			c.expTopic[t] = append(c.expTopic[t], x)
		}
	}
	c.actZipf = rand.NewZipf(rng, 1.2, 3, math.MaxUint32)
	return c
}

// ExpertID names expert x.
func ExpertID(x int) string { return fmt.Sprintf("agent-%d", x) }

// Text returns a question of about 20 words on topic t.
func (c *Corpus) Text(t int) (title, body string, tags []string) {
	var b strings.Builder
	n := 16 + c.rng.IntN(9)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		if c.rng.IntN(3) == 0 {
			ws := c.topics[t]
			b.WriteString(c.vocab[ws[int(math.Sqrt(float64(c.rng.IntN(len(ws)*len(ws)))))%len(ws)]])
		} else {
			b.WriteString(c.vocab[c.zipf.Uint64()])
		}
	}
	words := strings.Fields(b.String())
	cut := min(6, len(words))
	return strings.Join(words[:cut], " "), strings.Join(words[cut:], " "), []string{c.tags[t]}
}

// Topic draws a question topic.
func (c *Corpus) Topic() int { return int(c.topicZipf.Uint64()) }

// Answerer draws an expert of topic t (any expert when the topic has none),
// favouring the most active ones.
func (c *Corpus) Answerer(t int) int {
	xs := c.expTopic[t]
	if len(xs) == 0 || c.rng.IntN(10) == 0 {
		return c.rng.IntN(c.experts)
	}
	return xs[int(c.actZipf.Uint64()%uint64(len(xs)))]
}

// Fill adds n questions and their answers to eng, in time order, and
// returns the time spent inside the engine (corpus generation excluded).
func (c *Corpus) Fill(ctx context.Context, eng *match.Engine, n int) (time.Duration, error) {
	var spent time.Duration
	const batch = 4096
	qs := make([]match.Question, 0, batch)
	type ans struct {
		q    int
		x    []int
		body []string
	}
	var pending []ans
	at := c.start
	flush := func() {
		t0 := time.Now()
		defer func() { spent += time.Since(t0) }()
		eng.AddQuestions(qs)
		var as []match.Answer
		for _, a := range pending {
			for j, x := range a.x {
				as = append(as, match.Answer{
					ID:         fmt.Sprintf("a%d-%d", a.q, j),
					QuestionID: fmt.Sprintf("q%d", a.q),
					Author:     ExpertID(x),
					Body:       a.body[j],
					At:         at,
				})
			}
		}
		eng.AddAnswers(as)
		qs = qs[:0]
		pending = pending[:0]
	}
	for i := 0; i < n; i++ {
		if i%batch == 0 {
			if err := ctx.Err(); err != nil {
				return spent, fmt.Errorf("scale: fill: %w", err)
			}
		}
		t := c.Topic()
		title, body, tags := c.Text(t)
		at = at.Add(time.Duration(30+c.rng.IntN(60)) * time.Second)
		qs = append(qs, match.Question{
			ID: fmt.Sprintf("q%d", i), Author: fmt.Sprintf("user-%d", c.rng.IntN(4*c.experts)),
			Title: title, Body: body, Tags: tags, At: at, Lang: match.LangFrench,
		})
		a := ans{q: i}
		for j := 0; j < 1+c.rng.IntN(2); j++ {
			a.x = append(a.x, c.Answerer(t))
			_, body, _ := c.Text(t)
			a.body = append(a.body, body)
		}
		pending = append(pending, a)
		if len(qs) == batch {
			flush()
		}
	}
	flush()
	t0 := time.Now()
	eng.Compact()
	spent += time.Since(t0)
	c.start = at
	return spent, nil
}

// Query returns a new question to route.
func (c *Corpus) Query() match.Query {
	t := c.Topic()
	title, body, tags := c.Text(t)
	c.start = c.start.Add(time.Minute)
	return match.Query{Title: title, Body: body, Tags: tags, Author: fmt.Sprintf("user-%d", c.rng.IntN(4*c.experts)), At: c.start, Lang: match.LangFrench}
}

// Run builds the corpus and measures the engine.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Experts <= 0 || o.Questions <= 0 {
		return nil, fmt.Errorf("scale: experts and questions must be positive")
	}
	if o.Queries <= 0 {
		o.Queries = 2000
	}
	c := NewCorpus(o.Seed, o.Experts)
	eng := match.NewEngine(match.Config{})
	// Declared profiles for every expert: a topic phrase each.
	t0 := time.Now()
	for x := 0; x < o.Experts; x++ {
		t := c.Topic()
		eng.SetProfile(ExpertID(x), []string{c.vocab[c.topics[t][0]] + " " + c.vocab[c.topics[t][1]]}, "")
	}
	profiles := time.Since(t0)
	build, err := c.Fill(ctx, eng, o.Questions)
	if err != nil {
		return nil, err
	}

	queries := make([]match.Query, o.Queries)
	for i := range queries {
		queries[i] = c.Query()
	}
	// Collect the build's garbage first, as a server would after start-up,
	// so that the timings are not those of a collection started by the build.
	runtime.GC()
	// Warm up the scratch buffers.
	for i := 0; i < 20 && i < len(queries); i++ {
		eng.Rank(queries[i], 10)
		eng.Similar(queries[i], 10, false)
	}
	route := make([]float64, 0, len(queries))
	sim := make([]float64, 0, len(queries))
	for i, q := range queries {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("scale: query: %w", err)
			}
		}
		t := time.Now()
		eng.Rank(q, 10)
		route = append(route, ms(time.Since(t)))
		t = time.Now()
		eng.Similar(q, 10, false)
		sim = append(sim, ms(time.Since(t)))
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	runtime.KeepAlive(eng)
	return &Report{
		Experts:    o.Experts,
		Questions:  o.Questions,
		BuildS:     round((build + profiles).Seconds(), 2),
		RouteP50:   round(pct(route, 50), 3),
		RouteP99:   round(pct(route, 99), 3),
		SimilarP50: round(pct(sim, 50), 3),
		SimilarP99: round(pct(sim, 99), 3),
		HeapMB:     round(float64(m.HeapAlloc)/(1<<20), 1),
		HeapSpans:  round(float64(m.HeapInuse)/(1<<20), 1),
	}, nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func round(x float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(x*p) / p
}

// pct returns the p-th percentile (nearest rank) of xs.
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
