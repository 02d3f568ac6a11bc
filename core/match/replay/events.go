// Package replay replays Stack Exchange event streams (the CQA benchmark
// format) through the match engine and through reference baselines, and
// computes routing and dedupe quality figures.
//
// The replay is strictly causal: at each question the rankers see only the
// earlier events and the question's own fields. The fields "score" and
// "accepted" are never decoded, and "eval" is read only by the scorer.
package replay

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Event is one line of an events.jsonl stream. Answer "score" and
// "accepted" are deliberately absent: they are dump-time values.
type Event struct {
	Type     string   `json:"type"`
	ID       string   `json:"id"`
	Site     string   `json:"site"`
	At       string   `json:"at"`
	Author   string   `json:"author"`
	Title    string   `json:"title"`
	Body     string   `json:"body"`
	Tags     []string `json:"tags"`
	Question string   `json:"question"`
	Target   string   `json:"target"`
	Kind     string   `json:"kind"`
	// Eval marks the questions that may be scored. Only the scorer reads it.
	Eval bool `json:"eval"`

	time time.Time
}

// Time returns the event time.
func (e *Event) Time() time.Time { return e.time }

// Sites lists the sub-directories of dir that hold an events.jsonl file,
// sorted by name.
func Sites(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("replay: list %s: %w", dir, err)
	}
	var sites []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, e.Name(), "events.jsonl")); err == nil && !st.IsDir() {
			sites = append(sites, e.Name())
		}
	}
	sort.Strings(sites)
	if len(sites) == 0 {
		return nil, fmt.Errorf("replay: no <site>/events.jsonl under %s", dir)
	}
	return sites, nil
}

// LoadEvents reads one events.jsonl stream.
func LoadEvents(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: open %s: %w", path, err)
	}
	defer f.Close()
	var evs []Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil {
			return nil, fmt.Errorf("replay: parse %s line %d: %w", path, line, err)
		}
		t, err := time.Parse(time.RFC3339Nano, ev.At)
		if err != nil {
			return nil, fmt.Errorf("replay: parse time %s line %d: %w", path, line, err)
		}
		ev.time = t
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("replay: read %s: %w", path, err)
	}
	return evs, nil
}
