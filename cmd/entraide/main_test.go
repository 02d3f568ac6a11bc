package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"entraide/adapters/sqlstore/sqlstoretest"
)

// entraide runs the program with args, an environment and standard input.
func entraide(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

const issueScript = `bob> !expert marchés publics, achats
carol> !expert ressources humaines, congés
alice> !ask Comment rédiger le cahier des charges d'un marché public de fournitures ?
bob@dm> !answer Partez du modèle de la DAJ et adaptez les clauses techniques.
`

// checkIssueScenario checks the foundation's promise on the console's output.
func checkIssueScenario(t *testing.T, out string) {
	t.Helper()
	checkAnswerRelayed(t, out)
	if strings.Contains(out, "[dm carol]") {
		t.Errorf("carol was disturbed:\n%s", out)
	}
}

// checkAnswerRelayed checks that bob got the question and alice the answer.
func checkAnswerRelayed(t *testing.T, out string) {
	t.Helper()
	if !strings.Contains(out, "[dm bob] entraide: Question n°1 posée par alice (#general) : / « Comment rédiger le cahier des charges d'un marché public de fournitures ? »") {
		t.Errorf("no DM to bob with the question:\n%s", out)
	}
	if !strings.Contains(out, "[#general thread 3] entraide: @alice, réponse de bob à la question n°1 : / « Partez du modèle de la DAJ et adaptez les clauses techniques. »") {
		t.Errorf("no answer in alice's thread:\n%s", out)
	}
}

func TestConsoleOnEveryBackend(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		env := map[string]string{"ENTRAIDE_DATABASE": filepath.Join(dir, "e.db")}
		out, _, err := entraide(t, env, issueScript, "console")
		if err != nil {
			t.Fatal(err)
		}
		checkIssueScenario(t, out)
	})
	t.Run("postgres", func(t *testing.T) {
		out, _, err := entraide(t, nil, issueScript, "--database", sqlstoretest.PostgresURL(t), "console")
		if err != nil {
			t.Fatal(err)
		}
		checkIssueScenario(t, out)
	})
}

func TestRunWithoutPlatformReadsTheConsole(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	out, logs, err := entraide(t, map[string]string{"ENTRAIDE_DATABASE": db}, issueScript)
	if err != nil {
		t.Fatal(err)
	}
	checkIssueScenario(t, out)
	if !strings.Contains(logs, "no platform configured") {
		t.Errorf("logs do not say why the console runs: %q", logs)
	}
}

func TestDemo(t *testing.T) {
	wd, _ := os.Getwd()
	out, _, err := entraide(t, nil, "", "demo")
	if err != nil {
		t.Fatal(err)
	}
	checkAnswerRelayed(t, out)
	for _, want := range []string{
		"bob> !expert marchés publics, achats",
		"[dm carol] entraide: Question n°2 posée par dan (#rh)",
		"[#rh thread 6] entraide: @dan, réponse de carol à la question n°2",
		"[#general thread 5] entraide: Question n°1 marquée comme résolue.",
		"Commande inconnue : !aks. Vouliez-vous dire !ask ?",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(wd, "entraide.db")); err == nil {
		t.Error("the demo wrote entraide.db in the working directory")
	}
}

func TestHelpAndVersion(t *testing.T) {
	out, _, err := entraide(t, nil, "", "help")
	if err != nil || !strings.Contains(out, "console") || !strings.Contains(out, "ENTRAIDE_DATABASE") {
		t.Fatalf("help: %v\n%s", err, out)
	}
	_, errOut, err := entraide(t, nil, "", "--help")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut, "ENTRAIDE_DAILY_BUDGET") {
		t.Fatalf("--help: %v\n%s", err, errOut)
	}
	out, _, err = entraide(t, nil, "", "version")
	if err != nil || !strings.HasPrefix(out, "entraide ") {
		t.Fatalf("version: %v %q", err, out)
	}
}

func TestMigrate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	out, _, err := entraide(t, nil, "", "migrate", "--database", db)
	if err != nil || !strings.Contains(out, "sqlite database migrated") {
		t.Fatalf("migrate: %v %q", err, out)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatal(err)
	}
}

