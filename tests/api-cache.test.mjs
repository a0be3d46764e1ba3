// ApiCache in headless Chromium against a test origin that sets caching headers per request:
// HTTP rules (RFC 9111), revalidation, stale-while-revalidate, stale-if-error, Vary, per-user
// isolation, tags pushed by the hub, de-duplication, the axios adapter and fetch patching.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchBrowser, watchErrors } from './support/browser.mjs';
import { startOrigin } from './support/origin.mjs';
import { startHub, publisherToken, invalidate } from './support/hub.mjs';
import { PACKAGE_DIR, PAGES_DIR, ROOT } from './support/paths.mjs';

let origin;
let browser;

before(async () => {
  origin = await startOrigin({
    '/pkg/': PACKAGE_DIR,
    '/axios/': join(ROOT, 'node_modules', 'axios', 'dist', 'esm'),
    '/': PAGES_DIR,
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await origin?.close();
});

// A fresh page with `api` (rules from `rules`, default every /api/echo request), a local
// `cache` in namespace `api`, a `userCache` in `user-1`, a settable clock `now`, and helpers.
async function page(rules) {
  const context = await browser.newContext();
  const p = await context.newPage();
  p.errors = watchErrors(p);
  await p.goto(`${origin.url}/index.html`);
  await p.evaluate(() => window.ready);
  await p.evaluate(async (ruleSpecs) => {
    window.now = 1_700_000_000_000;
    const clock = () => window.now;
    window.cache = await lib.createCache({ namespace: 'api', storage: 'local', clock, defaultTtlMs: Infinity });
    window.userCache = await lib.createCache({ namespace: 'user-1', storage: 'local', clock, defaultTtlMs: Infinity });
    const rules = (ruleSpecs ?? [{ match: '/api/echo*' }]).map((r) => ({ ...r }));
    window.api = lib.createApiCache({ cache, userCache, clock, rules });
    window.get = async (params, init) => {
      const r = await api.fetch(`/api/echo?${new URLSearchParams(params)}`, init);
      return { x: r.headers.get('x-cache'), status: r.status, n: r.status === 200 ? (await r.json()).n : null };
    };
    window.hits = async (id) => (await (await fetch(`/api/hits?id=${id}`)).json()).n;
  }, rules);
  p.done = async () => {
    assert.deepEqual(p.errors.filter((e) => !e.includes('Failed to load resource')), []);
    await context.close();
  };
  return p;
}

test('max-age serves hits; once stale, an ETag revalidation (304) refreshes the entry', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const q = { id: 'etag', cc: 'max-age=60', etag: '"v1"' };
    const out = [await get(q), await get(q)];
    now += 60_000;
    out.push(await get(q), await get(q));
    return { out, hits: await hits('etag'), stats: api.stats() };
  });
  assert.deepEqual(r.out, [
    { x: 'MISS', status: 200, n: 1 },
    { x: 'HIT', status: 200, n: 1 },
    { x: 'REVALIDATED', status: 200, n: 1 },
    { x: 'HIT', status: 200, n: 1 },
  ]);
  assert.equal(r.hits, 2);
  assert.equal(r.stats.notModified, 1);
  assert.equal(r.stats.hits, 2);
  assert.ok(r.stats.bytesSaved > 0);
  await p.done();
});

test('Last-Modified revalidates with If-Modified-Since', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const q = { id: 'lm', cc: 'max-age=10', lm: 'Sat, 04 Nov 2023 22:13:20 GMT' };
    const out = [await get(q)];
    now += 10_000;
    out.push(await get(q));
    return { out, hits: await hits('lm') };
  });
  assert.deepEqual(r.out.map((o) => o.x), ['MISS', 'REVALIDATED']);
  assert.equal(r.hits, 2);
  await p.done();
});

