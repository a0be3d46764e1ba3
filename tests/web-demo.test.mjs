// The built web demo (web-demo/dist, a Vite + Vue + Pinia app on the packed package) served by
// the real hub with its demo API, in headless Chromium: two windows staying coherent, an
// optimistic update rolled back, infinite scroll pages from cache on revisit, an offline
// reload served by the service worker, and a screenshot of the main screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startHub } from './support/hub.mjs';
import { launchBrowser, watchErrors } from './support/browser.mjs';
import { ROOT } from './support/paths.mjs';

const DIST = join(ROOT, 'web-demo', 'dist');
const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
let hub;
let browser;

before(async () => {
  assert.ok(existsSync(join(DIST, 'sw.js')), 'web-demo/dist is missing or incomplete: the test command builds it');
  hub = await startHub({ staticDir: DIST, extra: ['--demo-api'] });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
});

/** Opens the demo in `context` and waits for the first products and a live hub connection. */
async function openDemo(context) {
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${hub.url}/`);
  await page.locator('[data-test=row-1]').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-test=connection]')?.textContent.includes('Live'));
  return { page, errors };
}

const text = (page, selector) => page.locator(selector).first().textContent();
const rowName = (id) => `[data-test=row-${id}] [data-test=name]`;
const rowPrice = (id) => `[data-test=row-${id}] [data-test=price]`;
const waitText = (page, selector, expected) =>
  page.waitForFunction(
    ([s, e]) => document.querySelector(s)?.textContent.trim() === e,
    [selector, expected],
  );
const rowCount = (page) => page.locator('[data-test=scroller] li').count();

async function select(page, id) {
  await page.locator(`[data-test=row-${id}]`).click();
  await page.waitForFunction((i) => document.querySelector('[data-test=editor]') && document.querySelector('h2 .muted')?.textContent === `#${i}`, id);
}

test('loads the catalogue, the live panel and the service worker; screenshot', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const { page, errors } = await openDemo(context);
  assert.ok((await rowCount(page)) >= 12);
  await page.waitForFunction(() => document.querySelector('[data-test=sw-state]')?.textContent === 'offline-ready');
  // A second of statistics for the chart, then the picture.
  await page.waitForFunction(() => [...document.querySelectorAll('[data-test=chart] polyline')].every((l) => l.points.length >= 4));
  assert.ok(Number(await text(page, '[data-test=layer-memory] [data-test=entries]')) >= 1);
  assert.ok(Number(await text(page, '[data-test=layer-api] [data-test=misses]')) >= 1);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'web-demo.png') });
  assert.deepEqual(errors, []);
  await context.close();
});

test('an edit in one window shows in the other at once', async () => {
  const context = await browser.newContext();
  const a = await openDemo(context);
  const b = await openDemo(context);
  // Window B reloads its pages (tag `catalog`) behind the rows it shows: the list never
  // shrinks meanwhile.
  const rowsBefore = await rowCount(b.page);
  await b.page.evaluate(() => {
    const list = document.querySelector('[data-test=scroller] ul');
    window.fewestRows = list.children.length;
    new MutationObserver(() => (window.fewestRows = Math.min(window.fewestRows, list.children.length)))
      .observe(list, { childList: true });
  });
  await select(a.page, 3);
  await a.page.locator('[data-test=edit-name]').fill('Edited in window A');
  await a.page.locator('[data-test=edit-price]').fill('42.5');
  await a.page.locator('[data-test=save]').click();
  await waitText(a.page, '[data-test=edit-message]', 'Saved — every open window shows it now.');
  await waitText(b.page, rowName(3), 'Edited in window A');
  await waitText(b.page, rowPrice(3), '€42.50');
  await b.page.waitForFunction(() => document.querySelector('[data-test=sentinel]')?.textContent.trim() !== 'Loading…');
  assert.equal(await b.page.evaluate(() => window.fewestRows), rowsBefore, 'the list did not blink');
  // The live panel refreshes its figures once a second: wait for it rather than race it.
  await b.page.waitForFunction(() => Number(document.querySelector('[data-test=events-applied]')?.textContent) >= 1);
  const server = await (await fetch(`${hub.url}/api/products/3`)).json();
  assert.equal(server.name, 'Edited in window A');
  assert.deepEqual([...a.errors, ...b.errors], []);
  await context.close();
});

test('an optimistic update is shown at once and rolled back when the API fails', async () => {
  const context = await browser.newContext();
  const { page, errors } = await openDemo(context);
  const before = await (await fetch(`${hub.url}/api/products/4`)).json();
  const original = await text(page, rowPrice(4));
  await select(page, 4);
  await page.locator('[data-test=simulate-failure]').check();
  await page.locator('[data-test=edit-price]').fill('999');
  await page.locator('[data-test=save]').click();
  await waitText(page, rowPrice(4), '€999.00'); // optimistic, while the API takes 400 ms to fail
  await page.waitForFunction(() => document.querySelector('[data-test=edit-message]')?.textContent.startsWith('Not saved, change rolled back'));
  await waitText(page, rowPrice(4), original.trim());
  assert.equal(await page.locator('[data-test=edit-price]').inputValue(), String(before.price));
  assert.deepEqual(await (await fetch(`${hub.url}/api/products/4`)).json(), before);
  // The browser logs the 503 itself; nothing else may go wrong.
  assert.deepEqual(errors.filter((e) => !e.includes('503')), []);
  await context.close();
});

async function scrollToEnd(page) {
  const atEnd = () => page.evaluate(() => document.querySelector('[data-test=sentinel]')?.textContent.trim() === 'That is the whole catalogue.');
  while (!(await atEnd())) {
    const count = await rowCount(page);
    await page.locator('[data-test=scroller]').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-test=scroller] li').length > n ||
        document.querySelector('[data-test=sentinel]')?.textContent.trim() === 'That is the whole catalogue.',
      count,
    );
  }
}

test('infinite scroll pages come from the cache on a revisit', async () => {
  const context = await browser.newContext();
  const { page, errors } = await openDemo(context);
  await scrollToEnd(page);
  assert.equal(await rowCount(page), 60);
  const apiRequests = [];
  page.on('request', (r) => r.url().includes('/api/products') && apiRequests.push(r.url()));
  const hitsBefore = Number(await text(page, '[data-test=layer-api] [data-test=hits]'));
  await page.reload();
  await page.locator('[data-test=row-1]').waitFor();
  await scrollToEnd(page);
  assert.deepEqual(apiRequests, [], 'every page was served from the cache');
  await page.waitForFunction(() => Number(document.querySelector('[data-test=layer-api] [data-test=hits]')?.textContent) >= 6);
  assert.equal(hitsBefore, 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a reload with the server gone is served by the service worker', async () => {
  const context = await browser.newContext();
  const { page } = await openDemo(context);
  await page.waitForFunction(() => document.querySelector('[data-test=sw-state]')?.textContent === 'offline-ready');
  await hub.stop();
  await page.reload();
  await page.locator('[data-test=row-12]').waitFor();
  assert.ok((await rowCount(page)) >= 12);
  await page.waitForFunction(() => !document.querySelector('[data-test=connection]')?.textContent.includes('Live'));
  const controlled = await page.evaluate(() => Boolean(navigator.serviceWorker.controller));
  assert.ok(controlled, 'the page came from the service worker');
  await context.close();
});
