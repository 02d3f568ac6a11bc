package sqlstore_test

import (
	"testing"

	"entraide/adapters/leader"
	"entraide/adapters/leader/leadertest"
	"entraide/adapters/sqlstore/sqlstoretest"
)

func TestLeasesSQLite(t *testing.T) {
	leadertest.Contract(t, func(t testing.TB) leader.Store { return sqlstoretest.SQLite(t) })
}

func TestLeasesPostgres(t *testing.T) {
	leadertest.Contract(t, func(t testing.TB) leader.Store { return sqlstoretest.Postgres(t) })
}
