// Invalidation: which entries an INVALIDATE removes, and the plugin that tags entries and keeps
// a response fetched before an invalidation from being stored after it ("caching in progress").
//
// How a hub update maps onto entries (forward-sw.js sends these):
// - entries are tagged from their response's `Cache-Tag` / `Surrogate-Key` headers;
// - a hub invalidation's `keys` and `tags` both match entry tags, its `patterns` match entry
//   tags as globs; its `ns` limits it to caches of that namespace (and caches without one);
// - a hub reset clears the caches of its namespace (all our caches when it names none).
// Pages may also send `urls` and URL `patterns` (globs: a leading `/` matches the path, anything
// else the full URL).
import { globToRegExp } from '../glob.js';
import { responseTags } from './entry-index.js';
import { openStores } from './stores.js';
import { swError } from './errors.js';

let generation = 0;

/** Bumped by every applied invalidation; a fetch started under an older one is not stored. */
export const invalidationGeneration = () => generation;

const LISTS = ['urls', 'patterns', 'tags', 'tagPatterns'];

/** Validates an INVALIDATE message into a selector; throws `InvalidMessage`. */
export function parseSelector(message) {
  const selector = { reset: message.reset === true };
  for (const list of LISTS) {
    const value = message[list] ?? [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
      throw swError('InvalidMessage', `INVALIDATE: ${list} must be an array of non-empty strings`);
    }
    selector[list] = value;
  }
  if (message.namespace !== undefined && (typeof message.namespace !== 'string' || message.namespace === '')) {
    throw swError('InvalidMessage', 'INVALIDATE: namespace must be a non-empty string');
  }
  selector.namespace = message.namespace;
  if (!selector.reset && LISTS.every((l) => selector[l].length === 0)) {
    throw swError('InvalidMessage', 'INVALIDATE: give urls, patterns, tags, tagPatterns or reset: true');
  }
  return selector;
}

function urlMatcher(glob) {
  let re;
  try {
    re = globToRegExp(glob);
  } catch (err) {
    throw swError('InvalidPattern', `bad pattern ${JSON.stringify(glob)}: ${err.message}`);
  }
  return glob.startsWith('/') ? (url) => re.test(new URL(url).pathname) : (url) => re.test(url);
}

/** A predicate `(url, meta) => boolean` for `selector`. */
function entryMatcher(selector) {
  const urls = new Set(
    selector.urls.map((u) => {
      try {
        return new URL(u, self.location.origin).href;
      } catch {
        throw swError('InvalidMessage', `INVALIDATE: ${JSON.stringify(u)} is not a URL`);
      }
    }),
  );
  const patterns = selector.patterns.map(urlMatcher);
  const tags = new Set(selector.tags);
  const tagPatterns = selector.tagPatterns.map((p) => globToRegExp(p));
  return (url, meta) =>
    urls.has(url) ||
    patterns.some((m) => m(url)) ||
    meta.tags.some((t) => tags.has(t) || tagPatterns.some((re) => re.test(t)));
}

/** Applies a parsed selector to every open store; resolves to `{ removed }`. */
export async function applyInvalidation(selector) {
  generation++;
  const matches = selector.reset ? () => true : entryMatcher(selector);
  let removed = 0;
  for (const store of await openStores()) {
    if (selector.namespace && store.namespace && store.namespace !== selector.namespace) continue;
    const victims = [...store.index.entries()].filter(([url, meta]) => matches(url, meta)).map(([url]) => url);
    await Promise.all(victims.map((url) => store.remove(url)));
    store.stats.invalidated += victims.length;
    removed += victims.length;
  }
  return { removed };
}

/** Marks a clear or delete done from outside an INVALIDATE (in-flight fetches are not stored). */
export function bumpGeneration() {
  generation++;
}

/** The plugin every route carries: tags entries, refuses responses overtaken by an invalidation. */
export const invalidationPlugin = Object.freeze({
  name: 'invalidation',
  cacheWillUpdate({ response, handler }) {
    if (handler.generation !== generation) return null;
    // A response with more tags than an entry holds would miss invalidations of the rest.
    return response.type === 'opaque' || responseTags(response) ? response : null;
  },
  entryWillBeStored({ response, meta }) {
    meta.tags = response.type === 'opaque' ? [] : responseTags(response);
  },
});
