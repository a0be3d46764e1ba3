import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { effectScope, nextTick } from 'vue';
import { createCache } from 'cache-wasm';
import { useCache, useCachedAPI, useOptimisticUpdate, useCachedInfiniteScroll } from 'cache-wasm/vue';

const flush = () => new Promise((resolve) => setImmediate(resolve));
let cache;

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(1_700_000_000_000);
  cache = await createCache({ namespace: 'vue', defaultTtlMs: 60_000 });
});
afterEach(() => {
  cache.close();
  vi.useRealTimers();
});

describe('useCachedAPI', () => {
  it('loads once, serves from the cache, and expires on the clock', async () => {
    const fetcher = vi.fn(async () => ({ id: 1 }));
    const scope = effectScope();
    const first = scope.run(() => useCachedAPI(fetcher, { cache, key: 'p:1', ttl: 1_000 }));
    await flush();
    expect(first.data.value).toEqual({ id: 1 });
    const second = scope.run(() => useCachedAPI(fetcher, { cache, key: 'p:1', ttl: 1_000 }));
    await flush();
    expect(second.data.value).toBe(first.data.value);
    expect(fetcher).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1_000);
    await second.execute();
    expect(fetcher).toHaveBeenCalledTimes(2);
    scope.stop();
  });

  it('re-renders and refetches when the key is invalidated while mounted, not after', async () => {
    let n = 0;
    const fetcher = vi.fn(async () => ({ n: ++n }));
    const scope = effectScope();
    const q = scope.run(() => useCachedAPI(fetcher, { cache, key: 'p:2' }));
    await flush();
    expect(q.data.value).toEqual({ n: 1 });
    cache.applyInvalidation('{"v":1,"ns":"vue","keys":["p:2"]}'); // as the hub would
    expect(q.data.value).toBeUndefined();
    await flush();
    expect(q.data.value).toEqual({ n: 2 });
    scope.stop(); // unmounted: no more refetches
    cache.invalidate({ keys: ['p:2'] });
    await flush();
    expect(fetcher).toHaveBeenCalledTimes(2);
  });

  it('reports errors and calls the callbacks', async () => {
    const onError = vi.fn();
    const onSuccess = vi.fn();
    const scope = effectScope();
    const q = scope.run(() => useCachedAPI(async () => { throw new Error('down'); }, { cache, key: 'p:3', onError, onSuccess }));
    await flush();
    expect(q.error.value.message).toBe('down');
    expect(q.loading.value).toBe(false);
    expect(onError).toHaveBeenCalledOnce();
    expect(onSuccess).not.toHaveBeenCalled();
    expect(cache.has('p:3')).toBe(false);
    scope.stop();
  });
});

describe('writes and invalidations reach mounted composables', () => {
  it('useCachedAPI shows a write made elsewhere (an optimistic update, another tab)', async () => {
    const scope = effectScope();
    const q = scope.run(() => useCachedAPI(async () => ({ v: 1 }), { cache, key: 'p:9' }));
    await flush();
    cache.set('p:9', { v: 2 });
    expect(q.data.value).toEqual({ v: 2 });
    scope.stop();
  });

  it('useCachedInfiniteScroll reloads the pages it showed when one is invalidated', async () => {
    let version = 1;
    const fetchPage = vi.fn(async (page, size) => Array.from({ length: size }, (_, i) => `${page * size + i}@v${version}`));
    const scope = effectScope();
    const list = scope.run(() => useCachedInfiniteScroll(fetchPage, { cache, cacheKey: 'feed', pageSize: 2 }));
    await list.loadMore();
    await list.loadMore();
    version = 2;
    cache.invalidate({ keys: ['feed:page:1'] });
    await flush();
    await flush();
    expect(list.items.value).toEqual(['0@v1', '1@v1', '2@v2', '3@v2']);
    expect(fetchPage).toHaveBeenCalledTimes(3);
    scope.stop();
  });
});

// A loader that waits until the test lets it go: `gate.open()` resolves the oldest call waiting.
function gated(make) {
  const waiting = [];
  const loader = vi.fn(async (...args) => {
    const value = make(...args);
    await new Promise((resolve) => waiting.push(resolve));
    return value;
  });
  return { loader, open: () => waiting.shift()(), openLast: () => waiting.pop()(), waiting: () => waiting.length > 0 };
}

