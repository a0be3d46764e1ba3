// Cache only: a usable cached response, or an error (`NoResponse`); never the network.
import { Strategy } from './strategy.js';
import { swError } from './errors.js';

export class CacheOnly extends Strategy {
  async _handle(request, handler) {
    const hit = await handler.cacheMatch(request);
    if (hit && handler.isFresh(hit.meta)) return hit.response;
    throw swError('NoResponse', `no cached response for ${request.url}`);
  }
}
