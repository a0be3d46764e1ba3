// cache-wasm/sw: strategies over the Cache Storage API for a module service worker, a router,
// expiration and invalidation plugins, and the page message protocol. Import it from the
// worker only; it pulls no page code.
export { registerRoutes, Router, ROUTER_DEFAULTS } from './router.js';
export { Strategy, STRATEGY_DEFAULTS } from './strategy.js';
export { StrategyHandler } from './strategy-handler.js';
export { CacheFirst } from './cache-first.js';
export { NetworkFirst } from './network-first.js';
export { StaleWhileRevalidate } from './stale-while-revalidate.js';
export { CacheOnly } from './cache-only.js';
export { NetworkOnly } from './network-only.js';
export { STRATEGIES } from './routes.js';
export { expirationPlugin } from './expiration.js';
export { invalidationPlugin, applyInvalidation, parseSelector } from './invalidation.js';
export { handleMessage } from './messages.js';
export { responseTags, META_CACHE } from './entry-index.js';
export { MEMORY_DEFAULTS } from './memory-tier.js';
export { initCacheWasm } from '../wasm.js';
