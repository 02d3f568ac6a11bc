package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// BulletinConfig tunes job offers, events and subscriptions.
type BulletinConfig struct {
	// EventReminder is how long before an event starts those who answered
	// "going" or "maybe" are reminded.
	EventReminder time.Duration
	// OfferReminder is how long before an offer closes those who saved it
	// are reminded.
	OfferReminder time.Duration
	// NoticeBudget is how many items a subscriber hears of at once per 24
	// hours at most; the others wait for the next daily digest.
	NoticeBudget int
	// DigestHour is the hour of the day, in the network's time zone, when
	// daily and weekly digests of subscriptions are sent (weekly ones on
	// Mondays).
	DigestHour int
}

// DefaultBulletinConfig returns the settings used when none are given.
func DefaultBulletinConfig() BulletinConfig {
	return BulletinConfig{EventReminder: 24 * time.Hour, OfferReminder: 48 * time.Hour, NoticeBudget: 3, DigestHour: 8}
}

// Validate reports settings out of range.
func (c BulletinConfig) Validate() error {
	if c.EventReminder < time.Minute || c.EventReminder > 30*24*time.Hour {
		return fmt.Errorf("%w: event reminder %s: want one minute to 30 days", ErrInvalid, c.EventReminder)
	}
	if c.OfferReminder < time.Minute || c.OfferReminder > 30*24*time.Hour {
		return fmt.Errorf("%w: offer reminder %s: want one minute to 30 days", ErrInvalid, c.OfferReminder)
	}
	if c.NoticeBudget < 0 || c.NoticeBudget > 100 {
		return fmt.Errorf("%w: notice budget %d: want 0 to 100 per day", ErrInvalid, c.NoticeBudget)
	}
	if c.DigestHour < 0 || c.DigestHour > 23 {
		return fmt.Errorf("%w: digest hour %d: want 0 to 23", ErrInvalid, c.DigestHour)
	}
	return nil
}

// The kinds of the jobs of the bulletin.
const (
	// JobAnnounce announces a new offer or event in its community's rooms
	// and to immediate subscribers.
	JobAnnounce = "announce"
	// JobItemReminder reminds people of an event about to start or an
	// offer about to close.
	JobItemReminder = "item-reminder"
	// JobDigest sends the daily or weekly digests of subscriptions.
	JobDigest = "digest"
)

// itemJob is the payload of JobAnnounce and JobItemReminder jobs.
type itemJob struct {
	Kind ItemKind `json:"kind"`
	ID   int64    `json:"id"`
	// At is the start of the event or the closing of the offer the
	// reminder was scheduled for: a reminder for a time that changed since
	// is dropped.
	At time.Time `json:"at,omitzero"`
}

// AnnounceJob returns the job that announces a new item at at.
func AnnounceJob(kind ItemKind, id int64, at time.Time) Job {
	payload, _ := json.Marshal(itemJob{Kind: kind, ID: id})
	return Job{Kind: JobAnnounce, Key: fmt.Sprintf("announce/%s/%d", kind, id), RunAt: at, Payload: string(payload)}
}

// ItemReminderJob returns the job that reminds people, at runAt, of the
// item whose start or closing is itemAt.
func ItemReminderJob(kind ItemKind, id int64, itemAt, runAt time.Time) Job {
	payload, _ := json.Marshal(itemJob{Kind: kind, ID: id, At: itemAt.UTC()})
	return Job{Kind: JobItemReminder, Key: fmt.Sprintf("remind/%s/%d/%d", kind, id, itemAt.Unix()), RunAt: runAt, Payload: string(payload)}
}

func parseItemJob(j Job, kind string) (itemJob, error) {
	var p itemJob
	if j.Kind != kind {
		return p, fmt.Errorf("%w: job %s is not %s", ErrInvalid, j.Key, kind)
	}
	if err := json.Unmarshal([]byte(j.Payload), &p); err != nil || p.ID <= 0 || (p.Kind != KindOffer && p.Kind != KindEvent) {
		return p, fmt.Errorf("%w: %s job %s: payload %q", ErrInvalid, kind, j.Key, j.Payload)
	}
	return p, nil
}

// digestJob is the payload of a JobDigest job.
type digestJob struct {
	Frequency Frequency `json:"frequency"`
}

// DigestJob returns the job that sends the digests of frequency freq at at.
func DigestJob(freq Frequency, at time.Time) Job {
	payload, _ := json.Marshal(digestJob{Frequency: freq})
	return Job{Kind: JobDigest, Key: "digest/" + string(freq) + "/" + at.UTC().Format(time.RFC3339), RunAt: at, Payload: string(payload)}
}

