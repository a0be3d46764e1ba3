// Cache first: a usable cached response, else the network (and store its response).
import { Strategy } from './strategy.js';
import { swError } from './errors.js';

export class CacheFirst extends Strategy {
  constructor(options) {
    super(options);
    // An opaque response may be an error page we cannot see: serving it forever is unsafe.
    if (this.allowOpaque) throw swError('InvalidOption', 'cacheFirst never caches opaque responses');
  }

  async _handle(request, handler) {
    const hit = await handler.cacheMatch(request);
    if (hit && handler.isFresh(hit.meta)) return hit.response;
    return handler.fetchAndCachePut(request);
  }
}
