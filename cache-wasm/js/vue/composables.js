// Vue 3 composables over cache-wasm caches. Each one re-renders when its key is invalidated,
// locally or by the hub, and fetches again while its component (effect scope) is alive, like
// TanStack Query's active queries.
import { ref, shallowRef, getCurrentScope, onScopeDispose } from 'vue';
import { resolveCache, onServer } from './context.js';
import { cacheError } from '../errors.js';

const escapeGlob = (text) => text.replace(/[\\*?]/g, (c) => `\\${c}`);

// Follows `pattern` until the surrounding scope ends: `onSet(key)` for writes (this tab's or
// another's, such as an optimistic update), `onRemoved(event)` for removals (invalidate,
// remove, expire). Evictions are left out: an evicted value was not wrong, only dropped for
// room, and loading it again would evict another mounted key, which would load again, and so on.
// Under server-side rendering nothing is followed: component scopes are never disposed there,
// so each request would leave a listener on a cache shared by all of them.
function follow(cache, pattern, { onSet, onRemoved }) {
  if (onServer()) return () => {};
  const off = cache.subscribe(pattern, (event) => {
    if (event.type === 'set') onSet?.(event.key);
    else if (event.type !== 'evict') onRemoved(event);
  });
  if (getCurrentScope()) onScopeDispose(off);
  return off;
}

// `cache.getOrSet`, and whether its result is current. A key invalidated while its load was
// under way held no entry, so no event tells anyone: the result comes back but is not stored.
// Such a result is not current. One that was not stored for another reason (a full quota, a
// value Web Storage cannot hold) is still good; the cache's generation tells the two apart.
async function load(cache, key, loader, options) {
  const generation = cache.generation;
  const value = await cache.getOrSet(key, loader, options);
  if (cache.has(key)) return { value: cache.get(key), current: true }; // ours, or a newer write
  return { value, current: cache.generation === generation };
}

// `load`, tried once more when an invalidation overtook it and `retry()` still holds (the
// caller is mounted and its request the newest). A result overtaken twice is not current.
async function loadCurrent(cache, key, loader, options, retry) {
  const first = await load(cache, key, loader, options);
  return first.current || !retry() ? first : load(cache, key, loader, options);
}

// What `error` says when both loads were overtaken: `data` stays empty rather than show a
// value older than an invalidation, and the app can tell that from "nothing there".
function overtaken(key) {
  return cacheError('Overtaken', `'${key}' was invalidated while it loaded, twice in a row; load it again`);
}

/** `{ data, loading, error, fetch(loader), clear() }` for one key. */
export function useCache(key, options = {}) {
  const cache = resolveCache(options);
  const data = shallowRef(cache.get(key));
  const loading = ref(false);
  const error = shallowRef(null);
  let lastLoader = null;
  let active = true;
  let latest = 0; // the newest request: only it writes `data`, `error` and `loading`
  const fetch = async (loader = lastLoader) => {
    if (!loader) return data.value;
    lastLoader = loader;
    const request = ++latest;
    const newest = () => request === latest && active;
    loading.value = true;
    error.value = null;
    try {
      const { value, current } = await loadCurrent(cache, key, loader, { ttlMs: options.ttl, tags: options.tags }, newest);
      if (request !== latest) return current ? value : undefined;
      data.value = current ? value : undefined;
      if (!current) error.value = overtaken(key);
      return data.value;
    } catch (err) {
      if (request === latest) error.value = err;
      return undefined;
    } finally {
      if (request === latest) loading.value = false;
    }
  };
  if (getCurrentScope()) onScopeDispose(() => (active = false));
  let clearing = false; // our own remove: not a reason to load again
  const clear = () => {
    clearing = true;
    try {
      cache.remove(key);
    } finally {
      clearing = false;
    }
    data.value = undefined;
  };
  follow(cache, escapeGlob(key), {
    onSet: () => (data.value = cache.get(key)),
    onRemoved: (event) => {
      data.value = undefined;
      // An expiry seen while loading is our own load's check finding its value already expired.
      if (clearing || !active || !lastLoader || (event.type === 'expire' && loading.value)) return;
      fetch();
    },
  });
  return { data, loading, error, fetch, clear };
}

