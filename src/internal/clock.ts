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

interface Unrefable {
  unref?: () => void;
}

/**
 * The default clock: `performance.now()` (monotonic) and the host's timers, unref'd where the
 * host supports it so a pending timer never keeps a finished Node process alive.
 *
 * Globals are looked up on every call, so fake timers installed after import still apply.
 */
export const systemClock: Clock = Object.freeze({
  now(): number {
    return performance.now();
  },
  setTimeout(fn: () => void, ms: number): unknown {
    const handle = globalThis.setTimeout(fn, ms) as unknown as Unrefable;
    if (typeof handle === 'object' && handle !== null && typeof handle.unref === 'function') {
      handle.unref();
    }
    return handle;
  },
  clearTimeout(handle: unknown): void {
    globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
  },
});
