// Errors thrown by this package carry a stable `code`. Errors raised inside the wasm module
// are `Error`s named 'CacheError'; value errors are `TypeError`s with code 'InvalidValue'.

export function invalidValue(message) {
  const err = new TypeError(`cache-wasm: ${message}`);
  err.code = 'InvalidValue';
  return err;
}

/** Whether `err` is an error of this package with the given code. */
export function isCacheError(err, code) {
  return err instanceof Error && typeof err.code === 'string' && (code === undefined || err.code === code);
}

/** The error every method of a closed cache throws. */
export function closedError() {
  const err = new Error('cache-wasm: this cache was closed');
  err.name = 'CacheError';
  err.code = 'Closed';
  return err;
}

/** Stands in for a freed wasm object: any use throws `closedError()`. */
export const CLOSED = new Proxy({}, {
  get() {
    throw closedError();
  },
});
