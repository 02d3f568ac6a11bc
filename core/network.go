package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Config tunes the network.
type Config struct {
	// RouteLimit is how many experts are asked about one question.
	RouteLimit int
	// DailyBudget is how many questions an expert is asked per 24 hours at
	// most, unless the expert set a budget of their own.
	DailyBudget int
	// EscalateAfter is how long a question waits for an answer before it is
	// sent to more experts, and, after the last round, before its asker is
	// told that nobody could answer.
	EscalateAfter time.Duration
	// EscalationRounds is how many times an unanswered question is sent to
	// new experts before it expires.
	EscalationRounds int
	// Location is the time zone of quiet hours and digests; nil is UTC.
	Location *time.Location
	// Bulletin tunes job offers, events and subscriptions; the zero value
	// takes DefaultBulletinConfig.
	Bulletin BulletinConfig
	// Digest says when communities' digests are drafted and published; the
	// zero value takes DefaultDigestConfig.
	Digest DigestConfig
	// Admins are administrators of every community: they give the animator
	// and admin roles.
	Admins []Identity
	// Access holds access rules by community name, on top of those added
	// in chat; a community without rules is open to every account.
	Access map[string][]AccessRule
	// Retention says how long kinds of data are kept; the zero value keeps
	// everything.
	Retention RetentionConfig
}

// DefaultConfig returns the settings used when none are given.
func DefaultConfig() Config {
	return Config{RouteLimit: 3, DailyBudget: 5, EscalateAfter: 24 * time.Hour, EscalationRounds: 1,
		Bulletin: DefaultBulletinConfig(), Digest: DefaultDigestConfig()}
}

// Validate reports settings out of range.
func (c Config) Validate() error {
	if c.RouteLimit < 1 || c.RouteLimit > 50 {
		return fmt.Errorf("%w: route limit %d: want 1 to 50 experts per question", ErrInvalid, c.RouteLimit)
	}
	if c.DailyBudget < 1 || c.DailyBudget > 1000 {
		return fmt.Errorf("%w: daily budget %d: want 1 to 1000 questions per expert per day", ErrInvalid, c.DailyBudget)
	}
	if c.EscalateAfter < time.Minute {
		return fmt.Errorf("%w: escalation delay %s: want at least one minute", ErrInvalid, c.EscalateAfter)
	}
	if c.EscalationRounds < 0 || c.EscalationRounds > 10 {
		return fmt.Errorf("%w: escalation rounds %d: want 0 to 10", ErrInvalid, c.EscalationRounds)
	}
	if c.Bulletin != (BulletinConfig{}) {
		if err := c.Bulletin.Validate(); err != nil {
			return err
		}
	}
	if c.Digest != (DigestConfig{}) {
		if err := c.Digest.Validate(); err != nil {
			return err
		}
	}
	for _, a := range c.Admins {
		if err := a.Validate(); err != nil {
			return err
		}
	}
	for name, rules := range c.Access {
		if !ValidCommunityName(name) {
			return fmt.Errorf("%w: community name %q: want 1 to 40 lowercase letters, digits or dashes", ErrInvalid, name)
		}
		for _, r := range rules {
			if p, err := ParseAccessRule(string(r)); err != nil {
				return err
			} else if p != r {
				return fmt.Errorf("%w: access rule %q: write it %q", ErrInvalid, r, p)
			}
		}
	}
	return c.Retention.Validate()
}

// Network is what entraide does, whatever the platform: it takes questions,
// routes them to experts, records answers and resolutions. Its methods
// return what happened; the conversation layer tells people.
type Network struct {
	store   Store
	router  Router
	learner Learner // the router, when it learns; nil otherwise
	clock   Clock
	cfg     Config
	access  *accessCache
	full    *fullCache
	// deferred holds what the learner is to hear once the transaction a
	// bound Network works in commits; nil on an unbound Network.
	deferred *[]func()
}

// Bind returns a Network that works in tx, a transaction of its store.
// What its learner should hear waits until Flush, to be called once tx
// committed, so a rolled-back change teaches nothing.
func (n *Network) Bind(tx Store) *Network {
	c := *n
	c.store = tx
	c.deferred = new([]func())
	return &c
}

// Flush tells the learner what a bound Network did. It does nothing on an
// unbound Network, whose learner hears everything at once.
func (n *Network) Flush() {
	if n.deferred == nil {
		return
	}
	for _, f := range *n.deferred {
		f()
	}
	*n.deferred = nil
}

