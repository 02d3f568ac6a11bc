package core

import (
	"context"
	"time"
)

// Store keeps what the network knows. adapters/sqlstore implements it over
// SQLite and PostgreSQL; both pass the same contract suite
// (core/storetest).
//
// Methods return an error wrapping ErrNotFound when the thing asked for does
// not exist, and ErrConflict when a compare-and-set finds another state.
type Store interface {
	// InTx runs fn in one transaction: fn's changes are all kept when it
	// returns nil and all dropped otherwise. The Store handed to fn must not
	// be used after fn returns.
	InTx(ctx context.Context, fn func(tx Store) error) error

	// EnsurePerson returns the person behind id, creating it on first sight.
	// A non-empty displayName replaces the stored one.
	EnsurePerson(ctx context.Context, id Identity, displayName string, at time.Time) (Person, error)
	// Person returns a person by id.
	Person(ctx context.Context, id PersonID) (Person, error)
	// PersonByIdentity returns the person behind an identity.
	PersonByIdentity(ctx context.Context, id Identity) (Person, error)
	// SetPersonLang records a person's preferred language.
	SetPersonLang(ctx context.Context, id PersonID, lang string) error

	// EnsureRoom returns the community of a room, attaching the room to the
	// default community on first sight.
	EnsureRoom(ctx context.Context, room Room, at time.Time) (CommunityID, error)

	// SaveExpert creates or replaces an expert's entry in the directory.
	SaveExpert(ctx context.Context, e Expert) error
	// DeleteExpert removes an expert from the directory.
	DeleteExpert(ctx context.Context, id PersonID) error
	// Expert returns one expert.
	Expert(ctx context.Context, id PersonID) (Expert, error)
	// ExpertLoad returns, in one read, what routing needs to know of an
	// expert: their entry without topics and languages, and how many
	// questions were routed to them at or after since.
	ExpertLoad(ctx context.Context, id PersonID, since time.Time) (Expert, int, error)
	// LockExpert holds an expert's directory entry until the transaction
	// ends, so that routings to the expert are counted against the budget
	// one process at a time. It does nothing outside a transaction, and
	// nothing for a person who is not an expert.
	LockExpert(ctx context.Context, id PersonID) error
	// Experts returns every expert in the directory, by person id.
	Experts(ctx context.Context) ([]Expert, error)

	// CreateQuestion stores a new question and returns it with its id.
	CreateQuestion(ctx context.Context, q Question) (Question, error)
	// Question returns one question.
	Question(ctx context.Context, id QuestionID) (Question, error)
	// SetQuestionState moves a question from state from to state to, and
	// fails with ErrConflict when it is no longer in state from.
	SetQuestionState(ctx context.Context, id QuestionID, from, to State, at time.Time) error
	// QuestionsAfter returns up to limit questions whose id is greater than
	// after, by id: a Learner reads the history this way at start.
	QuestionsAfter(ctx context.Context, after QuestionID, limit int) ([]Question, error)
	// QuestionsByAsker returns the asker's questions in the given states
	// (all states when none is given), oldest first.
	QuestionsByAsker(ctx context.Context, asker PersonID, states ...State) ([]Question, error)

	// AddRouting records that a question was sent to an expert. Routing the
	// same question to the same expert twice fails with ErrConflict.
	AddRouting(ctx context.Context, r Routing) error
	// Routings returns who a question was sent to, in routing order.
	Routings(ctx context.Context, q QuestionID) ([]Routing, error)
	// PendingRoutings returns the routings of an expert that are still
	// waiting for their answer, on questions that are not final, oldest
	// first.
	PendingRoutings(ctx context.Context, expert PersonID) ([]Routing, error)
	// SetRoutingStatus changes one routing's status.
	SetRoutingStatus(ctx context.Context, q QuestionID, expert PersonID, status RoutingStatus) error
	// CountRoutingsSince counts the questions routed to an expert at or
	// after since.
	CountRoutingsSince(ctx context.Context, expert PersonID, since time.Time) (int, error)

	// AddAnswer stores an answer and returns it with its id.
	AddAnswer(ctx context.Context, a Answer) (Answer, error)
	// Answers returns a question's answers, oldest first.
	Answers(ctx context.Context, q QuestionID) ([]Answer, error)
	// AnswersAfter returns up to limit answers whose id is greater than
	// after, by id.
	AnswersAfter(ctx context.Context, after AnswerID, limit int) ([]Answer, error)

	// ScheduleJob stores a job to run at j.RunAt, unless a job with the same
	// key is already stored.
	ScheduleJob(ctx context.Context, j Job) error

	// Checkpoint returns the value stored under key, or "" when none is.
	// Adapters keep their positions here (a sync token, a message counter).
	Checkpoint(ctx context.Context, key string) (string, error)
	// SetCheckpoint stores value under key.
	SetCheckpoint(ctx context.Context, key, value string) error
}
