// Benchmark of coherence (docs/BENCHMARKS.md): publish-to-applied latency in the browser over
// 1,000 invalidations with 1 tab and with 10 tabs (one connection, relayed to the others),
// and the staleness bound under a hub crash (kill -9).
// Run: bash scripts/bench.sh sync
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { launchBrowser } from '../tests/support/browser.mjs';
import { siteDir, startHub, publisherToken, HUB_BIN } from '../tests/support/hub.mjs';
import { ROOT } from '../tests/support/paths.mjs';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1000);
const RATE = 200; // invalidations per second
const STALENESS_MS = 2000;
const release = join(ROOT, 'target', 'release-native', 'sync-server');
const bin = existsSync(release) ? release : HUB_BIN;
const now = () => performance.timeOrigin + performance.now();

function percentile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function openTabs(context, hubUrl, n, options = {}) {
  const tabs = [];
  for (let i = 0; i < n; i++) {
    const tab = await context.newPage();
    await tab.goto(`${hubUrl}/index.html`);
    await tab.evaluate(() => window.ready);
    await tab.evaluate(async (opts) => {
      window.applied = {};
      window.cache = await lib.createCache({ storage: 'memory', namespace: 'bench', defaultTtlMs: Infinity });
      window.sync = lib.connectSync({
        caches: [cache],
        ...opts,
        onEvent: (type, data) => {
          if (type === 'invalidate') applied[JSON.parse(data).keys[0]] = performance.timeOrigin + performance.now();
        },
      });
    }, options);
    tabs.push(tab);
  }
  for (const tab of tabs) await tab.waitForFunction(() => sync.status === 'live');
  return tabs;
}

async function latency(browser, hub, token, n) {
  const context = await browser.newContext();
  try {
    const tabs = await openTabs(context, hub.url, n);
    const sent = [];
    const start = now();
    for (let i = 0; i < EVENTS; i++) {
      const due = start + (i * 1000) / RATE;
      while (now() < due) await new Promise((r) => setTimeout(r, 1));
      sent.push(now());
      const res = await fetch(`${hub.url}/invalidate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ns: 'bench', keys: [`e${i}`] }),
      });
      if (!res.ok) throw new Error(`publish answered ${res.status}`);
    }
    for (const tab of tabs) await tab.waitForFunction((k) => window.applied[k] !== undefined, `e${EVENTS - 1}`, { timeout: 30_000 });
    const perTab = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.applied)));
    const all = [];
    const last = [];
    let lost = 0;
    for (let i = 0; i < EVENTS; i++) {
      const times = perTab.map((applied) => applied[`e${i}`]);
      lost += times.filter((t) => t === undefined).length;
      const ms = times.filter((t) => t !== undefined).map((t) => t - sent[i]);
      all.push(...ms);
      last.push(Math.max(...ms));
    }
    return { n, all, last, lost };
  } finally {
    await context.close();
  }
}

async function stalenessUnderCrash(browser, site) {
  const hub = await startHub({ staticDir: site.dir });
  const context = await browser.newContext();
  try {
    const [tab] = await openTabs(context, hub.url, 1, { stalenessMs: STALENESS_MS });
    await tab.evaluate(() => {
      cache.set('k', 1);
      cache.subscribe('k', (e) => { if (e.type === 'invalidate') window.droppedAt = performance.timeOrigin + performance.now(); });
    });
    const killedAt = now();
    hub.child.kill('SIGKILL');
    await tab.waitForFunction(() => window.droppedAt !== undefined, null, { timeout: STALENESS_MS + 10_000 });
    const droppedAt = await tab.evaluate(() => window.droppedAt);
    return droppedAt - killedAt;
  } finally {
    await context.close();
    await hub.stop();
  }
}

const site = siteDir();
const hub = await startHub({ staticDir: site.dir, bin });
const token = publisherToken();
const browser = await launchBrowser();
try {
  console.log(`\nPublish (POST /invalidate sent) -> applied in the page, ${EVENTS} invalidations at ${RATE}/s, hub: ${bin.replace(ROOT + '/', '')}\n`);
  console.log('| tabs | p50 ms (every tab) | p99 ms | max ms | p50 ms (last tab) | p99 ms (last tab) | lost |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const n of [1, 10]) {
    const r = await latency(browser, hub, token, n);
    const f = (x) => x.toFixed(2);
    console.log(`| ${n} | ${f(percentile(r.all, 0.5))} | ${f(percentile(r.all, 0.99))} | ${f(Math.max(...r.all))} | ${f(percentile(r.last, 0.5))} | ${f(percentile(r.last, 0.99))} | ${r.lost} |`);
  }
  const bound = await stalenessUnderCrash(browser, site);
  console.log(`\nHub killed (kill -9) with stalenessMs = ${STALENESS_MS}: the cached entry was dropped ${bound.toFixed(0)} ms later (bound: ${STALENESS_MS + 1000} ms).`);
} finally {
  await browser.close();
  await hub.stop();
  site.remove();
}
