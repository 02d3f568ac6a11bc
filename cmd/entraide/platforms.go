package main

import (
	"errors"
	"log/slog"

	"entraide/adapters/discord"
	"entraide/adapters/matrix"
	slackad "entraide/adapters/slack"
	"entraide/adapters/sqlstore"
	"entraide/bots"
)

// platforms returns an adapter for each platform configured in the
// environment; the configuration errors of all of them at once.
func platforms(getenv func(string) string, botCfg bots.Config, inbox bots.Inbox, store *sqlstore.Store, log *slog.Logger) ([]platformAdapter, error) {
	var out []platformAdapter
	var errs []error

	if cfg, enabled, err := matrix.ConfigFromEnv(getenv); err != nil {
		errs = append(errs, err)
	} else if enabled {
		cfg.Prefix = botCfg.Prefix
		a, err := matrix.New(cfg, inbox, store, store.DB().DB, log.With("platform", "matrix"))
		if err != nil {
			errs = append(errs, err)
		} else {
			out = append(out, a)
		}
	}

	if cfg, enabled, err := slackad.ConfigFromEnv(getenv); err != nil {
		errs = append(errs, err)
	} else if enabled {
		cfg.Prefix = botCfg.Prefix
		a, err := slackad.New(cfg, inbox, log.With("platform", "slack"))
		if err != nil {
			errs = append(errs, err)
		} else {
			out = append(out, a)
		}
	}
	if cfg, enabled, err := discord.ConfigFromEnv(getenv); err != nil {
		errs = append(errs, err)
	} else if enabled {
		cfg.Prefix = botCfg.Prefix
		a, err := discord.New(cfg, inbox, store, log.With("platform", "discord"))
		if err != nil {
			errs = append(errs, err)
		} else {
			out = append(out, a)
		}
	}
	return out, errors.Join(errs...)
}

// checkPlatforms reads the platforms' variables without connecting to
// anything: the names of the platforms configured, and every mistake.
func checkPlatforms(getenv func(string) string) ([]string, error) {
	var names []string
	var errs []error
	for _, p := range []struct {
		name string
		read func(func(string) string) (bool, error)
	}{
		{"matrix", func(g func(string) string) (bool, error) { _, on, err := matrix.ConfigFromEnv(g); return on, err }},
		{"slack", func(g func(string) string) (bool, error) { _, on, err := slackad.ConfigFromEnv(g); return on, err }},
		{"discord", func(g func(string) string) (bool, error) { _, on, err := discord.ConfigFromEnv(g); return on, err }},
	} {
		on, err := p.read(getenv)
		if err != nil {
			errs = append(errs, err)
		} else if on {
			names = append(names, p.name)
		}
	}
	return names, errors.Join(errs...)
}
