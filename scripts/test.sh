#!/usr/bin/env bash
# The test command of README.md: formatting, vet, and every test with the
# race detector. Tests that need PostgreSQL run when ENTRAIDE_TEST_POSTGRES
# is set (.ci/run sets it) and skip with a message otherwise; tests that
# need the shared Q&A data look for ENTRAIDE_CQA_DIR or ../shared/data/cqa.
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

echo "== go test -race"
go test -race -count=1 "$@" ./...