// tell passes news to the learner, now or at Flush.
func (n *Network) tell(f func(Learner)) {
	if n.learner == nil {
		return
	}
	if n.deferred != nil {
		*n.deferred = append(*n.deferred, func() { f(n.learner) })
		return
	}
	f(n.learner)
}

// NewNetwork returns a Network over a store. A nil router routes by declared
// topics; a nil clock is the system clock.
func NewNetwork(store Store, router Router, clock Clock, cfg Config) (*Network, error) {
	if store == nil {
		return nil, errors.New("core: new network: nil store")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("core: new network: %w", err)
	}
	if cfg.Bulletin == (BulletinConfig{}) {
		cfg.Bulletin = DefaultBulletinConfig()
	}
	if cfg.Digest == (DigestConfig{}) {
		cfg.Digest = DefaultDigestConfig()
	}
	if router == nil {
		router = TopicRouter{}
	}
	if clock == nil {
		clock = SystemClock{}
	}
	learner, _ := router.(Learner)
	return &Network{store: store, router: router, learner: learner, clock: clock, cfg: cfg, access: &accessCache{}, full: &fullCache{}}, nil
}

// Store returns the network's store.
func (n *Network) Store() Store { return n.store }

// Location returns the time zone of quiet hours.
func (n *Network) Location() *time.Location {
	if n.cfg.Location == nil {
		return time.UTC
	}
	return n.cfg.Location
}

// Clock returns the network's clock.
func (n *Network) Clock() Clock { return n.clock }

// Asked is the outcome of a question: the question as stored, its asker and
// the experts it was routed to (none when no expert matched).
type Asked struct {
	Question Question
	Asker    Person
	Experts  []Person
}

// AskOptions are the choices of an asker.
type AskOptions struct {
	// Anonymous hides the asker's name from experts and rooms.
	Anonymous bool
}

// Ask records a question asked by asker at origin and routes it to the best
// eligible experts.
func (n *Network) Ask(ctx context.Context, asker Identity, displayName, text string, origin MessageRef) (Asked, error) {
	return n.AskWith(ctx, asker, displayName, text, origin, AskOptions{})
}

// AskWith is Ask with the asker's options.
func (n *Network) AskWith(ctx context.Context, asker Identity, displayName, text string, origin MessageRef, opts AskOptions) (Asked, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Asked{}, fmt.Errorf("%w: empty question", ErrInvalid)
	}
	if len(text) > MaxQuestionLen {
		return Asked{}, fmt.Errorf("%w: question of %d bytes, at most %d", ErrInvalid, len(text), MaxQuestionLen)
	}
	if !utf8.ValidString(text) {
		return Asked{}, fmt.Errorf("%w: question is not valid UTF-8", ErrInvalid)
	}
	now := n.clock.Now()
	person, err := n.store.EnsurePerson(ctx, asker, displayName, now)
	if err != nil {
		return Asked{}, fmt.Errorf("core: ask: %w", err)
	}
	room := Room{Platform: origin.Platform, ID: origin.Room}
	if origin.DM {
		room.ID = ""
	}
	community, err := n.store.EnsureRoom(ctx, room, now)
	if err != nil {
		return Asked{}, fmt.Errorf("core: ask: %w", err)
	}
	q := Question{
		Community: community, Asker: person.ID, Text: text, Lang: person.Lang,
		State: StateOpen, Origin: origin, Anonymous: opts.Anonymous, CreatedAt: happenedAt(ctx, now, time.Time{}), UpdatedAt: now,
	}
	ids, err := n.router.Route(ctx, n.store, q, n.cfg.RouteLimit, n.eligible(ctx, n.store, person.ID, now))
	if err != nil {
		return Asked{}, fmt.Errorf("core: ask: route: %w", err)
	}
	var experts []Person
	err = n.store.InTx(ctx, func(tx Store) error {
		// A question with experts to go to is stored as routed at once,
		// and set back to open in the rare case that none of them can be
		// asked any more.
		if len(ids) > 0 {
			if err := q.Transition(StateRouted, now); err != nil {
				return err
			}
		}
		var err error
		if q, err = tx.CreateQuestion(ctx, q); err != nil {
			return err
		}
		if err := tx.ScheduleJob(ctx, EscalationJob(q.ID, 1, now.Add(n.cfg.EscalateAfter))); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		candidates, err := tx.People(ctx, ids)
		if err != nil {
			return err
		}
		// Budgets are checked again as the routings are stored, one
		// process at a time per expert: two processes routing at once
		// must not both take an expert's last slot. The store does it
		// last, so that its locks are held the shortest time.
		routed, err := tx.AddRoutingsWithinBudget(ctx, q.ID, ids, now, now.Add(-24*time.Hour), n.cfg.DailyBudget)
		if err != nil {
			return err
		}
		experts = keepPeople(candidates, routed)
		if len(experts) > 0 {
			return nil
		}
		if err := tx.SetQuestionState(ctx, q.ID, StateRouted, StateOpen, now); err != nil {
			return err
		}
		q.State = StateOpen
		return nil
	})
	if err != nil {
		return Asked{}, fmt.Errorf("core: ask: %w", err)
	}
	n.tell(func(l Learner) { l.QuestionAsked(q) })
	return Asked{Question: q, Asker: person, Experts: experts}, nil
}