/** `{ data, loading, error, execute(), refresh() }` for `fetcher`, cached under `key`. */
export function useCachedAPI(fetcher, options = {}) {
  const { key, ttl, tags, immediate = true, onSuccess, onError } = options;
  if (typeof key !== 'string') throw new TypeError('cache-wasm/vue: useCachedAPI needs a `key`');
  const cache = resolveCache(options);
  const data = shallowRef(cache.get(key));
  const loading = ref(false);
  const error = shallowRef(null);
  let active = true;
  let latest = 0; // the newest request: only it writes `data`, `error` and `loading`
  const execute = async () => {
    const request = ++latest;
    const newest = () => request === latest && active;
    loading.value = true;
    error.value = null;
    try {
      const { value, current } = await loadCurrent(cache, key, fetcher, { ttlMs: ttl, tags }, newest);
      if (request !== latest) return current ? value : undefined;
      if (active) data.value = current ? value : undefined;
      if (current) onSuccess?.(value);
      else if (active) error.value = overtaken(key);
      return current ? value : undefined;
    } catch (err) {
      if (request !== latest) return undefined;
      if (active) error.value = err;
      onError?.(err);
      return undefined;
    } finally {
      if (request === latest) loading.value = false;
    }
  };
  let refreshing = false; // refresh()'s own remove: it loads once, not twice
  const refresh = () => {
    refreshing = true;
    try {
      cache.remove(key);
    } finally {
      refreshing = false;
    }
    return execute();
  };
  follow(cache, escapeGlob(key), {
    onSet: () => active && (data.value = cache.get(key)),
    onRemoved: (event) => {
      data.value = undefined;
      // An expiry seen while loading is our own load's check finding its value already expired.
      if (refreshing || !active || (event.type === 'expire' && loading.value)) return;
      execute();
    },
  });
  if (getCurrentScope()) onScopeDispose(() => (active = false));
  if (immediate) execute();
  return { data, loading, error, execute, refresh };
}

// Optimistic updates under way, per cache and key, oldest first, so that overlapping ones
// (in one composable or several) roll back in the right order.
const optimistic = new WeakMap();

function underWay(cache, key) {
  let byKey = optimistic.get(cache);
  if (!byKey) optimistic.set(cache, (byKey = new Map()));
  let list = byKey.get(key);
  if (!list) byKey.set(key, (list = []));
  return list;
}

/**
 * `{ update(input), pending, error }`: applies `optimisticUpdate(current, input)` to the cached
 * value at once, runs `mutate(input)`, and on failure restores the previous value
 * (`rollbackOnError`, default true) and rethrows. A rollback restores only a value this update
 * wrote and nothing wrote over since; an invalidation, or another write, meanwhile wins.
 */
export function useOptimisticUpdate(mutate, options = {}) {
  const { cacheKey, optimisticUpdate, rollbackOnError = true, ttl, tags } = options;
  const cache = resolveCache(options);
  const pending = ref(false);
  const error = shallowRef(null);
  let running = 0;
  const write = (value) => cache.set(cacheKey, value, { ttlMs: ttl, tags });
  const update = async (input) => {
    let mine = null;
    if (optimisticUpdate) {
      const list = underWay(cache, cacheKey);
      const below = list.at(-1);
      const previous = cache.get(cacheKey);
      // `base`: the update whose value this one replaces, if that value is still the current
      // one. `touched`: something changed the key after this write (a newer update, another
      // write, an invalidation, an expiry).
      const base = below && !below.touched ? below : null;
      write(optimisticUpdate(previous, input));
      mine = { previous, base, touched: false };
      mine.off = cache.subscribe(escapeGlob(cacheKey), () => (mine.touched = true));
      list.push(mine);
    }
    running++;
    pending.value = true;
    error.value = null;
    try {
      return await mutate(input);
    } catch (err) {
      error.value = err;
      if (mine && rollbackOnError) rollBack(mine);
      throw err;
    } finally {
      if (mine) settle(mine);
      pending.value = --running > 0;
    }
  };
  // Restores what this update replaced, if its value is still the current one; else the
  // update that replaced it now restores that instead.
  const rollBack = (mine) => {
    const list = underWay(cache, cacheKey);
    if (mine.touched) {
      for (const other of list) {
        if (other.base === mine) Object.assign(other, { previous: mine.previous, base: mine.base });
      }
      return;
    }
    mine.off();
    if (mine.previous === undefined) cache.remove(cacheKey);
    else write(mine.previous);
    if (mine.base) mine.base.touched = false; // its value is the current one again
  };
  const settle = (mine) => {
    mine.off();
    const byKey = optimistic.get(cache);
    const list = byKey?.get(cacheKey) ?? [];
    list.splice(list.indexOf(mine), 1);
    for (const other of list) if (other.base === mine) other.base = null;
    if (list.length === 0) byKey?.delete(cacheKey);
  };
  return { update, pending, error };
}