test('no-store, no-cache, errors and private responses follow the rules', async () => {
  const p = await page([
    { match: '/api/echo?id=mine*', perUser: true },
    { match: '/api/echo*' },
  ]);
  const r = await p.evaluate(async () => {
    const twice = async (q) => [(await get(q)).x, (await get(q)).x, await hits(q.id)];
    return {
      noStore: await twice({ id: 'ns', cc: 'no-store, max-age=60' }),
      noCache: await twice({ id: 'nc', cc: 'no-cache', etag: '"e"' }),
      error: await twice({ id: 'err', cc: 'max-age=60', status: '500' }),
      partial: await twice({ id: 'part', cc: 'max-age=60', status: '206' }),
      privateShared: await twice({ id: 'priv', cc: 'private, max-age=60' }),
      privateMine: await twice({ id: 'mine', cc: 'private, max-age=60' }),
      stored: Object.keys(localStorage).sort(),
    };
  });
  assert.deepEqual(r.noStore, ['MISS', 'MISS', 2]);
  assert.deepEqual(r.noCache, ['MISS', 'REVALIDATED', 2]);
  assert.deepEqual(r.error, ['MISS', 'MISS', 2]);
  assert.deepEqual(r.partial, ['MISS', 'MISS', 2]);
  assert.deepEqual(r.privateShared, ['MISS', 'MISS', 2]);
  assert.deepEqual(r.privateMine, ['MISS', 'HIT', 1]);
  assert.ok(r.stored.every((k) => !k.startsWith('cw:api:') || k.includes('id=nc')), r.stored.join('\n'));
  assert.ok(r.stored.some((k) => k.startsWith('cw:user-1:') && k.includes('id=mine')));
  await p.done();
});

test('a response to a request with Authorization is shared only when it says so (public, s-maxage, must-revalidate)', async () => {
  const p = await page([{ match: '/api/echo?id=auth-mine*', perUser: true }, { match: '/api/echo*' }]);
  const r = await p.evaluate(async () => {
    const as = (token) => ({ headers: { authorization: `Bearer ${token}` } });
    const cases = {
      plain: { id: 'auth-plain', cc: 'max-age=60' },
      public: { id: 'auth-public', cc: 'public, max-age=60' },
      sMaxage: { id: 'auth-smaxage', cc: 'max-age=60, s-maxage=60' },
      mustRevalidate: { id: 'auth-mustrev', cc: 'max-age=60, must-revalidate' },
      // A directive's quoted value is not a directive.
      quoted: { id: 'auth-quoted', cc: 'max-age=60, ext="a,public,b"' },
    };
    const out = {};
    for (const [name, q] of Object.entries(cases)) out[name] = [(await get(q, as('A'))).x, (await get(q, as('B'))).x, await hits(q.id)];
    // Under a perUser rule it is kept, in the user's namespace.
    const mine = { id: 'auth-mine', cc: 'max-age=60' };
    out.mine = [(await get(mine, as('A'))).x, (await get(mine, as('A'))).x, await hits('auth-mine')];
    const policy = (cc, headers) => lib.responsePolicy('GET', new Response('', { headers: { 'cache-control': cc } }), { requestHeaders: new Headers(headers) }).storable;
    out.policy = [policy('max-age=60', { authorization: 'Bearer A' }), policy('public, max-age=60', { authorization: 'Bearer A' }), policy('max-age=60', {})];
    out.shared = Object.keys(localStorage).filter((k) => k.startsWith('cw:api:') && /auth-(plain|quoted|mine)/.test(k));
    out.user = Object.keys(localStorage).filter((k) => k.startsWith('cw:user-1:') && k.includes('auth-mine')).length > 0;
    return out;
  });
  assert.deepEqual(r, {
    plain: ['MISS', 'MISS', 2],
    public: ['MISS', 'HIT', 1],
    sMaxage: ['MISS', 'HIT', 1],
    mustRevalidate: ['MISS', 'HIT', 1],
    quoted: ['MISS', 'MISS', 2],
    mine: ['MISS', 'HIT', 1],
    policy: ['user', 'yes', 'yes'],
    shared: [],
    user: true,
  });
  await p.done();
});

test('a 304 whose headers no longer allow keeping the response drops the stored entry', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const out = {};
    const cases = { noStore: { 'then.cc': 'no-store' }, private: { 'then.cc': 'private, max-age=60' }, varyAuthorization: { 'then.vary': 'Authorization' }, varyCookie: { 'then.vary': 'Cookie' } };
    for (const [name, then] of Object.entries(cases)) {
      // From the second request on, the origin answers (304 first) with the new headers.
      const q = { id: `304-${name}`, cc: 'max-age=60', etag: '"v1"', switch: '2', ...then };
      out[name] = [(await get(q)).x];
      now += 60_000;
      out[name].push((await get(q)).x, (await get(q)).x);
    }
    return { out, kept: Object.keys(localStorage).filter((k) => k.includes('304-')) };
  });
  const expected = ['MISS', 'REVALIDATED', 'MISS'];
  assert.deepEqual(r.out, { noStore: expected, private: expected, varyAuthorization: expected, varyCookie: expected });
  assert.deepEqual(r.kept, []);
  await p.done();
});

