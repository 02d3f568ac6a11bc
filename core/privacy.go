package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AuditEntry records one access to the hidden author of a pseudonymous
// question: who or what needed to know them, when, and why.
type AuditEntry struct {
	ID       int64      `json:"id"`
	At       time.Time  `json:"at"`
	Action   string     `json:"action"`
	Question QuestionID `json:"question"`
	// Subject is the hidden author.
	Subject PersonID `json:"subject"`
	// Actor is what caused the access: "answer 12 by person 7", "job
	// escalate/q3/r1".
	Actor string `json:"actor,omitempty"`
}

// The actions of the audit log.
const (
	AuditRelayAnswer = "relay-answer"   // an answer was relayed to the author
	AuditNotify      = "notify-author"  // the author was told of an escalation or expiry
	AuditReminder    = "remind-author"  // the author was reminded of their question
	AuditExport      = "export-author"  // the author exported their own data
	AuditDirectory   = "read-directory" // the author was looked up for another reason
)

// askerOf returns the asker of q. For a pseudonymous question the access
// is written to the audit log, in the same transaction as the work that
// needed it.
func (n *Network) askerOf(ctx context.Context, s Store, q Question, action, actor string) (Person, error) {
	p, err := s.Person(ctx, q.Asker)
	if err != nil || !q.Anonymous {
		return p, err
	}
	if err := s.AddAudit(ctx, AuditEntry{At: n.clock.Now(), Action: action, Question: q.ID, Subject: q.Asker, Actor: actor}); err != nil {
		return Person{}, fmt.Errorf("audit: %w", err)
	}
	return p, nil
}

// AuditLog returns the latest entries of the audit log (at most limit),
// newest first; who must be an administrator of some community (a
// configured one, or one given the role).
func (n *Network) AuditLog(ctx context.Context, who Identity, community CommunityID, limit int) ([]AuditEntry, error) {
	roles, err := n.RolesOf(ctx, who, community)
	if err != nil {
		return nil, err
	}
	if !containsRole(roles, RoleAdmin) {
		return nil, fmt.Errorf("core: audit log: %w: %s is not an administrator", ErrForbidden, who)
	}
	return n.store.AuditLog(ctx, 0, limit)
}

// PersonData is everything entraide holds about a person, as the person
// gets it with the export command.
type PersonData struct {
	ExportedAt time.Time        `json:"exported_at"`
	Person     Person           `json:"person"`
	Accounts   []LinkedIdentity `json:"accounts"`
	// Tenants are the workspaces and servers each account was seen in.
	Tenants       map[string]string `json:"tenants,omitempty"`
	Expert        *Expert           `json:"expert,omitempty"`
	Questions     []AskedQuestion   `json:"questions"`
	Answers       []Answer          `json:"answers"`
	Routings      []Routing         `json:"routings"`
	Roles         []CommunityRole   `json:"roles"`
	Subscriptions []Subscription    `json:"subscriptions"`
	SavedOffers   []OfferID         `json:"saved_offers"`
	RSVPs         []RSVP            `json:"rsvps"`
	OffersPosted  []OfferID         `json:"offers_posted"`
	EventsPosted  []EventID         `json:"events_posted"`
	// Notices counts the announcements the person was sent.
	Notices int `json:"notices"`
	// Audit lists the accesses to the person as hidden author of their
	// pseudonymous questions.
	Audit []AuditEntry `json:"audit"`
}

// AskedQuestion is one of a person's questions with the answers it got.
type AskedQuestion struct {
	Question Question `json:"question"`
	Answers  []Answer `json:"answers"`
}

// CommunityRole is a role in a community.
type CommunityRole struct {
	Community CommunityID `json:"community"`
	Role      Role        `json:"role"`
}

// Export returns everything entraide holds about who's person.
func (n *Network) Export(ctx context.Context, who Identity) (PersonData, error) {
	p, err := n.store.PersonByIdentity(ctx, who)
	if errors.Is(err, ErrNotFound) {
		return PersonData{ExportedAt: n.clock.Now(), Person: Person{Identity: who},
			Accounts: []LinkedIdentity{{Identity: who, Preferred: true}}}, nil
	}
	if err != nil {
		return PersonData{}, fmt.Errorf("core: export: %w", err)
	}
	d, err := n.store.PersonData(ctx, p.ID)
	if err != nil {
		return PersonData{}, fmt.Errorf("core: export: %w", err)
	}
	d.ExportedAt = n.clock.Now()
	return d, nil
}