// NextDigest returns the first time strictly after after when digests of
// freq are sent: every day at DigestHour, or every Monday at DigestHour.
func (n *Network) NextDigest(freq Frequency, after time.Time) time.Time {
	loc := n.Location()
	t := after.In(loc)
	next := time.Date(t.Year(), t.Month(), t.Day(), n.cfg.Bulletin.DigestHour, 0, 0, 0, loc)
	for !next.After(after) || (freq == Weekly && next.Weekday() != time.Monday) {
		next = time.Date(next.Year(), next.Month(), next.Day()+1, n.cfg.Bulletin.DigestHour, 0, 0, 0, loc)
	}
	return next
}

// ScheduleDigests schedules the next daily and weekly digests. Scheduling
// is idempotent, so every process may call it at start.
func (n *Network) ScheduleDigests(ctx context.Context) error {
	now := n.clock.Now()
	for _, f := range []Frequency{Daily, Weekly} {
		if err := n.store.ScheduleJob(ctx, DigestJob(f, n.NextDigest(f, now))); err != nil {
			return fmt.Errorf("core: schedule %s digest: %w", f, err)
		}
	}
	return nil
}

// PostOffer records a job offer posted in chat by poster in room (the zero
// Room for a direct message: the default community) and schedules its
// announcement and the reminder before it closes.
func (n *Network) PostOffer(ctx context.Context, poster Identity, displayName string, room Room, o Offer) (Offer, error) {
	now := n.clock.Now()
	person, err := n.store.EnsurePerson(ctx, poster, displayName, now)
	if err != nil {
		return Offer{}, fmt.Errorf("core: post offer: %w", err)
	}
	o.Poster, o.Posted, o.Updated, o.Source, o.SourceID = person.ID, now, now, "", ""
	if err := o.Normalize(); err != nil {
		return Offer{}, err
	}
	if !o.Closes.IsZero() && !o.Closes.After(now) {
		return Offer{}, fieldErr("closes", "already past")
	}
	if o.Community, err = n.store.EnsureRoom(ctx, room, now); err != nil {
		return Offer{}, fmt.Errorf("core: post offer: %w", err)
	}
	if err := n.mayPost(ctx, poster, o.Community); err != nil {
		return Offer{}, err
	}
	err = n.store.InTx(ctx, func(tx Store) error {
		var err error
		if o, err = tx.CreateOffer(ctx, o); err != nil {
			return err
		}
		return n.scheduleOffer(ctx, tx, o, now)
	})
	if err != nil {
		return Offer{}, fmt.Errorf("core: post offer: %w", err)
	}
	return o, nil
}

func (n *Network) scheduleOffer(ctx context.Context, tx Store, o Offer, now time.Time) error {
	if err := tx.ScheduleJob(ctx, AnnounceJob(KindOffer, int64(o.ID), now)); err != nil {
		return err
	}
	if o.Closes.IsZero() {
		return nil
	}
	at := o.Closes.Add(-n.cfg.Bulletin.OfferReminder)
	if at.Before(now) {
		return nil
	}
	return tx.ScheduleJob(ctx, ItemReminderJob(KindOffer, int64(o.ID), o.Closes, at))
}

// ImportOffer records an offer read from a feed into community (0 for the
// default one): a new entry is stored and announced; an entry already
// imported is updated when it changed, and never announced twice. created
// tells which happened.
func (n *Network) ImportOffer(ctx context.Context, community CommunityID, o Offer) (stored Offer, created bool, err error) {
	now := n.clock.Now()
	if o.Source == "" || o.SourceID == "" {
		return Offer{}, false, fmt.Errorf("core: import offer: %w: no source or entry id", ErrInvalid)
	}
	if o.Posted.IsZero() {
		o.Posted = now
	}
	o.Poster, o.Updated = 0, now
	if err := o.Normalize(); err != nil {
		return Offer{}, false, err
	}
	err = n.store.InTx(ctx, func(tx Store) error {
		if community == 0 {
			if community, err = tx.EnsureRoom(ctx, Room{}, now); err != nil {
				return err
			}
		}
		old, err := tx.OfferBySource(ctx, o.Source, o.SourceID)
		if errors.Is(err, ErrNotFound) {
			o.Community = community
			if stored, err = tx.CreateOffer(ctx, o); err != nil {
				return err
			}
			created = true
			return n.scheduleOffer(ctx, tx, stored, now)
		}
		if err != nil {
			return err
		}
		o.ID, o.Community, o.Posted = old.ID, old.Community, old.Posted
		if err := o.Normalize(); err != nil {
			return err
		}
		if sameOffer(old, o) {
			stored = old
			return nil
		}
		if err := tx.UpdateOffer(ctx, o); err != nil {
			return err
		}
		stored = o
		if !o.Closes.Equal(old.Closes) && !o.Closes.IsZero() && o.Closes.Add(-n.cfg.Bulletin.OfferReminder).After(now) {
			return tx.ScheduleJob(ctx, ItemReminderJob(KindOffer, int64(o.ID), o.Closes, o.Closes.Add(-n.cfg.Bulletin.OfferReminder)))
		}
		return nil
	})
	if err != nil {
		return Offer{}, false, fmt.Errorf("core: import offer %q: %w", o.SourceID, err)
	}
	return stored, created, nil
}

