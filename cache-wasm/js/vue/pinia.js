// A Pinia plugin: stores with a `cache` option persist the listed state paths (keys or dotted
// paths) with a TTL, restore them on start, and reload when the hub invalidates them.
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

// Paths are state keys, or dotted paths into nested objects (`user.token`); a top-level key
// that itself holds a dot is taken as it is.
const NONE = Symbol('none');
const split = (obj, path) => (path in obj ? [path] : path.split('.'));

function at(obj, parts) {
  for (const part of parts) {
    if (obj === null || typeof obj !== 'object' || !(part in obj)) return NONE;
    obj = obj[part];
  }
  return obj;
}

function put(out, parts, value) {
  let o = out;
  for (const part of parts.slice(0, -1)) o = o[part] ??= {};
  o[parts.at(-1)] = value;
}

// Removes a path from `out`, copying the objects along it so the store's state is untouched.
function drop(out, parts) {
  let o = out;
  for (const part of parts.slice(0, -1)) {
    const inner = o[part];
    if (inner === null || typeof inner !== 'object') return;
    o = o[part] = Array.isArray(inner) ? [...inner] : { ...inner };
  }
  delete o[parts.at(-1)];
}

function pick(state, paths, exclude) {
  const out = {};
  for (const path of paths ?? Object.keys(state)) {
    const parts = split(state, path);
    const value = at(state, parts);
    if (value !== NONE) put(out, parts, value);
  }
  for (const path of exclude) drop(out, split(out, path));
  return out;
}

const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

// What of a saved state may be restored: keys the store's state has, holding the same kind of
// value (a state key holding null or undefined takes any). Returns it and what was skipped.
function fit(saved, state) {
  const ok = {};
  const skipped = [];
  for (const [name, value] of Object.entries(saved)) {
    const now = state[name];
    if (name in state && (now == null || kind(now) === kind(value))) ok[name] = value;
    else skipped.push(name);
  }
  return { ok, skipped };
}

function checkPaths(list, option, id) {
  if (list === undefined) return;
  if (!Array.isArray(list) || list.some((p) => typeof p !== 'string' || p.split('.').includes(''))) {
    throw new TypeError(`cache-wasm/pinia: store '${id}': \`${option}\` must list state keys or dotted paths such as 'user.token'`);
  }
}

/** The Pinia plugin; `caches` maps storage names to cache-wasm caches. */
export function cachePinia({ caches }) {
  return ({ store, options }) => {
    const config = options.cache;
    if (!config?.enabled) return;
    const cache = caches[config.storage ?? 'local'];
    if (!cache) throw new TypeError(`cache-wasm/pinia: no cache for storage '${config.storage}'`);
    const key = `pinia:${store.$id}`;
    checkPaths(config.paths, 'paths', store.$id);
    checkPaths(config.exclude, 'exclude', store.$id);
    const exclude = config.exclude ?? [];
    const reload = () => (typeof store.reload === 'function' ? store.reload() : store.$reset?.());
    store.$cache = { clear: () => cache.remove(key), key };
    // Under server-side rendering the caches are shared by every request, and stores are
    // never disposed: nothing is restored, persisted or followed there.
    if (onServer()) return;
    restore(store, cache, key, config, exclude, reload);
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

// Restores the saved state, as far as it fits the store. A saved state that cannot be read,
// or is not an object, is dropped as if absent (with a warning); `reloadOnError` then calls
// the store's reload.
function restore(store, cache, key, config, exclude, reload) {
  let saved;
  try {
    saved = cache.get(key);
    if (saved === undefined) return;
    if (saved === null || typeof saved !== 'object' || Array.isArray(saved)) throw new TypeError('not an object');
    const { ok, skipped } = fit(pick(saved, config.paths, exclude), store.$state);
    if (skipped.length > 0) console.warn(`cache-wasm/pinia: store '${store.$id}': saved ${skipped.join(', ')} skipped (not in its state, or of another type)`);
    store.$patch(ok);
  } catch (err) {
    console.warn(`cache-wasm/pinia: store '${store.$id}': the saved state cannot be read and is dropped:`, err);
    try {
      cache.remove(key);
    } catch {
      // a closed or broken cache: nothing to drop
    }
    if (config.reloadOnError) reload();
  }
}
