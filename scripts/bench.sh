#!/usr/bin/env bash
# Runs the benchmarks of docs/BENCHMARKS.md and prints their tables.
#   bash scripts/bench.sh          # every benchmark
#   bash scripts/bench.sh cache    # one of: cache, api, sync, sw
#   bash scripts/bench.sh sw       # a cache-first hit: our service worker, Workbox, none
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

ensure_all
bash scripts/build-package.sh >/dev/null
ensure_npm_packages "$ROOT/web-demo" # rolldown: bundle sizes as Vite would, and Workbox for its worker

case "${1:-all}" in
  cache) node bench/cache.bench.mjs ;;
  api) node bench/api.bench.mjs ;;
  sync) cargo build -q -p sync-server && node bench/sync.bench.mjs ;;
  sw) node bench/sw.bench.mjs ;;
  all)
    cargo build -q -p sync-server
    for b in cache api sync sw; do node "bench/$b.bench.mjs"; done
    ;;
  *) echo "unknown benchmark: $1 (cache, api, sync, sw, all)" >&2; exit 2 ;;
esac
