package discord

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"entraide/bots"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnv(t *testing.T) {
	cfg, enabled, err := ConfigFromEnv(env(nil))
	if enabled || err != nil {
		t.Fatalf("no variables: enabled %v, err %v", enabled, err)
	}
	cfg, enabled, err = ConfigFromEnv(env(map[string]string{
		EnvToken: "secret-token", EnvAppID: "100000000000000001", EnvGuildIDs: " 500000000000000001, 500000000000000002 ,",
		EnvMessageContent: "true",
	}))
	if !enabled || err != nil {
		t.Fatalf("enabled %v, err %v", enabled, err)
	}
	if cfg.APIURL != DefaultAPIURL || len(cfg.GuildIDs) != 2 || !cfg.MessageContent || cfg.Prefix != "!" {
		t.Errorf("cfg %+v", cfg)
	}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvAppID: "1"}, EnvToken},
		{map[string]string{EnvToken: "secret-token"}, EnvAppID},
		{map[string]string{EnvToken: "secret-token", EnvAppID: "app"}, EnvAppID},
		{map[string]string{EnvToken: "secret-token", EnvAppID: "1", EnvGuildIDs: "general"}, EnvGuildIDs},
		{map[string]string{EnvToken: "secret-token", EnvAppID: "1", EnvAPIURL: "discord.com/api"}, EnvAPIURL},
		{map[string]string{EnvToken: "secret-token", EnvAppID: "1", EnvMessageContent: "oui"}, EnvMessageContent},
		{map[string]string{EnvToken: "secret token", EnvAppID: "1"}, EnvToken},
	} {
		_, _, err := ConfigFromEnv(env(c.env))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want one naming %s", c.env, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error shows the token: %v", err)
		}
	}
}

func TestSlashText(t *testing.T) {
	opt := func(name, value string) slashOption { return slashOption{Name: name, Value: []byte(value)} }
	for _, c := range []struct {
		name string
		opts []slashOption
		want string
	}{
		{"ask", []slashOption{opt("question", `"Quoi ?"`)}, "!ask Quoi ?"},
		{"expert", nil, "!expert"},
		{"expert", []slashOption{opt("topics", `"off"`)}, "!expert off"},
		{"answer", []slashOption{opt("text", `"Oui."`), opt("id", `12`)}, "!answer 12 Oui."},
		{"answer", []slashOption{opt("text", `"Oui."`)}, "!answer Oui."},
		{"resolve", []slashOption{opt("id", `3`)}, "!resolve 3"},
		{"pass", nil, "!pass"},
		{"mine", nil, "!mine"},
		{"help", nil, "!help"},
		{"snooze", []slashOption{opt("id", `4`), opt("delay", `"3j"`)}, "!snooze 4 3j"},
		{"snooze", nil, "!snooze"},
		{"search", []slashOption{opt("text", `"avenant"`)}, "!search avenant"},
		{"away", []slashOption{opt("until", `"2026-12-01"`)}, "!away 2026-12-01"},
		{"back", nil, "!back"},
		{"entraide", []slashOption{opt("command", `"offres"`)}, "!offres"},
		{"entraide", []slashOption{opt("command", `"/rsvp 3 oui"`)}, "!rsvp 3 oui"},
		{"entraide", []slashOption{opt("command", `"!digest"`)}, "!digest"},
		{"entraide", []slashOption{opt("command", `"Qui valide un avenant ?"`)}, "!ask Qui valide un avenant ?"},
		{"entraide", nil, "!help"},
	} {
		if got := slashText("!", c.name, c.opts); got != c.want {
			t.Errorf("/%s %v = %q, want %q", c.name, c.opts, got, c.want)
		}
	}
}

func TestCommandText(t *testing.T) {
	a := &Adapter{cfg: Config{Prefix: "!"}}
	for _, c := range []struct {
		in        string
		addressed bool
		want      string
	}{
		{"", true, "!help"},
		{"ask Quoi ?", true, "!ask Quoi ?"},
		{"Réponse: 3 oui", false, "!Réponse: 3 oui"},
		{"Comment faire ?", true, "!ask Comment faire ?"},
		{"Comment faire ?", false, "Comment faire ?"},
		{"!mine", false, "!mine"},
	} {
		if got := a.commandText(c.in, c.addressed); got != c.want {
			t.Errorf("commandText(%q, %v) = %q, want %q", c.in, c.addressed, got, c.want)
		}
	}
}

func TestSnowflakeTime(t *testing.T) {
	// Discord's documented example: 175928847299117063 was made on
	// 2016-04-30 11:18:25.796 UTC.
	if got, want := SnowflakeTime("175928847299117063"), time.Date(2016, 4, 30, 11, 18, 25, 796e6, time.UTC); !got.Equal(want) {
		t.Errorf("SnowflakeTime = %v, want %v", got, want)
	}
	for _, s := range []string{"", "abc", "-1", "123456789012345678901"} {
		if got := SnowflakeTime(s); !got.IsZero() {
			t.Errorf("SnowflakeTime(%q) = %v, want zero", s, got)
		}
	}
}

// TestCommandListFollowsDiscordRules checks the registered commands against
// Discord's rules (names of 1 to 32 lowercase letters, digits, '-' or '_',
// in every locale; descriptions of 1 to 100 characters; required options
// first; no name twice), and that each command's text runs one of the
// bot's commands.
func TestCommandListFollowsDiscordRules(t *testing.T) {
	name := regexp.MustCompile(`^[-_\p{Ll}\p{Lo}\p{N}]{1,32}$`)
	checkNames := func(what, n string, loc map[string]string) {
		for _, v := range append([]string{n}, slices.Collect(maps.Values(loc))...) {
			if !name.MatchString(v) {
				t.Errorf("%s: name %q is not a valid Discord name", what, v)
			}
		}
	}
	checkDesc := func(what, d string, loc map[string]string) {
		for _, v := range append([]string{d}, slices.Collect(maps.Values(loc))...) {
			if n := utf8.RuneCountInString(v); n < 1 || n > 100 {
				t.Errorf("%s: description %q has %d characters, want 1 to 100", what, v, n)
			}
		}
	}
	seen := map[string]bool{}
	for _, c := range commandList(true) {
		if seen[c.Name] {
			t.Errorf("command %s twice", c.Name)
		}
		seen[c.Name] = true
		checkNames(c.Name, c.Name, c.NameLocalizations)
		checkDesc(c.Name, c.Description, c.DescriptionLocalizations)
		optional := false
		for _, o := range c.Options {
			checkNames(c.Name+" "+o.Name, o.Name, o.NameLocalizations)
			checkDesc(c.Name+" "+o.Name, o.Description, o.DescriptionLocalizations)
			if o.Required && optional {
				t.Errorf("%s: required option %s after an optional one", c.Name, o.Name)
			}
			optional = optional || !o.Required
		}
		text := slashText("!", c.Name, nil)
		if c.Name == anyCommand {
			continue // runs whatever it is given: see TestSlashText
		}
		if cmd, _, ok := bots.ParseCommand("!", text); !ok || !bots.IsCommandWord(cmd) || cmd != c.Name {
			t.Errorf("/%s gives %q, not the bot's command %s", c.Name, text, c.Name)
		}
	}
	if len(seen) > 100 {
		t.Errorf("%d commands, Discord takes 100 at most", len(seen))
	}
}
