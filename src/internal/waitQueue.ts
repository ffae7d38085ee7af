import type { Clock } from './clock.js';
import { listenAbort, unlistenAbort } from './abortListeners.js';

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
  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#serve();
  };

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
    if (!tail) this.#arm(waiter, now);
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
    if (--this.size === 0 || (!prev && shift)) {
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
    if (first.gapMs < Infinity) {
      this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, Math.ceil(first.gapMs - now)));
    }
  }
}

/** The due time of `waiter` (0 for none), summing the gaps from the first. */
function dueOf<T>(waiter: Waiter<T> | undefined): number {
  let due = 0;
  for (; waiter; waiter = waiter.prev) due += waiter.gapMs;
  return due;
}
