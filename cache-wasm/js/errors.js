// Errors thrown by this package carry a stable `code`. Errors raised inside the wasm module
// are `Error`s named 'CacheError'; value errors are `TypeError`s with code 'InvalidValue'.

export function invalidValue(message) {
  const err = new TypeError(`cache-wasm: ${message}`);
  err.code = 'InvalidValue';
  return err;
}

/** An `Error` named 'CacheError' with `code`, like those the wasm module throws. */
export function cacheError(code, message) {
  const err = new Error(`cache-wasm: ${message}`);
  err.name = 'CacheError';
  err.code = code;
  return err;
}

// wasm-bindgen hands strings to wasm through TextEncoder, which turns every lone surrogate
// into U+FFFD: '\uD800' and '\uDBFF' would become one key. Such strings are refused before
// they cross.
const LONE_SURROGATE = /\p{Cs}/u;

/** `value`, checked to be a well-formed string; else a CacheError with `code`. */
export function checkString(value, code, what) {
  if (typeof value !== 'string') throw cacheError(code, `${what} must be a string`);
  if (!(value.isWellFormed?.() ?? !LONE_SURROGATE.test(value))) {
    throw cacheError(code, `${what} contains a lone surrogate (half of a UTF-16 pair)`);
  }
  return value;
}

/** `list`, checked to be an array of well-formed strings (undefined stays undefined). */
export function checkStrings(list, code, what) {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw cacheError('InvalidOption', `${what} must be an array of strings`);
  for (const item of list) checkString(item, code, `each of ${what}`);
  return list;
}

/** Whether `err` is an error of this package with the given code. */
export function isCacheError(err, code) {
  return err instanceof Error && typeof err.code === 'string' && (code === undefined || err.code === code);
}

/** The error every method of a closed cache throws. */
export function closedError() {
  return cacheError('Closed', 'this cache was closed');
}

/** Stands in for a freed wasm object: any use throws `closedError()`. */
export const CLOSED = new Proxy({}, {
  get() {
    throw closedError();
  },
});
