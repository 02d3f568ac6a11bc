#!/usr/bin/env bash
# Runs every fuzz target of the repository for a short time each
# (FUZZTIME, 5s by default): the parsers of untrusted text (commands, posts,
# feed entries, calendars, platform payloads, file names, configuration).
# A failure leaves its input under the package's testdata/fuzz/ and stops
# the script; `go test -run 'FuzzX/<file>' ./pkg` replays it.
# Usage: scripts/fuzz.sh [package-dir-regexp]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
filter=${1:-.}
start=$(date +%s)
count=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  [[ "$dir" =~ $filter ]] || continue
  for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
    echo "== $dir $target ($fuzztime)"
    if ! out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$dir" 2>&1); then
      # Go's fuzzing engine sometimes ends a run on a busy machine with
      # "context deadline exceeded" and no failing input: not a finding.
      if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
        echo "   (the fuzzing engine timed out stopping its workers; no failing input: not a finding)"
        continue
      fi
      echo "$out"
      exit 1
    fi
    echo "$out" | grep -m1 'elapsed:.*execs' | tail -n 1 || true
    count=$((count + 1))
  done
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./.ci/' | sed 's#^\./##' | sort)
echo "== $count fuzz targets, $fuzztime each, in $(( $(date +%s) - start )) s"
