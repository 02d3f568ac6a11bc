package match

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"entraide/core"
)

// Router is a core.Learner over an Engine: the bot routes with the very
// engine that "entraide bench match" measures, and teaches it what happens
// (experts' topics, questions, answers, resolutions) as it happens.
//
// The engine only learns; it forgets by being rebuilt. When a person is
// erased (core.Forgetter) their questions leave the similar-question search
// at once, and Run rebuilds the engine from the store, where their text is
// gone, then swaps it in; what happened meanwhile is replayed on the new
// engine. Linking two accounts (core.PeopleMerger) rebuilds it too, so that
// the evidence of both is one person's.
type Router struct {
	engine atomic.Pointer[Engine]

	mu         sync.Mutex
	source     core.Store // where Load read, and a rebuild reads again
	rebuilding bool
	heard      []func(e *Engine, maxAnswer core.AnswerID)
	wake       chan struct{}
}

var (
	_ core.Learner      = (*Router)(nil)
	_ core.Forgetter    = (*Router)(nil)
	_ core.PeopleMerger = (*Router)(nil)
)

// NewRouter returns a Router over engine.
func NewRouter(engine *Engine) *Router {
	r := &Router{wake: make(chan struct{}, 1)}
	r.engine.Store(engine)
	return r
}

// Engine returns the router's engine.
func (r *Router) Engine() *Engine { return r.engine.Load() }

// learn applies what the network did to the engine; during a rebuild it
// is also kept, to be replayed on the new engine. f is told the last answer
// the rebuild read, so that an answer is not counted twice.
func (r *Router) learn(f func(e *Engine, maxAnswer core.AnswerID)) {
	r.mu.Lock()
	e := r.engine.Load()
	if r.rebuilding {
		r.heard = append(r.heard, f)
	}
	r.mu.Unlock()
	f(e, 0)
}

func personKey(id core.PersonID) string     { return "p" + strconv.FormatInt(int64(id), 10) }
func questionKey(id core.QuestionID) string { return "q" + strconv.FormatInt(int64(id), 10) }

func parseKey(prefix, key string) (int64, bool) {
	if !strings.HasPrefix(key, prefix) {
		return 0, false
	}
	n, err := strconv.ParseInt(key[len(prefix):], 10, 64)
	return n, err == nil
}

// maxFetch bounds how many ranked candidates Route looks through for
// eligible ones before it gives up.
const maxFetch = 256

// Route implements core.Router. It ranks candidates with the engine, keeps
// only experts with some evidence for the question (declared topics or
// answers on related questions) and asks eligible, the costly check, best
// first and only until limit experts are found.
func (r *Router) Route(ctx context.Context, _ core.Store, q core.Question, limit int, eligible core.Eligible) ([]core.PersonID, error) {
	query := Query{Body: q.Text, Author: personKey(q.Asker), At: q.CreatedAt, Lang: q.Lang, RequireEvidence: true}
	seen := map[string]bool{}
	var ids []core.PersonID
	for k := 4 * limit; ; k *= 4 {
		k = min(k, maxFetch)
		ranked := r.Engine().Rank(query, k)
		var fresh []core.PersonID
		for _, s := range ranked {
			if seen[s.ID] {
				continue
			}
			seen[s.ID] = true
			if n, ok := parseKey("p", s.ID); ok {
				fresh = append(fresh, core.PersonID(n))
			}
		}
		ids = append(ids, core.FirstEligible(fresh, limit-len(ids), eligible)...)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(ids) == limit || len(ranked) < k || k == maxFetch {
			return ids, nil
		}
	}
}

// Similar returns up to k questions similar to text, best first: resolved
// ones only when resolvedOnly.
func (r *Router) Similar(text string, lang string, k int, resolvedOnly bool) []core.QuestionID {
	var out []core.QuestionID
	for _, s := range r.Engine().Similar(Query{Body: text, Lang: lang, RequireEvidence: true}, k, resolvedOnly) {
		if n, ok := parseKey("q", s.ID); ok {
			out = append(out, core.QuestionID(n))
		}
	}
	return out
}

// ExpertChanged implements core.Learner.
func (r *Router) ExpertChanged(e core.Expert) {
	r.learn(func(en *Engine, _ core.AnswerID) { en.SetProfile(personKey(e.Person), e.Topics, e.Organisation) })
}

// ExpertLeft implements core.Learner. What the person answered stays
// evidence; routing only asks people in the directory.
func (r *Router) ExpertLeft(id core.PersonID) {
	r.learn(func(en *Engine, _ core.AnswerID) { en.RemoveProfile(personKey(id)) })
}

// QuestionAsked implements core.Learner.
func (r *Router) QuestionAsked(q core.Question) {
	r.learn(func(en *Engine, _ core.AnswerID) { en.AddQuestion(engineQuestion(q)) })
}

func engineQuestion(q core.Question) Question {
	return Question{ID: questionKey(q.ID), Author: personKey(q.Asker), Body: q.Text, At: q.CreatedAt, Lang: q.Lang}
}

// QuestionAnswered implements core.Learner.
func (r *Router) QuestionAnswered(q core.Question, a core.Answer) {
	r.learn(func(en *Engine, maxAnswer core.AnswerID) {
		if a.ID > maxAnswer {
			en.AddAnswer(engineAnswer(q.ID, a))
		}
	})
}