func sameOffer(a, b Offer) bool {
	a.Updated, b.Updated = time.Time{}, time.Time{}
	return a.Title == b.Title && a.Employer == b.Employer && a.Location == b.Location && a.Category == b.Category &&
		a.Contract == b.Contract && a.Remote == b.Remote && a.Description == b.Description && a.Link == b.Link &&
		a.Closes.Equal(b.Closes) && a.Expires.Equal(b.Expires)
}

// PostEvent records an event posted in chat by poster in room and schedules
// its announcement and the reminder before it starts.
func (n *Network) PostEvent(ctx context.Context, poster Identity, displayName string, room Room, e Event) (Event, error) {
	now := n.clock.Now()
	person, err := n.store.EnsurePerson(ctx, poster, displayName, now)
	if err != nil {
		return Event{}, fmt.Errorf("core: post event: %w", err)
	}
	e.Poster, e.Posted, e.Updated, e.Source, e.SourceID = person.ID, now, now, "", ""
	if err := e.Normalize(); err != nil {
		return Event{}, err
	}
	if !e.End.After(now) {
		return Event{}, fieldErr("start", "already past")
	}
	if e.Community, err = n.store.EnsureRoom(ctx, room, now); err != nil {
		return Event{}, fmt.Errorf("core: post event: %w", err)
	}
	if err := n.mayPost(ctx, poster, e.Community); err != nil {
		return Event{}, err
	}
	err = n.store.InTx(ctx, func(tx Store) error {
		var err error
		if e, err = tx.CreateEvent(ctx, e); err != nil {
			return err
		}
		return n.scheduleEvent(ctx, tx, e, now, true)
	})
	if err != nil {
		return Event{}, fmt.Errorf("core: post event: %w", err)
	}
	return e, nil
}

func (n *Network) scheduleEvent(ctx context.Context, tx Store, e Event, now time.Time, announce bool) error {
	if announce {
		if err := tx.ScheduleJob(ctx, AnnounceJob(KindEvent, int64(e.ID), now)); err != nil {
			return err
		}
	}
	at := e.Start.Add(-n.cfg.Bulletin.EventReminder)
	if at.Before(now) {
		return nil
	}
	return tx.ScheduleJob(ctx, ItemReminderJob(KindEvent, int64(e.ID), e.Start, at))
}

// ImportEvent records an event (or one occurrence of a recurring event)
// read from a calendar into community (0 for the default one), like
// ImportOffer.
func (n *Network) ImportEvent(ctx context.Context, community CommunityID, e Event) (stored Event, created bool, err error) {
	now := n.clock.Now()
	if e.Source == "" || e.SourceID == "" {
		return Event{}, false, fmt.Errorf("core: import event: %w: no source or entry id", ErrInvalid)
	}
	if e.Posted.IsZero() {
		e.Posted = now
	}
	e.Poster, e.Updated = 0, now
	if err := e.Normalize(); err != nil {
		return Event{}, false, err
	}
	err = n.store.InTx(ctx, func(tx Store) error {
		if community == 0 {
			if community, err = tx.EnsureRoom(ctx, Room{}, now); err != nil {
				return err
			}
		}
		old, err := tx.EventBySource(ctx, e.Source, e.SourceID)
		if errors.Is(err, ErrNotFound) {
			e.Community = community
			if stored, err = tx.CreateEvent(ctx, e); err != nil {
				return err
			}
			created = true
			// An event already over is kept for the calendar, not announced.
			return n.scheduleEvent(ctx, tx, stored, now, stored.End.After(now))
		}
		if err != nil {
			return err
		}
		e.ID, e.Community, e.Posted, e.Capacity = old.ID, old.Community, old.Posted, old.Capacity
		if sameEvent(old, e) {
			stored = old
			return nil
		}
		if err := tx.UpdateEvent(ctx, e); err != nil {
			return err
		}
		stored = e
		if !e.Start.Equal(old.Start) {
			return n.scheduleEvent(ctx, tx, e, now, false)
		}
		return nil
	})
	if err != nil {
		return Event{}, false, fmt.Errorf("core: import event %q: %w", e.SourceID, err)
	}
	return stored, created, nil
}

func sameEvent(a, b Event) bool {
	return a.Title == b.Title && a.Organiser == b.Organiser && a.Start.Equal(b.Start) && a.End.Equal(b.End) &&
		a.TimeZone == b.TimeZone && a.Place == b.Place && a.Link == b.Link && a.Description == b.Description
}

