// The JS half of one cache. It owns the values (as given for memory, decoded JSON for Web
// Storage) in arrays indexed by the numeric slot the wasm side hands out, and a key -> slot
// Map; the wasm `RawCache` owns expiry, recency, bounds, tags, records and statistics. A hit
// is one Map lookup plus one numeric wasm call, never a string crossing the boundary.
import { bindings } from './wasm.js';
import { CLOSED, cacheError, checkString, checkStrings, invalidValue } from './errors.js';
import { globToRegExp } from './glob.js';

// Codes of the wasm side's events: removals, and writes made elsewhere (another tab, a
// previous page) whose value is taken from the wasm side.
const KIND = { 2: 'remove', 3: 'invalidate', 4: 'expire', 5: 'evict', 6: 'set' };
const SET_EXTERNAL = 6;

/** Defaults of `createCache` options, written once. */
export const DEFAULTS = Object.freeze({
  storage: 'memory',
  version: 1,
  defaultTtlMs: 300_000,
  maxEntries: Infinity,
  maxBytes: Infinity,
});

// JSON.stringify silently drops functions and symbols, turns NaN and Infinity into null, a
// Map or Set into {} and undefined in an array into null. A cache that read back something
// else than it was given would be wrong, so these are refused. (BigInt and cycles throw
// already. A property holding undefined is left out, and reads back as undefined.)
function strictReplacer(_key, value) {
  const t = typeof value;
  if (t === 'function' || t === 'symbol') throw invalidValue(`a ${t} cannot be stored in Web Storage`);
  if (t === 'number' && !Number.isFinite(value)) throw invalidValue(`${value} cannot be stored in Web Storage (JSON would read it back as null)`);
  if (t === 'object' && (value instanceof Map || value instanceof Set)) {
    throw invalidValue('a Map or Set cannot be stored in Web Storage (JSON would read it back as {})');
  }
  if (value === undefined && Array.isArray(this)) throw invalidValue('undefined in an array cannot be stored in Web Storage (JSON would read it back as null)');
  return value;
}

function toJson(value) {
  let json;
  try {
    json = JSON.stringify(value, strictReplacer);
  } catch (err) {
    if (err?.code === 'InvalidValue') throw err;
    throw invalidValue(`value is not JSON-serializable (${err?.message ?? err})`);
  }
  // A toJSON() that answers undefined leaves nothing to store.
  if (json === undefined) throw invalidValue('value has no JSON form (its toJSON() returned undefined)');
  return json;
}

/** Rough size of a memory entry: what its JSON would weigh, 64 bytes when it has none. */
export function estimateBytes(value) {
  if (typeof value === 'string') return 2 * value.length + 16;
  if (typeof value !== 'object' || value === null) return 16;
  try {
    const json = JSON.stringify(value);
    return json === undefined ? 64 : 2 * json.length + 16;
  } catch {
    return 64;
  }
}

// `createCache` options over the defaults; an option given as `undefined` keeps its default.
function options(given) {
  const o = { ...DEFAULTS };
  for (const [name, value] of Object.entries(given ?? {})) if (value !== undefined) o[name] = value;
  checkString(o.namespace, 'InvalidNamespace', 'namespace');
  if (typeof o.storage !== 'string') throw cacheError('InvalidOption', "storage must be 'memory', 'local' or 'session'");
  // The version is part of every storage key: a coerced one (1.5 as 1, -1 as 4294967295)
  // would open, and drop, another version's entries.
  if (!Number.isInteger(o.version) || o.version < 0 || o.version > 0xffff_ffff) {
    throw cacheError('InvalidOption', 'version must be an integer from 0 to 4294967295');
  }
  return o;
}

export class Cache {
  #raw;
  #clock;
  #defaultTtl;
  #sizeOf;
  #persistent;
  #jsonValues;
  #slots = new Map();
  #keys = [];
  #values = [];
  #json = []; // JSON not yet decoded, for entries written by another tab or a previous page
  #listeners = new Set();
  #loads = new Map();
  #onStorage = null;
  #generation = 0;

