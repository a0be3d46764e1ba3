// The metadata of one Cache Storage cache: for each URL when it was stored and last used (LRU
// and maxAgeSeconds), until when the response itself says it is fresh, and its tags (what hub
// invalidations match). Cache Storage cannot hold this next to a response (opaque ones cannot
// carry extra headers), so the index is kept in memory and persisted as one JSON record per
// cache in a separate metadata cache; on a worker start it is reconciled with the cache's keys.
import { now } from './clock.js';
import { responseTags as tagsOf } from '../http.js';

/**
 * Tags of a response: its `Cache-Tag` and `Surrogate-Key` headers, split as the hub does;
 * `undefined` when an entry could not carry them all (the response is then not stored).
 */
export function responseTags(response) {
  return tagsOf(response.headers);
}

/** The cache holding the persisted indexes (one record per cache). */
export const META_CACHE = 'cache-wasm-sw-meta';
/** How long last-use times may wait before being persisted (LRU order only; default 1000 ms). */
const TOUCH_FLUSH_MS = 1000;

const metaKey = (cacheName) => new URL(`/__cache-wasm-meta__/${encodeURIComponent(cacheName)}`, self.location.origin).href;


/**
 * An entry's metadata: `storedAt`, `usedAt` (ms), `freshUntil` (ms, or `null` when the
 * response states no freshness of its own), `tags`, `vary` (whether the response has `Vary`).
 */
export class EntryIndex {
  #entries = new Map();
  #dirty = false;
  #flushing = null;
  #touchTimer = null;

  constructor(cacheName) {
    this.cacheName = cacheName;
  }

  /** The index of `cache`, read back from the metadata cache and reconciled with its keys. */
  static async load(cacheName, cache) {
    const index = new EntryIndex(cacheName);
    const [saved, requests] = await Promise.all([readSaved(cacheName), cache.keys()]);
    const present = new Set(requests.map((r) => r.url));
    for (const [url, meta] of Object.entries(saved)) if (present.has(url)) index.#entries.set(url, meta);
    // Entries we hold no record of (the index write was lost): stale and old, so they are never
    // served as fresh, but tagged from their headers so invalidations still reach them.
    for (const url of present) {
      if (index.#entries.has(url)) continue;
      // ignoreVary: a response stored with `Vary` matches no header-less request.
      const response = await cache.match(url, { ignoreVary: true });
      const tags = response ? responseTags(response) : [];
      if (tags) index.#entries.set(url, { storedAt: 0, usedAt: 0, freshUntil: 0, tags });
      else await cache.delete(url, { ignoreVary: true }); // it could not carry all its tags: invalidations would miss it
    }
    return index;
  }

  get size() {
    return this.#entries.size;
  }

  get(url) {
    return this.#entries.get(url);
  }

  urls() {
    return [...this.#entries.keys()];
  }

  entries() {
    return this.#entries.entries();
  }

  set(url, meta) {
    this.#entries.delete(url); // re-inserted last: Map order doubles as insertion order
    this.#entries.set(url, meta);
    return this.persist();
  }

  delete(url) {
    if (!this.#entries.delete(url)) return Promise.resolve();
    return this.persist();
  }

  clear() {
    this.#entries.clear();
    return this.persist();
  }

  /** Marks `url` used now; persisted within a second (resolves then). */
  touch(url) {
    const meta = this.#entries.get(url);
    if (!meta) return Promise.resolve();
    meta.usedAt = now();
    if (this.#touchTimer) return this.#touchTimer;
    this.#touchTimer = new Promise((resolve) => setTimeout(resolve, TOUCH_FLUSH_MS)).then(() => {
      this.#touchTimer = null;
      return this.persist();
    });
    return this.#touchTimer;
  }

  /** `[url, meta]` pairs, least recently used first. */
  lru() {
    return [...this.#entries].sort((a, b) => a[1].usedAt - b[1].usedAt);
  }

  /** Writes the index (coalesced: one write in flight, one more queued at most). */
  persist() {
    this.#dirty = true;
    this.#flushing ??= (async () => {
      try {
        while (this.#dirty) {
          this.#dirty = false;
          await writeSaved(this.cacheName, Object.fromEntries(this.#entries));
        }
      } catch (err) {
        // A lost index write only costs freshness after a restart (entries then count as stale).
        console.warn(`cache-wasm/sw: could not persist the index of ${this.cacheName}: ${err?.name}`);
      } finally {
        this.#flushing = null;
      }
    })();
    return this.#flushing;
  }
}

async function readSaved(cacheName) {
  try {
    const meta = await caches.open(META_CACHE);
    const response = await meta.match(metaKey(cacheName));
    const saved = response ? await response.json() : {};
    return saved && typeof saved === 'object' ? saved : {};
  } catch {
    return {}; // a corrupt record is as good as none: entries are reconciled as unknown
  }
}

async function writeSaved(cacheName, entries) {
  const meta = await caches.open(META_CACHE);
  await meta.put(metaKey(cacheName), new Response(JSON.stringify(entries), { headers: { 'content-type': 'application/json' } }));
}

/** Deletes the persisted index of `cacheName`. */
export async function deleteSaved(cacheName) {
  const meta = await caches.open(META_CACHE);
  await meta.delete(metaKey(cacheName));
}
