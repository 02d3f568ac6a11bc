#!/usr/bin/env bash
# Build Dendrite v0.15.2 once (cached outside the checkout) and start a
# throwaway homeserver on 127.0.0.1:$HS_PORT for the Matrix integration tests
# of adapters/matrix. On success the last line is
#   ENTRAIDE_TEST_MATRIX_HOMESERVER=http://127.0.0.1:18008
# and the server runs in the background (its pid in $HS_DIR/dendrite.pid).
#
#   bash .ci/dendrite-up.sh          start (stops the one this script started before)
#   bash .ci/dendrite-up.sh stop     stop it
#
# The tools module .ci/dendrite (go.mod and go.sum committed) pins Dendrite;
# the first build takes about 5 minutes on 2 cores, later runs about 3 s.
# The configuration comes from `generate-config -ci`: open registration, the
# shared registration secret "complement" (the tests register their own users
# with it), no rate limits, in-memory NATS; federation is turned off.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=.ci/dendrite
VERSION=v0.15.2
HS_PORT=${HS_PORT:-18008}
HS_DIR=${HS_DIR:-/tmp/entraide-dendrite}
HS_BIN=${HS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/entraide-dendrite-$VERSION/bin}
HS_DB=${HS_DB:-}   # optional postgres://... URL; empty = SQLite files in $HS_DIR
URL=http://127.0.0.1:$HS_PORT

# probe succeeds when the homeserver answers /_matrix/client/versions.
probe() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 2 "$URL/_matrix/client/versions" >/dev/null 2>&1
  else
    # No curl: a bare HTTP request through bash's /dev/tcp.
    (exec 3<>"/dev/tcp/127.0.0.1/$HS_PORT" &&
      printf 'GET /_matrix/client/versions HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 &&
      head -n1 <&3 | grep -q ' 200 ') 2>/dev/null
  fi
}

# stop ends the homeserver this script started last, if it still runs.
stop() {
  if [ -f "$HS_DIR/dendrite.pid" ]; then
    pid=$(cat "$HS_DIR/dendrite.pid")
    if kill -0 "$pid" 2>/dev/null && grep -q dendrite "/proc/$pid/cmdline" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$HS_DIR/dendrite.pid"
  fi
}

if [ "${1:-}" = stop ]; then stop; exit 0; fi

tools="dendrite generate-config generate-keys create-account"
built=1
for t in $tools; do [ -x "$HS_BIN/$t" ] || built=0; done
if [ "$built" = 0 ]; then
  echo "building Dendrite $VERSION into $HS_BIN (about 5 minutes the first time)" >&2
  tmp=$(mktemp -d "${HS_BIN%/bin}.tmp.XXXXXX")
  # The tools module has its own go.mod: never let the main module's
  # settings leak in. Install into a temporary directory, then move it in
  # place, so an interrupted build is never taken for a finished one.
  GOFLAGS=-mod=readonly GOWORK=off GOBIN="$tmp" go install -C "$TOOLS" tool
  mkdir -p "$HS_BIN"
  for t in $tools; do mv "$tmp/$t" "$HS_BIN/$t"; done
  rm -rf "$tmp"
fi

stop
if probe; then
  echo "port $HS_PORT already answers Matrix requests but not from $HS_DIR/dendrite.pid: stop that server or set HS_PORT" >&2
  exit 1
fi
rm -rf "$HS_DIR"; mkdir -p "$HS_DIR"; cd "$HS_DIR"
"$HS_BIN/generate-keys" --private-key matrix_key.pem >/dev/null
"$HS_BIN/generate-config" -ci -dir "$HS_DIR" -server localhost ${HS_DB:+-db "$HS_DB"} > dendrite.yaml
sed -i -e 's/disable_federation: false/disable_federation: true/' -e 's/level: trace/level: warn/' dendrite.yaml
# HS_DURABLE=1 keeps Dendrite's internal event stream (NATS JetStream) on
# disk rather than in memory, so that a killed homeserver loses nothing it
# accepted: the homeserver-restart fault test needs it.
if [ "${HS_DURABLE:-}" = 1 ]; then
  sed -i '0,/in_memory: true/s//in_memory: false/' dendrite.yaml
fi
nohup "$HS_BIN/dendrite" -config dendrite.yaml -http-bind-address "127.0.0.1:$HS_PORT" \
  -really-enable-open-registration > dendrite.out 2>&1 < /dev/null &
echo $! > dendrite.pid
for _ in $(seq 1 300); do probe && break; sleep 0.1; done
if ! probe; then
  echo "Dendrite did not answer on $URL within 30 s; its log, $HS_DIR/dendrite.out, ends with:" >&2
  tail -n 20 dendrite.out >&2 || true
  stop
  exit 1
fi
echo "Dendrite $VERSION up (pid $(cat dendrite.pid), data in $HS_DIR; stop: bash .ci/dendrite-up.sh stop)" >&2
echo "ENTRAIDE_TEST_MATRIX_HOMESERVER=$URL"
