// Page side: hands every hub update a SyncClient applied to the service worker, so its Cache
// Storage follows the hub like every other layer. See cache-wasm/sw's invalidation.js for how
// an update maps onto the worker's entries.

/** The INVALIDATE message for a hub update (`type` 'invalidate' | 'reset', `data` its JSON). */
export function hubUpdateToMessage(type, data) {
  const update = typeof data === 'string' ? JSON.parse(data) : data;
  const namespace = typeof update?.ns === 'string' ? update.ns : undefined;
  if (type === 'reset') return { type: 'INVALIDATE', reset: true, namespace };
  if (type !== 'invalidate') return undefined;
  return {
    type: 'INVALIDATE',
    namespace,
    tags: [...(update.keys ?? []), ...(update.tags ?? [])],
    tagPatterns: update.patterns ?? [],
  };
}

/**
 * An `onEvent(type, data)` for `connectSync` that posts each hub invalidation and reset to the
 * active service worker as an INVALIDATE message. Resolves to the worker's reply (or
 * undefined when no worker is active). Options: `container` (default
 * `navigator.serviceWorker`), `timeoutMs` for the reply (default 10 000).
 */
export function forwardToServiceWorker({ container = globalThis.navigator?.serviceWorker, timeoutMs = 10_000 } = {}) {
  return async (type, data) => {
    let message;
    try {
      message = hubUpdateToMessage(type, data);
    } catch {
      return undefined; // SyncClient already rejected malformed updates; nothing to forward
    }
    const worker = container?.controller ?? (await container?.getRegistration?.())?.active;
    if (!message || !worker) return undefined;
    return postAndWait(worker, message, timeoutMs);
  };
}

/** Posts `message` to `worker` with a reply port; resolves to the reply (or a timeout error reply). */
export function postAndWait(worker, message, timeoutMs = 10_000, onProgress) {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    const timer = setTimeout(() => {
      port1.close();
      resolve({ type: message.type, ok: false, error: { name: 'CacheError', code: 'Timeout', message: `no reply within ${timeoutMs} ms` } });
    }, timeoutMs);
    port1.onmessage = (e) => {
      if (e.data?.type === 'PROGRESS') return onProgress?.(e.data);
      clearTimeout(timer);
      port1.close();
      resolve(e.data);
    };
    worker.postMessage(message, [port2]);
  });
}
