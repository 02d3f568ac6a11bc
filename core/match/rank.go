package match

import (
	"math"
	"math/bits"
	"slices"
	"sort"
)

// scratch holds per-call buffers indexed by person or question. Buffers are
// reset after use so that a pooled scratch is always clean.
type scratch struct {
	tf      []float64 // per person: frequency of the current term
	text    []float64 // per person: BM25 over answered questions
	ans     []float64 // per person: BM25 over own answers
	prof    []float64 // per person: BM25 over the declared profile
	tag     []float64 // per person: tag affinity
	tagAt   []float64 // per person: recency-weighted answers on the tags
	recip   []float64 // per person: answers the asker gave them
	stamp   []uint32  // per person: == epoch when in cands
	epoch   uint32
	termHit []int32 // persons touched by the current term
	cands   []int32

	qacc    []float64 // per question: BM25
	qhit    []int32
	results []Scored
	cs      []cand
	hits    []hit
	aids    []aid
}

func (e *Engine) getScratch() *scratch {
	s, _ := e.scratch.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	if n := len(e.people); len(s.tf) < n {
		n += n/4 + 16
		s.tf = make([]float64, n)
		s.text = make([]float64, n)
		s.ans = make([]float64, n)
		s.prof = make([]float64, n)
		s.tag = make([]float64, n)
		s.tagAt = make([]float64, n)
		s.recip = make([]float64, n)
		s.stamp = make([]uint32, n)
		s.epoch = 0
	}
	if n := len(e.qs); len(s.qacc) < n {
		s.qacc = make([]float64, n+n/4+16)
	}
	s.epoch++
	if s.epoch == 0 { // wrapped: clear the stamps
		clear(s.stamp)
		s.epoch = 1
	}
	return s
}

func (e *Engine) putScratch(s *scratch) {
	for _, i := range s.cands {
		s.text[i], s.ans[i], s.prof[i], s.tag[i], s.tagAt[i], s.recip[i] = 0, 0, 0, 0, 0, 0
	}
	s.cands = s.cands[:0]
	s.termHit = s.termHit[:0]
	s.qhit = s.qhit[:0]
	s.results = s.results[:0]
	e.scratch.Put(s)
}

func (s *scratch) add(i int32) {
	if s.stamp[i] != s.epoch {
		s.stamp[i] = s.epoch
		s.cands = append(s.cands, i)
	}
}

// queryTerm is a known query term.
type queryTerm struct {
	id  uint32
	idf float64 // over archived questions
}

// lookupTerms maps analysed tokens to known distinct term ids, rarest first.
// The caller holds the read lock.
func (e *Engine) lookupTerms(toks []string) []queryTerm {
	n := float64(len(e.qs))
	out := make([]queryTerm, 0, len(toks))
	for _, t := range toks {
		id, ok := e.terms[t]
		if !ok || slices.ContainsFunc(out, func(q queryTerm) bool { return q.id == id }) {
			continue
		}
		out = append(out, queryTerm{id: id, idf: idf(n, float64(e.qPost[id].n))})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].idf > out[b].idf })
	return out
}

func idf(n, df float64) float64 {
	return math.Log(1 + (n-df+0.5)/(df+0.5))
}

// bm25 is the BM25 weight of frequency tf in a document of length dl.
func (e *Engine) bm25(idf, tf, dl, avg float64) float64 {
	k1, b := e.cfg.K1, e.cfg.B
	return idf * tf * (k1 + 1) / (tf + k1*(1-b+b*dl/avg))
}

