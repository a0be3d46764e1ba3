import type { Ref, ShallowRef, Plugin } from 'vue';
import type { Cache, StorageKind } from '../index.js';

export interface CacheChoice {
  /** The cache to use; default: the app's cache for `storage` (see `cacheVue`). */
  cache?: Cache<any>;
  /** Default 'memory'. */
  storage?: StorageKind;
}

/** Makes `caches` available to the composables of an app. */
export function cacheVue(options: { caches: Partial<Record<StorageKind, Cache<any>>> }): Plugin;

export function useCache<T = unknown>(key: string, options?: CacheChoice & { ttl?: number; tags?: string[] }): {
  data: ShallowRef<T | undefined>;
  loading: Ref<boolean>;
  error: ShallowRef<unknown>;
  fetch(loader?: () => T | Promise<T>): Promise<T | undefined>;
  clear(): void;
};

export function useCachedAPI<T = unknown>(fetcher: () => Promise<T>, options: CacheChoice & {
  key: string; ttl?: number; tags?: string[]; immediate?: boolean;
  onSuccess?: (value: T) => void; onError?: (error: unknown) => void;
}): {
  data: ShallowRef<T | undefined>;
  loading: Ref<boolean>;
  error: ShallowRef<unknown>;
  execute(): Promise<T | undefined>;
  refresh(): Promise<T | undefined>;
};

export function useOptimisticUpdate<I, R, T = unknown>(mutate: (input: I) => Promise<R>, options: CacheChoice & {
  cacheKey: string; optimisticUpdate?: (current: T | undefined, input: I) => T; rollbackOnError?: boolean; ttl?: number;
  /** Tags of the entry, written with every optimistic value and rollback. Default none. */
  tags?: string[];
}): { update(input: I): Promise<R>; pending: Ref<boolean>; error: ShallowRef<unknown> };

export function useCachedInfiniteScroll<T>(fetchPage: (page: number, pageSize: number) => Promise<T[]>, options: CacheChoice & {
  cacheKey: string; pageSize?: number; ttl?: number; tags?: string[];
  /** Keep the rows shown while the pages reload after an invalidation; swap when done. */
  keepPreviousItems?: boolean;
}): { items: ShallowRef<T[]>; loadMore(): Promise<void>; reset(): void; hasMore: Ref<boolean>; loading: Ref<boolean> };