describe('loads overtaken by an invalidation or a newer request', () => {
  it('useCachedAPI does not show a load its key was invalidated during; it loads again', async () => {
    let version = 1;
    const gate = gated(() => ({ v: version }));
    const scope = effectScope();
    const q = scope.run(() => useCachedAPI(gate.loader, { cache, key: 'p:4' }));
    await flush();
    version = 2;
    cache.applyInvalidation('{"v":1,"ns":"vue","keys":["p:4"]}'); // no entry yet: no event
    gate.open();
    await flush();
    expect(q.data.value).toBeUndefined();
    expect(gate.loader).toHaveBeenCalledTimes(2);
    gate.open();
    await flush();
    expect(q.data.value).toEqual({ v: 2 });
    expect(q.error.value).toBeNull();
    expect(cache.get('p:4')).toEqual({ v: 2 });
    scope.stop();
  });

  it('useCachedAPI says so in `error` when the second load is overtaken too', async () => {
    const gate = gated(() => ({ v: 1 }));
    const onSuccess = vi.fn();
    const scope = effectScope();
    const q = scope.run(() => useCachedAPI(gate.loader, { cache, key: 'p:6', onSuccess }));
    await flush();
    cache.applyInvalidation('{"v":1,"ns":"vue","keys":["p:6"]}');
    gate.open();
    await flush();
    cache.applyInvalidation('{"v":1,"ns":"vue","keys":["p:6"]}');
    gate.open();
    await flush();
    expect(gate.loader).toHaveBeenCalledTimes(2);
    expect(q.data.value).toBeUndefined();
    expect(q.error.value).toMatchObject({ name: 'CacheError', code: 'Overtaken' });
    expect(q.loading.value).toBe(false);
    expect(onSuccess).not.toHaveBeenCalled();
    const again = q.execute();
    expect(q.error.value).toBeNull();
    await flush();
    gate.open();
    await again;
    expect(q.data.value).toEqual({ v: 1 });
    scope.stop();
  });

  it('useCache.fetch does the same, and loads again only once', async () => {
    let version = 1;
    const gate = gated(() => version);
    const scope = effectScope();
    const c = scope.run(() => useCache('k:4', { cache }));
    const fetching = c.fetch(gate.loader);
    await flush();
    cache.invalidate({ keys: ['k:4'] });
    version = 2;
    gate.open();
    await flush();
    cache.invalidate({ keys: ['k:4'] }); // overtaken again: not shown, no third load
    gate.open();
    await expect(fetching).resolves.toBeUndefined();
    expect(c.data.value).toBeUndefined();
    expect(gate.loader).toHaveBeenCalledTimes(2);
    // Said, so the app can tell it from "nothing there".
    expect(c.error.value).toMatchObject({ name: 'CacheError', code: 'Overtaken' });
    expect(c.loading.value).toBe(false);
    scope.stop();
  });

  it('a result not stored for another reason (a full quota) is shown, and not loaded again', async () => {
    const tiny = await createCache({ namespace: 'tiny', maxBytes: 10 });
    const scope = effectScope();
    const q = scope.run(() => useCachedAPI(async () => 'x'.repeat(100), { cache: tiny, key: 'big' }));
    await flush();
    expect(tiny.has('big')).toBe(false);
    expect(q.data.value).toBe('x'.repeat(100));
    scope.stop();
    tiny.close();
  });

  it('useCachedAPI: of overlapping requests the newest wins, whatever order they end in', async () => {
    let version = 1;
    const gate = gated(() => ({ v: version }));
    const scope = effectScope();
    const q = scope.run(() => useCachedAPI(gate.loader, { cache, key: 'p:5' }));
    await flush();
    version = 2;
    const refreshing = q.refresh();
    await flush();
    gate.openLast(); // the refresh ends first
    await refreshing;
    expect(q.data.value).toEqual({ v: 2 });
    gate.open(); // then the first request
    await flush();
    expect(q.data.value).toEqual({ v: 2 });
    expect(q.loading.value).toBe(false);
    scope.stop();
  });
});

