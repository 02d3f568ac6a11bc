package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"entraide/core"
)

type personRow struct {
	ID          int64     `db:"id"`
	Platform    string    `db:"platform"`
	UserID      string    `db:"user_id"`
	DisplayName string    `db:"display_name"`
	Lang        string    `db:"lang"`
	CreatedAt   time.Time `db:"created_at"`
}

func (r personRow) person() core.Person {
	return core.Person{
		ID:          core.PersonID(r.ID),
		Identity:    core.Identity{Platform: core.Platform(r.Platform), User: r.UserID},
		DisplayName: r.DisplayName,
		Lang:        r.Lang,
		CreatedAt:   r.CreatedAt.UTC(),
	}
}

// selectPerson reads a person with their preferred account; an erased
// person has none, and comes with an empty identity.
const selectPerson = `SELECT p.id, COALESCE(i.platform, '') AS platform, COALESCE(i.user_id, '') AS user_id,
	p.display_name, p.lang, p.created_at FROM people p LEFT JOIN identities i ON i.person_id = p.id`

const queryPersonByIdentity = selectPerson + " WHERE i.platform = ? AND i.user_id = ?"

// EnsurePerson implements core.Store.
func (s *Store) EnsurePerson(ctx context.Context, id core.Identity, displayName string, at time.Time) (core.Person, error) {
	if err := id.Validate(); err != nil {
		return core.Person{}, fmt.Errorf("sqlstore: ensure person: %w", err)
	}
	var p core.Person
	err := s.InTx(ctx, func(tx core.Store) error {
		t := tx.(*Store)
		var err error
		p, err = t.PersonByIdentity(ctx, id)
		if err == nil {
			if displayName != "" && displayName != p.DisplayName {
				if _, err := t.exec(ctx, "UPDATE people SET display_name = ? WHERE id = ?", displayName, int64(p.ID)); err != nil {
					return fmt.Errorf("rename: %w", err)
				}
				p.DisplayName = displayName
				t.reads.keepPerson(id, p)
			}
			return nil
		}
		if !errors.Is(err, core.ErrNotFound) {
			return err
		}
		// A new person and account change nothing the transaction read:
		// what it keeps stays (see forget).
		t.adding = true
		defer func() { t.adding = false }()
		var pid int64
		if err := t.get(ctx, &pid, "INSERT INTO people (display_name, lang, created_at) VALUES (?, '', ?) RETURNING id",
			displayName, ts(at)); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		// Another transaction may add the same account meanwhile (two
		// batches with the same newcomer): this one then waits for it and
		// takes its person, rather than failing whole.
		var added []int64
		if err := t.selectAll(ctx, &added, "INSERT INTO identities (platform, user_id, person_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING person_id",
			string(id.Platform), id.User, pid); err != nil {
			return fmt.Errorf("insert identity: %w", err)
		}
		if len(added) == 0 {
			if _, err := t.exec(ctx, "DELETE FROM people WHERE id = ?", pid); err != nil {
				return fmt.Errorf("drop the person added twice: %w", err)
			}
			t.adding = false // what it reads now is the other's
			delete(t.reads.absent, id)
			p, err = t.PersonByIdentity(ctx, id)
			return err
		}
		p = core.Person{ID: core.PersonID(pid), Identity: id, DisplayName: displayName, CreatedAt: ts(at)}
		t.reads.keepPerson(id, p)
		return nil
	})
	if err != nil && isUniqueViolation(err) && !s.inTx {
		// Another process created the same person in the meantime.
		return s.PersonByIdentity(ctx, id)
	}
	if err != nil {
		return core.Person{}, fmt.Errorf("sqlstore: ensure person %s: %w", id, err)
	}
	return p, nil
}

