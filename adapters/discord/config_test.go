package discord

import (
	"strings"
	"testing"
	"time"
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
