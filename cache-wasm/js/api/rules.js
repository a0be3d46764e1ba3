// URL rules of the API cache: which requests it caches, and how.
import { globToRegExp } from '../glob.js';

/**
 * Defaults of a rule. `match` is a glob over the URL's path and query (`/api/products/*`), a
 * RegExp tested against the full URL, or a function of the URL alone (the rule a URL falls
 * under is remembered).
 */
export const RULE_DEFAULTS = Object.freeze({
  /** Freshness for responses that state none (no max-age, no Expires). */
  ttlMs: 0,
  /** Extra tags on every entry of the rule (the response's Cache-Tag adds more). */
  tags: [],
  /** Entries belong to the user: stored in the `userCache` (wiped on logout). */
  perUser: false,
  /** How long a stale entry with validators is kept for revalidation. */
  keepMs: 86_400_000,
  /** Cacheable statuses. */
  statuses: [200, 203, 204, 300, 301, 404, 410],
});

export function compileRules(rules = []) {
  return rules.map((rule) => {
    const { match } = rule;
    let test;
    if (typeof match === 'function') test = (url) => match(url);
    else if (match instanceof RegExp) test = (url) => match.test(url.href);
    else if (typeof match === 'string') {
      const re = globToRegExp(match);
      test = (url) => re.test(url.pathname + url.search);
    } else throw new TypeError('cache-wasm: a rule needs `match` (glob string, RegExp or function)');
    return { ...RULE_DEFAULTS, ...rule, test };
  });
}

export function ruleFor(rules, url) {
  return rules.find((rule) => rule.test(url));
}
