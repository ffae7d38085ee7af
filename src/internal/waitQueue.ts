import type { Clock } from './clock.js';
import { listenAbort, unlistenAbort } from './abortListeners.js';

/**
 * @internal A caller waiting in a {@link WaitQueue}. It is its own abort listener
 * (`handleEvent`), so waiting needs no closure beyond the promise's.
 */
export class Waiter<T> implements EventListenerObject {
  /** The queue it waits in (another one, once moved there: see `WaitQueue.transferTo`). */
  q: WaitQueue<T>;
  /** What the owner keeps with the caller (the rate limiter's permits, the bulkhead's flag). */
  n: number;
  readonly signal: AbortSignal | undefined;
  /** When it was queued, on the queue's clock. */
  readonly queuedAt: number;
  // Arrival order (served by `shift`).
  prev: Waiter<T> | undefined;
  next: Waiter<T> | undefined;
  // Due order (served by the timer): the same as arrival order unless, with deadlines, a caller
  // falls due sooner than one queued before it (see `WaitQueue`).
  sooner: Waiter<T> | undefined;
  behind: Waiter<T> | undefined;
  /**
   * Milliseconds between the due time of the waiter before this one (in due order) and this
   * one's; for the first, its due time.
   */
  dueGap = 0;
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;

  constructor(q: WaitQueue<T>, n: number, signal: AbortSignal | undefined, at: number) {
    this.q = q;
    this.n = n;
    this.signal = signal;
    this.queuedAt = at;
  }

  handleEvent(): void {
    this.q.abort(this);
  }
}

/**
 * @internal Waiting callers in FIFO order, as a linked list with one timer (for the first due
 * time): O(1) to join, to serve and to leave from anywhere. Due times are kept in a second list
 * through the same waiters, in due order, as gaps between neighbours, so a caller leaving from
 * anywhere in the line can move everyone behind it up in O(1). A caller queued later that falls
 * due sooner than the last goes after it (it waits its turn, as in a rate limiter's line), or,
 * with `deadlines`, into the due list where its due time falls while it still comes last for
 * `shift` (a deadline of its own, as in a bulkhead's queue, whose callers moved in by a reload
 * (`transferTo`) may wait longer than those queued after them). When the first falls due,
 * `onDue` answers it; when a caller's signal aborts, `onAbort` says how much sooner everyone
 * behind it falls due, and the caller is rejected with the signal's reason. An infinite due time
 * sets no timer; an empty queue holds none.
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
      waiter.dueGap = this.#lastDue = due;
    } else if (due >= this.#lastDue || !this.#deadlines) {
      // A later caller may fall due sooner (a remote store's answer); it still goes after.
      waiter.dueGap = due > this.#lastDue ? due - this.#lastDue : 0;
      waiter.sooner = last;
      last.behind = waiter;
      this.#last = waiter;
      this.#lastDue += waiter.dueGap;
    } else {
      // Callers moved in wait longer: this one falls due before them.
      this.#place(waiter, due);
    }
    this.#append(waiter);
    if (signal !== undefined) listenAbort(signal, waiter);
    // The first due: the timer is its own (one set for another is early).
    if (!last) this.#arm(waiter, now);
    else if (!waiter.sooner) this.#rearm();
    return promise;
  }

  /**
   * Moves every caller waiting here into `target`, an empty queue, in their order, each keeping
   * its due time, its signal and when it was queued; `bring` sees each first. This queue is left
   * empty, with no timer.
   */
  transferTo(target: WaitQueue<T>, bring: (waiter: Waiter<T>) => void): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    for (let waiter = this.#head; waiter; waiter = waiter.next) {
      waiter.q = target;
      bring(waiter);
    }
    // The lists, due times (gaps from the first's) and all, move whole.
    target.#head = this.#head;
    target.#tail = this.#tail;
    target.#first = this.#first;
    target.#last = this.#last;
    target.#lastDue = this.#lastDue;
    target.size = this.size;
    this.#timer = this.#head = this.#tail = this.#first = this.#last = undefined;
    this.size = this.#lastDue = 0;
    // The first may be due already.
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
   * Puts `waiter`, due at `due`, into the due list after everyone due no later. Walks forward,
   * summing gaps: a walk back would subtract them, and an infinite due time less another is no
   * number.
   */
  #place(waiter: Waiter<T>, due: number): void {
    let sooner: Waiter<T> | undefined;
    let soonerDue = 0;
    let behind = this.#first;
    while (behind && soonerDue + behind.dueGap <= due) {
      soonerDue += behind.dueGap;
      sooner = behind;
      behind = behind.behind;
    }
    // Infinity after Infinity is a gap of 0.
    waiter.dueGap = !sooner ? due : due === soonerDue ? 0 : due - soonerDue;
    waiter.sooner = sooner;
    waiter.behind = behind;
    if (sooner) sooner.behind = waiter;
    else this.#first = waiter;
    if (behind) {
      behind.sooner = waiter;
      const behindDue = soonerDue + behind.dueGap;
      behind.dueGap = behindDue === due ? 0 : behindDue - due;
    } else {
      this.#last = waiter;
      this.#lastDue = due;
    }
  }

  /**
   * Unlinks `waiter`; those behind it (in due order) fall due `shift` ms sooner (in the middle of
   * the line, not before the one ahead of them).
   */
  #remove(waiter: Waiter<T>, shift: number): void {
    const { prev, next, sooner, behind } = waiter;
    if (waiter.signal !== undefined) unlistenAbort(waiter.signal, waiter);
    if (!prev) this.#head = next;
    else prev.next = next;
    if (!next) this.#tail = prev;
    else next.prev = prev;
    if (!sooner) this.#first = behind;
    else sooner.behind = behind;
    if (!behind) {
      this.#last = sooner;
      // An infinite gap after a finite due time: that one's is summed again.
      this.#lastDue =
        waiter.dueGap === Infinity ? this.#dueOf(sooner) : this.#lastDue - waiter.dueGap;
    } else {
      behind.sooner = sooner;
      const joined = waiter.dueGap + behind.dueGap;
      behind.dueGap = !sooner || joined > shift ? joined - shift : 0;
      // (Both infinite: the last is due never, still.)
      if (joined !== behind.dueGap) this.#lastDue -= joined - behind.dueGap;
    }
    // A timer left for a departed first one just fires early and re-arms; a first one due sooner
    // needs a new one (and may already be due).
    if (--this.size === 0 || (!sooner && shift)) this.#rearm();
  }

  /** The due time of `waiter` (0 for none), summing the gaps from the first. */
  #dueOf(waiter: Waiter<T> | undefined): number {
    let due = 0;
    for (; waiter; waiter = waiter.sooner) due += waiter.dueGap;
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
      if (waiter.dueGap > (now as number)) return this.#arm(waiter, now as number);
      this.#remove(waiter, 0);
      this.#onDue(waiter, now as number);
    }
  }

  #arm(first: Waiter<T>, now: number): void {
    // Rounded up so the timer never fires before the first is due (fake and real timers truncate
    // fractional delays).
    if (first.dueGap < Infinity) {
      this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, Math.ceil(first.dueGap - now)));
    }
  }
}
