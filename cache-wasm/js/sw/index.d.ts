// Types of cache-wasm/sw: the service-worker strategies, router, plugins and message protocol.

export type StrategyName = 'cacheFirst' | 'networkFirst' | 'staleWhileRevalidate' | 'cacheOnly' | 'networkOnly';

/** One row of the route table. The first matching route answers a GET. */
export interface Route {
  /** A glob (`/assets/*`: same-origin path; `https://cdn.example/*`: full URL) or a RegExp tested against the full URL. */
  match: string | RegExp;
  strategy: StrategyName;
  /** Short cache name, default 'runtime'; stored as `<prefix>-v<version>-<cacheName>`. */
  cacheName?: string;
  /** Default: no limit. Least recently used evicted first. */
  maxEntries?: number;
  /** Default: no limit. Counted from when the entry was stored. */
  maxAgeSeconds?: number;
  /** networkFirst/networkOnly: answer from the cache (networkFirst) or fail after this long. Default: none. */
  networkTimeoutMs?: number;
  /** staleWhileRevalidate: fresh window when the response states no freshness. Default 0. */
  freshForSeconds?: number;
  /** Statuses stored. Default [200]. */
  statuses?: number[];
  /** Store opaque responses. Default false; refused for cacheFirst. */
  allowOpaque?: boolean;
  /** Hub namespace whose invalidations and resets reach this cache. Default: every namespace. */
  namespace?: string;
  plugins?: Plugin[];
  fetchOptions?: RequestInit;
}

export interface RouterOptions {
  /** Default 1. */
  version?: number | string;
  /** Default 'cache-wasm'. */
  prefix?: string;
  /** Milliseconds clock. Default `Date.now`. */
  clock?: () => number;
  /** Hot memory tier per cache: entries (default 64) and largest body (default 256 KiB). */
  memoryEntries?: number;
  memoryMaxBytes?: number;
  /** Add the fetch and message listeners. Default true. */
  listen?: boolean;
}

export interface EntryMeta {
  storedAt: number;
  usedAt: number;
  /** null when the response states no freshness of its own. */
  freshUntil: number | null;
  tags: string[];
}

/** Optional hooks, in the spirit of Workbox plugins. */
export interface Plugin {
  name?: string;
  cacheWillUpdate?(args: { request: Request; response: Response; handler: StrategyHandler }): Response | null | Promise<Response | null>;
  entryWillBeStored?(args: { request: Request; response: Response; meta: EntryMeta }): void;
  cacheDidUpdate?(args: { store: unknown; url: string; request: Request; handler: StrategyHandler }): void | Promise<void>;
  cachedResponseWillBeUsed?(args: { store: unknown; url: string; meta: EntryMeta; request: Request; cachedResponse: Response; handler: StrategyHandler }): Response | null | Promise<Response | null>;
}

export class StrategyHandler {
  readonly request: Request;
  waitUntil<T>(promise: Promise<T>): Promise<T | void>;
  fetch(request?: Request, timeoutMs?: number): Promise<Response>;
  fetchAndCachePut(request?: Request, timeoutMs?: number): Promise<Response>;
  cacheMatch(request?: Request): Promise<{ response: Response; meta: EntryMeta } | null>;
  cachePut(request: Request, response: Response, times?: { requestTime: number; responseTime: number }): Promise<boolean>;
  isFresh(meta: EntryMeta, windowMs?: number): boolean;
}

export interface StrategyOptions extends Omit<Route, 'match' | 'strategy' | 'maxEntries' | 'maxAgeSeconds' | 'namespace'> {}

export abstract class Strategy {
  constructor(options?: StrategyOptions);
  readonly cacheName: string;
  handle(args: { request: Request | string; event?: ExtendableEvent }): Promise<Response>;
}
export class CacheFirst extends Strategy {}
export class NetworkFirst extends Strategy {}
export class StaleWhileRevalidate extends Strategy {}
export class CacheOnly extends Strategy {}
export class NetworkOnly extends Strategy {}
export const STRATEGIES: Readonly<Record<StrategyName, typeof Strategy>>;
export const STRATEGY_DEFAULTS: Readonly<{ cacheName: string; statuses: readonly number[]; allowOpaque: boolean; freshForSeconds: number }>;
export const ROUTER_DEFAULTS: Readonly<Required<Omit<RouterOptions, 'clock'>>>;

export class Router {
  constructor(routes: Route[], options?: RouterOptions);
  /** Resolves once wasm is loaded, globs compiled and caches indexed. */
  readonly ready: Promise<void>;
  readonly version: string;
  /** short cache name -> Cache Storage name */
  readonly caches: Map<string, string>;
  fullName(short: string): string;
  handleFetch(event: FetchEvent): boolean;
  /** Deletes our caches of other versions; resolves to their names. */
  deleteOldCaches(): Promise<string[]>;
  listen(): this;
}
/** Validates the table (throws `InvalidRoute`), and by default adds fetch and message listeners. */
export function registerRoutes(routes: Route[], options?: RouterOptions): Router;

export function expirationPlugin(options: { maxEntries?: number; maxAgeSeconds?: number }): Plugin;
export const invalidationPlugin: Plugin;

/** The INVALIDATE selector: an entry matching any list is removed. */
export interface InvalidateMessage {
  type: 'INVALIDATE';
  urls?: string[];
  /** URL globs: a leading `/` matches the path, else the full URL. */
  patterns?: string[];
  tags?: string[];
  tagPatterns?: string[];
  /** Only caches of this namespace (and caches without one). */
  namespace?: string;
  /** Clear the selected caches entirely. */
  reset?: boolean;
}
export type SwMessage =
  | { type: 'CLEAR_CACHE'; cacheName?: string }
  | { type: 'CACHE_URLS'; urls: string[]; cacheName?: string }
  | InvalidateMessage
  | { type: 'STATS' }
  | { type: 'SKIP_WAITING' };
export interface SwReply {
  type: string;
  ok: boolean;
  error?: { name: string; code: string; message: string };
  [field: string]: unknown;
}
export function handleMessage(router: Router, event: ExtendableMessageEvent): Promise<void>;
export function applyInvalidation(selector: Required<Omit<InvalidateMessage, 'type' | 'namespace'>> & { namespace?: string }): Promise<{ removed: number }>;
export function parseSelector(message: object): Required<Omit<InvalidateMessage, 'type' | 'namespace'>> & { namespace?: string };
/** The tags of a response, split as the hub does; `undefined` when an entry could not carry them all. */
export function responseTags(response: Response): string[] | undefined;
export const META_CACHE: string;
export const MEMORY_DEFAULTS: Readonly<{ memoryEntries: number; memoryMaxBytes: number }>;
export function initCacheWasm(moduleOrPath?: unknown): Promise<unknown>;
