import type { Clock } from './clock.js';
import { listenAbort, unlistenAbort } from './abortListeners.js';
import { MAX_TIMER_MS } from './timerLimit.js';
import { ownTimers } from './timerMode.js';

/**
 * @internal A caller waiting in a {@link WaitQueue} (or a `SlotQueue`). It is its own abort
 * listener (`handleEvent`), so waiting needs no closure beyond the promise's.
 */
export class Waiter<T> implements EventListenerObject {
  /** The queue it waits in (another one, once moved there: see `SlotQueue.transferTo`). */
  q: { abort(waiter: Waiter<T>): void };
  /** What the owner keeps with the caller (the rate limiter's permits, the bulkhead's flag). */
  n: number;
  readonly signal: AbortSignal | undefined;
  // Arrival order (served by `shift`).
  prev: Waiter<T> | undefined;
  next: Waiter<T> | undefined;
  /**
   * A {@link WaitQueue}'s: how long after the caller ahead of it this one falls due, in
   * milliseconds (the first: after time 0 on the queue's clock, so its gap is its due time). A
   * caller's due time is the sum of the gaps up to it. (A `SlotQueue` keeps due times, in
   * `SlotWaiter.due`, and leaves this 0.)
   */
  gapMs = 0;
  /** Set once it has left its queue (served, due or aborted): its own timer then does nothing. */
  left = false;
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;

  constructor(q: { abort(waiter: Waiter<T>): void }, n: number, signal: AbortSignal | undefined) {
    this.q = q;
    this.n = n;
    this.signal = signal;
  }

  handleEvent(): void {
    this.q.abort(this);
  }
}

/**
 * @internal Where timers belong to a request ({@link ownTimers}): arms a waiter's own timer, in
 * its own call, to fall due at `due` on `clock` (`Infinity`: never; the timer then only keeps the
 * call's request alive, at the longest delay, set again as long as it waits), running `serve` when
 * it fires, which answers whoever is due. A timer that fired early, or a keep-alive, is set again
 * while the waiter is still in line. It is cleared in the waiter's own call once its promise
 * settles (a reaction set up here): never by the request that served it, whose `clearTimeout`
 * would take the handle for one of its own timers.
 */
export function ownTimer<T>(
  clock: Clock,
  waiter: Waiter<T>,
  promise: Promise<T>,
  due: number,
  serve: () => void,
): void {
  let handle: unknown;
  const arm = (now: number): void => {
    const ms = due - now;
    handle = clock.setTimeout(fire, ms < MAX_TIMER_MS ? Math.max(0, Math.ceil(ms)) : MAX_TIMER_MS);
  };
  const fire = (): void => {
    handle = undefined;
    if (waiter.left) return;
    serve();
    if (!waiter.left) arm(clock.now());
  };
  arm(clock.now());
  const clear = (): void => {
    if (handle !== undefined) clock.clearTimeout(handle);
    handle = undefined;
    waiter.left = true;
  };
  promise.then(clear, clear);
}

/**
 * @internal Waiting callers in FIFO order, as a linked list with one timer (for the first's due
 * time): O(1) to join, to serve and to leave from anywhere. Due times are kept as gaps between
 * neighbours (`Waiter.gapMs`), so a caller leaving from anywhere in the line can move everyone behind it up in
 * O(1). A caller queued later that falls due sooner than the last goes after it (it waits its
 * turn, as in a rate limiter's line; a queue whose callers each have a deadline of their own is a
 * `SlotQueue`). When the first falls due, `onDue` answers it; when a caller's signal aborts,
 * `onAbort` says how much sooner everyone behind it falls due, and the caller is rejected with the
 * signal's reason. An infinite due time sets no timer; an empty queue holds none.
 */
