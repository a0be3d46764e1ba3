// cache-wasm/vue: Vue 3 composables over cache-wasm caches.
export { cacheVue } from './context.js';
export { useCache, useCachedAPI, useOptimisticUpdate, useCachedInfiniteScroll } from './composables.js';