describe('evictions and clears', () => {
  const later = () => new Promise((resolve) => setTimeout(resolve, 0));

  it('an evicted key is not loaded again: more mounted keys than maxEntries do not loop', async () => {
    const small = await createCache({ namespace: 'small', maxEntries: 1 });
    const fetcher = vi.fn(async () => {
      await later();
      return { at: fetcher.mock.calls.length };
    });
    const scope = effectScope();
    const a = scope.run(() => useCachedAPI(fetcher, { cache: small, key: 'a' }));
    await flush();
    await later();
    const b = scope.run(() => useCachedAPI(fetcher, { cache: small, key: 'b' })); // evicts a
    for (let i = 0; i < 10; i++) await later();
    expect(fetcher).toHaveBeenCalledTimes(2);
    expect(a.data.value).toEqual({ at: 1 }); // still shown: it was not wrong
    expect(b.data.value).toEqual({ at: 2 });
    scope.stop();
    small.close();
  });

  it('useCache.clear() clears and does not load again; an invalidation still does', async () => {
    const loader = vi.fn(async () => 'v');
    const scope = effectScope();
    const c = scope.run(() => useCache('k:5', { cache }));
    await c.fetch(loader);
    c.clear();
    await flush();
    expect(c.data.value).toBeUndefined();
    expect(cache.has('k:5')).toBe(false);
    expect(loader).toHaveBeenCalledTimes(1);
    await c.fetch();
    cache.invalidate({ keys: ['k:5'] });
    await flush();
    expect(loader).toHaveBeenCalledTimes(3);
    expect(c.data.value).toBe('v');
    scope.stop();
  });

  it('useCachedAPI.refresh() loads once', async () => {
    const fetcher = vi.fn(async () => 'v');
    const scope = effectScope();
    const q = scope.run(() => useCachedAPI(fetcher, { cache, key: 'p:6' }));
    await flush();
    await q.refresh();
    await flush();
    expect(fetcher).toHaveBeenCalledTimes(2);
    scope.stop();
  });
});

describe('useCachedInfiniteScroll while a page is loading', () => {
  let version;
  let gate;
  const page = (n, size) => Array.from({ length: size }, (_, i) => `${n * size + i}@v${version}`);
  const mount = () => {
    version = 1;
    gate = gated(page);
    const scope = effectScope();
    return { scope, list: scope.run(() => useCachedInfiniteScroll(gate.loader, { cache, cacheKey: 'feed', pageSize: 2 })) };
  };
  const settle = async () => {
    for (let i = 0; i < 20; i++) {
      await flush();
      while (gate.loader.mock.calls.length > 0 && gate.waiting()) gate.open();
    }
  };

  it('reset() drops the page that was loading', async () => {
    const { scope, list } = mount();
    const first = list.loadMore();
    await flush();
    list.reset();
    gate.open();
    await first;
    expect(list.items.value).toEqual([]);
    expect(list.loading.value).toBe(false);
    const again = list.loadMore();
    await flush();
    gate.open();
    await again;
    expect(list.items.value).toEqual(['0@v1', '1@v1']);
    scope.stop();
  });

  it('a reload during a loadMore() shows the pages in order, once each, at the new version', async () => {
    const { scope, list } = mount();
    const first = list.loadMore();
    await flush();
    gate.open();
    await first;
    list.loadMore(); // page 1 under way
    await flush();
    version = 2;
    cache.invalidate({ keys: ['feed:page:0'] }); // reload what was shown
    await settle();
    expect(list.items.value).toEqual(['0@v2', '1@v2']);
    expect(list.loading.value).toBe(false);
    scope.stop();
  });

  it('a page invalidated while it loads is not shown at its old version', async () => {
    const { scope, list } = mount();
    const first = list.loadMore();
    await flush();
    version = 2;
    cache.invalidate({ keys: ['feed:page:0'] }); // no entry yet: no event
    await settle();
    await first;
    expect(list.items.value).toEqual(['0@v2', '1@v2']);
    expect(cache.get('feed:page:0')).toEqual(['0@v2', '1@v2']);
    scope.stop();
  });

  it('with keepPreviousItems, the rows stay until the reload is done, then change at once', async () => {
    version = 1;
    gate = gated(page);
    const scope = effectScope();
    const list = scope.run(() => useCachedInfiniteScroll(gate.loader, { cache, cacheKey: 'kept', pageSize: 2, keepPreviousItems: true }));
    for (let i = 0; i < 2; i++) {
      const more = list.loadMore();
      await flush();
      gate.open();
      await more;
    }
    const seen = [];
    const off = cache.subscribe('kept:page:*', () => seen.push(list.items.value));
    version = 2;
    cache.invalidate({ patterns: ['kept:page:*'] });
    await flush();
    expect(list.items.value).toEqual(['0@v1', '1@v1', '2@v1', '3@v1']);
    gate.open(); // page 0 at v2
    await flush();
    expect(list.items.value).toEqual(['0@v1', '1@v1', '2@v1', '3@v1'], 'not half the list');
    gate.open(); // page 1 at v2
    await flush();
    await flush();
    expect(list.items.value).toEqual(['0@v2', '1@v2', '2@v2', '3@v2']);
    expect(seen.every((rows) => rows.length === 4), 'never shorter meanwhile').toBe(true);
    expect(gate.loader).toHaveBeenCalledTimes(4);
    // reset() still empties at once.
    list.reset();
    expect(list.items.value).toEqual([]);
    off();
    scope.stop();
  });

  it('a second invalidation during a reload is not lost', async () => {
    const { scope, list } = mount();
    for (let i = 0; i < 2; i++) {
      const more = list.loadMore();
      await flush();
      gate.open();
      await more;
    }
    version = 2;
    cache.invalidate({ patterns: ['feed:page:*'] }); // both pages load again
    await flush();
    gate.open(); // page 0 at v2
    await flush();
    expect(gate.waiting()).toBe(true); // page 1 is loading now
    version = 3;
    cache.invalidate({ keys: ['feed:page:0'] });
    await settle();
    expect(list.items.value).toEqual(['0@v3', '1@v3', '2@v2', '3@v2']);
    scope.stop();
  });
});