// Erased is what ErasePerson erased: the ids the search index must drop.
type Erased struct {
	Person    PersonID
	Questions []QuestionID
	Answers   []AnswerID
}

// Forgetter is a Learner that also forgets: after an erasure, nothing of
// the person may stay in its index.
type Forgetter interface {
	Forget(e Erased)
}

// Forget erases who's person everywhere: their accounts, profile, expert
// entry, roles, subscriptions and RSVPs are deleted; the text of their
// questions and answers is erased (others' answers stay, under a question
// that says it was erased), their open questions are closed, and the
// search index forgets them. What is left is a person without name or
// account, so that counts stay coherent. Returns what was erased.
func (n *Network) Forget(ctx context.Context, who Identity) (Erased, error) {
	p, err := n.store.PersonByIdentity(ctx, who)
	if errors.Is(err, ErrNotFound) {
		return Erased{}, nil
	}
	if err != nil {
		return Erased{}, fmt.Errorf("core: forget: %w", err)
	}
	e, err := n.store.ErasePerson(ctx, p.ID, n.clock.Now())
	if err != nil {
		return Erased{}, fmt.Errorf("core: forget: %w", err)
	}
	n.tell(func(l Learner) {
		if f, ok := l.(Forgetter); ok {
			f.Forget(e)
		}
	})
	return e, nil
}

// RetentionConfig says how long kinds of data are kept; zero keeps them.
type RetentionConfig struct {
	// Questions is how long after its last change a closed (resolved or
	// expired) question keeps its text and its answers' text; after that
	// both are erased and the search index forgets them.
	Questions time.Duration
	// Bulletin is how long job offers and events are kept after they
	// closed or ended.
	Bulletin time.Duration
	// Audit is how long the audit log keeps its entries.
	Audit time.Duration
	// Pseudonyms is how long after a pseudonymous question closed the link
	// to its author is kept; after that the question has no author.
	Pseudonyms time.Duration
}

// Validate reports durations out of range.
func (c RetentionConfig) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"questions", c.Questions}, {"bulletin", c.Bulletin}, {"audit", c.Audit}, {"pseudonyms", c.Pseudonyms}} {
		if d.v != 0 && d.v < 24*time.Hour {
			return fmt.Errorf("%w: retention of %s %s: want at least a day, or 0 to keep", ErrInvalid, d.name, d.v)
		}
	}
	return nil
}

// Retained counts what a retention run erased or deleted.
type Retained struct {
	Questions, Offers, Events, Audit, Pseudonyms int
}

// Total is the number of rows changed.
func (r Retained) Total() int { return r.Questions + r.Offers + r.Events + r.Audit + r.Pseudonyms }

// ApplyRetention erases or deletes what is older than the configured
// retention. It is idempotent: a scheduled task runs it every hour.
func (n *Network) ApplyRetention(ctx context.Context) (Retained, error) {
	c := n.cfg.Retention
	if c == (RetentionConfig{}) {
		return Retained{}, nil
	}
	now := n.clock.Now()
	before := func(d time.Duration) time.Time {
		if d == 0 {
			return time.Time{}
		}
		return now.Add(-d)
	}
	r, erased, err := n.store.ApplyRetention(ctx, RetentionCutoffs{
		Questions: before(c.Questions), Bulletin: before(c.Bulletin), Audit: before(c.Audit), Pseudonyms: before(c.Pseudonyms),
	})
	if err != nil {
		return Retained{}, fmt.Errorf("core: retention: %w", err)
	}
	if len(erased.Questions) > 0 || len(erased.Answers) > 0 {
		n.tell(func(l Learner) {
			if f, ok := l.(Forgetter); ok {
				f.Forget(erased)
			}
		})
	}
	return r, nil
}

// RetentionCutoffs are the times before which each kind of data goes; the
// zero time keeps that kind.
type RetentionCutoffs struct {
	Questions, Bulletin, Audit, Pseudonyms time.Time
}
