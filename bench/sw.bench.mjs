// Benchmark of the service worker (docs/BENCHMARKS.md, "Service worker"): the latency of one
// cache-first hit through our worker (service-worker/sw.js), through Workbox's CacheFirst, and
// with no service worker at all (Chromium's HTTP cache answers), in one headless Chromium, one
// run, the three paths interleaved in rounds so machine load hits them alike.
// Run: bash scripts/bench.sh sw   (or node bench/sw.bench.mjs after building the package)
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { bundle } from './support/bundle.mjs';
import { launchBrowser } from '../tests/support/browser.mjs';
import { ROOT, PACKAGE_DIR } from '../tests/support/paths.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_HITS ?? 100); // n = ROUNDS × PER_ROUND per path
const URLS = 20; // hits cycle over 20 cached URLs of ~2 KB each
const BODY = JSON.stringify({ items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `product ${i}`, price: i * 1.5 })) });
const PATHS = ['ours', 'workbox', 'none'];

const OUR_CONFIG = `export default { version: 1, routes: [{ match: '/ours/data/*', strategy: 'cacheFirst', cacheName: 'bench' }] };`;
const WORKBOX_ENTRY = `
import { registerRoute } from 'workbox-routing';
import { CacheFirst } from 'workbox-strategies';
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
registerRoute(({ url }) => url.pathname.startsWith('/workbox/data/'), new CacheFirst({ cacheName: 'bench' }));
`;
const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module">
  window.ready = (async () => {
    const sw = new URL('sw.js', location.href);
    if (!location.pathname.startsWith('/none/')) {
      await navigator.serviceWorker.register(sw, { type: 'module', scope: './' });
      if (!navigator.serviceWorker.controller) await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
    }
    return true;
  })();
  // Per-hit latency (ms) of n sequential fetches cycling over the cached URLs, body read.
  window.hits = async (n, urls) => {
    const times = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const res = await fetch('data/' + (i % urls));
      await res.text();
      times.push(performance.now() - t0);
    }
    return times;
  };
</script>`;

// Workbox's routing + CacheFirst bundled for the worker (rolldown, production build).
function bundleWorkbox() {
  return bundle(WORKBOX_ENTRY, { minify: true, define: { 'process.env.NODE_ENV': '"production"' } });
}

async function serve(workboxSw) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const [, scope, ...rest] = path.split('/');
    const file = rest.join('/');
    const js = (body) => res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' }).end(body);
    if (file === 'index.html') return void res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' }).end(PAGE);
    if (file.startsWith('data/')) {
      // Fresh for an hour: the HTTP cache answers the no-worker path, both workers store it.
      return void res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' }).end(BODY);
    }
    if (scope === 'workbox' && file === 'sw.js') return js(workboxSw);
    if (scope === 'ours' && file === 'sw.js') return js(readFileSync(join(ROOT, 'service-worker', 'sw.js')));
    if (scope === 'ours' && file === 'sw-config.js') return js(OUR_CONFIG);
    if (scope === 'ours' && file.startsWith('cache-wasm/')) {
      const target = normalize(join(PACKAGE_DIR, file.slice('cache-wasm/'.length)));
      if (!target.startsWith(PACKAGE_DIR)) return void res.writeHead(403).end();
      try {
        const type = target.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
        return void res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(await readFile(target));
      } catch {
        return void res.writeHead(404).end();
      }
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const ms = (x) => x.toFixed(3);

async function main() {
  const server = await serve(await bundleWorkbox());
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext();
    const pages = {};
    for (const path of PATHS) {
      pages[path] = await context.newPage();
      await pages[path].goto(`${server.url}/${path}/index.html`);
      await pages[path].evaluate(() => window.ready);
      await pages[path].evaluate(([u]) => window.hits(u * 3, u), [URLS]); // fill the caches, warm up
    }
    const times = Object.fromEntries(PATHS.map((p) => [p, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const path of PATHS) times[path].push(...(await pages[path].evaluate(([n, u]) => window.hits(n, u), [PER_ROUND, URLS])));
    }
    const names = { ours: 'cache-wasm sw (cacheFirst)', workbox: 'Workbox 7.4 CacheFirst', none: 'no service worker (HTTP cache)' };
    console.log(`\n| path | n | median ms | mean ms | p95 ms |\n| --- | ---: | ---: | ---: | ---: |`);
    for (const path of PATHS) {
      const t = times[path];
      console.log(`| ${names[path]} | ${t.length} | ${ms(quantile(t, 0.5))} | ${ms(mean(t))} | ${ms(quantile(t, 0.95))} |`);
    }
    console.log(`\nChromium ${browser.version()}, ${ROUNDS} interleaved rounds of ${PER_ROUND} sequential hits per path over ${URLS} URLs of ${BODY.length} bytes.`);
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
