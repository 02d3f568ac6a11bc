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
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
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
	// reads holds what a transaction already read of people and rooms;
	// nil outside a transaction.
	reads *txReads
	// prepared holds the statements prepared on SQLite, by query (nil on
	// PostgreSQL); tx and txStmts are the transaction and those statements
	// bound to it, in a transaction.
	prepared *stmtCache
	tx       *sqlx.Tx
	txStmts  map[string]*sqlx.Stmt
	// def holds the writes a transaction defers until commit (see
	// DeferWrites); nil when it writes at once. ids are the process's ids
	// taken from sequences for them.
	def   *deferred
	ids   *idPools
	holds *holds
	// loads are the experts' loads the process's deferring transactions
	// read (see loadCache); loadsWritten is set when the transaction
	// wrote what they hold, routingsWritten when it wrote routings itself
	// (its reads then see them: it neither uses nor shares loads).
	loads                         *loadCache
	loadsWritten, routingsWritten bool
	// lockedEvents are the inbox rows the transaction locked (LockEvents).
	lockedEvents map[int64]bool
	// held are the routings the transaction reserved (see holds).
	held []*hold
	// adding is set while EnsurePerson adds a person: its inserts add rows
	// the transaction then keeps, and change none it read (see forget).
	adding bool
	// statements counts the statements run through exec, get and
	// selectAll, for tests; shared by a store and its transactions.
	statements *atomic.Int64
}

// hotQueries are the statements that handling every question runs, which
// Open prepares once on SQLite: there, parsing statements again at each
// call was a sixth of the intake's time. PostgreSQL parses them on the
// server, and a prepared statement there would fail once another process
// migrates a table it reads, so they are not prepared there.
func hotQueries() []string {
	return []string{
		queryPersonByIdentity, queryRoomCommunity, expertLoadsQuery(1, true), queryCreateQuestion, queryScheduleJob,
		queryPutEvent, finishQuery("inbox", false), finishQuery("jobs", false),
		claimQuery("inbox", "id, payload, attempts", "", SQLite), claimQuery("jobs", jobColumns, "", SQLite),
	}
}

// prepare prepares the hot queries.
func (s *Store) prepare(ctx context.Context, cache bool) error {
	if !cache {
		return nil
	}
	s.prepared = &stmtCache{stmts: map[string]*sqlx.Stmt{}, wanted: map[string]bool{}}
	if s.dialect != SQLite {
		return nil // prepared as they are met
	}
	for _, q := range hotQueries() {
		if _, err := s.prepared.prepare(ctx, s.db, q); err != nil {
			return fmt.Errorf("sqlstore: prepare %q: %w", q, err)
		}
	}
	return nil
}

// stmtCache holds the prepared statements: on SQLite the hot queries from
// the start, and on both backends any other statement once it has been
// run (statements with lists, at each length met: outbox rows, routings,
// people, sent marks). A statement first met in a transaction is prepared
// once the transaction is over (on SQLite, preparing takes the one
// connection). At most maxPrepared statements are kept. On PostgreSQL
// this saves planning each statement again (a third of the server's time
// in the intake benchmark); a statement whose plan went stale (another
// process changed a table it reads) is dropped and prepared again.
type stmtCache struct {
	mu     sync.Mutex
	stmts  map[string]*sqlx.Stmt
	wanted map[string]bool
}

const maxPrepared = 512

// get returns the prepared statement of query, or nil after noting that it
// is wanted.
func (c *stmtCache) get(query string) *sqlx.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stmts[query]
	if st == nil && len(c.stmts)+len(c.wanted) < maxPrepared {
		c.wanted[query] = true
	}
	return st
}

// prepare prepares query on db unless it is already.
func (c *stmtCache) prepare(ctx context.Context, db *sqlx.DB, query string) (*sqlx.Stmt, error) {
	c.mu.Lock()
	st := c.stmts[query]
	c.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.wanted, query)
	if prev := c.stmts[query]; prev != nil {
		st.Close()
		return prev, nil
	}
	c.stmts[query] = st
	return st, nil
}

// prepareWanted prepares the statements met since the last call. A
// statement that fails to prepare is not wanted again.
func (c *stmtCache) prepareWanted(ctx context.Context, db *sqlx.DB) {
	c.mu.Lock()
	var queries []string
	for q := range c.wanted {
		queries = append(queries, q)
	}
	clear(c.wanted)
	c.mu.Unlock()
	for _, q := range queries {
		c.prepare(ctx, db, q)
	}
}

