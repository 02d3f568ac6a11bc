package match

import (
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Question is a question asked in a room, as the engine learns it.
type Question struct {
	ID     string
	Author string
	Title  string
	Body   string
	Tags   []string
	At     time.Time
	// Lang is an optional language hint for the text ("fr", "en", ...).
	Lang string
}

// Answer is an answer given to an earlier question.
type Answer struct {
	ID         string
	QuestionID string
	Author     string
	Body       string
	At         time.Time
}

// Query is a new question to route or to compare with earlier ones.
type Query struct {
	Title  string
	Body   string
	Tags   []string
	Author string
	At     time.Time
	Lang   string
	// Eligible, when not nil, filters the experts that may be returned (for
	// availability and interruption budgets). It is called under the
	// engine's read lock and must not call back into the engine.
	Eligible func(expert string) bool
	// RequireEvidence keeps out the candidates with no textual evidence
	// for the question (no declared topic, tag or answered question that
	// shares a term with it): the bot asks no one on activity alone, and
	// Similar returns only questions sharing a term. The replay benchmark
	// ranks everyone and leaves it false.
	RequireEvidence bool
}

// Scored is a ranked expert or question id with its score (higher is better).
type Scored struct {
	ID    string
	Score float64
}

// Config holds the few global parameters of the ranking model. A zero
// field takes its default (see DefaultConfig); a negative weight disables
// its feature.
type Config struct {
	// K1 and B are the BM25 parameters of the text relevance features.
	K1, B float64
	// ActivityHalfLife is the half-life of the activity prior, counted in
	// answers recorded by the engine (so that it adapts to the pace of a
	// community rather than to wall time).
	ActivityHalfLife float64
	// SessionDepth is the number of latest questions whose answerers count
	// as currently active.
	SessionDepth int
	// TagHalfLife is the half-life, in answers recorded by the engine, of
	// the recent tag activity feature.
	TagHalfLife float64
	// BurstHalfLife is the half-life, in hours of wall time, of the burst
	// feature.
	BurstHalfLife float64

	// WText weights BM25 relevance over the questions an expert answered.
	WText float64
	// WAnswerText weights BM25 relevance over the expert's own answers.
	WAnswerText float64
	// WProfile weights BM25 relevance over the declared topics and profile.
	WProfile float64
	// WTag weights tag affinity: the expert's share of each tag's answers.
	WTag float64
	// WActivity weights the log of the decayed number of answers.
	WActivity float64
	// WSeen weights the log of the hours since the expert was last active
	// (asked or answered); it is subtracted.
	WSeen float64
	// WSession weights having answered one of the latest questions.
	WSession float64
	// WHour weights the expert's habit of answering at this hour of day.
	WHour float64
	// WAsker weights earlier answers given to the same asker.
	WAsker float64
	// WTagRecent weights the log of the expert's recent answers on the
	// question's tags, decaying with TagHalfLife.
	WTagRecent float64
	// WReciprocity weights earlier answers the asker gave to the expert's
	// own questions.
	WReciprocity float64
	// WBurst weights the log of the expert's answers of the last hours
	// (decaying with BurstHalfLife); it is subtracted: given how recently
	// the expert was seen, one who has just answered many questions is a
	// little less likely to take one more.
	WBurst float64

	// DefaultLang is the language assumed when a text gives no clear sign.
	DefaultLang string
}

// DefaultConfig returns the parameters used when a Config field is zero.
// The weights are those of a listwise logistic regression (softmax over the
// candidates of each question) fitted on the developer replay streams and
// rounded; the same model fitted on six sites and scored on the seventh
// does as well, so they are meant to generalise across communities rather
// than to fit one. There is no declared profile in the replay: WProfile
// keeps the weight of the answer text it mirrors.
func DefaultConfig() Config {
	return Config{
		K1:               1.6,
		B:                0.75,
		ActivityHalfLife: 25,
		SessionDepth:     5,
		TagHalfLife:      50,
		BurstHalfLife:    6,
		WText:            1.15,
		WAnswerText:      1.05,
		WProfile:         1.05,
		WTag:             1.0,
		WActivity:        0.47,
		WSeen:            0.26,
		WSession:         0.3,
		WHour:            0.13,
		WAsker:           0.12,
		WTagRecent:       0.125,
		WReciprocity:     0.35,
		WBurst:           0.064,
		DefaultLang:      DefaultLang,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	pos := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
		if *v < 0 {
			*v = 0
		}
	}
	pos(&c.K1, d.K1)
	pos(&c.B, d.B)
	pos(&c.ActivityHalfLife, d.ActivityHalfLife)
	pos(&c.WText, d.WText)
	pos(&c.WAnswerText, d.WAnswerText)
	pos(&c.WProfile, d.WProfile)
	pos(&c.WTag, d.WTag)
	pos(&c.WActivity, d.WActivity)
	pos(&c.WSeen, d.WSeen)
	pos(&c.WSession, d.WSession)
	pos(&c.WHour, d.WHour)
	pos(&c.WAsker, d.WAsker)
	pos(&c.WTagRecent, d.WTagRecent)
	pos(&c.WReciprocity, d.WReciprocity)
	pos(&c.WBurst, d.WBurst)
	pos(&c.TagHalfLife, d.TagHalfLife)
	pos(&c.BurstHalfLife, d.BurstHalfLife)
	if c.TagHalfLife == 0 {
		c.TagHalfLife = d.TagHalfLife
	}
	if c.BurstHalfLife == 0 {
		c.BurstHalfLife = d.BurstHalfLife
	}
	if c.ActivityHalfLife == 0 {
		c.ActivityHalfLife = d.ActivityHalfLife
	}
	if c.SessionDepth == 0 {
		c.SessionDepth = d.SessionDepth
	}
	if c.SessionDepth < 0 {
		c.SessionDepth = 0
	}
	if c.DefaultLang == "" {
		c.DefaultLang = d.DefaultLang
	}
	return c
}

// person is anyone seen by the engine: asker, answerer or profiled expert.
// Its id is Engine.personIDs[i]. It holds no pointer, so that the
// collector need not scan hundreds of thousands of them.
type person struct {
	logAct     float64 // log of the sum of exp(i*ln2/halfLife) over answer indexes i
	logBurst   float64 // log of the sum of exp(day*ln2/burstHalfLife) over answer days
	seenDay    float64 // day of the latest question or answer
	profileGen uint32
	profileLen float32
	nAns       int32
	docLen     float32 // tokens of the answered questions (each once)
	ansLen     float32 // tokens of the person's own answers
	hours      int32   // index in Engine.hours, -1 before the first answer
	helpedBy   int32   // head of the answerers who helped them in Engine.aids, -1 if none
	gave       int32   // head of the askers they answered in Engine.gifts, -1 if none
	hasProfile bool
}

// aid counts the answers a person received from one answerer, in a
// per-person list in arrival order.
type aid struct {
	who  int32
	n    int32
	next int32
}

// question is an archived question; its id is Engine.qIDs.str(i).
type question struct {
	day      float64
	author   int32
	length   int32
	termOff  uint32 // nTerms encoded (term, tf) postings at qTerms[termOff:]
	tagOff   uint32
	firstAns int32 // head of the answerers list in ansLinks, -1 if none
	nTerms   uint16
	nTags    uint8
	resolved bool
	// hidden questions were erased: Similar never returns them, until a
	// rebuild of the index drops them for good.
	hidden bool
}

// gift is one answer given to asker, in the answerer's list, newest first.
type gift struct {
	asker, next int32
}

// ansLink is one answerer of a question, in a per-question linked list.
type ansLink struct {
	who, next int32
}

// Engine ranks experts and similar questions. It learns online and is safe
// for concurrent use: Rank and Similar take a read lock, updates a write
// lock.
type Engine struct {
	cfg        Config
	actScale   float64 // ln2 / ActivityHalfLife
	tagScale   float64 // ln2 / TagHalfLife
	burstScale float64 // ln2 / BurstHalfLife, per day

	mu        sync.RWMutex
	terms     map[string]uint32
	tags      map[string]uint32
	people    []person
	personIDs []string // id of people[i]
	byID      idIndex  // person id -> index, over personIDs
	qs        []question
	qIDs      byteArena // id of qs[i], back to back
	qByID     idIndex   // question id -> index, over qIDs
	seed      maphash.Seed
	nCands    int
	nAnswers  int     // answers recorded, the clock of the activity prior
	qLenSum   float64 // question lengths, for BM25 over questions
	resolvedN int     // questions marked resolved
	eLenSum   float64 // answered-question document lengths
	nDocs     int     // people with an answered-question document
	aLenSum   float64 // answer document lengths
	nADocs    int     // people with an answer document
	nAPosts   int     // answers with at least one indexed term

	// qTerms holds the distinct terms of each question (ascending) with
	// their counts, encoded as postings; tagArena the question tags.
	qTerms []byte
	// hours: answers per hour of day (UTC, saturating) of each answerer.
	hours    [][24]uint16
	tagArena []uint32
	ansLinks []ansLink
	aids     []aid
	gifts    []gift

	// qPost: term -> questions containing it (ascending question index).
	qPost []qList
	// ePost: term -> (answerer, tf) once per answered question; a person
	// repeats in the tail when they answered several questions with the
	// term.
	ePost []pList
	// aPost: term -> (author, tf) once per answer body.
	aPost []pList
	// aDF: term -> number of answers containing it.
	aDF []int32
	// tPost: tag -> (answerer, count), once per answered question until
	// Compact merges a person's entries.
	tPost []postings
	// tagAnswers: tag -> answered (question, person) pairs with the tag.
	tagAnswers []float64
	// pPost: term -> declared-profile postings.
	pPost    [][]profPosting
	pLenSum  float64
	nProfile int

	// recent holds the latest answerers, newest last, as extra candidates
	// for top-k routing without a scan of every expert.
	recent []int32

	scratch sync.Pool
	stems   stemCache
	// pruneMin is the posting-list length from which Similar prunes.
	pruneMin int
}

type postings struct {
	ids []int32
	tf  []uint16
	// at is the log of the recency-weighted count of each posting: the
	// sum of exp(i*ln2/TagHalfLife) over the indexes i of its answers.
	at []float64
	// merged is the length of the prefix where each id appears once, as
	// left by Compact (person postings only).
	merged int
}

type profPosting struct {
	who int32
	tf  uint16
	gen uint32
}

// recentWindow is the number of latest answers whose authors are always
// considered as candidates.
const recentWindow = 512

// maxAnswerTerms bounds the distinct terms indexed per answer body, which
// bounds memory at scale.
const maxAnswerTerms = 24

// NewEngine returns an empty engine with the given parameters (zero fields
// take their defaults).
func NewEngine(cfg Config) *Engine {
	c := cfg.withDefaults()
	return &Engine{
		cfg:        c,
		actScale:   math.Ln2 / c.ActivityHalfLife,
		tagScale:   math.Ln2 / c.TagHalfLife,
		burstScale: math.Ln2 / (c.BurstHalfLife / 24),
		terms:      map[string]uint32{},
		tags:       map[string]uint32{},
		seed:       maphash.MakeSeed(),
		pruneMin:   4096,
	}
}

// Config returns the engine's parameters, defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

func dayOf(t time.Time) float64 {
	return float64(t.UnixMilli()) / 86400000
}

// personIdx returns the index of id, creating the person when needed.
func (e *Engine) personIdx(id string) int32 {
	h := maphash.String(e.seed, id)
	if i := e.byID.find(h, func(i int32) bool { return e.personIDs[i] == id }); i >= 0 {
		return i
	}
	i := int32(len(e.people))
	e.people = append(e.people, person{logAct: math.Inf(-1), logBurst: math.Inf(-1), seenDay: math.Inf(-1), hours: -1, helpedBy: -1, gave: -1})
	e.personIDs = append(e.personIDs, id)
	e.byID.insert(h, i, func(i int32) uint64 { return maphash.String(e.seed, e.personIDs[i]) })
	return i
}

// lookupPerson returns the index of person id, or -1.
func (e *Engine) lookupPerson(id string) int32 {
	return e.byID.find(maphash.String(e.seed, id), func(i int32) bool { return e.personIDs[i] == id })
}

// lookupQuestion returns the index of question id, or -1.
func (e *Engine) lookupQuestion(id string) int32 {
	return e.qByID.find(maphash.String(e.seed, id), func(i int32) bool { return e.qIDs.equal(i, id) })
}

func (e *Engine) termID(t string) uint32 {
	if id, ok := e.terms[t]; ok {
		return id
	}
	id := uint32(len(e.terms))
	e.terms[t] = id // terms from the stem cache share no text's memory
	e.qPost = append(e.qPost, qList{})
	e.ePost = append(e.ePost, pList{})
	e.aPost = append(e.aPost, pList{})
	e.aDF = append(e.aDF, 0)
	e.pPost = append(e.pPost, nil)
	return id
}

func (e *Engine) tagID(t string) uint32 {
	if id, ok := e.tags[t]; ok {
		return id
	}
	id := uint32(len(e.tags))
	e.tags[t] = id
	e.tPost = append(e.tPost, postings{})
	e.tagAnswers = append(e.tagAnswers, 0)
	return id
}

// normTag canonicalises a tag: trimmed, lowercase, accents folded.
func normTag(t string) string {
	return Fold(strings.ToLower(strings.TrimSpace(t)))
}

// questionTerms analyses a question's title, body and tags (tag words are
// text too: "marches-publics" gives "march" and "public").
func (e *Engine) questionTerms(title, body string, tags []string, hint string) []string {
	return e.questionTermsBuf(title, body, tags, hint, &textBuf{})
}

// textBuf holds the buffers of a text analysis, reused from text to text.
type textBuf struct {
	raw   []rawToken
	terms []string
}

// questionTermsBuf is questionTerms appending to buf.terms; the result is
// the part appended.
func (e *Engine) questionTermsBuf(title, body string, tags []string, hint string, buf *textBuf) []string {
	if hint == "" {
		hint = e.cfg.DefaultLang
	}
	// Pieces are tokenized one after the other, as if joined by line
	// breaks; "-", "_" and "." in tags separate words like spaces.
	toks := tokenize(title, buf.raw[:0])
	toks = tokenize(body, toks)
	for _, t := range tags {
		toks = tokenize(t, toks)
	}
	return buf.stem(&e.stems, toks, detect(toks, hint))
}

// stem appends the terms of toks to b.terms and returns them.
func (b *textBuf) stem(c *stemCache, toks []rawToken, lang string) []string {
	start := len(b.terms)
	b.terms = c.analyze(toks, lang, b.terms)
	clear(toks) // drop the references to the text
	b.raw = toks[:0]
	return b.terms[start:len(b.terms):len(b.terms)]
}

// analyze is Analyze with the engine's stem cache.
func (e *Engine) analyze(text, hint string) []string {
	return e.analyzeBuf(text, hint, &textBuf{})
}

// analyzeBuf is analyze appending to buf.terms; the result is the part
// appended.
func (e *Engine) analyzeBuf(text, hint string, buf *textBuf) []string {
	toks := tokenize(text, buf.raw[:0])
	return buf.stem(&e.stems, toks, detect(toks, hint))
}

// countTerms turns tokens into distinct term ids (ascending) with counts.
// When there are more than limit distinct terms, the most frequent are kept
// (ties: the later-coined, usually rarer, term). The caller holds the write
// lock.
func (e *Engine) countTerms(toks []string, pre []uint32, limit int) ([]uint32, []uint16) {
	ids := make([]uint32, len(toks))
	for j, t := range toks {
		if pre != nil && pre[j] != unknownTerm {
			ids[j] = pre[j]
			continue
		}
		ids[j] = e.termID(t)
	}
	return countIDs(ids, limit)
}

// countIDs turns term ids into distinct ids (ascending) with counts; see
// countTerms for limit. It sorts ids in place.
func countIDs(ids []uint32, limit int) ([]uint32, []uint16) {
	slices.Sort(ids)
	out := ids[:0] // distinct ids overwrite the sorted ones behind the reader
	tfs := make([]uint16, 0, len(ids))
	for j := 0; j < len(ids); {
		k := j
		for k < len(ids) && ids[k] == ids[j] {
			k++
		}
		out = append(out, ids[j])
		tfs = append(tfs, clampTF(k-j))
		j = k
	}
	if len(out) <= limit {
		return out, tfs
	}
	order := make([]int, len(out))
	for j := range order {
		order[j] = j
	}
	slices.SortFunc(order, func(a, b int) int {
		if tfs[a] != tfs[b] {
			return int(tfs[b]) - int(tfs[a])
		}
		return int(out[b]) - int(out[a])
	})
	order = order[:limit]
	slices.Sort(order)
	keptIDs, keptTF := make([]uint32, limit), make([]uint16, limit)
	for j, o := range order {
		keptIDs[j], keptTF[j] = out[o], tfs[o]
	}
	return keptIDs, keptTF
}

// SetProfile declares what expert knows about: short topic phrases (such as
// "marchés publics") and a free profile text. It replaces an earlier profile.
func (e *Engine) SetProfile(expert string, topics []string, profileText string) {
	topicText := strings.Join(topics, "\n")
	toks := e.analyze(topicText+"\n"+profileText, e.cfg.DefaultLang)
	// Topics count twice: they are the expert's own summary.
	toks = append(toks, e.analyze(topicText, e.cfg.DefaultLang)...)
	e.mu.Lock()
	defer e.mu.Unlock()
	i := e.personIdx(expert)
	p := &e.people[i]
	if p.hasProfile {
		e.pLenSum -= float64(p.profileLen)
		e.nProfile--
	} else if p.nAns == 0 {
		e.nCands++
	}
	p.hasProfile = true
	p.profileGen++
	// Declaring a profile is activity: it is as recent as the latest event.
	if len(e.qs) > 0 {
		p.seenDay = math.Max(p.seenDay, e.qs[len(e.qs)-1].day)
	}
	p.profileLen = float32(len(toks))
	e.pLenSum += float64(p.profileLen)
	e.nProfile++
	ids, tfs := e.countTerms(toks, nil, math.MaxUint16)
	for j, id := range ids {
		e.pPost[id] = append(e.pPost[id], profPosting{who: i, tf: tfs[j], gen: p.profileGen})
	}
}

// RemoveProfile forgets the declared profile of expert. What the expert
// answered is kept.
func (e *Engine) RemoveProfile(expert string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := e.lookupPerson(expert)
	if i < 0 || !e.people[i].hasProfile {
		return
	}
	p := &e.people[i]
	p.hasProfile = false
	p.profileGen++ // stale postings are skipped, and dropped by Compact
	e.pLenSum -= float64(p.profileLen)
	e.nProfile--
	p.profileLen = 0
	if p.nAns == 0 {
		e.nCands--
	}
}

func clampTF(n int) uint16 {
	if n > math.MaxUint16 {
		return math.MaxUint16
	}
	return uint16(n)
}

// AddQuestion archives a question. Adding an id twice is a no-op.
func (e *Engine) AddQuestion(q Question) {
	toks := e.questionTerms(q.Title, q.Body, q.Tags, q.Lang)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.addQuestionLocked(q, analysed{n: len(toks), toks: toks})
}

// AddQuestions archives a batch of questions; it is the fast path to build
// the index at start-up. Their text is analysed on all cores while the
// questions analysed first are being indexed.
func (e *Engine) AddQuestions(qs []Question) {
	prep := make([]analysed, len(qs))
	e.pipeline(len(qs), func(i int, buf *textBuf) []string {
		q := &qs[i]
		return e.questionTermsBuf(q.Title, q.Body, q.Tags, q.Lang, buf)
	}, math.MaxUint16, prep, func(i int) { e.addQuestionLocked(qs[i], prep[i]) })
}

// analysed is a text ready to index: n tokens, and either its distinct
// term ids (ascending) with their counts, or, when some term had no id yet,
// its tokens with the ids already known (unknownTerm for the others).
type analysed struct {
	n    int
	ids  []uint32
	tfs  []uint16
	toks []string
	pre  []uint32
}

// termsOf returns the distinct term ids of a with their counts, coining the
// missing ids. The caller holds the write lock.
func (e *Engine) termsOf(a analysed, limit int) ([]uint32, []uint16) {
	if a.toks == nil {
		return a.ids, a.tfs
	}
	return e.countTerms(a.toks, a.pre, limit)
}

// prepareLocked resolves the known terms of toks and, when all are known,
// counts them (keeping the limit most frequent). The caller holds at least
// the read lock.
func (e *Engine) prepareLocked(toks []string, limit int) analysed {
	pre := make([]uint32, len(toks))
	known := true
	for j, t := range toks {
		id, ok := e.terms[t]
		if !ok {
			id, known = unknownTerm, false
		}
		pre[j] = id
	}
	if !known {
		// toks may live in a buffer that is reused once this returns.
		return analysed{n: len(toks), toks: slices.Clone(toks), pre: pre}
	}
	ids, tfs := countIDs(pre, limit)
	return analysed{n: len(toks), ids: ids, tfs: tfs}
}

// pipelineChunk is the number of texts analysed and indexed at a time.
const pipelineChunk = 256

// pipeline analyses n texts (analyse(i, buf) gives the terms of text i,
// appended to buf) on all cores, chunk by chunk, into prep, and calls
// index(i) for each in order, under the write lock, as soon as its chunk
// is ready: indexing, which is serial, overlaps the analysis of the next
// chunks.
func (e *Engine) pipeline(n int, analyse func(i int, buf *textBuf) []string, limit int, prep []analysed, index func(i int)) {
	chunks := (n + pipelineChunk - 1) / pipelineChunk
	ready := make([]chan struct{}, chunks)
	for c := range ready {
		ready[c] = make(chan struct{})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), chunks)) {
		wg.Go(func() {
			toks := make([][]string, pipelineChunk)
			var buf textBuf
			for {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				lo, hi := c*pipelineChunk, min(n, (c+1)*pipelineChunk)
				buf.terms = buf.terms[:0]
				for i := lo; i < hi; i++ {
					toks[i-lo] = analyse(i, &buf)
				}
				// Term ids never change once given: known ones are
				// resolved under the read lock, new ones when indexing.
				e.mu.RLock()
				for i := lo; i < hi; i++ {
					prep[i] = e.prepareLocked(toks[i-lo], limit)
				}
				e.mu.RUnlock()
				close(ready[c])
			}
		})
	}
	for c := range chunks {
		<-ready[c]
		e.mu.Lock()
		for i := c * pipelineChunk; i < min(n, (c+1)*pipelineChunk); i++ {
			index(i)
			prep[i] = analysed{}
		}
		e.mu.Unlock()
	}
	wg.Wait()
}

