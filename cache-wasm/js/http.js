// HTTP caching rules for a Response, decided in wasm (cache-core's RFC 9111 logic): whether it
// may be stored and where, and until when it is fresh, on the client's clock.
import { bindings } from './wasm.js';

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
    requestHeaders?.has('authorization') ?? false,
    requestTime ?? now,
    responseTime ?? now,
    statuses ? Uint16Array.from(statuses) : undefined,
  );
  try {
    return {
      storable: policy.storable,
      reason: policy.reason,
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
