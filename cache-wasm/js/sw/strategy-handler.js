// The cache and network work every strategy shares (Workbox's StrategyHandler): fetch with an
// optional timeout, look up a usable cached response, store a response when the safety rules
// allow it, run the plugins' hooks, and answer a QuotaExceededError by evicting the least
// recently used entries of our caches. One handler serves one request.
import { responsePolicy } from '../http.js';
import { now } from './clock.js';
import { swError } from './errors.js';
import { openStore, evictLeastRecentlyUsed } from './stores.js';
import { invalidationGeneration } from './invalidation.js';

export class StrategyHandler {
  #waits = [];

  /** `strategy` holds the options (`cacheName`, `plugins`, `statuses`, `allowOpaque`, …). */
  constructor(strategy, { request, event }) {
    this.strategy = strategy;
    this.request = request;
    this.event = event;
    /** The invalidation generation when this request started (see invalidation.js). */
    this.generation = invalidationGeneration();
  }

  /** Keeps the worker alive for `promise` (never rejects into the event). */
  waitUntil(promise) {
    const settled = Promise.resolve(promise).catch((err) => console.warn(`cache-wasm/sw: background work failed: ${err?.message ?? err}`));
    this.#waits.push(settled);
    try {
      this.event?.waitUntil?.(settled);
    } catch {
      // The event already settled (InvalidStateError): the work still runs, unprotected.
    }
    return settled;
  }

  /** Resolves when every background task of this request has finished. */
  async doneWaiting() {
    while (this.#waits.length) await this.#waits.shift();
  }

  /** The network response; rejects with `NetworkTimeout` after `timeoutMs` when given. */
  async fetch(request = this.request, timeoutMs = undefined) {
    const store = await openStore(this.strategy.cacheName);
    store.stats.networkFetches++;
    const fetching = fetch(revalidating(request, this.strategy.fetchOptions), this.strategy.fetchOptions);
    fetching.catch(() => store.stats.networkErrors++);
    if (!(timeoutMs > 0)) return fetching;
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(swError('NetworkTimeout', `no response within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([fetching, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Fetches and stores a copy in the background (when storable); resolves to the response. */
  async fetchAndCachePut(request = this.request, timeoutMs = undefined) {
    const requestTime = now();
    const response = await this.fetch(request, timeoutMs);
    this.waitUntil(this.cachePut(request, response.clone(), { requestTime, responseTime: now() }));
    return response;
  }

  /**
   * A cached response for `request` and its metadata, `{ response, meta }`, or null. Plugins
   * may refuse it (expired); a hit marks the entry used.
   */
  async cacheMatch(request = this.request) {
    const store = await openStore(this.strategy.cacheName);
    const url = request.url;
    let meta = store.index.get(url);
    let response = meta && store.hot.get(url);
    const fromMemory = Boolean(response);
    if (!fromMemory && meta) response = await store.cache.match(request);
    if (!response || !meta) {
      store.stats.misses++;
      return null;
    }
    for (const plugin of this.strategy.plugins) {
      if (!plugin.cachedResponseWillBeUsed) continue;
      response = await plugin.cachedResponseWillBeUsed({ store, url, meta, request, cachedResponse: response, handler: this });
      if (!response) {
        store.stats.misses++;
        return null;
      }
    }
    store.stats.hits++;
    if (fromMemory) store.stats.memoryHits++;
    else this.waitUntil(store.hot.set(url, response, () => store.index.get(url) === meta));
    this.waitUntil(store.index.touch(url));
    return { response, meta };
  }

  /** Whether `meta` is fresh now: its own freshness, else `windowMs` from when it was stored. */
  isFresh(meta, windowMs = Infinity) {
    const until = meta.freshUntil ?? meta.storedAt + windowMs;
    return now() < until;
  }

  /** Why `response` may not be stored (a string), or its freshness `{ freshUntil }`. */
  #check(request, response, times) {
    const { allowOpaque, statuses } = this.strategy;
    if (request.method !== 'GET') return 'not a GET';
    if (response.type === 'opaque') return allowOpaque ? { freshUntil: null } : 'opaque response';
    if (!statuses.includes(response.status)) return `status ${response.status}`;
    const policy = responsePolicy(request.method, response, { ...times, statuses, requestHeaders: request.headers });
    if (policy.storable !== 'yes') return policy.reason || `storable: ${policy.storable}`;
    // The response's own freshness applies only when it states one (Cache-Control or Expires).
    const states = response.headers.has('cache-control') || response.headers.has('expires');
    return { freshUntil: states ? policy.freshUntil : null };
  }

  /** Stores `response` for `request` if allowed; resolves to whether it was stored. */
  async cachePut(request, response, times = { requestTime: now(), responseTime: now() }) {
    const store = await openStore(this.strategy.cacheName);
    const verdict = this.#check(request, response, times);
    if (typeof verdict === 'string') {
      store.stats.notCached++;
      return false;
    }
    for (const plugin of this.strategy.plugins) {
      if (!plugin.cacheWillUpdate) continue;
      response = await plugin.cacheWillUpdate({ request, response, handler: this });
      if (!response) {
        store.stats.notCached++;
        return false;
      }
    }
    const t = now();
    const meta = { storedAt: t, usedAt: t, freshUntil: verdict.freshUntil, tags: [], vary: response.headers.has('vary') };
    for (const plugin of this.strategy.plugins) plugin.entryWillBeStored?.({ request, response, meta });
    const url = request.url;
    store.hot.delete(url);
    // One response per URL. The index holds one record per URL, but by the standard `put`
    // keeps the variants this request does not match (stored with a `Vary` on other header
    // values): their tags and freshness would become the new response's, so a tag
    // invalidation could miss them and a stale one pass as fresh. (Chromium's Cache Storage
    // keeps one response per URL anyway; other browsers follow the standard.)
    if (store.index.get(url)?.vary) await store.cache.delete(url, { ignoreVary: true });
    await putWithEviction(store, request, response);
    // An invalidation that landed while the body was written wins (and takes every variant).
    if (this.generation !== invalidationGeneration()) {
      await store.remove(url);
      return false;
    }
    await store.index.set(url, meta);
    store.stats.stored++;
    for (const plugin of this.strategy.plugins) await plugin.cacheDidUpdate?.({ store, url, request, handler: this });
    return true;
  }
}

/**
 * `request` as the worker sends it: past the browser's HTTP cache, whose copy (kept for, say,
 * `max-age=300`) may be the very response the hub has invalidated since, and would be stored
 * here as fresh. `no-cache` lets the browser revalidate its copy instead. A cache mode the page
 * chose (`no-store`, `reload`, `force-cache`, …) or the route's `fetchOptions.cache` is kept.
 */
function revalidating(request, fetchOptions) {
  const { method } = request;
  if (request.cache !== 'default' || fetchOptions?.cache !== undefined || (method !== 'GET' && method !== 'HEAD')) return request;
  // For a navigation the copy's mode becomes 'same-origin' (the Fetch standard's rule for a
  // Request built from a navigation with an init); its redirect mode, 'manual', is kept.
  return new Request(request, { cache: 'no-cache' });
}

/** `cache.put`, evicting 1, 2, 4, … least recently used entries of our caches on quota errors. */
async function putWithEviction(store, request, response) {
  for (let batch = 1; ; batch *= 2) {
    try {
      return await store.cache.put(request, response.clone());
    } catch (err) {
      if (err?.name !== 'QuotaExceededError') throw err;
      const evicted = await evictLeastRecentlyUsed(batch, { store, url: request.url });
      if (evicted === 0) throw err;
    }
  }
}
