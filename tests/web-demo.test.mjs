// The built web demo (a Vite app depending on the packed package) in headless Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { serveStatic } from './support/static-server.mjs';
import { launchBrowser, watchErrors } from './support/browser.mjs';
import { ROOT } from './support/paths.mjs';

const DIST = join(ROOT, 'web-demo', 'dist');
const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
let server;
let browser;

before(async () => {
  assert.ok(existsSync(DIST), 'web-demo/dist is missing: the test command builds it');
  server = await serveStatic({ '/': DIST });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('the Vite-built demo loads the wasm package and caches in every storage', async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.url}/`);
  await page.locator('[data-test=save]').click();
  await page.locator('[data-test=read]').click();
  const message = await page.locator('[data-test=message]').textContent();
  assert.equal(
    message,
    'memory: {"name":"lamp","price":12} · local: {"name":"lamp","price":12} · session: {"name":"lamp","price":12}',
  );
  assert.equal(await page.locator('[data-test=row-local] td').nth(2).textContent(), '1');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'web-demo.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