// Person implements core.Store.
func (s *Store) Person(ctx context.Context, id core.PersonID) (core.Person, error) {
	var r personRow
	if err := s.get(ctx, &r, selectPerson+" WHERE p.id = ? ORDER BY i.preferred DESC, i.platform, i.user_id LIMIT 1", int64(id)); err != nil {
		return core.Person{}, notFound(err, fmt.Sprintf("sqlstore: person %d", id))
	}
	return r.person(), nil
}

// PersonByIdentity implements core.Store. In a transaction, a person read
// once is read again from memory until the transaction writes to people
// or identities.
func (s *Store) PersonByIdentity(ctx context.Context, id core.Identity) (core.Person, error) {
	if p, ok := s.reads.person(id); ok {
		return p, nil
	}
	if s.reads != nil && s.reads.absent[id] {
		return core.Person{}, fmt.Errorf("sqlstore: person %s: %w", id, core.ErrNotFound)
	}
	var r personRow
	if err := s.get(ctx, &r, queryPersonByIdentity, string(id.Platform), id.User); err != nil {
		return core.Person{}, notFound(err, "sqlstore: person "+id.String())
	}
	p := r.person()
	s.reads.keepPerson(id, p)
	return p, nil
}

// KeepPeople reads, in one statement, the people of the accounts ids that
// the transaction has not read yet, and keeps them, and which accounts
// have no one, for PersonByIdentity and EnsurePerson to answer from
// memory: a batch of events reads its senders together instead of one
// statement each. Outside a transaction it does nothing.
func (s *Store) KeepPeople(ctx context.Context, ids []core.Identity) error {
	if s.reads == nil {
		return nil
	}
	var args []any
	asked := make(map[core.Identity]bool, len(ids))
	for _, id := range ids {
		if _, ok := s.reads.person(id); ok || s.reads.absent[id] || asked[id] || id.Validate() != nil {
			continue
		}
		asked[id] = true
		args = append(args, string(id.Platform), id.User)
	}
	if len(args) == 0 {
		return nil
	}
	var rows []personRow
	if err := s.selectAll(ctx, &rows, selectPerson+" WHERE (i.platform, i.user_id) IN ((?, ?)"+strings.Repeat(", (?, ?)", len(args)/2-1)+")", args...); err != nil {
		return fmt.Errorf("sqlstore: people of %d accounts: %w", len(asked), err)
	}
	for _, r := range rows {
		id := core.Identity{Platform: core.Platform(r.Platform), User: r.UserID}
		s.reads.keepPerson(id, r.person())
		delete(asked, id)
	}
	if len(asked) > 0 && s.reads.absent == nil {
		s.reads.absent = make(map[core.Identity]bool, len(asked))
	}
	for id := range asked {
		s.reads.absent[id] = true
	}
	return nil
}

// People implements core.Store.
func (s *Store) People(ctx context.Context, ids []core.PersonID) ([]core.Person, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if out, ok := s.reads.people(ids); ok {
		return out, nil
	}
	// Only those the transaction did not read yet.
	args := make([]any, 0, len(ids))
	byID := make(map[core.PersonID]core.Person, len(ids))
	asked := make(map[core.PersonID]bool, len(ids))
	for _, id := range ids {
		if s.reads != nil {
			if p, ok := s.reads.byID[id]; ok {
				byID[id] = p
				continue
			}
		}
		if !asked[id] {
			asked[id] = true
			args = append(args, int64(id))
		}
	}
	var rows []personRow
	if err := s.selectAll(ctx, &rows, selectPerson+" WHERE p.id IN (?"+strings.Repeat(", ?", len(args)-1)+")"+
		" ORDER BY p.id, i.preferred DESC, i.platform, i.user_id", args...); err != nil {
		return nil, fmt.Errorf("sqlstore: people %v: %w", ids, err)
	}
	for _, r := range rows {
		if _, seen := byID[core.PersonID(r.ID)]; !seen { // the preferred account comes first
			byID[core.PersonID(r.ID)] = r.person()
		}
	}
	out := make([]core.Person, len(ids))
	for i, id := range ids {
		p, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("sqlstore: person %d: %w", id, core.ErrNotFound)
		}
		out[i] = p
		s.reads.keepByID(p)
	}
	return out, nil
}

