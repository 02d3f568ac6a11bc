package matrix

import (
	"encoding/json"
	"strings"
	"testing"

	"entraide/bots"
	"entraide/internal/fixture"
	"entraide/internal/golden"
)

// TestRenderDigest renders the community digest of the shared fixture as
// the homeserver receives it.
func TestRenderDigest(t *testing.T) {
	m := bots.DigestMessage("fr", "!", fixture.Paris, fixture.Digest())
	content := Render(m)
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(content); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	golden.Check(t, "digest.json", got)
	if strings.Contains(content.FormattedBody, "<b>Urgent") || strings.Contains(got, "retirée") || !strings.Contains(got, `"m.mentions": {}`) {
		t.Errorf("markup, a removed item or a mention leaked:\n%s", got)
	}
}
