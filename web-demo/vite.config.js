import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import { cpSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

// service-worker/sw.js imports ./sw-config.js and ./cache-wasm/ next to itself: put the
// worker, the demo's route table and the installed package there in dist/.
function serviceWorker() {
  let outDir;
  return {
    name: 'cache-wasm-service-worker',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir.startsWith('/') ? config.build.outDir : `${config.root}/${config.build.outDir}`;
    },
    closeBundle() {
      mkdirSync(outDir, { recursive: true });
      cpSync(here('../service-worker/sw.js'), `${outDir}/sw.js`);
      cpSync(here('./sw-config.js'), `${outDir}/sw-config.js`);
      cpSync(here('./node_modules/cache-wasm'), `${outDir}/cache-wasm`, {
        recursive: true,
        dereference: true,
        filter: (src) => !/node_modules|README\.md$|\.d\.ts$/.test(src.slice(src.indexOf('cache-wasm'))),
      });
    },
  };
}

export default defineConfig({
  plugins: [vue(), serviceWorker()],
  // The packed package is linked from ../target/npm; let the dev server read it.
  server: { fs: { allow: ['..'] } },
  build: { target: 'es2022' },
});
