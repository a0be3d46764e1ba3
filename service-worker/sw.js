// The app's service worker: cache-wasm's strategies over Cache Storage, routed by the table in
// ./sw-config.js, in caches named `<prefix>-v<version>-<cacheName>`. Register it as a module
// worker (registerServiceWorker from 'cache-wasm' does). It imports the package from
// ./cache-wasm/ next to itself: serve the package's folder there (see README, "Service worker").
import { registerRoutes } from './cache-wasm/sw/index.js';
import config from './sw-config.js';

const router = registerRoutes(config.routes, { version: config.version, prefix: config.prefix });

// A config the router refuses (bad route, bad glob) fails the install: the old version stays.
self.addEventListener('install', (event) => event.waitUntil(router.ready));

// A new version waits until the page sends SKIP_WAITING (registerServiceWorker's
// activateUpdate); once active it deletes the previous versions' caches and takes the pages.
self.addEventListener('activate', (event) => {
  event.waitUntil(router.deleteOldCaches().then(() => self.clients.claim()));
});