// keepPeople returns the people whose ids are in ids, in the order of ids.
func keepPeople(people []Person, ids []PersonID) []Person {
	byID := make(map[PersonID]Person, len(people))
	for _, p := range people {
		byID[p.ID] = p
	}
	out := make([]Person, 0, len(ids))
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out
}

// eligible returns the filter that keeps the asker, people outside the
// directory, unavailable experts and experts over their daily budget out of
// routing; the experts of one call are read together. A store error makes
// them ineligible: better to ask someone else than to fail the question.
func (n *Network) eligible(ctx context.Context, s Store, asker PersonID, now time.Time) Eligible {
	return func(ids []PersonID) []bool {
		ok := make([]bool, len(ids))
		read := make([]PersonID, 0, len(ids))
		for _, id := range ids {
			if id != asker && !n.full.has(id, now) {
				read = append(read, id)
			}
		}
		if len(read) == 0 {
			return ok
		}
		loads, err := s.ExpertLoads(ctx, read, now.Add(-24*time.Hour))
		if err != nil {
			return ok
		}
		for i, id := range ids {
			l, found := loads[id]
			if id == asker || !found || !l.Expert.AvailableAt(now, n.cfg.Location) {
				continue
			}
			budget := l.Expert.DailyBudget
			if budget <= 0 {
				budget = n.cfg.DailyBudget
			}
			ok[i] = l.Routed < budget
			if !ok[i] {
				n.full.add(id, now.Add(fullFor))
			}
		}
		return ok
	}
}

// fullFor is how long an expert found over their daily budget is left out
// of routing without reading their load again: when the best experts of a
// topic have spent their budgets, every question would otherwise read
// them before finding others. A budget freed or raised meanwhile (an old
// routing out of the window, "!expert" again) counts after at most this
// long; changes made through this Network count at once.
const fullFor = time.Minute

// fullCache holds the experts found over budget, until when to leave them
// out.
type fullCache struct {
	mu    sync.Mutex
	until map[PersonID]time.Time
}

func (c *fullCache) has(id PersonID, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.until[id]
	if ok && !now.Before(until) {
		delete(c.until, id)
		return false
	}
	return ok
}

func (c *fullCache) add(id PersonID, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.until == nil {
		c.until = map[PersonID]time.Time{}
	}
	if len(c.until) > maxFull { // bounded: start again rather than grow
		clear(c.until)
	}
	c.until[id] = until
}

func (c *fullCache) forget(id PersonID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.until, id)
}

// maxFull bounds the experts fullCache holds.
const maxFull = 100000

// DeclareExpert puts who in the expert directory with the given topics,
// replacing the topics they declared before, and makes them available.
func (n *Network) DeclareExpert(ctx context.Context, who Identity, displayName string, topics []string) (Expert, error) {
	if len(topics) == 0 {
		return Expert{}, fmt.Errorf("%w: no topic given", ErrInvalid)
	}
	now := n.clock.Now()
	person, err := n.store.EnsurePerson(ctx, who, displayName, now)
	if err != nil {
		return Expert{}, fmt.Errorf("core: declare expert: %w", err)
	}
	e, err := n.store.Expert(ctx, person.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		e = Expert{Person: person.ID}
	case err != nil:
		return Expert{}, fmt.Errorf("core: declare expert: %w", err)
	}
	e.Topics, e.Available, e.UpdatedAt = topics, true, now
	if err := n.store.SaveExpert(ctx, e); err != nil {
		return Expert{}, fmt.Errorf("core: declare expert: %w", err)
	}
	n.full.forget(e.Person)
	n.tell(func(l Learner) { l.ExpertChanged(e) })
	return e, nil
}