// unknownTerm marks a token whose term id is not resolved yet.
const unknownTerm = math.MaxUint32

// addQuestionLocked archives q with its analysed text. The caller holds
// the write lock.
func (e *Engine) addQuestionLocked(q Question, text analysed) {
	h := maphash.String(e.seed, q.ID)
	if e.qByID.find(h, func(i int32) bool { return e.qIDs.equal(i, q.ID) }) >= 0 {
		return
	}
	qi := int32(len(e.qs))
	day := dayOf(q.At)
	author := e.personIdx(q.Author)
	ap := &e.people[author]
	ap.seenDay = math.Max(ap.seenDay, day)
	rec := question{author: author, day: day, length: int32(text.n), firstAns: -1}
	ids, tfs := e.termsOf(text, math.MaxUint16)
	if len(e.qTerms) > math.MaxUint32-8*len(ids) {
		panic("match: question terms over 4 GB")
	}
	rec.termOff = uint32(len(e.qTerms))
	rec.nTerms = uint16(len(ids))
	prev := int32(-1)
	for j, id := range ids {
		e.qTerms = appendPosting(e.qTerms, prev, int32(id), tfs[j])
		prev = int32(id)
		e.qPost[id].add(qi, tfs[j])
	}
	rec.tagOff = uint32(len(e.tagArena))
	for _, t := range q.Tags {
		t = normTag(t)
		if t == "" || rec.nTags == math.MaxUint8 {
			continue
		}
		id := e.tagID(t)
		if slices.Contains(e.tagArena[rec.tagOff:], id) {
			continue
		}
		e.tagArena = append(e.tagArena, id)
		rec.nTags++
	}
	e.qs = append(e.qs, rec)
	e.qIDs.add(q.ID)
	e.qByID.insert(h, qi, func(i int32) uint64 { return maphash.Bytes(e.seed, e.qIDs.bytes(i)) })
	e.qLenSum += float64(rec.length)
}

