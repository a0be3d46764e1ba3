// The service worker (service-worker/sw.js with the package's strategies) in headless Chromium:
// a real worker, real Cache Storage, a real network (the test server, which can go offline),
// and the real hub for invalidations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, watchErrors } from './support/browser.mjs';
import { startSwServer } from './support/sw-server.mjs';
import { startHub, publisherToken, invalidate } from './support/hub.mjs';
import { ROOT } from './support/paths.mjs';

let server;
let browser;

before(async () => {
  server = await startSwServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

// A fresh context (own Cache Storage, own registration) with the worker controlling the page.
async function open() {
  server.offline = false;
  const context = await browser.newContext();
  // Errors the worker logs (warnings are expected: a failed strategy warns before failing).
  context.workerErrors = [];
  context.on('serviceworker', (worker) => worker.on('console', (m) => m.type() === 'error' && context.workerErrors.push(m.text())));
  const page = await context.newPage();
  page.errors = watchErrors(page);
  await page.goto(`${server.url}/app/index.html`);
  assert.equal(await page.evaluate(() => window.ready), true, `the page did not start: ${page.errors}`);
  return { context, page };
}

async function withPage(fn) {
  const { context, page } = await open();
  try {
    await fn(page);
    // Requests a test makes fail on purpose (offline, cache only) are logged by the page.
    assert.deepEqual(page.errors.filter((e) => !e.startsWith('Failed to load resource:')), []);
    assert.deepEqual(context.workerErrors, []);
  } finally {
    await context.close();
  }
}

const get = (page, path, init) => page.evaluate(([p, i]) => window.get(p, i), [path, init]);
const send = (page, message) => page.evaluate((m) => window.send(m), message);
const stats = async (page, cache) => (await send(page, { type: 'STATS' })).caches[cache];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(check, what, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// Waits until cache `cache` has stored `stored` responses in all (background puts land).
const stored = (page, cache, n) => until(async () => (await stats(page, cache)).stored >= n, `${cache}: ${n} stored`);

test('cacheFirst: the network once, then the cache, online and offline', async () => {
  await withPage(async (page) => {
    assert.deepEqual(await get(page, '/app/data/cf/a'), { status: 200, n: 1 });
    await stored(page, 'cf', 1);
    assert.deepEqual(await get(page, '/app/data/cf/a'), { status: 200, n: 1 });
    assert.equal(server.count('/app/data/cf/a'), 1);
    server.offline = true;
    assert.deepEqual(await get(page, '/app/data/cf/a'), { status: 200, n: 1 });
    assert.match((await get(page, '/app/data/cf/never')).error, /TypeError/);
    const s = await stats(page, 'cf');
    assert.equal(s.entries, 1);
    assert.equal(s.hits, 2);
    assert.ok(s.memoryHits >= 1, 'the second hit came from the memory tier');
  });
});

test('networkFirst: the network while it answers, the cache offline', async () => {
  await withPage(async (page) => {
    assert.equal((await get(page, '/app/data/nf/a')).n, 1);
    await stored(page, 'nf', 1);
    assert.equal((await get(page, '/app/data/nf/a')).n, 2);
    await stored(page, 'nf', 2);
    server.offline = true;
    assert.deepEqual(await get(page, '/app/data/nf/a'), { status: 200, n: 2 });
    assert.match((await get(page, '/app/data/nf/none')).error, /TypeError/);
  });
});

test('networkFirst: a network slower than networkTimeoutMs falls back to the cache, then updates it', async () => {
  await withPage(async (page) => {
    assert.equal((await get(page, '/app/data/nf/slow')).n, 1);
    await stored(page, 'nf', 1);
    server.delays['/app/data/nf/slow'] = 1_200;
    const started = Date.now();
    assert.equal((await get(page, '/app/data/nf/slow')).n, 1, 'the cached answer after the 300 ms timeout');
    assert.ok(Date.now() - started < 1_000, `answered in ${Date.now() - started} ms`);
    await stored(page, 'nf', 2); // the late network response still lands in the cache
    delete server.delays['/app/data/nf/slow'];
    server.offline = true;
    assert.equal((await get(page, '/app/data/nf/slow')).n, 2);
    // Nothing cached: the slow network is still waited for.
    server.offline = false;
    server.delays['/app/data/nf/uncached'] = 600;
    assert.equal((await get(page, '/app/data/nf/uncached')).n, 1);
  });
});

test('staleWhileRevalidate: fresh entries are served without a fetch, stale ones are revalidated', async () => {
  await withPage(async (page) => {
    assert.equal((await get(page, '/app/data/swr/a')).n, 1);
    await stored(page, 'swr', 1);
    assert.equal((await get(page, '/app/data/swr/a')).n, 1);
    await sleep(200);
    assert.equal(server.count('/app/data/swr/a'), 1, 'no background fetch inside freshForSeconds');
    await sleep(1_000); // past the 1 s freshness window
    assert.equal((await get(page, '/app/data/swr/a')).n, 1, 'the stale entry is served at once');
    await stored(page, 'swr', 2);
    assert.equal(server.count('/app/data/swr/a'), 2);
    server.offline = true;
    assert.equal((await get(page, '/app/data/swr/a')).n, 2, 'offline: the revalidated entry');
    server.offline = false;
    // The response's own freshness wins over the window: max-age=0 revalidates every hit.
    await get(page, '/app/data/swr/b?cc=max-age%3D0');
    await stored(page, 'swr', 3);
    await get(page, '/app/data/swr/b?cc=max-age%3D0');
    await stored(page, 'swr', 4);
    assert.equal(server.count('/app/data/swr/b'), 2);
  });
});

test('cacheOnly serves what CACHE_URLS precached, with progress, and never the network', async () => {
  await withPage(async (page) => {
    const { reply, progress } = await page.evaluate(async () => {
      const progress = [];
      const reply = await window.send({ type: 'CACHE_URLS', urls: ['/app/data/co/a', '/app/data/co/b', '/app/data/co/c?status=500'] }, (p) => progress.push(p));
      return { reply, progress };
    });
    assert.equal(reply.ok, true);
    assert.equal(reply.cached, 2);
    assert.deepEqual(reply.failed.map((f) => f.url), ['/app/data/co/c?status=500']);
    assert.deepEqual(progress.map((p) => [p.done, p.total, p.ok]), [[1, 3, true], [2, 3, true], [3, 3, false]]);
    server.offline = true;
    assert.deepEqual(await get(page, '/app/data/co/a'), { status: 200, n: 1 });
    server.offline = false;
    assert.match((await get(page, '/app/data/co/never')).error, /TypeError/);
    assert.equal(server.count('/app/data/co/never'), 0);
  });
});

test('networkOnly always asks the network and stores nothing', async () => {
  await withPage(async (page) => {
    assert.equal((await get(page, '/app/data/no/a')).n, 1);
    assert.equal((await get(page, '/app/data/no/a')).n, 2);
    server.offline = true;
    assert.match((await get(page, '/app/data/no/a')).error, /TypeError/);
    assert.equal((await stats(page, 'no')).entries, 0);
  });
});

test('maxEntries evicts the least recently used entry', async () => {
  await withPage(async (page) => {
    for (const [i, path] of ['1', '2', '3'].entries()) {
      await get(page, `/app/data/lim/${path}`);
      await stored(page, 'lim', i + 1);
    }
    await get(page, '/app/data/lim/1'); // 1 is now more recent than 2 and 3
    await get(page, '/app/data/lim/4');
    await until(async () => (await stats(page, 'lim')).evicted === 1, 'one eviction');
    server.offline = true;
    for (const path of ['1', '3', '4']) assert.equal((await get(page, `/app/data/lim/${path}`)).n, 1, path);
    assert.match((await get(page, '/app/data/lim/2')).error, /TypeError/);
    assert.equal((await stats(page, 'lim')).entries, 3);
  });
});

test('maxAgeSeconds and the response’s own max-age expire entries', async () => {
  await withPage(async (page) => {
    await get(page, '/app/data/age/a'); // route maxAgeSeconds: 1
    await get(page, '/app/data/cf/fresh?cc=max-age%3D1'); // route without maxAge, response max-age=1
    await get(page, '/app/data/cf/long?cc=max-age%3D3600');
    await stored(page, 'age', 1);
    await stored(page, 'cf', 2);
    assert.equal((await get(page, '/app/data/age/a')).n, 1);
    assert.equal((await get(page, '/app/data/cf/fresh?cc=max-age%3D1')).n, 1);
    await sleep(1_100);
    assert.equal((await get(page, '/app/data/age/a')).n, 2);
    assert.equal((await get(page, '/app/data/cf/fresh?cc=max-age%3D1')).n, 2);
    assert.equal((await get(page, '/app/data/cf/long?cc=max-age%3D3600')).n, 1);
    assert.equal((await stats(page, 'age')).expired, 1);
  });
});

test('only cacheable responses are stored: status 200, not no-store, not private, opaque only where allowed', async () => {
  await withPage(async (page) => {
    // (no-cache on the 404 keeps Chromium's HTTP cache from answering the second request)
    const paths = ['/app/data/cf/404?status=404&cc=no-cache', '/app/data/cf/ns?cc=no-store', '/app/data/cf/priv?cc=private%2C%20max-age%3D60'];
    for (const path of paths) {
      await get(page, path);
      await get(page, path);
    }
    await until(async () => (await stats(page, 'cf')).notCached === 6, 'six refusals');
    // Each reached the network twice (the private one may come from Chromium's own HTTP cache,
    // which is a private cache: the refusal is counted by the worker instead).
    assert.deepEqual(paths.slice(0, 2).map((p) => server.count(p.split('?')[0])), [2, 2]);
    assert.equal((await stats(page, 'cf')).entries, 0);
    // Opaque (no-cors, cross-origin): stored by the route that allows it, refused by the other.
    const opaque = `${server.otherOrigin}/app/data/opaque/a`;
    const refused = `${server.otherOrigin}/app/data/opaque-no/a`;
    assert.deepEqual(await get(page, opaque, { mode: 'no-cors' }), { opaque: true });
    assert.deepEqual(await get(page, refused, { mode: 'no-cors' }), { opaque: true });
    await stored(page, 'opaque', 1);
    await until(async () => (await stats(page, 'opaque-no')).notCached === 1, 'opaque refused');
    server.offline = true;
    assert.deepEqual(await get(page, opaque, { mode: 'no-cors' }), { opaque: true });
    assert.match((await get(page, refused, { mode: 'no-cors' })).error, /TypeError/);
    assert.equal((await stats(page, 'opaque-no')).entries, 0);
  });
});

test('a response varying on Cookie is not stored: the worker cannot see whose cookie it was', async () => {
  await withPage(async (page) => {
    const path = '/app/data/cf/vary-cookie?vary=Cookie&cc=max-age%3D60';
    const as = (user) => page.evaluate(([u, p]) => {
      document.cookie = `user=${u}; path=/`;
      return window.get(p);
    }, [user, path]);
    assert.equal((await as('alice')).n, 1);
    await until(async () => (await stats(page, 'cf')).notCached === 1, 'the refusal');
    assert.equal((await as('bob')).n, 2, 'bob is not served alice’s response');
    assert.equal((await stats(page, 'cf')).entries, 0);
  });
});

test('bad route tables are refused with clear errors', async () => {
  await withPage(async (page) => {
    const errors = await page.evaluate(async () => {
      const { registerRoutes } = await import('/app/cache-wasm/sw/index.js');
      const attempt = (routes) => {
        try {
          registerRoutes(routes, { listen: false });
          return 'accepted';
        } catch (err) {
          return `${err.name}/${err.code}: ${err.message}`;
        }
      };
      return [
        attempt([{ match: '/a/*', strategy: 'cacheFirst', allowOpaque: true }]),
        attempt([{ match: '/a/*', strategy: 'fastest' }]),
        attempt([{ match: 42, strategy: 'cacheFirst' }]),
        attempt([{ match: '/a/*', strategy: 'cacheFirst', maxEntries: 0 }]),
        attempt([{ match: '/a/*', strategy: 'networkFirst', networkTimeoutMs: -1 }]),
        attempt([{ match: '/a/*', strategy: 'cacheFirst', maxAge: 3 }]),
        attempt([{ match: '/a/*', strategy: 'cacheFirst', cacheName: 'x', maxEntries: 2 }, { match: '/b/*', strategy: 'cacheOnly', cacheName: 'x' }]),
        attempt('nope'),
      ];
    });
    assert.match(errors[0], /^CacheError\/InvalidRoute: .*route 0: cacheFirst never caches opaque/);
    assert.match(errors[1], /InvalidRoute: .*strategy must be one of cacheFirst/);
    assert.match(errors[2], /InvalidRoute: .*match must be a glob string or a RegExp/);
    assert.match(errors[3], /InvalidRoute: .*maxEntries must be a positive integer/);
    assert.match(errors[4], /InvalidRoute: .*networkTimeoutMs must be a positive number/);
    assert.match(errors[5], /InvalidRoute: .*unknown option maxAge/);
    assert.match(errors[6], /InvalidRoute: .*must agree/);
    assert.match(errors[7], /InvalidRoute: .*routes must be an array/);
  });
});

test('CLEAR_CACHE, INVALIDATE and bad messages answer on the port', async () => {
  await withPage(async (page) => {
    const fill = async () => {
      for (const p of ['/app/data/cf/x?tag=product%3A1%20catalog', '/app/data/cf/y?tag=product%3A2', '/app/data/cf/z.css', '/app/data/lim/x']) await get(page, p);
    };
    await fill();
    await stored(page, 'cf', 3);
    await stored(page, 'lim', 1);
    let r = await send(page, { type: 'CLEAR_CACHE', cacheName: 'lim' });
    assert.deepEqual([r.ok, r.removed, r.cleared], [true, 1, ['cache-wasm-v1-lim']]);
    assert.equal((await stats(page, 'cf')).entries, 3);
    r = await send(page, { type: 'INVALIDATE', tags: ['catalog'] });
    assert.deepEqual([r.ok, r.removed], [true, 1]);
    r = await send(page, { type: 'INVALIDATE', tagPatterns: ['product:*'] });
    assert.deepEqual([r.ok, r.removed], [true, 1]);
    r = await send(page, { type: 'INVALIDATE', patterns: ['/app/data/cf/*.css'] });
    assert.deepEqual([r.ok, r.removed], [true, 1]);
    await fill();
    await stored(page, 'cf', 6);
    r = await send(page, { type: 'INVALIDATE', urls: ['/app/data/cf/z.css', `${server.url}/app/data/cf/y?tag=product%3A2`] });
    assert.deepEqual([r.ok, r.removed], [true, 2]);
    r = await send(page, { type: 'CLEAR_CACHE' });
    assert.equal(r.ok, true);
    assert.equal(r.removed, 2);
    const entries = Object.values((await send(page, { type: 'STATS' })).caches).reduce((sum, c) => sum + c.entries, 0);
    assert.equal(entries, 0);
    // Served from the network again: the invalidated copies are gone.
    assert.equal((await get(page, '/app/data/cf/z.css')).n, 3);

    const bad = await page.evaluate(async () => {
      const replies = [];
      for (const m of [{ type: 'NOPE' }, 'CLEAR_CACHE', { type: 'INVALIDATE' }, { type: 'INVALIDATE', tags: 'x' }, { type: 'CLEAR_CACHE', cacheName: 'missing' }, { type: 'CACHE_URLS', urls: [] }, { type: 'INVALIDATE', patterns: ['/a/\\'] }, { type: 'INVALIDATE', urls: ['http://['] }]) {
        const r = await window.send(m);
        replies.push(`${r.ok}:${r.error?.code}`);
      }
      return replies;
    });
    assert.deepEqual(bad, ['false:UnknownMessage', 'false:InvalidMessage', 'false:InvalidMessage', 'false:InvalidMessage', 'false:UnknownCache', 'false:InvalidMessage', 'false:InvalidPattern', 'false:InvalidMessage']);
    assert.equal((await send(page, { type: 'STATS' })).ok, true, 'the worker still answers');
  });
});

// Stops the worker; the next request starts it again, and it re-reads Cache Storage.
async function restartWorker(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await cdp.detach();
}

const cacheKeys = (page, name) => page.evaluate(async (n) => (await (await caches.open(n)).keys()).map((r) => r.url), name);

test('an invalidated response stored with Vary leaves Cache Storage, every variant of it', async () => {
  await withPage(async (page) => {
    const path = '/app/data/nf/vary?vary=Accept&tag=product%3A9';
    const json = { headers: { accept: 'application/json' } };
    assert.equal((await get(page, path, json)).n, 1);
    await stored(page, 'nf', 1);
    const r = await send(page, { type: 'INVALIDATE', urls: [path] });
    assert.deepEqual([r.ok, r.removed], [true, 1]);
    assert.deepEqual(await cacheKeys(page, 'cache-wasm-v1-nf'), []);
    // A restarted worker finds nothing to adopt, so offline there is nothing to serve.
    await restartWorker(page);
    server.offline = true;
    assert.match((await get(page, path, json)).error, /TypeError/);
    // An entry whose index record was lost is adopted with the tags its response carries.
    server.offline = false;
    assert.equal((await get(page, path, json)).n, 2);
    await stored(page, 'nf', 1);
    await page.evaluate(() => caches.delete('cache-wasm-sw-meta'));
    await restartWorker(page);
    assert.equal((await stats(page, 'nf')).stored, 0, 'a new worker (its counters start at zero)');
    const t = await send(page, { type: 'INVALIDATE', tags: ['product:9'] });
    assert.deepEqual([t.ok, t.removed], [true, 1]);
    assert.deepEqual(await cacheKeys(page, 'cache-wasm-v1-nf'), []);
  });
});

test('a response to a request with Authorization is kept only when it says it may be shared', async () => {
  await withPage(async (page) => {
    const bearer = (who) => ({ headers: { authorization: `Bearer ${who}` } });
    const mine = '/app/data/cf/auth-private?cc=max-age%3D60';
    assert.equal((await get(page, mine, bearer('a'))).n, 1);
    assert.equal((await get(page, mine, bearer('b'))).n, 2, 'user b never gets user a’s answer');
    const shared = '/app/data/cf/auth-public?cc=public%2C%20max-age%3D60';
    assert.equal((await get(page, shared, bearer('a'))).n, 1);
    await stored(page, 'cf', 1);
    assert.equal((await get(page, shared, bearer('b'))).n, 1, 'public: shared');
    assert.equal((await stats(page, 'cf')).entries, 1);
  });
});

// Chromium's Cache Storage keeps one response per URL whatever the standard allows, so here
// this guards the policy (and the index's lookups by URL) rather than the worker's own removal
// of other variants, which browsers following the standard need.
test('a URL keeps one variant: another one stored replaces it, so its tags and freshness are never another’s', async () => {
  await withPage(async (page) => {
    // Each language's answer is tagged with its language.
    const path = '/app/data/cf/lang?vary=Accept-Language&cc=max-age%3D600&tagFrom=accept-language';
    const fr = { headers: { 'accept-language': 'fr' } };
    const en = { headers: { 'accept-language': 'en' } };
    assert.equal((await get(page, path, fr)).n, 1);
    await stored(page, 'cf', 1);
    assert.equal((await get(page, path, fr)).n, 1, 'a hit');
    assert.equal((await get(page, path, en)).n, 2, 'another variant: the network');
    await stored(page, 'cf', 2);
    assert.equal((await cacheKeys(page, 'cache-wasm-v1-cf')).length, 1);
    // The French answer's tag is invalidated: it must not be served from the cache.
    await send(page, { type: 'INVALIDATE', tags: ['fr'] });
    assert.equal((await get(page, path, fr)).n, 3);
  });
});

// Loads `path` in an iframe (a navigation the worker answers); resolves to the page's text.
const navigate = (page, path) => page.evaluate((p) => new Promise((resolve) => {
  const frame = document.createElement('iframe');
  frame.onload = () => {
    resolve(frame.contentDocument?.body?.textContent ?? '');
    frame.remove();
  };
  frame.src = p;
  document.body.append(frame);
}), path);

test('the worker’s fetches get past the browser’s HTTP cache, unless the page chose a cache mode', async () => {
  await withPage(async (page) => {
    // Chromium's HTTP cache keeps this copy for 300 s; the hub invalidates it at once.
    const path = '/app/data/nf/http?cc=max-age%3D300';
    assert.equal((await get(page, path)).n, 1);
    await stored(page, 'nf', 1);
    await send(page, { type: 'INVALIDATE', urls: [path] });
    assert.equal((await get(page, path)).n, 2, 'the origin answered, not the HTTP cache');
    // A cache mode the page chose is kept: force-cache takes the HTTP cache's (new) copy.
    assert.equal((await get(page, path, { cache: 'force-cache' })).n, 2);
    assert.equal(server.count('/app/data/nf/http'), 2);
    // Navigations too, although their Request cannot be copied with a RequestInit.
    const doc = '/app/data/nf/doc?cc=max-age%3D300';
    assert.equal(JSON.parse(await navigate(page, doc)).n, 1);
    await stored(page, 'nf', 4);
    await send(page, { type: 'INVALIDATE', urls: [doc] });
    assert.equal(JSON.parse(await navigate(page, doc)).n, 2);
  });
});

test('QuotaExceededError evicts least recently used entries, not whole caches', async () => {
  await withPage(async (page) => {
    const cdp = await page.context().newCDPSession(page);
    // A real quota, small enough that the fourth 300 KB response does not fit.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.url, quotaSize: 1_100_000 });
    for (const [i, name] of ['a', 'b', 'c', 'd'].entries()) {
      await get(page, `/app/data/big/${name}?size=300000`);
      await stored(page, 'big', i + 1);
    }
    const s = await stats(page, 'big');
    assert.ok(s.quotaEvictions >= 1, `quota evictions: ${s.quotaEvictions}`);
    assert.ok(s.entries >= 1 && s.entries < 4, `entries: ${s.entries}`);
    server.offline = true;
    assert.equal((await get(page, '/app/data/big/d?size=300000')).n, 1, 'the newest entry is kept');
    assert.match((await get(page, '/app/data/big/a?size=300000')).error, /TypeError/, 'the oldest went first');
    assert.ok((await page.evaluate(() => caches.keys())).includes('cache-wasm-v1-big'));
  });
});

test('an invalidation published on the hub removes the response from the worker’s cache', async () => {
  const hub = await startHub({ extra: ['--cors-origin', server.url] });
  try {
    const token = publisherToken();
    await withPage(async (page) => {
      await get(page, '/app/data/other/p1?tag=product%3A1');
      await stored(page, 'other', 1);
      await page.evaluate(async (hubUrl) => {
        const products = await lib.createCache({ namespace: 'shop' });
        window.sync = lib.connectSync({ caches: [products], hub: `${hubUrl}/.well-known/mercure`, onEvent: lib.forwardToServiceWorker() });
      }, hub.url);
      await page.waitForFunction(() => sync.status === 'live');
      // A client that cannot prove continuity (this one has no cursor yet) resets every layer.
      await until(async () => (await stats(page, 'other')).entries === 0, 'the continuity reset');
      await get(page, '/app/data/hub/p42?tag=product%3A42');
      await get(page, '/app/data/hub/p7?tag=product%3A7');
      await get(page, '/app/data/other/p42?tag=product%3A42'); // namespace blog
      await stored(page, 'hub', 2);
      await stored(page, 'other', 2);
      await invalidate(hub.url, token, { ns: 'shop', keys: ['product:42'] });
      await until(async () => (await stats(page, 'hub')).entries === 1, 'product:42 gone from the worker');
      assert.equal((await stats(page, 'other')).entries, 1, 'another namespace keeps its entry');
      assert.equal((await get(page, '/app/data/hub/p42?tag=product%3A42')).n, 2, 'fetched again');
      await stored(page, 'hub', 3);
      await invalidate(hub.url, token, { ns: 'shop', patterns: ['product:*'] });
      await until(async () => (await stats(page, 'hub')).entries === 0, 'product:* gone');
      await page.evaluate(() => sync.close());
    });
  } finally {
    await hub.stop();
  }
});

test('an update of the worker waits, is announced, and deletes the old caches when activated', async () => {
  const config = readFileSync(join(ROOT, 'tests', 'pages', 'sw', 'sw-config.js'), 'utf8');
  try {
    await withPage(async (page) => {
      await get(page, '/app/data/cf/v1');
      await stored(page, 'cf', 1);
      assert.equal((await send(page, { type: 'STATS' })).version, '1');
      // A deploy: version 2 of the config, and sw.js's bytes change with it (Chromium 156 fails
      // to start an update whose only change is in an imported module).
      server.files['/app/sw-config.js'] = config.replace('version: 1,', 'version: 2,');
      server.files['/app/sw.js'] = `${readFileSync(join(ROOT, 'service-worker', 'sw.js'), 'utf8')}// build 2\n`;
      const names = await page.evaluate(async () => {
        const announced = new Promise((resolve) => sw.addEventListener('update-available', resolve, { once: true }));
        await sw.checkForUpdate();
        await announced;
        const before = await caches.keys();
        const activated = await sw.activateUpdate();
        return { before, activated, after: await caches.keys() };
      });
      assert.ok(names.before.includes('cache-wasm-v1-cf'));
      assert.equal(names.activated, true);
      assert.ok(!names.after.some((n) => n.startsWith('cache-wasm-v1-')), names.after.join());
      assert.ok(names.after.includes('cache-wasm-v2-cf'));
      assert.equal((await send(page, { type: 'STATS' })).version, '2');
      assert.equal((await get(page, '/app/data/cf/v1')).n, 2, 'the new version starts empty');
    });
  } finally {
    server.files = {};
  }
});
