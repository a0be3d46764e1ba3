import type { PiniaPlugin } from 'pinia';
import type { Cache, StorageKind } from '../index.js';

/** The `cache` option of a store. */
export interface StoreCacheOptions {
  enabled: boolean;
  /** Milliseconds; default: the cache's defaultTtlMs. */
  ttl?: number;
  /** Default 'local'. */
  storage?: StorageKind;
  /** State keys or dotted paths (`'user.name'`) to persist; default all. */
  paths?: string[];
  /** State keys or dotted paths (`'user.token'`) never persisted nor restored. */
  exclude?: string[];
  /**
   * Also reload (the store's `reload` action, else `$reset`) when the saved state cannot be
   * read; it is dropped, with a warning, either way. Default false.
   */
  reloadOnError?: boolean;
}

export function cachePinia(options: { caches: Partial<Record<StorageKind, Cache<any>>> }): PiniaPlugin;

declare module 'pinia' {
  export interface DefineStoreOptionsBase<S, Store> {
    cache?: StoreCacheOptions;
  }
  export interface PiniaCustomProperties {
    $cache: { clear(): void; key: string };
  }
}
