// The demo's route table for service-worker/sw.js (the build copies both, and the package, to
// dist/). The page itself is networkFirst, so a reload works offline; API responses follow the
// hub's `shop` namespace (Cache-Tag: catalog product:<id>).

// The hub's CORS layer answers `Vary: origin, …` on every file. A page asks for its module
// script and stylesheet with an Origin header (Vite marks them crossorigin) while the worker's
// precache asks without one, so Cache Storage would never match them. These responses do not
// depend on the origin (same-origin files), so their Vary is dropped before they are stored.
const dropVary = {
  cacheWillUpdate({ response }) {
    if (!response.headers.has('vary')) return response;
    const headers = new Headers(response.headers);
    headers.delete('vary');
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  },
};

export default {
  version: 1,
  routes: [
    { match: '/', strategy: 'networkFirst', cacheName: 'pages', networkTimeoutMs: 3000, plugins: [dropVary] },
    { match: '/assets/*', strategy: 'cacheFirst', cacheName: 'assets', maxEntries: 50, maxAgeSeconds: 30 * 86400, plugins: [dropVary] },
    { match: '/api/*', strategy: 'networkFirst', cacheName: 'api', networkTimeoutMs: 3000, maxAgeSeconds: 86400, maxEntries: 200, namespace: 'shop', plugins: [dropVary] },
  ],
};
