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
	// People returns the people with the given ids, in that order, in one
	// read; an id of nobody fails with ErrNotFound.
	People(ctx context.Context, ids []PersonID) ([]Person, error)
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
	// ExpertLoads returns, in one read, what routing needs to know of the
	// experts among ids: each one's entry without topics and languages,
	// and how many questions were routed to them at or after since. People
	// who are not in the directory are left out.
	ExpertLoads(ctx context.Context, ids []PersonID, since time.Time) (map[PersonID]Load, error)
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
	// AddRoutingsWithinBudget records, in one go, that question q was sent
	// at at to those of experts who are in the directory and were sent
	// fewer questions at or after since than their daily budget (their
	// own, or defaultBudget when they set none), and returns them in the
	// order given. Budgets hold across concurrent calls and processes:
	// each expert's routings are counted one transaction at a time.
	// Routing q to one of them twice fails with ErrConflict.
	AddRoutingsWithinBudget(ctx context.Context, q QuestionID, experts []PersonID, at, since time.Time, defaultBudget int) ([]PersonID, error)
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
	// Answer returns one answer.
	Answer(ctx context.Context, id AnswerID) (Answer, error)
	// AcceptAnswer marks an answer as the one its asker chose, and the
	// other answers of the question as not chosen.
	AcceptAnswer(ctx context.Context, id AnswerID) error
	// AnswersAfter returns up to limit answers whose id is greater than
	// after, by id.
	AnswersAfter(ctx context.Context, after AnswerID, limit int) ([]Answer, error)

	// SetRoomAnnounce says which kinds of bulletin items are announced in a
	// room (none when kinds is empty), attaching the room to the default
	// community on first sight.
	SetRoomAnnounce(ctx context.Context, room Room, kinds []ItemKind, at time.Time) error
	// AnnounceRooms returns the rooms of a community where items of kind
	// are announced.
	AnnounceRooms(ctx context.Context, community CommunityID, kind ItemKind) ([]Room, error)

	// CreateOffer stores a new job offer and returns it with its id. An
	// imported offer whose (Source, SourceID) is already stored fails with
	// ErrConflict.
	CreateOffer(ctx context.Context, o Offer) (Offer, error)
	// UpdateOffer replaces a stored offer's fields.
	UpdateOffer(ctx context.Context, o Offer) error
	// Offer returns one offer.
	Offer(ctx context.Context, id OfferID) (Offer, error)
	// OfferBySource returns the offer imported from source under sourceID.
	OfferBySource(ctx context.Context, source, sourceID string) (Offer, error)
	// OpenOffers returns up to limit offers of a community (every
	// community when community is 0) still listed at at, newest first.
	OpenOffers(ctx context.Context, community CommunityID, at time.Time, limit int) ([]Offer, error)
	// OffersPostedSince returns the offers posted at or after since, still
	// listed at at, oldest first.
	OffersPostedSince(ctx context.Context, since, at time.Time) ([]Offer, error)
	// SaveOffer records that a person keeps an offer, to be reminded before
	// it closes; saving twice keeps one.
	SaveOffer(ctx context.Context, offer OfferID, person PersonID, at time.Time) error
	// OfferSavers returns who saved an offer, by person id.
	OfferSavers(ctx context.Context, offer OfferID) ([]PersonID, error)

	// CreateEvent stores a new event and returns it with its id. An
	// imported event whose (Source, SourceID) is already stored fails with
	// ErrConflict.
	CreateEvent(ctx context.Context, e Event) (Event, error)
	// UpdateEvent replaces a stored event's fields.
	UpdateEvent(ctx context.Context, e Event) error
	// Event returns one event.
	Event(ctx context.Context, id EventID) (Event, error)
	// EventBySource returns the event imported from source under sourceID.
	EventBySource(ctx context.Context, source, sourceID string) (Event, error)
	// EventsBetween returns up to limit events of a community (every
	// community when community is 0) that end after from and start before
	// to, by start.
	EventsBetween(ctx context.Context, community CommunityID, from, to time.Time, limit int) ([]Event, error)
	// EventsPostedSince returns the events posted at or after since that
	// end after at, oldest first.
	EventsPostedSince(ctx context.Context, since, at time.Time) ([]Event, error)
	// SetRSVP records a person's answer to an event, replacing an earlier
	// one.
	SetRSVP(ctx context.Context, r RSVP) error
	// RSVPs returns the answers to an event, oldest first.
	RSVPs(ctx context.Context, event EventID) ([]RSVP, error)

	// CreateSubscription stores a subscription and returns it with its id.
	CreateSubscription(ctx context.Context, s Subscription) (Subscription, error)
	// DeleteSubscription removes one of a person's subscriptions.
	DeleteSubscription(ctx context.Context, person PersonID, id SubscriptionID) error
	// Subscriptions returns a person's subscriptions (everyone's when person
	// is 0) with one of the given frequencies (any when none is given), by id.
	Subscriptions(ctx context.Context, person PersonID, freqs ...Frequency) ([]Subscription, error)
	// AddNotice records that a person was told of an item, by DM at once
	// (digest false) or in a digest, and reports false when they already
	// were.
	AddNotice(ctx context.Context, n Notice) (bool, error)
	// CountNotices counts the items a person was told of at once, at or
	// after since.
	CountNotices(ctx context.Context, person PersonID, since time.Time) (int, error)

	// Communities returns every community, by id.
	Communities(ctx context.Context) ([]Community, error)
	// SetPosting says who may post offers and events in community.
	SetPosting(ctx context.Context, community CommunityID, p Posting, at time.Time) error
	// PostingOf returns who may post offers and events in community
	// (PostingAnyone unless set).
	PostingOf(ctx context.Context, community CommunityID) (Posting, error)
	// SetRole gives a person a role in a community; giving it twice keeps
	// one.
	SetRole(ctx context.Context, community CommunityID, person PersonID, role Role, at time.Time) error
	// DeleteRole takes a role away; taking a role nobody has is no error.
	DeleteRole(ctx context.Context, community CommunityID, person PersonID, role Role) error
	// RolesOf returns a person's roles in a community.
	RolesOf(ctx context.Context, community CommunityID, person PersonID) ([]Role, error)
	// RoleHolders returns who holds a role in a community, by person id.
	RoleHolders(ctx context.Context, community CommunityID, role Role) ([]PersonID, error)

	// Activity returns the questions of a community asked at or after from
	// and before to, by id, with their answers and routings.
	Activity(ctx context.Context, community CommunityID, from, to time.Time) (Activity, error)

	// CreateDigest stores a new digest and returns it with its id; a digest
	// of the same community for the same period end fails with
	// ErrConflict.
	CreateDigest(ctx context.Context, d CommunityDigest) (CommunityDigest, error)
	// Digest returns one digest.
	Digest(ctx context.Context, id DigestID) (CommunityDigest, error)
	// LatestDigest returns the digest of a community with the latest period
	// end.
	LatestDigest(ctx context.Context, community CommunityID) (CommunityDigest, error)
	// UpdateDigest replaces a draft's intro, items, editor and update time.
	UpdateDigest(ctx context.Context, d CommunityDigest) error
	// SetDigestPublished moves a digest from draft to published, and fails
	// with ErrConflict when it is not a draft any more.
	SetDigestPublished(ctx context.Context, id DigestID, at time.Time) error

	// CreateLoginToken stores the hash of a one-time login token.
	CreateLoginToken(ctx context.Context, hash string, person PersonID, community CommunityID, expires time.Time) error
	// UseLoginToken spends a token: it returns whom and which community it
	// was made for, once, before it expires; ErrNotFound otherwise.
	UseLoginToken(ctx context.Context, hash string, at time.Time) (PersonID, CommunityID, error)

	// Identities returns a person's accounts, the preferred one first.
	Identities(ctx context.Context, person PersonID) ([]LinkedIdentity, error)
	// SetPreferredIdentity makes one of a person's accounts the one Person
	// returns (where direct messages go); ErrNotFound when it is not theirs.
	SetPreferredIdentity(ctx context.Context, person PersonID, id Identity) error
	// CreateLinkCode stores the hash of a one-time code that links an
	// account to person.
	CreateLinkCode(ctx context.Context, hash string, person PersonID, expires time.Time) error
	// UseLinkCode spends a link code: it returns whom it was made for,
	// once, before it expires; ErrNotFound otherwise.
	UseLinkCode(ctx context.Context, hash string, at time.Time) (PersonID, error)
	// MergePeople moves everything of person from to person into (accounts,
	// questions, answers, routings, expert entry, roles, subscriptions,
	// RSVPs, saved offers, notices, posted items) and deletes from. Where
	// both have the same thing (a role, an RSVP), into's is kept.
	MergePeople(ctx context.Context, into, from PersonID, at time.Time) error
	// SplitIdentity detaches one account from person into a new person of
	// its own, with no history.
	SplitIdentity(ctx context.Context, person PersonID, id Identity, at time.Time) error
	// IdentityTenant returns the tenants an account was last seen in
	// (space-separated); ErrNotFound when none were recorded.
	IdentityTenant(ctx context.Context, id Identity) (string, error)
	// SetIdentityTenant records the tenants an account was seen in.
	SetIdentityTenant(ctx context.Context, id Identity, tenant string, at time.Time) error

	// EnsureCommunity returns the community named name, creating it.
	EnsureCommunity(ctx context.Context, name string, at time.Time) (Community, error)
	// CommunityByName returns a community by name.
	CommunityByName(ctx context.Context, name string) (Community, error)
	// SetRoomCommunity attaches a room to a community.
	SetRoomCommunity(ctx context.Context, room Room, community CommunityID, at time.Time) error
	// CommunityRooms returns the rooms of a community, by platform and id.
	CommunityRooms(ctx context.Context, community CommunityID) ([]Room, error)
	// AccessRules returns the access rules added in chat, by community.
	AccessRules(ctx context.Context) (map[CommunityID][]AccessRule, error)
	// AddAccessRule adds a rule to a community; adding it twice keeps one.
	AddAccessRule(ctx context.Context, community CommunityID, rule AccessRule, by PersonID, at time.Time) error
	// DeleteAccessRule removes a rule; removing a rule that is not there
	// fails with ErrNotFound.
	DeleteAccessRule(ctx context.Context, community CommunityID, rule AccessRule) error

	// AddAudit appends an entry to the audit log.
	AddAudit(ctx context.Context, e AuditEntry) error
	// AuditLog returns up to limit entries about subject (everyone's when
	// subject is 0), newest first.
	AuditLog(ctx context.Context, subject PersonID, limit int) ([]AuditEntry, error)
	// PersonData reads everything held about a person (ExportedAt aside).
	PersonData(ctx context.Context, id PersonID) (PersonData, error)
	// ErasePerson erases a person everywhere (see Network.Forget) and
	// returns the ids of the questions and answers whose text it erased.
	ErasePerson(ctx context.Context, id PersonID, at time.Time) (Erased, error)
	// ApplyRetention erases question texts and pseudonym links, and deletes
	// bulletin items and audit entries, older than the cutoffs.
	ApplyRetention(ctx context.Context, c RetentionCutoffs) (Retained, Erased, error)

	// ScheduleJob stores a job to run at j.RunAt, unless a job with the same
	// key is already stored.
	ScheduleJob(ctx context.Context, j Job) error

	// Checkpoint returns the value stored under key, or "" when none is.
	// Adapters keep their positions here (a sync token, a message counter).
	Checkpoint(ctx context.Context, key string) (string, error)
	// SetCheckpoint stores value under key.
	SetCheckpoint(ctx context.Context, key, value string) error
}
