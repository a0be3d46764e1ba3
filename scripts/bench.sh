#!/usr/bin/env bash
# Runs the benchmarks of docs/BENCHMARKS.md and prints their tables.
#   bash scripts/bench.sh          # every benchmark
#   bash scripts/bench.sh cache    # the browser caches only
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

ensure_all
bash scripts/build-package.sh >/dev/null
ensure_npm_packages "$ROOT/web-demo" # rolldown, to measure bundle sizes as Vite would

case "${1:-all}" in
  cache | all) node bench/cache.bench.mjs ;;
  *) echo "unknown benchmark: $1" >&2; exit 2 ;;
esac
