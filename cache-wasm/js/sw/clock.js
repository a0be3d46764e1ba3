// The clock every SW module reads. Tests and apps may inject one (`registerRoutes(…, { clock })`)
// instead of sleeping; the default is `Date.now`.
let current = Date.now;

/** Milliseconds now, on the configured clock. */
export const now = () => current();

/** Replaces the clock (a `() => ms` function); `undefined` restores `Date.now`. */
export function setClock(clock) {
  current = typeof clock === 'function' ? clock : Date.now;
}
