package slack

import (
	"strings"
	"testing"

	"entraide/bots"
	"entraide/internal/fixture"
	"entraide/internal/golden"
)

// TestRenderDigest renders the community digest of the shared fixture as
// Slack receives it.
func TestRenderDigest(t *testing.T) {
	got := rendered(t, bots.DigestMessage("fr", "!", fixture.Paris, fixture.Digest()))
	golden.Check(t, "digest", got)
	if strings.Contains(mrkdwn(bots.DigestMessage("fr", "!", fixture.Paris, fixture.Digest())), "<!channel>") || strings.Contains(got, "retirée") {
		t.Errorf("a mention or a removed item leaked:\n%s", got)
	}
}
