// The route table the service-worker suite runs service-worker/sw.js with (one cache per case).
export default {
  version: 1,
  routes: [
    { match: '/app/data/cf/*', strategy: 'cacheFirst', cacheName: 'cf' },
    { match: '/app/data/nf/*', strategy: 'networkFirst', cacheName: 'nf', networkTimeoutMs: 300 },
    { match: '/app/data/swr/*', strategy: 'staleWhileRevalidate', cacheName: 'swr', freshForSeconds: 1 },
    { match: '/app/data/co/*', strategy: 'cacheOnly', cacheName: 'co' },
    { match: '/app/data/no/*', strategy: 'networkOnly', cacheName: 'no' },
    { match: '/app/data/lim/*', strategy: 'cacheFirst', cacheName: 'lim', maxEntries: 3 },
    { match: '/app/data/age/*', strategy: 'cacheFirst', cacheName: 'age', maxAgeSeconds: 1 },
    { match: '/app/data/hub/*', strategy: 'cacheFirst', cacheName: 'hub', namespace: 'shop' },
    { match: '/app/data/other/*', strategy: 'cacheFirst', cacheName: 'other', namespace: 'blog' },
    { match: '/app/data/big/*', strategy: 'cacheFirst', cacheName: 'big' },
    { match: 'http://localhost:*/app/data/opaque/*', strategy: 'staleWhileRevalidate', cacheName: 'opaque', allowOpaque: true },
    { match: 'http://localhost:*/app/data/opaque-no/*', strategy: 'networkFirst', cacheName: 'opaque-no' },
    { match: /\/app\/data\/re\/[^?]*\.css$/, strategy: 'cacheFirst', cacheName: 're' },
  ],
};