test('Expires and Age count; a skewed Date does not', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const out = {};
    const pastExpires = { id: 'exp', expires: 'Thu, 01 Jan 2015 00:00:00 GMT' };
    out.expired = [(await get(pastExpires)).x, (await get(pastExpires)).x];
    const aged = { id: 'age', cc: 'max-age=60', age: '50' };
    out.aged = [(await get(aged)).x];
    now += 9_000;
    out.aged.push((await get(aged)).x);
    now += 1_500;
    out.aged.push((await get(aged)).x);
    // The server's clock says 1990: with max-age, freshness counts from receipt anyway.
    const skewed = { id: 'skew', cc: 'max-age=60', date: 'Mon, 01 Jan 1990 00:00:00 GMT' };
    out.skewed = [(await get(skewed)).x];
    now += 59_000;
    out.skewed.push((await get(skewed)).x);
    return out;
  });
  assert.deepEqual(r.expired, ['MISS', 'MISS']);
  assert.deepEqual(r.aged, ['MISS', 'HIT', 'MISS']);
  assert.deepEqual(r.skewed, ['MISS', 'HIT']);
  await p.done();
});

test('stale-while-revalidate serves the stale copy at once, then the fresh one', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const q = { id: 'swr', cc: 'max-age=1, stale-while-revalidate=60' };
    const out = [await get(q)];
    now += 2_000;
    out.push(await get(q));
    for (let i = 0; i < 200 && (await hits('swr')) < 2; i++) await new Promise((res) => setTimeout(res, 10));
    await new Promise((res) => setTimeout(res, 50));
    out.push(await get(q));
    return out;
  });
  assert.deepEqual(r, [
    { x: 'MISS', status: 200, n: 1 },
    { x: 'STALE', status: 200, n: 1 },
    { x: 'HIT', status: 200, n: 2 },
  ]);
  await p.done();
});

test('stale-if-error serves the stored copy while the origin is down, within its window only', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const q = { id: 'sie', cc: 'max-age=1, stale-if-error=60' };
    const strict = { id: 'sie-strict', cc: 'max-age=1, must-revalidate, stale-if-error=60' };
    const out = [(await get(q)).x, (await get(strict)).x];
    await fetch('/api/mode?id=sie&down=1');
    await fetch('/api/mode?id=sie-strict&down=1');
    now += 2_000;
    const attempt = async (query) => get(query).then((x) => x.x, (err) => err.name);
    out.push(await attempt(q), await attempt(strict));
    now += 60_000;
    out.push(await attempt(q));
    return { out, errorsServed: api.stats().errorsServed };
  });
  assert.deepEqual(r.out, ['MISS', 'MISS', 'STALE-IF-ERROR', 'TypeError', 'TypeError']);
  assert.equal(r.errorsServed, 1);
  await p.done();
});

test('stale-if-error serves what is stored now: never an entry invalidated while it was revalidated', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    // A network whose answers the test gives, one request at a time.
    const pending = [];
    const network = () => new Promise((resolve, reject) => pending.push({ resolve, reject }));
    const next = async () => {
      while (!pending.length) await new Promise((r) => setTimeout(r, 1));
      return pending.shift();
    };
    const fake = lib.createApiCache({ cache, clock: () => now, fetch: network, rules: [{ match: '/api/fake*' }] });
    const answer = (text, cc) => new Response(JSON.stringify({ text }), { headers: { 'content-type': 'application/json', 'cache-control': cc } });
    const outcome = (promise) => promise.then(async (res) => `${res.headers.get('x-cache')} ${res.ok ? (await res.json()).text : res.status}`, (err) => err.name);
    const failures = {
      networkError: (call) => call.reject(new TypeError('Failed to fetch')),
      serverError: (call) => call.resolve(new Response('down', { status: 503 })),
    };
    const out = {};
    for (const [name, fail] of Object.entries(failures)) {
      const url = `/api/fake/${name}`;
      const first = outcome(fake.fetch(url));
      (await next()).resolve(answer('E1', 'max-age=1, stale-if-error=600'));
      const seq = [await first];
      now += 2_000;
      // A finds E1 stale and revalidates it; meanwhile E1 is invalidated and B stores E2.
      const a = outcome(fake.fetch(url));
      const revalidation = await next();
      seq.push(fake.invalidate({ url }));
      const b = outcome(fake.fetch(url));
      (await next()).resolve(answer('E2', 'max-age=60'));
      seq.push(await b);
      fail(revalidation);
      seq.push(await a);
      // Invalidated with nothing newer: the failure is the answer.
      now += 61_000;
      const c = outcome(fake.fetch(url));
      const again = await next();
      fake.invalidate({ url });
      fail(again);
      seq.push(await c);
      out[name] = seq;
    }
    return out;
  });
  assert.deepEqual(r, {
    networkError: ['MISS E1', 1, 'MISS E2', 'HIT E2', 'TypeError'],
    serverError: ['MISS E1', 1, 'MISS E2', 'HIT E2', 'MISS 503'],
  });
  await p.done();
});

