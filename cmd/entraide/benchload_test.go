package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchLoad runs "entraide bench load" briefly on SQLite and Slack
// alone and checks its invariants, not its timings: every question asked
// is stored and acknowledged once, and no one sees a message twice.
func TestBenchLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load run skipped in -short mode")
	}
	var out, errOut bytes.Buffer
	args := []string{"--json", "--duration", "2s", "--rate", "15", "--settle", "60s",
		"--database", filepath.Join(t.TempDir(), "load.db")}
	if err := runBenchLoad(context.Background(), args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("bench load %v: %v\n%s", args, err, errOut.String())
	}
	var r loadReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	t.Logf("%s", out.String())
	if r.Questions == 0 || r.Lost != 0 || r.Duplicated != 0 || !r.Settled {
		t.Errorf("questions %d, lost %d, duplicated %d, settled %v: want questions, none lost or duplicated, settled",
			r.Questions, r.Lost, r.Duplicated, r.Settled)
	}
	if r.Database != "sqlite" || len(r.Platforms) != 1 || r.Platforms[0] != "slack" {
		t.Errorf("database %q, platforms %q: want sqlite and slack", r.Database, r.Platforms)
	}
	// Each question reaches its topic's three experts.
	if r.DMs != 3*r.Questions || r.MessagesSent != 4*r.Questions {
		t.Errorf("%d DMs and %d messages for %d questions: want 3 DMs and 4 messages per question", r.DMs, r.MessagesSent, r.Questions)
	}
}

func TestBenchLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--matrix"}, "needs a homeserver"},
		{[]string{"--transport", "pigeon"}, "want socket or http"},
		{[]string{"--rate", "0", "--askers", "1", "--experts", "3"}, "must be positive"},
	} {
		var out, errOut bytes.Buffer
		err := runBenchLoad(context.Background(), tc.args, func(string) string { return "" }, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench load %q: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}
