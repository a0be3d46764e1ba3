// Everything the demo shares: the three caches, the API cache, the hub connection and the
// service worker, set up once the way any app using cache-wasm would.
import { reactive } from 'vue';
import {
  createCache,
  createApiCache,
  connectSync,
  forwardToServiceWorker,
  registerServiceWorker,
} from 'cache-wasm';

export const PAGE_SIZE = 12;

/** An API error as an `Error` with the server's `code` (`bad_request`, `unavailable`, ...). */
async function apiError(res) {
  const body = await res.json().catch(() => ({}));
  return Object.assign(new Error(body.message ?? `the API answered ${res.status}`), {
    name: 'ApiError',
    code: body.error ?? 'http_error',
    status: res.status,
  });
}

// The service worker's state, for the live panel: unsupported | registering | installing |
// installed | activating | activated | controlling | offline-ready | error.
function startServiceWorker(state) {
  if (!('serviceWorker' in navigator) || !import.meta.env.PROD) return;
  state.state = 'registering';
  registerServiceWorker('/sw.js', { scope: '/' })
    .then((handle) => {
      state.handle = handle;
      const follow = () => {
        const reg = handle.registration;
        const worker = reg.installing ?? reg.waiting ?? reg.active;
        if (state.state === 'offline-ready') return;
        state.state = navigator.serviceWorker.controller ? 'controlling' : (worker?.state ?? 'registering');
      };
      const precache = async () => {
        follow();
        if (!navigator.serviceWorker.controller) return;
        // What this page loaded, so a reload works without the network.
        const urls = new Set(['/']);
        for (const entry of performance.getEntriesByType('resource')) {
          const url = new URL(entry.name);
          if (url.origin === location.origin && /^\/(assets|api)\//.test(url.pathname)) urls.add(url.pathname + url.search);
        }
        const reply = await handle.send({ type: 'CACHE_URLS', urls: [...urls] });
        if (reply.ok && reply.failed.length === 0) state.state = 'offline-ready';
      };
      handle.registration.addEventListener('updatefound', () => {
        handle.registration.installing?.addEventListener('statechange', follow);
      });
      handle.registration.installing?.addEventListener('statechange', follow);
      navigator.serviceWorker.addEventListener('controllerchange', precache);
      precache();
    })
    .catch((err) => {
      state.state = 'error';
      state.detail = err.message;
    });
}

export async function createShop() {
  const [memory, local, session] = await Promise.all([
    createCache({ storage: 'memory', namespace: 'shop', defaultTtlMs: 60_000, maxEntries: 500 }),
    createCache({ storage: 'local', namespace: 'shop', defaultTtlMs: Infinity, maxBytes: 2_000_000 }),
    createCache({ storage: 'session', namespace: 'shop', defaultTtlMs: 3_600_000 }),
  ]);
  const caches = { memory, local, session };
  // HTTP responses in localStorage; the API's Cache-Tag header tags them for the hub.
  const api = createApiCache({ cache: local, rules: [{ match: '/api/products*', tags: ['catalog'] }] });
  const sw = reactive({ state: 'unsupported', detail: '', handle: null });
  // One connection per browser; every hub invalidation reaches every cache and the worker.
  const sync = connectSync({ caches: [memory, local, session], onEvent: forwardToServiceWorker() });
  startServiceWorker(sw);

  const getJson = async (url) => {
    const res = await api.fetch(url);
    if (!res.ok) throw await apiError(res);
    return res.json();
  };
  return {
    caches,
    api,
    sync,
    sw,
    /** One page of products (from 0). */
    products: (page, size) => getJson(`/api/products?page=${page}&size=${size}`).then((body) => body.items),
    /** One product. */
    product: (id) => getJson(`/api/products/${id}`),
    /** Saves an edit; `fail` asks the demo API to answer 503 (to see a rollback). */
    async save(id, edit, { fail = false } = {}) {
      const res = await fetch(`/api/products/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...(fail ? { 'x-demo-fail': '1' } : {}) },
        body: JSON.stringify(edit),
      });
      if (!res.ok) throw await apiError(res);
      return res.json();
    },
  };
}
