package discord

import (
	"encoding/json"
	"strings"
	"testing"

	"entraide/bots"
	"entraide/internal/fixture"
	"entraide/internal/golden"
)

// TestRenderDigest renders the community digest of the shared fixture as
// Discord receives it.
func TestRenderDigest(t *testing.T) {
	msgs := payloads(bots.DigestMessage("fr", "!", fixture.Paris, fixture.Digest()))
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(msgs); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	golden.Check(t, "digest", got)
	if strings.Contains(got, "retirée") || strings.Contains(got, `"parse": [`) && !strings.Contains(got, `"parse": []`) {
		t.Errorf("a removed item or a mass mention leaked:\n%s", got)
	}
}
