package replay

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"entraide/core/match"
)

// Routing methods, in report order.
const (
	MethodEntraide   = "entraide"
	MethodMostActive = "most_active"
	MethodBM25       = "bm25"
	MethodRandom     = "random"
)

// Methods returns the routing methods in report order.
func Methods() []string {
	return []string{MethodEntraide, MethodMostActive, MethodBM25, MethodRandom}
}

// DedupeMethods returns the dedupe methods in report order.
func DedupeMethods() []string {
	return []string{MethodEntraide, MethodBM25, MethodRandom}
}

// Options tunes a replay.
type Options struct {
	// Config is the engine configuration (zero value: defaults).
	Config match.Config
	// Budget, when positive, also replays with an interruption budget: each
	// question is routed to its top AskTop experts by the engine, and no
	// expert is asked more than Budget times per day of stream time.
	Budget int
	// AskTop is the number of experts asked per question (default 3).
	AskTop int
	// SkipBaselines skips the reference baselines (faster tuning).
	SkipBaselines bool
	// Trace, when set, receives the unbudgeted entraide ranking of every
	// question of the stream (scored or not), in stream order. Calls are
	// serialised across the concurrently replayed sites.
	Trace func(site, questionID string, ranking []string)
	// AskTrace, when set, receives every ask of the budgeted replay, with
	// the same serialisation.
	AskTrace func(site, day, expert string)
}

// Metrics are routing figures over N scored questions. The figures are nil
// when N is 0.
type Metrics struct {
	N   int      `json:"n"`
	MRR *float64 `json:"mrr"`
	R5  *float64 `json:"r5"`
	P1  *float64 `json:"p1"`
}

// DedupeMetrics are similar-question figures over N scored questions.
type DedupeMetrics struct {
	N   int      `json:"n"`
	R5  *float64 `json:"r5"`
	MRR *float64 `json:"mrr"`
}

// MethodReport holds pooled (micro-averaged) and per-site routing figures.
type MethodReport struct {
	Pooled Metrics            `json:"pooled"`
	Sites  map[string]Metrics `json:"sites"`
}

// DedupeReport holds pooled and per-site dedupe figures.
type DedupeReport struct {
	Pooled DedupeMetrics            `json:"pooled"`
	Sites  map[string]DedupeMetrics `json:"sites"`
}

// BudgetReport holds the routing figures under an interruption budget.
type BudgetReport struct {
	NPerDay  int          `json:"n_per_day"`
	Entraide MethodReport `json:"entraide"`
	// AskedMaxPerDay is the largest number of asks one expert received in
	// one day of stream time.
	AskedMaxPerDay int `json:"asked_max_per_day"`
	// Asked is the total number of asks.
	Asked int `json:"asked"`
}

// Report is the outcome of a replay.
type Report struct {
	Sites   []string                `json:"-"`
	Methods map[string]MethodReport `json:"methods"`
	Dedupe  map[string]DedupeReport `json:"dedupe"`
	Budget  *BudgetReport           `json:"budget,omitempty"`
}

// sums accumulates metric sums for one method on one site.
type sums struct {
	n          int
	mrr, r5, p float64
}

func (s *sums) add(mrr, r5, p1 float64) {
	s.n++
	s.mrr += mrr
	s.r5 += r5
	s.p += p1
}

func (s sums) metrics() Metrics {
	if s.n == 0 {
		return Metrics{}
	}
	n := float64(s.n)
	mrr, r5, p1 := s.mrr/n, s.r5/n, s.p/n
	return Metrics{N: s.n, MRR: &mrr, R5: &r5, P1: &p1}
}

func (s sums) dedupe() DedupeMetrics {
	if s.n == 0 {
		return DedupeMetrics{}
	}
	n := float64(s.n)
	mrr, r5 := s.mrr/n, s.r5/n
	return DedupeMetrics{N: s.n, R5: &r5, MRR: &mrr}
}

// siteResult holds the sums of one site.
type siteResult struct {
	routing  map[string]*sums
	dedupe   map[string]*sums
	budget   *sums
	askedMax int
	asked    int
}

// Run replays every site under dir and returns the report. Sites are
// replayed concurrently, one engine per site.
func Run(ctx context.Context, dir string, opts Options) (*Report, error) {
	sites, err := Sites(dir)
	if err != nil {
		return nil, err
	}
	streams := make([][]Event, len(sites))
	for i, site := range sites {
		if streams[i], err = LoadEvents(filepath.Join(dir, site, "events.jsonl")); err != nil {
			return nil, err
		}
	}
	return RunStreams(ctx, sites, streams, opts)
}

