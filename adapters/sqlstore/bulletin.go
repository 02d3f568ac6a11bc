package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"entraide/core"
)

// SetRoomAnnounce implements core.Store.
func (s *Store) SetRoomAnnounce(ctx context.Context, room core.Room, kinds []core.ItemKind, at time.Time) error {
	if room.ID == "" {
		return fmt.Errorf("sqlstore: announce: %w: a direct conversation is not a room", core.ErrInvalid)
	}
	if _, err := s.EnsureRoom(ctx, room, at); err != nil {
		return err
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	if _, err := s.exec(ctx, "UPDATE rooms SET announce = ? WHERE platform = ? AND room_id = ?",
		strings.Join(names, ","), string(room.Platform), room.ID); err != nil {
		return fmt.Errorf("sqlstore: announce in %s %s: %w", room.Platform, room.ID, err)
	}
	return nil
}

// AnnounceRooms implements core.Store.
func (s *Store) AnnounceRooms(ctx context.Context, community core.CommunityID, kind core.ItemKind) ([]core.Room, error) {
	var rows []struct {
		Platform string `db:"platform"`
		Room     string `db:"room_id"`
		Announce string `db:"announce"`
	}
	if err := s.selectAll(ctx, &rows, `SELECT platform, room_id, announce FROM rooms
		WHERE community_id = ? AND announce <> '' ORDER BY platform, room_id`, int64(community)); err != nil {
		return nil, fmt.Errorf("sqlstore: announce rooms: %w", err)
	}
	var out []core.Room
	for _, r := range rows {
		for _, k := range strings.Split(r.Announce, ",") {
			if core.ItemKind(k) == kind {
				out = append(out, core.Room{Platform: core.Platform(r.Platform), ID: r.Room})
			}
		}
	}
	return out, nil
}

type offerRow struct {
	ID          int64         `db:"id"`
	CommunityID int64         `db:"community_id"`
	Source      string        `db:"source"`
	SourceID    string        `db:"source_id"`
	PosterID    sql.NullInt64 `db:"poster_id"`
	Title       string        `db:"title"`
	Employer    string        `db:"employer"`
	Location    string        `db:"location"`
	Category    string        `db:"category"`
	Contract    string        `db:"contract"`
	Remote      string        `db:"remote"`
	Description string        `db:"description"`
	Link        string        `db:"link"`
	ClosesAt    sql.NullTime  `db:"closes_at"`
	ExpiresAt   time.Time     `db:"expires_at"`
	PostedAt    time.Time     `db:"posted_at"`
	UpdatedAt   time.Time     `db:"updated_at"`
}

func (r offerRow) offer() core.Offer {
	o := core.Offer{
		ID: core.OfferID(r.ID), Community: core.CommunityID(r.CommunityID), Source: r.Source, SourceID: r.SourceID,
		Poster: core.PersonID(r.PosterID.Int64), Title: r.Title, Employer: r.Employer, Location: r.Location,
		Category: r.Category, Contract: r.Contract, Remote: core.Remote(r.Remote), Description: r.Description,
		Link: r.Link, Expires: r.ExpiresAt.UTC(), Posted: r.PostedAt.UTC(), Updated: r.UpdatedAt.UTC(),
	}
	if r.ClosesAt.Valid {
		o.Closes = r.ClosesAt.Time.UTC()
	}
	return o
}

const selectOffer = `SELECT id, community_id, source, source_id, poster_id, title, employer, location, category,
	contract, remote, description, link, closes_at, expires_at, posted_at, updated_at FROM offers`

// nullID stores the zero id as NULL.
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// CreateOffer implements core.Store.
func (s *Store) CreateOffer(ctx context.Context, o core.Offer) (core.Offer, error) {
	o.Posted, o.Updated, o.Expires = ts(o.Posted), ts(o.Updated), ts(o.Expires)
	if o.Updated.IsZero() {
		o.Updated = o.Posted
	}
	var ids []int64
	err := s.selectAll(ctx, &ids, `INSERT INTO offers (community_id, source, source_id, poster_id, title, employer,
		location, category, contract, remote, description, link, closes_at, expires_at, posted_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (source, source_id) WHERE source <> '' DO NOTHING RETURNING id`,
		int64(o.Community), o.Source, o.SourceID, nullID(int64(o.Poster)), o.Title, o.Employer, o.Location,
		o.Category, o.Contract, string(o.Remote), o.Description, o.Link, nullTime(o.Closes), o.Expires, o.Posted, o.Updated)
	if err != nil {
		return core.Offer{}, fmt.Errorf("sqlstore: create offer: %w", err)
	}
	if len(ids) == 0 {
		return core.Offer{}, fmt.Errorf("sqlstore: create offer: %w: %s entry %q already imported", core.ErrConflict, o.Source, o.SourceID)
	}
	o.ID = core.OfferID(ids[0])
	return o, nil
}

// UpdateOffer implements core.Store.
func (s *Store) UpdateOffer(ctx context.Context, o core.Offer) error {
	res, err := s.exec(ctx, `UPDATE offers SET title = ?, employer = ?, location = ?, category = ?, contract = ?,
		remote = ?, description = ?, link = ?, closes_at = ?, expires_at = ?, updated_at = ? WHERE id = ?`,
		o.Title, o.Employer, o.Location, o.Category, o.Contract, string(o.Remote), o.Description, o.Link,
		nullTime(o.Closes), ts(o.Expires), ts(o.Updated), int64(o.ID))
	if err != nil {
		return fmt.Errorf("sqlstore: update offer %d: %w", o.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: update offer %d: %w", o.ID, core.ErrNotFound)
	}
	return nil
}

// Offer implements core.Store.
func (s *Store) Offer(ctx context.Context, id core.OfferID) (core.Offer, error) {
	var r offerRow
	if err := s.get(ctx, &r, selectOffer+" WHERE id = ?", int64(id)); err != nil {
		return core.Offer{}, notFound(err, fmt.Sprintf("sqlstore: offer %d", id))
	}
	return r.offer(), nil
}

// OfferBySource implements core.Store.
func (s *Store) OfferBySource(ctx context.Context, source, sourceID string) (core.Offer, error) {
	var r offerRow
	if err := s.get(ctx, &r, selectOffer+" WHERE source = ? AND source_id = ? AND source <> ''", source, sourceID); err != nil {
		return core.Offer{}, notFound(err, fmt.Sprintf("sqlstore: offer %q from %s", sourceID, source))
	}
	return r.offer(), nil
}

func offers(rows []offerRow) []core.Offer {
	out := make([]core.Offer, len(rows))
	for i, r := range rows {
		out[i] = r.offer()
	}
	return out
}

// OpenOffers implements core.Store.
func (s *Store) OpenOffers(ctx context.Context, community core.CommunityID, at time.Time, limit int) ([]core.Offer, error) {
	query, args := selectOffer+" WHERE expires_at > ?", []any{ts(at)}
	if community != 0 {
		query, args = query+" AND community_id = ?", append(args, int64(community))
	}
	var rows []offerRow
	if err := s.selectAll(ctx, &rows, query+" ORDER BY posted_at DESC, id DESC LIMIT ?", append(args, limit)...); err != nil {
		return nil, fmt.Errorf("sqlstore: open offers: %w", err)
	}
	return offers(rows), nil
}

// OffersPostedSince implements core.Store.
func (s *Store) OffersPostedSince(ctx context.Context, since, at time.Time) ([]core.Offer, error) {
	var rows []offerRow
	if err := s.selectAll(ctx, &rows, selectOffer+" WHERE posted_at >= ? AND expires_at > ? ORDER BY posted_at, id",
		ts(since), ts(at)); err != nil {
		return nil, fmt.Errorf("sqlstore: offers since %s: %w", since.Format(time.RFC3339), err)
	}
	return offers(rows), nil
}

// SaveOffer implements core.Store.
func (s *Store) SaveOffer(ctx context.Context, offer core.OfferID, person core.PersonID, at time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO offer_saves (offer_id, person_id, saved_at) VALUES (?, ?, ?)
		ON CONFLICT (offer_id, person_id) DO NOTHING`, int64(offer), int64(person), ts(at)); err != nil {
		return fmt.Errorf("sqlstore: save offer %d: %w", offer, err)
	}
	return nil
}

// OfferSavers implements core.Store.
func (s *Store) OfferSavers(ctx context.Context, offer core.OfferID) ([]core.PersonID, error) {
	var ids []int64
	if err := s.selectAll(ctx, &ids, "SELECT person_id FROM offer_saves WHERE offer_id = ? ORDER BY person_id", int64(offer)); err != nil {
		return nil, fmt.Errorf("sqlstore: savers of offer %d: %w", offer, err)
	}
	out := make([]core.PersonID, len(ids))
	for i, id := range ids {
		out[i] = core.PersonID(id)
	}
	return out, nil
}

type eventRow struct {
	ID          int64         `db:"id"`
	CommunityID int64         `db:"community_id"`
	Source      string        `db:"source"`
	SourceID    string        `db:"source_id"`
	PosterID    sql.NullInt64 `db:"poster_id"`
	Title       string        `db:"title"`
	Organiser   string        `db:"organiser"`
	StartsAt    time.Time     `db:"starts_at"`
	EndsAt      time.Time     `db:"ends_at"`
	TimeZone    string        `db:"time_zone"`
	Place       string        `db:"place"`
	Link        string        `db:"link"`
	Description string        `db:"description"`
	Capacity    int           `db:"capacity"`
	PostedAt    time.Time     `db:"posted_at"`
	UpdatedAt   time.Time     `db:"updated_at"`
}

func (r eventRow) event() core.Event {
	return core.Event{
		ID: core.EventID(r.ID), Community: core.CommunityID(r.CommunityID), Source: r.Source, SourceID: r.SourceID,
		Poster: core.PersonID(r.PosterID.Int64), Title: r.Title, Organiser: r.Organiser, Start: r.StartsAt.UTC(),
		End: r.EndsAt.UTC(), TimeZone: r.TimeZone, Place: r.Place, Link: r.Link, Description: r.Description,
		Capacity: r.Capacity, Posted: r.PostedAt.UTC(), Updated: r.UpdatedAt.UTC(),
	}
}

const selectEvent = `SELECT id, community_id, source, source_id, poster_id, title, organiser, starts_at, ends_at,
	time_zone, place, link, description, capacity, posted_at, updated_at FROM events`

// CreateEvent implements core.Store.
func (s *Store) CreateEvent(ctx context.Context, e core.Event) (core.Event, error) {
	e.Start, e.End, e.Posted, e.Updated = ts(e.Start), ts(e.End), ts(e.Posted), ts(e.Updated)
	if e.Updated.IsZero() {
		e.Updated = e.Posted
	}
	var ids []int64
	err := s.selectAll(ctx, &ids, `INSERT INTO events (community_id, source, source_id, poster_id, title, organiser,
		starts_at, ends_at, time_zone, place, link, description, capacity, posted_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (source, source_id) WHERE source <> '' DO NOTHING RETURNING id`,
		int64(e.Community), e.Source, e.SourceID, nullID(int64(e.Poster)), e.Title, e.Organiser, e.Start, e.End,
		e.TimeZone, e.Place, e.Link, e.Description, e.Capacity, e.Posted, e.Updated)
	if err != nil {
		return core.Event{}, fmt.Errorf("sqlstore: create event: %w", err)
	}
	if len(ids) == 0 {
		return core.Event{}, fmt.Errorf("sqlstore: create event: %w: %s entry %q already imported", core.ErrConflict, e.Source, e.SourceID)
	}
	e.ID = core.EventID(ids[0])
	return e, nil
}

// UpdateEvent implements core.Store.
func (s *Store) UpdateEvent(ctx context.Context, e core.Event) error {
	res, err := s.exec(ctx, `UPDATE events SET title = ?, organiser = ?, starts_at = ?, ends_at = ?, time_zone = ?,
		place = ?, link = ?, description = ?, capacity = ?, updated_at = ? WHERE id = ?`,
		e.Title, e.Organiser, ts(e.Start), ts(e.End), e.TimeZone, e.Place, e.Link, e.Description, e.Capacity,
		ts(e.Updated), int64(e.ID))
	if err != nil {
		return fmt.Errorf("sqlstore: update event %d: %w", e.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: update event %d: %w", e.ID, core.ErrNotFound)
	}
	return nil
}

// Event implements core.Store.
func (s *Store) Event(ctx context.Context, id core.EventID) (core.Event, error) {
	var r eventRow
	if err := s.get(ctx, &r, selectEvent+" WHERE id = ?", int64(id)); err != nil {
		return core.Event{}, notFound(err, fmt.Sprintf("sqlstore: event %d", id))
	}
	return r.event(), nil
}

// EventBySource implements core.Store.
func (s *Store) EventBySource(ctx context.Context, source, sourceID string) (core.Event, error) {
	var r eventRow
	if err := s.get(ctx, &r, selectEvent+" WHERE source = ? AND source_id = ? AND source <> ''", source, sourceID); err != nil {
		return core.Event{}, notFound(err, fmt.Sprintf("sqlstore: event %q from %s", sourceID, source))
	}
	return r.event(), nil
}

func events(rows []eventRow) []core.Event {
	out := make([]core.Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out
}

// EventsBetween implements core.Store.
func (s *Store) EventsBetween(ctx context.Context, community core.CommunityID, from, to time.Time, limit int) ([]core.Event, error) {
	query, args := selectEvent+" WHERE ends_at > ? AND starts_at < ?", []any{ts(from), ts(to)}
	if community != 0 {
		query, args = query+" AND community_id = ?", append(args, int64(community))
	}
	var rows []eventRow
	if err := s.selectAll(ctx, &rows, query+" ORDER BY starts_at, id LIMIT ?", append(args, limit)...); err != nil {
		return nil, fmt.Errorf("sqlstore: events: %w", err)
	}
	return events(rows), nil
}

// EventsPostedSince implements core.Store.
func (s *Store) EventsPostedSince(ctx context.Context, since, at time.Time) ([]core.Event, error) {
	var rows []eventRow
	if err := s.selectAll(ctx, &rows, selectEvent+" WHERE posted_at >= ? AND ends_at > ? ORDER BY posted_at, id",
		ts(since), ts(at)); err != nil {
		return nil, fmt.Errorf("sqlstore: events since %s: %w", since.Format(time.RFC3339), err)
	}
	return events(rows), nil
}

// SetRSVP implements core.Store.
func (s *Store) SetRSVP(ctx context.Context, r core.RSVP) error {
	if _, err := s.exec(ctx, `INSERT INTO rsvps (event_id, person_id, status, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (event_id, person_id) DO UPDATE SET status = excluded.status, at = excluded.at`,
		int64(r.Event), int64(r.Person), string(r.Status), ts(r.At)); err != nil {
		return fmt.Errorf("sqlstore: rsvp to event %d: %w", r.Event, err)
	}
	return nil
}

// RSVPs implements core.Store.
func (s *Store) RSVPs(ctx context.Context, event core.EventID) ([]core.RSVP, error) {
	var rows []struct {
		Person int64     `db:"person_id"`
		Status string    `db:"status"`
		At     time.Time `db:"at"`
	}
	if err := s.selectAll(ctx, &rows, "SELECT person_id, status, at FROM rsvps WHERE event_id = ? ORDER BY at, person_id", int64(event)); err != nil {
		return nil, fmt.Errorf("sqlstore: rsvps of event %d: %w", event, err)
	}
	out := make([]core.RSVP, len(rows))
	for i, r := range rows {
		out[i] = core.RSVP{Event: event, Person: core.PersonID(r.Person), Status: core.RSVPStatus(r.Status), At: r.At.UTC()}
	}
	return out, nil
}

type subscriptionRow struct {
	ID        int64     `db:"id"`
	PersonID  int64     `db:"person_id"`
	Kind      string    `db:"kind"`
	Filter    string    `db:"filter"`
	Frequency string    `db:"frequency"`
	CreatedAt time.Time `db:"created_at"`
}

// CreateSubscription implements core.Store.
func (s *Store) CreateSubscription(ctx context.Context, sub core.Subscription) (core.Subscription, error) {
	if !sub.Frequency.Valid() {
		return core.Subscription{}, fmt.Errorf("sqlstore: subscribe: %w: frequency %q", core.ErrInvalid, sub.Frequency)
	}
	sub.Created = ts(sub.Created)
	var id int64
	if err := s.get(ctx, &id, `INSERT INTO subscriptions (person_id, kind, filter, frequency, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, int64(sub.Person), string(sub.Kind), sub.Filter.String(),
		string(sub.Frequency), sub.Created); err != nil {
		return core.Subscription{}, fmt.Errorf("sqlstore: subscribe: %w", err)
	}
	sub.ID = core.SubscriptionID(id)
	return sub, nil
}

// DeleteSubscription implements core.Store.
func (s *Store) DeleteSubscription(ctx context.Context, person core.PersonID, id core.SubscriptionID) error {
	res, err := s.exec(ctx, "DELETE FROM subscriptions WHERE id = ? AND person_id = ?", int64(id), int64(person))
	if err != nil {
		return fmt.Errorf("sqlstore: unsubscribe %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: subscription %d: %w", id, core.ErrNotFound)
	}
	return nil
}

// Subscriptions implements core.Store.
func (s *Store) Subscriptions(ctx context.Context, person core.PersonID, freqs ...core.Frequency) ([]core.Subscription, error) {
	query, args := "SELECT id, person_id, kind, filter, frequency, created_at FROM subscriptions WHERE 1 = 1", []any{}
	if person != 0 {
		query, args = query+" AND person_id = ?", append(args, int64(person))
	}
	if len(freqs) > 0 {
		marks := make([]string, len(freqs))
		for i, f := range freqs {
			marks[i] = "?"
			args = append(args, string(f))
		}
		query += " AND frequency IN (" + strings.Join(marks, ", ") + ")"
	}
	var rows []subscriptionRow
	if err := s.selectAll(ctx, &rows, query+" ORDER BY id", args...); err != nil {
		return nil, fmt.Errorf("sqlstore: subscriptions: %w", err)
	}
	out := make([]core.Subscription, 0, len(rows))
	for _, r := range rows {
		f, err := core.ParseFilter(r.Filter)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: subscription %d: %w", r.ID, err)
		}
		out = append(out, core.Subscription{
			ID: core.SubscriptionID(r.ID), Person: core.PersonID(r.PersonID), Kind: core.ItemKind(r.Kind),
			Filter: f, Frequency: core.Frequency(r.Frequency), Created: r.CreatedAt.UTC(),
		})
	}
	return out, nil
}

// AddNotice implements core.Store.
func (s *Store) AddNotice(ctx context.Context, n core.Notice) (bool, error) {
	res, err := s.exec(ctx, `INSERT INTO notices (person_id, kind, item_id, digest, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (person_id, kind, item_id) DO NOTHING`, int64(n.Person), string(n.Kind), n.Item, n.Digest, ts(n.At))
	if err != nil {
		return false, fmt.Errorf("sqlstore: notice %s %d to %d: %w", n.Kind, n.Item, n.Person, err)
	}
	added, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: notice %s %d to %d: %w", n.Kind, n.Item, n.Person, err)
	}
	return added > 0, nil
}

// CountNotices implements core.Store.
func (s *Store) CountNotices(ctx context.Context, person core.PersonID, since time.Time) (int, error) {
	var n int
	if err := s.get(ctx, &n, "SELECT COUNT(*) FROM notices WHERE person_id = ? AND digest = ? AND at >= ?",
		int64(person), false, ts(since)); err != nil {
		return 0, fmt.Errorf("sqlstore: count notices of %d: %w", person, err)
	}
	return n, nil
}
