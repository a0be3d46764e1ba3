// Loads the wasm module once per JS realm. `new URL(..., import.meta.url)` inside the
// generated glue makes the same file work in Vite, in a plain <script type="module"> and in a
// module service worker.
import init, * as bindings from './wasm/cache_wasm.js';

let ready = null;

/**
 * Instantiates the wasm module (once; later calls share the first). Pass a URL, `Response`,
 * `BufferSource` or `WebAssembly.Module` to load it from somewhere else.
 */
export function initCacheWasm(moduleOrPath) {
  ready ??= init(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath }).then(
    () => bindings,
  );
  return ready;
}

export { bindings };
