// ApiCache: a drop-in `fetch` that caches API responses by HTTP's rules (RFC 9111, decided in
// wasm by `responsePolicy`) in a cache-wasm Cache, so hub invalidations reach API responses:
// their tags (the rule's and those servers send in `Cache-Tag`) match the hub's tags, keys and
// patterns (the Cache takes a hub message's keys and patterns to name tags too), as in the
// service worker.
//
// Entry keys are `<METHOD> <url>`, plus ` <header>=<value>&…` for responses that Vary.
import { responsePolicy, responseTags } from '../http.js';
import { compileRules, ruleFor } from './rules.js';
import { bodySize, freshnessOf, mergedHeaders, toResponse, toStored, validators } from './stored-response.js';

const MAX_TAGS = 32;

// An entry's tags: the rule's and the response's. `undefined` when an entry could not carry
// them all: stored under only some, it would miss an invalidation of another.
function tagsOf(rule, headers) {
  const fromServer = responseTags(headers);
  if (!fromServer) return undefined;
  const tags = [...new Set([...rule.tags, ...fromServer])];
  return tags.length <= MAX_TAGS ? tags : undefined;
}

function escapeGlob(text) {
  return text.replace(/[\\*?]/g, (c) => `\\${c}`);
}

// Keys hold full URLs, so a pattern with a leading `/` (a path and query, as rules are written)
// is one on this page's origin.
function urlPattern(pattern) {
  if (!pattern.startsWith('/')) return pattern;
  return escapeGlob(new URL(globalThis.location?.href).origin) + pattern;
}

// Cache keys are at most 1024 UTF-8 bytes; 1000 leaves room. Three bytes per UTF-16 unit is
// the worst case, so most keys are checked without encoding them.
function fitsKey(key) {
  return key.length * 3 <= 1000 || new TextEncoder().encode(key).length <= 1000;
}

