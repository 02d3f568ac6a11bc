package core

import (
	"fmt"
	"time"
)

// QuestionID identifies a question in the store. Users see it as a number.
type QuestionID int64

// State is where a question stands in its life.
type State string

// The states of a question. A question starts Open; it is Routed once at
// least one expert was asked; Answered once at least one answer arrived;
// Resolved when the asker accepts that it is solved; Expired when nobody
// answered in time. Resolved and Expired are final.
const (
	StateOpen     State = "open"
	StateRouted   State = "routed"
	StateAnswered State = "answered"
	StateResolved State = "resolved"
	StateExpired  State = "expired"
)

// States lists every state, in the order of a question's life.
var States = []State{StateOpen, StateRouted, StateAnswered, StateResolved, StateExpired}

var transitions = map[State][]State{
	StateOpen:     {StateRouted, StateAnswered, StateResolved, StateExpired},
	StateRouted:   {StateRouted, StateAnswered, StateResolved, StateExpired},
	StateAnswered: {StateAnswered, StateResolved},
	StateResolved: nil,
	StateExpired:  nil,
}

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Final reports whether no transition leaves s.
func (s State) Final() bool { return s.Valid() && len(transitions[s]) == 0 }

// CanBecome reports whether a question in state s may move to state to.
// Routed and Answered may be re-entered (routed again to more experts, a
// second answer); other self-transitions are refused.
func (s State) CanBecome(to State) bool {
	for _, t := range transitions[s] {
		if t == to {
			return true
		}
	}
	return false
}

// Question is something an agent asked, with where it was asked.
type Question struct {
	ID        QuestionID
	Community CommunityID
	Asker     PersonID
	Text      string
	Lang      string
	State     State
	Origin    MessageRef
	// Anonymous hides the asker's name from experts and rooms; Asker is
	// kept to relay answers, and shown to no one.
	Anonymous bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Transition moves q to state to at time at, or explains why it cannot.
func (q *Question) Transition(to State, at time.Time) error {
	if !q.State.CanBecome(to) {
		return fmt.Errorf("%w: question %d is %s and cannot become %s", ErrConflict, q.ID, q.State, to)
	}
	q.State = to
	q.UpdatedAt = at
	return nil
}

// RoutingStatus is where one expert stands with one routed question.
type RoutingStatus string

// The statuses of a routing.
const (
	RoutingAsked    RoutingStatus = "asked"
	RoutingAnswered RoutingStatus = "answered"
	// RoutingPassed means the expert said the question is not their area.
	RoutingPassed RoutingStatus = "passed"
)

// Routing records that a question was sent to an expert.
type Routing struct {
	Question QuestionID
	Expert   PersonID
	Status   RoutingStatus
	RoutedAt time.Time
}

// AnswerID identifies an answer in the store.
type AnswerID int64

// Answer is what someone replied to a question.
type Answer struct {
	ID       AnswerID
	Question QuestionID
	Author   PersonID
	Text     string
	// Accepted marks the answer the asker chose; at most one per question.
	Accepted  bool
	CreatedAt time.Time
}

// Limits on user text, in bytes. Longer text is refused with ErrInvalid.
const (
	MaxQuestionLen = 4000
	MaxAnswerLen   = 8000
	MaxTopics      = 20
	MaxTopicLen    = 80
)
