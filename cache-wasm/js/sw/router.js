// The router: a route table validated up front, fetch events answered by the first matching
// route's strategy, versioned cache names, and the deletion of other versions' caches.
import { initCacheWasm } from '../wasm.js';
import { buildRoute, compileMatcher } from './routes.js';
import { configureStore, openStore, dropStore } from './stores.js';
import { handleMessage } from './messages.js';
import { setClock } from './clock.js';
import { swError } from './errors.js';
import { MEMORY_DEFAULTS } from './memory-tier.js';

/** Defaults of `registerRoutes` options. */
export const ROUTER_DEFAULTS = Object.freeze({
  prefix: 'cache-wasm',
  version: 1,
  listen: true,
  ...MEMORY_DEFAULTS,
});

export class Router {
  #routes;
  #compiled = null;

  /** See `registerRoutes`. Throws `InvalidRoute`/`InvalidOption` on a bad table. */
  constructor(routes, options = {}) {
    // An option given as undefined takes its default (sw.js passes its config's fields through).
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    const o = { ...ROUTER_DEFAULTS, ...given };
    if (!Array.isArray(routes)) throw swError('InvalidRoute', 'routes must be an array');
    if (!/^[\w.-]{1,64}$/.test(o.prefix)) throw swError('InvalidOption', 'prefix must be 1-64 of A-Z a-z 0-9 _ . -');
    if (!/^[\w.-]{1,32}$/.test(String(o.version))) throw swError('InvalidOption', 'version must be 1-32 of A-Z a-z 0-9 _ . -');
    if (o.clock !== undefined) setClock(o.clock);
    this.prefix = o.prefix;
    this.version = String(o.version);
    this.#routes = routes.map((route, i) => buildRoute(route, i, (short) => this.fullName(short)));
    /** short cache name -> full Cache Storage name */
    this.caches = new Map();
    const seen = new Map();
    for (const route of this.#routes) {
      const previous = seen.get(route.cacheName);
      if (previous && (previous.namespace !== route.namespace || String(previous.expiration) !== String(route.expiration))) {
        throw swError('InvalidRoute', `routes sharing cache ${route.cacheName} must agree on namespace, maxEntries and maxAgeSeconds`);
      }
      seen.set(route.cacheName, route);
      this.caches.set(route.cacheName, this.fullName(route.cacheName));
      configureStore(this.fullName(route.cacheName), { namespace: route.namespace, memoryEntries: o.memoryEntries, memoryMaxBytes: o.memoryMaxBytes });
    }
    /** Resolves once the wasm module is loaded, globs compiled and every cache indexed. */
    this.ready = this.#start();
    this.ready.catch(() => {}); // reported to whoever awaits it (sw.js fails its install)
  }

  /** The Cache Storage name of short cache name `short`: `<prefix>-v<version>-<short>`. */
  fullName(short) {
    return `${this.prefix}-v${this.version}-${short}`;
  }

  async #start() {
    await initCacheWasm();
    const compiled = this.#routes.map((route) => ({ ...route, test: compileMatcher(route.match) }));
    await Promise.all([...this.caches.values()].map(openStore));
    this.#compiled = compiled;
  }

  /** The compiled routes (empty before `ready`). */
  routes() {
    return this.#compiled ?? [];
  }

  /** The first route matching `url` (a string or URL), or undefined; call after `ready`. */
  find(url) {
    const u = new URL(url, self.location.href);
    return this.#compiled?.find((route) => route.test(u));
  }

  /** Answers a fetch event when a route matches (GET only); returns whether it did. */
  handleFetch(event) {
    if (event.request.method !== 'GET') return false;
    if (this.#compiled) {
      const route = this.find(event.request.url);
      if (!route) return false;
      event.respondWith(this.#respond(route, event));
      return true;
    }
    // The worker just started and the wasm module is still loading: wait for it.
    event.respondWith(
      this.ready.then(
        () => {
          const route = this.find(event.request.url);
          return route ? this.#respond(route, event) : fetch(event.request);
        },
        () => fetch(event.request),
      ),
    );
    return true;
  }

  #respond(route, event) {
    return route.strategy.handle({ request: event.request, event }).catch((err) => {
      console.warn(`cache-wasm/sw: ${route.strategyName} failed for ${event.request.url}: ${err?.message ?? err}`);
      return Response.error();
    });
  }

  /** Deletes every cache of ours (`<prefix>-v…`) that is not of this version, with its index. */
  async deleteOldCaches() {
    const current = new Set(this.caches.values());
    const old = (await caches.keys()).filter((name) => name.startsWith(`${this.prefix}-v`) && !current.has(name));
    await Promise.all(old.map(dropStore));
    return old;
  }

  /** Adds the worker's fetch and message listeners. */
  listen() {
    self.addEventListener('fetch', (event) => this.handleFetch(event));
    self.addEventListener('message', (event) => handleMessage(this, event));
    return this;
  }
}

/**
 * Routes fetches by `routes` (`{ match, strategy, cacheName?, maxEntries?, maxAgeSeconds?,
 * networkTimeoutMs?, freshForSeconds?, statuses?, allowOpaque?, namespace? }`, first match
 * wins) and answers page messages. Options: `version` (default 1) and `prefix` (default
 * 'cache-wasm') name the caches `<prefix>-v<version>-<cacheName>`; `clock` (default
 * Date.now); `memoryEntries` (default 64) and `memoryMaxBytes` (default 256 KiB) per cache for
 * the hot tier; `listen` (default true) adds the fetch and message listeners.
 * Call it while the worker script is evaluated. Returns the Router.
 */
export function registerRoutes(routes, options = {}) {
  const router = new Router(routes, options);
  return options.listen === false ? router : router.listen();
}
