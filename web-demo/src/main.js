import { createApp } from 'vue';
import { createCache } from 'cache-wasm';
import App from './App.vue';

// One cache per storage, shared by the whole app.
const caches = await Promise.all(
  ['memory', 'local', 'session'].map((storage) =>
    createCache({ storage, namespace: 'demo', defaultTtlMs: 60_000, maxEntries: 100 }),
  ),
);

createApp(App, { caches }).mount('#app');
