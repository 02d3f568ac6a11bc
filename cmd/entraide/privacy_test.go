package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"entraide/core"
)

func TestParseAccess(t *testing.T) {
	got, err := parseAccess("default=slack:T0123, mail:Interieur.gouv.fr ; justice=matrix:*.Justice.fr,user:slack:U1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]core.AccessRule{
		"default": {"slack:T0123", "mail:interieur.gouv.fr"},
		"justice": {"matrix:*.justice.fr", "user:slack:U1"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for name, rules := range want {
		if strings.Join(rulesText(got[name]), " ") != strings.Join(rulesText(rules), " ") {
			t.Errorf("%s: got %v, want %v", name, got[name], rules)
		}
	}
	if got, err := parseAccess(""); err != nil || got != nil {
		t.Fatalf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{"slack:T1", "default=", "default=slack", "a=slack:T1;a=slack:T2", "=slack:T1", "default=mail:not a domain"} {
		if _, err := parseAccess(bad); err == nil {
			t.Errorf("parseAccess(%q) accepted", bad)
		}
	}
	// A bad community name is caught by the network's validation, naming
	// the variable.
	c := defaultConfig()
	c.Access = "Justice Dept=slack:T1"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "community name") {
		t.Fatalf("Validate: %v", err)
	}
}

func rulesText(rs []core.AccessRule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("xoxb-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ENTRAIDE_SLACK_BOT_TOKEN_FILE": token, "ENTRAIDE_LANG": "en"}
	getenv, err := withSecretFiles(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got := getenv("ENTRAIDE_SLACK_BOT_TOKEN"); got != "xoxb-secret" {
		t.Fatalf("token %q", got)
	}
	if got := getenv("ENTRAIDE_LANG"); got != "en" {
		t.Fatalf("other settings: %q", got)
	}
	env["ENTRAIDE_SLACK_BOT_TOKEN"] = "xoxb-other"
	if _, err := withSecretFiles(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "both set") {
		t.Fatalf("both set: %v", err)
	}
	delete(env, "ENTRAIDE_SLACK_BOT_TOKEN")
	env["ENTRAIDE_SLACK_BOT_TOKEN_FILE"] = filepath.Join(dir, "missing")
	_, err = withSecretFiles(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "ENTRAIDE_SLACK_BOT_TOKEN_FILE") {
		t.Fatalf("missing file: %v", err)
	}
	// The error names the file, never a secret.
	if strings.Contains(err.Error(), "xoxb") {
		t.Fatalf("secret in error: %v", err)
	}
}

func TestDaysValue(t *testing.T) {
	for in, want := range map[string]time.Duration{"730d": 730 * 24 * time.Hour, "48h": 48 * time.Hour, "0": 0, "0d": 0} {
		var v daysValue
		if err := v.Set(in); err != nil || time.Duration(v) != want {
			t.Errorf("Set(%q) = %v, %v", in, time.Duration(v), err)
		}
	}
	for _, bad := range []string{"x", "-1d", "1.5d", "-3h", "99999999d"} {
		var v daysValue
		if err := v.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	c := defaultConfig()
	c.Network.Retention.Questions = time.Hour
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "ENTRAIDE_RETENTION_QUESTIONS") {
		t.Fatalf("Validate: %v", err)
	}
}

// TestConfigCheckReadsSecretFiles: a token given as a file enables its
// platform, and neither the check's output nor its errors show it.
func TestConfigCheckReadsSecretFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "discord-token")
	if err := os.WriteFile(path, []byte("file-token-456\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := entraide(t, map[string]string{"ENTRAIDE_DISCORD_TOKEN_FILE": path, "ENTRAIDE_DISCORD_APP_ID": "42",
		"ENTRAIDE_LOG_LEVEL": "debug"}, "", "config", "check")
	if err != nil || !strings.Contains(out, "platforms: discord") {
		t.Fatalf("config check: %v\n%s", err, out)
	}
	if strings.Contains(out+errOut, "file-token-456") {
		t.Fatalf("the token shows:\n%s%s", out, errOut)
	}
	_, _, err = entraide(t, map[string]string{"ENTRAIDE_DISCORD_TOKEN_FILE": path, "ENTRAIDE_DISCORD_TOKEN": "env-token-789"}, "", "config", "check")
	if err == nil || strings.Contains(err.Error(), "token-") && !strings.Contains(err.Error(), "TOKEN") {
		t.Fatalf("both set: %v", err)
	}
	if strings.Contains(err.Error(), "env-token-789") || strings.Contains(err.Error(), "file-token-456") {
		t.Fatalf("a secret in the error: %v", err)
	}
}
