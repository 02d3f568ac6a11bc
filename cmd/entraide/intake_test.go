package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRunBenchIntakeProducers runs a small intake bench with concurrent
// producers: every question is delivered once, handled and reported.
func TestRunBenchIntakeProducers(t *testing.T) {
	for _, producers := range []int{1, 4} {
		t.Run(strconv.Itoa(producers), func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := []string{"--questions", "60", "--experts", "20", "--producers", strconv.Itoa(producers), "--json",
				"--database", filepath.Join(t.TempDir(), "bench.db")}
			if err := runBenchIntake(context.Background(), args, &out, &errOut); err != nil {
				t.Fatalf("bench intake %v: %v\n%s", args, err, errOut.String())
			}
			var r intakeReport
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("%v in %s", err, out.String())
			}
			if r.Questions != 60 || r.Producers != producers || r.Routed == 0 || r.Messages < 60 {
				t.Errorf("report %+v", r)
			}
		})
	}
}

func TestRunBenchIntakeErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runBenchIntake(context.Background(), []string{"--producers", "0"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "must be positive") {
		t.Errorf("--producers 0: %v, want an error saying it must be positive", err)
	}
}
