package match

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"entraide/core"
)

// Router is a core.Learner over an Engine: the bot routes with the very
// engine that "entraide bench match" measures, and teaches it what happens
// (experts' topics, questions, answers, resolutions) as it happens.
type Router struct {
	engine *Engine
}

var _ core.Learner = (*Router)(nil)

// NewRouter returns a Router over engine.
func NewRouter(engine *Engine) *Router { return &Router{engine: engine} }

// Engine returns the router's engine.
func (r *Router) Engine() *Engine { return r.engine }

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
func (r *Router) Route(ctx context.Context, _ core.Store, q core.Question, limit int, eligible func(core.PersonID) bool) ([]core.PersonID, error) {
	query := Query{Body: q.Text, Author: personKey(q.Asker), At: q.CreatedAt, Lang: q.Lang, RequireEvidence: true}
	seen := map[string]bool{}
	var ids []core.PersonID
	for k := 4 * limit; ; k *= 4 {
		k = min(k, maxFetch)
		ranked := r.engine.Rank(query, k)
		for _, s := range ranked {
			if len(ids) == limit {
				return ids, nil
			}
			if seen[s.ID] {
				continue
			}
			seen[s.ID] = true
			n, ok := parseKey("p", s.ID)
			if !ok {
				continue
			}
			if eligible == nil || eligible(core.PersonID(n)) {
				ids = append(ids, core.PersonID(n))
			}
		}
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
	for _, s := range r.engine.Similar(Query{Body: text, Lang: lang, RequireEvidence: true}, k, resolvedOnly) {
		if n, ok := parseKey("q", s.ID); ok {
			out = append(out, core.QuestionID(n))
		}
	}
	return out
}

// ExpertChanged implements core.Learner.
func (r *Router) ExpertChanged(e core.Expert) {
	r.engine.SetProfile(personKey(e.Person), e.Topics, e.Organisation)
}

// ExpertLeft implements core.Learner. What the person answered stays
// evidence; routing only asks people in the directory.
func (r *Router) ExpertLeft(id core.PersonID) { r.engine.RemoveProfile(personKey(id)) }

// QuestionAsked implements core.Learner.
func (r *Router) QuestionAsked(q core.Question) {
	r.engine.AddQuestion(Question{ID: questionKey(q.ID), Author: personKey(q.Asker), Body: q.Text, At: q.CreatedAt, Lang: q.Lang})
}

// QuestionAnswered implements core.Learner.
func (r *Router) QuestionAnswered(q core.Question, a core.Answer) {
	r.engine.AddAnswer(Answer{
		ID: "a" + strconv.FormatInt(int64(a.ID), 10), QuestionID: questionKey(q.ID),
		Author: personKey(a.Author), Body: a.Text, At: a.CreatedAt,
	})
}

// QuestionResolved implements core.Learner.
func (r *Router) QuestionResolved(q core.Question) { r.engine.MarkResolved(questionKey(q.ID)) }

// loadPage is how many rows Load reads at a time.
const loadPage = 5000

// Load teaches the engine everything the store holds: the experts'
// profiles, then every question and answer in order. entraide calls it at
// start, before serving.
func (r *Router) Load(ctx context.Context, s core.Store) error {
	experts, err := s.Experts(ctx)
	if err != nil {
		return fmt.Errorf("match: load experts: %w", err)
	}
	for _, e := range experts {
		r.ExpertChanged(e)
	}
	var resolved []core.QuestionID
	for after := core.QuestionID(0); ; {
		qs, err := s.QuestionsAfter(ctx, after, loadPage)
		if err != nil {
			return fmt.Errorf("match: load questions: %w", err)
		}
		for _, q := range qs {
			r.QuestionAsked(q)
			if q.State == core.StateResolved {
				resolved = append(resolved, q.ID)
			}
			after = q.ID
		}
		if len(qs) < loadPage {
			break
		}
	}
	for after := core.AnswerID(0); ; {
		as, err := s.AnswersAfter(ctx, after, loadPage)
		if err != nil {
			return fmt.Errorf("match: load answers: %w", err)
		}
		for _, a := range as {
			r.QuestionAnswered(core.Question{ID: a.Question}, a)
			after = a.ID
		}
		if len(as) < loadPage {
			break
		}
	}
	for _, id := range resolved {
		r.QuestionResolved(core.Question{ID: id})
	}
	return nil
}
