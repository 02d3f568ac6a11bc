package main

import (
	"log/slog"

	"entraide/adapters/sqlstore"
	"entraide/bots"
)

// platforms returns an adapter for each platform configured in the
// environment.
func platforms(getenv func(string) string, inbox bots.Inbox, store *sqlstore.Store, log *slog.Logger) ([]platformAdapter, error) {
	var out []platformAdapter
	return out, nil
}
