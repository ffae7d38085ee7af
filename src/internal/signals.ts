import { OptionTypeError } from '../optionErrors.js';
import { fnError } from './validate.js';
import type { Clock } from './clock.js';
import { listenAbort, unlistenAbort } from './abortListeners.js';
import { answeredWith } from './answers.js';
import { MAX_TIMER_MS } from './timerLimit.js';

/** A signal that never aborts, handed to callees when the caller gave none. */
export const NEVER_ABORTED: AbortSignal = /* @__PURE__ */ neverAborted();

// It can never abort, so a listener on it could never run: it keeps none. Without this, a callee
// handing `ctx.signal` to `fetch` (which listens on its signal) added a listener per call. (A
// function, so that the bundle of a module that never uses it drops it.)
function neverAborted(): AbortSignal {
  const signal = new AbortController().signal;
  signal.addEventListener = noop;
  return signal;
}

/** An AbortSignal, by its shape (one from another realm or a polyfill qualifies too). */
export function isSignal(value: unknown): value is AbortSignal {
  const s = value as Partial<AbortSignal>;
  try {
    // `null` throws on the first read.
    return (
      typeof value == 'object' &&
      typeof s.aborted === 'boolean' &&
      typeof s.addEventListener === 'function' &&
      typeof s.removeEventListener === 'function'
    );
  } catch {
    // A hostile object (a revoked Proxy, a throwing getter) is no signal.
    return false;
  }
}

/**
 * True when a primitive's `signal` argument is neither `undefined` nor an AbortSignal (`null`, a
 * plain object): the call is refused with {@link refuseSignal} before anything starts (no timer
 * armed, no synchronous throw).
 */
export function badSignal(signal: unknown): boolean {
  return signal !== undefined && !isSignal(signal);
}

/** The rejection of a call given a {@link badSignal}: a TypeError naming `signal` and the value. */
export function refuseSignal(signal: unknown): Promise<never> {
  // An option error like `fn`'s (`isOptionError`, `option`); `show` shows even a hostile value.
  return Promise.reject(new OptionTypeError('signal', 'an AbortSignal', signal));
}

/**
 * The rejection of a primitive's `execute` given a `fn` that is not a function or a
 * {@link badSignal}, before anything starts; `undefined` when both are fine.
 */
export function refusedCall(fn: unknown, signal: unknown): Promise<never> | undefined {
  if (typeof fn !== 'function') return Promise.reject(fnError(fn));
  return badSignal(signal) ? refuseSignal(signal) : undefined;
}

/**
 * The signal worth listening to: `undefined` for none and for the shared never-aborting one,
 * which would otherwise collect a listener from every waiter (and, under load, trigger
 * `MaxListenersExceededWarning`).
 */
export function abortable(signal: AbortSignal | undefined): AbortSignal | undefined {
  return signal === NEVER_ABORTED ? undefined : signal;
}

/**
 * How much earlier than asked a host's timer may fire against a clock that moves in real time:
 * Node's timers run on the loop's time, in whole milliseconds and read at most once a turn, so
 * they fire up to about a millisecond early against `performance.now()`, and a browser that
 * coarsens `performance.now()` reads up to a millisecond behind. Twice that, to spare.
 */
const HOST_EARLY_MS = 2;

/**
 * How many times one wait may set its timer again. A host's timer needs one or two (each waits
 * for the host's time to move on by a millisecond); the bound is for a hand-made clock whose
 * timers keep firing a little before they are due, which would otherwise set them forever.
 */
const MAX_REARMS = 16;

