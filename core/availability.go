package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Passed is the outcome of an expert passing on a question: the question,
// its asker, and the experts it went to instead (none when nobody else was
// available).
type Passed struct {
	Question Question
	Asker    Person
	Experts  []Person
}

// Pass records that who will not answer question id ("not my area") and
// sends the question to one more expert in their place. When id is zero the
// question is the only one waiting for who; with several, the error is an
// *AmbiguousError.
func (n *Network) Pass(ctx context.Context, who Identity, id QuestionID) (Passed, error) {
	person, err := n.store.PersonByIdentity(ctx, who)
	if errors.Is(err, ErrNotFound) {
		return Passed{}, fmt.Errorf("core: pass: %w: no question is waiting for you", ErrNotFound)
	}
	if err != nil {
		return Passed{}, fmt.Errorf("core: pass: %w", err)
	}
	if id == 0 {
		if id, err = n.pendingQuestion(ctx, person.ID); err != nil {
			return Passed{}, fmt.Errorf("core: pass: %w", err)
		}
	}
	now := n.clock.Now()
	var out Passed
	err = n.store.InTx(ctx, func(tx Store) error {
		q, err := tx.Question(ctx, id)
		if err != nil {
			return err
		}
		if q.State.Final() {
			return fmt.Errorf("%w: question %d is %s", ErrConflict, id, q.State)
		}
		routings, err := tx.Routings(ctx, id)
		if err != nil {
			return err
		}
		asked := map[PersonID]bool{}
		mine := false
		for _, r := range routings {
			asked[r.Expert] = true
			mine = mine || (r.Expert == person.ID && r.Status == RoutingAsked)
		}
		if !mine {
			return fmt.Errorf("%w: question %d is not waiting for you", ErrForbidden, id)
		}
		if err := tx.SetRoutingStatus(ctx, id, person.ID, RoutingPassed); err != nil {
			return err
		}
		out = Passed{Question: q}
		if out.Asker, err = n.askerOf(ctx, tx, q, AuditDirectory, fmt.Sprintf("pass by person %d", person.ID)); err != nil {
			return err
		}
		out.Experts, err = n.routeMore(ctx, tx, q, 1, asked, now)
		return err
	})
	if err != nil {
		return Passed{}, fmt.Errorf("core: pass on question %d: %w", id, err)
	}
	return out, nil
}

// routeMore sends q to up to limit experts not in asked, within budgets,
// and returns them.
func (n *Network) routeMore(ctx context.Context, tx Store, q Question, limit int, asked map[PersonID]bool, now time.Time) ([]Person, error) {
	budget := n.eligible(ctx, tx, q.Asker, now)
	excluded := map[PersonID]bool{}
	for p := range asked {
		excluded[p] = true
	}
	var ids []PersonID
	// The budget is read before the routings are stored, which checks it
	// again; another process may spend it meanwhile. An expert found full
	// then is replaced by the next best, for a few rounds.
	for round := 0; round <= limit+1 && len(ids) < limit; round++ {
		candidates, err := n.router.Route(ctx, tx, q, limit-len(ids), func(ps []PersonID) []bool {
			ok := make([]bool, len(ps))
			var read []PersonID
			for _, p := range ps {
				if !excluded[p] {
					read = append(read, p)
				}
			}
			within := budget(read)
			for i, j := 0, 0; i < len(ps); i++ {
				if !excluded[ps[i]] {
					ok[i] = j < len(within) && within[j]
					j++
				}
			}
			return ok
		})
		if err != nil {
			return nil, fmt.Errorf("route: %w", err)
		}
		if len(candidates) == 0 {
			break
		}
		for _, pid := range candidates {
			excluded[pid] = true
		}
		routed, err := tx.AddRoutingsWithinBudget(ctx, q.ID, candidates, now, now.Add(-24*time.Hour), n.cfg.DailyBudget)
		if err != nil {
			return nil, err
		}
		ids = append(ids, routed...)
		if len(routed) == len(candidates) {
			break
		}
	}
	experts, err := tx.People(ctx, ids)
	if err != nil {
		return nil, err
	}
	if len(experts) > 0 && q.State == StateOpen {
		if _, err := advance(ctx, tx, q.ID, StateRouted, now); err != nil {
			return nil, err
		}
	}
	return experts, nil
}

// SetAway keeps who out of routing until until; the zero time brings them
// back at once. It fails with ErrNotFound when who is not an expert, and
// with ErrInvalid for a time in the past or more than a year ahead.
func (n *Network) SetAway(ctx context.Context, who Identity, until time.Time) (Expert, error) {
	now := n.clock.Now()
	if !until.IsZero() && (!until.After(now) || until.After(now.AddDate(1, 0, 0))) {
		return Expert{}, fmt.Errorf("core: away: %w: %s is not within the coming year", ErrInvalid, until.Format(time.RFC3339))
	}
	person, err := n.store.PersonByIdentity(ctx, who)
	if err != nil {
		return Expert{}, fmt.Errorf("core: away: %w", err)
	}
	e, err := n.store.Expert(ctx, person.ID)
	if err != nil {
		return Expert{}, fmt.Errorf("core: away: %w", err)
	}
	e.AwayUntil, e.UpdatedAt = until, now
	if err := n.store.SaveExpert(ctx, e); err != nil {
		return Expert{}, fmt.Errorf("core: away: %w", err)
	}
	return e, nil
}