  /** @internal Use `createCache`. */
  constructor(given = {}) {
    const o = options(given);
    this.#clock = o.clock ?? Date.now;
    this.#defaultTtl = o.defaultTtlMs;
    this.namespace = o.namespace;
    this.#raw = new bindings.RawCache(o.storage, o.namespace, o.version, o.maxEntries, o.maxBytes, this.#clock());
    this.#persistent = this.#raw.persistent;
    // A Web Storage cache that fell back to memory keeps Web Storage's value semantics (JSON
    // values, read back as copies), so an app behaves the same where storage is disabled.
    this.#jsonValues = o.storage !== 'memory';
    this.#sizeOf = o.sizeOf ?? (o.maxBytes === Infinity ? () => 0 : estimateBytes);
    this.storage = this.#persistent ? o.storage : 'memory';
    this.#drain();
    if (this.#persistent && o.storage === 'local' && typeof addEventListener === 'function') {
      const prefix = this.#raw.storagePrefix;
      this.#onStorage = (e) => {
        if (e.storageArea !== globalThis.localStorage) return;
        if (e.key !== null && !e.key.startsWith(prefix)) return;
        this.#raw.applyStorageEvent(e.key, this.#clock());
        this.#drain();
      };
      addEventListener('storage', this.#onStorage);
    }
  }

  /** The value of `key`, or `undefined` when absent or expired. */
  get(key) {
    const slot = this.#slots.get(key);
    if (slot === undefined) {
      this.#raw.recordMiss();
      return undefined;
    }
    const found = this.#raw.lookup(slot, this.#clock());
    if (found === 1) {
      const json = this.#json[slot];
      if (json !== undefined) {
        this.#values[slot] = JSON.parse(json);
        this.#json[slot] = undefined;
      }
      return this.#values[slot];
    }
    if (found === 2) this.#drain();
    return undefined;
  }

  /** Whether `key` holds a live entry (counts no hit, keeps recency). */
  has(key) {
    const slot = this.#slots.get(key);
    if (slot === undefined) return false;
    const live = this.#raw.isLive(slot, this.#clock());
    if (!live) this.#drain();
    return live;
  }

