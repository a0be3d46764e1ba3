// An axios adapter that sends cacheable requests through an ApiCache. Per request,
// `cache: false` skips the cache and `cacheTTL` (ms) forces the response's freshness, as apps
// used to axios cache interceptors expect. Everything else goes to axios's own adapter.

/**
 * Makes `axios` use `api` and returns it. `axios` is the default export, or an instance from
 * `axios.create()` together with the default export as `statics` (instances lack
 * `getAdapter` and `AxiosError`).
 */
export function cachedAxios(axios, api, statics = axios) {
  if (typeof statics.getAdapter !== 'function') {
    throw new TypeError('cache-wasm: cachedAxios(instance, api, axios) needs the axios default export');
  }
  const network = statics.getAdapter(axios.defaults.adapter);
  axios.defaults.adapter = async (config) => {
    const method = (config.method ?? 'get').toUpperCase();
    const url = axios.getUri(config);
    if (config.cache === false || (method !== 'GET' && method !== 'HEAD') || !api.handles(url)) {
      return network(config);
    }
    const headers = typeof config.headers?.toJSON === 'function' ? config.headers.toJSON() : { ...config.headers };
    const response = await api.fetch(
      url,
      { method, headers, signal: config.signal, credentials: config.withCredentials ? 'include' : 'same-origin' },
      { ttlMs: config.cacheTTL },
    );
    const result = {
      data: await readBody(response, config.responseType),
      status: response.status,
      statusText: response.statusText,
      headers: Object.fromEntries(response.headers),
      config,
      request: { cached: response.headers.get('x-cache') },
    };
    const valid = config.validateStatus ? config.validateStatus(result.status) : true;
    if (valid) return result;
    const code = result.status >= 500 ? 'ERR_BAD_RESPONSE' : 'ERR_BAD_REQUEST';
    throw new statics.AxiosError(`Request failed with status code ${result.status}`, code, config, result.request, result);
  };
  return axios;
}

// axios parses JSON itself (transformResponse) from text; other types are handed over as is.
function readBody(response, responseType) {
  switch (responseType) {
    case 'arraybuffer':
      return response.arrayBuffer();
    case 'blob':
      return response.blob();
    case 'stream':
      return response.body;
    default:
      return response.text();
  }
}
