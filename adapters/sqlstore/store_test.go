package sqlstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"entraide/adapters/sqlstore/sqlstoretest"

	"entraide/adapters/sqlstore"
	"entraide/core"
	"entraide/core/storetest"
)

func openSQLite(t *testing.T) core.Store   { return sqlstoretest.SQLite(t) }
func openPostgres(t *testing.T) core.Store { return sqlstoretest.Postgres(t) }

func TestContractSQLite(t *testing.T)   { storetest.Run(t, openSQLite) }
func TestContractPostgres(t *testing.T) { storetest.Run(t, openPostgres) }
func TestNetworkSQLite(t *testing.T)    { storetest.Network(t, openSQLite) }
func TestNetworkPostgres(t *testing.T)  { storetest.Network(t, openPostgres) }

func TestMigrationsMatchAcrossBackends(t *testing.T) {
	lite, err := sqlstore.Migrations(sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := sqlstore.Migrations(sqlstore.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 || len(lite) != len(pg) {
		t.Fatalf("%d SQLite migrations, %d PostgreSQL ones", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != pg[i].Version || lite[i].Name != pg[i].Name {
			t.Errorf("migration %d: %s (SQLite) against %s (PostgreSQL)", i, lite[i].Name, pg[i].Name)
		}
	}
}

func TestReopenKeepsDataAndRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "entraide.db")
	s, err := sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.EnsurePerson(ctx, core.Identity{Platform: "console", User: "alice"}, "", core.SystemClock{}.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	again, err := s.PersonByIdentity(ctx, core.Identity{Platform: "console", User: "alice"})
	if err != nil || again.ID != p.ID {
		t.Fatalf("after reopen: %+v, %v", again, err)
	}
	if _, err := s.DB().Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', CURRENT_TIMESTAMP)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = sqlstore.Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer entraide") {
		t.Fatalf("opening a newer schema: %v, want a clear refusal", err)
	}
}

func TestOpenErrorsSayWhatFailed(t *testing.T) {
	_, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "missing-dir", "x.db"))
	if err == nil || !strings.Contains(err.Error(), "sqlite") {
		t.Fatalf("Open in a missing directory: %v", err)
	}
	_, err = sqlstore.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err == nil || !strings.Contains(err.Error(), "postgres") {
		t.Fatalf("Open of an unreachable PostgreSQL: %v", err)
	}
}

