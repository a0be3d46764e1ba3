// Shared set-up of the browser suites: one static server for the packed package and the test
// pages, one Chromium, and a fresh context (own storage) per test.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { serveStatic } from './static-server.mjs';
import { launchBrowser, watchErrors } from './browser.mjs';
import { PACKAGE_DIR, PAGES_DIR } from './paths.mjs';

export function useBrowser() {
  const env = {};
  before(async () => {
    assert.ok(existsSync(PACKAGE_DIR), `no package at ${PACKAGE_DIR}: run scripts/build-package.sh`);
    env.server = await serveStatic({ '/pkg/': PACKAGE_DIR, '/': PAGES_DIR });
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  /** A fresh context (its own storage) with `pages` test pages loaded and the package ready. */
  env.open = async (pages = 1) => {
    const context = await env.browser.newContext();
    const opened = [];
    for (let i = 0; i < pages; i++) {
      const page = await context.newPage();
      page.errors = watchErrors(page);
      await page.goto(`${env.server.url}/index.html`);
      await page.evaluate(() => window.ready);
      opened.push(page);
    }
    return { context, pages: opened, page: opened[0] };
  };
  return env;
}
