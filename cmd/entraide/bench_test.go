package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeStream writes a tiny synthetic site (not real data) under dir.
func writeStream(t *testing.T, dir string) {
	t.Helper()
	var sb strings.Builder
	at := time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)
	ts := func() string { at = at.Add(time.Hour); return at.Format("2006-01-02T15:04:05.000Z") }
	for i := 1; i <= 30; i++ {
		topic := []string{"marché public seuil", "agent congés télétravail"}[i%2]
		fmt.Fprintf(&sb, `{"type":"question","id":"s:q%d","site":"s","at":"%s","author":"s:u%d","title":"%s %d","body":"%s","tags":["t%d"],"eval":%v}`+"\n",
			i, ts(), 10+i%3, topic, i, topic, i%2, i > 6)
		fmt.Fprintf(&sb, `{"type":"answer","id":"s:a%d","question":"s:q%d","at":"%s","author":"s:u%d","body":"réponse","score":1,"accepted":true}`+"\n",
			i, i, ts(), i%2+1)
		if i > 3 && i%5 == 0 {
			fmt.Fprintf(&sb, `{"type":"link","question":"s:q%d","target":"s:q%d","kind":"duplicate","at":"%s"}`+"\n", i, i-2, ts())
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "s"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "s", "events.jsonl"), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunBenchErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the error; "" = success
	}{
		{"no subcommand", nil, "missing subcommand"},
		{"unknown subcommand", []string{"frobnicate"}, "unknown subcommand"},
		{"help", []string{"--help"}, ""},
		{"match help", []string{"match", "--help"}, ""},
		{"scale help", []string{"scale", "-h"}, ""},
		{"match without events", []string{"match"}, "--events DIR is required"},
		{"match missing dir", []string{"match", "--events", filepath.Join(t.TempDir(), "nope")}, "no such file"},
		{"match empty dir", []string{"match", "--events", t.TempDir()}, "no <site>/events.jsonl"},
		{"match bad flag", []string{"match", "--nope"}, "flag provided but not defined"},
		{"scale bad size", []string{"scale", "--experts", "0"}, "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runBench(context.Background(), tt.args, &out, &errOut)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("runBench(%q) = %v, want success", tt.args, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("runBench(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestRunBenchMatchJSON(t *testing.T) {
	dir := t.TempDir()
	writeStream(t, dir)
	var out, errOut bytes.Buffer
	if err := runBench(context.Background(), []string{"match", "--events", dir, "--json", "--budget", "2"}, &out, &errOut); err != nil {
		t.Fatalf("runBench: %v (stderr %s)", err, errOut.String())
	}
	var rep struct {
		Methods map[string]struct {
			Pooled map[string]*float64            `json:"pooled"`
			Sites  map[string]map[string]*float64 `json:"sites"`
		} `json:"methods"`
		Dedupe map[string]struct {
			Pooled map[string]*float64 `json:"pooled"`
		} `json:"dedupe"`
		Budget *struct {
			NPerDay        int `json:"n_per_day"`
			AskedMaxPerDay int `json:"asked_max_per_day"`
			Entraide       struct {
				Pooled map[string]*float64 `json:"pooled"`
			} `json:"entraide"`
		} `json:"budget"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	for _, m := range []string{"entraide", "most_active", "bm25", "random"} {
		p := rep.Methods[m].Pooled
		for _, k := range []string{"n", "mrr", "r5", "p1"} {
			if p[k] == nil {
				t.Errorf("methods.%s.pooled.%s missing", m, k)
			}
		}
		if _, ok := rep.Methods[m].Sites["s"]; !ok {
			t.Errorf("methods.%s.sites.s missing", m)
		}
	}
	for _, m := range []string{"entraide", "bm25"} {
		if _, ok := rep.Dedupe[m].Pooled["r5"]; !ok {
			t.Errorf("dedupe.%s.pooled.r5 missing", m)
		}
	}
	if rep.Budget == nil || rep.Budget.NPerDay != 2 || rep.Budget.AskedMaxPerDay > 2 || rep.Budget.Entraide.Pooled["mrr"] == nil {
		t.Errorf("budget = %+v", rep.Budget)
	}
}

func TestRunBenchMatchTable(t *testing.T) {
	dir := t.TempDir()
	writeStream(t, dir)
	var out, errOut bytes.Buffer
	if err := runBench(context.Background(), []string{"match", "--events", dir}, &out, &errOut); err != nil {
		t.Fatalf("runBench: %v", err)
	}
	for _, want := range []string{"POOLED", "entraide", "most_active", "Dedupe"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunBenchScaleJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := runBench(context.Background(), []string{"scale", "--experts", "50", "--questions", "500", "--queries", "20", "--json"}, &out, &errOut); err != nil {
		t.Fatalf("runBench: %v", err)
	}
	var rep map[string]float64
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	for _, k := range []string{"experts", "questions", "build_s", "route_p50_ms", "route_p99_ms", "similar_p50_ms", "similar_p99_ms", "heap_mb"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("scale JSON lacks %q: %s", k, out.String())
		}
	}
	if len(rep) != 8 || rep["experts"] != 50 || rep["questions"] != 500 {
		t.Errorf("scale JSON = %v", rep)
	}
}
