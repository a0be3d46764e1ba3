// Benchmark of the caches (docs/BENCHMARKS.md): operations per second in headless Chromium,
// side by side with lru-cache, Map and lscache in one page and one run (median of the
// repetitions), and the gzip size of what a page loads for each.
// Run: bash scripts/bench.sh cache   (or node bench/cache.bench.mjs after building the package)
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveStatic } from '../tests/support/static-server.mjs';
import { launchBrowser } from '../tests/support/browser.mjs';
import { ROOT, PACKAGE_DIR } from '../tests/support/paths.mjs';
import { bundle } from './support/bundle.mjs';

const REPS = Number(process.env.BENCH_REPS ?? 5);
const OPS = { mem: 400_000, lsGet: 20_000, lsSet: 4_000 };
const modules = join(ROOT, 'node_modules');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en-US');

async function measureSpeed() {
  const server = await serveStatic({
    '/pkg/': PACKAGE_DIR,
    '/lru/': join(modules, 'lru-cache', 'dist', 'esm', 'browser'),
    '/lscache/': join(modules, 'lscache'),
    '/': join(ROOT, 'bench', 'pages'),
  });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/cache.html`);
    await page.waitForFunction(() => window.ready === true);
    return await page.evaluate((args) => window.runBench(args), { reps: REPS, ops: OPS });
  } finally {
    await browser.close();
    await server.close();
  }
}

// Minified, tree-shaken bundle of `entryCode`, gzipped.
async function bundledGzip(entryCode) {
  return gzipSync(await bundle(entryCode, { minify: true }), { level: 9 }).length;
}

async function measureSize() {
  const wasm = gzipSync(readFileSync(join(PACKAGE_DIR, 'wasm', 'cache_wasm_bg.wasm')), { level: 9 }).length;
  const oursJs = await bundledGzip(`export { createCache } from ${JSON.stringify(join(PACKAGE_DIR, 'index.js'))};`);
  const lru = await bundledGzip(`export { LRUCache } from ${JSON.stringify(join(modules, 'lru-cache', 'dist', 'esm', 'browser', 'index.js'))};`);
  const query = await bundledGzip(`export { QueryClient } from ${JSON.stringify(join(modules, '@tanstack', 'query-core', 'build', 'modern', 'index.js'))};`);
  const lscache = gzipSync(readFileSync(join(modules, 'lscache', 'lscache.min.js')), { level: 9 }).length;
  return [
    ['cache-wasm (wasm + JS)', wasm + oursJs, `wasm ${wasm} + JS ${oursJs}`],
    ['lru-cache + lscache', lru + lscache, `lru-cache ${lru} + lscache ${lscache}`],
    ['lru-cache', lru, ''],
    ['@tanstack/query-core (QueryClient)', query, ''],
  ];
}

const samples = await measureSpeed();
console.log(`\nOperations per second, headless Chromium, median of ${REPS} repetitions (one page, one run)\n`);
console.log('| operation | implementation | ops/s (median) | vs cache-wasm |');
console.log('| --- | --- | ---: | ---: |');
for (const [op, peers] of Object.entries(samples)) {
  const ours = median(peers['cache-wasm']);
  for (const [peer, xs] of Object.entries(peers)) {
    const m = median(xs);
    console.log(`| ${op} | ${peer} | ${fmt(m)} | ${(ours / m).toFixed(2)}x |`);
  }
}
console.log('\nBytes a page loads, gzip -9 (JS minified and tree-shaken with rolldown)\n');
console.log('| package | gzip bytes | detail |');
console.log('| --- | ---: | --- |');
for (const [name, bytes, detail] of await measureSize()) console.log(`| ${name} | ${bytes} | ${detail} |`);
