package core

import (
	"encoding/json"
	"fmt"
	"time"
)

// Job is work scheduled for later: an escalation, a reminder, a digest. Its
// key is unique, so scheduling the same job twice keeps one.
type Job struct {
	ID       int64
	Kind     string
	Key      string
	RunAt    time.Time
	Payload  string
	Attempts int
}

// JobEscalate is the kind of the job that escalates an unanswered question.
const JobEscalate = "escalate"

// escalation is the payload of a JobEscalate job.
type escalation struct {
	Question QuestionID `json:"question"`
	Round    int        `json:"round"`
}

// EscalationJob returns the job that escalates question q to round round at
// time at.
func EscalationJob(q QuestionID, round int, at time.Time) Job {
	payload, _ := json.Marshal(escalation{Question: q, Round: round})
	return Job{Kind: JobEscalate, Key: fmt.Sprintf("escalate/q%d/r%d", q, round), RunAt: at, Payload: string(payload)}
}

// ParseEscalationJob reads the question and round of a JobEscalate job.
func ParseEscalationJob(j Job) (QuestionID, int, error) {
	var e escalation
	if j.Kind != JobEscalate {
		return 0, 0, fmt.Errorf("%w: job %s is not an escalation", ErrInvalid, j.Key)
	}
	if err := json.Unmarshal([]byte(j.Payload), &e); err != nil || e.Question <= 0 || e.Round < 1 {
		return 0, 0, fmt.Errorf("%w: escalation job %s: payload %q", ErrInvalid, j.Key, j.Payload)
	}
	return e.Question, e.Round, nil
}

// JobRemind is the kind of the job that reminds an expert of a question
// they snoozed.
const JobRemind = "remind"

// reminder is the payload of a JobRemind job.
type reminder struct {
	Question QuestionID `json:"question"`
	Expert   PersonID   `json:"expert"`
}

// ReminderJob returns the job that reminds expert of question q at time at.
func ReminderJob(q QuestionID, expert PersonID, at time.Time) Job {
	payload, _ := json.Marshal(reminder{Question: q, Expert: expert})
	return Job{Kind: JobRemind, Key: fmt.Sprintf("remind/q%d/p%d/%d", q, expert, at.Unix()), RunAt: at, Payload: string(payload)}
}

// ParseReminderJob reads the question and expert of a JobRemind job.
func ParseReminderJob(j Job) (QuestionID, PersonID, error) {
	var r reminder
	if j.Kind != JobRemind {
		return 0, 0, fmt.Errorf("%w: job %s is not a reminder", ErrInvalid, j.Key)
	}
	if err := json.Unmarshal([]byte(j.Payload), &r); err != nil || r.Question <= 0 || r.Expert <= 0 {
		return 0, 0, fmt.Errorf("%w: reminder job %s: payload %q", ErrInvalid, j.Key, j.Payload)
	}
	return r.Question, r.Expert, nil
}