// Concurrent loads share one request only when they would send the same request: the same
// headers (the response may vary on any of them, and on which is known only once it is in),
// credentials (whether cookies go along), mode, cache mode, redirect mode and integrity.
function loadKey(key, request) {
  const { credentials, mode, cache, redirect, integrity } = request;
  const headers = [...request.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
  return `${key}\n${credentials} ${mode} ${cache} ${redirect} ${integrity}\n${headers}`;
}

// Whether HTTP and the rule allow storing a response with `policy`.
function mayStore(policy, rule) {
  return policy.storable === 'yes' || (policy.storable === 'user' && rule.perUser);
}

// The header names a response varies on, lower-cased and sorted.
function varyOf(headers) {
  return (headers.get('vary') ?? '').split(',').map((n) => n.trim().toLowerCase()).filter(Boolean).sort();
}

// The key of the variant that `requestHeaders` select among responses varying on `names`.
function variantOf(base, names, requestHeaders) {
  return names.length ? `${base} ${names.map((n) => `${n}=${requestHeaders.get(n) ?? ''}`).join('&')}` : base;
}

/** Creates an API cache; see `ApiCache`. */
export function createApiCache(options) {
  return new ApiCache(options);
}

/**
 * Options: `cache` (a Cache for shared responses), `userCache` (a Cache in the user's own
 * namespace, for per-user rules), `rules` (see RULE_DEFAULTS), `fetch` (the network; default
 * the global fetch at creation), `clock` (default Date.now).
 */
export class ApiCache {
  #cache;
  #userCache;
  #rules;
  #network;
  #clock;
  #inflight = new Map();
  #routes = new Map();
  #counters = {
    hits: 0, misses: 0, staleServed: 0, revalidations: 0, notModified: 0,
    errorsServed: 0, bytesSaved: 0, stored: 0, bypassed: 0, uncacheable: 0,
  };

  // The network, past the browser's own HTTP cache: this cache decides freshness, so a copy
  // the browser kept must not answer for the origin (after a hub invalidation it may be the
  // very data that was invalidated). `no-cache` still lets the browser revalidate it.
  #send(request) {
    return this.#network(request.cache === 'default' ? new Request(request, { cache: 'no-cache' }) : request);
  }

  constructor({ cache, userCache, rules, fetch: network, clock } = {}) {
    if (!cache) throw new TypeError('cache-wasm: createApiCache needs a `cache`');
    this.#cache = cache;
    this.#userCache = userCache;
    this.#rules = compileRules(rules);
    this.#network = network ?? globalThis.fetch.bind(globalThis);
    this.#clock = clock ?? Date.now;
  }

  /** Counters: hits, misses, staleServed, revalidations, notModified (304s), errorsServed, bytesSaved, stored, bypassed, uncacheable. */
  stats() {
    return { ...this.#counters };
  }

  /** Whether a rule covers `input` (a URL string, URL or Request). */
  handles(input) {
    return this.#route(input).rule !== undefined;
  }

  /**
   * `fetch` with caching for GET and HEAD requests a rule covers; everything else goes to the
   * network untouched. `overrides.ttlMs` forces the freshness of this request's response.
   */
  async fetch(input, init, overrides) {
    const route = this.#route(input);
    const isRequest = input instanceof Request;
    const method = (init?.method ?? (isRequest ? input.method : 'GET')).toUpperCase();
    const mode = init?.cache ?? (isRequest ? input.cache : 'default');
    const { rule } = route;
    const store = rule?.perUser ? this.#userCache : this.#cache;
    if (!rule || !store || (method !== 'GET' && method !== 'HEAD') || mode === 'no-store') {
      this.#counters.bypassed++;
      return this.#network(input, init);
    }
    // The Request object is built only when the network or a Vary header needs it: a plain
    // hit builds no Request and no key string.
    let request;
    const makeRequest = () => (request ??= new Request(input, init));
    const { base, vary } = route[method];
    const key = this.#variantKey(store, base, vary, makeRequest);
    const found = key && mode !== 'reload' ? store.get(key) : undefined;
    if (typeof found?.p === 'object') {
      // The common case, a fresh hit, answers without further awaits.
      const hit = this.#freshHit(found, method, mode);
      if (hit) return hit;
    }
    // A request sent with the caller's signal is never shared: its abort would fail the other
    // callers. A Request may carry a signal, unseen, so Request inputs are sent alone too.
    const alone = isRequest || init?.signal != null;
    const ctx = { rule, store, overrides, method, mode, base, alone, request: makeRequest };
    if (found?.p) return this.#serveStored({ ...ctx, key, entry: found });
    this.#counters.misses++;
    return this.#shared(store, loadKey(key ?? base, makeRequest()), () => this.#load(ctx), method, alone);
  }

  // The URL of a fetch input, the rule covering it and its entry keys per method. Routes of
  // string inputs that do not depend on the page's path are remembered (at most 1000), so a
  // repeated URL is one lookup and its keys are strings already hashed.
  #route(input) {
    if (input instanceof Request) return this.#routeOf(new URL(input.url));
    const text = String(input);
    let route = this.#routes.get(text);
    if (!route) {
      route = this.#routeOf(new URL(text, globalThis.location?.href));
      if (/^(https?:)?\//i.test(text)) {
        if (this.#routes.size >= 1000) this.#routes.clear();
        this.#routes.set(text, route);
      }
    }
    return route;
  }

  #routeOf(url) {
    const { href } = url;
    const keys = (method) => ({ base: `${method} ${href}`, vary: `vary ${method} ${href}` });
    return { href, rule: ruleFor(this.#rules, url), GET: keys('GET'), HEAD: keys('HEAD') };
  }

  /**
   * Patches the global `fetch` so requests a rule covers go through this cache. Returns the
   * function that restores it.
   */
  install() {
    const original = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      let covered = false;
      try {
        covered = this.handles(input);
      } catch {
        // A URL that cannot be parsed: the native fetch answers it with a rejected promise,
        // as fetch must (it never throws).
      }
      return covered ? this.fetch(input, init) : original(input, init);
    };
    return () => {
      globalThis.fetch = original;
    };
  }

  /**
   * Drops stored responses by exact `url`, URL glob `pattern` (a leading `/`: a path and query
   * on this page's origin), or `tags`. Returns how many.
   */
  invalidate({ url, pattern, tags = [] } = {}) {
    const keys = [];
    const patterns = [];
    for (const method of ['GET', 'HEAD']) {
      if (url) {
        const href = new URL(url, globalThis.location?.href).href;
        keys.push(`${method} ${href}`);
        patterns.push(`${method} ${escapeGlob(href)} *`);
      }
      if (pattern) patterns.push(`${method} ${urlPattern(pattern)}`);
    }
    let n = 0;
    for (const store of new Set([this.#cache, this.#userCache].filter(Boolean))) {
      n += store.invalidate({ keys, patterns, tags });
    }
    return n;
  }

  // The key of the variant a request selects: the names a stored response varied on are kept
  // under `vary <base>`. `undefined` when the key would be too long to cache.
  #variantKey(store, base, varyKey, makeRequest) {
    const names = store.has(varyKey) ? store.get(varyKey) : undefined;
    if (!Array.isArray(names)) return fitsKey(base) ? base : undefined;
    const key = variantOf(base, names, makeRequest().headers);
    return fitsKey(key) ? key : undefined;
  }

  #freshHit(entry, method, mode) {
    if (this.#clock() >= entry.p.f || (mode === 'no-cache' && !entry.p.im)) return undefined;
    this.#counters.hits++;
    this.#counters.bytesSaved += bodySize(entry);
    return toResponse(entry, method, 'HIT');
  }

  async #serveStored(ctx) {
    const { method, mode, entry, store, key, alone } = ctx;
    const now = this.#clock();
    const revalidateRequested = mode === 'no-cache' && !entry.p.im;
    // Revalidations are shared as loads are: only by callers sending the same request.
    const sharedKey = loadKey(key, ctx.request());
    if (now < entry.p.r && !revalidateRequested) {
      this.#counters.staleServed++;
      this.#counters.bytesSaved += bodySize(entry);
      this.#shared(store, sharedKey, () => this.#revalidate(ctx), method, alone).catch(() => {});
      return toResponse(entry, method, 'STALE');
    }
    try {
      return await this.#shared(store, sharedKey, () => this.#revalidate(ctx), method, alone);
    } catch (err) {
      // Serve what is stored now, not `entry`: an invalidation may have removed it while it
      // was revalidated, and a newer response may have taken its place.
      const current = store.get(key);
      if (current !== entry && typeof current?.p === 'object') {
        const hit = this.#freshHit(current, method, mode);
        if (hit) return hit;
      }
      if (!this.#usableOnError(current, this.#clock())) throw err;
      this.#counters.errorsServed++;
      return toResponse(current, method, 'STALE-IF-ERROR');
    }
  }

  #usableOnError(entry, now) {
    return typeof entry?.p === 'object' && now < entry.p.e;
  }

  // Concurrent identical requests share one network request; each caller gets its own
  // Response. The shared work resolves to a stored entry (or an uncached snapshot). Work that
  // began before an invalidation of `store` is not joined: it may bring what was invalidated.
  // Work `alone` neither joins nor is joined.
  async #shared(store, key, work, method, alone) {
    const inflightKey = `${store.generation} ${store.namespace}\n${key}`;
    let running = alone ? work() : this.#inflight.get(inflightKey);
    if (!running) {
      running = work().finally(() => this.#inflight.delete(inflightKey));
      this.#inflight.set(inflightKey, running);
    }
    const { entry, xCache, raw } = await running;
    // A response that cannot be rebuilt (opaque) is handed out as copies of itself.
    return raw ? raw.clone() : toResponse(entry, method, xCache);
  }

  async #load({ request: makeRequest, rule, store, base, overrides }) {
    const request = makeRequest();
    const generation = store.generation;
    const requestTime = this.#clock();
    const response = await this.#send(request);
    const responseTime = this.#clock();
    if (response.type === 'opaque' || response.type === 'opaqueredirect') {
      this.#uncacheable();
      return { raw: response };
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const stored = this.#store({ request, rule, store, base, overrides, response, bytes, requestTime, responseTime, generation });
    return { entry: stored ?? toStored(response, bytes, { freshUntil: 0, revalidateUntil: 0, onErrorUntil: 0, immutable: false }, request.url), xCache: 'MISS' };
  }

  async #revalidate({ request: makeRequest, rule, store, base, key, entry, overrides }) {
    const request = makeRequest();
    this.#counters.revalidations++;
    const generation = store.generation;
    const headers = new Headers(request.headers);
    for (const [name, value] of Object.entries(validators(entry))) headers.set(name, value);
    const requestTime = this.#clock();
    const response = await this.#send(new Request(request, { headers }));
    const responseTime = this.#clock();
    if (response.status >= 500) {
      const error = new Error(`origin answered ${response.status}`);
      if (this.#usableOnError(store.get(key), responseTime)) throw error;
      const bytes = new Uint8Array(await response.arrayBuffer());
      return { entry: toStored(response, bytes, { freshUntil: 0, revalidateUntil: 0, onErrorUntil: 0, immutable: false }, request.url), xCache: 'MISS' };
    }
    if (response.status === 304) {
      this.#counters.notModified++;
      this.#counters.bytesSaved += bodySize(entry);
      const merged = mergedHeaders(entry, response);
      const refreshed = { ...entry, h: [...merged] };
      const policy = this.#policy(request, rule, { status: entry.s, headers: merged }, requestTime, responseTime, overrides);
      refreshed.p = freshnessOf(policy);
      if (store.generation === generation) {
        // The 304's headers may forbid keeping what the old ones allowed (no-store, private,
        // Vary: Authorization, another Vary): the rules for a 200 decide whether it stays.
        const allowed = mayStore(policy, rule);
        if (!allowed) this.#uncacheable();
        const sameKey = variantOf(base, varyOf(merged), request.headers) === key;
        const tags = tagsOf(rule, merged);
        if (!allowed || !sameKey || !tags || !this.#put(store, key, refreshed, rule, tags, merged, responseTime)) store.remove(key);
      }
      return { entry: refreshed, xCache: 'REVALIDATED' };
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const stored = this.#store({ request, rule, store, base, overrides, response, bytes, requestTime, responseTime, generation });
    if (!stored) store.remove(key);
    return { entry: stored ?? toStored(response, bytes, { freshUntil: 0, revalidateUntil: 0, onErrorUntil: 0, immutable: false }, request.url), xCache: 'MISS' };
  }

  #policy(request, rule, response, requestTime, responseTime, overrides) {
    const policy = responsePolicy(request.method, response, { requestTime, responseTime, statuses: rule.statuses, requestHeaders: request.headers });
    const ttl = overrides?.ttlMs ?? (policy.explicit ? undefined : rule.ttlMs);
    if (ttl !== undefined && !policy.noCache) {
      policy.freshUntil = responseTime + ttl;
      policy.revalidateUntil = Math.max(policy.revalidateUntil, policy.freshUntil);
      policy.onErrorUntil = Math.max(policy.onErrorUntil, policy.freshUntil);
    }
    return policy;
  }

  // Stores a network response if HTTP and the rule allow it; returns the stored entry.
  #store({ request, rule, store, base, overrides, response, bytes, requestTime, responseTime, generation }) {
    const policy = this.#policy(request, rule, response, requestTime, responseTime, overrides);
    if (!mayStore(policy, rule)) return this.#uncacheable();
    // An invalidation landed while this response was on its way: it may already be stale.
    if (store.generation !== generation) return undefined;
    const vary = varyOf(response.headers);
    const key = variantOf(base, vary, request.headers);
    if (!fitsKey(key)) return this.#uncacheable();
    const tags = tagsOf(rule, response.headers);
    if (!tags) return this.#uncacheable();
    const entry = toStored(response, bytes, policy, request.url);
    if (!this.#put(store, key, entry, rule, tags, response.headers, responseTime)) return undefined;
    if (vary.length) this.#put(store, `vary ${base}`, vary, rule, tags, response.headers, responseTime, entry.p);
    this.#counters.stored++;
    return entry;
  }

  #uncacheable() {
    this.#counters.uncacheable++;
    return undefined;
  }

  // Keeps an entry while it can serve: its stale windows, or `keepMs` when it has validators.
  #put(store, key, value, rule, tags, headers, now, freshness = value.p) {
    const canRevalidate = headers.has('etag') || headers.has('last-modified');
    const until = Math.max(freshness.r, freshness.e, canRevalidate ? now + rule.keepMs : freshness.f);
    if (until <= now) return false;
    try {
      store.set(key, value, { ttlMs: until - now, tags });
      return true;
    } catch {
      return false; // over quota or a bad tag: serve from the network, never fail the request
    }
  }
}
