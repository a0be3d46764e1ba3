// The base of every strategy: options with their defaults, validated once, and `handle`, which
// runs the strategy's `_handle(request, handler)` with a fresh StrategyHandler.
import { StrategyHandler } from './strategy-handler.js';
import { invalidationPlugin } from './invalidation.js';
import { swError } from './errors.js';

/** Defaults of every strategy's options. */
export const STRATEGY_DEFAULTS = Object.freeze({
  cacheName: 'cache-wasm-runtime',
  statuses: Object.freeze([200]),
  allowOpaque: false,
  networkTimeoutMs: undefined,
  freshForSeconds: 0,
});

export class Strategy {
  /**
   * Options: `cacheName` (default 'cache-wasm-runtime'), `plugins` (default: the invalidation
   * plugin only), `statuses` cached (default [200]), `allowOpaque` (default false),
   * `fetchOptions` (passed to fetch).
   */
  constructor(options = {}) {
    const o = { ...STRATEGY_DEFAULTS, ...options };
    if (typeof o.cacheName !== 'string' || o.cacheName === '') throw swError('InvalidOption', 'cacheName must be a non-empty string');
    if (!Array.isArray(o.statuses) || !o.statuses.every((s) => Number.isInteger(s) && s >= 200 && s < 600)) {
      throw swError('InvalidOption', 'statuses must be an array of HTTP status codes');
    }
    this.cacheName = o.cacheName;
    this.statuses = [...o.statuses];
    this.allowOpaque = o.allowOpaque === true;
    this.fetchOptions = o.fetchOptions;
    this.plugins = [invalidationPlugin, ...(o.plugins ?? []).filter((p) => p !== invalidationPlugin)];
    this.options = o;
  }

  /** Answers `request` (a Request or URL) for `event` (optional); resolves to a Response. */
  async handle({ request, event }) {
    if (!(request instanceof Request)) request = new Request(request);
    const handler = new StrategyHandler(this, { request, event });
    return this._handle(request, handler);
  }
}
