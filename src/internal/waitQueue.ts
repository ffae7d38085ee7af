import type { Clock } from './clock.js';
import { listenAbort, unlistenAbort } from './abortListeners.js';

/**
 * A caller waiting in a {@link WaitQueue}. It is its own abort listener (`handleEvent`), so
 * waiting needs no closure beyond the promise's.
 */
export class Waiter<T> implements EventListenerObject {
  /** The queue it waits in (another one's, once moved there: see `WaitQueue.moveTo`). */
  q: WaitQueue<T>;
  /** What the owner keeps with the caller (the rate limiter's permits, the bulkhead's flag). */
  n: number;
  readonly signal: AbortSignal | undefined;
  /** When it was queued, on the queue's clock. */
  readonly at: number;
  // Arrival order (served by `shift`).
  prev: Waiter<T> | undefined;
  next: Waiter<T> | undefined;
  // Due order (served by the timer): the same as arrival order unless a caller moved in with an
  // earlier due time than those already there (see `WaitQueue.moveTo`).
  before: Waiter<T> | undefined;
  after: Waiter<T> | undefined;
  /**
   * Milliseconds between the due time of the waiter before this one (in due order) and this
   * one's; for the first, its due time.
   */
  gap = 0;
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;

  constructor(q: WaitQueue<T>, n: number, signal: AbortSignal | undefined, at: number) {
    this.q = q;
    this.n = n;
    this.signal = signal;
    this.at = at;
  }

  handleEvent(): void {
    this.q.abort(this);
  }
}

/**
 * Waiting callers in FIFO order, as a linked list with one timer (for the first due time): O(1)
 * to join, to serve and to leave from anywhere. Due times are kept in a second list through the
 * same waiters, in due order, as gaps between neighbours, so a caller leaving from anywhere in
 * the line can move everyone behind it up in O(1). The two lists are one order unless callers
 * were moved in from another queue (`moveTo`, a bulkhead's reload): those keep their own due
 * times, later or sooner than the ones queued here, while `shift` still serves in arrival order.
 * A caller queued later that falls due sooner than the last goes after it (it waits its turn,
 * as in a rate limiter's line), or, with `deadlines`, into the due list where its due time falls
 * (a deadline of its own, as in a bulkhead's queue). When the first falls due, `onDue` answers
 * it; when a caller's signal aborts, `onAbort` says how much sooner everyone behind it falls due,
 * and the caller is rejected with the signal's reason. An infinite due time sets no timer; an
 * empty queue holds none.
 */
