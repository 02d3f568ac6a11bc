package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"entraide/adapters/sqlstore/sqlstoretest"
)

// TestPurgeCheckpoints drops old records under a prefix only, the prefix
// taken literally (no LIKE wildcards).
func TestPurgeCheckpoints(t *testing.T) {
	ctx := context.Background()
	for backend, open := range sqlstoretest.Backends() {
		t.Run(backend, func(t *testing.T) {
			s := open(t)
			for _, k := range []string{"matrix:@b_1:s:sent:k1", "matrix:@b_1:s:sent:k2", "matrix:@bX1:s:sent:k3", "matrix:@b_1:s:next_batch"} {
				if err := s.SetCheckpoint(ctx, k, "v"); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := s.PurgeCheckpoints(ctx, "matrix:@b_1:s:sent:", time.Now().Add(-time.Hour)); err != nil || n != 0 {
				t.Fatalf("recent records purged: %d, %v", n, err)
			}
			if n, err := s.PurgeCheckpoints(ctx, "matrix:@b_1:s:sent:", time.Now().Add(time.Hour)); err != nil || n != 2 {
				t.Fatalf("purged %d, %v; want the two sent records", n, err)
			}
			for k, want := range map[string]string{"matrix:@b_1:s:sent:k1": "", "matrix:@bX1:s:sent:k3": "v", "matrix:@b_1:s:next_batch": "v"} {
				if got, err := s.Checkpoint(ctx, k); err != nil || got != want {
					t.Errorf("%s = %q, %v; want %q", k, got, err, want)
				}
			}
			if _, err := s.PurgeCheckpoints(ctx, "", time.Now()); err == nil {
				t.Error("an empty prefix purged")
			}
		})
	}
}
