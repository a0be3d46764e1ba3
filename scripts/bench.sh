#!/usr/bin/env bash
# Runs the benchmarks of docs/BENCHMARKS.md and prints their tables.
#   bash scripts/bench.sh          # every benchmark
#   bash scripts/bench.sh cache    # one of: cache, api, sync, sw, response-cache
#   bash scripts/bench.sh sw       # a cache-first hit: our service worker, Workbox, none
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

ensure_all
bash scripts/build-package.sh >/dev/null
ensure_npm_packages "$ROOT/web-demo" # rolldown: bundle sizes as Vite would, and Workbox for its worker

# The server-side cache (Rust, wrk): needs Debian's wrk, installed as setup.sh installs packages.
bench_response_cache() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  command -v wrk >/dev/null || { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends wrk; }
  cargo run -q --profile release-native -p response-cache-bench
}

case "${1:-all}" in
  cache) node bench/cache.bench.mjs ;;
  api) node bench/api.bench.mjs ;;
  sync) cargo build -q -p sync-server && node bench/sync.bench.mjs ;;
  sw) node bench/sw.bench.mjs ;;
  response-cache) bench_response_cache ;;
  all)
    cargo build -q -p sync-server
    for b in cache api sync sw; do node "bench/$b.bench.mjs"; done
    bench_response_cache
    ;;
  *) echo "unknown benchmark: $1 (cache, api, sync, sw, response-cache, all)" >&2; exit 2 ;;
esac