// personBM25 adds to acc the BM25 score of every person in the postings of
// the query terms, a person's postings of one term being summed into one
// frequency, and returns the largest score. answers selects the length of
// the persons' answer documents instead of their answered-question ones.
func (e *Engine) personBM25(s *scratch, qterms []queryTerm, post []pList, idfN float64, answers bool, avg float64, acc []float64) float64 {
	best := 0.0
	used := 0
	k1, b := e.cfg.K1, e.cfg.B
	dl := func(ui int32) float64 {
		if answers {
			return float64(e.people[ui].ansLen)
		}
		return float64(e.people[ui].docLen)
	}
	for _, qt := range qterms {
		p := &post[qt.id]
		if p.len() == 0 {
			continue
		}
		// At scale, very common terms add little but cost the most: once
		// two rarer terms have scored, lists longer than longPostings are
		// skipped (never the case on a community-sized index).
		if used >= 2 && p.len() > longPostings {
			continue
		}
		used++
		w := qt.idf
		if answers {
			w = idf(idfN, float64(e.aDF[qt.id]))
		}
		// The prefix merged by Compact holds each person once; the tail
		// (later answers) may repeat a person: its frequencies are summed
		// first, then merged into the prefix's.
		for j, ui := range p.tailIDs {
			if s.tf[ui] == 0 {
				s.termHit = append(s.termHit, ui)
			}
			s.tf[ui] += float64(p.tailTF[j])
		}
		var ids [postingBlock]int32
		var tfs [postingBlock]uint16
		last := int32(-1)
		for off, n := 0, 0; off < len(p.data); {
			n, off, last = decodeBlock(p.data, off, last, ids[:], tfs[:])
			for j, ui := range ids[:n] {
				tf := float64(tfs[j]) + s.tf[ui]
				s.tf[ui] = 0
				s.add(ui)
				acc[ui] += w * tf * (k1 + 1) / (tf + k1*(1-b+b*dl(ui)/avg))
				best = max(best, acc[ui])
			}
		}
		for _, ui := range s.termHit {
			if s.tf[ui] == 0 {
				continue // merged into the prefix
			}
			s.add(ui)
			acc[ui] += e.bm25(w, s.tf[ui], dl(ui), avg)
			best = max(best, acc[ui])
			s.tf[ui] = 0
		}
		s.termHit = s.termHit[:0]
	}
	return best
}

