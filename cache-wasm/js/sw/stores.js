// The caches this worker owns: each is a Cache Storage cache, its entry index and its hot
// memory tier, opened once per worker. Every removal goes through here so the three never
// disagree; least-recently-used eviction across all of them answers a QuotaExceededError.
import { EntryIndex, deleteSaved } from './entry-index.js';
import { MemoryTier } from './memory-tier.js';

const opened = new Map(); // full cache name -> Promise<Store>
const settings = new Map(); // full cache name -> hot tier options

/** Counters of one cache (kept in the worker's memory: a restarted worker starts at zero). */
function newStats() {
  return { hits: 0, memoryHits: 0, misses: 0, networkFetches: 0, networkErrors: 0, stored: 0, notCached: 0, expired: 0, evicted: 0, quotaEvictions: 0, invalidated: 0 };
}

export class Store {
  constructor(name, cache, index, hot, namespace) {
    this.name = name;
    /** The hub namespace whose resets clear this cache (undefined: every reset). */
    this.namespace = namespace;
    this.cache = cache;
    this.index = index;
    this.hot = hot;
    this.stats = newStats();
  }

  /**
   * Removes `url` from the cache, its index and the memory tier. Every variant goes: the index
   * holds one entry per URL, and `delete(url)` alone would keep a response stored with `Vary`
   * for other request headers, which a restarted worker would then adopt and serve.
   */
  async remove(url) {
    this.hot.delete(url);
    await Promise.all([this.cache.delete(url, { ignoreVary: true }), this.index.delete(url)]);
  }

  /** Removes every entry, keeping the (now empty) cache. */
  async clear() {
    this.hot.clear();
    const urls = this.index.urls();
    await Promise.all([...urls.map((url) => this.cache.delete(url, { ignoreVary: true })), this.index.clear()]);
    for (const request of await this.cache.keys()) await this.cache.delete(request, { ignoreVary: true });
    return urls.length;
  }
}

/** Sets a cache's options before it is first opened: `namespace`, `memoryEntries`, `memoryMaxBytes`. */
export function configureStore(name, options) {
  settings.set(name, options);
}

/** The store of cache `name` (opened and indexed once per worker). */
export function openStore(name) {
  let store = opened.get(name);
  if (!store) {
    store = (async () => {
      const cache = await caches.open(name);
      return new Store(name, cache, await EntryIndex.load(name, cache), new MemoryTier(settings.get(name)), settings.get(name)?.namespace);
    })();
    opened.set(name, store);
    store.catch(() => opened.delete(name)); // a failed open is retried next time
  }
  return store;
}

/** The stores opened so far (every configured cache once the router has started). */
export function openStores() {
  return Promise.all([...opened.values()]);
}

/** Deletes cache `name` entirely: Cache Storage, index and memory. */
export async function dropStore(name) {
  const store = opened.get(name);
  opened.delete(name);
  if (store) (await store.catch(() => null))?.hot.clear();
  await caches.delete(name);
  await deleteSaved(name);
}

/**
 * Evicts least-recently-used entries across every open store, `count` of them, never `keep`
 * (`{ store, url }`). Resolves to how many were evicted.
 */
export async function evictLeastRecentlyUsed(count, keep) {
  const all = [];
  for (const store of await openStores()) {
    for (const [url, meta] of store.index.entries()) {
      if (store === keep?.store && url === keep.url) continue;
      all.push({ store, url, usedAt: meta.usedAt });
    }
  }
  all.sort((a, b) => a.usedAt - b.usedAt);
  const victims = all.slice(0, count);
  for (const { store, url } of victims) {
    await store.remove(url);
    store.stats.quotaEvictions++;
  }
  return victims.length;
}
