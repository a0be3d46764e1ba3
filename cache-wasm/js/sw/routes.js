// Route validation: a route table entry into `{ test, strategy, cacheName }`, with clear errors
// (`InvalidRoute`) for anything the table gets wrong. Globs need the wasm module, so matchers
// are compiled by `compileMatcher` once it is loaded.
import { globToRegExp } from '../glob.js';
import { swError } from './errors.js';
import { CacheFirst } from './cache-first.js';
import { NetworkFirst } from './network-first.js';
import { StaleWhileRevalidate } from './stale-while-revalidate.js';
import { CacheOnly } from './cache-only.js';
import { NetworkOnly } from './network-only.js';
import { expirationPlugin } from './expiration.js';

/** The strategies a route may name. */
export const STRATEGIES = Object.freeze({
  cacheFirst: CacheFirst,
  networkFirst: NetworkFirst,
  staleWhileRevalidate: StaleWhileRevalidate,
  cacheOnly: CacheOnly,
  networkOnly: NetworkOnly,
});

const KEYS = new Set(['match', 'strategy', 'cacheName', 'maxEntries', 'maxAgeSeconds', 'networkTimeoutMs', 'freshForSeconds', 'statuses', 'allowOpaque', 'namespace', 'plugins', 'fetchOptions']);

/**
 * Validates route `i` and builds its strategy. `cacheName` (default 'runtime') is the short
 * name; the strategy gets the versioned Cache Storage name from `fullName(short)`.
 */
export function buildRoute(route, i, fullName) {
  const where = `route ${i}`;
  if (!route || typeof route !== 'object') throw swError('InvalidRoute', `${where} must be an object`);
  for (const key of Object.keys(route)) if (!KEYS.has(key)) throw swError('InvalidRoute', `${where}: unknown option ${key}`);
  const { match, strategy } = route;
  if (!(match instanceof RegExp) && !(typeof match === 'string' && match !== '')) {
    throw swError('InvalidRoute', `${where}: match must be a glob string or a RegExp`);
  }
  const Strategy = Object.hasOwn(STRATEGIES, strategy) ? STRATEGIES[strategy] : undefined;
  if (!Strategy) throw swError('InvalidRoute', `${where}: strategy must be one of ${Object.keys(STRATEGIES).join(', ')}`);
  const short = route.cacheName ?? 'runtime';
  if (typeof short !== 'string' || !/^[\w.-]{1,64}$/.test(short)) throw swError('InvalidRoute', `${where}: cacheName must be 1-64 of A-Z a-z 0-9 _ . -`);
  if (route.namespace !== undefined && (typeof route.namespace !== 'string' || route.namespace === '')) {
    throw swError('InvalidRoute', `${where}: namespace must be a non-empty string`);
  }
  try {
    const plugins = [...(route.plugins ?? [])];
    if (route.maxEntries !== undefined || route.maxAgeSeconds !== undefined) {
      plugins.push(expirationPlugin({ maxEntries: route.maxEntries, maxAgeSeconds: route.maxAgeSeconds }));
    }
    const instance = new Strategy({ ...route, cacheName: fullName(short), plugins });
    return { match, strategy: instance, strategyName: strategy, cacheName: short, namespace: route.namespace, expiration: [route.maxEntries, route.maxAgeSeconds] };
  } catch (err) {
    throw swError('InvalidRoute', `${where}: ${err.message.replace(/^cache-wasm\/sw: /, '')}`);
  }
}

/** A `(url: URL) => boolean` for `match`: a glob with a leading `/` matches same-origin paths,
 * another glob the full URL; a RegExp is tested against the full URL. Needs the wasm module. */
export function compileMatcher(match) {
  if (match instanceof RegExp) return (url) => match.test(url.href);
  let re;
  try {
    re = globToRegExp(match);
  } catch (err) {
    throw swError('InvalidRoute', `bad glob ${JSON.stringify(match)}: ${err.message}`);
  }
  if (!match.startsWith('/')) return (url) => re.test(url.href);
  return (url) => url.origin === self.location.origin && re.test(url.pathname);
}
