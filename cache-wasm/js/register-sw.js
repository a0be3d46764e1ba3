// Page side: registers the service worker and tells the page when a new version is waiting,
// so the app can ask the user, then activate it (SKIP_WAITING) and reload on its own terms.
import { postAndWait } from './forward-sw.js';

/**
 * Registers the module service worker at `url`. Options: `scope` (default: the script's
 * folder), `type` (default 'module'), `updateViaCache` (default 'none'), `onUpdate(waiting)`
 * called when a new version is installed and waiting, `container` (default
 * `navigator.serviceWorker`). Resolves to `{ registration, waiting, checkForUpdate(),
 * activateUpdate(), send(message, onProgress) }`; it is also an EventTarget emitting
 * `update-available` and `controllerchange`.
 */
export async function registerServiceWorker(url, options = {}) {
  const container = options.container ?? navigator.serviceWorker;
  if (!container) throw Object.assign(new Error('cache-wasm: service workers are not available here'), { name: 'CacheError', code: 'Unsupported' });
  const registration = await container.register(url, {
    type: options.type ?? 'module',
    updateViaCache: options.updateViaCache ?? 'none',
    ...(options.scope ? { scope: options.scope } : {}),
  });
  return new ServiceWorkerHandle(container, registration, options.onUpdate);
}

class ServiceWorkerHandle extends EventTarget {
  constructor(container, registration, onUpdate) {
    super();
    this.container = container;
    this.registration = registration;
    const announce = () => {
      // A waiting worker with a controller in place is an update; without one it is the first install.
      if (!registration.waiting || !container.controller) return;
      this.dispatchEvent(new CustomEvent('update-available', { detail: registration.waiting }));
      onUpdate?.(registration.waiting);
    };
    registration.addEventListener('updatefound', () => {
      const installing = registration.installing;
      installing?.addEventListener('statechange', () => installing.state === 'installed' && announce());
    });
    container.addEventListener('controllerchange', () => this.dispatchEvent(new Event('controllerchange')));
    queueMicrotask(announce); // a version already waiting when the page loaded
  }

  /** The installed worker waiting to take over, or null. */
  get waiting() {
    return this.registration.waiting;
  }

  /** Asks the browser to look for a new version of the script now. */
  checkForUpdate() {
    return this.registration.update();
  }

  /**
   * Activates the waiting version; resolves once it is activated (its `activate` work, such as
   * deleting old caches, done) and controls this page. False if no version was waiting.
   */
  async activateUpdate() {
    const waiting = this.registration.waiting;
    if (!waiting) return false;
    // The controller changes as activation starts; the activate handler finishes later.
    const changed = new Promise((resolve) => this.container.addEventListener('controllerchange', resolve, { once: true }));
    const activated = new Promise((resolve) => {
      const check = () => waiting.state === 'activated' && resolve();
      waiting.addEventListener('statechange', check);
      check();
    });
    waiting.postMessage({ type: 'SKIP_WAITING' });
    await Promise.all([changed, activated]);
    return true;
  }

  /** Sends a message to the active worker; resolves to its reply (see the message protocol). */
  async send(message, onProgress, timeoutMs = 30_000) {
    const worker = this.container.controller ?? this.registration.active;
    if (!worker) return { type: message?.type, ok: false, error: { name: 'CacheError', code: 'NoWorker', message: 'no active service worker' } };
    return postAndWait(worker, message, timeoutMs, onProgress);
  }
}
