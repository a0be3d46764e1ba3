// Errors of the service-worker layer: `Error`s named 'CacheError' with a stable `code`, like
// the rest of the package, so pages can test `reply.error.code` and callers `err.code`.

/** An `Error` named 'CacheError' with `code`. */
export function swError(code, message) {
  const err = new Error(`cache-wasm/sw: ${message}`);
  err.name = 'CacheError';
  err.code = code;
  return err;
}

/** `err` as a plain object a port can carry: `{ name, code, message }`. */
export function errorReply(err) {
  return {
    name: err?.name ?? 'Error',
    code: typeof err?.code === 'string' ? err.code : 'InternalError',
    message: String(err?.message ?? err),
  };
}
