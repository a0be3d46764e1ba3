/** Where a cache keeps its entries. */
export type StorageKind = 'memory' | 'local' | 'session';

/** Options of `createCache`. Defaults are in `DEFAULTS`. */
export interface CacheOptions {
  /** Default `'memory'`. `'local'`/`'session'` fall back to memory when unusable. */
  storage?: StorageKind;
  /** 1 to 64 of `A-Z a-z 0-9 _ -`. Required. */
  namespace: string;
  /** Default 1. Opening a namespace at another version drops the old version's entries. */
  version?: number;
  /** Default 300 000 (5 minutes). `Infinity` for no expiry. */
  defaultTtlMs?: number;
  /** Default `Infinity`. */
  maxEntries?: number;
  /** Default `Infinity`. Web Storage counts records in UTF-16 bytes; memory uses `sizeOf`. */
  maxBytes?: number;
  /** Milliseconds clock. Default `Date.now`. Inject one in tests instead of sleeping. */
  clock?: () => number;
  /** Size of a memory entry, for `maxBytes`. Default: the size of its JSON. */
  sizeOf?: (value: unknown, key: string) => number;
  /** Where to load the wasm module from. Default: next to the package's JS. */
  wasm?: string | URL | Response | BufferSource | WebAssembly.Module;
}

/** Per-entry options of `set` and `getOrSet`. */
export interface SetOptions {
  /** Default: the cache's `defaultTtlMs`. Must be positive; `Infinity` for no expiry. */
  ttlMs?: number;
  /** At most 32, each 1 to 256 bytes. */
  tags?: string[];
}

/** What `invalidate` removes: an entry matching any of the three. */
export interface InvalidateSelector {
  keys?: string[];
  /** Glob patterns: `*` any run, `?` one character, `\` escapes. */
  patterns?: string[];
  tags?: string[];
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** hits / (hits + misses); 0 before the first lookup. */
  hitRate: number;
  entries: number;
  bytes: number;
  expired: number;
  evictions: number;
  quotaEvictions: number;
  /** Corrupt, foreign or old-format records found and removed. */
  corrupt: number;
  invalidated: number;
  /** Whether the requested Web Storage was unusable and memory is used instead. */
  fallback: boolean;
}

export type CacheEventType = 'set' | 'remove' | 'invalidate' | 'expire' | 'evict';

export interface CacheEvent {
  type: CacheEventType;
  key: string;
}

/** An error of this package: `name` is `'CacheError'` (or `TypeError` for values). */
export interface CacheError extends Error {
  code:
    | 'InvalidNamespace'
    | 'InvalidKey'
    | 'InvalidPattern'
    | 'InvalidTag'
    | 'InvalidTtl'
    | 'EntryTooLarge'
    | 'InvalidMessage'
    | 'QuotaExceeded'
    | 'StorageError'
    | 'InvalidOption'
    | 'InvalidValue'
    | 'Closed';
}

export class Cache<V = unknown> {
  readonly namespace: string;
  /** The storage actually in use (`'memory'` after a fallback). */
  readonly storage: StorageKind;
  /** Counts invalidations, resets and clears: a load that saw it move must not store. */
  readonly generation: number;
  get(key: string): V | undefined;
  has(key: string): boolean;
  set(key: string, value: V, options?: SetOptions): this;
  remove(key: string): boolean;
  clear(): void;
  keys(): string[];
  getOrSet(key: string, loader: () => V | Promise<V>, options?: SetOptions): Promise<V>;
  invalidate(selector?: InvalidateSelector): number;
  applyInvalidation(json: string): number;
  applyReset(json: string): boolean;
  reset(): void;
  cleanup(): number;
  stats(): CacheStats;
  subscribe(pattern: string, listener: (event: CacheEvent) => void): () => void;
  close(): void;
}

export const DEFAULTS: Readonly<Required<Pick<CacheOptions, 'storage' | 'version' | 'defaultTtlMs' | 'maxEntries' | 'maxBytes'>>>;

export function createCache<V = unknown>(options: CacheOptions): Promise<Cache<V>>;
export function initCacheWasm(moduleOrPath?: CacheOptions['wasm']): Promise<unknown>;
export function key(...parts: Array<string | number>): string;
export function estimateBytes(value: unknown): number;
export function isCacheError(err: unknown, code?: CacheError['code']): err is CacheError;

