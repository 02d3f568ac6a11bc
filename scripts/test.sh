#!/usr/bin/env bash
# The test command of README.md: formatting, vet, and every test with the
# race detector, then the Matrix adapter again with end-to-end encryption
# (build tag goolm). Tests that need PostgreSQL run when
# ENTRAIDE_TEST_POSTGRES is set, those that need a Matrix homeserver when
# ENTRAIDE_TEST_MATRIX_HOMESERVER is set (.ci/run sets both), and skip with a
# message otherwise; tests that need the shared Q&A data look for
# ENTRAIDE_CQA_DIR or ../shared/data/cqa.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(find . -name '*.go' -not -path './.ci/cache/*' -print0 | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
  echo "gofmt would change these files (run gofmt -w on them):"
  echo "$unformatted"
  exit 1
fi

echo "== go vet"
go vet ./...
go vet -tags goolm ./adapters/matrix/... ./cmd/...

echo "== go test -race"
go test -race -count=1 "$@" ./...

echo "== go test core/match/replay without -race (the full-data check against the reference scorer)"
go test -count=1 "$@" ./core/match/replay/

echo "== go test -race -tags goolm (Matrix end-to-end encryption)"
go test -race -count=1 -tags goolm "$@" ./adapters/matrix/...