test('Vary: each value of a varied header is its own entry; Vary: * is not cached', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const q = { id: 'vary', cc: 'max-age=60', vary: 'X-Lang' };
    const lang = (l) => ({ headers: { 'x-lang': l } });
    const out = [];
    for (const l of ['en', 'en', 'fr', 'fr', 'en']) out.push((await get(q, lang(l))).x);
    const star = { id: 'star', cc: 'max-age=60', vary: '*' };
    out.push((await get(star)).x, (await get(star)).x);
    return { out, hits: await hits('vary') };
  });
  assert.deepEqual(r.out, ['MISS', 'HIT', 'MISS', 'HIT', 'HIT', 'MISS', 'MISS']);
  assert.equal(r.hits, 2);
  await p.done();
});

test('a response varying on Cookie belongs to the user: never shared, kept under a perUser rule', async () => {
  const p = await page([{ match: '/api/echo?id=mine*', perUser: true }, { match: '/api/echo*' }]);
  const r = await p.evaluate(async () => {
    // The page cannot read the Cookie header a request carries: every user looks the same.
    const as = async (user, q) => {
      document.cookie = `user=${user}; path=/`;
      const res = await api.fetch(`/api/echo?${new URLSearchParams(q)}`);
      return [res.headers.get('x-cache'), (await res.json()).varied];
    };
    const shared = { id: 'vary-cookie', cc: 'max-age=60', vary: 'Cookie' };
    const mine = { id: 'mine-vary-cookie', cc: 'max-age=60', vary: 'Cookie' };
    return {
      shared: [await as('alice', shared), await as('bob', shared)],
      mine: [await as('alice', mine), await as('alice', mine)],
      keys: Object.keys(localStorage),
    };
  });
  assert.deepEqual(r.shared, [['MISS', 'user=alice'], ['MISS', 'user=bob']]);
  assert.deepEqual(r.mine, [['MISS', 'user=alice'], ['HIT', 'user=alice']]);
  assert.ok(!r.keys.some((k) => k.startsWith('cw:api:') && k.includes('vary-cookie')), r.keys.join('\n'));
  await p.done();
});

test('concurrent identical requests share one network request, each with its own body', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const url = `/api/echo?${new URLSearchParams({ id: 'dedup', cc: 'max-age=60', delay: '200' })}`;
    const responses = await Promise.all(Array.from({ length: 5 }, () => api.fetch(url)));
    const bodies = await Promise.all(responses.map((res) => res.json()));
    const uncached = `/api/echo?${new URLSearchParams({ id: 'dedup-nostore', cc: 'no-store', delay: '200' })}`;
    const more = await Promise.all(Array.from({ length: 3 }, () => api.fetch(uncached).then((res) => res.json())));
    return { ns: bodies.map((b) => b.n), more: more.map((b) => b.n), hits: await hits('dedup'), hits2: await hits('dedup-nostore') };
  });
  assert.deepEqual(r, { ns: [1, 1, 1, 1, 1], more: [1, 1, 1], hits: 1, hits2: 1 });
  // Requests that differ in a header the response turns out to vary on are not merged.
  const varied = await p.evaluate(async () => {
    const url = `/api/echo?${new URLSearchParams({ id: 'dedup-vary', cc: 'max-age=60', vary: 'Accept-Language', delay: '200' })}`;
    const languages = ['en', 'fr', 'en'];
    const bodies = await Promise.all(languages.map((lang) => api.fetch(url, { headers: { 'accept-language': lang } }).then((res) => res.json())));
    return { varied: bodies.map((b) => b.varied), hits: await hits('dedup-vary') };
  });
  assert.deepEqual(varied, { varied: ['en', 'fr', 'en'], hits: 2 });
  // A request made after an invalidation does not join a load that began before it.
  const late = await p.evaluate(async () => {
    const url = `/api/echo?${new URLSearchParams({ id: 'dedup-late', cc: 'max-age=60', delay: '300' })}`;
    const first = api.fetch(url).then((res) => res.json());
    await new Promise((resolve) => setTimeout(resolve, 50));
    api.invalidate({ url });
    const second = api.fetch(url).then((res) => res.json());
    return { ns: [(await first).n, (await second).n], hits: await hits('dedup-late') };
  });
  assert.deepEqual(late, { ns: [1, 2], hits: 2 });
  await p.done();
});

