// SyncClient against the real hub (and a real redis-server), in headless Chromium: every layer
// of every tab follows the hub's invalidations, one connection per browser, resume, reset,
// logout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, watchErrors } from './support/browser.mjs';
import { siteDir, startHub, startRedis, publisherToken, invalidate, metric } from './support/hub.mjs';

let site;
let hub;
let browser;
let token;

before(async () => {
  site = siteDir();
  hub = await startHub({ staticDir: site.dir });
  browser = await launchBrowser();
  token = publisherToken();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
  site?.remove();
});

// Memory, localStorage and sessionStorage caches of namespace `shop`, followed by one client.
async function setUp(page, options = {}) {
  await page.evaluate(async (opts) => {
    const layers = {};
    for (const storage of ['memory', 'local', 'session']) {
      layers[storage] = await lib.createCache({ storage, namespace: 'shop' });
    }
    window.layers = layers;
    window.statuses = [];
    window.sync = lib.connectSync({ caches: Object.values(layers), ...opts });
    sync.addEventListener('status', (e) => statuses.push(e.detail));
  }, options);
}

async function openTabs(context, n, options, base = hub.url) {
  const pages = [];
  for (let i = 0; i < n; i++) {
    const page = await context.newPage();
    page.errors = watchErrors(page);
    await page.goto(`${base}/index.html`);
    await page.evaluate(() => window.ready);
    await setUp(page, options);
    pages.push(page);
  }
  for (const page of pages) await page.waitForFunction(() => sync.status === 'live');
  return pages;
}

