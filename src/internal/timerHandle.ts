// The handles of `systemClock`'s timers. A module of its own, so that an adapter may bundle it
// (`bulwark/fetch` takes the clock itself from the package's entry).

/** @internal A host's `clearTimeout`. */
export type ClearTimeout = (handle: unknown) => void;

/**
 * @internal A timer set by other timers than those `systemClock` found at import (fake timers
 * installed since, or removed since they were installed before import): handed out as its handle
 * with the `clearTimeout` of the same family, so that the timers that set it clear it whatever is
 * installed then. (No host handle is an array.)
 */
export type ForeignTimer = [handle: unknown, clear: ClearTimeout];

/**
 * @internal The host's own handle of a timer that `systemClock` set (a Node `Timeout`, a Deno or
 * browser id), as the host's timer functions take it: to change whether the timer keeps the
 * process alive.
 */
export function hostHandle(timer: unknown): unknown {
  return Array.isArray(timer) ? (timer as ForeignTimer)[0] : timer;
}