test('requests share a network request only when they send the same request, without a signal', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const url = (q) => `/api/echo?${new URLSearchParams({ cc: 'max-age=60', delay: '300', ...q })}`;
    // The varied header the origin saw ('-': none), or how the request failed.
    const outcome = (promise) => promise.then((res) => res.json()).then((body) => body.varied ?? '-', (err) => err.name);
    const abortedAfter = (ms) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), ms);
      return controller.signal;
    };
    // One caller's abort fails that caller only, whichever of them came first.
    const abortFirst = [api.fetch(url({ id: 'abort-1' }), { signal: abortedAfter(50) }), api.fetch(url({ id: 'abort-1' }))].map(outcome);
    const abortSecond = [api.fetch(url({ id: 'abort-2' })), api.fetch(url({ id: 'abort-2' }), { signal: abortedAfter(50) })].map(outcome);
    // Credentials decide whether the cookie goes along.
    document.cookie = 'user=carol; path=/';
    const cookie = url({ id: 'credentials', cc: 'no-store', vary: 'Cookie' });
    const credentials = [api.fetch(cookie, { credentials: 'omit' }), api.fetch(cookie, { credentials: 'include' })].map(outcome);
    const out = { abortFirst: await Promise.all(abortFirst), abortSecond: await Promise.all(abortSecond), credentials: await Promise.all(credentials) };
    // A revalidation is shared only by callers sending the same headers: this one turns out to
    // vary on Authorization, so the caller without it must not get the other's answer.
    const stale = url({ id: 'reval', etag: '"v1"', switch: '2', 'then.vary': 'Authorization', 'then.etag': '"v2"' });
    await (await api.fetch(stale)).text();
    now += 60_000;
    out.revalidation = await Promise.all([api.fetch(stale, { headers: { authorization: 'Bearer A' } }), api.fetch(stale)].map(outcome));
    out.revalidations = await hits('reval');
    return out;
  });
  assert.deepEqual(r, {
    abortFirst: ['AbortError', '-'],
    abortSecond: ['-', 'AbortError'],
    credentials: ['-', 'user=carol'],
    revalidation: ['Bearer A', '-'],
    revalidations: 3,
  });
  await p.done();
});

test('a hit is a Response like any other (one read, locked streams, clones, Cache.put), without connection fields', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const url = `/api/echo?${new URLSearchParams({ id: 'body', cc: 'max-age=60' })}`;
    await (await api.fetch(url)).text();
    const fail = (promise) => promise.then(() => 'resolved', (err) => err.name);
    const once = await api.fetch(url);
    const text = await once.text();
    const reread = [once.bodyUsed, await fail(once.text()), await fail(once.json()), await fail(once.arrayBuffer())];
    const streamed = await api.fetch(url);
    const reader = streamed.body.getReader();
    const whileLocked = await fail(streamed.text());
    let bytes = 0;
    for (let c = await reader.read(); !c.done; c = await reader.read()) bytes += c.value.length;
    const original = await api.fetch(url);
    const copy = original.clone();
    const both = [(await original.json()).id, await copy.text()];
    const store = await caches.open('api-hit-test');
    const kept = await api.fetch(url);
    await store.put(url, kept);
    const fromStorage = await (await store.match(url)).text();
    const used = await api.fetch(url);
    await used.json();
    const putUsed = await fail(store.put(url, used));
    await caches.delete('api-hit-test');
    const connectionFields = ['connection', 'keep-alive', 'transfer-encoding'];
    const network = (await fetch(url, { cache: 'no-store' })).headers;
    const fields = { network: connectionFields.filter((h) => network.has(h)), hit: connectionFields.filter((h) => once.headers.has(h)) };
    return { isResponse: once instanceof Response, text, reread, whileLocked, bytes, both, fromStorage, putUsed, fields, x: once.headers.get('x-cache') };
  });
  const body = '{"id":"body","n":1,"varied":null}';
  assert.deepEqual(r, {
    isResponse: true,
    text: body,
    reread: [true, 'TypeError', 'TypeError', 'TypeError'],
    whileLocked: 'TypeError',
    bytes: body.length,
    both: ['body', body],
    fromStorage: body,
    putUsed: 'TypeError',
    // The origin's connection fields are not served again with the stored response.
    fields: { network: ['connection', 'keep-alive', 'transfer-encoding'], hit: [] },
    x: 'HIT',
  });
  await p.done();
});

