// Network first: the network's response (stored), else, on a network error or after
// `networkTimeoutMs`, the cached one.
import { Strategy } from './strategy.js';
import { swError } from './errors.js';

export class NetworkFirst extends Strategy {
  /** Adds `networkTimeoutMs` (default: none; wait for the network). */
  constructor(options = {}) {
    super(options);
    const t = options.networkTimeoutMs;
    if (t !== undefined && !(typeof t === 'number' && t > 0)) throw swError('InvalidOption', `networkTimeoutMs must be a positive number, got ${t}`);
    this.networkTimeoutMs = t;
  }

  async _handle(request, handler) {
    const network = handler.fetchAndCachePut(request);
    // Keeps the worker alive until a late response is stored; a late failure is expected.
    handler.waitUntil(network);
    let timer;
    const timedOut = new Promise((resolve) => {
      if (this.networkTimeoutMs) timer = setTimeout(() => resolve('timeout'), this.networkTimeoutMs);
    });
    try {
      const first = await Promise.race([network, timedOut]);
      if (first !== 'timeout') return first;
      // Slow network: the cache answers if it can; otherwise keep waiting for the network.
      const hit = await handler.cacheMatch(request);
      return hit ? hit.response : await network;
    } catch (err) {
      const hit = await handler.cacheMatch(request);
      if (hit) return hit.response;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