// RunStreams replays already loaded streams, streams[i] being the events
// of sites[i], and returns the report.
func RunStreams(ctx context.Context, sites []string, streams [][]Event, opts Options) (*Report, error) {
	results := make([]*siteResult, len(sites))
	errs := make([]error, len(sites))
	var traceMu sync.Mutex
	if f := opts.Trace; f != nil {
		opts.Trace = func(site, questionID string, ranking []string) {
			traceMu.Lock()
			defer traceMu.Unlock()
			f(site, questionID, ranking)
		}
	}
	if f := opts.AskTrace; f != nil {
		opts.AskTrace = func(site, day, expert string) {
			traceMu.Lock()
			defer traceMu.Unlock()
			f(site, day, expert)
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for i := range sites {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = replaySite(ctx, streams[i], opts)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("replay: site %s: %w", sites[i], err)
		}
	}
	return buildReport(sites, results, opts), nil
}

func buildReport(sites []string, results []*siteResult, opts Options) *Report {
	rep := &Report{Sites: sites, Methods: map[string]MethodReport{}, Dedupe: map[string]DedupeReport{}}
	for _, m := range Methods() {
		mr := MethodReport{Sites: map[string]Metrics{}}
		var pooled sums
		for i, site := range sites {
			s := results[i].routing[m]
			if s == nil {
				continue
			}
			mr.Sites[site] = s.metrics()
			pooled.n += s.n
			pooled.mrr += s.mrr
			pooled.r5 += s.r5
			pooled.p += s.p
		}
		if len(mr.Sites) > 0 {
			mr.Pooled = pooled.metrics()
			rep.Methods[m] = mr
		}
	}
	for _, m := range DedupeMethods() {
		dr := DedupeReport{Sites: map[string]DedupeMetrics{}}
		var pooled sums
		for i, site := range sites {
			s := results[i].dedupe[m]
			if s == nil {
				continue
			}
			dr.Sites[site] = s.dedupe()
			pooled.n += s.n
			pooled.mrr += s.mrr
			pooled.r5 += s.r5
		}
		if len(dr.Sites) > 0 {
			dr.Pooled = pooled.dedupe()
			rep.Dedupe[m] = dr
		}
	}
	if opts.Budget > 0 {
		br := &BudgetReport{NPerDay: opts.Budget, Entraide: MethodReport{Sites: map[string]Metrics{}}}
		var pooled sums
		for i, site := range sites {
			s := results[i].budget
			br.Entraide.Sites[site] = s.metrics()
			pooled.n += s.n
			pooled.mrr += s.mrr
			pooled.r5 += s.r5
			pooled.p += s.p
			br.AskedMaxPerDay = max(br.AskedMaxPerDay, results[i].askedMax)
			br.Asked += results[i].asked
		}
		br.Entraide.Pooled = pooled.metrics()
		rep.Budget = br
	}
	return rep
}

// replaySite replays one site's events in order and returns its sums.
func replaySite(ctx context.Context, evs []Event, opts Options) (*siteResult, error) {
	// Gold sets: the scorer's look-ahead, never shown to the rankers.
	answersOf := map[string]map[string]bool{}
	dupOf := map[string][]string{}
	for i := range evs {
		ev := &evs[i]
		switch ev.Type {
		case "answer":
			if answersOf[ev.Question] == nil {
				answersOf[ev.Question] = map[string]bool{}
			}
			answersOf[ev.Question][ev.Author] = true
		case "link":
			if ev.Kind == "duplicate" {
				dupOf[ev.Question] = append(dupOf[ev.Question], ev.Target)
			}
		}
	}

	res := &siteResult{routing: map[string]*sums{}, dedupe: map[string]*sums{}}
	for _, m := range Methods() {
		if opts.SkipBaselines && m != MethodEntraide {
			continue
		}
		res.routing[m] = &sums{}
	}
	for _, m := range DedupeMethods() {
		if opts.SkipBaselines && m != MethodEntraide {
			continue
		}
		res.dedupe[m] = &sums{}
	}

	eng := match.NewEngine(opts.Config)
	var budgetEng *match.Engine
	var asked map[string]map[string]int // day -> expert -> asks
	askTop := opts.AskTop
	if askTop <= 0 {
		askTop = 3
	}
	if opts.Budget > 0 {
		res.budget = &sums{}
		budgetEng = eng
		asked = map[string]map[string]int{}
	}

	// Baseline state, mirroring the reference scorer.
	nAnswers := map[string]int{}
	var answerOrder []string // first-answer order (Python dict order)
	lastPos := map[string]int{}
	userIndex := newOnlineBM25()
	qIndex := newOnlineBM25()
	qPos := map[string]int{}
	var qOrder []string
	qTF := map[string]*termCounts{}
	profiled := map[[2]string]bool{}

	for pos := range evs {
		if pos%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		ev := &evs[pos]
		switch ev.Type {
		case "question":
			qid, asker := ev.ID, ev.Author
			query := match.Query{Title: ev.Title, Body: ev.Body, Tags: ev.Tags, Author: asker, At: ev.time}

			// The budgeted router runs on every question: asking is part of
			// the stream, whether or not the question is scored.
			var budgetRanking []string
			if budgetEng != nil {
				day := ev.At[:10]
				today := asked[day]
				if today == nil {
					today = map[string]int{}
					asked[day] = today
				}
				bq := query
				bq.Eligible = func(x string) bool { return today[x] < opts.Budget }
				for _, r := range budgetEng.Rank(bq, 0) {
					budgetRanking = append(budgetRanking, r.ID)
				}
				for i := 0; i < len(budgetRanking) && i < askTop; i++ {
					if opts.AskTrace != nil {
						opts.AskTrace(ev.Site, day, budgetRanking[i])
					}
					today[budgetRanking[i]]++
					res.asked++
					res.askedMax = max(res.askedMax, today[budgetRanking[i]])
				}
			}

			textToks := pyTokens(ev.Title+"\n"+ev.Body, nil)
			tf := newTermCounts()
			tf.add(textToks)
			tagToks := pyTokens(joinSpace(ev.Tags), nil)
			tf.add(tagToks)

			var ranking []string
			rank := func() []string {
				if ranking == nil {
					ranking = []string{}
					for _, r := range eng.Rank(query, 0) {
						ranking = append(ranking, r.ID)
					}
				}
				return ranking
			}
			if opts.Trace != nil {
				opts.Trace(ev.Site, qid, rank())
			}

			if ev.Eval {
				cands := make([]string, 0, len(answerOrder))
				for _, u := range answerOrder {
					if u != asker {
						cands = append(cands, u)
					}
				}
				candSet := make(map[string]bool, len(cands))
				for _, u := range cands {
					candSet[u] = true
				}
				gold := map[string]bool{}
				for u := range answersOf[qid] {
					if u != asker && candSet[u] {
						gold[u] = true
					}
				}
				if len(gold) > 0 {
					if s := res.routing[MethodRandom]; s != nil {
						s.add(expectedRandom(len(cands), len(gold), 5))
					}
					if s := res.routing[MethodMostActive]; s != nil {
						active := append([]string(nil), cands...)
						sort.SliceStable(active, func(a, b int) bool {
							x, y := active[a], active[b]
							if nAnswers[x] != nAnswers[y] {
								return nAnswers[x] > nAnswers[y]
							}
							return lastPos[x] > lastPos[y]
						})
						s.add(rankMetrics(active, gold))
						sc := userIndex.scores(tf.order)
						actRank := make(map[string]int, len(active))
						for i, u := range active {
							actRank[u] = i
						}
						bm := append([]string(nil), cands...)
						sort.SliceStable(bm, func(a, b int) bool {
							x, y := bm[a], bm[b]
							if sc[x] != sc[y] {
								return sc[x] > sc[y]
							}
							return actRank[x] < actRank[y]
						})
						res.routing[MethodBM25].add(rankMetrics(bm, gold))
					}
					res.routing[MethodEntraide].add(rankMetrics(rank(), gold))
					if res.budget != nil {
						res.budget.add(rankMetrics(budgetRanking, gold))
					}
				}

				dgold := map[string]bool{}
				for _, d := range dupOf[qid] {
					if _, ok := qPos[d]; ok {
						dgold[d] = true
					}
				}
				if len(dgold) > 0 {
					if s := res.dedupe[MethodBM25]; s != nil {
						sc := qIndex.scores(distinct(textToks))
						ranking := make([]string, len(qOrder))
						for i := range qOrder {
							ranking[i] = qOrder[len(qOrder)-1-i] // most recent first
						}
						sort.SliceStable(ranking, func(a, b int) bool {
							return sc[ranking[a]] > sc[ranking[b]]
						})
						mrr, r5, _ := rankMetrics(ranking, dgold)
						s.add(mrr, r5, 0)
						rm, rr5, _ := expectedRandom(len(qOrder), len(dgold), 5)
						res.dedupe[MethodRandom].add(rm, rr5, 0)
					}
					var ranking []string
					for _, r := range eng.Similar(query, 0, false) {
						ranking = append(ranking, r.ID)
					}
					mrr, r5, _ := rankMetrics(ranking, dgold)
					res.dedupe[MethodEntraide].add(mrr, r5, 0)
				}
			}

			// Ingest the question.
			qPos[qid] = pos
			qOrder = append(qOrder, qid)
			qTF[qid] = tf
			qtc := newTermCounts()
			qtc.add(textToks)
			qIndex.add(qid, qtc)
			eng.AddQuestion(match.Question{ID: qid, Author: asker, Title: ev.Title, Body: ev.Body, Tags: ev.Tags, At: ev.time})

		case "answer":
			u := ev.Author
			if _, ok := nAnswers[u]; !ok {
				answerOrder = append(answerOrder, u)
			}
			nAnswers[u]++
			lastPos[u] = pos
			key := [2]string{u, ev.Question}
			if tf, ok := qTF[ev.Question]; ok && !profiled[key] {
				profiled[key] = true
				userIndex.add(u, tf)
			}
			eng.AddAnswer(match.Answer{ID: ev.ID, QuestionID: ev.Question, Author: u, Body: ev.Body, At: ev.time})
			// Without dump-time acceptance, an answered question counts as
			// resolved.
			eng.MarkResolved(ev.Question)
		}
	}
	return res, nil
}

func joinSpace(ss []string) string {
	n := 0
	for _, s := range ss {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	for i, s := range ss {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, s...)
	}
	return string(b)
}

func distinct(toks []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range toks {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