async function until(check, what, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const fill = (page, key) =>
  page.evaluate((k) => Object.values(layers).forEach((c) => c.set(k, { v: 1 })), key);
const holds = (page, key) =>
  page.evaluate((k) => Object.entries(layers).filter(([, c]) => c.has(k)).map(([s]) => s), key);
const dropped = (page, key) =>
  page.waitForFunction((k) => Object.values(layers).every((c) => !c.has(k)), key, { timeout: 5_000 });

test('an invalidation published on the hub drops the key from every layer of every tab', async () => {
  const context = await browser.newContext();
  try {
    const tabs = await openTabs(context, 3);
    for (const tab of tabs) await fill(tab, 'product:42');
    for (const tab of tabs) await fill(tab, 'product:7');
    const started = Date.now();
    await invalidate(hub.url, token, { ns: 'shop', keys: ['product:42'] });
    await Promise.all(tabs.map((tab) => dropped(tab, 'product:42')));
    const elapsed = Date.now() - started;
    console.log(`# publish -> last of 3 tabs applied: ${elapsed} ms`);
    for (const tab of tabs) {
      assert.deepEqual(await holds(tab, 'product:7'), ['memory', 'local', 'session'], 'other keys stay');
      assert.deepEqual(tab.errors, []);
    }
    await invalidate(hub.url, token, { ns: 'shop', patterns: ['product:*'] });
    await Promise.all(tabs.map((tab) => dropped(tab, 'product:7')));
    const stats = await tabs[1].evaluate(() => sync.stats());
    assert.equal(stats.eventsApplied, 2);
    assert.match(stats.lastEventId, /^[0-9a-f]+-/);
  } finally {
    await context.close();
  }
});

test('ten tabs share one hub connection; when the leader closes another takes over and misses nothing', async () => {
  const context = await browser.newContext();
  try {
    const tabs = await openTabs(context, 10);
    assert.equal(await metric(hub.url, 'hub_connections'), 1);
    const leaders = [];
    for (const tab of tabs) leaders.push(await tab.evaluate(() => sync.leader));
    assert.equal(leaders.filter(Boolean).length, 1);
    const leader = tabs[leaders.indexOf(true)];
    const rest = tabs.filter((t) => t !== leader);
    for (const tab of rest) await fill(tab, 'cart');
    await leader.close();
    const closedAt = Date.now();
    // Published while the connection is being handed over: the new leader resumes from the
    // persisted cursor, so no tab misses it.
    await invalidate(hub.url, token, { ns: 'shop', keys: ['cart'] });
    await Promise.all(rest.map((tab) => dropped(tab, 'cart')));
    await rest[0].waitForFunction(() => sync.status === 'live');
    const takeover = Date.now() - closedAt;
    console.log(`# leader closed -> all 9 tabs applied the next event: ${takeover} ms`);
    assert.ok(takeover < 2_000, `took over in ${takeover} ms`);
    const newLeaders = [];
    for (const tab of rest) newLeaders.push(await tab.evaluate(() => sync.leader));
    assert.equal(newLeaders.filter(Boolean).length, 1);
    await until(async () => (await metric(hub.url, 'hub_connections')) === 1, 'one hub connection');
  } finally {
    await context.close();
  }
});

test('a reload resumes from the persisted cursor and applies what it missed', async () => {
  const context = await browser.newContext();
  try {
    const [tab] = await openTabs(context, 1);
    await tab.evaluate(() => layers.local.set('product:1', 1).set('product:2', 2));
    await invalidate(hub.url, token, { ns: 'shop', keys: ['unrelated'] }); // moves the cursor
    await tab.waitForFunction(() => sync.stats().eventsApplied === 1);
    await tab.goto('about:blank'); // the tab is gone; the hub publishes meanwhile
    await invalidate(hub.url, token, { ns: 'shop', keys: ['product:1'] });
    await tab.goto(`${hub.url}/index.html`);
    await tab.evaluate(() => window.ready);
    await setUp(tab);
    await tab.waitForFunction(() => !layers.local.has('product:1'));
    assert.equal(await tab.evaluate(() => layers.local.get('product:2')), 2, 'the rest survives the reload');
  } finally {
    await context.close();
  }
});

// A page of `context` whose requests (the one for the log's head among them) wait until
// `openGate()`, then go out, or fail as a network error would when `fail` is set.
async function pageWithGatedFetch(context, { fail = false } = {}) {
  const page = await context.newPage();
  page.errors = watchErrors(page);
  await page.goto(`${hub.url}/index.html`);
  await page.evaluate(() => window.ready);
  await page.evaluate((failing) => {
    const realFetch = window.fetch;
    const gate = new Promise((resolve) => {
      window.openGate = resolve;
    });
    window.fetch = async (...args) => {
      await gate;
      if (failing) throw new TypeError('Failed to fetch');
      return realFetch(...args);
    };
  }, fail);
  return page;
}

test('a first stream that opens without a cursor (the head could not be learned) drops what came before; a returning tab drops its sessionStorage caches', async () => {
  const context = await browser.newContext();
  try {
    const page = await pageWithGatedFetch(context, { fail: true });
    await setUp(page);
    await fill(page, 'product:5');
    await invalidate(hub.url, token, { ns: 'shop', keys: ['product:5'] }); // reaches no stream
    await page.evaluate(() => window.openGate());
    await page.waitForFunction(() => sync.status === 'live');
    assert.deepEqual(await holds(page, 'product:5'), [], 'an entry nobody could vouch for is gone');
    assert.deepEqual(page.errors, []);
    // Still no cursor (no event yet): a returning tab has no last event to compare with, so
    // its sessionStorage caches go.
    await page.evaluate(() => layers.session.set('product:7', 7));
    await page.reload();
    await page.evaluate(() => window.ready);
    await setUp(page);
    assert.equal(await page.evaluate(() => layers.session.has('product:7')), false);
    await page.waitForFunction(() => sync.status === 'live');
    await fill(page, 'product:6');
    await invalidate(hub.url, token, { ns: 'shop', keys: ['product:6'] });
    await dropped(page, 'product:6');
  } finally {
    await context.close();
  }
});

test('an online event while the first connection learns the head opens no second stream', async () => {
  const context = await browser.newContext();
  try {
    const page = await pageWithGatedFetch(context);
    await page.evaluate(() => {
      const Native = window.EventSource;
      window.streams = 0;
      window.EventSource = class extends Native {
        constructor(...args) {
          super(...args);
          window.streams++;
        }
      };
    });
    await setUp(page);
    await page.waitForFunction(() => sync.leader); // it now waits for the head
    await page.evaluate(() => {
      dispatchEvent(new Event('online'));
      window.openGate();
    });
    await page.waitForFunction(() => sync.status === 'live');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await page.evaluate(() => window.streams), 1);
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test("a tab's sessionStorage caches are dropped after it missed events while away, kept when it missed none", async () => {
  const context = await browser.newContext();
  try {
    const [leader, tab] = await openTabs(context, 2);
    await tab.evaluate(() => layers.session.set('product:8', 8).set('product:9', 9));
    await tab.goto('about:blank'); // the tab is away; the leader applies an event meanwhile
    await invalidate(hub.url, token, { ns: 'shop', keys: ['product:8'] });
    await leader.waitForFunction(() => sync.stats().eventsApplied === 1);
    await tab.goto(`${hub.url}/index.html`);
    await tab.evaluate(() => window.ready);
    await setUp(tab);
    // sessionStorage survived the navigation, but nothing applied the invalidation to it.
    assert.deepEqual(await tab.evaluate(() => [layers.session.has('product:8'), layers.session.has('product:9')]), [false, false]);
    await tab.evaluate(() => layers.session.set('product:10', 10));
    await invalidate(hub.url, token, { ns: 'shop', keys: ['unrelated'] });
    await tab.waitForFunction(() => sync.stats().eventsApplied === 1);
    await tab.reload(); // nothing is published while it reloads
    await tab.evaluate(() => window.ready);
    await setUp(tab);
    assert.equal(await tab.evaluate(() => layers.session.get('product:10')), 10, 'a tab that missed nothing keeps its entries');
  } finally {
    await context.close();
  }
});

test("a new tab whose start did not show the leader's last event drops its sessionStorage caches", async () => {
  const context = await browser.newContext();
  try {
    const [leader] = await openTabs(context, 1);
    await invalidate(hub.url, token, { ns: 'shop', keys: ['unrelated'] });
    await leader.waitForFunction(() => sync.stats().eventsApplied === 1);
    const tab = await context.newPage();
    tab.errors = watchErrors(tab);
    await tab.goto(`${hub.url}/index.html`);
    await tab.evaluate(() => window.ready);
    const kept = await tab.evaluate(async () => {
      const session = await lib.createCache({ storage: 'session', namespace: 'shop' });
      session.set('product:20', 20);
      // What a start reads when the leader's last event has not reached this tab's copy of
      // localStorage yet: a shared cursor equal to the tab's own, older than the leader's.
      const key = Object.keys(localStorage).find((k) => k.startsWith('cw::sync:cache-wasm-sync:'));
      localStorage.setItem(key, JSON.stringify({ cursor: 'older', liveAt: Date.now() }));
      sessionStorage.setItem(key, 'older');
      window.sync = lib.connectSync({ caches: [session] });
      await new Promise((resolve) => setTimeout(resolve, 500)); // the leader answers hello
      return session.has('product:20');
    });
    assert.equal(kept, false, "the leader's answer showed the tab had missed an event");
    assert.deepEqual(tab.errors, []);
  } finally {
    await context.close();
  }
});

test('a cache added to a running client starts empty: no event reached it before', async () => {
  const context = await browser.newContext();
  try {
    const [tab] = await openTabs(context, 1);
    await tab.evaluate(async () => {
      window.late = await lib.createCache({ storage: 'memory', namespace: 'shop' });
      late.set('product:11', 11);
    });
    await invalidate(hub.url, token, { ns: 'shop', keys: ['product:11'] }); // applied to the followed caches only
    await tab.waitForFunction(() => sync.stats().eventsApplied === 1);
    assert.equal(await tab.evaluate(() => late.get('product:11')), 11, 'not followed yet, so not invalidated');
    await tab.evaluate(() => sync.addCache(late));
    assert.equal(await tab.evaluate(() => late.has('product:11')), false);
    await tab.evaluate(() => late.set('product:12', 12));
    await invalidate(hub.url, token, { ns: 'shop', keys: ['product:12'] });
    await tab.waitForFunction(() => !late.has('product:12'));
  } finally {
    await context.close();
  }
});

test('a closed cache is dropped; the caches after it and the onEvent hook still get every update', async () => {
  const context = await browser.newContext();
  try {
    const [tab] = await openTabs(context, 1);
    await tab.evaluate(async () => {
      window.heard = [];
      window.mine = await lib.createCache({ storage: 'memory', namespace: 'shop' });
      window.client = lib.connectSync({ caches: [mine], name: 'closed-cache', onEvent: (type) => heard.push(type) });
      await new Promise((resolve) => client.addEventListener('status', resolve, { once: true }));
      mine.close(); // a user switch, say
      window.next = await lib.createCache({ storage: 'memory', namespace: 'shop' });
      client.addCache(next);
    });
    await tab.waitForFunction(() => client.status === 'live');
    await tab.evaluate(() => next.set('product:5', 5));
    await invalidate(hub.url, token, { ns: 'shop', keys: ['product:5'] });
    await tab.waitForFunction(() => !next.has('product:5'));
    // (The client's start, with no cursor of its own yet, is a continuity reset.)
    assert.deepEqual(await tab.evaluate(() => [heard, client.stats().rejected]), [['reset', 'invalidate'], 0]);
    assert.deepEqual(tab.errors, []);
  } finally {
    await context.close();
  }
});

test('tabs following different namespaces each get their updates; a client refuses a cache it cannot follow', async () => {
  const context = await browser.newContext();
  try {
    const [a, b] = await openTabs(context, 2);
    // b also follows the user's namespace, which a's stream does not carry.
    await b.evaluate(async () => {
      window.user = await lib.createCache({ storage: 'memory', namespace: 'user-42' });
      window.both = lib.connectSync({ caches: [layers.memory, user], name: 'cache-wasm-sync' });
      user.set('profile', 1);
    });
    await b.waitForFunction(() => both.status === 'live' && both.leader);
    await invalidate(hub.url, token, { ns: 'user-42', keys: ['profile'] });
    await b.waitForFunction(() => !user.has('profile'), null, { timeout: 5_000 });
    const refused = await a.evaluate(async () => {
      const other = await lib.createCache({ storage: 'memory', namespace: 'elsewhere' });
      try { sync.addCache(other); return 'accepted'; } catch (err) { return `${err.name}:${err.code}`; }
    });
    assert.equal(refused, 'CacheError:InvalidOption');
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
  } finally {
    await context.close();
  }
});

test('a tab that takes over counts the staleness bound from when the hub was last heard', async () => {
  const site2 = siteDir();
  const own = await startHub({ staticDir: site2.dir });
  const context = await browser.newContext();
  try {
    const options = { stalenessMs: 6_000, minBackoffMs: 100, maxBackoffMs: 200 };
    const tabs = await openTabs(context, 2, options, own.url);
    const leaders = [];
    for (const tab of tabs) leaders.push(await tab.evaluate(() => sync.leader));
    const leader = tabs[leaders.indexOf(true)];
    const next = tabs[leaders.indexOf(false)];
    await fill(next, 'product:8');
    await own.stop();
    const stoppedAt = Date.now();
    await leader.waitForFunction(() => sync.status === 'degraded');
    // The leader goes half-way through the bound; the next one must not start a bound anew
    // (which would drop the caches 9 s after the hub went, not 6 s).
    await new Promise((resolve) => setTimeout(resolve, 3_000 - (Date.now() - stoppedAt)));
    await leader.close();
    await dropped(next, 'product:8');
    const elapsed = Date.now() - stoppedAt;
    assert.ok(elapsed < 6_000 + 1_500, `dropped ${elapsed} ms after the hub was last reachable`);
    assert.equal(await next.evaluate(() => sync.leader), true);
  } finally {
    await context.close();
    await own.stop();
    site2.remove();
  }
});

test('logout tells the onEvent hook (the service worker) to drop each namespace', async () => {
  const context = await browser.newContext();
  try {
    const [tab] = await openTabs(context, 1);
    const heard = await tab.evaluate(async () => {
      const heard = [];
      const user = await lib.createCache({ storage: 'local', namespace: 'user-7' });
      const client = lib.connectSync({ caches: [user], name: 'logout-sw', onEvent: (type, data) => heard.push([type, JSON.parse(data)]) });
      await new Promise((resolve) => client.addEventListener('status', (e) => e.detail === 'live' && resolve()));
      client.logout();
      return heard;
    });
    // The first reset is the client's start, with no cursor of its own yet.
    assert.deepEqual(heard, [['reset', { v: 1, reason: 'continuity' }], ['reset', { v: 1, ns: 'user-7', reason: 'logout' }]]);
  } finally {
    await context.close();
  }
});

test('a tab offline while events are published replays them on reconnect, or resets when history was trimmed', async () => {
  const site2 = siteDir();
  const own = await startHub({ staticDir: site2.dir, extra: ['--history', '4'] });
  const context = await browser.newContext();
  try {
    const [tab] = await openTabs(context, 1, { minBackoffMs: 100, maxBackoffMs: 300 }, own.url);
    await fill(tab, 'a');
    await fill(tab, 'b');
    await context.setOffline(true);
    await tab.waitForFunction(() => sync.status === 'degraded');
    await invalidate(own.url, token, { ns: 'shop', keys: ['a'] });
    await context.setOffline(false);
    await dropped(tab, 'a');
    assert.deepEqual(await holds(tab, 'b'), ['memory', 'local', 'session'], 'a replay drops only what was published');
    const resetsBefore = await tab.evaluate(() => sync.stats().resets);

    await context.setOffline(true);
    await tab.waitForFunction(() => sync.status === 'degraded');
    for (const key of ['x1', 'x2', 'x3', 'x4', 'x5', 'x6']) await invalidate(own.url, token, { ns: 'shop', keys: [key] });
    await context.setOffline(false);
    await tab.waitForFunction((n) => sync.stats().resets > n, resetsBefore, { timeout: 5_000 });
    assert.deepEqual(await holds(tab, 'b'), [], 'history trimmed past the cursor: everything is dropped');
  } finally {
    await context.close();
    await own.stop();
    site2.remove();
  }
});

test('a connection down longer than stalenessMs drops the caches, and keeps dropping them while down; it comes back live', async () => {
  const site2 = siteDir();
  const own = await startHub({ staticDir: site2.dir });
  const context = await browser.newContext();
  try {
    const [tab] = await openTabs(context, 1, { stalenessMs: 1_500, minBackoffMs: 100, maxBackoffMs: 200 }, own.url);
    await fill(tab, 'product:9');
    await own.stop();
    await tab.waitForFunction(() => sync.status === 'degraded');
    assert.deepEqual(await holds(tab, 'product:9'), ['memory', 'local', 'session'], 'served while within the bound');
    await tab.waitForFunction(() => sync.status === 'offline', null, { timeout: 5_000 });
    assert.deepEqual(await holds(tab, 'product:9'), [], 'dropped past the bound');
    // Still down: what is cached meanwhile is not kept longer than the bound either.
    await fill(tab, 'product:10');
    const filledAt = Date.now();
    await dropped(tab, 'product:10');
    assert.ok(Date.now() - filledAt <= 1_500 + 1_000, 'dropped within the bound');
    assert.equal(await tab.evaluate(() => sync.status), 'offline');
    const restarted = await startHub({ staticDir: site2.dir, port: own.port });
    try {
      await tab.waitForFunction(() => sync.status === 'live', null, { timeout: 5_000 });
      const statuses = await tab.evaluate(() => window.statuses);
      assert.deepEqual(statuses.slice(-4), ['live', 'degraded', 'offline', 'live']);
    } finally {
      await restarted.stop();
    }
  } finally {
    await context.close();
    site2.remove();
  }
});

test('a hub that hangs (SIGSTOP: the socket stays open, nothing arrives) is detected by its missing heartbeats', async () => {
  const site2 = siteDir();
  const own = await startHub({ staticDir: site2.dir });
  const context = await browser.newContext();
  try {
    const [tab] = await openTabs(context, 1, { stalenessMs: 4_000, minBackoffMs: 200, maxBackoffMs: 400 }, own.url);
    await fill(tab, 'product:3');
    own.child.kill('SIGSTOP');
    // Heartbeats every second (the harness starts the hub with --heartbeat-secs 1): after 2.5 s
    // of silence the stream counts as down, and after stalenessMs the caches are dropped.
    await tab.waitForFunction(() => sync.status === 'degraded', null, { timeout: 6_000 });
    await tab.waitForFunction(() => sync.status === 'offline', null, { timeout: 8_000 });
    assert.deepEqual(await holds(tab, 'product:3'), []);
    own.child.kill('SIGCONT');
    await tab.waitForFunction(() => sync.status === 'live', null, { timeout: 8_000 });
  } finally {
    own.child.kill('SIGCONT');
    await context.close();
    await own.stop();
    site2.remove();
  }
});

test('Redis restarted empty is an epoch change: every tab resets; a second hub on the same Redis delivers too', async () => {
  const redis = await startRedis();
  const site2 = siteDir();
  const a = await startHub({ staticDir: site2.dir, redis: redis.url });
  const b = await startHub({ staticDir: site2.dir, redis: redis.url });
  const context = await browser.newContext();
  try {
    const [tab] = await openTabs(context, 1, { minBackoffMs: 100, maxBackoffMs: 300 }, a.url);
    await fill(tab, 'product:1');
    await fill(tab, 'product:2');
    await invalidate(b.url, token, { ns: 'shop', keys: ['product:1'] }); // published on the other instance
    await dropped(tab, 'product:1');
    const resetsBefore = await tab.evaluate(() => sync.stats().resets);
    await redis.kill();
    const restarted = await startRedis(redis.port);
    try {
      await tab.waitForFunction((n) => sync.stats().resets > n, resetsBefore, { timeout: 15_000 });
      assert.deepEqual(await holds(tab, 'product:2'), [], 'a reset drops what continuity no longer covers');
    } finally {
      await restarted.kill();
    }
  } finally {
    await context.close();
    await a.stop();
    await b.stop();
    site2.remove();
  }
});

test('logout wipes the namespaces in every tab and closes the stream', async () => {
  const context = await browser.newContext();
  try {
    const tabs = await openTabs(context, 2);
    for (const tab of tabs) await fill(tab, 'me');
    await tabs[1].evaluate(() => sync.logout());
    for (const tab of tabs) {
      await tab.waitForFunction(() => sync.status === 'offline');
      assert.deepEqual(await holds(tab, 'me'), []);
    }
    await until(async () => (await metric(hub.url, 'hub_connections')) === 0, 'no hub connection');
  } finally {
    await context.close();
  }
});

test('logout reaches tabs that follow other topics, and gets past a closed cache', async () => {
  const context = await browser.newContext();
  try {
    // Tab 0 follows shop and user-a; tab 1 follows user-a alone, so it has a stream (and a
    // relay channel) of its own.
    const tabs = [];
    for (const namespaces of [['shop', 'user-a'], ['user-a']]) {
      const page = await context.newPage();
      page.errors = watchErrors(page);
      await page.goto(`${hub.url}/index.html`);
      await page.evaluate(() => window.ready);
      await page.evaluate(async (names) => {
        window.layers = {};
        for (const ns of names) {
          layers[`${ns}:memory`] = await lib.createCache({ namespace: ns });
          layers[`${ns}:local`] = await lib.createCache({ storage: 'local', namespace: ns, maxEntries: 10 });
        }
        window.sync = lib.connectSync({ caches: Object.values(layers) });
      }, namespaces);
      await page.waitForFunction(() => sync.status === 'live');
      tabs.push(page);
    }
    await tabs[1].evaluate(() => layers['user-a:memory'].set('me', 1));
    // Tab 0's first cache was closed (a user switch): the caches after it must go all the same.
    await tabs[0].evaluate(() => {
      layers['shop:memory'].close();
      layers['user-a:memory'].set('me', 1);
      sync.logout();
    });
    assert.equal(await tabs[0].evaluate(() => layers['user-a:memory'].has('me')), false);
    await tabs[1].waitForFunction(() => sync.status === 'offline');
    assert.equal(await tabs[1].evaluate(() => layers['user-a:memory'].has('me')), false);
    await until(async () => (await metric(hub.url, 'hub_connections')) === 0, 'no hub connection');
    for (const tab of tabs) assert.deepEqual(tab.errors, []);
  } finally {
    await context.close();
  }
});

test('a reload after a stream that never got an event id drops what was published meanwhile', async () => {
  const context = await browser.newContext();
  try {
    const [tab] = await openTabs(context, 1);
    await tab.evaluate(() => layers.local.set('product:1', 1));
    await tab.goto('about:blank'); // the tab is gone; the hub publishes meanwhile
    await invalidate(hub.url, token, { ns: 'shop', keys: ['product:1'] });
    await tab.goto(`${hub.url}/index.html`);
    await tab.evaluate(() => window.ready);
    // The state a stream leaves when no event carried an id (a hub that answered `earliest`,
    // a reset without an id): live a moment ago, but no cursor.
    await tab.evaluate(() => {
      for (const key of Object.keys(localStorage).filter((k) => k.startsWith('cw::sync:'))) {
        localStorage.setItem(key, JSON.stringify({ cursor: null, liveAt: Date.now() }));
      }
    });
    await setUp(tab);
    await tab.waitForFunction(() => sync.status === 'live');
    await tab.waitForFunction(() => !layers.local.has('product:1'));
    assert.deepEqual(tab.errors, []);
  } finally {
    await context.close();
  }
});

test('a hand-over after a stream that never got an event id drops what was published meanwhile', async () => {
  const context = await browser.newContext();
  try {
    const [leader] = await openTabs(context, 1);
    // The next leader's request for the log's head waits until the test lets it go.
    const next = await pageWithGatedFetch(context);
    await setUp(next);
    await next.waitForFunction(() => sync.status === 'live');
    await leader.evaluate(() => {
      for (const key of Object.keys(localStorage).filter((k) => k.startsWith('cw::sync:'))) {
        localStorage.setItem(key, JSON.stringify({ cursor: null, liveAt: Date.now() }));
      }
      layers.local.set('product:9', 9);
    });
    await leader.close();
    await next.waitForFunction(() => sync.leader);
    // Published after the stream ended and before the new one learns where the log stands.
    await invalidate(hub.url, token, { ns: 'shop', keys: ['product:9'] });
    await next.evaluate(() => window.openGate());
    await next.waitForFunction(() => sync.status === 'live');
    assert.equal(await next.evaluate(() => layers.local.has('product:9')), false);
    assert.deepEqual(next.errors, []);
  } finally {
    await context.close();
  }
});

test('a malformed update is counted and dropped; the stream goes on', async () => {
  const context = await browser.newContext();
  try {
    const [tab] = await openTabs(context, 1);
    await fill(tab, 'k');
    const form = new URLSearchParams({ topic: '/cache/shop', type: 'invalidate', data: '{"ns":"shop","keys":[""]}' });
    const res = await fetch(`${hub.url}/.well-known/mercure`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    assert.equal(res.status, 200);
    await tab.waitForFunction(() => sync.stats().rejected === 1);
    await invalidate(hub.url, token, { ns: 'shop', keys: ['k'] });
    await dropped(tab, 'k');
  } finally {
    await context.close();
  }
});

test('an invalidation published while a getOrSet loader runs: the late result is not stored', async () => {
  const context = await browser.newContext();
  try {
    const [tab] = await openTabs(context, 1);
    await tab.evaluate(() => {
      window.loading = layers.local.getOrSet('product:5', () => new Promise((resolve) => (window.release = resolve)));
    });
    await tab.waitForFunction(() => typeof window.release === 'function');
    await invalidate(hub.url, token, { ns: 'shop', keys: ['product:5'] });
    await tab.waitForFunction(() => sync.stats().eventsApplied === 1);
    const r = await tab.evaluate(async () => {
      release({ price: 'old' });
      return { returned: await loading, stored: layers.local.has('product:5') };
    });
    assert.deepEqual(r, { returned: { price: 'old' }, stored: false });
  } finally {
    await context.close();
  }
});

test("logout on a shared device: user A's data is gone from every layer and tab before user B", async () => {
  const context = await browser.newContext();
  try {
    const tabs = await openTabs(context, 2, {}, hub.url);
    const signInUserA = async () => {
      const userA = {};
      for (const storage of ['memory', 'local', 'session']) {
        userA[storage] = await lib.createCache({ storage, namespace: 'user-a', defaultTtlMs: Infinity });
      }
      window.userA = userA;
      window.apiA = lib.createApiCache({ cache: layers.memory, userCache: userA.local, rules: [{ match: '/healthz', perUser: true, ttlMs: 60_000 }] });
      window.syncA = lib.connectSync({ caches: Object.values(userA), name: 'user-a' });
    };
    for (const tab of tabs) await tab.evaluate(signInUserA);
    for (const tab of tabs) await tab.waitForFunction(() => syncA.status === 'live');
    for (const tab of tabs) {
      await tab.evaluate(async () => {
        Object.values(userA).forEach((c) => c.set('profile', { name: 'A' }));
        await (await apiA.fetch('/healthz')).text();
      });
    }
    // The profile, the API response, and (the hub's answers Vary) the response's vary index.
    assert.ok((await tabs[0].evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('cw:user-a:')).length)) >= 2);
    await tabs[0].evaluate(() => syncA.logout());
    for (const tab of tabs) {
      await tab.waitForFunction(() => syncA.status === 'offline');
      const left = await tab.evaluate(() => ({
        memory: userA.memory.keys(),
        session: Object.keys(sessionStorage).filter((k) => k.includes('user-a')),
        local: Object.keys(localStorage).filter((k) => k.includes('user-a')),
      }));
      assert.deepEqual(left, { memory: [], session: [], local: [] });
      assert.equal(await tab.evaluate(async () => (await apiA.fetch('/healthz')).headers.get('x-cache')), 'MISS');
      await tab.evaluate(() => userA.local.clear());
    }
    // User B signs in on the same browser: nothing of A's is there to be served.
    const b = await context.newPage();
    await b.goto(`${hub.url}/index.html`);
    await b.evaluate(() => window.ready);
    const seen = await b.evaluate(async () => {
      const found = [];
      for (const storage of ['local', 'session']) {
        const c = await lib.createCache({ storage, namespace: 'user-a' });
        found.push(...c.keys());
      }
      return found;
    });
    assert.deepEqual(seen, []);
  } finally {
    await context.close();
  }
});