func engineAnswer(q core.QuestionID, a core.Answer) Answer {
	return Answer{ID: "a" + strconv.FormatInt(int64(a.ID), 10), QuestionID: questionKey(q),
		Author: personKey(a.Author), Body: a.Text, At: a.CreatedAt}
}

// QuestionResolved implements core.Learner.
func (r *Router) QuestionResolved(q core.Question) {
	r.learn(func(en *Engine, _ core.AnswerID) { en.MarkResolved(questionKey(q.ID)) })
}

// Forget implements core.Forgetter: the erased questions leave the
// similar-question search at once, and a rebuild is asked for.
func (r *Router) Forget(e core.Erased) {
	keys := make([]string, len(e.Questions))
	for i, q := range e.Questions {
		keys[i] = questionKey(q)
	}
	r.learn(func(en *Engine, _ core.AnswerID) { en.Hide(keys) })
	r.askRebuild()
}

// PeopleMerged implements core.PeopleMerger: a rebuild is asked for.
func (r *Router) PeopleMerged(from, into core.PersonID) { r.askRebuild() }

func (r *Router) askRebuild() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run rebuilds the engine whenever a rebuild was asked for, until ctx
// ends. cmd/entraide runs it beside the pipeline.
func (r *Router) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		}
		if err := r.Rebuild(ctx); err != nil && ctx.Err() == nil {
			return err
		}
	}
}

// Rebuild reads the store again into a new engine and swaps it in: what
// was erased or merged in the store is then erased or merged in memory.
// What the network did while it read is replayed on the new engine. It
// does nothing before Load.
func (r *Router) Rebuild(ctx context.Context) error {
	r.mu.Lock()
	src := r.source
	if src == nil || r.rebuilding {
		r.mu.Unlock()
		return nil
	}
	r.rebuilding, r.heard = true, nil
	old := r.engine.Load()
	r.mu.Unlock()

	fresh := NewEngine(old.Config())
	maxAnswer, err := load(ctx, src, fresh)

	r.mu.Lock()
	defer r.mu.Unlock()
	heard := r.heard
	r.rebuilding, r.heard = false, nil
	if err != nil {
		return fmt.Errorf("match: rebuild: %w", err)
	}
	for _, f := range heard {
		f(fresh, maxAnswer)
	}
	r.engine.Store(fresh)
	return nil
}

// loadPage is how many rows Load reads at a time.
const loadPage = 5000

// Load teaches the engine everything the store holds: the experts'
// profiles, then every question and answer in order. entraide calls it at
// start, before serving; a rebuild reads the same store again.
func (r *Router) Load(ctx context.Context, s core.Store) error {
	r.mu.Lock()
	r.source = s
	r.mu.Unlock()
	_, err := load(ctx, s, r.Engine())
	return err
}

// load reads s into e and returns the last answer it read.
func load(ctx context.Context, s core.Store, e *Engine) (core.AnswerID, error) {
	experts, err := s.Experts(ctx)
	if err != nil {
		return 0, fmt.Errorf("match: load experts: %w", err)
	}
	for _, x := range experts {
		e.SetProfile(personKey(x.Person), x.Topics, x.Organisation)
	}
	// Erased questions and answers (empty text) teach nothing.
	var resolved []core.QuestionID
	for after := core.QuestionID(0); ; {
		qs, err := s.QuestionsAfter(ctx, after, loadPage)
		if err != nil {
			return 0, fmt.Errorf("match: load questions: %w", err)
		}
		for _, q := range qs {
			after = q.ID
			if q.Text == "" {
				continue
			}
			e.AddQuestion(engineQuestion(q))
			if q.State == core.StateResolved {
				resolved = append(resolved, q.ID)
			}
		}
		if len(qs) < loadPage {
			break
		}
	}
	var last core.AnswerID
	for {
		as, err := s.AnswersAfter(ctx, last, loadPage)
		if err != nil {
			return 0, fmt.Errorf("match: load answers: %w", err)
		}
		for _, a := range as {
			last = a.ID
			if a.Text != "" {
				e.AddAnswer(engineAnswer(a.Question, a))
			}
		}
		if len(as) < loadPage {
			break
		}
	}
	for _, id := range resolved {
		e.MarkResolved(questionKey(id))
	}
	return last, nil
}

// TopicTerms returns the content words of text, once each, as Analyze
// finds them (stop words dropped, stemmed in the detected language, folded)
// with the word as written (lowercase, accents kept) to show: the forms of
// one word share a key ("marchés" and "marché" are one topic). Numbers and
// words of fewer than four letters are left out: they rarely name a topic.
func TopicTerms(text string) []core.TopicTerm {
	toks := tokenize(text, nil)
	lang := detect(toks, "")
	seen := map[string]bool{}
	var out []core.TopicTerm
	for _, t := range toks {
		if utf8.RuneCountInString(t.lower) < 4 || strings.IndexFunc(t.lower, unicode.IsLetter) < 0 {
			continue
		}
		key, ok := analyzeToken(t, lang)
		if !ok || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, core.TopicTerm{Key: key, Word: strings.Clone(t.lower)})
	}
	return out
}

// TopicTerms implements core.TopicAnalyzer.
func (r *Router) TopicTerms(text string) []core.TopicTerm { return TopicTerms(text) }
