#!/usr/bin/env bash
# Builds the cache-wasm npm package: release wasm, wasm-bindgen (--target web), wasm-opt from
# the npm binaryen package (Debian's wasm-opt 108 emits modules Chromium refuses), the JS
# adapters and types, then `npm pack`. Output: target/npm/cache-wasm/ (the unpacked package
# that apps depend on) and target/npm/cache-wasm-<version>.tgz.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

OUT="$CARGO_TARGET_DIR/npm"
PKG="$OUT/cache-wasm"
STAGE="$OUT/stage"

step "building cache-wasm (release, wasm32)"
cargo build --release --target wasm32-unknown-unknown -p cache-wasm

rm -rf "$STAGE" && mkdir -p "$STAGE/wasm"
wasm-bindgen --target web --out-dir "$STAGE/wasm" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/cache_wasm.wasm"
# Call the pinned wasm-opt by path so no other wasm-opt on PATH is used.
"$ROOT/node_modules/.bin/wasm-opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types \
  "$STAGE/wasm/cache_wasm_bg.wasm" -o "$STAGE/wasm/cache_wasm_bg.wasm"
rm -f "$STAGE/wasm/.gitignore" "$STAGE/wasm/package.json"
cp -R "$ROOT"/cache-wasm/js/. "$STAGE/"
cp "$ROOT/README.md" "$STAGE/" 2>/dev/null || true

(cd "$STAGE" && npm pack --silent --pack-destination "$OUT" >/dev/null)
TARBALL="$(ls -t "$OUT"/cache-wasm-*.tgz | head -n1)"
# Swap the unpacked package in whole, so a page loading it never sees a half-written folder.
rm -rf "$PKG.new" "$PKG.old" && mkdir -p "$PKG.new"
tar -xzf "$TARBALL" -C "$PKG.new" --strip-components=1
[ -d "$PKG" ] && mv "$PKG" "$PKG.old"
mv "$PKG.new" "$PKG" && rm -rf "$PKG.old" "$STAGE"
printf 'package: %s (%s bytes wasm, %s bytes gzipped tarball)\n' "$TARBALL" \
  "$(wc -c <"$PKG/wasm/cache_wasm_bg.wasm")" "$(wc -c <"$TARBALL")"