/** Options of `connectSync`. Defaults are in `SYNC_DEFAULTS`. */
export interface SyncOptions {
  /** Default `'/.well-known/mercure'` (resolved against the page's URL). */
  hub?: string;
  /** Caches whose namespaces follow the hub. */
  caches?: Cache<any>[];
  /** Default: `/cache/<namespace>` of each cache. */
  topics?: string[];
  /** Send cookies to a hub on another origin (the `mercureAuthorization` cookie). Default false. */
  withCredentials?: boolean;
  /** Called after a 401/403 for a fresh token, set as the `mercureAuthorization` cookie. */
  getToken?: () => Promise<string | undefined>;
  /** How long the stream may be down before every cache is dropped. Default 30 000. */
  stalenessMs?: number;
  /** Reconnect backoff bounds (with 50 % jitter). Defaults 500 and 30 000. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Names the BroadcastChannel, the Web Lock and the persisted cursor, together with a hash of
   * the topics: tabs share a connection when name and topics match. Default `'cache-wasm-sync'`.
   */
  name?: string;
  /** Called after each applied update, and with a `reset` of each namespace on logout, e.g. to forward it to a service worker. */
  onEvent?: (type: 'invalidate' | 'reset', data: string) => void;
}

export type SyncStatus = 'connecting' | 'live' | 'degraded' | 'offline';

export interface SyncStats {
  eventsApplied: number;
  resets: number;
  /** Updates that failed validation and were dropped. */
  rejected: number;
  reconnects: number;
  lastEventId: string | null;
  lastEventAt: number | null;
  /** How long the stream has been down (0 while live). */
  downMs: number;
  status: SyncStatus;
  leader: boolean;
}

export class SyncClient extends EventTarget {
  readonly status: SyncStatus;
  /** Whether this tab holds the browser's one connection. */
  readonly leader: boolean;
  stats(): SyncStats;
  /** Follows one more cache; what it held before is dropped (no event reached it). */
  addCache(cache: Cache<any>): void;
  /** Stops following `cache` (a closed cache is dropped on its own). */
  removeCache(cache: Cache<any>): void;
  /** Wipes the namespaces (default: every followed cache's) in every tab, then closes. */
  logout(options?: { namespaces?: string[] }): void;
  close(): void;
}

export const SYNC_DEFAULTS: Readonly<Required<Pick<SyncOptions, 'hub' | 'withCredentials' | 'stalenessMs' | 'minBackoffMs' | 'maxBackoffMs' | 'name'>>>;
export function connectSync(options: SyncOptions): SyncClient;
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random?: () => number): number;

/** The caching policy of one response (RFC 9111, private cache). */
export interface ResponsePolicy {
  /** 'yes'; 'user' (memory or the user's namespace only: private, Set-Cookie, Vary: Authorization); 'no'. */
  storable: 'yes' | 'user' | 'no';
  reason: string;
  /** Fresh strictly before this instant (ms). */
  freshUntil: number;
  /** Servable while revalidating in the background strictly before this instant. */
  revalidateUntil: number;
  /** Servable when the origin fails strictly before this instant. */
  onErrorUntil: number;
  immutable: boolean;
  noCache: boolean;
  /** Whether the response states its own lifetime (max-age or Expires). */
  explicit: boolean;
}

/** Decides storability and freshness of `response` (call after the package is initialised). */
export function responsePolicy(
  method: string,
  response: Response,
  times?: {
    requestTime?: number; responseTime?: number; statuses?: number[];
    /** The request's headers: with `Authorization`, a response not marked `public`, `s-maxage` or `must-revalidate` is the user's. */
    requestHeaders?: Headers;
  },
): ResponsePolicy;

/** A glob (`*`, `?`, `\` escapes) as an anchored RegExp (call after the package is initialised). */
export function globToRegExp(pattern: string): RegExp;