// LeaveDirectory takes who out of the expert directory. It fails with
// ErrNotFound when who was not in it.
func (n *Network) LeaveDirectory(ctx context.Context, who Identity) error {
	person, err := n.store.PersonByIdentity(ctx, who)
	if err != nil {
		return fmt.Errorf("core: leave directory: %w", err)
	}
	if err := n.store.DeleteExpert(ctx, person.ID); err != nil {
		return fmt.Errorf("core: leave directory: %w", err)
	}
	n.tell(func(l Learner) { l.ExpertLeft(person.ID) })
	return nil
}

// Answered is the outcome of an answer: the question (in its new state), the
// answer, its author and the asker to tell.
type Answered struct {
	Question Question
	Answer   Answer
	Author   Person
	Asker    Person
}

// Answer records text as author's answer to question id. When id is zero the
// question is the only one routed to author and still waiting for their
// answer; with several, the error is an *AmbiguousError listing them.
func (n *Network) Answer(ctx context.Context, author Identity, displayName string, id QuestionID, text string) (Answered, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Answered{}, fmt.Errorf("%w: empty answer", ErrInvalid)
	}
	if len(text) > MaxAnswerLen {
		return Answered{}, fmt.Errorf("%w: answer of %d bytes, at most %d", ErrInvalid, len(text), MaxAnswerLen)
	}
	if !utf8.ValidString(text) {
		return Answered{}, fmt.Errorf("%w: answer is not valid UTF-8", ErrInvalid)
	}
	now := n.clock.Now()
	person, err := n.store.EnsurePerson(ctx, author, displayName, now)
	if err != nil {
		return Answered{}, fmt.Errorf("core: answer: %w", err)
	}
	if id == 0 {
		if id, err = n.pendingQuestion(ctx, person.ID); err != nil {
			return Answered{}, fmt.Errorf("core: answer: %w", err)
		}
	}
	var out Answered
	err = n.store.InTx(ctx, func(tx Store) error {
		q, err := tx.Question(ctx, id)
		if err != nil {
			return err
		}
		if q.Asker == person.ID {
			return fmt.Errorf("%w: question %d is yours", ErrForbidden, id)
		}
		if q.State.Final() {
			return fmt.Errorf("%w: question %d is %s", ErrConflict, id, q.State)
		}
		a, err := tx.AddAnswer(ctx, Answer{Question: id, Author: person.ID, Text: text, CreatedAt: happenedAt(ctx, now, q.CreatedAt)})
		if err != nil {
			return err
		}
		err = tx.SetRoutingStatus(ctx, id, person.ID, RoutingAnswered)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if q, err = advance(ctx, tx, id, StateAnswered, now); err != nil {
			return err
		}
		asker, err := n.askerOf(ctx, tx, q, AuditRelayAnswer, fmt.Sprintf("answer %d by person %d", a.ID, person.ID))
		if err != nil {
			return err
		}
		out = Answered{Question: q, Answer: a, Author: person, Asker: asker}
		return nil
	})
	if err != nil {
		return Answered{}, fmt.Errorf("core: answer question %d: %w", id, err)
	}
	n.tell(func(l Learner) { l.QuestionAnswered(out.Question, out.Answer) })
	return out, nil
}

// pendingQuestion returns the only question waiting for expert's answer.
func (n *Network) pendingQuestion(ctx context.Context, expert PersonID) (QuestionID, error) {
	pending, err := n.store.PendingRoutings(ctx, expert)
	if err != nil {
		return 0, err
	}
	switch len(pending) {
	case 0:
		return 0, fmt.Errorf("%w: no question is waiting for your answer", ErrNotFound)
	case 1:
		return pending[0].Question, nil
	}
	ids := make([]QuestionID, len(pending))
	for i, r := range pending {
		ids[i] = r.Question
	}
	return 0, &AmbiguousError{Candidates: ids}
}

// Resolved is the outcome of a resolution: the question and its answers.
type Resolved struct {
	Question Question
	Answers  []Answer
}