// Rank returns the k experts most likely to answer q, best first. The asker
// is never returned, nor anyone Eligible rejects. Candidates are people with
// a declared profile or at least one recorded answer; k <= 0 ranks them all.
//
// The score is a weighted sum of a few features (see Config): BM25 text
// relevance over the questions each expert answered, over their own answers
// and over their declared profile (each divided by its best value for this
// query), tag affinity, the log of an activity count decaying with a
// half-life counted in answers, hours since last activity, answers to the
// latest questions, hour-of-day habit, earlier help given to the asker and
// received from them, recent answers on the question's tags, and a burst
// of answers in the last hours.
func (e *Engine) Rank(q Query, k int) []Scored {
	toks := e.questionTerms(q.Title, q.Body, q.Tags, q.Lang)
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.nCands == 0 {
		return nil
	}
	now := dayOf(q.At)
	if q.At.IsZero() {
		now = e.latestDay()
	}
	hour := q.At.UTC().Hour()
	asker := e.lookupPerson(q.Author)
	s := e.getScratch()
	defer e.putScratch(s)
	qterms := e.lookupTerms(toks)
	c := &e.cfg

	maxText, maxAns, maxProf := 0.0, 0.0, 0.0
	if c.WText > 0 && e.nDocs > 0 {
		maxText = e.personBM25(s, qterms, e.ePost, 0, false, e.eLenSum/float64(e.nDocs), s.text)
	}
	if c.WAnswerText > 0 && e.nADocs > 0 {
		maxAns = e.personBM25(s, qterms, e.aPost, float64(e.nAPosts), true, e.aLenSum/float64(e.nADocs), s.ans)
	}
	if c.WProfile > 0 && e.nProfile > 0 {
		avg := max(e.pLenSum/float64(e.nProfile), 1)
		for _, qt := range qterms {
			for _, pp := range e.pPost[qt.id] {
				pr := &e.people[pp.who]
				if !pr.hasProfile || pr.profileGen != pp.gen {
					continue
				}
				s.add(pp.who)
				s.prof[pp.who] += e.bm25(qt.idf, float64(pp.tf), float64(pr.profileLen), avg)
				maxProf = max(maxProf, s.prof[pp.who])
			}
		}
	}
	tagClock := float64(e.nAnswers) * e.tagScale
	if c.WTag > 0 || c.WTagRecent > 0 {
		var seen []uint32
		for _, t := range q.Tags {
			id, ok := e.tags[normTag(t)]
			if !ok || slices.Contains(seen, id) {
				continue
			}
			seen = append(seen, id)
			inc := 1 / (e.tagAnswers[id] + 2)
			p := &e.tPost[id]
			credit := func(lo, hi int) {
				for j := lo; j < hi; j++ {
					s.add(p.ids[j])
					s.tag[p.ids[j]] += inc * float64(p.tf[j])
					// Answers older than 29 half-lives add under 1e-8: no
					// exp for them.
					if d := p.at[j] - tagClock; c.WTagRecent > 0 && d > -20 {
						s.tagAt[p.ids[j]] += math.Exp(d)
					}
				}
			}
			if p.merged > tagTop {
				// Compacted and long: the prefix goes by decreasing count and
				// its tail adds next to nothing; later answers all count.
				credit(0, tagTop)
				credit(p.merged, len(p.ids))
			} else {
				credit(0, len(p.ids))
			}
		}
	}

	// Answerers of the latest questions are in session now.
	var session []int32
	for qi := len(e.qs) - 1; qi >= 0 && qi >= len(e.qs)-c.SessionDepth; qi-- {
		for j := e.qs[qi].firstAns; j >= 0; j = e.ansLinks[j].next {
			ui := e.ansLinks[j].who
			s.add(ui)
			session = append(session, ui)
		}
	}
	helpedBy := s.aids[:0]
	if asker >= 0 {
		for j := e.people[asker].helpedBy; j >= 0; j = e.aids[j].next {
			helpedBy = append(helpedBy, e.aids[j])
			s.add(e.aids[j].who)
		}
	}
	s.aids = helpedBy[:0]
	// The people the asker answered (in the asker's latest answers) may
	// return the favour.
	if asker >= 0 && c.WReciprocity > 0 {
		n := 0
		for j := e.people[asker].gave; j >= 0 && n < reciprocityDepth; j = e.gifts[j].next {
			s.add(e.gifts[j].asker)
			s.recip[e.gifts[j].asker]++
			n++
		}
	}

	// Small communities are scored exhaustively (cheap and exact); large
	// ones only from the postings and the latest answerers.
	all := k <= 0 || k >= e.nCands || e.nCands <= exhaustiveBelow
	if all {
		for i := range e.people {
			if e.people[i].nAns > 0 || e.people[i].hasProfile {
				s.add(int32(i))
			}
		}
	} else {
		for _, ui := range e.recent {
			s.add(ui)
		}
	}

	clock := float64(e.nAnswers) * e.actScale
	// relevance is the text part of the score.
	relevance := func(ui int32) float64 {
		v := c.WTag * s.tag[ui]
		if maxText > 0 {
			v += c.WText * s.text[ui] / maxText
		}
		if maxAns > 0 {
			v += c.WAnswerText * s.ans[ui] / maxAns
		}
		if maxProf > 0 {
			v += c.WProfile * s.prof[ui] / maxProf
		}
		return v
	}
	cs := s.cs[:0]
	for _, ui := range s.cands {
		if ui == asker {
			continue
		}
		p := &e.people[ui]
		if p.nAns == 0 && !p.hasProfile {
			continue
		}
		if q.Eligible != nil && !q.Eligible(e.personIDs[ui]) {
			continue
		}
		// A cheap first score: relevance and activity only.
		la := max(p.logAct-clock, minLogAct)
		if p.hasProfile {
			la = max(la, math.Log(profileActivity))
		}
		rel := relevance(ui)
		if q.RequireEvidence && rel <= 0 {
			continue
		}
		cs = append(cs, cand{i: ui, score: rel + c.WActivity*la, act: p.logAct, rel: rel})
	}
	s.cs = cs[:0] // keep the grown buffer; cs stays valid until putScratch
	if !all && len(cs) > max(stageTwo, 8*k) {
		// Only the best of the cheap scores get the full score.
		cs = selectTop(cs, max(stageTwo, 8*k))
	}
	for j := range cs {
		ui := cs[j].i
		p := &e.people[ui]
		score := cs[j].rel
		act := 0.0
		if p.nAns > 0 {
			act = math.Exp(p.logAct - clock)
		}
		if p.hasProfile {
			act = max(act, profileActivity)
		}
		score += c.WActivity * math.Log(act+1e-3)
		gap := 365.0
		if !math.IsInf(p.seenDay, -1) {
			gap = math.Max(0, now-p.seenDay)
		}
		score -= c.WSeen * math.Log1p(24*gap)
		if slices.Contains(session, ui) {
			score += c.WSession
		}
		if c.WHour > 0 && p.hours >= 0 {
			h := &e.hours[p.hours]
			near := float64(h[hour]) + 0.5*float64(h[(hour+1)%24]+h[(hour+23)%24])
			score += c.WHour * math.Log((near+0.5)/(float64(p.nAns)*2/24+0.5))
		}
		for _, h := range helpedBy {
			if h.who == ui {
				score += c.WAsker * math.Log1p(float64(h.n))
				break
			}
		}
		if s.recip[ui] > 0 {
			score += c.WReciprocity * math.Log1p(s.recip[ui])
		}
		// Both are 0 for an expert with no such answers; a burst weighing
		// under 1e-8 (its answers older than 29 half-lives) is skipped.
		if s.tagAt[ui] > 0 {
			score += c.WTagRecent * math.Log1p(s.tagAt[ui]/0.01)
		}
		if d := p.logBurst - now*e.burstScale; d > -20 {
			score -= c.WBurst * math.Log1p(math.Exp(d)/1e-3)
		}
		cs[j].score = score
	}
	cs = topK(cs, k, func(a, b cand) bool {
		if a.score != b.score {
			return a.score > b.score
		}
		if a.act != b.act {
			return a.act > b.act
		}
		return a.i < b.i
	})
	out := make([]Scored, len(cs))
	for j, c := range cs {
		out[j] = Scored{ID: e.personIDs[c.i], Score: c.score}
	}
	return out
}