/** A URL rule of the API cache. Defaults are in `RULE_DEFAULTS`. */
export interface ApiRule {
  /**
   * Glob over path + query (`/api/products/*`), RegExp over the full URL, or a predicate. The
   * rule a URL falls under is remembered, so a predicate must depend on the URL alone.
   */
  match: string | RegExp | ((url: URL) => boolean);
  /** Freshness for responses that state none (no max-age, no Expires). Default 0. */
  ttlMs?: number;
  /** Tags on every entry (the response's Cache-Tag / Surrogate-Key add more). Default []. */
  tags?: string[];
  /** Entries belong to the user: stored in `userCache`, wiped with it. Default false. */
  perUser?: boolean;
  /** How long a stale entry with validators is kept for revalidation. Default 86 400 000. */
  keepMs?: number;
  /** Cacheable statuses. Default 200, 203, 204, 300, 301, 404, 410. */
  statuses?: number[];
}

export interface ApiCacheOptions {
  /** Where shared responses are kept. */
  cache: Cache<any>;
  /** Where per-user responses are kept (a namespace of the user's own). */
  userCache?: Cache<any>;
  rules?: ApiRule[];
  /** The network. Default: the global fetch at creation. */
  fetch?: typeof fetch;
  /** Default Date.now. */
  clock?: () => number;
}

export interface ApiCacheStats {
  hits: number;
  misses: number;
  staleServed: number;
  revalidations: number;
  /** 304 answers that refreshed a stored response. */
  notModified: number;
  errorsServed: number;
  bytesSaved: number;
  stored: number;
  bypassed: number;
  uncacheable: number;
}

export class ApiCache {
  /** `fetch` with caching for covered GET/HEAD requests; `overrides.ttlMs` forces freshness. */
  fetch(input: RequestInfo | URL, init?: RequestInit, overrides?: { ttlMs?: number }): Promise<Response>;
  handles(input: RequestInfo | URL): boolean;
  /** Patches the global fetch for covered URLs; returns the function that restores it. */
  install(): () => void;
  /** Drops stored responses by `url`, URL glob `pattern` (a leading `/`: a path on this page's origin) or `tags`; returns how many. */
  invalidate(selector?: { url?: string; pattern?: string; tags?: string[] }): number;
  stats(): ApiCacheStats;
}

export const RULE_DEFAULTS: Readonly<Required<Omit<ApiRule, 'match'>>>;
export function createApiCache(options: ApiCacheOptions): ApiCache;
/** Routes `axios`'s cacheable GETs through `api` (`cache: false`, `cacheTTL` per request). */
export function cachedAxios<A>(axios: A, api: ApiCache, statics?: unknown): A;

// Service worker, page side (the worker side is `cache-wasm/sw`).

/** A reply of the service worker (see the README's message protocol). */
export interface ServiceWorkerReply {
  type: string;
  ok: boolean;
  error?: { name: string; code: string; message: string };
  [field: string]: unknown;
}

export interface RegisterServiceWorkerOptions {
  /** Default: the script's folder. */
  scope?: string;
  /** Default 'module'. */
  type?: WorkerType;
  /** Default 'none'. */
  updateViaCache?: ServiceWorkerUpdateViaCache;
  /** Called when a new version is installed and waiting. */
  onUpdate?: (waiting: ServiceWorker) => void;
  /** Default `navigator.serviceWorker`. */
  container?: ServiceWorkerContainer;
}

/** Emits `update-available` (detail: the waiting worker) and `controllerchange`. */
export interface ServiceWorkerHandle extends EventTarget {
  readonly registration: ServiceWorkerRegistration;
  readonly waiting: ServiceWorker | null;
  checkForUpdate(): Promise<unknown>;
  /** Activates the waiting version; resolves once it is activated and controls the page. */
  activateUpdate(): Promise<boolean>;
  send(message: { type: string; [field: string]: unknown }, onProgress?: (p: { done: number; total: number; url: string; ok: boolean }) => void, timeoutMs?: number): Promise<ServiceWorkerReply>;
}
export function registerServiceWorker(url: string | URL, options?: RegisterServiceWorkerOptions): Promise<ServiceWorkerHandle>;

/** An `onEvent` for `connectSync` posting each hub invalidation/reset to the service worker. */
export function forwardToServiceWorker(options?: { container?: ServiceWorkerContainer; timeoutMs?: number }): (type: string, data: string) => Promise<ServiceWorkerReply | undefined>;
/** The INVALIDATE message for a hub update; undefined for other types. */
export function hubUpdateToMessage(type: string, data: string | object): object | undefined;