describe('server-side rendering (no window)', () => {
  afterEach(() => (globalThis.window = globalThis));

  it('leaves no listener on the shared cache: component scopes are never disposed there', async () => {
    delete globalThis.window;
    const fetcher = vi.fn(async () => 'v');
    const scope = effectScope(); // never stopped, as under SSR
    const q = scope.run(() => useCachedAPI(fetcher, { cache, key: 'ssr' }));
    const c = scope.run(() => useCache('ssr', { cache }));
    await flush();
    expect(q.data.value).toBe('v');
    cache.invalidate({ keys: ['ssr'] });
    await flush();
    expect(fetcher).toHaveBeenCalledTimes(1);
    expect(q.data.value).toBe('v');
    expect(c.data.value).toBeUndefined();
  });
});

describe('a closed cache', () => {
  it('answers every call with a CacheError coded Closed', async () => {
    const c = await createCache({ namespace: 'closing' });
    c.set('k', 1);
    c.close();
    for (const call of [() => c.get('k'), () => c.set('k', 2), () => c.stats(), () => c.close()]) {
      expect(call).toThrow(expect.objectContaining({ name: 'CacheError', code: 'Closed' }));
    }
  });
});

describe('useCache', () => {
  it('fetches with a loader, clears, and follows invalidations', async () => {
    const scope = effectScope();
    const c = scope.run(() => useCache('k', { cache }));
    expect(c.data.value).toBeUndefined();
    let n = 0;
    await c.fetch(async () => ++n);
    expect(c.data.value).toBe(1);
    cache.invalidate({ keys: ['k'] });
    await flush();
    expect(c.data.value).toBe(2);
    c.clear();
    expect(c.data.value).toBeUndefined();
    expect(cache.has('k')).toBe(false);
    scope.stop();
  });
});

describe('useOptimisticUpdate', () => {
  it('applies at once and keeps the value when the mutation succeeds', async () => {
    cache.set('cart', { count: 1 });
    const { update, pending } = useOptimisticUpdate(async () => 'ok', {
      cache, cacheKey: 'cart', optimisticUpdate: (cart, add) => ({ count: cart.count + add }),
    });
    const running = update(2);
    expect(cache.get('cart')).toEqual({ count: 3 });
    expect(pending.value).toBe(true);
    await expect(running).resolves.toBe('ok');
    expect(cache.get('cart')).toEqual({ count: 3 });
  });

  it('rolls back when the mutation fails', async () => {
    cache.set('cart', { count: 1 });
    const { update, error } = useOptimisticUpdate(async () => { throw new Error('409'); }, {
      cache, cacheKey: 'cart', optimisticUpdate: (cart, add) => ({ count: cart.count + add }),
    });
    await expect(update(5)).rejects.toThrow('409');
    expect(cache.get('cart')).toEqual({ count: 1 });
    expect(error.value.message).toBe('409');
  });
});

