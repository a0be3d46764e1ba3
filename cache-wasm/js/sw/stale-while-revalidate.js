// Stale while revalidate: the cached response at once; a stale one is refreshed from the
// network in the background. Entries are fresh for their own Cache-Control/Expires lifetime,
// else for `freshForSeconds` after being stored; fresh entries cause no background fetch.
import { Strategy } from './strategy.js';
import { swError } from './errors.js';

export class StaleWhileRevalidate extends Strategy {
  /** Adds `freshForSeconds` (default 0: every hit revalidates unless the response says otherwise). */
  constructor(options = {}) {
    super(options);
    const f = options.freshForSeconds ?? 0;
    if (!(typeof f === 'number' && f >= 0)) throw swError('InvalidOption', `freshForSeconds must be a number >= 0, got ${f}`);
    this.freshForMs = f * 1000;
  }

  async _handle(request, handler) {
    const hit = await handler.cacheMatch(request);
    if (!hit) return handler.fetchAndCachePut(request);
    if (!handler.isFresh(hit.meta, this.freshForMs)) handler.waitUntil(handler.fetchAndCachePut(request));
    return hit.response;
  }
}