  /**
   * Stores `value` under `key` for `ttlMs` (default `defaultTtlMs`; `Infinity` for no
   * expiry), with optional `tags`. Web Storage caches take JSON values only.
   */
  set(key, value, options) {
    checkString(key, 'InvalidKey', 'key');
    if (value === undefined) throw invalidValue('undefined cannot be cached; use remove()');
    const ttl = options?.ttlMs ?? this.#defaultTtl;
    const tags = checkStrings(options?.tags, 'InvalidTag', 'tags');
    // Web Storage caches keep the JSON and decode it on first read, so a value reads back
    // exactly as it will after a reload (a Date as its ISO string, say).
    const json = this.#jsonValues ? toJson(value) : undefined;
    const bytes = this.#persistent ? 0 : this.#sizeOf(value, key);
    const known = this.#slots.get(key);
    let slot;
    try {
      // A known key without tags is rewritten by slot: no string crosses into wasm.
      if (known !== undefined && tags === undefined && this.#raw.rewrite(known, json, ttl, bytes, this.#clock())) {
        slot = known;
      } else {
        slot = this.#raw.set(key, json, ttl, tags, bytes, this.#clock());
      }
    } finally {
      // A failed write may still have evicted entries (or dropped this key).
      if (slot === undefined) this.#drain();
    }
    this.#keys[slot] = key;
    this.#values[slot] = this.#jsonValues ? undefined : value;
    this.#json[slot] = json;
    if (known !== slot) this.#slots.set(key, slot);
    if (this.#raw.pendingEvents() > 0) this.#drain();
    if (this.#listeners.size > 0) this.#notify({ type: 'set', key });
    return this;
  }

  /** Removes `key`; `true` if it was there. */
  remove(key) {
    const removed = this.#raw.remove(checkString(key, 'InvalidKey', 'key'));
    this.#drain();
    return removed;
  }

  /**
   * Counts the invalidations, resets and clears applied so far. A load that started before
   * the count moved may hold data the server has since invalidated: don't store it as fresh.
   */
  get generation() {
    return this.#generation;
  }

  /** Removes every entry of this cache's namespace (other namespaces and apps are untouched). */
  clear() {
    this.#generation++;
    this.#raw.clear();
    this.#drain();
  }

  /** Live keys, most recently used first. */
  keys() {
    return this.#raw.keys(this.#clock());
  }

  /**
   * The cached value of `key`, or the result of `loader()`, stored with `options`. Concurrent
   * calls share one loader call; a rejection caches nothing and reaches every caller; a
   * result whose key was invalidated, removed or rewritten meanwhile is returned but not
   * stored.
   */
  getOrSet(key, loader, options) {
    let ticket;
    try {
      checkString(key, 'InvalidKey', 'key');
      const cached = this.get(key);
      if (cached !== undefined) return Promise.resolve(cached);
      // A load that began before its key was invalidated, removed or rewritten may bring data
      // that has since been replaced: a caller that comes after that starts its own load.
      const running = this.#loads.get(key);
      if (running !== undefined && this.#raw.loadIsFresh(running.ticket)) return running.load;
      ticket = this.#raw.beginLoad(key, checkStrings(options?.tags, 'InvalidTag', 'tags'), options?.ttlMs ?? this.#defaultTtl);
    } catch (err) {
      return Promise.reject(err);
    }
    const load = Promise.resolve()
      .then(loader)
      .then(
        (value) => {
          if (this.#raw.finishLoad(ticket) && value !== undefined) this.#keep(key, value, options);
          return value;
        },
        (err) => {
          this.#raw.finishLoad(ticket);
          throw err;
        },
      )
      .finally(() => {
        if (this.#loads.get(key)?.load === load) this.#loads.delete(key);
      });
    this.#loads.set(key, { load, ticket });
    return load;
  }

  // Stores a loaded value. The value itself is good: when keeping it fails (a full quota, a
  // value Web Storage cannot hold) the callers still get it, and the console says why.
  #keep(key, value, options) {
    try {
      this.set(key, value, options);
    } catch (err) {
      console.warn(`cache-wasm: getOrSet could not keep '${key}' in namespace '${this.namespace}':`, err);
    }
  }

  /**
   * Removes the entries named by `keys`, glob `patterns` (`*`, `?`, `\` escapes) or `tags`.
   * Loads in progress for them will not be stored. Returns how many entries were removed.
   */
  invalidate({ keys = [], patterns = [], tags = [] } = {}) {
    checkStrings(keys, 'InvalidKey', 'keys');
    checkStrings(patterns, 'InvalidPattern', 'patterns');
    checkStrings(tags, 'InvalidTag', 'tags');
    this.#generation++;
    const n = this.#raw.invalidate(keys, patterns, tags);
    this.#drain();
    return n;
  }

  /** Applies a hub invalidation message (the JSON `data` of an `invalidate` update). */
  applyInvalidation(json) {
    this.#generation++;
    const n = this.#raw.applyInvalidation(json);
    this.#drain();
    return n;
  }

  /**
   * Applies a hub reset message (the JSON `data` of a `reset` update): drops everything when
   * it names no namespace or this one. Returns whether it applied.
   */
  applyReset(json) {
    this.#generation++;
    const applied = this.#raw.applyReset(json);
    this.#drain();
    return applied;
  }

  /** Drops everything because continuity with the server was lost (a hub `reset`). */
  reset() {
    this.#generation++;
    this.#raw.reset();
    this.#drain();
  }

  /** Removes expired entries now; returns how many. */
  cleanup() {
    const n = this.#raw.purgeExpired(this.#clock());
    this.#drain();
    return n;
  }

  /** Counters and sizes: hits, misses, hitRate, entries, bytes, expired, evictions, quotaEvictions, corrupt, invalidated, fallback. */
  stats() {
    return this.#raw.stats();
  }

  /**
   * Calls `listener({ type, key })` for every change to a key matching the glob `pattern`:
   * `set`, `remove`, `invalidate`, `expire`, `evict`, including changes made by other tabs.
   * Returns the function that unsubscribes.
   */
  subscribe(pattern, listener) {
    const entry = { re: globToRegExp(checkString(pattern, 'InvalidPattern', 'pattern')), listener };
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  /**
   * Stops following other tabs and frees the wasm side. Afterwards every method throws a
   * `CacheError` with code `Closed`.
   */
  close() {
    if (this.#onStorage) removeEventListener('storage', this.#onStorage);
    this.#onStorage = null;
    const raw = this.#raw;
    this.#raw = CLOSED;
    raw.free();
  }

  // Applies the wasm side's events to the JS side, then tells listeners.
  #drain() {
    const events = this.#raw.takeEvents();
    if (events.length === 0) return;
    const notices = [];
    for (let i = 0; i < events.length; i += 2) {
      const kind = events[i];
      const slot = events[i + 1];
      let key = this.#keys[slot];
      if (kind === SET_EXTERNAL) {
        key = this.#raw.keyOf(slot);
        if (key === undefined) continue;
        this.#keys[slot] = key;
        this.#values[slot] = undefined;
        this.#json[slot] = this.#raw.takeJson(slot);
        this.#slots.set(key, slot);
      } else {
        if (key === undefined) continue;
        if (this.#slots.get(key) === slot) this.#slots.delete(key);
        this.#keys[slot] = undefined;
        this.#values[slot] = undefined;
        this.#json[slot] = undefined;
      }
      if (key !== undefined && this.#listeners.size > 0) notices.push({ type: KIND[kind], key });
    }
    for (const notice of notices) this.#notify(notice);
  }

  #notify(notice) {
    for (const { re, listener } of this.#listeners) {
      if (!re.test(notice.key)) continue;
      try {
        listener(notice);
      } catch (err) {
        // One faulty listener must not break the cache or the other listeners.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