describe('overlapping optimistic updates', () => {
  // Mutations the test settles by hand: `settle.ok(i)` / `settle.fail(i)` for the i-th call.
  function manual() {
    const calls = [];
    const mutate = vi.fn(() => new Promise((resolve, reject) => calls.push({ resolve, reject })));
    return { mutate, ok: (i) => calls[i].resolve('ok'), fail: (i) => calls[i].reject(new Error('409')) };
  }
  const add = (cart, n) => ({ n: (cart?.n ?? 0) + n });

  it('a failed update does not wipe a newer one; pending lasts until both end', async () => {
    cache.set('cart', { n: 0 });
    const m = manual();
    const { update, pending } = useOptimisticUpdate(m.mutate, { cache, cacheKey: 'cart', optimisticUpdate: add });
    const a = update(1);
    const b = update(10);
    expect(cache.get('cart')).toEqual({ n: 11 });
    m.fail(0);
    await expect(a).rejects.toThrow('409');
    expect(cache.get('cart')).toEqual({ n: 11 });
    expect(pending.value).toBe(true);
    m.ok(1);
    await b;
    expect(cache.get('cart')).toEqual({ n: 11 });
    expect(pending.value).toBe(false);
  });

  it('when both fail, in either order, the value from before both comes back', async () => {
    for (const order of [[0, 1], [1, 0]]) {
      cache.set('cart', { n: 0 });
      const m = manual();
      const { update } = useOptimisticUpdate(m.mutate, { cache, cacheKey: 'cart', optimisticUpdate: add });
      const runs = [update(1), update(10)];
      for (const i of order) {
        m.fail(i);
        await expect(runs[i]).rejects.toThrow('409');
      }
      expect(cache.get('cart')).toEqual({ n: 0 });
    }
  });

  it('a rollback never writes an old value over an invalidation made meanwhile', async () => {
    cache.set('cart', { n: 0 });
    const m = manual();
    const { update } = useOptimisticUpdate(m.mutate, { cache, cacheKey: 'cart', optimisticUpdate: add });
    const a = update(1);
    cache.applyInvalidation('{"v":1,"ns":"vue","keys":["cart"]}');
    m.fail(0);
    await expect(a).rejects.toThrow('409');
    expect(cache.has('cart')).toBe(false);
  });

  it('keeps the tags it was given, through the update and the rollback', async () => {
    cache.set('cart', { n: 0 }, { tags: ['carts'] });
    const m = manual();
    const { update } = useOptimisticUpdate(m.mutate, { cache, cacheKey: 'cart', tags: ['carts'], optimisticUpdate: add });
    const a = update(1);
    m.fail(0);
    await expect(a).rejects.toThrow('409');
    expect(cache.get('cart')).toEqual({ n: 0 });
    cache.invalidate({ tags: ['carts'] });
    expect(cache.has('cart')).toBe(false);
  });
});

describe('useCachedInfiniteScroll', () => {
  it('caches pages one by one and serves them again on a revisit', async () => {
    const fetchPage = vi.fn(async (page, size) => Array.from({ length: page < 2 ? size : 1 }, (_, i) => page * size + i));
    const firstVisit = effectScope();
    const first = firstVisit.run(() => useCachedInfiniteScroll(fetchPage, { cache, cacheKey: 'list', pageSize: 3 }));
    await first.loadMore();
    await first.loadMore();
    await first.loadMore();
    expect(first.items.value).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(first.hasMore.value).toBe(false);
    expect(fetchPage).toHaveBeenCalledTimes(3);
    firstVisit.stop(); // the first page of the app is gone
    const revisit = useCachedInfiniteScroll(fetchPage, { cache, cacheKey: 'list', pageSize: 3 });
    await revisit.loadMore();
    await revisit.loadMore();
    expect(revisit.items.value).toEqual([0, 1, 2, 3, 4, 5]);
    expect(fetchPage).toHaveBeenCalledTimes(3);
    revisit.reset();
    expect(revisit.items.value).toEqual([]);
    await revisit.loadMore();
    expect(fetchPage).toHaveBeenCalledTimes(4);
    await nextTick();
  });
});