// drop forgets query's statement after err, when err says that the
// server no longer knows it or its plan went stale (PostgreSQL: a table
// it reads was changed by a migration, or the connection was reset by a
// pooler), so that it is prepared again. It reports whether it dropped it.
func (c *stmtCache) drop(query string, err error) bool {
	var pe *pq.Error
	if c == nil || !errors.As(err, &pe) || (pe.Code != "0A000" && pe.Code != "26000") {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stmts[query]; st != nil {
		st.Close()
		delete(c.stmts, query)
	}
	return true
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	clear(c.stmts)
}

// stmt returns the prepared statement of query, bound to the transaction
// in one, or nil when query is not prepared yet: outside a transaction it
// is prepared at once, inside one once the transaction is over.
func (s *Store) stmt(ctx context.Context, query string) *sqlx.Stmt {
	if s.prepared == nil {
		return nil
	}
	st := s.prepared.get(query)
	if st == nil && s.tx == nil {
		s.prepared.prepareWanted(ctx, s.db)
		st = s.prepared.get(query)
	}
	if st == nil || s.tx == nil {
		return st
	}
	if t := s.txStmts[query]; t != nil {
		return t
	}
	t := s.tx.StmtxContext(ctx, st)
	if s.txStmts == nil {
		s.txStmts = map[string]*sqlx.Stmt{}
	}
	s.txStmts[query] = t
	return t
}

// txReads is what one transaction read of people and rooms, read again
// from memory: handling a question reads its asker twice (for the
// language of the reply, then to record the question) and, in a batch of
// events, the same room and askers many times. Any statement that writes
// to these tables forgets all of it (see forget).
type txReads struct {
	byIdentity map[core.Identity]core.Person
	// absent holds the accounts KeepPeople found no one for.
	absent map[core.Identity]bool
	byID   map[core.PersonID]core.Person // as People returns them
	rooms  map[core.Room]core.CommunityID
	// loads holds what ExpertLoads read of experts and of their routings:
	// on SQLite, kept up to date by the routings the transaction stores
	// itself (SQLite's write transaction excludes every other writer, so no
	// one else can change them meanwhile); in a transaction that defers its
	// writes, as read, the process's reservations being counted apart (see
	// holds). Any other statement that writes to experts or routings
	// forgets them.
	loads map[core.PersonID]expertLoad
}

// expertLoad is an expert and the count of their routings since a time.
type expertLoad struct {
	expert core.Expert
	count  int
	since  time.Time
	readAt time.Time // when the read began
}

// load returns what the transaction knows of expert id's routings since
// since: a count taken from an earlier or equal time, so at least the
// true count (a routing may have aged out of the window since).
func (r *txReads) load(id core.PersonID, since time.Time) (expertLoad, bool) {
	if r == nil {
		return expertLoad{}, false
	}
	l, ok := r.loads[id]
	if !ok || l.since.After(since) {
		return expertLoad{}, false
	}
	return l, true
}

func (r *txReads) keepLoad(id core.PersonID, l expertLoad) {
	if r == nil {
		return
	}
	if r.loads == nil {
		r.loads = map[core.PersonID]expertLoad{}
	}
	r.loads[id] = l
}

// cachedTables are the tables whose rows txReads holds.
var cachedTables = []string{"people", "identities", "rooms", "communities"}

// forget drops what the transaction read, when query may write to a table
// whose rows it holds. It errs on the side of forgetting: any statement
// other than a SELECT that names one of them.
func (s *Store) forget(query string) {
	if !s.adding {
		held, routings := loadsWrite(query)
		if held {
			s.loads.clear()
		}
		if s.inTx { // outside one, the Store is shared
			s.loadsWritten = s.loadsWritten || held
			s.routingsWritten = s.routingsWritten || routings
		}
	}
	if s.reads == nil || s.adding || (len(s.reads.byIdentity) == 0 && len(s.reads.absent) == 0 && len(s.reads.byID) == 0 && len(s.reads.rooms) == 0 && len(s.reads.loads) == 0) {
		return
	}
	head := strings.TrimSpace(query)
	if len(head) >= 6 && strings.EqualFold(head[:6], "SELECT") {
		return
	}
	if strings.Contains(query, "experts") || strings.Contains(query, "routings") {
		s.reads.loads = nil
	}
	for _, t := range cachedTables {
		if strings.Contains(query, t) {
			s.reads.byIdentity, s.reads.absent, s.reads.byID, s.reads.rooms = nil, nil, nil, nil
			return
		}
	}
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
	cache := true
	switch dialect {
	case Postgres:
		database, cache = withoutStatementCache(database)
		db, err = sqlx.Open("postgres", withBinaryParameters(database))
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
	s := &Store{db: db, q: db, dialect: dialect, ids: &idPools{}, holds: &holds{}, loads: &loadCache{}, statements: new(atomic.Int64)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.prepare(ctx, cache); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// withoutStatementCache reads and removes the statement_cache parameter
// of a PostgreSQL URL (lib/pq would pass it on to the server): "off" keeps
// statements unprepared, for a pooler that shares server connections
// between clients per transaction (PgBouncer's transaction mode), on which
// a prepared statement may be missing from the next transaction's
// connection.
func withoutStatementCache(database string) (string, bool) {
	u, err := url.Parse(database)
	if err != nil {
		return database, true // lib/pq reports it
	}
	q := u.Query()
	if !q.Has("statement_cache") {
		return database, true
	}
	on := q.Get("statement_cache") != "off"
	q.Del("statement_cache")
	u.RawQuery = q.Encode()
	return u.String(), on
}

// withBinaryParameters turns on lib/pq's binary_parameters unless the URL
// sets it: a statement with arguments then costs one round trip (parse,
// bind and execute sent together) instead of two (parse and describe, then
// bind and execute). The only other effect is that []byte arguments go in
// binary form, which the store never passes.
func withBinaryParameters(database string) string {
	u, err := url.Parse(database)
	if err != nil {
		return database // lib/pq reports it
	}
	q := u.Query()
	if q.Has("binary_parameters") {
		return database
	}
	q.Set("binary_parameters", "yes")
	u.RawQuery = q.Encode()
	return u.String()
}

// Close closes the database.
func (s *Store) Close() error {
	if s.prepared != nil {
		s.prepared.close()
	}
	return s.db.Close()
}

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

// A statement that fails because its prepared form went stale is run
// again unprepared outside a transaction; in one, the transaction fails
// (PostgreSQL aborts it) and is retried by its caller.

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := s.flushFor(ctx, query); err != nil {
		return nil, err
	}
	s.forget(query)
	s.statements.Add(1)
	query = s.rebind(query)
	if st := s.stmt(ctx, query); st != nil {
		res, err := st.ExecContext(ctx, args...)
		if err == nil || !s.prepared.drop(query, err) || s.inTx {
			return res, err
		}
	}
	return s.q.ExecContext(ctx, query, args...)
}

func (s *Store) get(ctx context.Context, dest any, query string, args ...any) error {
	if err := s.flushFor(ctx, query); err != nil {
		return err
	}
	s.forget(query)
	s.statements.Add(1)
	query = s.rebind(query)
	if st := s.stmt(ctx, query); st != nil {
		err := st.GetContext(ctx, dest, args...)
		if err == nil || !s.prepared.drop(query, err) || s.inTx {
			return err
		}
	}
	return s.q.GetContext(ctx, dest, query, args...)
}

func (s *Store) selectAll(ctx context.Context, dest any, query string, args ...any) error {
	if err := s.flushFor(ctx, query); err != nil {
		return err
	}
	s.forget(query)
	s.statements.Add(1)
	query = s.rebind(query)
	if st := s.stmt(ctx, query); st != nil {
		err := st.SelectContext(ctx, dest, args...)
		if err == nil || !s.prepared.drop(query, err) || s.inTx {
			return err
		}
	}
	return s.q.SelectContext(ctx, dest, query, args...)
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
	if s.prepared != nil {
		defer s.prepared.prepareWanted(ctx, s.db)
	}
	t := &Store{db: s.db, q: tx, inTx: true, dialect: s.dialect, reads: &txReads{}, prepared: s.prepared, tx: tx, ids: s.ids, holds: s.holds,
		loads: s.loads, statements: s.statements}
	committed := false
	defer func() {
		if len(t.held) > 0 {
			s.holds.release(t, committed) // after the commit or the rollback
		}
		if t.loadsWritten {
			s.loads.clear() // reads made meanwhile may have seen the old rows
		}
	}()
	if err := fn(t); err != nil {
		tx.Rollback()
		return err
	}
	if t.def != nil && t.def.pending() {
		if err := t.flush(ctx); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		// Committed or not: the routings are counted, to be safe.
		committed = true
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	committed = true
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
