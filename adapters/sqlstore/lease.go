package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"entraide/adapters/leader"
)

var _ leader.Store = (*Store)(nil)

// AcquireLease implements leader.Store with one statement: the insert of a
// new lease, or the update of a free, expired or owner's own one, which
// PostgreSQL and SQLite both make atomic (of two owners racing, the second
// finds the first's fresh term and changes nothing).
func (s *Store) AcquireLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (leader.Lease, bool, error) {
	if name == "" || owner == "" {
		return leader.Lease{}, false, errors.New("sqlstore: acquire lease: empty name or owner")
	}
	now = ts(now)
	expires := ts(now.Add(ttl))
	var fence int64
	err := s.get(ctx, &fence, `INSERT INTO leases (name, owner, fence, acquired_at, renewed_at, expires_at)
		VALUES (?, ?, 1, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, fence = leases.fence + 1,
			acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at
		WHERE leases.owner = '' OR leases.owner = excluded.owner OR leases.expires_at <= excluded.acquired_at
		RETURNING fence`, name, owner, now, now, expires)
	switch {
	case err == nil:
		return leader.Lease{Name: name, Owner: owner, Fence: fence, Expires: expires}, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return leader.Lease{}, false, fmt.Errorf("sqlstore: acquire lease %s: %w", name, err)
	}
	var cur struct {
		Owner   string    `db:"owner"`
		Fence   int64     `db:"fence"`
		Expires time.Time `db:"expires_at"`
	}
	if err := s.get(ctx, &cur, `SELECT owner, fence, expires_at FROM leases WHERE name = ?`, name); err != nil {
		return leader.Lease{}, false, fmt.Errorf("sqlstore: acquire lease %s: read holder: %w", name, err)
	}
	return leader.Lease{Name: name, Owner: cur.Owner, Fence: cur.Fence, Expires: cur.Expires.UTC()}, false, nil
}

// RenewLease implements leader.Store.
func (s *Store) RenewLease(ctx context.Context, l leader.Lease, now time.Time, ttl time.Duration) (leader.Lease, error) {
	now = ts(now)
	expires := ts(now.Add(ttl))
	res, err := s.exec(ctx, `UPDATE leases SET renewed_at = ?, expires_at = ?
		WHERE name = ? AND owner = ? AND fence = ? AND expires_at > ?`,
		now, expires, l.Name, l.Owner, l.Fence, now)
	if err != nil {
		return leader.Lease{}, fmt.Errorf("sqlstore: renew lease %s: %w", l.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return leader.Lease{}, fmt.Errorf("sqlstore: renew lease %s: %w", l.Name, err)
	} else if n == 0 {
		return leader.Lease{}, fmt.Errorf("sqlstore: renew lease %s (fence %d): %w", l.Name, l.Fence, leader.ErrLost)
	}
	l.Expires = expires
	return l, nil
}

// ReleaseLease implements leader.Store: the row stays, with no owner, so
// that the next term's fence is greater still.
func (s *Store) ReleaseLease(ctx context.Context, l leader.Lease, now time.Time) error {
	if _, err := s.exec(ctx, `UPDATE leases SET owner = '', expires_at = ?
		WHERE name = ? AND owner = ? AND fence = ?`, ts(now), l.Name, l.Owner, l.Fence); err != nil {
		return fmt.Errorf("sqlstore: release lease %s: %w", l.Name, err)
	}
	return nil
}