// Resolve marks question id as solved. Only its asker may. When id is zero
// the question is the asker's only one still open; with several, the error
// is an *AmbiguousError listing them.
func (n *Network) Resolve(ctx context.Context, who Identity, id QuestionID) (Resolved, error) {
	person, err := n.store.PersonByIdentity(ctx, who)
	if errors.Is(err, ErrNotFound) {
		return Resolved{}, fmt.Errorf("core: resolve: %w: you have asked no question", ErrNotFound)
	}
	if err != nil {
		return Resolved{}, fmt.Errorf("core: resolve: %w", err)
	}
	if id == 0 {
		open, err := n.store.QuestionsByAsker(ctx, person.ID, StateOpen, StateRouted, StateAnswered)
		if err != nil {
			return Resolved{}, fmt.Errorf("core: resolve: %w", err)
		}
		switch len(open) {
		case 0:
			return Resolved{}, fmt.Errorf("core: resolve: %w: you have no open question", ErrNotFound)
		case 1:
			id = open[0].ID
		default:
			ids := make([]QuestionID, len(open))
			for i, q := range open {
				ids[i] = q.ID
			}
			return Resolved{}, fmt.Errorf("core: resolve: %w", &AmbiguousError{Candidates: ids})
		}
	}
	now := n.clock.Now()
	var out Resolved
	err = n.store.InTx(ctx, func(tx Store) error {
		q, err := tx.Question(ctx, id)
		if err != nil {
			return err
		}
		if q.Asker != person.ID {
			return fmt.Errorf("%w: only the asker may resolve question %d", ErrForbidden, id)
		}
		if q, err = advance(ctx, tx, id, StateResolved, now); err != nil {
			return err
		}
		answers, err := tx.Answers(ctx, id)
		if err != nil {
			return err
		}
		out = Resolved{Question: q, Answers: answers}
		return nil
	})
	if err != nil {
		return Resolved{}, fmt.Errorf("core: resolve question %d: %w", id, err)
	}
	n.tell(func(l Learner) { l.QuestionResolved(out.Question) })
	return out, nil
}

// Accepted is the outcome of an asker choosing an answer: the question, now
// resolved, the answer and its author. Resolved is true when the question
// was resolved by this choice (it may have been resolved before).
type Accepted struct {
	Question Question
	Answer   Answer
	Author   Person
	Resolved bool
}

// Accept records that the asker chose answer id among the answers to their
// question, and resolves the question if it was not. Only the asker may;
// others fail with ErrForbidden. Choosing another answer later replaces
// the choice.
func (n *Network) Accept(ctx context.Context, who Identity, id AnswerID) (Accepted, error) {
	now := n.clock.Now()
	var out Accepted
	err := n.store.InTx(ctx, func(tx Store) error {
		person, err := tx.PersonByIdentity(ctx, who)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: you have asked no question", ErrForbidden)
		}
		if err != nil {
			return err
		}
		a, err := tx.Answer(ctx, id)
		if err != nil {
			return err
		}
		q, err := tx.Question(ctx, a.Question)
		if err != nil {
			return err
		}
		if q.Asker != person.ID {
			return fmt.Errorf("%w: only the asker of question %d chooses its answer", ErrForbidden, q.ID)
		}
		if err := tx.AcceptAnswer(ctx, id); err != nil {
			return err
		}
		a.Accepted = true
		if q.State != StateResolved {
			if q, err = advance(ctx, tx, q.ID, StateResolved, now); err != nil {
				return err
			}
			out.Resolved = true
		}
		author, err := tx.Person(ctx, a.Author)
		if err != nil {
			return err
		}
		out = Accepted{Question: q, Answer: a, Author: author, Resolved: out.Resolved}
		return nil
	})
	if err != nil {
		return Accepted{}, fmt.Errorf("core: accept answer %d: %w", id, err)
	}
	if out.Resolved {
		n.tell(func(l Learner) { l.QuestionResolved(out.Question) })
	}
	return out, nil
}

// SetLang records who's preferred language.
func (n *Network) SetLang(ctx context.Context, who Identity, displayName, lang string) error {
	person, err := n.store.EnsurePerson(ctx, who, displayName, n.clock.Now())
	if err != nil {
		return fmt.Errorf("core: set language: %w", err)
	}
	if err := n.store.SetPersonLang(ctx, person.ID, lang); err != nil {
		return fmt.Errorf("core: set language: %w", err)
	}
	return nil
}

