// A response as the API cache stores it: JSON-able (so Web Storage can hold it), with its body
// as text or base64, its headers less Set-Cookie, and its freshness as absolute instants.

const TEXTUAL = /^(text\/|application\/(json|[^;]*\+json|javascript|xml|[^;]*\+xml|x-www-form-urlencoded))/i;
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// Fields of one connection, not of the response (RFC 9110 §7.6.1): a stored response is
// served again without them, as a forwarding cache would (RFC 9111 §3.1).
const CONNECTION_FIELDS = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/**
 * Response headers worth keeping: everything but Set-Cookie, which never leaves memory, and
 * the connection's own fields (those above and any the Connection header names).
 */
export function keptHeaders(headers) {
  const dropped = new Set(['set-cookie', ...CONNECTION_FIELDS]);
  for (const name of (headers.get('connection') ?? '').split(',')) dropped.add(name.trim().toLowerCase());
  return [...headers].filter(([name]) => !dropped.has(name.toLowerCase()));
}

// Strict UTF-8 that keeps a BOM: a body is stored as text only when encoding that text again
// gives back its very bytes. Latin-1, Shift_JIS or binary bodies (text/* or untyped) are not
// UTF-8, and a lenient decode would replace their bytes with U+FFFD.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8(bytes) {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The stored form of a response whose body is `bytes`, with freshness `policy`. */
export function toStored(response, bytes, policy, url) {
  const text = TEXTUAL.test(response.headers.get('content-type') ?? 'text/plain') ? utf8(bytes) : undefined;
  return {
    u: url,
    s: response.status,
    st: response.statusText,
    h: keptHeaders(response.headers),
    b: text ?? toBase64(bytes),
    enc: text === undefined ? 'base64' : 'text',
    p: freshnessOf(policy),
  };
}

/** The freshness instants of a policy, as stored. */
export function freshnessOf(policy) {
  return { f: policy.freshUntil, r: policy.revalidateUntil, e: policy.onErrorUntil, im: policy.immutable };
}

/** The stored body's size in bytes (what a hit saves from the network). */
export function bodySize(stored) {
  return stored.enc === 'text' ? stored.b.length : Math.floor((stored.b.length * 3) / 4);
}

/**
 * A Response whose `text()` and `json()` answer from the string it was built with.
 *
 * Reading a constructed Response's body goes through its ReadableStream, which costs about
 * three times building the Response. For a stored text body the string is already at hand, so
 * these two methods cancel the (unread, unlocked) stream — which makes the body used, exactly
 * as reading it would — and resolve with the string. Everything else, and every call once the
 * body is used or locked, is the native Response's, so the observable behaviour (`bodyUsed`,
 * "body already used" errors, `body`, `clone()`, `Cache.put`) is unchanged.
 */
class CachedResponse extends Response {
  #text;

  constructor(text, init) {
    super(text, init);
    // What text() reads: like Response.text(), without a leading BOM (the body keeps it).
    this.#text = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  // Takes the body for a fast read: true when the stream was untouched and is now cancelled.
  #take() {
    const stream = super.body;
    if (stream === null || stream.locked || super.bodyUsed) return false;
    stream.cancel();
    return true;
  }

  text() {
    return this.#take() ? Promise.resolve(this.#text) : super.text();
  }

  json() {
    if (!this.#take()) return super.json();
    try {
      return Promise.resolve(JSON.parse(this.#text));
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

// The Response init of each stored entry served as a hit, built once: a Response copies its
// init, so one object serves every hit of the entry.
const hitInits = new WeakMap();

function initOf(stored, xCache) {
  // One header list, handed to the Response as is: building a Headers first would copy twice.
  const headers = stored.h.filter(([name]) => name !== 'x-cache');
  headers.push(['x-cache', xCache]);
  return { status: stored.s, statusText: stored.st, headers };
}

/** A fresh, readable Response for a stored entry; `xCache` says how it was served. */
export function toResponse(stored, method, xCache) {
  let init = xCache === 'HIT' ? hitInits.get(stored) : undefined;
  if (!init) {
    init = initOf(stored, xCache);
    if (xCache === 'HIT') hitInits.set(stored, init);
  }
  if (method === 'HEAD' || NULL_BODY.has(stored.s)) return new Response(null, init);
  return stored.enc === 'text' ? new CachedResponse(stored.b, init) : new Response(fromBase64(stored.b), init);
}

/** The stored entry's headers updated by a 304's (RFC 9111 §4.3.4). */
export function mergedHeaders(stored, notModified) {
  const headers = new Headers(stored.h);
  for (const [name, value] of keptHeaders(notModified.headers)) {
    if (name.toLowerCase() !== 'content-length') headers.set(name, value);
  }
  return headers;
}

/** Validators for a conditional request: If-None-Match and If-Modified-Since. */
export function validators(stored) {
  const headers = new Headers(stored.h);
  const out = {};
  if (headers.has('etag')) out['if-none-match'] = headers.get('etag');
  if (headers.has('last-modified')) out['if-modified-since'] = headers.get('last-modified');
  return out;
}
