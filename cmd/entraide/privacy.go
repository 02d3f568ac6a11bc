package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"entraide/adapters/discord"
	"entraide/adapters/matrix"
	slackad "entraide/adapters/slack"
	"entraide/adapters/sqlstore"
	"entraide/bots"
	"entraide/core"
)

// botDefaults is the conversation's configuration unless told otherwise:
// bots' defaults with the rate limits on.
func botDefaults() bots.Config {
	c := bots.DefaultConfig()
	c.Limit = bots.DefaultRateLimit()
	return c
}

// parseAccess reads ENTRAIDE_ACCESS: "community=rule,rule;other=rule".
func parseAccess(s string) (map[string][]core.AccessRule, error) {
	out := map[string][]core.AccessRule{}
	for _, part := range strings.Split(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, rules, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want community=rule,rule such as default=slack:T0123,mail:interieur.gouv.fr", part)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("community %q appears twice", name)
		}
		out[name] = []core.AccessRule{}
		for _, r := range strings.FieldsFunc(rules, func(r rune) bool { return r == ',' || r == ' ' }) {
			rule, err := core.ParseAccessRule(r)
			if err != nil {
				return nil, err
			}
			out[name] = append(out[name], rule)
		}
		if len(out[name]) == 0 {
			return nil, fmt.Errorf("community %q has no rule: leave it out to keep it open", name)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// secretSettings are the variables that hold secrets. Each may instead be
// given as a file, NAME_FILE, as container secrets are mounted: the value
// never has to be in the environment, and is never logged.
var secretSettings = []string{
	"ENTRAIDE_DATABASE", "ENTRAIDE_SESSION_KEY",
	matrix.EnvPassword, matrix.EnvToken, matrix.EnvPickleKey,
	slackad.EnvBotToken, slackad.EnvAppToken, slackad.EnvSigningSecret,
	discord.EnvToken,
}

// maxSecretFile bounds a secret file: a token, not a document.
const maxSecretFile = 64 << 10

// withSecretFiles returns getenv with the secrets given as NAME_FILE read
// from their files (without the final newline). Giving both NAME and
// NAME_FILE is a mistake.
func withSecretFiles(getenv func(string) string) (func(string) string, error) {
	values := map[string]string{}
	for _, name := range secretSettings {
		path := getenv(name + "_FILE")
		if path == "" {
			continue
		}
		if getenv(name) != "" {
			return nil, fmt.Errorf("%s and %s_FILE are both set: keep one", name, name)
		}
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("%s_FILE=%q: %w", name, path, err)
		}
		if info.Size() > maxSecretFile {
			return nil, fmt.Errorf("%s_FILE=%q: %d bytes, at most %d", name, path, info.Size(), maxSecretFile)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s_FILE=%q: %w", name, path, err)
		}
		v := strings.TrimRight(string(data), "\r\n")
		if v == "" {
			return nil, fmt.Errorf("%s_FILE=%q: the file is empty", name, path)
		}
		values[name] = v
	}
	if len(values) == 0 {
		return getenv, nil
	}
	return func(key string) string {
		if v, ok := values[key]; ok {
			return v
		}
		return getenv(key)
	}, nil
}

type rateValue bots.Rate

func (v *rateValue) String() string { return bots.Rate(*v).String() }
func (v *rateValue) Set(s string) error {
	r, err := bots.ParseRate(s)
	if err != nil {
		return err
	}
	*v = rateValue(r)
	return nil
}

// daysValue is a duration that may also be written in days ("730d").
type daysValue time.Duration

func (v *daysValue) String() string {
	d := time.Duration(*v)
	if d != 0 && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

func (v *daysValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 36500 {
			return fmt.Errorf("%q is not a number of days such as 365d", s)
		}
		*v = daysValue(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a duration such as 365d or 48h", s)
	}
	*v = daysValue(d)
	return nil
}

// The Matrix adapter purges its records of sent messages through the store.
var _ matrix.CheckpointPurger = (*sqlstore.Store)(nil)