/**
 * `{ items, loadMore(), reset(), hasMore, loading }`: pages from `fetchPage(pageIndex,
 * pageSize)`, each cached under `<cacheKey>:page:<n>`, so a revisit is served from cache.
 * With `keepPreviousItems`, the reload after an invalidation leaves the rows shown until it is
 * done, then swaps them all at once (they may be out of date meanwhile).
 */
export function useCachedInfiniteScroll(fetchPage, options = {}) {
  const { cacheKey, pageSize = 20, ttl, tags, keepPreviousItems = false } = options;
  const cache = resolveCache(options);
  const items = shallowRef([]);
  const hasMore = ref(true);
  const loading = ref(false);
  const pages = [];
  const pageKey = (n) => `${cacheKey}:page:${n}`;
  let active = true;
  if (getCurrentScope()) onScopeDispose(() => (active = false));
  // Each reset or reload starts a new list: a page that arrives for an older one is dropped.
  let list = 0;
  let running = null; // the loadMore() under way for the current list
  let held = -1; // the list being reloaded behind the previous rows (`keepPreviousItems`)
  const loadMore = () => {
    if (running) return running;
    if (!hasMore.value) return Promise.resolve();
    const mine = list;
    const n = pages.length;
    loading.value = true;
    const load = (async () => {
      try {
        const loader = () => fetchPage(n, pageSize);
        const { value: page, current } = await loadCurrent(cache, pageKey(n), loader, { ttlMs: ttl, tags }, () => mine === list && active);
        // A page overtaken twice by invalidations is left out; the next loadMore() tries again.
        if (mine !== list || !current) return;
        pages.push(page);
        if (held !== mine) items.value = pages.flat();
        hasMore.value = page.length === pageSize;
      } finally {
        if (running === load) {
          running = null;
          loading.value = false;
        }
      }
    })();
    running = load;
    return load;
  };
  const pagePattern = `${escapeGlob(cacheKey)}:page:*`;
  const startOver = (hold = false) => {
    list++;
    running = null;
    loading.value = false;
    pages.length = 0;
    held = hold ? list : -1;
    if (!hold) items.value = [];
    hasMore.value = true;
  };
  const reset = () => {
    startOver(); // first, so the invalidation below does not count as one to reload after
    cache.invalidate({ patterns: [pagePattern] });
  };
  // A page invalidated while mounted: load again as many pages as were shown, or were being
  // shown again when a reload is itself overtaken.
  let toShow = 0;
  follow(cache, pagePattern, {
    onRemoved: (event) => {
      if (!active || (event.type === 'expire' && loading.value)) return;
      const shown = Math.max(pages.length, toShow);
      if (shown === 0) return;
      toShow = shown;
      startOver(keepPreviousItems);
      const mine = list;
      Promise.resolve()
        .then(async () => {
          for (let i = 0; i < shown && hasMore.value && mine === list; i++) await loadMore();
        })
        // A failed reload leaves the list as far as it got; the next loadMore() tries again.
        .catch(() => {})
        .finally(() => {
          if (mine !== list) return;
          toShow = 0;
          if (held === mine) {
            held = -1;
            items.value = pages.flat();
          }
        });
    },
  });
  return { items, loadMore, reset, hasMore, loading };
}
