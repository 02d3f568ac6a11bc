package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"entraide/core"
)

// SetPosting implements core.Store.
func (s *Store) SetPosting(ctx context.Context, community core.CommunityID, p core.Posting, at time.Time) error {
	res, err := s.exec(ctx, "UPDATE communities SET posting = ? WHERE id = ?", string(p), int64(community))
	if err != nil {
		return fmt.Errorf("sqlstore: set posting of community %d: %w", community, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: set posting of community %d: %w", community, core.ErrNotFound)
	}
	return nil
}

// PostingOf implements core.Store.
func (s *Store) PostingOf(ctx context.Context, community core.CommunityID) (core.Posting, error) {
	var p string
	if err := s.get(ctx, &p, "SELECT posting FROM communities WHERE id = ?", int64(community)); err != nil {
		return "", notFound(err, fmt.Sprintf("sqlstore: posting of community %d", community))
	}
	return core.Posting(p), nil
}

// Communities implements core.Store.
func (s *Store) Communities(ctx context.Context) ([]core.Community, error) {
	var rows []struct {
		ID        int64     `db:"id"`
		Name      string    `db:"name"`
		CreatedAt time.Time `db:"created_at"`
	}
	if err := s.selectAll(ctx, &rows, "SELECT id, name, created_at FROM communities ORDER BY id"); err != nil {
		return nil, fmt.Errorf("sqlstore: communities: %w", err)
	}
	out := make([]core.Community, len(rows))
	for i, r := range rows {
		out[i] = core.Community{ID: core.CommunityID(r.ID), Name: r.Name, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// SetRole implements core.Store.
func (s *Store) SetRole(ctx context.Context, community core.CommunityID, person core.PersonID, role core.Role, at time.Time) error {
	if !role.Valid() {
		return fmt.Errorf("sqlstore: set role: %w: %q", core.ErrInvalid, role)
	}
	if _, err := s.exec(ctx, `INSERT INTO roles (community_id, person_id, role, granted_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (community_id, person_id, role) DO NOTHING`, int64(community), int64(person), string(role), ts(at)); err != nil {
		return fmt.Errorf("sqlstore: set role: %w", err)
	}
	return nil
}

// DeleteRole implements core.Store.
func (s *Store) DeleteRole(ctx context.Context, community core.CommunityID, person core.PersonID, role core.Role) error {
	if _, err := s.exec(ctx, "DELETE FROM roles WHERE community_id = ? AND person_id = ? AND role = ?",
		int64(community), int64(person), string(role)); err != nil {
		return fmt.Errorf("sqlstore: delete role: %w", err)
	}
	return nil
}

// RolesOf implements core.Store.
func (s *Store) RolesOf(ctx context.Context, community core.CommunityID, person core.PersonID) ([]core.Role, error) {
	var names []string
	if err := s.selectAll(ctx, &names, "SELECT role FROM roles WHERE community_id = ? AND person_id = ? ORDER BY role",
		int64(community), int64(person)); err != nil {
		return nil, fmt.Errorf("sqlstore: roles: %w", err)
	}
	out := make([]core.Role, len(names))
	for i, n := range names {
		out[i] = core.Role(n)
	}
	return out, nil
}

// RoleHolders implements core.Store.
func (s *Store) RoleHolders(ctx context.Context, community core.CommunityID, role core.Role) ([]core.PersonID, error) {
	var ids []int64
	if err := s.selectAll(ctx, &ids, "SELECT person_id FROM roles WHERE community_id = ? AND role = ? ORDER BY person_id",
		int64(community), string(role)); err != nil {
		return nil, fmt.Errorf("sqlstore: role holders: %w", err)
	}
	out := make([]core.PersonID, len(ids))
	for i, id := range ids {
		out[i] = core.PersonID(id)
	}
	return out, nil
}

// Activity implements core.Store.
func (s *Store) Activity(ctx context.Context, community core.CommunityID, from, to time.Time) (core.Activity, error) {
	var act core.Activity
	var qs []questionRow
	if err := s.selectAll(ctx, &qs, selectQuestion+" WHERE community_id = ? AND created_at >= ? AND created_at < ? ORDER BY id",
		int64(community), ts(from), ts(to)); err != nil {
		return act, fmt.Errorf("sqlstore: activity: %w", err)
	}
	if len(qs) == 0 {
		return act, nil
	}
	for _, r := range qs {
		act.Questions = append(act.Questions, r.question())
	}
	first, last := qs[0].ID, qs[len(qs)-1].ID
	var as []answerRow
	if err := s.selectAll(ctx, &as, selectAnswer+` WHERE question_id >= ? AND question_id <= ?
		AND question_id IN (SELECT id FROM questions WHERE community_id = ? AND created_at >= ? AND created_at < ?) ORDER BY id`,
		first, last, int64(community), ts(from), ts(to)); err != nil {
		return act, fmt.Errorf("sqlstore: activity: answers: %w", err)
	}
	act.Answers = answers(as)
	var rs []routingRow
	if err := s.selectAll(ctx, &rs, "SELECT question_id, expert_id, status, routed_at FROM routings"+` WHERE question_id >= ? AND question_id <= ?
		AND question_id IN (SELECT id FROM questions WHERE community_id = ? AND created_at >= ? AND created_at < ?)
		ORDER BY question_id, routed_at, expert_id`,
		first, last, int64(community), ts(from), ts(to)); err != nil {
		return act, fmt.Errorf("sqlstore: activity: routings: %w", err)
	}
	act.Routings = routings(rs)
	return act, nil
}

type digestRow struct {
	ID          int64         `db:"id"`
	CommunityID int64         `db:"community_id"`
	PeriodStart time.Time     `db:"period_start"`
	PeriodEnd   time.Time     `db:"period_end"`
	Intro       string        `db:"intro"`
	Items       string        `db:"items"`
	State       string        `db:"state"`
	PublishedAt sql.NullTime  `db:"published_at"`
	EditorID    sql.NullInt64 `db:"editor_id"`
	UpdatedAt   time.Time     `db:"updated_at"`
}

func (r digestRow) digest() (core.CommunityDigest, error) {
	d := core.CommunityDigest{
		ID: core.DigestID(r.ID), Community: core.CommunityID(r.CommunityID), PeriodStart: r.PeriodStart.UTC(),
		PeriodEnd: r.PeriodEnd.UTC(), Intro: r.Intro, State: core.DigestState(r.State),
		Editor: core.PersonID(r.EditorID.Int64), Updated: r.UpdatedAt.UTC(),
	}
	if r.PublishedAt.Valid {
		d.PublishedAt = r.PublishedAt.Time.UTC()
	}
	if err := json.Unmarshal([]byte(r.Items), &d.Items); err != nil {
		return core.CommunityDigest{}, fmt.Errorf("sqlstore: digest %d: items: %w", r.ID, err)
	}
	return d, nil
}

const selectDigest = `SELECT id, community_id, period_start, period_end, intro, items, state, published_at, editor_id,
	updated_at FROM digests`

func itemsJSON(items []core.DigestItem) string {
	if items == nil {
		items = []core.DigestItem{}
	}
	b, _ := json.Marshal(items)
	return string(b)
}

// CreateDigest implements core.Store.
func (s *Store) CreateDigest(ctx context.Context, d core.CommunityDigest) (core.CommunityDigest, error) {
	d.PeriodStart, d.PeriodEnd, d.Updated = ts(d.PeriodStart), ts(d.PeriodEnd), ts(d.Updated)
	var ids []int64
	err := s.selectAll(ctx, &ids, `INSERT INTO digests (community_id, period_start, period_end, intro, items, state,
		published_at, editor_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (community_id, period_end) DO NOTHING RETURNING id`,
		int64(d.Community), d.PeriodStart, d.PeriodEnd, d.Intro, itemsJSON(d.Items), string(d.State),
		nullTime(d.PublishedAt), nullID(int64(d.Editor)), d.Updated)
	if err != nil {
		return core.CommunityDigest{}, fmt.Errorf("sqlstore: create digest: %w", err)
	}
	if len(ids) == 0 {
		return core.CommunityDigest{}, fmt.Errorf("sqlstore: create digest: %w: community %d already has the digest of %s",
			core.ErrConflict, d.Community, d.PeriodEnd.Format(time.RFC3339))
	}
	d.ID = core.DigestID(ids[0])
	return d, nil
}

// Digest implements core.Store.
func (s *Store) Digest(ctx context.Context, id core.DigestID) (core.CommunityDigest, error) {
	var r digestRow
	if err := s.get(ctx, &r, selectDigest+" WHERE id = ?", int64(id)); err != nil {
		return core.CommunityDigest{}, notFound(err, fmt.Sprintf("sqlstore: digest %d", id))
	}
	return r.digest()
}

// LatestDigest implements core.Store.
func (s *Store) LatestDigest(ctx context.Context, community core.CommunityID) (core.CommunityDigest, error) {
	var r digestRow
	if err := s.get(ctx, &r, selectDigest+" WHERE community_id = ? ORDER BY period_end DESC LIMIT 1", int64(community)); err != nil {
		return core.CommunityDigest{}, notFound(err, fmt.Sprintf("sqlstore: latest digest of community %d", community))
	}
	return r.digest()
}

// UpdateDigest implements core.Store.
func (s *Store) UpdateDigest(ctx context.Context, d core.CommunityDigest) error {
	res, err := s.exec(ctx, "UPDATE digests SET intro = ?, items = ?, editor_id = ?, updated_at = ? WHERE id = ? AND state = ?",
		d.Intro, itemsJSON(d.Items), nullID(int64(d.Editor)), ts(d.Updated), int64(d.ID), string(core.DigestDraft))
	if err != nil {
		return fmt.Errorf("sqlstore: update digest %d: %w", d.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Digest(ctx, d.ID); err != nil {
			return err
		}
		return fmt.Errorf("sqlstore: update digest %d: %w: already published", d.ID, core.ErrConflict)
	}
	return nil
}

// SetDigestPublished implements core.Store.
func (s *Store) SetDigestPublished(ctx context.Context, id core.DigestID, at time.Time) error {
	res, err := s.exec(ctx, "UPDATE digests SET state = ?, published_at = ? WHERE id = ? AND state = ?",
		string(core.DigestPublished), ts(at), int64(id), string(core.DigestDraft))
	if err != nil {
		return fmt.Errorf("sqlstore: publish digest %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Digest(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("sqlstore: publish digest %d: %w: already published", id, core.ErrConflict)
	}
	return nil
}

// CreateLoginToken implements core.Store.
func (s *Store) CreateLoginToken(ctx context.Context, hash string, person core.PersonID, community core.CommunityID, expires time.Time) error {
	if _, err := s.exec(ctx, "INSERT INTO login_tokens (hash, person_id, community_id, expires_at) VALUES (?, ?, ?, ?)",
		hash, int64(person), int64(community), ts(expires)); err != nil {
		return fmt.Errorf("sqlstore: login token: %w", err)
	}
	return nil
}

// UseLoginToken implements core.Store.
func (s *Store) UseLoginToken(ctx context.Context, hash string, at time.Time) (core.PersonID, core.CommunityID, error) {
	var rows []struct {
		Person    int64 `db:"person_id"`
		Community int64 `db:"community_id"`
	}
	if err := s.selectAll(ctx, &rows, `UPDATE login_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?
		RETURNING person_id, community_id`, ts(at), hash, ts(at)); err != nil {
		return 0, 0, fmt.Errorf("sqlstore: use login token: %w", err)
	}
	if len(rows) == 0 {
		return 0, 0, fmt.Errorf("sqlstore: login token: %w: unknown, used or expired", core.ErrNotFound)
	}
	// Spent and expired tokens are of no use: forget them.
	if _, err := s.exec(ctx, "DELETE FROM login_tokens WHERE expires_at < ?", ts(at.Add(-24*time.Hour))); err != nil {
		return 0, 0, fmt.Errorf("sqlstore: login tokens: %w", err)
	}
	return core.PersonID(rows[0].Person), core.CommunityID(rows[0].Community), nil
}
