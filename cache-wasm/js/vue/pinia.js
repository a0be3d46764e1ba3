// A Pinia plugin: stores with a `cache` option persist the listed state paths with a TTL,
// restore them on start, and reload when the hub invalidates them.
//
//   pinia.use(cachePinia({ caches: { memory, local, session } }));
//   defineStore('cart', { state: () => ({ items: [], token: '' }),
//     cache: { enabled: true, ttl: 60_000, storage: 'local', paths: ['items'], exclude: ['token'] } });
//
// The store's state lives under the key `pinia:<store id>`; `store.$cache.clear()` drops it.
// An invalidation of that key (or a reset) calls the store's `reload` action when it has
// one, else `$reset()`.
import { getCurrentScope, onScopeDispose } from 'vue';
import { onServer } from './context.js';

function pick(state, paths, exclude) {
  const out = {};
  const keys = paths ?? Object.keys(state);
  for (const path of keys) if (!exclude.includes(path) && path in state) out[path] = state[path];
  return out;
}

/** The Pinia plugin; `caches` maps storage names to cache-wasm caches. */
export function cachePinia({ caches }) {
  return ({ store, options }) => {
    const config = options.cache;
    if (!config?.enabled) return;
    const cache = caches[config.storage ?? 'local'];
    if (!cache) throw new TypeError(`cache-wasm/pinia: no cache for storage '${config.storage}'`);
    const key = `pinia:${store.$id}`;
    const exclude = config.exclude ?? [];
    const reload = () => (typeof store.reload === 'function' ? store.reload() : store.$reset?.());
    store.$cache = { clear: () => cache.remove(key), key };
    // Under server-side rendering the caches are shared by every request, and stores are
    // never disposed: nothing is restored, persisted or followed there.
    if (onServer()) return;
    try {
      const saved = cache.get(key);
      if (saved && typeof saved === 'object') store.$patch(pick(saved, config.paths, exclude));
    } catch (err) {
      // A saved state that cannot be read is dropped; `reloadOnError` fetches it afresh.
      cache.remove(key);
      if (config.reloadOnError) reload();
      else throw err;
    }
    const offState = store.$subscribe((_mutation, state) => {
      try {
        cache.set(key, pick(state, config.paths, exclude), { ttlMs: config.ttl });
      } catch (err) {
        console.warn(`cache-wasm/pinia: could not persist ${store.$id}:`, err);
      }
    }, { detached: true });
    const offCache = cache.subscribe(key.replace(/[\\*?]/g, (c) => `\\${c}`), (event) => {
      if (event.type === 'invalidate') reload();
    });
    // Plugins run in the store's effect scope, which `store.$dispose()` stops.
    const off = () => {
      offState();
      offCache();
    };
    if (getCurrentScope()) onScopeDispose(off);
    else {
      const dispose = store.$dispose;
      store.$dispose = () => {
        off();
        dispose.call(store);
      };
    }
  };
}
