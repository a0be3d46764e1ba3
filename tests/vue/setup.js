// Loads the packed wasm from disk (Node's fetch has no file: URLs).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { initCacheWasm } from 'cache-wasm';

await initCacheWasm(readFileSync(fileURLToPath(new URL('../../target/npm/cache-wasm/wasm/cache_wasm_bg.wasm', import.meta.url))));

// The adapters follow the caches only in a browser (they tell by `window`); tests that play
// server-side rendering delete it for a while.
globalThis.window ??= globalThis;
