package core

import (
	"context"
	"fmt"
	"sort"
)

// Router picks the experts to ask about a question: at most limit of them,
// best first, among those eligible accepts (all when eligible is nil). The
// asker is never eligible. A router that reads the store reads it through
// s, which may be a transaction.
type Router interface {
	Route(ctx context.Context, s Store, q Question, limit int, eligible Eligible) ([]PersonID, error)
}

// Eligible says, for each of ids, whether routing may ask them. Checking
// costs a read of the store, so routers ask it best candidate first, a few
// at a time (as many as they still need), and stop once they have enough.
type Eligible func(ids []PersonID) []bool

// FirstEligible returns, in order, up to limit of candidates that eligible
// accepts (nil accepts all), asking it a few candidates at a time, only
// until enough: as many as are still lacking at first, then twice as many
// as the last time (when the best experts have spent their budgets, the
// next eligible ones are found in a few reads, not one per candidate).
func FirstEligible(candidates []PersonID, limit int, eligible Eligible) []PersonID {
	var ids []PersonID
	size := 0
	for looked := 0; looked < len(candidates) && len(ids) < limit; {
		size = max(limit-len(ids), 2*size)
		chunk := candidates[looked:min(len(candidates), looked+size)]
		looked += len(chunk)
		if eligible == nil {
			ids = append(ids, chunk[:min(len(chunk), limit-len(ids))]...)
			continue
		}
		ok := eligible(chunk)
		for i, id := range chunk {
			if i < len(ok) && ok[i] && len(ids) < limit {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// Learner is a Router that learns from what happens in the network. The
// Network tells it after each change is stored; a Learner must be safe for
// concurrent use.
type Learner interface {
	Router
	// ExpertChanged tells that an expert joined the directory or changed
	// their topics.
	ExpertChanged(e Expert)
	// ExpertLeft tells that an expert left the directory.
	ExpertLeft(id PersonID)
	// QuestionAsked tells that a question was stored.
	QuestionAsked(q Question)
	// QuestionAnswered tells that an answer to q was stored.
	QuestionAnswered(q Question, a Answer)
	// QuestionResolved tells that its asker marked q as resolved.
	QuestionResolved(q Question)
}

// Searcher finds questions similar to a text: the learned router does.
type Searcher interface {
	Similar(text, lang string, k int, resolvedOnly bool) []QuestionID
}

// TopicRouter routes a question to the experts whose declared topics appear
// in it: a topic matches when each of its terms is a term of the question.
// Experts who match more, and more specific (longer), topics come first. It
// is the simple router of the walking skeleton; core/match has the learned
// one.
type TopicRouter struct{}

var _ Router = TopicRouter{}

// Route implements Router.
func (TopicRouter) Route(ctx context.Context, s Store, q Question, limit int, eligible Eligible) ([]PersonID, error) {
	experts, err := s.Experts(ctx)
	if err != nil {
		return nil, fmt.Errorf("topic router: %w", err)
	}
	words := map[string]bool{}
	for _, t := range Terms(q.Text) {
		words[t] = true
	}
	type scored struct {
		id    PersonID
		score int
	}
	var found []scored
	for _, e := range experts {
		score := 0
		for _, topic := range e.Topics {
			terms := Terms(topic)
			if len(terms) == 0 {
				continue
			}
			all := true
			for _, t := range terms {
				if !words[t] {
					all = false
					break
				}
			}
			if all {
				score += len(terms)
			}
		}
		if score > 0 {
			found = append(found, scored{e.Person, score})
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].score != found[j].score {
			return found[i].score > found[j].score
		}
		return found[i].id < found[j].id
	})
	// Eligibility costs queries: ask it best first, only until enough.
	candidates := make([]PersonID, len(found))
	for i, f := range found {
		candidates[i] = f.id
	}
	return FirstEligible(candidates, limit, eligible), nil
}
