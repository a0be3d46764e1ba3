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
    | 'InvalidValue';
}

export class Cache<V = unknown> {
  readonly namespace: string;
  /** The storage actually in use (`'memory'` after a fallback). */
  readonly storage: StorageKind;
  get(key: string): V | undefined;
  has(key: string): boolean;
  set(key: string, value: V, options?: SetOptions): this;
  remove(key: string): boolean;
  clear(): void;
  keys(): string[];
  getOrSet(key: string, loader: () => V | Promise<V>, options?: SetOptions): Promise<V>;
  invalidate(selector?: InvalidateSelector): number;
  applyInvalidation(json: string): number;
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
