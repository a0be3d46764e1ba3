// cache-wasm: a coherent browser cache (memory, localStorage, sessionStorage) in WebAssembly.
import { initCacheWasm, bindings } from './wasm.js';
import { checkString } from './errors.js';
import { Cache, DEFAULTS, estimateBytes } from './cache.js';

export { initCacheWasm, Cache, DEFAULTS, estimateBytes };
export { isCacheError } from './errors.js';
export { connectSync, SyncClient, SYNC_DEFAULTS, backoffDelay } from './sync.js';
export { responsePolicy } from './http.js';
export { globToRegExp } from './glob.js';
export { createApiCache, ApiCache } from './api/api-cache.js';
export { RULE_DEFAULTS } from './api/rules.js';
export { cachedAxios } from './api/axios.js';

/**
 * Creates a cache. Options: storage ('memory' | 'local' | 'session'), namespace, version,
 * defaultTtlMs, maxEntries, maxBytes, clock (() => ms), sizeOf ((value, key) => bytes),
 * wasm (where to load the module from).
 */
export async function createCache(options = {}) {
  await initCacheWasm(options.wasm);
  return new Cache(options);
}

/** Joins key parts with ':', escaping each so parts cannot merge or act as wildcards. Call after initCacheWasm. */
export function key(...parts) {
  return bindings.keyFromParts(parts.map((part) => checkString(String(part), 'InvalidKey', 'each key part')));
}
export { registerServiceWorker } from './register-sw.js';
export { forwardToServiceWorker, hubUpdateToMessage } from './forward-sw.js';
