// Hot entries of one cache kept in the worker's memory, so a repeated hit skips Cache Storage
// (which costs a disk or IPC round trip per match). Only small, non-opaque responses without
// `Vary` are kept; the copy is dropped with the entry (delete, invalidation, eviction), and the
// whole tier goes with the worker. Cache Storage stays the source of truth.

/** Defaults of the hot tier, per cache: 64 entries of at most 256 KiB each. */
export const MEMORY_DEFAULTS = Object.freeze({ memoryEntries: 64, memoryMaxBytes: 256 * 1024 });

export class MemoryTier {
  #entries = new Map();

  constructor({ memoryEntries = MEMORY_DEFAULTS.memoryEntries, memoryMaxBytes = MEMORY_DEFAULTS.memoryMaxBytes } = {}) {
    this.maxEntries = memoryEntries;
    this.maxBytes = memoryMaxBytes;
  }

  /** A fresh Response for `url`, or undefined. */
  get(url) {
    const hot = this.#entries.get(url);
    if (!hot) return undefined;
    this.#entries.delete(url);
    this.#entries.set(url, hot);
    // The constructor copies the bytes, so the kept buffer is never handed out.
    return new Response(hot.body, hot.init);
  }

  /** Keeps a copy of `response` (read from a clone) when it qualifies and `isCurrent()` still holds. */
  async set(url, response, isCurrent = () => true) {
    if (this.maxEntries <= 0 || response.type === 'opaque' || response.headers.has('vary')) return;
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > this.maxBytes) return;
    const init = { status: response.status, statusText: response.statusText, headers: [...response.headers] };
    const body = await response.clone().arrayBuffer();
    // The entry may have been invalidated while its body was read.
    if (body.byteLength > this.maxBytes || !isCurrent()) return;
    this.#entries.delete(url);
    this.#entries.set(url, { body, init });
    while (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value);
  }

  delete(url) {
    this.#entries.delete(url);
  }

  clear() {
    this.#entries.clear();
  }
}