// PersonByIdentity returns the person behind an identity.
func (n *Network) PersonByIdentity(ctx context.Context, id Identity) (Person, error) {
	return n.store.PersonByIdentity(ctx, id)
}

// advance moves question id to state to, reading its state afresh when
// another writer changed it between the read and the write (two experts
// answering at once), a few times before it gives up.
func advance(ctx context.Context, tx Store, id QuestionID, to State, now time.Time) (Question, error) {
	for attempt := 0; ; attempt++ {
		q, err := tx.Question(ctx, id)
		if err != nil {
			return Question{}, err
		}
		from := q.State
		if err := q.Transition(to, now); err != nil {
			return Question{}, err
		}
		err = tx.SetQuestionState(ctx, id, from, to, now)
		if err == nil {
			return q, nil
		}
		if !errors.Is(err, ErrConflict) || attempt == 3 {
			return Question{}, err
		}
	}
}

// Escalation is the outcome of an escalation job: the question, the new
// experts it was sent to, and whether it expired (its asker is then told
// that nobody could answer). Nothing happened when Question is not open or
// routed any more.
type Escalation struct {
	Question Question
	Asker    Person
	Round    int
	Experts  []Person
	// Animators are told after the last round of experts, when the
	// community has some; the question expires one delay later.
	Animators []Person
	Expired   bool
}

// Escalate runs round round of the escalation of question id: while rounds
// remain, the question is sent to experts not asked yet and the next round
// is scheduled; after the last one, it goes to the community's animators
// (when it has some) and, one delay later, the question expires. An
// answered, resolved or expired question is left as it is.
func (n *Network) Escalate(ctx context.Context, id QuestionID, round int) (Escalation, error) {
	now := n.clock.Now()
	var out Escalation
	err := n.store.InTx(ctx, func(tx Store) error {
		q, err := tx.Question(ctx, id)
		if err != nil {
			return err
		}
		out = Escalation{Question: q, Round: round}
		if q.State != StateOpen && q.State != StateRouted {
			return nil
		}
		if out.Asker, err = n.askerOf(ctx, tx, q, AuditNotify, fmt.Sprintf("escalation round %d", round)); err != nil {
			return err
		}
		if round == n.cfg.EscalationRounds+1 {
			// After the experts, the community's animators, who may know
			// someone: then a last wait before the asker is told.
			bound := *n
			bound.store = tx
			if out.Animators, err = bound.Animators(ctx, q.Community); err != nil {
				return err
			}
			if len(out.Animators) > 0 {
				return tx.ScheduleJob(ctx, EscalationJob(id, round+1, now.Add(n.cfg.EscalateAfter)))
			}
		}
		if round > n.cfg.EscalationRounds {
			if out.Question, err = advance(ctx, tx, id, StateExpired, now); err != nil {
				return err
			}
			out.Expired = true
			return nil
		}
		routings, err := tx.Routings(ctx, id)
		if err != nil {
			return err
		}
		asked := map[PersonID]bool{}
		for _, r := range routings {
			asked[r.Expert] = true
		}
		if out.Experts, err = n.routeMore(ctx, tx, q, n.cfg.RouteLimit, asked, now); err != nil {
			return err
		}
		if len(out.Experts) > 0 {
			if out.Question, err = tx.Question(ctx, id); err != nil {
				return err
			}
		}
		return tx.ScheduleJob(ctx, EscalationJob(id, round+1, now.Add(n.cfg.EscalateAfter)))
	})
	if err != nil {
		return Escalation{}, fmt.Errorf("core: escalate question %d: %w", id, err)
	}
	return out, nil
}

// Found is a question found by Search, with its answers.
type Found struct {
	Question Question
	Answers  []Answer
}

// Search returns up to k resolved questions similar to text, best first,
// with their answers. It finds nothing when the router cannot search.
func (n *Network) Search(ctx context.Context, text, lang string, k int) ([]Found, error) {
	searcher, ok := n.router.(Searcher)
	if !ok || strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var out []Found
	for _, id := range searcher.Similar(text, lang, k, true) {
		q, err := n.store.Question(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // known to the engine, gone from the store
		}
		if err != nil {
			return nil, fmt.Errorf("core: search: %w", err)
		}
		answers, err := n.store.Answers(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("core: search: %w", err)
		}
		out = append(out, Found{Question: q, Answers: answers})
	}
	return out, nil
}
