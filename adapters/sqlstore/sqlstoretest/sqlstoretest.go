// Package sqlstoretest opens throwaway stores for tests: SQLite in a
// temporary directory, and PostgreSQL in a schema of its own on the server
// named by ENTRAIDE_TEST_POSTGRES, skipped with a clear message when the
// variable is unset.
package sqlstoretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"entraide/adapters/sqlstore"
)

// PostgresEnv names the variable that enables the PostgreSQL tests: a
// postgres:// URL of a database in which the tests may create schemas.
const PostgresEnv = "ENTRAIDE_TEST_POSTGRES"

// Opener opens a new, empty, migrated store that the test closes at its end.
type Opener func(t testing.TB) *sqlstore.Store

// Backends returns an opener per backend, by name ("sqlite", "postgres").
func Backends() map[string]Opener {
	return map[string]Opener{"sqlite": SQLite, "postgres": Postgres}
}

// SQLite opens a store in a new SQLite file in t's temporary directory.
func SQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "entraide.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresURL returns a URL for a new schema of its own on the test server,
// dropped when the test ends. It skips the test when PostgresEnv is unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("PostgreSQL test skipped: set %s to a postgres:// URL (.ci/run starts a server with ../shared/recipes/pg-up.sh)", PostgresEnv)
	}
	buf := make([]byte, 6)
	rand.Read(buf)
	schema := "t_" + hex.EncodeToString(buf)
	admin, err := sqlx.Open("postgres", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if admin, err := sqlx.Open("postgres", base); err == nil {
			admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			admin.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a store in a new schema on the test server.
func Postgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	database := PostgresURL(t)
	s, err := sqlstore.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Dump returns every value of every table of s as text, one line per row
// ("table: v1 | v2 | ..."), for tests that prove something is gone from
// the whole database (an erased person, say).
func Dump(t testing.TB, s *sqlstore.Store) string {
	t.Helper()
	ctx := context.Background()
	var tables []string
	query := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
	if s.Dialect() == sqlstore.Postgres {
		query = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
	}
	if err := s.DB().SelectContext(ctx, &tables, query); err != nil {
		t.Fatalf("dump: tables: %v", err)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := s.DB().QueryxContext(ctx, "SELECT * FROM "+table)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		for rows.Next() {
			vals, err := rows.SliceScan()
			if err != nil {
				t.Fatalf("dump %s: %v", table, err)
			}
			b.WriteString(table + ":")
			for _, v := range vals {
				if raw, ok := v.([]byte); ok {
					v = string(raw)
				}
				fmt.Fprintf(&b, " %v |", v)
			}
			b.WriteString("\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		rows.Close()
	}
	return b.String()
}
