// SyncClient: keeps a set of caches coherent with the hub.
//
// One EventSource per browser: the tabs of an origin elect a leader with the Web Locks API;
// the leader holds the stream and relays every event to the other tabs over a
// BroadcastChannel. The last applied event id and the last time the stream was known to be
// live are kept in localStorage, so a new leader (or a reload) resumes where the old one
// stopped, and a client that cannot prove continuity drops its caches before serving again.
// Messages are validated and applied by the caches themselves (in wasm).
import { cacheError } from './errors.js';

/** Defaults of `connectSync` options, written once. */
export const SYNC_DEFAULTS = Object.freeze({
  hub: '/.well-known/mercure',
  withCredentials: false,
  stalenessMs: 30_000,
  minBackoffMs: 500,
  maxBackoffMs: 30_000,
  name: 'cache-wasm-sync',
});

const STATUS = ['connecting', 'live', 'degraded', 'offline'];

/** The reset every cache applies when continuity is lost. */
export const CONTINUITY_RESET = '{"v":1,"reason":"continuity"}';

/** Delay before reconnect attempt `attempt` (0-based): exponential, capped, with 50 % jitter. */
export function backoffDelay(attempt, minMs, maxMs, random = Math.random) {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.5 + random() / 2));
}

/** Starts following the hub; see `SyncClient`. */
export function connectSync(options) {
  return new SyncClient(options);
}

// FNV-1a of `text`, as 8 hex digits: a short, stable name for a set of topics.
function shortHash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Follows the hub's `invalidate` and `reset` updates for `caches`. Emits `status` events
 * (`event.detail` is the new status) and `logout`. `status` is `connecting` (no stream yet),
 * `live`, `degraded` (stream down for less than `stalenessMs`: caches still serve) or
 * `offline` (down longer, closed, or logged out: the caches were dropped).
 */
export class SyncClient extends EventTarget {
  #o;
  #caches = new Set();
  #topics;
  #derivedTopics;
  #scope;
  #stateKey;
  #status = 'connecting';
  #channel = null;
  #logoutChannel = null;
  #followedLeader = false; // another tab's stream fed this one
  #source = null;
  #leader = false;
  #releaseLock = null;
  #closed = false;
  #attempt = 0;
  #retryTimer = null;
  #staleTimer = null;
  #aliveTimer = null;
  #downSince = null;
  #lastHeard = 0;
  #heartbeatMs = 0;
  #watchdog = null;
  #counters = { eventsApplied: 0, resets: 0, rejected: 0, reconnects: 0, lastEventId: null, lastEventAt: null };

  constructor(options = {}) {
    super();
    this.#o = { ...SYNC_DEFAULTS, ...options };
    for (const cache of options.caches ?? []) this.#caches.add(cache);
    this.#derivedTopics = options.topics === undefined;
    this.#topics = options.topics ?? [...new Set([...this.#caches].map(topicOf))];
    // Tabs share a connection only when they follow the same topics: a leader's stream
    // carries its own topics, so a tab following others would miss their updates.
    this.#scope = `${this.#o.name}:${shortHash([...this.#topics].sort().join('\n'))}`;
    this.#stateKey = `cw::sync:${this.#scope}`;
    // The channel opens before the state is read: an event the leader applies from here on
    // reaches this tab, whatever the state said.
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(this.#scope);
      this.#channel.onmessage = (e) => this.#onRelay(e.data);
      this.#channel.postMessage({ kind: 'hello' });
      // Logout reaches every tab of the app, whatever topics it follows.
      this.#logoutChannel = new BroadcastChannel(`${this.#o.name}:logout`);
      this.#logoutChannel.onmessage = (e) => this.#onRelay(e.data);
    }
    // A reload, or the first leader after a while, cannot vouch for what Web Storage holds.
    // Nor can it without a cursor (a stream that never got an event id): nothing would replay
    // what was published while no stream ran.
    const state = this.#readState();
    if (!state?.cursor || Date.now() - state.liveAt > this.#o.stalenessMs) {
      this.#applyLocally('reset', CONTINUITY_RESET);
    } else if (this.#followsSession() && this.#readTabCursor() !== state.cursor) {
      // sessionStorage belongs to this tab alone, and nothing applied events to it while the
      // tab was away (a reload, a navigation): unless it saw the browser's last event, it goes.
      this.#applyLocally('reset', CONTINUITY_RESET, null, isSessionCache);
    }
    if (state?.cursor) this.#writeTabCursor(state.cursor);
    if (globalThis.navigator?.locks) {
      navigator.locks.request(`${this.#scope}:leader`, () => new Promise((release) => {
        this.#releaseLock = release;
        this.#becomeLeader();
      }));
    } else {
      this.#becomeLeader(); // no Web Locks: every tab holds its own connection
    }
  }

