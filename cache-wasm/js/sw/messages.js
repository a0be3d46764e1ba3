// Messages from pages. Each message is `{ type, ... }`; the reply goes to the message's port
// (`event.ports[0]`, else back to the sender) as `{ type, ok: true, ...result }` or
// `{ type, ok: false, error: { name, code, message } }`. CACHE_URLS also posts
// `{ type: 'PROGRESS', done, total, url, ok }` after each URL. Nothing here rejects into the
// worker: every failure becomes an error reply.
import { applyInvalidation, parseSelector, bumpGeneration } from './invalidation.js';
import { openStore } from './stores.js';
import { StrategyHandler } from './strategy-handler.js';
import { swError, errorReply } from './errors.js';
import { now } from './clock.js';

const HANDLERS = {
  CLEAR_CACHE: clearCache,
  CACHE_URLS: cacheUrls,
  INVALIDATE: (router, data) => applyInvalidation(parseSelector(data)),
  STATS: stats,
  SKIP_WAITING: async () => {
    await self.skipWaiting();
    return {};
  },
};

/** Answers one `message` event for `router`. */
export function handleMessage(router, event) {
  const port = event.ports?.[0];
  const post = (message) => {
    try {
      (port ?? event.source)?.postMessage(message);
    } catch {
      // The page went away; nothing to tell.
    }
  };
  const data = event.data;
  const type = typeof data?.type === 'string' ? data.type : undefined;
  const work = (async () => {
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw swError('InvalidMessage', 'a message must be an object { type, ... }');
    if (!type || !Object.hasOwn(HANDLERS, type)) throw swError('UnknownMessage', `unknown message type ${JSON.stringify(data.type)}`);
    await router.ready;
    return HANDLERS[type](router, data, post, event);
  })().then(
    (result) => post({ type, ok: true, ...result }),
    (err) => post({ type, ok: false, error: errorReply(err) }),
  );
  event.waitUntil?.(work);
  return work;
}

function cacheNamesFor(router, data) {
  if (data.cacheName === undefined) return [...router.caches.values()];
  const full = router.caches.get(data.cacheName) ?? [...router.caches.values()].find((n) => n === data.cacheName);
  if (!full) throw swError('UnknownCache', `no cache named ${JSON.stringify(data.cacheName)} (known: ${[...router.caches.keys()].join(', ')})`);
  return [full];
}

async function clearCache(router, data) {
  const names = cacheNamesFor(router, data);
  bumpGeneration(); // responses in flight must not refill what was just cleared
  let removed = 0;
  for (const name of names) removed += await (await openStore(name)).clear();
  return { cleared: names, removed };
}

/** Fetches and stores each URL through its route's strategy (or `cacheName`'s route). */
async function cacheUrls(router, data, post, event) {
  const urls = data.urls;
  if (!Array.isArray(urls) || urls.length === 0 || urls.some((u) => typeof u !== 'string' || u === '')) {
    throw swError('InvalidMessage', 'CACHE_URLS: urls must be a non-empty array of strings');
  }
  if (data.cacheName !== undefined) cacheNamesFor(router, data);
  const failed = [];
  let done = 0;
  for (const url of urls) {
    const reason = await cacheOne(router, url, data.cacheName, event).catch((err) => err?.message ?? String(err));
    if (reason) failed.push({ url, reason });
    done++;
    post({ type: 'PROGRESS', done, total: urls.length, url, ok: !reason });
  }
  return { cached: urls.length - failed.length, failed };
}

// Resolves to undefined when stored, else to why not.
async function cacheOne(router, url, cacheName, event) {
  const request = new Request(new URL(url, self.location.href).href);
  const route = cacheName === undefined ? router.find(request.url) : router.routes().find((r) => r.cacheName === cacheName || r.strategy.cacheName === cacheName);
  if (!route) return 'no route caches this URL';
  if (route.strategyName === 'networkOnly') return 'its route is networkOnly';
  const handler = new StrategyHandler(route.strategy, { request, event });
  const requestTime = now();
  const response = await handler.fetch(request);
  const stored = await handler.cachePut(request, response, { requestTime, responseTime: now() });
  return stored ? undefined : `not cacheable (status ${response.status}${response.type === 'opaque' ? ', opaque' : ''})`;
}

async function stats(router) {
  const caches = {};
  for (const [short, full] of router.caches) {
    const store = await openStore(full);
    caches[short] = { cacheName: full, entries: store.index.size, ...store.stats };
  }
  return { version: router.version, caches };
}
