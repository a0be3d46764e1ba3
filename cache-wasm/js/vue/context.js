// Which Cache a composable uses: the one passed as `cache`, or the app's cache for `storage`
// (registered with `app.use(cacheVue({ caches }))`).
import { inject, hasInjectionContext } from 'vue';

export const CACHES_KEY = Symbol('cache-wasm caches');

/** A Vue plugin that makes `caches` ({ memory, local, session }) available to composables. */
export function cacheVue({ caches }) {
  return {
    install(app) {
      app.provide(CACHES_KEY, caches);
    },
  };
}

export function resolveCache({ cache, storage = 'memory' } = {}) {
  if (cache) return cache;
  const caches = hasInjectionContext() ? inject(CACHES_KEY, null) : null;
  const found = caches?.[storage];
  if (!found) throw new TypeError(`cache-wasm/vue: no cache for storage '${storage}': pass { cache } or install cacheVue({ caches })`);
  return found;
}

/** Whether this runs outside a browser (server-side rendering): there is no `window`. */
export const onServer = () => typeof window === 'undefined';
