#!/usr/bin/env bash
# Builds and serves the web demo on http://127.0.0.1:${DEMO_PORT:-5173}/. Installs what is
# missing first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

ensure_all
bash scripts/build-package.sh
ensure_npm_packages "$ROOT/web-demo"
(cd web-demo && npx vite build --logLevel warn)
cargo build -p sync-server
step "serving the demo on http://127.0.0.1:${DEMO_PORT:-5173}/ (Ctrl-C stops it)"
# The hub serves the build, the service worker and the demo API, and pushes its invalidations.
exec target/debug/sync-server serve --bind "127.0.0.1:${DEMO_PORT:-5173}" --anonymous \
    --static-dir web-demo/dist --demo-api