test('bodies keep their bytes whatever their charset: Latin-1, Shift_JIS, untyped binary, a UTF-8 BOM', async () => {
  const bom = [0xef, 0xbb, 0xbf, ...Buffer.from('{"n":1}')];
  const cases = {
    latin1: { ctype: 'text/plain; charset=iso-8859-1', bytes: [...Buffer.from('café', 'latin1')] },
    shiftJis: { ctype: 'text/plain; charset=shift_jis', bytes: [0x93, 0xfa, 0x96, 0x7b] }, // 日本
    untyped: { ctype: 'none', bytes: [0x00, 0xff, 0xfe, 0x80, 0x41] },
    bom: { ctype: 'application/json', bytes: bom },
  };
  const p = await page();
  const r = await p.evaluate(async (all) => {
    const out = {};
    for (const [name, { ctype, bytes }] of Object.entries(all)) {
      const body = btoa(String.fromCharCode(...bytes));
      const url = `/api/echo?${new URLSearchParams({ id: `bytes-${name}`, cc: 'max-age=60', ctype, body })}`;
      const served = [];
      for (let i = 0; i < 2; i++) {
        const res = await api.fetch(url);
        served.push([res.headers.get('x-cache'), [...new Uint8Array(await res.arrayBuffer())]]);
      }
      // text() of a hit reads as the browser's own fetch reads the same bytes.
      const text = await (await api.fetch(url)).text();
      const native = await (await fetch(url, { cache: 'no-store' })).text();
      out[name] = { served, sameText: text === native };
    }
    out.json = await (await api.fetch(`/api/echo?${new URLSearchParams({ id: 'bytes-bom', cc: 'max-age=60', ctype: 'application/json', body: btoa(String.fromCharCode(...all.bom.bytes)) })}`)).json();
    return out;
  }, cases);
  for (const [name, { bytes }] of Object.entries(cases)) {
    assert.deepEqual(r[name], { served: [['MISS', bytes], ['HIT', bytes]], sameText: true }, name);
  }
  assert.deepEqual(r.json, { n: 1 });
  await p.done();
});

test('per-user entries live in the user namespace and go with logout; Set-Cookie never reaches storage', async () => {
  const p = await page([{ match: '/api/echo?id=me*', perUser: true }, { match: '/api/echo*' }]);
  const r = await p.evaluate(async () => {
    const q = { id: 'me', cc: 'private, max-age=60' };
    const out = [(await get(q)).x, (await get(q)).x];
    userCache.clear(); // what logout does to the user's namespace
    out.push((await get(q)).x);
    const other = await lib.createCache({ namespace: 'user-2', storage: 'local' });
    const cookie = { id: 'cookie', cc: 'max-age=60', cookie: '1' };
    await get(cookie);
    const stored = Object.entries(localStorage).map(([k, v]) => k + v).join('\n');
    return { out, otherKeys: other.keys(), cookieSet: document.cookie.includes('session-cookie=s1'), leaked: stored.includes('session-cookie') };
  });
  assert.deepEqual(r.out, ['MISS', 'HIT', 'MISS']);
  assert.deepEqual(r.otherKeys, []);
  assert.equal(r.cookieSet, true);
  assert.equal(r.leaked, false);
  await p.done();
});