func TestBadSettingsSayWhatToFix(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env: map[string]string{"ENTRAIDE_LANG": "de"}, args: []string{"migrate"}, want: `language "de"`},
		{env: map[string]string{"ENTRAIDE_DAILY_BUDGET": "beaucoup"}, want: "ENTRAIDE_DAILY_BUDGET"},
		{env: map[string]string{"ENTRAIDE_ROUTE_LIMIT": "0"}, args: []string{"migrate"}, want: "route limit 0"},
		{env: map[string]string{"ENTRAIDE_ESCALATE_AFTER": "demain"}, want: "ENTRAIDE_ESCALATE_AFTER"},
		{env: map[string]string{"ENTRAIDE_ESCALATE_AFTER": "10s"}, args: []string{"migrate"}, want: "escalation delay"},
		{env: map[string]string{"ENTRAIDE_TIMEZONE": "Mars/Olympus"}, args: []string{"migrate"}, want: "ENTRAIDE_TIMEZONE"},
		{env: map[string]string{"ENTRAIDE_LOG_LEVEL": "loud"}, args: []string{"migrate"}, want: "ENTRAIDE_LOG_LEVEL"},
		{env: map[string]string{"ENTRAIDE_LOG_FORMAT": "xml"}, args: []string{"migrate"}, want: "ENTRAIDE_LOG_FORMAT"},
		{env: map[string]string{"ENTRAIDE_CONSOLE_ROOM": "general"}, args: []string{"migrate"}, want: "#general"},
		{args: []string{"frobnicate"}, want: `unknown command "frobnicate"`},
		{args: []string{"migrate", "extra"}, want: `unexpected argument "extra"`},
		{args: []string{"migrate", "--database", filepath.Join(dir, "no", "such", "dir.db")}, want: "sqlite"},
	} {
		_, _, err := entraide(t, c.env, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("env %v args %v: error %v, want it to mention %q", c.env, c.args, err, c.want)
		}
	}
}

func TestPlatformSettingsAreChecked(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	_, _, err := entraide(t, map[string]string{"ENTRAIDE_DATABASE": db, "ENTRAIDE_SLACK_BOT_TOKEN": "xoxb-test"}, "", "run")
	if err == nil || !strings.Contains(err.Error(), "ENTRAIDE_SLACK_APP_TOKEN") || strings.Contains(err.Error(), "xoxb-test") {
		t.Fatalf("Slack without a transport: %v", err)
	}
}

func TestSearchFindsResolvedAnswers(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	script := issueScript + "alice> !resolve\nerin> !search rédiger un cahier des charges pour un marché\nerin> !search pizza\nerin> !search\n"
	out, _, err := entraide(t, map[string]string{"ENTRAIDE_DATABASE": db}, script, "console")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Questions déjà résolues : / n°1 « Comment rédiger le cahier des charges d'un marché public de fournitures ? » / → bob : « Partez du modèle de la DAJ et adaptez les clauses techniques. »",
		"Aucune question résolue ne ressemble à votre recherche.",
		"Écrivez ce que vous cherchez après la commande",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// A restart loads the engine from the database: search still finds it.
	out, _, err = entraide(t, map[string]string{"ENTRAIDE_DATABASE": db}, "dan> !chercher cahier des charges\n", "console")
	if err != nil || !strings.Contains(out, "n°1 « Comment rédiger") {
		t.Fatalf("after a restart: %v\n%s", err, out)
	}
}

func TestAskSuggestsAResolvedAnswer(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	script := issueScript + "alice> !resolve\ndan> !ask Un modèle de cahier des charges pour un marché de fournitures ?\n"
	out, _, err := entraide(t, map[string]string{"ENTRAIDE_DATABASE": db}, script, "console")
	if err != nil {
		t.Fatal(err)
	}
	want := "Question n°2 enregistrée et transmise à un expert. Sa réponse arrivera ici. / Une question proche a déjà une réponse, n°1 « Comment rédiger le cahier des charges d'un marché public de fournitures ? » / → bob : « Partez du modèle de la DAJ et adaptez les clauses techniques. » / Si cela vous suffit : !resolve 2"
	if !strings.Contains(out, want) {
		t.Fatalf("no suggestion:\n%s", out)
	}
	if strings.Count(out, "Une question proche") != 1 {
		t.Fatalf("the first question got a suggestion of its own:\n%s", out)
	}
}

// TestREADMEListsEverySetting keeps the README's configuration reference
// complete.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	for _, s := range cfg.settings() {
		if !strings.Contains(string(readme), "`"+s.env+"`") {
			t.Errorf("README.md does not document %s", s.env)
		}
	}
}