// longPostings is the length above which a common query term is skipped
// by the expert text features once two rarer terms have been scored.
const longPostings = 4000

// reciprocityDepth is the number of the asker's latest answers that the
// reciprocity feature looks at, which bounds its cost for prolific askers.
const reciprocityDepth = 1024

// exhaustiveBelow is the number of candidates under which Rank scores them
// all.
const exhaustiveBelow = 2048

// tagTop is the number of a tag's top answerers that Rank credits once the
// index is compacted (later answers are always credited).
const tagTop = 4096

// stageTwo is the number of candidates that get the full score when a
// query touches many experts and only a few are wanted.
const stageTwo = 1024

// profileActivity is the activity credited to a declared profile, as if the
// expert had answered recently: newcomers can be routed on what they declare.
const profileActivity = 1.0

// minLogAct is log(1e-3), the floor of the activity feature.
const minLogAct = -6.907755278982137

// selectTop returns the n candidates with the highest score (unordered),
// by quickselect.
func selectTop(cs []cand, n int) []cand {
	lo, hi := 0, len(cs)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Median of three as the pivot.
		if cs[mid].score > cs[lo].score {
			cs[mid], cs[lo] = cs[lo], cs[mid]
		}
		if cs[hi].score > cs[lo].score {
			cs[hi], cs[lo] = cs[lo], cs[hi]
		}
		if cs[mid].score > cs[hi].score {
			cs[mid], cs[hi] = cs[hi], cs[mid]
		}
		pivot := cs[hi].score
		i := lo
		for j := lo; j < hi; j++ {
			if cs[j].score > pivot {
				cs[i], cs[j] = cs[j], cs[i]
				i++
			}
		}
		cs[i], cs[hi] = cs[hi], cs[i]
		switch {
		case i == n-1 || i == n:
			return cs[:n]
		case i < n:
			lo = i + 1
		default:
			hi = i - 1
		}
	}
	return cs[:n]
}

// hit is a question and its similarity score.
type hit struct {
	qi    int32
	score float64
}

type cand struct {
	i     int32
	score float64
	act   float64
	rel   float64 // relevance part of the score
}