  /** `connecting`, `live`, `degraded` or `offline`. */
  get status() {
    return this.#status;
  }

  /** Whether this tab holds the browser's one connection. */
  get leader() {
    return this.#leader;
  }

  /** Counters: eventsApplied, resets, rejected, reconnects, lastEventId, lastEventAt, downMs. */
  stats() {
    const downMs = this.#downSince === null ? 0 : Date.now() - this.#downSince;
    return { ...this.#counters, status: this.#status, leader: this.#leader, downMs };
  }

  /**
   * Follows one more cache (its namespace's topic must be among `topics`). No event reached it
   * before, so what it holds cannot be vouched for: it starts empty.
   */
  addCache(cache) {
    if (this.#caches.has(cache)) return;
    // With topics derived from the caches, the stream cannot carry another namespace's
    // updates: following it anyway would serve what the hub has invalidated.
    if (this.#derivedTopics && !this.#topics.includes(topicOf(cache))) {
      throw cacheError('InvalidOption', `namespace '${cache.namespace}' is not among this client's topics; connect a client with its cache (or pass topics)`);
    }
    this.#caches.add(cache);
    cache.applyReset(CONTINUITY_RESET);
  }

  /** Stops following `cache` (a closed cache is dropped on its own). */
  removeCache(cache) {
    this.#caches.delete(cache);
  }

  /**
   * Wipes the user's namespaces (default: every followed cache) in every storage and every
   * tab, then closes the stream everywhere.
   */
  logout({ namespaces } = {}) {
    const names = namespaces ?? [...this.#caches].map((c) => c.namespace);
    this.#logoutChannel?.postMessage({ kind: 'logout', namespaces: names });
    // The service worker keeps its own copies: it drops the namespaces too.
    for (const ns of names) this.#o.onEvent?.('reset', JSON.stringify({ v: 1, ns, reason: 'logout' }));
    this.#logoutHere(names);
  }

  /** Stops following the hub in this tab; another tab takes the connection over. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopStream();
    if (typeof removeEventListener === 'function') {
      removeEventListener('offline', this.#onOffline);
      removeEventListener('online', this.#onOnline);
    }
    clearTimeout(this.#staleTimer);
    this.#channel?.close();
    this.#channel = null;
    this.#logoutChannel?.close();
    this.#logoutChannel = null;
    this.#releaseLock?.();
    this.#setStatus('offline');
  }

  #logoutHere(names) {
    for (const cache of [...this.#caches]) {
      if (!names.includes(cache.namespace)) continue;
      try {
        cache.clear();
      } catch (err) {
        // A closed cache holds nothing any more; any other failure must not stop the wipe of
        // the caches after it, nor the close.
        if (err?.code === 'Closed') this.#caches.delete(cache);
        else console.warn('cache-wasm: logout could not clear a cache', err);
      }
    }
    for (const storage of ['localStorage', 'sessionStorage']) {
      try {
        globalThis[storage]?.removeItem(this.#stateKey);
      } catch {
        // Storage blocked: it holds no state of ours either.
      }
    }
    this.close();
    this.dispatchEvent(new CustomEvent('logout', { detail: names }));
  }

  #becomeLeader() {
    if (this.#closed) return this.#releaseLock?.();
    this.#leader = true;
    // A hand-over from a leader whose stream never got an event id: nothing replays what was
    // published since that stream ended. (A tab that followed no leader reset at its start.)
    if (this.#followedLeader && !this.#readState()?.cursor) this.#relay('reset', CONTINUITY_RESET, null);
    // The staleness bound runs from when the hub was last heard, by this tab or by the leader
    // before it: until this tab's stream is live, it counts down from there. Past the bound,
    // the caches have been dropped every bound since (by the page's start or by the leader
    // before), and the countdown keeps that rhythm.
    const liveAt = this.#readState()?.liveAt ?? 0;
    const now = Date.now();
    this.#lastHeard = liveAt > 0 && liveAt <= now ? now - ((now - liveAt) % this.#o.stalenessMs) : 0;
    this.#markDown();
    // An open stream may not notice that the network went away (a half-open connection stays
    // silent), so the browser's own verdict counts: offline means down.
    if (typeof addEventListener === 'function') {
      addEventListener('offline', this.#onOffline);
      addEventListener('online', this.#onOnline);
    }
    this.#connect();
  }

  #onOffline = () => {
    if (this.#closed || !this.#source) return;
    this.#stopStream();
    this.#markDown();
  };

  #onOnline = () => {
    if (this.#closed || this.#source) return;
    this.#attempt = 0;
    clearTimeout(this.#retryTimer);
    this.#connect();
  };

  #url() {
    const url = new URL(this.#o.hub, globalThis.location?.href);
    for (const topic of this.#topics) url.searchParams.append('match', topic);
    // Heartbeats as events: EventSource never surfaces comments, and a half-open connection
    // is silent, so only a heartbeat the page can see tells a quiet stream from a dead one.
    url.searchParams.set('heartbeat', 'event');
    const cursor = this.#readState()?.cursor;
    if (cursor) url.searchParams.set('last_event_id', cursor);
    return url;
  }

  async #connect() {
    if (this.#closed) return;
    // Without a cursor, learn where the log stands before streaming, so that whoever holds
    // the connection next resumes from there instead of missing what came in between. (What
    // the caches take in during that one request is not covered: see the README.)
    if (!this.#readState()?.cursor) await this.#learnHead();
    // Another start (the browser's `online` event, say) may have opened the stream meanwhile.
    if (this.#closed || this.#source) return;
    const url = this.#url();
    const source = new EventSource(url, { withCredentials: this.#o.withCredentials });
    this.#source = source;
    source.onopen = () => {
      // No cursor (the head could not be learned): this stream, or the browser's own
      // reconnection of it, starts now, and nothing the caches took in before can be vouched
      // for, however long the hub was unreachable.
      if (!this.#readState()?.cursor) this.#relay('reset', CONTINUITY_RESET, null);
      this.#heard();
      this.#attempt = 0;
      this.#downSince = null;
      clearTimeout(this.#staleTimer);
      this.#setStatus('live');
      this.#touchLive();
      clearInterval(this.#aliveTimer);
      this.#aliveTimer = setInterval(() => this.#touchLive(), Math.max(1000, this.#o.stalenessMs / 3));
    };
    for (const type of ['invalidate', 'reset', 'message']) {
      source.addEventListener(type, (e) => {
        this.#heard();
        this.#receive(type, e.data, e.lastEventId);
      });
    }
    source.addEventListener('heartbeat', (e) => {
      this.#heard();
      const interval = Number(safeJson(e.data)?.interval_ms);
      if (interval > 0 && interval !== this.#heartbeatMs) this.#watch(interval);
    });
    source.onerror = () => {
      this.#markDown();
      // A non-200 answer or a wrong content type ends an EventSource for good: make a new one.
      if (source.readyState === EventSource.CLOSED) {
        this.#stopStream();
        this.#scheduleReconnect(url);
      }
    };
  }

  #stopStream() {
    this.#source?.close();
    this.#source = null;
    clearInterval(this.#aliveTimer);
    clearTimeout(this.#watchdog);
    this.#watchdog = null;
    this.#heartbeatMs = 0;
    clearTimeout(this.#retryTimer);
  }

  #heard() {
    this.#lastHeard = Date.now();
  }

  #watch(intervalMs) {
    this.#heartbeatMs = intervalMs;
    this.#armWatchdog();
  }

  // Two and a half heartbeats of silence, or the staleness bound if that is shorter: the
  // connection is dead even if the socket says otherwise, and nothing heard since can vouch
  // for the caches. Drop it (the countdown to a reset runs from the last thing heard) and
  // reconnect. The timer is not moved on each event: when it fires it waits on if something
  // was heard meanwhile.
  #armWatchdog() {
    clearTimeout(this.#watchdog);
    const silenceMs = Math.min(this.#heartbeatMs * 2.5, this.#o.stalenessMs);
    const check = () => {
      if (!this.#source) return;
      const left = this.#lastHeard + silenceMs - Date.now();
      if (left > 0) {
        this.#watchdog = setTimeout(check, left);
        return;
      }
      const url = this.#url();
      this.#stopStream();
      this.#markDown();
      this.#scheduleReconnect(url);
    };
    this.#watchdog = setTimeout(check, Math.max(0, this.#lastHeard + silenceMs - Date.now()));
  }

  async #scheduleReconnect(url) {
    const delay = backoffDelay(this.#attempt++, this.#o.minBackoffMs, this.#o.maxBackoffMs);
    this.#counters.reconnects++;
    if (await this.#unauthorized(url)) {
      // Never fall back to an anonymous stream: ask the app for a fresh token, or wait.
      const token = await this.#o.getToken?.().catch(() => undefined);
      if (token) setAuthorizationCookie(url, token);
      this.dispatchEvent(new CustomEvent('unauthorized'));
    }
    if (!this.#closed) this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  // EventSource hides the status and headers of an answer; a plain request shows them. It is
  // aborted as soon as the headers are in.
  async #peek(url) {
    const controller = new AbortController();
    try {
      const response = await fetch(url, {
        credentials: this.#o.withCredentials ? 'include' : 'same-origin',
        headers: { accept: 'text/event-stream' },
        signal: controller.signal,
      });
      return { status: response.status, head: response.headers.get('mercure-last-event-id') };
    } catch {
      return { status: 0, head: null };
    } finally {
      controller.abort();
    }
  }

  async #unauthorized(url) {
    const { status } = await this.#peek(url);
    return status === 401 || status === 403;
  }

  async #learnHead() {
    const { status, head } = await this.#peek(this.#url());
    if (status === 200 && head && head !== 'earliest') {
      this.#writeState({ cursor: head, liveAt: this.#readState()?.liveAt ?? 0 });
      this.#writeTabCursor(head); // this tab's sessionStorage caches start from here too
    }
  }

  #markDown() {
    if (this.#downSince !== null) return;
    // Down since the hub was last heard from, not since this was noticed.
    this.#downSince = this.#lastHeard || Date.now();
    clearInterval(this.#aliveTimer);
    this.#setStatus(this.#status === 'live' ? 'degraded' : this.#status);
    clearTimeout(this.#staleTimer);
    // Down longer than the bound: nothing cached can be vouched for any more. While it stays
    // down, what the caches take in meanwhile is dropped every bound as well, so nothing they
    // serve is older than the bound until the stream is back.
    const expire = () => {
      this.#relay('reset', CONTINUITY_RESET, null);
      this.#setStatus('offline');
      this.#staleTimer = setTimeout(expire, this.#o.stalenessMs);
    };
    this.#staleTimer = setTimeout(expire, Math.max(0, this.#downSince + this.#o.stalenessMs - Date.now()));
  }

  #receive(type, data, id) {
    this.#relay(type, data, id);
    if (id) this.#writeState({ cursor: id, liveAt: Date.now() });
  }

  // Applies an event here and sends it to the other tabs.
  #relay(type, data, id) {
    this.#applyLocally(type, data, id);
    this.#channel?.postMessage({ kind: 'event', type, data, id });
  }

  // Applies an event to this tab's caches, or to those `only` selects (then it concerns this
  // tab alone, and is not handed to `onEvent`, which reaches the service worker).
  #applyLocally(type, data, id, only) {
    if (id) {
      this.#counters.lastEventId = id;
      this.#writeTabCursor(id);
    }
    this.#counters.lastEventAt = Date.now();
    if (type === 'message') return;
    let malformed = false;
    for (const cache of [...this.#caches]) {
      if (only && !only(cache)) continue;
      try {
        if (type === 'invalidate') cache.applyInvalidation(data);
        else if (type === 'reset') cache.applyReset(data);
      } catch (err) {
        // A closed cache follows nothing any more; the others still get the update.
        if (err?.code === 'Closed') this.#caches.delete(cache);
        else malformed = true;
      }
    }
    if (malformed) {
      // A malformed update is dropped (and counted); it never breaks the stream.
      this.#counters.rejected++;
      return;
    }
    if (type === 'invalidate') this.#counters.eventsApplied++;
    if (type === 'reset') this.#counters.resets++;
    if (!only) this.#o.onEvent?.(type, data);
  }

  #onRelay(message) {
    if (this.#closed || typeof message !== 'object' || message === null) return;
    if (!this.#leader && (message.kind === 'event' || message.kind === 'status')) this.#followedLeader = true;
    switch (message.kind) {
      case 'event':
        // Applied even by a leader: one that took over may hear its predecessor's last
        // relays after it won the lock, and updates are idempotent.
        this.#applyLocally(message.type, message.data, message.id);
        break;
      case 'status':
        if (this.#leader) break;
        if (STATUS.includes(message.status)) this.#setStatus(message.status, false);
        // The leader's answer to `hello` names the last event it applied. One sent before this
        // tab listened never reached its sessionStorage caches (the shared state read at start
        // may not have shown it yet).
        if ('cursor' in message && this.#followsSession() && message.cursor !== this.#readTabCursor()) {
          this.#applyLocally('reset', CONTINUITY_RESET, null, isSessionCache);
          if (typeof message.cursor === 'string') this.#writeTabCursor(message.cursor);
        }
        break;
      case 'hello': {
        if (!this.#leader) break;
        const cursor = this.#counters.lastEventId ?? this.#readState()?.cursor ?? null;
        this.#channel?.postMessage({ kind: 'status', status: this.#status, cursor });
        break;
      }
      case 'logout':
        if (Array.isArray(message.namespaces)) this.#logoutHere(message.namespaces);
        break;
    }
  }

  #setStatus(status, broadcast = true) {
    if (status === this.#status) return;
    this.#status = status;
    if (broadcast && this.#leader) this.#channel?.postMessage({ kind: 'status', status });
    this.dispatchEvent(new CustomEvent('status', { detail: status }));
  }

  // Records when the hub was last heard from (not merely when the stream looked open), so
  // a tab that starts or takes over later counts the staleness bound from there.
  #touchLive() {
    const state = this.#readState();
    this.#writeState({ cursor: state?.cursor ?? null, liveAt: this.#lastHeard || Date.now() });
  }

  #followsSession() {
    for (const cache of this.#caches) if (isSessionCache(cache)) return true;
    return false;
  }

  // The last event this tab's sessionStorage caches have applied, kept beside them.
  #readTabCursor() {
    try {
      return globalThis.sessionStorage?.getItem(this.#stateKey) ?? null;
    } catch {
      return null;
    }
  }

  #writeTabCursor(id) {
    if (!this.#followsSession()) return;
    try {
      globalThis.sessionStorage?.setItem(this.#stateKey, id);
    } catch {
      // Without it a reload drops this tab's sessionStorage caches: safe, only slower.
    }
  }

  #readState() {
    try {
      const state = JSON.parse(localStorage.getItem(this.#stateKey));
      return typeof state?.liveAt === 'number' ? state : null;
    } catch {
      return null;
    }
  }

  #writeState(state) {
    try {
      localStorage.setItem(this.#stateKey, JSON.stringify(state));
    } catch {
      // Without a persisted cursor a reload resets the caches: safe, only slower.
    }
  }
}

function topicOf(cache) {
  return `/cache/${cache.namespace}`;
}

function isSessionCache(cache) {
  return cache.storage === 'session';
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// EventSource cannot send headers; the hub also reads the token from this cookie. It reaches
// a hub on the page's own site only; a hub elsewhere needs the cookie set by the app's server.
function setAuthorizationCookie(url, token) {
  const secure = url.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `mercureAuthorization=${encodeURIComponent(token)}; Path=${url.pathname}; SameSite=Strict${secure}`;
}
