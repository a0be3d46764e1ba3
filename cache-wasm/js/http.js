// HTTP caching rules for a Response, decided in wasm (cache-core's RFC 9111 logic): whether it
// may be stored and where, and until when it is fresh, on the client's clock.
import { bindings } from './wasm.js';

// The lower-cased directive names of a Cache-Control value; commas inside a quoted value
// (`no-cache="a, b"`) separate nothing.
function directiveNames(cacheControl) {
  const names = [];
  for (const [directive] of cacheControl.matchAll(/(?:[^,"]|"(?:[^"\\]|\\.)*"?)+/g)) {
    const name = directive.split('=', 1)[0].trim().toLowerCase();
    if (name) names.push(name);
  }
  return names;
}

// RFC 9111 §3.5: a response to a request with Authorization may be shared only when it says
// so. Otherwise it may be the user's own, like a `private` one.
function sharedDespiteAuthorization(cacheControl) {
  return directiveNames(cacheControl ?? '').some((n) => n === 'public' || n === 's-maxage' || n === 'must-revalidate');
}

/**
 * The caching policy of `response` to a `method` request sent at `requestTime` and received
 * at `responseTime` (ms, the same clock). `statuses` overrides the cacheable statuses;
 * `requestHeaders` are the request's: with `Authorization`, a response that is not `public`,
 * `s-maxage` or `must-revalidate` is the user's ('user', reason 'authorization').
 * Returns { storable: 'yes'|'user'|'no', reason, freshUntil, revalidateUntil, onErrorUntil,
 * immutable, noCache, explicit }.
 */
export function responsePolicy(method, response, { requestTime, responseTime, statuses, requestHeaders } = {}) {
  const h = response.headers;
  const get = (name) => h.get(name) ?? undefined;
  const now = Date.now();
  const policy = bindings.httpPolicy(
    method,
    response.status,
    get('cache-control'),
    get('date'),
    get('expires'),
    get('age'),
    get('last-modified'),
    get('vary'),
    h.has('set-cookie'),
    requestTime ?? now,
    responseTime ?? now,
    statuses ? Uint16Array.from(statuses) : undefined,
  );
  const perUser = policy.storable === 'yes' && requestHeaders?.has('authorization') && !sharedDespiteAuthorization(get('cache-control'));
  try {
    return {
      storable: perUser ? 'user' : policy.storable,
      reason: perUser ? 'authorization' : policy.reason,
      freshUntil: policy.freshUntil,
      revalidateUntil: policy.revalidateUntil,
      onErrorUntil: policy.onErrorUntil,
      immutable: policy.immutable,
      noCache: policy.noCache,
      explicit: policy.explicit,
    };
  } finally {
    policy.free();
  }
}

/**
 * The tags `headers` carry in `Cache-Tag` and `Surrogate-Key` (commas or whitespace between
 * them), split by cache-core as the hub splits them: in order, without duplicates.
 * `undefined` when an entry could not carry them all (more than 32, or one over 256 bytes):
 * such a response must not be stored.
 */
export function responseTags(headers) {
  const cacheTag = headers.get('cache-tag');
  const surrogateKey = headers.get('surrogate-key');
  if (cacheTag === null && surrogateKey === null) return [];
  return bindings.responseTags(cacheTag ?? undefined, surrogateKey ?? undefined);
}