// topK returns the k best of xs by less (all of them, sorted, for k <= 0).
func topK[T any](xs []T, k int, less func(a, b T) bool) []T {
	if k <= 0 || len(xs) <= k {
		sort.Slice(xs, func(a, b int) bool { return less(xs[a], xs[b]) })
		return xs
	}
	top := make([]T, 0, k+1)
	for _, x := range xs {
		if len(top) == k && !less(x, top[k-1]) {
			continue
		}
		pos := sort.Search(len(top), func(j int) bool { return less(x, top[j]) })
		top = append(top, x)
		copy(top[pos+1:], top[pos:])
		top[pos] = x
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}

func (e *Engine) latestDay() float64 {
	if len(e.qs) == 0 {
		return 0
	}
	return e.qs[len(e.qs)-1].day
}

// Similar returns the k earlier questions most similar to q, best first
// (ties go to the more recent question). With resolvedOnly, only questions
// marked resolved are returned. k <= 0 returns every question, the ones
// sharing no term with q last, most recent first.
func (e *Engine) Similar(q Query, k int, resolvedOnly bool) []Scored {
	toks := e.questionTerms(q.Title, q.Body, q.Tags, q.Lang)
	e.mu.RLock()
	defer e.mu.RUnlock()
	s := e.getScratch()
	defer e.putScratch(s)
	qterms := e.lookupTerms(toks)
	all := (k <= 0 || k >= len(e.qs)) && !q.RequireEvidence
	res := e.similar(s, qterms, k, resolvedOnly, all)
	out := make([]Scored, len(res))
	copy(out, res)
	return out
}

// kthScore returns the k-th best accumulated question score.
func (e *Engine) kthScore(s *scratch, k int) float64 {
	cs := s.cs[:0]
	for _, qi := range s.qhit {
		cs = append(cs, cand{i: qi, score: s.qacc[qi]})
	}
	s.cs = cs[:0]
	top := selectTop(cs, k)
	kth := top[0].score
	for _, c := range top {
		kth = min(kth, c.score)
	}
	return kth
}

// similar ranks archived questions by BM25 into s.results. With fill, the
// questions that share no term are appended, most recent first.
func (e *Engine) similar(s *scratch, qterms []queryTerm, k int, resolvedOnly, fill bool) []Scored {
	s.results = s.results[:0]
	if len(e.qs) == 0 || (resolvedOnly && e.resolvedN == 0) {
		return nil
	}
	avg := e.qLenSum / float64(len(e.qs))
	if avg <= 0 {
		avg = 1
	}
	// MaxScore-style pruning (exact for the top k): terms come rarest first;
	// once no unseen question can reach the current k-th score with the
	// remaining terms, those terms only update questions already seen.
	ub := make([]float64, len(qterms)+1) // ub[i]: best gain from terms i..
	for i := len(qterms) - 1; i >= 0; i-- {
		ub[i] = ub[i+1] + qterms[i].idf*(e.cfg.K1+1)
	}
	closed := false
	var ids [postingBlock]int32
	var tfs [postingBlock]uint16
	for i, qt := range qterms {
		p := &e.qPost[qt.id]
		n := int(p.n)
		if !closed && k > 0 && !fill && !resolvedOnly && i > 0 && len(s.qhit) >= k && n > e.pruneMin {
			closed = e.kthScore(s, k) > ub[i]
		}
		if !closed {
			last := int32(-1)
			for off, m := 0, 0; off < len(p.data); {
				m, off, last = decodeBlock(p.data, off, last, ids[:], tfs[:])
				for j, qi := range ids[:m] {
					if resolvedOnly && !e.qs[qi].resolved {
						continue
					}
					if s.qacc[qi] == 0 {
						s.qhit = append(s.qhit, qi)
					}
					s.qacc[qi] += e.bm25(qt.idf, float64(tfs[j]), float64(e.qs[qi].length), avg)
				}
			}
			continue
		}
		// Closed: only questions already seen are updated, by seeking
		// each in the list when they are few, by a walk otherwise.
		if len(s.qhit)*(skipEvery/2+bits.Len(uint(len(p.skip)))) < n {
			for _, qi := range s.qhit {
				if tf := p.find(qi); tf > 0 {
					s.qacc[qi] += e.bm25(qt.idf, float64(tf), float64(e.qs[qi].length), avg)
				}
			}
			continue
		}
		last := int32(-1)
		for off, m := 0, 0; off < len(p.data); {
			m, off, last = decodeBlock(p.data, off, last, ids[:], tfs[:])
			for j, qi := range ids[:m] {
				if s.qacc[qi] != 0 {
					s.qacc[qi] += e.bm25(qt.idf, float64(tfs[j]), float64(e.qs[qi].length), avg)
				}
			}
		}
	}
	hits := s.hits[:0]
	for _, qi := range s.qhit {
		if q := &e.qs[qi]; !q.hidden && (!resolvedOnly || q.resolved) {
			hits = append(hits, hit{qi, s.qacc[qi]})
		}
	}
	s.hits = hits[:0] // keep the grown buffer
	if fill {
		k = 0
	}
	hits = topK(hits, k, func(a, b hit) bool {
		if a.score != b.score {
			return a.score > b.score
		}
		return a.qi > b.qi
	})
	for _, h := range hits {
		s.results = append(s.results, Scored{ID: e.qIDs.str(h.qi), Score: h.score})
	}
	if fill {
		for qi := len(e.qs) - 1; qi >= 0; qi-- {
			if q := &e.qs[qi]; s.qacc[qi] == 0 && !q.hidden && (!resolvedOnly || q.resolved) {
				s.results = append(s.results, Scored{ID: e.qIDs.str(int32(qi))})
			}
		}
	}
	for _, qi := range s.qhit {
		s.qacc[qi] = 0
	}
	s.qhit = s.qhit[:0]
	if k > 0 && len(s.results) > k {
		s.results = s.results[:k]
	}
	return s.results
}