/**
 * Waits `ms` on `clock`, rejecting at once with the signal's reason if it aborts first.
 * Removes its listener and timer whichever way it ends.
 *
 * The wait lasts at least `ms` as `clock.now()` measures it: host timers may fire early against
 * a finer clock (Node's by up to a millisecond against `performance.now()`, as its timers run on
 * the loop's coarser time), and a wait for an outcome's `retryAfterMs` that woke before it would
 * meet the same refusal again. A timer that fired early is set again for the rest, as often as it
 * fires early, unless the clock shows it is no host's timer (see `wake`), or the host's timers
 * are fakes (`@sinonjs/fake-timers`: sinon's, Jest's, Vitest's): a fake timer fires when the
 * test's ticking reaches its time, which is the time the test means, even where the clock reads
 * a `performance.now()` the fakes leave real.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  signal = abortable(signal);
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    // When the pending timer was set, and what it was asked for.
    let setAt = clock.now();
    let asked = ms;
    let rearms = 0;
    const end = setAt + ms;
    // (Without a signal there is nothing to unlisten: `unlistenAbort` finds no entry.)
    const onAbort = (): void => {
      unlistenAbort(signal!, onAbort);
      clock.clearTimeout(handle);
      reject(signal!.reason);
    };
    const wake = (): void => {
      const now = clock.now();
      // Before the end, the timer is set again for the rest, as long as it fired the way a host's
      // timer fires early: after the clock moved, and by no more than a host's timer may (a long
      // wait's timer, clamped to the host's longest, fires when that is up). A test's clock that
      // stands still, or whose timers run at once while its time moves, ends the wait when its
      // timer says: setting it again would make a loop of timers holding the event loop until
      // the time has passed. And a clock whose timers keep firing a little early is given
      // `MAX_REARMS` at most. Under fake timers the wait ends when its timer fires: set again for
      // the rest of a real time that barely moves, it would need one more tick of the test's
      // each time (a retry's `delay: 1` met by `tickAsync(1)` would not go on).
      if (
        now < end &&
        fakesOf(globalThis.setTimeout) === undefined &&
        now > setAt &&
        now - setAt >= Math.min(asked, MAX_TIMER_MS) - HOST_EARLY_MS &&
        rearms++ < MAX_REARMS
      ) {
        setAt = now;
        asked = end - now;
        handle = clock.setTimeout(wake, asked);
        return;
      }
      unlistenAbort(signal!, onAbort);
      resolve();
    };
    let handle = clock.setTimeout(wake, ms);
    if (signal) listenAbort(signal, onAbort);
  });
}

type Later = (fn: () => void) => unknown;
type TurnHost = Record<'setImmediate' | 'setTimeout', Later | undefined>;

/**
 * The host's way to a later macrotask (`setImmediate`, or a zero-delay timeout in browsers), as
 * it was at import. (Made by a pure call, so a bundle that never uses it drops it.)
 */
const turn = /* @__PURE__ */ hostTurn();

function hostTurn(): { name: keyof TurnHost; later: Later } {
  const host = globalThis as unknown as TurnHost;
  const name = typeof host.setImmediate == 'function' ? 'setImmediate' : 'setTimeout';
  let later = host[name]!;
  // Fake timers installed before this import (a set-up file, Jest's `enableGlobally`) keep the
  // host's own function on their clock, as `_setImmediate`; a turn taken from the fake would wait
  // for a tick, and be dropped when the fakes are removed.
  for (let i = 0; i < 4; i++) {
    const original = fakesOf(later)?.[`_${name}`];
    if (typeof original != 'function') break;
    later = original as Later;
  }
  return { name, later };
}

/**
 * The clock of the fake timers behind a timer function, if it is one of `@sinonjs/fake-timers`
 * (sinon's, Jest's and Vitest's fakes): it keeps the host's own functions (`_setImmediate`) and
 * the fakes' own (`clearImmediate`).
 */
function fakesOf(fn: unknown): Partial<Record<string, unknown>> | undefined {
  return (fn as { clock?: Partial<Record<string, unknown>> } | undefined)?.clock;
}

/**
 * Runs `fn` in a later macrotask, with the host's function as it was at import: a later macrotask
 * is not a matter of time, so fake timers (which would hold it until a test advances them, and drop
 * it when removed) do not apply, whenever they were installed. Those of `@sinonjs/fake-timers`
 * installed before this module loaded are seen through (their clock keeps the host's function);
 * other fakes found at import are left as soon as they are replaced (removed, or installed anew):
 * the function kept at import is recognised as a fake (a fake-timers clock on it, or another
 * name than the host's), so work does not wait forever on timers nobody advances. Costs nothing
 * more without fake timers. It also runs bookkeeping that no caller waits on once the current
 * turn of the event loop is over, not counted in {@link pendingTurns} (a deadline queue's
 * end-of-turn sweep).
 */
