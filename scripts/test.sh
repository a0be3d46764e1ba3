#!/usr/bin/env bash
# Runs every test: formatting and lints, native Rust tests (cache-core, sync-server against a
# real redis-server), wasm-bindgen tests in headless Chromium, the packed npm package and the
# web demo build, and the browser suites (Playwright + Chromium). Installs what is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
run() { "$@" 2>&1 | tee -a "$LOG"; }

ensure_all

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (native and wasm32)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --target wasm32-unknown-unknown -p cache-wasm --all-targets -- -D warnings

step "native tests"
run cargo test --workspace

step "wasm-bindgen tests in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver run cargo test --target wasm32-unknown-unknown -p cache-wasm

step "npm package"
bash scripts/build-package.sh

step "web demo build"
ensure_npm_packages "$ROOT/web-demo"
(cd web-demo && npx vite build --logLevel warn)

step "Vue and Pinia adapters (Vitest)"
NO_COLOR=1 run npx vitest run

step "browser suites (against the hub binary and a real redis-server)"
cargo build -p sync-server
run node --test --test-concurrency=1 tests/

sum() { grep -oE '[0-9]+' | awk '{ s += $1 } END { print s + 0 }'; }
passed=$(grep -hoE '(test result: [a-zA-Z]+\. [0-9]+ passed|^# pass [0-9]+|^ +Tests +[0-9]+ passed)' "$LOG" | sum)
failed=$(grep -hoE '(; [0-9]+ failed|^# fail [0-9]+|^ +Tests +[0-9]+ failed)' "$LOG" | sum)
echo
echo "tests: ${passed} passed, ${failed} failed"
