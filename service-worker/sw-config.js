// The route table of service-worker/sw.js. Bump `version` to start with empty caches: the
// new worker deletes the previous version's caches when it activates. A change to this file
// is a change of the worker: browsers install it as an update.
export default {
  version: 1,
  routes: [
    { match: '/assets/*', strategy: 'cacheFirst', cacheName: 'assets', maxEntries: 200, maxAgeSeconds: 30 * 86400 },
    { match: '/api/*', strategy: 'networkFirst', cacheName: 'api', networkTimeoutMs: 3000, maxAgeSeconds: 86400, namespace: 'shop' },
    { match: /\.(js|css)$/, strategy: 'staleWhileRevalidate', cacheName: 'static', freshForSeconds: 60, maxEntries: 100 },
  ],
};