test('server tags (Cache-Tag) and hub invalidations drop exactly the tagged responses', async () => {
  const hub = await startHub({ extra: ['--cors-origin', origin.url] });
  const token = publisherToken();
  const p = await page();
  try {
    await p.evaluate(async (hubUrl) => {
      window.shop = await lib.createCache({ namespace: 'shop', storage: 'local', defaultTtlMs: Infinity, clock: () => now });
      window.api = lib.createApiCache({ cache: shop, clock: () => now, rules: [{ match: '/api/echo*' }] });
      window.sync = lib.connectSync({ hub: `${hubUrl}/.well-known/mercure`, caches: [shop] });
    }, hub.url);
    await p.waitForFunction(() => sync.status === 'live');
    const first = await p.evaluate(async () => {
      const tagged = { id: 'tagged', cc: 'max-age=600', tag: 'catalog,product:1' };
      const other = { id: 'other', cc: 'max-age=600', tag: 'blog' };
      return [(await get(tagged)).x, (await get(tagged)).x, (await get(other)).x];
    });
    assert.deepEqual(first, ['MISS', 'HIT', 'MISS']);
    // A response that an entry could not carry with all its tags (over 32, or one over 256
    // bytes) is not stored: an invalidation of the tag it lost would never reach it.
    const untaggable = await p.evaluate(async () => {
      const many = { id: 'many-tags', cc: 'max-age=600', tag: Array.from({ length: 33 }, (_, i) => `t${i}`).join(' ') };
      const long = { id: 'long-tag', cc: 'max-age=600', tag: `catalog ${'x'.repeat(300)}` };
      const enough = { id: 'enough-tags', cc: 'max-age=600', tag: Array.from({ length: 32 }, (_, i) => `t${i}`).join(',') };
      const uncacheableBefore = api.stats().uncacheable;
      const out = [];
      for (const q of [many, long, enough]) out.push((await get(q)).x, (await get(q)).x);
      return { out, uncacheable: api.stats().uncacheable - uncacheableBefore };
    });
    assert.deepEqual(untaggable, { out: ['MISS', 'MISS', 'MISS', 'MISS', 'MISS', 'HIT'], uncacheable: 4 });
    await invalidate(hub.url, publisherToken(), { ns: 'shop', tags: ['catalog'] });
    await p.waitForFunction(() => sync.stats().eventsApplied === 1);
    const after = await p.evaluate(async () => {
      const tagged = { id: 'tagged', cc: 'max-age=600', tag: 'catalog,product:1' };
      const other = { id: 'other', cc: 'max-age=600', tag: 'blog' };
      const out = [(await get(tagged)).x, (await get(other)).x];
      const byUrl = api.invalidate({ url: `/api/echo?${new URLSearchParams(other)}` });
      const byPattern = api.invalidate({ pattern: `${location.origin}/api/echo?id=tag*` });
      out.push(byUrl, byPattern, (await get(other)).x);
      return out;
    });
    assert.deepEqual(after, ['MISS', 'HIT', 1, 1, 'MISS']);
    assert.ok(token);
  } finally {
    await p.done();
    await hub.stop();
  }
});

test('hub keys and patterns reach API responses through their tags, as in the service worker', async () => {
  // A hub invalidation's keys and patterns name entries by key or by tag in every layer: an
  // API response's key is `GET <url>`, and it carries the keys of what it shows as tags.
  const hub = await startHub({ extra: ['--cors-origin', origin.url] });
  const p = await page();
  try {
    await p.evaluate(async (hubUrl) => {
      window.shop = await lib.createCache({ namespace: 'shop', storage: 'local', defaultTtlMs: Infinity, clock: () => now });
      window.api = lib.createApiCache({ cache: shop, clock: () => now, rules: [{ match: '/api/echo*' }] });
      window.sync = lib.connectSync({ hub: `${hubUrl}/.well-known/mercure`, caches: [shop] });
      window.qs = {
        one: { id: 'hub-one', cc: 'max-age=600', tag: 'catalog,product:1' },
        two: { id: 'hub-two', cc: 'max-age=600', tag: 'catalog,product:2' },
        blog: { id: 'hub-blog', cc: 'max-age=600', tag: 'blog:7' },
      };
      window.xs = async () => Object.fromEntries(await Promise.all(Object.entries(qs).map(async ([k, q]) => [k, (await get(q)).x])));
      // The app's own entries: by key, and by a tag naming what they show.
      shop.set('product:2', 2);
      shop.set('card:1', 1, { tags: ['product:1'] });
      shop.set('other', 3, { tags: ['product:3'] });
    }, hub.url);
    await p.waitForFunction(() => sync.status === 'live');
    assert.deepEqual(await p.evaluate(() => xs()), { one: 'MISS', two: 'MISS', blog: 'MISS' });
    // The README's example: a response served with `Cache-Tag: product:1`, and the backend
    // publishing `keys: ['product:1']`.
    await invalidate(hub.url, publisherToken(), { ns: 'shop', keys: ['product:1', 'product:2'] });
    await p.waitForFunction(() => sync.stats().eventsApplied === 1);
    assert.deepEqual(await p.evaluate(() => xs()), { one: 'MISS', two: 'MISS', blog: 'HIT' });
    assert.deepEqual(await p.evaluate(() => ['product:2', 'card:1', 'other'].map((k) => shop.has(k))), [false, false, true]);
    // Patterns match tags as globs.
    await invalidate(hub.url, publisherToken(), { ns: 'shop', patterns: ['blog:*'] });
    await p.waitForFunction(() => sync.stats().eventsApplied === 2);
    assert.deepEqual(await p.evaluate(() => xs()), { one: 'HIT', two: 'HIT', blog: 'MISS' });
  } finally {
    await p.done();
    await hub.stop();
  }
});