export class WaitQueue<T> {
  size = 0;
  // Arrival order.
  #head: Waiter<T> | undefined;
  #tail: Waiter<T> | undefined;
  // Due order, and the last one's due time.
  #first: Waiter<T> | undefined;
  #last: Waiter<T> | undefined;
  #lastDue = 0;
  #timer: unknown;
  readonly #clock: Clock;
  readonly #onDue: (waiter: Waiter<T>, now: number) => void;
  readonly #onAbort: (waiter: Waiter<T>) => number;
  readonly #deadlines: boolean;
  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#serve();
  };

  constructor(
    clock: Clock,
    onDue: (waiter: Waiter<T>, now: number) => void,
    onAbort: (waiter: Waiter<T>) => number,
    deadlines = false,
  ) {
    this.#clock = clock;
    this.#onDue = onDue;
    this.#onAbort = onAbort;
    this.#deadlines = deadlines;
  }

  /** Queues a caller that falls due in `waitMs` (`Infinity`: never). */
  push(n: number, waitMs: number, signal: AbortSignal | undefined): Promise<T> {
    const now = this.#clock.now();
    const waiter = new Waiter(this, n, signal, now);
    const promise = new Promise<T>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    const due = now + waitMs;
    const last = this.#last;
    if (!last) {
      this.#first = this.#last = waiter;
      waiter.gap = this.#lastDue = due;
    } else if (due >= this.#lastDue || !this.#deadlines) {
      // A later caller may fall due sooner (a remote store's answer); it still goes after.
      waiter.gap = due > this.#lastDue ? due - this.#lastDue : 0;
      waiter.before = last;
      last.after = waiter;
      this.#last = waiter;
      this.#lastDue += waiter.gap;
    } else {
      // Callers moved in wait longer: this one falls due before them.
      this.#place(waiter, due, undefined, 0);
    }
    this.#append(waiter);
    if (signal !== undefined) listenAbort(signal, waiter);
    // The first due: the timer is its own (one set for another is early).
    if (!last) this.#arm(waiter, now);
    else if (!waiter.before) this.#rearm();
    return promise;
  }

  /**
   * Moves every caller waiting here behind those waiting in `target`, in their order, each keeping
   * its due time, its signal and when it was queued; `bring` sees each first. This queue is left
   * empty, with no timer. O(callers in both).
   */
  moveTo(target: WaitQueue<T>, bring: (waiter: Waiter<T>) => void): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    const head = this.#head;
    let waiter = this.#first;
    this.#timer = this.#head = this.#tail = this.#first = this.#last = undefined;
    this.size = this.#lastDue = 0;
    // Into the due list, in due order: each goes after the one before it, so the walk through
    // the target's list never goes back.
    let before: Waiter<T> | undefined;
    for (let due = 0, beforeDue = 0; waiter;) {
      const after = waiter.after;
      due += waiter.gap;
      beforeDue = target.#place(waiter, due, before, beforeDue);
      before = waiter;
      waiter = after;
    }
    for (waiter = head; waiter;) {
      const next = waiter.next;
      waiter.prev = waiter.next = undefined;
      waiter.q = target;
      bring(waiter);
      target.#append(waiter);
      waiter = next;
    }
    // The first due may have changed, and may be due already.
    target.#rearm();
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

  /** Puts `waiter` last in line (arrival order). */
  #append(waiter: Waiter<T>): void {
    const tail = this.#tail;
    if (!tail) this.#head = waiter;
    else {
      waiter.prev = tail;
      tail.next = waiter;
    }
    this.#tail = waiter;
    this.size++;
  }

  /**
   * Puts `waiter`, due at `due`, into the due list after everyone due no later, looking from
   * `from` on (due at `fromDue`; undefined: from the start), and answers `due`. Walks forward,
   * summing gaps: a walk back would subtract them, and an infinite due time less another is no
   * number.
   */
  #place(waiter: Waiter<T>, due: number, from: Waiter<T> | undefined, fromDue: number): number {
    let before = from;
    let beforeDue = from ? fromDue : 0;
    let after = from ? from.after : this.#first;
    while (after && beforeDue + after.gap <= due) {
      beforeDue += after.gap;
      before = after;
      after = after.after;
    }
    // Infinity after Infinity is a gap of 0.
    waiter.gap = !before ? due : due === beforeDue ? 0 : due - beforeDue;
    waiter.before = before;
    waiter.after = after;
    if (before) before.after = waiter;
    else this.#first = waiter;
    if (after) {
      after.before = waiter;
      const afterDue = beforeDue + after.gap;
      after.gap = afterDue === due ? 0 : afterDue - due;
    } else {
      this.#last = waiter;
      this.#lastDue = due;
    }
    return due;
  }

  /**
   * Unlinks `waiter`; those behind it (in due order) fall due `shift` ms sooner (in the middle of
   * the line, not before the one ahead of them).
   */
  #remove(waiter: Waiter<T>, shift: number): void {
    const { prev, next, before, after } = waiter;
    if (waiter.signal !== undefined) unlistenAbort(waiter.signal, waiter);
    if (!prev) this.#head = next;
    else prev.next = next;
    if (!next) this.#tail = prev;
    else next.prev = prev;
    if (!before) this.#first = after;
    else before.after = after;
    if (!after) {
      this.#last = before;
      // An infinite gap after a finite due time: that one's is summed again.
      this.#lastDue = waiter.gap === Infinity ? this.#dueOf(before) : this.#lastDue - waiter.gap;
    } else {
      after.before = before;
      const joined = waiter.gap + after.gap;
      after.gap = !before || joined > shift ? joined - shift : 0;
      // (Both infinite: the last is due never, still.)
      if (joined !== after.gap) this.#lastDue -= joined - after.gap;
    }
    // A timer left for a departed first one just fires early and re-arms; a first one due sooner
    // needs a new one (and may already be due).
    if (--this.size === 0 || (!before && shift)) this.#rearm();
  }

  /** The due time of `waiter` (0 for none), summing the gaps from the first. */
  #dueOf(waiter: Waiter<T> | undefined): number {
    let due = 0;
    for (; waiter; waiter = waiter.before) due += waiter.gap;
    return due;
  }

  /** Sets the timer anew for the first due, answering those due already. */
  #rearm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#serve();
  }

  #serve(): void {
    const now = this.#first && this.#clock.now();
    for (let waiter = this.#first; waiter; waiter = this.#first) {
      if (waiter.gap > (now as number)) return this.#arm(waiter, now as number);
      this.#remove(waiter, 0);
      this.#onDue(waiter, now as number);
    }
  }

  #arm(first: Waiter<T>, now: number): void {
    // Rounded up so the timer never fires before the first is due (fake and real timers truncate
    // fractional delays).
    if (first.gap < Infinity) {
      this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, Math.ceil(first.gap - now)));
    }
  }
}