export function afterTurn(fn: () => void): unknown {
  const current = (globalThis as unknown as TurnHost)[turn.name]!;
  let { later } = turn;
  if (current !== later && (fakesOf(later) !== undefined || later.name !== turn.name))
    turn.later = later = current;
  // Called as a plain function: a browser's setTimeout refuses another `this`.
  return later(fn);
}

/**
 * @internal Runs `fn` in a later macrotask, after the host has run its due timers and I/O: what a
 * zero-delay retry waits for (through {@link nextTurnPromise}), so deadlines and aborts land
 * between attempts however fast they fail. Under fake timers also when a test's ticking reaches
 * it (see below), once, whichever comes first.
 */
export function nextTurn(fn: () => void): void {
  turnsPending++;
  // Fake timers installed now: the turn also comes when a test advancing them reaches it, as a
  // timer due now, whichever comes first. A test may await the call without ticking, and one that
  // runs or advances the fakes runs the next attempt too, and then the timers it sets (its
  // deadline). The fake turn is cleared through the fakes' own clock: the host's `clearImmediate`
  // (left real by a `toFake` list) would take its handle for one of its own and drop a real turn.
  const current = (globalThis as unknown as TurnHost)[turn.name];
  const clearFake =
    current === turn.later
      ? undefined
      : fakesOf(current)?.[turn.name === 'setImmediate' ? 'clearImmediate' : 'clearTimeout'];
  let done = false;
  let dropFake: (() => void) | undefined;
  const run = (): void => {
    if (done) return;
    done = true;
    // The other way to this turn, if any, is dropped: no fake timer is left behind.
    dropFake?.();
    turnsPending--;
    fn();
  };
  if (typeof clearFake == 'function') {
    const handle = current!(run);
    dropFake = () => (clearFake as (handle: unknown) => void)(handle);
  }
  afterTurn(run);
}

let turnsPending = 0;

/**
 * @internal How many {@link nextTurn} callbacks have not run yet: a test that drives a manual
 * clock lets them run before it moves time on.
 */
export function pendingTurns(): number {
  return turnsPending;
}

/** {@link nextTurn} as a promise. */
export function nextTurnPromise(): Promise<void> {
  return new Promise<void>(nextTurn);
}

/**
 * Settles like `promise`, except that it rejects at once with the signal's reason when `signal`
 * aborts first. The work behind `promise` goes on; only the caller stops waiting for it.
 * Without a signal it returns `promise` itself (no extra hop on the hot path).
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  // The never-aborting signal would collect a listener per call in flight.
  if (!abortable(signal)) return promise;
  return new Promise<T>((resolve, reject) => {
    const settle = <V>(how: (value: V) => void, value: V): void => {
      unlistenAbort(signal!, onAbort);
      how(value);
    };
    const onAbort = (): void => {
      promise.catch(noop);
      // Answered with the reason now (a cooperative deadline's outside too).
      answeredWith(signal!.reason);
      settle(reject, signal!.reason);
    };
    if (signal!.aborted) return onAbort();
    listenAbort(signal!, onAbort);
    promise.then(
      (value) => settle(resolve, value),
      (error: unknown) => settle(reject, error),
    );
  });
}

/** Does nothing; marks a promise's rejection as handled. */
export function noop(): void {}

/** True for promises and other thenables. */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  // A primitive reads its prototype's `then`, which it has none of; `null` and `undefined` none.
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/** Calls `onDone` when `value` settles (at once when it is not a thenable); never throws. */
export function whenSettled(value: unknown, onDone: (ok: boolean, value: unknown) => void): void {
  let thenable: boolean;
  try {
    thenable = isThenable(value);
  } catch (error) {
    onDone(false, error);
    return;
  }
  if (thenable) {
    Promise.resolve(value).then(
      (result: unknown) => onDone(true, result),
      (error: unknown) => onDone(false, error),
    );
  } else {
    onDone(true, value);
  }
}

/** Runs `fn(signal)` as an async call would: a synchronous throw becomes a rejection. */
export function callAsync<T>(
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  signal: AbortSignal,
): Promise<T> {
  try {
    return Promise.resolve(fn(signal));
  } catch (error) {
    return Promise.reject(error);
  }
}
