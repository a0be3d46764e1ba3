// A module service worker that loads the packed package and answers one question.
import { createCache } from '/pkg/index.js';

const cachePromise = createCache({ storage: 'memory', namespace: 'sw' });

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('message', (event) => {
  event.waitUntil(
    cachePromise.then((cache) => {
      cache.set('answer', event.data * 2);
      event.ports[0].postMessage(cache.get('answer'));
    }),
  );
});