export class WaitQueue<T> {
  size = 0;
  #head: Waiter<T> | undefined;
  #tail: Waiter<T> | undefined;
  // The last one's due time.
  #lastDue = 0;
  #timer: unknown;
  readonly #clock: Clock;
  readonly #onDue: (waiter: Waiter<T>) => void;
  readonly #onAbort: (waiter: Waiter<T>) => number;
  // Each caller arms a timer of its own (see `ownTimer`), and the queue none: read when made.
  readonly #own = ownTimers;
  // With timers of their own: set once a caller that left moved those behind it up, so that they
  // fall due sooner than their own timers (until the line empties); and when the queue's timer,
  // then set for the first by the call that finds it due sooner, fires (Infinity: none pending).
  #moved = false;
  #helperAt = Infinity;
  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#helperAt = Infinity;
    this.#serve();
  };
  readonly #serveNow = (): void => this.#serve();

  constructor(
    clock: Clock,
    onDue: (waiter: Waiter<T>) => void,
    onAbort: (waiter: Waiter<T>) => number,
  ) {
    this.#clock = clock;
    this.#onDue = onDue;
    this.#onAbort = onAbort;
  }

  /** Queues a caller that falls due in `waitMs` (`Infinity`: never). */
  push(n: number, waitMs: number, signal: AbortSignal | undefined): Promise<T> {
    const now = this.#clock.now();
    const waiter = new Waiter<T>(this, n, signal);
    const promise = new Promise<T>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    const due = now + waitMs;
    const tail = this.#tail;
    if (!tail) {
      this.#head = waiter;
      waiter.gapMs = this.#lastDue = due;
    } else {
      // A later caller may fall due sooner (a remote store's answer); it still goes after.
      waiter.gapMs = due > this.#lastDue ? due - this.#lastDue : 0;
      waiter.prev = tail;
      tail.next = waiter;
      this.#lastDue += waiter.gapMs;
    }
    this.#tail = waiter;
    this.size++;
    if (signal !== undefined) listenAbort(signal, waiter);
    // The first due: the timer is its own (one set for another is early).
    if (this.#own) ownTimer(this.#clock, waiter, promise, this.#lastDue, this.#serveNow);
    else if (!tail) this.#arm(waiter, now);
    return promise;
  }

  /** Takes the first in line, or undefined when nobody waits. */
  shift(): Waiter<T> | undefined {
    const waiter = this.#head;
    if (waiter) this.#remove(waiter, 0);
    return waiter;
  }

  /** Removes a caller whose signal aborted and rejects it with the reason. */
  abort(waiter: Waiter<T>): void {
    this.#remove(waiter, this.#onAbort(waiter));
    waiter.reject((waiter.signal as AbortSignal).reason);
  }

  /**
   * Unlinks `waiter`; those behind it fall due `shift` ms sooner (in the middle of the line, not
   * before the one ahead of them).
   */
  #remove(waiter: Waiter<T>, shift: number): void {
    const { prev, next } = waiter;
    waiter.left = true;
    if (shift !== 0 && this.#own) this.#moved = true;
    if (waiter.signal !== undefined) unlistenAbort(waiter.signal, waiter);
    if (!prev) this.#head = next;
    else prev.next = next;
    if (!next) {
      this.#tail = prev;
      // An infinite gap after a finite due time: that one's is summed again.
      this.#lastDue = waiter.gapMs === Infinity ? dueOf(prev) : this.#lastDue - waiter.gapMs;
    } else {
      next.prev = prev;
      const joined = waiter.gapMs + next.gapMs;
      next.gapMs = !prev || joined > shift ? joined - shift : 0;
      // (Both infinite: the last is due never, still.)
      if (joined !== next.gapMs) this.#lastDue -= joined - next.gapMs;
    }
    // A timer left for a departed first one just fires early and re-arms; a first one due sooner
    // needs a new one (and may already be due).
    if (--this.size === 0) this.#moved = false;
    if (this.size === 0 || (!prev && shift)) {
      if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#serve();
    }
  }

  #serve(): void {
    const now = this.#head && this.#clock.now();
    for (let waiter = this.#head; waiter; waiter = this.#head) {
      if (waiter.gapMs > (now as number)) return this.#arm(waiter, now as number);
      this.#remove(waiter, 0);
      this.#onDue(waiter);
    }
  }

  /** Sets the timer for `first`, the first in line, whose gap is its due time. */
  #arm(first: Waiter<T>, now: number): void {
    // Rounded up so the timer never fires before the first is due (fake and real timers truncate
    // fractional delays).
    const due = first.gapMs;
    if (!this.#own) {
      if (due < Infinity) {
        this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, Math.ceil(due - now)));
      }
      return;
    }
    // With timers of their own, the first one's serves it, unless those behind a caller who left
    // were moved up: then a timer of the calling request serves the first on time, unless one
    // still pending does. It is never cleared (another request's `clearTimeout` would take the
    // handle for one of its own): firing, it serves whoever is due then. If its request ends
    // first, the callers' own timers serve them, later than they could have been.
    if (!this.#moved || due === Infinity || (this.#helperAt > now && this.#helperAt <= due)) {
      return;
    }
    this.#helperAt = due;
    this.#clock.setTimeout(this.#fire, Math.max(0, Math.ceil(due - now)));
  }
}

/** The due time of `waiter` (0 for none), summing the gaps from the first. */
function dueOf<T>(waiter: Waiter<T> | undefined): number {
  let due = 0;
  for (; waiter; waiter = waiter.prev) due += waiter.gapMs;
  return due;
}