// AddAnswer records that a.Author answered an earlier question: the
// question's text and tags and the answer's own text join the author's
// evidence, and the answer counts as recent activity. An answer to an
// unknown question counts as activity and answer text only.
func (e *Engine) AddAnswer(a Answer) {
	body := e.analyze(a.Body, e.cfg.DefaultLang)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.addAnswerLocked(a, analysed{n: len(body), toks: body})
}

// AddAnswers records a batch of answers in order, analysing their text on
// all cores while the answers analysed first are being recorded.
func (e *Engine) AddAnswers(as []Answer) {
	prep := make([]analysed, len(as))
	e.pipeline(len(as), func(i int, buf *textBuf) []string {
		return e.analyzeBuf(as[i].Body, e.cfg.DefaultLang, buf)
	}, maxAnswerTerms, prep, func(i int) { e.addAnswerLocked(as[i], prep[i]) })
}

// parallel runs f(0..n-1) on all cores and returns when all calls are done.
func (e *Engine) parallel(n int, f func(i int)) {
	workers := max(1, min(runtime.GOMAXPROCS(0), n/64))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}()
	}
	wg.Wait()
}

func (e *Engine) addAnswerLocked(a Answer, body analysed) {
	ui := e.personIdx(a.Author)
	p := &e.people[ui]
	day := dayOf(a.At)
	if p.nAns == 0 && !p.hasProfile {
		e.nCands++
	}
	p.nAns++
	p.logAct = logAddExp(p.logAct, float64(e.nAnswers)*e.actScale)
	p.logBurst = logAddExp(p.logBurst, day*e.burstScale)
	tagAt := float64(e.nAnswers) * e.tagScale
	e.nAnswers++
	p.seenDay = math.Max(p.seenDay, day)
	if p.hours < 0 {
		p.hours = int32(len(e.hours))
		e.hours = append(e.hours, [24]uint16{})
	}
	if h := &e.hours[p.hours][a.At.UTC().Hour()]; *h < math.MaxUint16 {
		*h++
	}
	e.recent = append(e.recent, ui)
	if len(e.recent) >= 2*recentWindow {
		e.recent = append(e.recent[:0], e.recent[len(e.recent)-recentWindow:]...)
	}
	if body.n > 0 {
		ids, tfs := e.termsOf(body, maxAnswerTerms)
		if p.ansLen == 0 {
			e.nADocs++
		}
		p.ansLen += float32(body.n)
		e.aLenSum += float64(body.n)
		e.nAPosts++
		for j, id := range ids {
			e.aDF[id]++
			e.aPost[id].add(ui, tfs[j])
		}
	}
	qi := e.lookupQuestion(a.QuestionID)
	if qi < 0 {
		return
	}
	q := &e.qs[qi]
	for j := q.firstAns; j >= 0; j = e.ansLinks[j].next {
		if e.ansLinks[j].who == ui {
			return // each question counts once per person
		}
	}
	e.ansLinks = append(e.ansLinks, ansLink{who: ui, next: q.firstAns})
	q.firstAns = int32(len(e.ansLinks) - 1)
	if q.author != ui {
		e.addAid(q.author, ui)
		e.gifts = append(e.gifts, gift{asker: q.author, next: p.gave})
		p.gave = int32(len(e.gifts) - 1)
	}
	if q.nTerms > 0 {
		if p.docLen == 0 {
			e.nDocs++
		}
		p.docLen += float32(q.length)
		e.eLenSum += float64(q.length)
	}
	term, off := int32(-1), int(q.termOff)
	for range q.nTerms {
		var tf uint16
		term, tf, off = readPosting(e.qTerms, off, term)
		e.ePost[term].add(ui, tf)
	}
	for j := q.tagOff; j < q.tagOff+uint32(q.nTags); j++ {
		t := e.tagArena[j]
		e.tPost[t].ids = append(e.tPost[t].ids, ui)
		e.tPost[t].tf = append(e.tPost[t].tf, 1)
		e.tPost[t].at = append(e.tPost[t].at, tagAt)
		e.tagAnswers[t]++
	}
}

