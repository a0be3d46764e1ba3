#!/usr/bin/env bash
# Installs what building, testing and running the project needs, skipping what is there:
# Debian packages (redis-server, chromium, chromium-driver), the wasm32 target,
# wasm-bindgen-cli at exactly the lockfile's wasm-bindgen version, and npm packages (npm ci,
# only when a lockfile changed). Sourced by scripts/test.sh and scripts/demo.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

step() { printf '\n== %s\n' "$*"; }

ensure_debian_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
  [ ${#missing[@]} -eq 0 ] && return
  step "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

ensure_wasm_target() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown && return
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
}

# The version of wasm-bindgen that Cargo.lock pins; the CLI must match it exactly.
lockfile_wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

ensure_wasm_bindgen_cli() {
  local want have
  want="$(lockfile_wasm_bindgen_version)"
  have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
  [ "$have" = "$want" ] && return
  step "installing wasm-bindgen-cli $want (found: ${have:-none})"
  # Not --locked: the CLI's own lockfile may name a transitive patch release that the
  # registry mirror does not carry; any semver-compatible resolution builds the same CLI.
  cargo install wasm-bindgen-cli --version "=$want" --force
}

# npm ci in $1, only when its package-lock.json differs from the one last installed.
ensure_npm_packages() {
  local dir="$1" stamp hash
  stamp="$dir/node_modules/.lock-hash"
  hash="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && return
  step "npm ci in ${dir#"$ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund)
  echo "$hash" >"$stamp"
}

ensure_all() {
  ensure_debian_packages
  ensure_wasm_target
  ensure_wasm_bindgen_cli
  ensure_npm_packages "$ROOT"
}