// TestConfigCheck validates without connecting: a good configuration is
// summed up without secrets, a bad one lists every mistake by variable.
func TestConfigCheck(t *testing.T) {
	out, _, err := entraide(t, map[string]string{"ENTRAIDE_DISCORD_TOKEN": "secret-token-123", "ENTRAIDE_DISCORD_APP_ID": "42"}, "", "config", "check")
	if err != nil || !strings.Contains(out, "configuration OK") || !strings.Contains(out, "platforms: discord") || strings.Contains(out, "secret-token-123") {
		t.Fatalf("good configuration: %v\n%s", err, out)
	}
	_, _, err = entraide(t, map[string]string{
		"ENTRAIDE_ROUTE_LIMIT": "0", "ENTRAIDE_CONSOLE_ROOM": "general",
		"ENTRAIDE_DIGEST_SCHEDULE": "jamais", "ENTRAIDE_SLACK_BOT_TOKEN": "xoxb-1",
	}, "", "config", "check")
	if err == nil {
		t.Fatal("a bad configuration passed")
	}
	for _, want := range []string{"ENTRAIDE_ROUTE_LIMIT", "ENTRAIDE_CONSOLE_ROOM", "ENTRAIDE_DIGEST_SCHEDULE", "ENTRAIDE_SLACK_APP_TOKEN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s:\n%v", want, err)
		}
	}
	if _, _, err := entraide(t, map[string]string{"ENTRAIDE_NOTICE_BUDGET": "1000"}, "", "config", "check"); err == nil ||
		!strings.Contains(err.Error(), "ENTRAIDE_NOTICE_BUDGET") {
		t.Errorf("notice budget: %v", err)
	}
	if _, _, err := entraide(t, nil, "", "config"); err == nil {
		t.Error(`"config" alone accepted`)
	}
}

// TestConfigFile reads settings from the YAML file ENTRAIDE_CONFIG names:
// the environment wins, lists stand for comma-separated values, and a
// mistake names its line.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good.yaml", `# entraide
ENTRAIDE_ROUTE_LIMIT: 4
ENTRAIDE_DAILY_BUDGET: 9
ENTRAIDE_FEEDS:
  - https://example.gouv.fr/offres.rss
  - https://example.gouv.fr/offres.json
ENTRAIDE_DISCORD_TOKEN: secret-token-123
ENTRAIDE_DISCORD_APP_ID: "42"
`)
	out, _, err := entraide(t, map[string]string{"ENTRAIDE_CONFIG": good, "ENTRAIDE_DAILY_BUDGET": "7"}, "", "config", "check")
	if err != nil || !strings.Contains(out, "4 experts per question, 7 questions per expert per day") || !strings.Contains(out, "platforms: discord") {
		t.Fatalf("good file: %v\n%s", err, out)
	}
	for name, tc := range map[string]struct{ text, want string }{
		"unknown":  {"ENTRAIDE_ROUTE_LIMIT: 3\nENTRAIDE_ROUT_LIMIT: 4\n", `line 2: "ENTRAIDE_ROUT_LIMIT" is not a setting`},
		"nested":   {"ENTRAIDE_FEEDS:\n  a: b\n", "line 2: ENTRAIDE_FEEDS: want a value or a list"},
		"twice":    {"ENTRAIDE_LANG: fr\nENTRAIDE_LANG: en\n", "line 2: ENTRAIDE_LANG is given twice"},
		"not yaml": {"ENTRAIDE_LANG: [fr\n", "not YAML"},
		"list":     {"- ENTRAIDE_LANG\n", "want a mapping of settings"},
		"bad":      {"ENTRAIDE_ROUTE_LIMIT: many\n", `ENTRAIDE_ROUTE_LIMIT="many"`},
	} {
		_, _, err := entraide(t, map[string]string{"ENTRAIDE_CONFIG": write(name+".yaml", tc.text)}, "", "config", "check")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
	if _, _, err := entraide(t, map[string]string{"ENTRAIDE_CONFIG": filepath.Join(dir, "missing.yaml")}, "", "config", "check"); err == nil {
		t.Error("a missing file was accepted")
	}
}

func FuzzParseConfigFile(f *testing.F) {
	f.Add("ENTRAIDE_LANG: fr\nENTRAIDE_FEEDS: [a, b]\n")
	f.Add("- x\n")
	f.Add("ENTRAIDE_FEEDS:\n  a: {b: c}\n")
	f.Fuzz(func(t *testing.T, text string) {
		values, err := parseConfigFile([]byte(text))
		if err == nil {
			for k := range values {
				if !strings.HasPrefix(k, "ENTRAIDE_") {
					t.Fatalf("key %q accepted", k)
				}
			}
		}
	})
}
