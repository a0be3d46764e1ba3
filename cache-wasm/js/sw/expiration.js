// Expiration plugin: `maxAgeSeconds` (counted from when the entry was stored) and `maxEntries`
// (least recently used evicted first), per cache.
import { now } from './clock.js';
import { swError } from './errors.js';

function positive(value, name, integer) {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0) || (integer && !Number.isInteger(value))) {
    throw swError('InvalidOption', `${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
  return value;
}

/**
 * A plugin limiting a cache to `maxEntries` (default: no limit) entries and `maxAgeSeconds`
 * (default: no limit) of age. Expired entries are deleted when looked up, never served.
 */
export function expirationPlugin({ maxEntries, maxAgeSeconds } = {}) {
  maxEntries = positive(maxEntries, 'maxEntries', true);
  const maxAgeMs = positive(maxAgeSeconds, 'maxAgeSeconds', false) * 1000;
  return Object.freeze({
    name: 'expiration',
    maxEntries,
    maxAgeSeconds,
    async cachedResponseWillBeUsed({ store, url, meta, cachedResponse }) {
      if (!(now() - meta.storedAt >= maxAgeMs)) return cachedResponse;
      await store.remove(url);
      store.stats.expired++;
      return null;
    },
    async cacheDidUpdate({ store }) {
      if (maxEntries === undefined) return;
      const excess = store.index.size - maxEntries;
      if (excess <= 0) return;
      for (const [url] of store.index.lru().slice(0, excess)) {
        await store.remove(url);
        store.stats.evicted++;
      }
    },
  });
}