// Offers returns up to limit offers still open in the community of room
// that match filter, newest first.
func (n *Network) Offers(ctx context.Context, room Room, filter Filter, limit int) ([]Offer, error) {
	now := n.clock.Now()
	community, err := n.store.EnsureRoom(ctx, room, now)
	if err != nil {
		return nil, fmt.Errorf("core: offers: %w", err)
	}
	all, err := n.store.OpenOffers(ctx, community, now, 1000)
	if err != nil {
		return nil, fmt.Errorf("core: offers: %w", err)
	}
	var out []Offer
	for _, o := range all {
		if filter.Matches(o.Fields()) {
			out = append(out, o)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// Events returns up to limit events of the community of room not over yet
// and starting within a year that match filter, by start.
func (n *Network) Events(ctx context.Context, room Room, filter Filter, limit int) ([]Event, error) {
	now := n.clock.Now()
	community, err := n.store.EnsureRoom(ctx, room, now)
	if err != nil {
		return nil, fmt.Errorf("core: events: %w", err)
	}
	all, err := n.store.EventsBetween(ctx, community, now, now.AddDate(1, 0, 0), 1000)
	if err != nil {
		return nil, fmt.Errorf("core: events: %w", err)
	}
	var out []Event
	for _, e := range all {
		if filter.Matches(e.Fields()) {
			out = append(out, e)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// Calendar returns the events of every community between from and to, by
// start, for a subscribable calendar.
func (n *Network) Calendar(ctx context.Context, from, to time.Time) ([]Event, error) {
	return n.store.EventsBetween(ctx, 0, from, to, 5000)
}

// CountRSVPs counts the answers to an event.
func CountRSVPs(rsvps []RSVP) RSVPCounts {
	var c RSVPCounts
	for _, r := range rsvps {
		switch r.Status {
		case RSVPGoing:
			c.Going++
		case RSVPMaybe:
			c.Maybe++
		case RSVPNo:
			c.No++
		}
	}
	return c
}

// RSVPed is the outcome of an answer to an event: the event and its counts.
type RSVPed struct {
	Event  Event
	Counts RSVPCounts
}

// RSVP records who's answer to event id. Saying "going" to a full event
// fails with ErrConflict, and so does answering an event that is over.
func (n *Network) RSVP(ctx context.Context, who Identity, displayName string, id EventID, status RSVPStatus) (RSVPed, error) {
	if status != RSVPGoing && status != RSVPMaybe && status != RSVPNo {
		return RSVPed{}, fmt.Errorf("%w: answer %q", ErrInvalid, status)
	}
	now := n.clock.Now()
	var out RSVPed
	err := n.store.InTx(ctx, func(tx Store) error {
		person, e, rsvps, err := openEvent(ctx, tx, who, displayName, id, now)
		if err != nil {
			return err
		}
		if status == RSVPGoing && e.Capacity > 0 {
			going := 0
			for _, r := range rsvps {
				if r.Status == RSVPGoing && r.Person != person.ID {
					going++
				}
			}
			if going >= e.Capacity {
				return &FullError{Event: id, Capacity: e.Capacity}
			}
		}
		if err := tx.SetRSVP(ctx, RSVP{Event: id, Person: person.ID, Status: status, At: now}); err != nil {
			return err
		}
		if rsvps, err = tx.RSVPs(ctx, id); err != nil {
			return err
		}
		out = RSVPed{Event: e, Counts: CountRSVPs(rsvps)}
		return nil
	})
	if err != nil {
		return RSVPed{}, fmt.Errorf("core: rsvp: %w", err)
	}
	return out, nil
}

// WithdrawRSVP takes back who's answer status to event id: they are then
// not going, but only if their answer is still status (someone who took
// back "going" after answering "maybe" stays "maybe"). changed says
// whether it was. An event that is over fails with ErrConflict.
func (n *Network) WithdrawRSVP(ctx context.Context, who Identity, displayName string, id EventID, status RSVPStatus) (out RSVPed, changed bool, err error) {
	now := n.clock.Now()
	err = n.store.InTx(ctx, func(tx Store) error {
		person, e, rsvps, err := openEvent(ctx, tx, who, displayName, id, now)
		if err != nil {
			return err
		}
		for _, r := range rsvps {
			if r.Person == person.ID && r.Status == status && status != RSVPNo {
				if err := tx.SetRSVP(ctx, RSVP{Event: id, Person: person.ID, Status: RSVPNo, At: now}); err != nil {
					return err
				}
				if rsvps, err = tx.RSVPs(ctx, id); err != nil {
					return err
				}
				changed = true
				break
			}
		}
		out = RSVPed{Event: e, Counts: CountRSVPs(rsvps)}
		return nil
	})
	if err != nil {
		return RSVPed{}, false, fmt.Errorf("core: withdraw rsvp: %w", err)
	}
	return out, changed, nil
}

// openEvent reads, in tx, who answering event id and the answers it has;
// an event that is over fails with ErrConflict.
func openEvent(ctx context.Context, tx Store, who Identity, displayName string, id EventID, now time.Time) (Person, Event, []RSVP, error) {
	person, err := tx.EnsurePerson(ctx, who, displayName, now)
	if err != nil {
		return Person{}, Event{}, nil, err
	}
	e, err := tx.Event(ctx, id)
	if err != nil {
		return Person{}, Event{}, nil, err
	}
	if !e.End.After(now) {
		return Person{}, Event{}, nil, fmt.Errorf("%w: event %d is over", ErrConflict, id)
	}
	rsvps, err := tx.RSVPs(ctx, id)
	return person, e, rsvps, err
}

// FullError says that an event has no seat left.
type FullError struct {
	Event    EventID
	Capacity int
}

// Error describes the problem.
func (e *FullError) Error() string {
	return fmt.Sprintf("conflict: event %d is full (%d seats)", e.Event, e.Capacity)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *FullError) Unwrap() error { return ErrConflict }

// SaveOffer keeps offer id for who, who will be reminded before it closes.
// A closed offer fails with ErrConflict.
func (n *Network) SaveOffer(ctx context.Context, who Identity, displayName string, id OfferID) (Offer, error) {
	now := n.clock.Now()
	var o Offer
	err := n.store.InTx(ctx, func(tx Store) error {
		person, err := tx.EnsurePerson(ctx, who, displayName, now)
		if err != nil {
			return err
		}
		if o, err = tx.Offer(ctx, id); err != nil {
			return err
		}
		if !o.OpenAt(now) {
			return fmt.Errorf("%w: offer %d is closed", ErrConflict, id)
		}
		return tx.SaveOffer(ctx, id, person.ID, now)
	})
	if err != nil {
		return Offer{}, fmt.Errorf("core: save offer: %w", err)
	}
	return o, nil
}

// Subscribe records that who wants to hear of new items of kind ("" for
// both) matching filter at frequency freq. The same subscription twice
// fails with ErrConflict, and so does one more than MaxSubscriptions.
func (n *Network) Subscribe(ctx context.Context, who Identity, displayName string, kind ItemKind, filter Filter, freq Frequency) (Subscription, error) {
	if !freq.Valid() {
		return Subscription{}, fmt.Errorf("%w: frequency %q", ErrInvalid, freq)
	}
	if kind != "" && kind != KindOffer && kind != KindEvent {
		return Subscription{}, fmt.Errorf("%w: kind %q", ErrInvalid, kind)
	}
	now := n.clock.Now()
	var sub Subscription
	err := n.store.InTx(ctx, func(tx Store) error {
		person, err := tx.EnsurePerson(ctx, who, displayName, now)
		if err != nil {
			return err
		}
		subs, err := tx.Subscriptions(ctx, person.ID)
		if err != nil {
			return err
		}
		for _, s := range subs {
			if s.Kind == kind && s.Filter.String() == filter.String() {
				if s.Frequency == freq {
					return fmt.Errorf("%w: already subscribed (%d)", ErrConflict, s.ID)
				}
				// A new frequency for the same filter replaces the old one.
				if err := tx.DeleteSubscription(ctx, person.ID, s.ID); err != nil {
					return err
				}
				subs = nil
			}
		}
		if len(subs) >= MaxSubscriptions {
			return fmt.Errorf("%w: at most %d subscriptions", ErrConflict, MaxSubscriptions)
		}
		sub, err = tx.CreateSubscription(ctx, Subscription{Person: person.ID, Kind: kind, Filter: filter, Frequency: freq, Created: now})
		return err
	})
	if err != nil {
		return Subscription{}, fmt.Errorf("core: subscribe: %w", err)
	}
	return sub, nil
}

// Unsubscribe removes one of who's subscriptions, or all of them when id
// is 0, and returns how many were removed.
func (n *Network) Unsubscribe(ctx context.Context, who Identity, id SubscriptionID) (int, error) {
	person, err := n.store.PersonByIdentity(ctx, who)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("core: unsubscribe: %w", err)
	}
	if id != 0 {
		if err := n.store.DeleteSubscription(ctx, person.ID, id); err != nil {
			return 0, fmt.Errorf("core: unsubscribe: %w", err)
		}
		return 1, nil
	}
	removed := 0
	err = n.store.InTx(ctx, func(tx Store) error {
		subs, err := tx.Subscriptions(ctx, person.ID)
		if err != nil {
			return err
		}
		for _, s := range subs {
			if err := tx.DeleteSubscription(ctx, person.ID, s.ID); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("core: unsubscribe: %w", err)
	}
	return removed, nil
}

// Subscriptions returns who's subscriptions.
func (n *Network) Subscriptions(ctx context.Context, who Identity) ([]Subscription, error) {
	person, err := n.store.PersonByIdentity(ctx, who)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("core: subscriptions: %w", err)
	}
	return n.store.Subscriptions(ctx, person.ID)
}

// SetAnnounce says which kinds of items are announced in room (none when
// kinds is empty).
func (n *Network) SetAnnounce(ctx context.Context, room Room, kinds []ItemKind) error {
	if err := n.store.SetRoomAnnounce(ctx, room, kinds, n.clock.Now()); err != nil {
		return fmt.Errorf("core: announce: %w", err)
	}
	return nil
}

// Posting says who may post offers and events in a community.
type Posting string

// Who may post.
const (
	// PostingAnyone lets every member post (the default).
	PostingAnyone Posting = "anyone"
	// PostingAnimators keeps posting to the community's animators and
	// administrators; feeds and calendars still bring their items.
	PostingAnimators Posting = "animators"
)

// Valid reports whether p is a known setting.
func (p Posting) Valid() bool { return p == PostingAnyone || p == PostingAnimators }

// ErrPostingRestricted is returned (wrapping ErrForbidden) to someone who
// may not post offers or events in a community that keeps posting to its
// animators.
var ErrPostingRestricted = fmt.Errorf("%w: posting is kept to the animators", ErrForbidden)

// SetPostingBy says who may post offers and events in room's community, on
// behalf of who: an animator or administrator of that community. It fails
// with ErrForbidden otherwise, and with ErrInvalid for an unknown setting.
func (n *Network) SetPostingBy(ctx context.Context, who Identity, room Room, p Posting) (CommunityID, error) {
	if !p.Valid() {
		return 0, fmt.Errorf("core: posting: %w: %q", ErrInvalid, p)
	}
	community, err := n.CommunityOf(ctx, room)
	if err != nil {
		return 0, fmt.Errorf("core: posting: %w", err)
	}
	ok, err := n.CanAnimate(ctx, who, community)
	if err != nil {
		return 0, fmt.Errorf("core: posting: %w", err)
	}
	if !ok {
		return 0, fmt.Errorf("core: posting: %w: %s animates no community of %s", ErrForbidden, who, room.ID)
	}
	if err := n.store.SetPosting(ctx, community, p, n.clock.Now()); err != nil {
		return 0, fmt.Errorf("core: posting: %w", err)
	}
	return community, nil
}

// mayPost checks that poster may post an item in community: anyone may,
// unless the community keeps posting to its animators and has some.
func (n *Network) mayPost(ctx context.Context, poster Identity, community CommunityID) error {
	p, err := n.store.PostingOf(ctx, community)
	if err != nil || p != PostingAnimators {
		return err
	}
	ok, err := n.CanAnimate(ctx, poster, community)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	// With no animator left to post, the restriction would stop everyone.
	animators, err := n.Animators(ctx, community)
	if err != nil || len(animators) == 0 && len(n.cfg.Admins) == 0 {
		return err
	}
	return fmt.Errorf("core: post: %w", ErrPostingRestricted)
}

// SetAnnounceBy sets what room announces on behalf of who: an animator or
// administrator of the room's community, or anyone while the community has
// neither (and no administrator is configured), so that a new network can
// start before anyone is given a role. It fails with ErrForbidden
// otherwise.
func (n *Network) SetAnnounceBy(ctx context.Context, who Identity, room Room, kinds []ItemKind) error {
	community, err := n.CommunityOf(ctx, room)
	if err != nil {
		return fmt.Errorf("core: announce: %w", err)
	}
	ok, err := n.CanAnimate(ctx, who, community)
	if err != nil {
		return fmt.Errorf("core: announce: %w", err)
	}
	if !ok {
		animators, err := n.Animators(ctx, community)
		if err != nil {
			return fmt.Errorf("core: announce: %w", err)
		}
		if len(animators) > 0 || len(n.cfg.Admins) > 0 {
			return fmt.Errorf("core: announce: %w: %s animates no community of %s", ErrForbidden, who, room.ID)
		}
	}
	return n.SetAnnounce(ctx, room, kinds)
}

// Item is an offer or an event.
type Item struct {
	Kind  ItemKind
	Offer Offer
	Event Event
}

// ID returns the item's id.
func (it Item) ID() int64 {
	if it.Kind == KindOffer {
		return int64(it.Offer.ID)
	}
	return int64(it.Event.ID)
}

// Fields returns the text filters look at.
func (it Item) Fields() ItemFields {
	if it.Kind == KindOffer {
		return it.Offer.Fields()
	}
	return it.Event.Fields()
}

// Community returns the item's community.
func (it Item) Community() CommunityID {
	if it.Kind == KindOffer {
		return it.Offer.Community
	}
	return it.Event.Community
}

func (n *Network) item(ctx context.Context, s Store, kind ItemKind, id int64) (Item, error) {
	switch kind {
	case KindOffer:
		o, err := s.Offer(ctx, OfferID(id))
		return Item{Kind: kind, Offer: o}, err
	case KindEvent:
		e, err := s.Event(ctx, EventID(id))
		return Item{Kind: kind, Event: e}, err
	}
	return Item{}, fmt.Errorf("%w: item kind %q", ErrInvalid, kind)
}

// Announcement is what a JobAnnounce job does: the item, the rooms where it
// is announced, and the subscribers told of it at once. Item.Kind is empty
// when there is nothing to announce any more (the offer closed, the event
// is over).
type Announcement struct {
	Item        Item
	Rooms       []Room
	Subscribers []Person
}

// Announce runs a JobAnnounce job: it picks the rooms of the item's
// community that announce its kind and the immediate subscribers it
// matches who are within their notice budget, and records that they were
// told. The job runs in a transaction with the sending of its messages, so
// notices are recorded exactly when the messages are queued.
func (n *Network) Announce(ctx context.Context, j Job) (Announcement, error) {
	p, err := parseItemJob(j, JobAnnounce)
	if err != nil {
		return Announcement{}, err
	}
	now := n.clock.Now()
	it, err := n.item(ctx, n.store, p.Kind, p.ID)
	if errors.Is(err, ErrNotFound) {
		return Announcement{}, nil
	}
	if err != nil {
		return Announcement{}, fmt.Errorf("core: announce: %w", err)
	}
	if (it.Kind == KindOffer && !it.Offer.OpenAt(now)) || (it.Kind == KindEvent && !it.Event.End.After(now)) {
		return Announcement{}, nil
	}
	rooms, err := n.store.AnnounceRooms(ctx, it.Community(), it.Kind)
	if err != nil {
		return Announcement{}, fmt.Errorf("core: announce: %w", err)
	}
	out := Announcement{Item: it, Rooms: rooms}
	subs, err := n.store.Subscriptions(ctx, 0, Immediately)
	if err != nil {
		return Announcement{}, fmt.Errorf("core: announce: %w", err)
	}
	told := map[PersonID]bool{}
	poster := it.Offer.Poster
	if it.Kind == KindEvent {
		poster = it.Event.Poster
	}
	for _, s := range subs {
		if told[s.Person] || s.Person == poster || !s.Matches(it.Kind, it.Fields()) {
			continue
		}
		told[s.Person] = true
		count, err := n.store.CountNotices(ctx, s.Person, now.Add(-24*time.Hour))
		if err != nil {
			return Announcement{}, fmt.Errorf("core: announce: %w", err)
		}
		if count >= n.cfg.Bulletin.NoticeBudget {
			continue // the next daily digest tells them
		}
		added, err := n.store.AddNotice(ctx, Notice{Person: s.Person, Kind: it.Kind, Item: it.ID(), At: now})
		if err != nil {
			return Announcement{}, fmt.Errorf("core: announce: %w", err)
		}
		if !added {
			continue
		}
		person, err := n.store.Person(ctx, s.Person)
		if err != nil {
			return Announcement{}, fmt.Errorf("core: announce: %w", err)
		}
		out.Subscribers = append(out.Subscribers, person)
	}
	return out, nil
}

// ItemReminder is what a JobItemReminder job does: the people to remind of
// an event about to start (who answered going or maybe) or of an offer
// about to close (who saved it). Item.Kind is empty when the reminder is
// stale (the time changed, the item is gone).
type ItemReminder struct {
	Item   Item
	People []Person
}

// RemindItem runs a JobItemReminder job.
func (n *Network) RemindItem(ctx context.Context, j Job) (ItemReminder, error) {
	p, err := parseItemJob(j, JobItemReminder)
	if err != nil {
		return ItemReminder{}, err
	}
	it, err := n.item(ctx, n.store, p.Kind, p.ID)
	if errors.Is(err, ErrNotFound) {
		return ItemReminder{}, nil
	}
	if err != nil {
		return ItemReminder{}, fmt.Errorf("core: remind: %w", err)
	}
	var ids []PersonID
	switch it.Kind {
	case KindOffer:
		if !it.Offer.Closes.Equal(p.At) {
			return ItemReminder{}, nil
		}
		if ids, err = n.store.OfferSavers(ctx, it.Offer.ID); err != nil {
			return ItemReminder{}, fmt.Errorf("core: remind: %w", err)
		}
	case KindEvent:
		if !it.Event.Start.Equal(p.At) {
			return ItemReminder{}, nil
		}
		rsvps, err := n.store.RSVPs(ctx, it.Event.ID)
		if err != nil {
			return ItemReminder{}, fmt.Errorf("core: remind: %w", err)
		}
		for _, r := range rsvps {
			if r.Status == RSVPGoing || r.Status == RSVPMaybe {
				ids = append(ids, r.Person)
			}
		}
	}
	out := ItemReminder{Item: it}
	for _, id := range ids {
		person, err := n.store.Person(ctx, id)
		if err != nil {
			return ItemReminder{}, fmt.Errorf("core: remind: %w", err)
		}
		out.People = append(out.People, person)
	}
	return out, nil
}

// Digest is what one subscriber hears of in a daily or weekly digest.
type Digest struct {
	Person Person
	Items  []Item
}

// MaxDigestItems bounds the items of one digest; the others are counted.
const MaxDigestItems = 10

// Digests runs a JobDigest job: for every subscription of the job's
// frequency (daily digests also carry what immediate subscribers could not
// hear of within their budget), the items posted since the previous digest
// that match and that the subscriber has not heard of, recorded as told.
// It also schedules the next digest of the same frequency.
func (n *Network) Digests(ctx context.Context, j Job) (Frequency, []Digest, error) {
	var p digestJob
	if j.Kind != JobDigest {
		return "", nil, fmt.Errorf("%w: job %s is not a digest", ErrInvalid, j.Key)
	}
	if err := json.Unmarshal([]byte(j.Payload), &p); err != nil || (p.Frequency != Daily && p.Frequency != Weekly) {
		return "", nil, fmt.Errorf("%w: digest job %s: payload %q", ErrInvalid, j.Key, j.Payload)
	}
	now := n.clock.Now()
	if err := n.store.ScheduleJob(ctx, DigestJob(p.Frequency, n.NextDigest(p.Frequency, maxTime(now, j.RunAt)))); err != nil {
		return "", nil, fmt.Errorf("core: digest: %w", err)
	}
	period := 24 * time.Hour
	freqs := []Frequency{Daily, Immediately}
	if p.Frequency == Weekly {
		period, freqs = 7*24*time.Hour, []Frequency{Weekly}
	}
	// Two periods back: a digest that ran late (the process was down) does
	// not leave a gap; notices keep anyone from hearing of an item twice.
	since := j.RunAt.Add(-2 * period)
	subs, err := n.store.Subscriptions(ctx, 0, freqs...)
	if err != nil {
		return "", nil, fmt.Errorf("core: digest: %w", err)
	}
	if len(subs) == 0 {
		return p.Frequency, nil, nil
	}
	offers, err := n.store.OffersPostedSince(ctx, since, now)
	if err != nil {
		return "", nil, fmt.Errorf("core: digest: %w", err)
	}
	events, err := n.store.EventsPostedSince(ctx, since, now)
	if err != nil {
		return "", nil, fmt.Errorf("core: digest: %w", err)
	}
	var items []Item
	for _, o := range offers {
		items = append(items, Item{Kind: KindOffer, Offer: o})
	}
	for _, e := range events {
		items = append(items, Item{Kind: KindEvent, Event: e})
	}
	byPerson := map[PersonID][]Subscription{}
	var people []PersonID
	for _, s := range subs {
		if byPerson[s.Person] == nil {
			people = append(people, s.Person)
		}
		byPerson[s.Person] = append(byPerson[s.Person], s)
	}
	sort.Slice(people, func(a, b int) bool { return people[a] < people[b] })
	var out []Digest
	for _, id := range people {
		var mine []Item
		for _, it := range items {
			wanted := false
			for _, s := range byPerson[id] {
				if s.Matches(it.Kind, it.Fields()) && !s.Created.After(it.posted().Add(period)) {
					wanted = true
					break
				}
			}
			if !wanted || it.poster() == id {
				continue
			}
			added, err := n.store.AddNotice(ctx, Notice{Person: id, Kind: it.Kind, Item: it.ID(), Digest: true, At: now})
			if err != nil {
				return "", nil, fmt.Errorf("core: digest: %w", err)
			}
			if added {
				mine = append(mine, it)
			}
		}
		if len(mine) == 0 {
			continue
		}
		person, err := n.store.Person(ctx, id)
		if err != nil {
			return "", nil, fmt.Errorf("core: digest: %w", err)
		}
		out = append(out, Digest{Person: person, Items: mine})
	}
	return p.Frequency, out, nil
}

func (it Item) posted() time.Time {
	if it.Kind == KindOffer {
		return it.Offer.Posted
	}
	return it.Event.Posted
}

func (it Item) poster() PersonID {
	if it.Kind == KindOffer {
		return it.Offer.Poster
	}
	return it.Event.Poster
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
