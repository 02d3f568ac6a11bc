// Package sqlstore keeps entraide's data in SQL: SQLite (embedded, the
// default, pure Go through modernc.org/sqlite) or PostgreSQL (through
// lib/pq), with sqlx. Versioned migrations are embedded in the binary and
// applied by Open.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"entraide/core"
)

// Dialect names a database backend.
type Dialect string

// The supported backends.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultDatabase is the SQLite file used when no database is configured.
const DefaultDatabase = "entraide.db"

// ext is what a Store runs queries on: the pool, or one transaction.
type ext interface {
	sqlx.ExtContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// Store is a core.Store over SQL.
type Store struct {
	db      *sqlx.DB
	q       ext
	inTx    bool
	dialect Dialect
}

var _ core.Store = (*Store)(nil)

// DialectOf tells which backend a database setting names: a postgres:// or
// postgresql:// URL is PostgreSQL, anything else a SQLite file path.
func DialectOf(database string) Dialect {
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		return Postgres
	}
	return SQLite
}

// Open connects to database (a postgres:// URL or a SQLite file path; empty
// means DefaultDatabase) and applies the migrations it lacks.
func Open(ctx context.Context, database string) (*Store, error) {
	if database == "" {
		database = DefaultDatabase
	}
	dialect := DialectOf(database)
	var (
		db  *sqlx.DB
		err error
	)
	switch dialect {
	case Postgres:
		db, err = sqlx.Open("postgres", database)
		if err == nil {
			db.SetMaxOpenConns(16)
			db.SetMaxIdleConns(4)
		}
	default:
		path := strings.TrimPrefix(database, "sqlite://")
		path = strings.TrimPrefix(path, "file:")
		// One connection, one writer: SQLite serialises writes anyway, and
		// a single connection can never meet SQLITE_BUSY from itself.
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=mmap_size(268435456)&_pragma=cache_size(-65536)&_time_format=sqlite&_txlock=immediate"
		db, err = sqlx.Open("sqlite", dsn)
		if err == nil {
			db.SetMaxOpenConns(1)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", dialect, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to %s database: %w", dialect, err)
	}
	s := &Store{db: db, q: db, dialect: dialect}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Dialect returns the backend in use.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB returns the underlying pool, for components that keep tables of their
// own in the same database.
func (s *Store) DB() *sqlx.DB { return s.db }

// rebind turns ? placeholders into the backend's own.
func (s *Store) rebind(query string) string {
	if s.dialect == Postgres {
		return sqlx.Rebind(sqlx.DOLLAR, query)
	}
	return query
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.q.ExecContext(ctx, s.rebind(query), args...)
}

func (s *Store) get(ctx context.Context, dest any, query string, args ...any) error {
	return s.q.GetContext(ctx, dest, s.rebind(query), args...)
}

func (s *Store) selectAll(ctx context.Context, dest any, query string, args ...any) error {
	return s.q.SelectContext(ctx, dest, s.rebind(query), args...)
}

// InTx implements core.Store. Inside a transaction, InTx runs fn in the same
// transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx core.Store) error) error {
	if s.inTx {
		return fn(s)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if err := fn(&Store{db: s.db, q: tx, inTx: true, dialect: s.dialect}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

// ts normalises a time for storage: UTC, microseconds (PostgreSQL's
// precision).
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) sql.NullTime {
	if t.IsZero() {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: ts(t), Valid: true}
}

// notFound turns sql.ErrNoRows into core.ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, core.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isUniqueViolation reports whether err is a unique or primary key
// violation on either backend.
func isUniqueViolation(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
