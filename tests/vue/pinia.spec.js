import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { createApp } from 'vue';
import { createPinia, defineStore, setActivePinia } from 'pinia';
import { createCache } from 'cache-wasm';
import { cachePinia } from 'cache-wasm/pinia';

let memory;

function freshPinia() {
  const pinia = createPinia();
  pinia.use(cachePinia({ caches: { memory } }));
  createApp({}).use(pinia); // plugins run once Pinia is installed in an app
  setActivePinia(pinia);
  return pinia;
}

const useCart = defineStore('cart', {
  state: () => ({ items: [], token: '', note: '' }),
  actions: {
    add(item) { this.items.push(item); },
    reload() { this.items = ['reloaded']; },
  },
  cache: { enabled: true, ttl: 1_000, storage: 'memory', paths: ['items', 'token'], exclude: ['token'] },
});

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(1_700_000_000_000);
  memory = await createCache({ namespace: 'pinia', defaultTtlMs: 60_000 });
});
afterEach(() => vi.useRealTimers());

describe('cachePinia', () => {
  it('persists the listed paths, never the excluded ones, and restores them', async () => {
    freshPinia();
    const cart = useCart();
    cart.add('lamp');
    cart.token = 'secret';
    cart.note = 'not listed';
    await Promise.resolve();
    expect(memory.get('pinia:cart')).toEqual({ items: ['lamp'] });
    freshPinia();
    const again = useCart();
    expect(again.items).toEqual(['lamp']);
    expect(again.token).toBe('');
    expect(again.note).toBe('');
  });

  it('lets the TTL run out', async () => {
    freshPinia();
    useCart().add('lamp');
    await Promise.resolve();
    vi.advanceTimersByTime(1_000);
    freshPinia();
    expect(useCart().items).toEqual([]);
  });

  it('$cache.clear() drops the saved state; a hub invalidation reloads the store', async () => {
    freshPinia();
    const cart = useCart();
    cart.add('lamp');
    await Promise.resolve();
    cart.$cache.clear();
    expect(memory.has('pinia:cart')).toBe(false);
    cart.add('chair');
    await Promise.resolve();
    memory.applyInvalidation('{"v":1,"ns":"pinia","keys":["pinia:cart"]}');
    expect(cart.items).toEqual(['reloaded']);
  });

  it('$dispose() removes its subscriptions: no reload, no persisting afterwards', async () => {
    freshPinia();
    const cart = useCart();
    cart.add('lamp');
    await Promise.resolve();
    expect(memory.has('pinia:cart')).toBe(true);
    const reload = vi.spyOn(cart, 'reload');
    cart.$dispose();
    memory.applyInvalidation('{"v":1,"ns":"pinia","keys":["pinia:cart"]}');
    expect(reload).not.toHaveBeenCalled();
    cart.items.push('chair');
    await Promise.resolve();
    expect(memory.has('pinia:cart')).toBe(false);
  });

  it('under server-side rendering (no window) restores, persists and follows nothing', async () => {
    memory.set('pinia:cart', { items: ['from another request'] });
    delete globalThis.window;
    try {
      freshPinia();
      const cart = useCart();
      expect(cart.items).toEqual([]);
      cart.add('lamp');
      await Promise.resolve();
      expect(memory.get('pinia:cart')).toEqual({ items: ['from another request'] });
      memory.applyInvalidation('{"v":1,"ns":"pinia","keys":["pinia:cart"]}');
      expect(cart.items).toEqual(['lamp']);
    } finally {
      globalThis.window = globalThis;
    }
  });
});

describe('cachePinia: paths, restore checks and corrupt saved state', () => {
  const useUser = defineStore('user', {
    state: () => ({ user: { name: '', token: '' }, items: [], note: '' }),
    cache: { enabled: true, storage: 'memory', exclude: ['user.token'] },
  });

  it('never persists a nested excluded path, and leaves the state itself alone', async () => {
    freshPinia();
    const store = useUser();
    store.user.name = 'ann';
    store.user.token = 'secret';
    await Promise.resolve();
    expect(memory.get('pinia:user')).toEqual({ user: { name: 'ann' }, items: [], note: '' });
    expect(store.user.token).toBe('secret');
    freshPinia();
    expect(useUser().user).toEqual({ name: 'ann', token: '' });
  });

  it('persists only the nested paths listed', async () => {
    const useProfile = defineStore('profile', {
      state: () => ({ user: { name: '', token: '' }, other: 1 }),
      cache: { enabled: true, storage: 'memory', paths: ['user.name'] },
    });
    freshPinia();
    const store = useProfile();
    store.$patch({ user: { name: 'bob', token: 't' }, other: 2 });
    await Promise.resolve();
    expect(memory.get('pinia:profile')).toEqual({ user: { name: 'bob' } });
  });

  it('refuses a path it cannot read with a clear error', () => {
    const useBad = defineStore('bad', { state: () => ({ a: 1 }), cache: { enabled: true, storage: 'memory', exclude: ['user..token'] } });
    freshPinia();
    expect(() => useBad()).toThrow(/exclude.*dotted paths/);
  });

  it('restores only keys of the state, of the same type', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    memory.set('pinia:user', { items: ['a'], injected: 'x', note: 42 });
    freshPinia();
    const store = useUser();
    expect(store.items).toEqual(['a']);
    expect('injected' in store.$state).toBe(false);
    expect(store.note).toBe('');
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });

  it('drops a saved state that cannot be read, warns, and still creates the store', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const broken = {
      get: () => { throw new SyntaxError('corrupt record'); },
      set: (...args) => memory.set(...args),
      remove: vi.fn((k) => memory.remove(k)),
      subscribe: (...args) => memory.subscribe(...args),
    };
    const pinia = createPinia();
    pinia.use(cachePinia({ caches: { memory: broken } }));
    createApp({}).use(pinia);
    setActivePinia(pinia);
    expect(useUser().items).toEqual([]);
    expect(broken.remove).toHaveBeenCalledWith('pinia:user');
    memory.set('pinia:user', 'garbage');
    freshPinia();
    expect(useUser().note).toBe('');
    expect(memory.has('pinia:user')).toBe(false);
    expect(warn).toHaveBeenCalledTimes(2);
    warn.mockRestore();
  });
});
