// Vitest runs the Vue and Pinia adapter tests against the packed package (target/npm), the way
// an app imports it. Browser suites are node:test files in tests/*.test.mjs.
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('./target/npm/cache-wasm/', import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^cache-wasm\/vue$/, replacement: `${pkg}vue/index.js` },
      { find: /^cache-wasm\/pinia$/, replacement: `${pkg}vue/pinia.js` },
      { find: /^cache-wasm$/, replacement: `${pkg}index.js` },
    ],
  },
  test: {
    include: ['tests/vue/**/*.spec.js'],
    environment: 'node',
    setupFiles: ['tests/vue/setup.js'],
  },
});
