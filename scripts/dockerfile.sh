#!/usr/bin/env bash
# Checks the Dockerfile: builds the image where a Docker engine answers,
# and lints it in any case with dockerfilelint (from the npm registry,
# installed once into the cache, outside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${XDG_CACHE_HOME:-$HOME/.cache}/entraide-dockerfilelint
if [ ! -x "$cache/node_modules/.bin/dockerfilelint" ]; then
  mkdir -p "$cache"
  (cd "$cache" && npm install --silent --no-audit --no-fund dockerfilelint@1.8.0 >/dev/null)
fi
"$cache/node_modules/.bin/dockerfilelint" Dockerfile
if docker info >/dev/null 2>&1; then
  docker build --build-arg VERSION="$(git describe --tags --always --dirty 2>/dev/null || echo dev)" -t entraide:ci .
  docker image inspect entraide:ci --format 'image entraide:ci: {{.Size}} bytes'
else
  echo "no Docker engine here: the Dockerfile is linted, not built"
fi
