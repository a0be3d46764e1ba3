// Network only: the network's response, never cached (optionally with `networkTimeoutMs`).
import { Strategy } from './strategy.js';

export class NetworkOnly extends Strategy {
  async _handle(request, handler) {
    return handler.fetch(request, this.options.networkTimeoutMs);
  }
}
