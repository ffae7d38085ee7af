import type { Clock } from './clock.js';
import { listenAbort, unlistenAbort } from './abortListeners.js';

/**
 * A caller waiting in a {@link WaitQueue}. It is its own abort listener (`handleEvent`), so
 * waiting needs no closure beyond the promise's.
 */
export class Waiter<T> implements EventListenerObject {
  readonly q: WaitQueue<T>;
  /** What the owner keeps with the caller (the rate limiter's permits, the bulkhead's flag). */
  readonly n: number;
  readonly signal: AbortSignal | undefined;
  prev: Waiter<T> | undefined;
  next: Waiter<T> | undefined;
  /**
   * Milliseconds between the previous waiter's due time and this one's; for the head, its due
   * time.
   */
  gap = 0;
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;

  constructor(q: WaitQueue<T>, n: number, signal: AbortSignal | undefined) {
    this.q = q;
    this.n = n;
    this.signal = signal;
  }

  handleEvent(): void {
    this.q.abort(this);
  }
}

/**
 * Waiting callers in FIFO order, as a linked list with one timer (for the head's due time): O(1)
 * to join, to serve and to leave from anywhere. Due times are kept as gaps between neighbours,
 * so a caller leaving from anywhere in the line can move everyone behind it up in O(1). When the
 * head falls due, `onDue` answers it; when a caller's signal aborts, `onAbort` says how much
 * sooner everyone behind it falls due, and the caller is rejected with the signal's reason.
 * An infinite due time sets no timer; an empty queue holds none.
 */
export class WaitQueue<T> {
  size = 0;
  #head: Waiter<T> | undefined;
  #tail: Waiter<T> | undefined;
  #tailDue = 0;
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
    const waiter = new Waiter(this, n, signal);
    const promise = new Promise<T>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    const now = this.#clock.now();
    const due = now + waitMs;
    const tail = this.#tail;
    if (!tail) {
      this.#head = waiter;
      waiter.gap = this.#tailDue = due;
    } else {
      // A later caller may fall due sooner (a remote store's answer); it still goes after.
      waiter.gap = due > this.#tailDue ? due - this.#tailDue : 0;
      waiter.prev = tail;
      tail.next = waiter;
      this.#tailDue += waiter.gap;
    }
    this.#tail = waiter;
    this.size++;
    if (signal !== undefined) listenAbort(signal, waiter);
    if (!tail) this.#arm(waiter, now);
    return promise;
  }

  /** Takes the head of the queue, or undefined when nobody waits. */
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
      this.#tailDue -= waiter.gap;
    } else {
      next.prev = prev;
      const joined = waiter.gap + next.gap;
      next.gap = !prev || joined > shift ? joined - shift : 0;
      this.#tailDue -= joined - next.gap;
    }
    // A timer left for a departed head just fires early and re-arms; a head due sooner needs a
    // new one (and may already be due).
    if (--this.size === 0 || (!prev && shift)) {
      if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#serve();
    }
  }

  #serve(): void {
    const now = this.#head && this.#clock.now();
    for (let waiter = this.#head; waiter; waiter = this.#head) {
      if (waiter.gap > (now as number)) return this.#arm(waiter, now as number);
      this.#remove(waiter, 0);
      this.#onDue(waiter);
    }
  }

  #arm(head: Waiter<T>, now: number): void {
    // Rounded up so the timer never fires before the head is due (fake and real timers truncate
    // fractional delays).
    if (head.gap < Infinity) {
      this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, Math.ceil(head.gap - now)));
    }
  }
}