// people returns the people of ids when the transaction read them all.
func (r *txReads) people(ids []core.PersonID) ([]core.Person, bool) {
	if r == nil || len(r.byID) == 0 {
		return nil, false
	}
	out := make([]core.Person, len(ids))
	for i, id := range ids {
		p, ok := r.byID[id]
		if !ok {
			return nil, false
		}
		out[i] = p
	}
	return out, true
}

func (r *txReads) keepByID(p core.Person) {
	if r == nil {
		return
	}
	if r.byID == nil {
		r.byID = map[core.PersonID]core.Person{}
	}
	r.byID[p.ID] = p
}

func (r *txReads) person(id core.Identity) (core.Person, bool) {
	if r == nil {
		return core.Person{}, false
	}
	p, ok := r.byIdentity[id]
	return p, ok
}

func (r *txReads) keepPerson(id core.Identity, p core.Person) {
	if r == nil {
		return
	}
	if r.byIdentity == nil {
		r.byIdentity = map[core.Identity]core.Person{}
	}
	r.byIdentity[id] = p
	delete(r.absent, id)
}

func (r *txReads) room(room core.Room) (core.CommunityID, bool) {
	if r == nil {
		return 0, false
	}
	c, ok := r.rooms[room]
	return c, ok
}

func (r *txReads) keepRoom(room core.Room, c core.CommunityID) {
	if r == nil {
		return
	}
	if r.rooms == nil {
		r.rooms = map[core.Room]core.CommunityID{}
	}
	r.rooms[room] = c
}

// SetPersonLang implements core.Store.
func (s *Store) SetPersonLang(ctx context.Context, id core.PersonID, lang string) error {
	res, err := s.exec(ctx, "UPDATE people SET lang = ? WHERE id = ?", lang, int64(id))
	if err != nil {
		return fmt.Errorf("sqlstore: set language of person %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: set language of person %d: %w", id, core.ErrNotFound)
	}
	return nil
}

const queryRoomCommunity = "SELECT community_id FROM rooms WHERE platform = ? AND room_id = ?"

// EnsureRoom implements core.Store. An empty room id (a direct message)
// belongs to the default community and is not recorded.
func (s *Store) EnsureRoom(ctx context.Context, room core.Room, at time.Time) (core.CommunityID, error) {
	if c, ok := s.reads.room(room); ok {
		return c, nil
	}
	var id int64
	if room.ID != "" {
		err := s.get(ctx, &id, queryRoomCommunity, string(room.Platform), room.ID)
		if err == nil {
			s.reads.keepRoom(room, core.CommunityID(id))
			return core.CommunityID(id), nil
		}
		if e := notFound(err, ""); !errors.Is(e, core.ErrNotFound) {
			return 0, fmt.Errorf("sqlstore: room %s %s: %w", room.Platform, room.ID, err)
		}
	}
	if err := s.get(ctx, &id, "SELECT id FROM communities WHERE name = ?", core.DefaultCommunity); err != nil {
		return 0, notFound(err, "sqlstore: default community")
	}
	if room.ID == "" {
		s.reads.keepRoom(room, core.CommunityID(id))
		return core.CommunityID(id), nil
	}
	if _, err := s.exec(ctx, `INSERT INTO rooms (platform, room_id, community_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (platform, room_id) DO NOTHING`, string(room.Platform), room.ID, id, ts(at)); err != nil {
		return 0, fmt.Errorf("sqlstore: add room %s %s: %w", room.Platform, room.ID, err)
	}
	if err := s.get(ctx, &id, queryRoomCommunity, string(room.Platform), room.ID); err != nil {
		return 0, fmt.Errorf("sqlstore: room %s %s: %w", room.Platform, room.ID, err)
	}
	s.reads.keepRoom(room, core.CommunityID(id))
	return core.CommunityID(id), nil
}