test('invalidate({ pattern }) with a leading / matches paths on this origin, as documented', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const [a, b, other] = ['pat-a', 'pat-b', 'other'].map((id) => ({ id, cc: 'max-age=60' }));
    for (const q of [a, b, other]) await get(q);
    const removed = api.invalidate({ pattern: '/api/echo?id=pat-*' });
    return { removed, xs: [(await get(a)).x, (await get(b)).x, (await get(other)).x] };
  });
  assert.deepEqual(r, { removed: 2, xs: ['MISS', 'MISS', 'HIT'] });
  await p.done();
});

test('opaque responses are never cached', async () => {
  const hub = await startHub();
  const p = await page([{ match: /\/healthz$/ }]);
  try {
    const r = await p.evaluate(async (url) => {
      const a = await api.fetch(url, { mode: 'no-cors' });
      const b = await api.fetch(url, { mode: 'no-cors' });
      return { types: [a.type, b.type], stats: api.stats() };
    }, `${hub.url}/healthz`);
    assert.deepEqual(r.types, ['opaque', 'opaque']);
    assert.equal(r.stats.uncacheable, 2);
    assert.equal(r.stats.stored, 0);
  } finally {
    await p.done();
    await hub.stop();
  }
});

test('the axios adapter caches GETs and honours cache: false and cacheTTL', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const { default: axios } = await import('/axios/axios.js');
    const client = lib.cachedAxios(axios.create(), api, axios);
    const url = `/api/echo?${new URLSearchParams({ id: 'ax', cc: 'max-age=60' })}`;
    const a = await client.get(url);
    const b = await client.get(url);
    const c = await client.get(url, { cache: false });
    const plain = `/api/echo?${new URLSearchParams({ id: 'ax-ttl' })}`;
    const d1 = await client.get(plain, { cacheTTL: 5_000 });
    const d2 = await client.get(plain, { cacheTTL: 5_000 });
    now += 5_000;
    const d3 = await client.get(plain, { cacheTTL: 5_000 });
    const posted = await client.post(url, { x: 1 }).then((res) => res.data.n);
    const missing = await client.get(`/api/echo?${new URLSearchParams({ id: 'ax-404', status: '404', cc: 'max-age=60' })}`)
      .then(() => 'resolved', (err) => `${err.name} ${err.response?.status}`);
    return {
      ns: [a.data.n, b.data.n, d1.data.n, d2.data.n, d3.data.n, posted],
      cached: [a.request.cached, b.request.cached, d2.request.cached],
      // cache: false goes to axios's own adapter (XHR here), past this cache entirely.
      bypassed: c.request instanceof XMLHttpRequest && c.request.cached === undefined,
      missing,
    };
  });
  assert.deepEqual(r.ns, [1, 1, 1, 1, 2, 2]);
  assert.deepEqual(r.cached, ['MISS', 'HIT', 'HIT']);
  assert.equal(r.bypassed, true);
  assert.equal(r.missing, 'AxiosError 404');
  await p.done();
});

test('install() routes the global fetch through the cache for covered URLs only', async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const uninstall = api.install();
    const url = `/api/echo?${new URLSearchParams({ id: 'inst', cc: 'max-age=60' })}`;
    const xs = [(await fetch(url)).headers.get('x-cache'), (await fetch(url)).headers.get('x-cache')];
    const hitsResponse = await fetch('/api/hits?id=inst');
    xs.push(hitsResponse.headers.get('x-cache'));
    // Like the native fetch, a URL that cannot be parsed rejects; it never throws.
    let bad;
    try {
      bad = await fetch('http://[bad').then(() => 'resolved', (err) => `rejected ${err.name}`);
    } catch (err) {
      bad = `threw ${err.name}`;
    }
    uninstall();
    xs.push((await fetch(url)).headers.get('x-cache'), bad);
    return xs;
  });
  assert.deepEqual(r, ['MISS', 'HIT', null, null, 'rejected TypeError']);
  await p.done();
});