func TestDialectOf(t *testing.T) {
	for in, want := range map[string]sqlstore.Dialect{
		"postgres://u@h/db":   sqlstore.Postgres,
		"postgresql://u@h/db": sqlstore.Postgres,
		"entraide.db":         sqlstore.SQLite,
		"/var/lib/e.db":       sqlstore.SQLite,
	} {
		if got := sqlstore.DialectOf(in); got != want {
			t.Errorf("DialectOf(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestPostgresPreparedStatementsGoStale checks the statement cache on
// PostgreSQL: a statement whose plan went stale (a migration by another
// process changed the type of a column it returns) is prepared again, and
// statement_cache=off in the URL keeps statements unprepared.
func TestPostgresPreparedStatementsGoStale(t *testing.T) {
	ctx := context.Background()
	url := sqlstoretest.PostgresURL(t)
	s, err := sqlstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.DB().SetMaxOpenConns(1) // one connection: the one the statement is prepared on
	if err := s.SetCheckpoint(ctx, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // run, then run prepared
		if v, err := s.Checkpoint(ctx, "k"); err != nil || v != "v1" {
			t.Fatalf("Checkpoint = %q, %v", v, err)
		}
	}
	if _, err := s.DB().ExecContext(ctx, "ALTER TABLE checkpoints ALTER COLUMN value TYPE VARCHAR(4000)"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Checkpoint(ctx, "k"); err != nil || v != "v1" {
		t.Fatalf("after the column changed type: Checkpoint = %q, %v", v, err)
	}
	err = s.InTx(ctx, func(tx core.Store) error {
		v, err := tx.(*sqlstore.Store).Checkpoint(ctx, "k")
		if err == nil && v != "v1" {
			t.Errorf("in a transaction: Checkpoint = %q", v)
		}
		return err
	})
	if err != nil {
		t.Fatalf("in a transaction, after preparing again: %v", err)
	}

	off, err := sqlstore.Open(ctx, url+"&statement_cache=off")
	if err != nil {
		t.Fatalf("with statement_cache=off: %v", err)
	}
	defer off.Close()
	if v, err := off.Checkpoint(ctx, "k"); err != nil || v != "v1" {
		t.Fatalf("with statement_cache=off: Checkpoint = %q, %v", v, err)
	}
}

func TestKeepPeopleSQLite(t *testing.T)   { testKeepPeople(t, sqlstoretest.SQLite(t)) }
func TestKeepPeoplePostgres(t *testing.T) { testKeepPeople(t, sqlstoretest.Postgres(t)) }

// testKeepPeople checks that a transaction reads the people of a batch's
// accounts in one statement and then answers from memory, for those found
// and those not; that adding a person keeps what was read, and that a
// rename forgets it.
func testKeepPeople(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	now := core.SystemClock{}.Now()
	alice := core.Identity{Platform: "console", User: "alice"}
	bob := core.Identity{Platform: "console", User: "bob"}
	a, err := s.EnsurePerson(ctx, alice, "Alice", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.KeepPeople(ctx, []core.Identity{alice}); err != nil {
		t.Fatalf("outside a transaction: %v", err)
	}
	err = s.InTx(ctx, func(tx core.Store) error {
		st := tx.(*sqlstore.Store)
		ran := func(what string, want int64, f func()) {
			t.Helper()
			before := st.Statements()
			f()
			if n := st.Statements() - before; n != want {
				t.Errorf("%s: %d statements, want %d", what, n, want)
			}
		}
		ran("KeepPeople of alice, bob and alice again", 1, func() {
			if err := st.KeepPeople(ctx, []core.Identity{alice, bob, alice}); err != nil {
				t.Fatal(err)
			}
		})
		ran("KeepPeople of the same accounts again", 0, func() { st.KeepPeople(ctx, []core.Identity{bob, alice}) })
		ran("alice, kept", 0, func() {
			if p, err := st.PersonByIdentity(ctx, alice); err != nil || p != a {
				t.Errorf("alice: %+v, %v; want %+v", p, err, a)
			}
		})
		ran("bob, kept as nobody", 0, func() {
			if _, err := st.PersonByIdentity(ctx, bob); !errors.Is(err, core.ErrNotFound) {
				t.Errorf("bob: %v, want not found", err)
			}
		})
		var b core.Person
		ran("bob added", 2, func() {
			var err error
			if b, err = st.EnsurePerson(ctx, bob, "Bob", now); err != nil || b.Identity != bob || b.ID == a.ID {
				t.Errorf("EnsurePerson(bob): %+v, %v", b, err)
			}
		})
		ran("alice and bob after bob was added", 0, func() {
			if p, err := st.PersonByIdentity(ctx, alice); err != nil || p != a {
				t.Errorf("alice: %+v, %v", p, err)
			}
			if p, err := st.PersonByIdentity(ctx, bob); err != nil || p != b {
				t.Errorf("bob: %+v, %v; want %+v", p, err, b)
			}
		})
		ran("alice renamed, then read", 2, func() {
			if _, err := st.EnsurePerson(ctx, alice, "Alice B.", now); err != nil {
				t.Fatal(err)
			}
			if p, err := st.PersonByIdentity(ctx, bob); err != nil || p != b {
				t.Errorf("bob after the rename: %+v, %v", p, err)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.PersonByIdentity(ctx, bob); err != nil || p.DisplayName != "Bob" {
		t.Errorf("bob after commit: %+v, %v", p, err)
	}
}

func TestExpertLoadsKeepPeopleSQLite(t *testing.T) {
	testExpertLoadsKeepPeople(t, sqlstoretest.SQLite(t))
}
func TestExpertLoadsKeepPeoplePostgres(t *testing.T) {
	testExpertLoadsKeepPeople(t, sqlstoretest.Postgres(t))
}

// testExpertLoadsKeepPeople checks that the experts whose loads a
// transaction read are then told without reading them again: People
// answers from memory, as it would have read them, the preferred account
// of an expert with two first.
func testExpertLoadsKeepPeople(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	now := core.SystemClock{}.Now()
	person := func(platform, user string) core.Person {
		p, err := s.EnsurePerson(ctx, core.Identity{Platform: core.Platform(platform), User: user}, user, now)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	carol, carolSlack, dave := person("console", "carol"), person("slack", "U1"), person("console", "dave")
	if err := s.MergePeople(ctx, carol.ID, carolSlack.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPreferredIdentity(ctx, carol.ID, carolSlack.Identity); err != nil {
		t.Fatal(err)
	}
	for _, p := range []core.Person{carol, dave} {
		if err := s.SaveExpert(ctx, core.Expert{Person: p.ID, Topics: []string{"achats"}, Available: true, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	ids := []core.PersonID{carol.ID, dave.ID}
	want, err := s.People(ctx, ids)
	if err != nil || want[0].Identity != carolSlack.Identity {
		t.Fatalf("People outside a transaction: %+v, %v; want carol by her preferred account %v", want, err, carolSlack.Identity)
	}
	err = s.InTx(ctx, func(tx core.Store) error {
		st := tx.(*sqlstore.Store)
		loads, err := st.ExpertLoads(ctx, ids, now.Add(-24*time.Hour))
		if err != nil || len(loads) != 2 || loads[carol.ID].Expert.Person != carol.ID {
			t.Fatalf("ExpertLoads: %+v, %v", loads, err)
		}
		before := st.Statements()
		got, err := st.People(ctx, ids)
		if n := st.Statements() - before; n != 0 {
			t.Errorf("People after ExpertLoads ran %d statements, want 0", n)
		}
		if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("People after ExpertLoads: %+v, %v; want %+v", got, err, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
