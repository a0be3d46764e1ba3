// Benchmark of the API cache (docs/BENCHMARKS.md): a cached GET through api.fetch (body read
// included) against axios-cache-interceptor with memory storage, a Map-based fetch wrapper
// and an uncached fetch to the loopback origin, in one cross-origin-isolated page of headless
// Chromium, one run. Run: bash scripts/bench.sh api
import { join } from 'node:path';
import { startOrigin } from '../tests/support/origin.mjs';
import { launchBrowser } from '../tests/support/browser.mjs';
import { PACKAGE_DIR, ROOT } from '../tests/support/paths.mjs';
import { bundle } from './support/bundle.mjs';

const N = Number(process.env.BENCH_N ?? 2000);
const peers = await bundle(`
  export { default as axios } from ${JSON.stringify(join(ROOT, 'node_modules/axios/dist/esm/axios.js'))};
  export { setupCache, buildMemoryStorage } from ${JSON.stringify(join(ROOT, 'node_modules/axios-cache-interceptor/dist/index.mjs'))};
`);
const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const origin = await startOrigin(
  { '/pkg/': PACKAGE_DIR, '/': join(ROOT, 'bench', 'pages') },
  {
    headers: isolation,
    peers: (req, res) => {
      if (req.url !== '/peers/aci.js') return false;
      res.writeHead(200, { 'content-type': 'text/javascript', ...isolation }).end(peers);
      return true;
    },
  },
);
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.goto(`${origin.url}/api.html`);
  await page.waitForFunction(() => window.ready === true);
  if (!(await page.evaluate(() => crossOriginIsolated))) throw new Error('the page is not cross-origin isolated');
  const r = await page.evaluate((n) => window.runBench(n), N);
  const ours = r['cache-wasm api.fetch'];
  console.log(`\nCached GET, body read included; ${N} hits each (uncached: up to 500) in 5 alternating rounds, one page, one run\n`);
  console.log('| implementation | p50 µs | p99 µs | mean µs | p50 vs cache-wasm |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, s] of Object.entries(r)) {
    if (name === 'hits') continue;
    console.log(`| ${name} | ${s.p50.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.mean.toFixed(1)} | ${(s.p50 / ours.p50).toFixed(2)}x |`);
  }
  console.log(`\ncache-wasm hits counted: ${r.hits}`);
} finally {
  await browser.close();
  await origin.close();
}