// addAid counts one more answer given by who to asker, keeping the
// answerers in the order they first helped.
func (e *Engine) addAid(asker, who int32) {
	p := &e.people[asker]
	last := int32(-1)
	for j := p.helpedBy; j >= 0; j = e.aids[j].next {
		if e.aids[j].who == who {
			e.aids[j].n++
			return
		}
		last = j
	}
	e.aids = append(e.aids, aid{who: who, n: 1, next: -1})
	if last < 0 {
		p.helpedBy = int32(len(e.aids) - 1)
	} else {
		e.aids[last].next = int32(len(e.aids) - 1)
	}
}

// Compact merges the repeated postings of a person, drops the postings of
// replaced profiles and returns the spare capacity of the indexes to the
// heap. Call it after a bulk load: it shortens the lists Rank walks. It is
// not needed for correctness.
func (e *Engine) Compact() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.qPost {
		e.qPost[i].clip()
	}
	for _, ps := range [][]pList{e.ePost, e.aPost} {
		e.parallel(len(ps), func(i int) { ps[i].merge() })
	}
	e.parallel(len(e.tPost), func(i int) { e.tPost[i] = mergePostings(e.tPost[i]) })
	// Profile postings of replaced or removed profiles go.
	for i, pp := range e.pPost {
		e.pPost[i] = slices.DeleteFunc(pp, func(x profPosting) bool {
			p := &e.people[x.who]
			return !p.hasProfile || p.profileGen != x.gen
		})
	}
	// Tag postings go by decreasing count, so that Rank can stop early.
	e.parallel(len(e.tPost), func(i int) { sortByCount(&e.tPost[i]) })
	e.qTerms = slices.Clone(e.qTerms)
	e.hours = slices.Clone(e.hours)
	e.tagArena = slices.Clone(e.tagArena)
	e.ansLinks = slices.Clone(e.ansLinks)
	e.aids = slices.Clone(e.aids)
	e.gifts = slices.Clone(e.gifts)
	e.qs = slices.Clone(e.qs)
	e.people = slices.Clone(e.people)
	e.personIDs = slices.Clone(e.personIDs)
	e.qIDs.data = slices.Clone(e.qIDs.data)
	e.qIDs.ends = slices.Clone(e.qIDs.ends)
}