// Mine is what a person has going on: their questions still open, and the
// questions waiting for their answer.
type Mine struct {
	Asked   []Question
	Waiting []Question
}

// Mine returns who's open questions and the questions waiting for them.
func (n *Network) Mine(ctx context.Context, who Identity) (Mine, error) {
	person, err := n.store.PersonByIdentity(ctx, who)
	if errors.Is(err, ErrNotFound) {
		return Mine{}, nil
	}
	if err != nil {
		return Mine{}, fmt.Errorf("core: mine: %w", err)
	}
	var out Mine
	if out.Asked, err = n.store.QuestionsByAsker(ctx, person.ID, StateOpen, StateRouted, StateAnswered); err != nil {
		return Mine{}, fmt.Errorf("core: mine: %w", err)
	}
	pending, err := n.store.PendingRoutings(ctx, person.ID)
	if err != nil {
		return Mine{}, fmt.Errorf("core: mine: %w", err)
	}
	for _, r := range pending {
		q, err := n.store.Question(ctx, r.Question)
		if err != nil {
			return Mine{}, fmt.Errorf("core: mine: %w", err)
		}
		out.Waiting = append(out.Waiting, q)
	}
	return out, nil
}

// MaxSnooze is the longest an expert may put a question off.
const MaxSnooze = 7 * 24 * time.Hour

// Snooze puts question id off for who until d from now, when they are
// reminded of it. When id is zero the question is the only one waiting for
// who; with several, the error is an *AmbiguousError.
func (n *Network) Snooze(ctx context.Context, who Identity, id QuestionID, d time.Duration) (Question, time.Time, error) {
	if d <= 0 || d > MaxSnooze {
		return Question{}, time.Time{}, fmt.Errorf("core: snooze: %w: %s is not between a minute and a week", ErrInvalid, d)
	}
	person, err := n.store.PersonByIdentity(ctx, who)
	if errors.Is(err, ErrNotFound) {
		return Question{}, time.Time{}, fmt.Errorf("core: snooze: %w: no question is waiting for you", ErrNotFound)
	}
	if err != nil {
		return Question{}, time.Time{}, fmt.Errorf("core: snooze: %w", err)
	}
	if id == 0 {
		if id, err = n.pendingQuestion(ctx, person.ID); err != nil {
			return Question{}, time.Time{}, fmt.Errorf("core: snooze: %w", err)
		}
	}
	q, ok, err := n.waitingFor(ctx, n.store, id, person.ID)
	if err != nil {
		return Question{}, time.Time{}, fmt.Errorf("core: snooze question %d: %w", id, err)
	}
	if !ok {
		return Question{}, time.Time{}, fmt.Errorf("core: snooze question %d: %w: it is not waiting for you", id, ErrForbidden)
	}
	until := n.clock.Now().Add(d)
	if err := n.store.ScheduleJob(ctx, ReminderJob(id, person.ID, until)); err != nil {
		return Question{}, time.Time{}, fmt.Errorf("core: snooze question %d: %w", id, err)
	}
	return q, until, nil
}

// waitingFor returns question id and whether it still waits for expert's
// answer: not final, routed to them, neither answered nor passed by them.
func (n *Network) waitingFor(ctx context.Context, s Store, id QuestionID, expert PersonID) (Question, bool, error) {
	q, err := s.Question(ctx, id)
	if err != nil {
		return Question{}, false, err
	}
	if q.State.Final() {
		return q, false, nil
	}
	routings, err := s.Routings(ctx, id)
	if err != nil {
		return Question{}, false, err
	}
	for _, r := range routings {
		if r.Expert == expert {
			return q, r.Status == RoutingAsked, nil
		}
	}
	return q, false, nil
}

// Reminder is the outcome of a reminder job: the question, its asker and
// the expert to remind, when the question still waits for them.
type Reminder struct {
	Question Question
	Asker    Person
	Expert   Person
	Due      bool
}

// Remind tells whether question id still waits for expert, for the
// reminder they asked for.
func (n *Network) Remind(ctx context.Context, id QuestionID, expert PersonID) (Reminder, error) {
	q, ok, err := n.waitingFor(ctx, n.store, id, expert)
	if err != nil || !ok {
		return Reminder{}, err
	}
	out := Reminder{Question: q, Due: true}
	if out.Asker, err = n.askerOf(ctx, n.store, q, AuditDirectory, fmt.Sprintf("reminder for person %d", expert)); err != nil {
		return Reminder{}, fmt.Errorf("core: remind: %w", err)
	}
	if out.Expert, err = n.store.Person(ctx, expert); err != nil {
		return Reminder{}, fmt.Errorf("core: remind: %w", err)
	}
	return out, nil
}

// SetQuiet sets who's quiet hours; the zero QuietHours removes them. It
// fails with ErrNotFound when who is not an expert.
func (n *Network) SetQuiet(ctx context.Context, who Identity, q QuietHours) (Expert, error) {
	person, err := n.store.PersonByIdentity(ctx, who)
	if err != nil {
		return Expert{}, fmt.Errorf("core: quiet hours: %w", err)
	}
	e, err := n.store.Expert(ctx, person.ID)
	if err != nil {
		return Expert{}, fmt.Errorf("core: quiet hours: %w", err)
	}
	e.Quiet, e.UpdatedAt = q, n.clock.Now()
	if err := n.store.SaveExpert(ctx, e); err != nil {
		return Expert{}, fmt.Errorf("core: quiet hours: %w", err)
	}
	return e, nil
}
