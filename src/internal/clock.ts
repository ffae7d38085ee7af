import { MAX_TIMER_MS } from './timerLimit.js';
import type { ClearTimeout, ForeignTimer } from './timerHandle.js';

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

type SetTimeout = typeof globalThis.setTimeout;

/**
 * The host's timers as they were when this module loaded. A timer set through them (nearly every
 * timer) is handed back to them, and its handle is returned as it is.
 */
const imported = /* @__PURE__ */ hostTimers();

function hostTimers(): { set: SetTimeout; clear: ClearTimeout } {
  return { set: globalThis.setTimeout, clear: globalThis.clearTimeout as ClearTimeout };
}

/**
 * The default clock: `performance.now()` (monotonic) and the host's ordinary timers. A timer is
 * set only while a caller waits on it (a retry wait, a queue wait, the deadline of a call in
 * flight), so, like any `setTimeout`, it keeps a Node process alive until the wait ends; once
 * every call has settled none is left, and a finished process exits at once.
 *
 * Globals are looked up when a timer is set, so fake timers installed after import apply to the
 * timers set while they are installed; a timer is cleared by the `clearTimeout` of the timers that
 * set it (a real timer set before fake timers were installed is cleared for real).
 *
 * Its functions use no `this` (each declares `this: void`), so they may be called detached:
 * `const { now } = systemClock`. A {@link Clock} of your own need not allow that.
 */
export const systemClock: {
  now(this: void): number;
  setTimeout(this: void, fn: () => void, ms: number): unknown;
  clearTimeout(this: void, handle: unknown): void;
} = Object.freeze({
  now(): number {
    return performance.now();
  },
  setTimeout(fn: () => void, ms: number): unknown {
    // Hosts treat a delay above 2^31 - 1 ms as 1 ms; clamp so a long wait stays long.
    const set = globalThis.setTimeout;
    const handle = set(fn, Math.min(ms, MAX_TIMER_MS));
    return set === imported.set
      ? handle
      : ([handle, globalThis.clearTimeout as ClearTimeout] satisfies ForeignTimer);
  },
  clearTimeout(handle: unknown): void {
    if (Array.isArray(handle)) {
      // Called as a plain function: a browser's clearTimeout refuses any other `this`.
      const [foreign, clear] = handle as ForeignTimer;
      clear(foreign);
    } else {
      const { clear } = imported;
      clear(handle);
    }
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