// sortByCount orders merged postings by decreasing frequency (then id).
func sortByCount(p *postings) {
	order := make([]int, len(p.ids))
	for j := range order {
		order[j] = j
	}
	slices.SortFunc(order, func(a, b int) int {
		if p.tf[a] != p.tf[b] {
			return int(p.tf[b]) - int(p.tf[a])
		}
		return int(p.ids[a]) - int(p.ids[b])
	})
	ids, tf, at := make([]int32, len(order)), make([]uint16, len(order)), make([]float64, len(order))
	for j, o := range order {
		ids[j], tf[j], at[j] = p.ids[o], p.tf[o], p.at[o]
	}
	p.ids, p.tf, p.at = ids, tf, at
}

// mergePostings sums the frequencies (saturating) and the recency-weighted
// counts of repeated ids and returns exactly sized lists ordered by id.
func mergePostings(p postings) postings {
	if len(p.ids) == 0 {
		return postings{}
	}
	type entry struct {
		id int32
		tf uint16
		at float64
	}
	ps := make([]entry, len(p.ids))
	for j := range p.ids {
		ps[j] = entry{p.ids[j], p.tf[j], p.at[j]}
	}
	slices.SortFunc(ps, func(a, b entry) int { return int(a.id) - int(b.id) })
	out := postings{ids: make([]int32, 0, len(ps)), tf: make([]uint16, 0, len(ps)), at: make([]float64, 0, len(ps))}
	for _, x := range ps {
		if n := len(out.ids); n > 0 && out.ids[n-1] == x.id {
			out.tf[n-1] = clampTF(int(out.tf[n-1]) + int(x.tf))
			out.at[n-1] = logAddExp(out.at[n-1], x.at)
			continue
		}
		out.ids = append(out.ids, x.id)
		out.tf = append(out.tf, x.tf)
		out.at = append(out.at, x.at)
	}
	return postings{ids: slices.Clone(out.ids), tf: slices.Clone(out.tf), at: slices.Clone(out.at), merged: len(out.ids)}
}

// MarkResolved marks a question as resolved, so that Similar can restrict
// itself to questions with a known outcome.
func (e *Engine) MarkResolved(questionID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if qi := e.lookupQuestion(questionID); qi >= 0 && !e.qs[qi].resolved {
		e.qs[qi].resolved = true
		e.resolvedN++
	}
}

// Hide keeps questions out of Similar's results from now on: their text
// was erased. Their terms stay in the index until it is rebuilt from the
// store (Router.Rebuild).
func (e *Engine) Hide(questionIDs []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range questionIDs {
		if qi := e.lookupQuestion(id); qi >= 0 {
			e.qs[qi].hidden = true
		}
	}
}

// Len returns the number of candidate experts and archived questions.
func (e *Engine) Len() (experts, questions int) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.nCands, len(e.qs)
}

func logAddExp(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if a < b {
		a, b = b, a
	}
	return a + math.Log1p(math.Exp(b-a))
}
