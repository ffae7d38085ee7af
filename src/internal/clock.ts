/**
 * The source of time for every rule in bulwark. Inject your own (or use sinon fake timers with
 * the default) to make time-dependent behaviour exact in tests.
 *
 * @example
 * ```ts
 * const clock: Clock = { now: () => t, setTimeout: (fn, ms) => timers.add(fn, ms), clearTimeout: (h) => timers.remove(h) };
 * const breaker = new CircuitBreaker({ recoveryTimeout: '10s', clock });
 * ```
 */
export interface Clock {
  /** Current time in milliseconds, from a monotonic source. Only differences are meaningful. */
  now(): number;
  /** Schedules `fn` after `ms` milliseconds. The handle is passed back to `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer made by `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

/** Largest delay host timers honour (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The default clock: `performance.now()` (monotonic) and the host's ordinary timers. A timer is
 * set only while a caller waits on it (a retry wait, a queue wait, the deadline of a call in
 * flight), so, like any `setTimeout`, it keeps a Node process alive until the wait ends; once
 * every call has settled none is left, and a finished process exits at once.
 *
 * Globals are looked up on every call, so fake timers installed after import still apply.
 */
export const systemClock: Clock = Object.freeze({
  now(): number {
    return performance.now();
  },
  setTimeout(fn: () => void, ms: number): unknown {
    // Hosts treat a delay above 2^31 - 1 ms as 1 ms; clamp so a long wait stays long.
    return globalThis.setTimeout(fn, Math.min(ms, MAX_TIMER_MS));
  },
  clearTimeout(handle: unknown): void {
    globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
  },
});

/**
 * Wall-clock time in milliseconds since the epoch, the one place bulwark reads it: for the
 * absolute times that cross a process (a snapshot's `takenAt`, which `initialState` turns into
 * the time elapsed since) or come from outside (an HTTP-date in `Retry-After`). A {@link Clock}
 * is monotonic and per process, so it cannot serve them; every rule still measures time on the
 * Clock, and a snapshot's times are durations on it.
 */
export function wallNow(): number {
  return Date.now();
}
