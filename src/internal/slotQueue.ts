import type { Clock } from './clock.js';
import { listenAbort, unlistenAbort } from './abortListeners.js';
import { ownTimers } from './timerMode.js';
import { ownTimer, Waiter } from './waitQueue.js';

/** @internal A caller waiting in a {@link SlotQueue}, which keeps it in two orders. */
export class SlotWaiter<T> extends Waiter<T> {
  declare q: SlotQueue<T>;
  declare prev: SlotWaiter<T> | undefined;
  declare next: SlotWaiter<T> | undefined;
  /** When it was queued, on the queue's clock. */
  readonly queuedAt: number;
  /** When it falls due, on the queue's clock (`Infinity`: never). */
  readonly due: number;
  // Due order (served by the timer): the same as arrival order unless a caller falls due sooner
  // than one queued before it (see `SlotQueue`).
  sooner: SlotWaiter<T> | undefined;
  behind: SlotWaiter<T> | undefined;

  constructor(
    q: SlotQueue<T>,
    n: number,
    signal: AbortSignal | undefined,
    at: number,
    due: number,
  ) {
    super(q, n, signal);
    this.queuedAt = at;
    this.due = due;
  }
}

/**
 * @internal The callers waiting for a bulkhead's slot, in FIFO order, each refused at a deadline
 * of its own, as a linked list with one timer (for the first due time): O(1) to serve and to
 * leave from anywhere. Due times are kept in a second list through the same waiters, in due
 * order: the arrival order, so joining is O(1), unless callers moved in (`transferTo`, as a
 * reloaded bulkhead does) wait longer than those queued after them: a caller due sooner than the
 * last then goes into the due list where its due time falls, while it still comes last for
 * `shift`. Nobody falls due sooner when another leaves, so due times are kept as they are, not as
 * gaps. When the first falls due, `onDue` answers it; a caller whose signal aborts leaves,
 * rejected with the signal's reason; `onEmpty`, if given, is told each time the last one leaves
 * (served, due or aborted; not when `transferTo` moves them all away). An infinite due time sets
 * no timer; an empty queue holds none. (The rate limiter's line, whose later callers wait their
 * turn and move up when one ahead leaves, is a `WaitQueue`; it holds none of this, so a bundle
 * without the bulkhead does not.)
 */
export class SlotQueue<T> {
  size = 0;
  // Arrival order.
  #head: SlotWaiter<T> | undefined;
  #tail: SlotWaiter<T> | undefined;
  // Due order.
  #first: SlotWaiter<T> | undefined;
  #last: SlotWaiter<T> | undefined;
  #timer: unknown;
  readonly #clock: Clock;
  readonly #onDue: (waiter: SlotWaiter<T>, now: number) => void;
  // Told each time the last caller leaves (served, due, aborted), not when all move away.
  readonly #onEmpty: (() => void) | undefined;
  // Each caller arms a timer of its own (see `ownTimer`), and the queue none: read when made.
  readonly #own = ownTimers;
  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#serve();
  };

  constructor(
    clock: Clock,
    onDue: (waiter: SlotWaiter<T>, now: number) => void,
    onEmpty?: () => void,
  ) {
    this.#clock = clock;
    this.#onDue = onDue;
    this.#onEmpty = onEmpty;
  }

  /** Queues a caller that falls due in `waitMs` (`Infinity`: never). */
  push(n: number, waitMs: number, signal: AbortSignal | undefined): Promise<T> {
    const now = this.#clock.now();
    const waiter = new SlotWaiter(this, n, signal, now, now + waitMs);
    const promise = new Promise<T>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    if (signal !== undefined) listenAbort(signal, waiter);
    // The first due (the first queued, or one due sooner than callers moved in): the timer is its
    // own (one set for another is early).
    if (this.#link(waiter)) this.#rearm();
    // Served by the queue it is in when the timer fires (`transferTo` may have moved it).
    if (this.#own) ownTimer(this.#clock, waiter, promise, waiter.due, () => waiter.q.#serve());
    return promise;
  }

  /**
   * Appends `waiter` in arrival order, and in due order after everyone due no later: the last,
   * unless callers moved in wait longer. Returns whether it is now the first due. (Its `next` is
   * left as it was: undefined for a new caller, the next to move for one `transferTo` moves.)
   */
  #link(waiter: SlotWaiter<T>): boolean {
    const tail = this.#tail;
    if (!tail) this.#head = waiter;
    else {
      waiter.prev = tail;
      tail.next = waiter;
    }
    this.#tail = waiter;
    this.size++;
    let sooner = this.#last;
    let behind: SlotWaiter<T> | undefined;
    while (sooner && sooner.due > waiter.due) sooner = (behind = sooner).sooner;
    waiter.sooner = sooner;
    waiter.behind = behind;
    if (sooner) sooner.behind = waiter;
    else this.#first = waiter;
    if (behind) behind.sooner = waiter;
    else this.#last = waiter;
    return !sooner;
  }

  /**
   * Moves every caller waiting here into `target`, behind those waiting there already (first in
   * first out: `target`'s own come first), in their order, each keeping its due time, its signal
   * and when it was queued; `bring` sees each first. This queue is left empty, with no timer.
   */
  transferTo(target: SlotQueue<T>, bring: (waiter: SlotWaiter<T>) => void): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    // In order: each keeps its `next` (see `#link`), whose `prev` it becomes.
    for (let waiter = this.#head; waiter; waiter = waiter.next) {
      waiter.q = target;
      bring(waiter);
      target.#link(waiter);
    }
    this.#timer = this.#head = this.#tail = this.#first = this.#last = undefined;
    this.size = 0;
    // The first may be due already.
    target.#rearm();
  }

  /** When the first in line was queued, on the queue's clock: undefined when nobody waits. */
  since(): number | undefined {
    return this.#head?.queuedAt;
  }

  /** Takes the first in line, or undefined when nobody waits. */
  shift(): SlotWaiter<T> | undefined {
    const waiter = this.#head;
    if (waiter) this.#remove(waiter);
    return waiter;
  }

  /** Removes a caller whose signal aborted and rejects it with the reason. */
  abort(waiter: SlotWaiter<T>): void {
    this.#remove(waiter);
    waiter.reject((waiter.signal as AbortSignal).reason);
  }

  /** Unlinks `waiter`. */
  #remove(waiter: SlotWaiter<T>): void {
    const { prev, next, sooner, behind } = waiter;
    waiter.left = true;
    if (waiter.signal !== undefined) unlistenAbort(waiter.signal, waiter);
    if (!prev) this.#head = next;
    else prev.next = next;
    if (!next) this.#tail = prev;
    else next.prev = prev;
    if (!sooner) this.#first = behind;
    else sooner.behind = behind;
    if (!behind) this.#last = sooner;
    else behind.sooner = sooner;
    // A timer left for a departed first one just fires early and re-arms.
    if (--this.size === 0) {
      this.#rearm();
      try {
        this.#onEmpty?.();
      } catch {
        // A store's hook that throws (a custom clock, say) must not break the queue: the waiter
        // is answered all the same, and a store that missed the news learns it at its next poll.
      }
    }
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
      if (waiter.due > (now as number)) return this.#arm(waiter, now as number);
      this.#remove(waiter);
      this.#onDue(waiter, now as number);
    }
  }

  #arm(first: SlotWaiter<T>, now: number): void {
    // Rounded up so the timer never fires before the first is due (fake and real timers truncate
    // fractional delays). With timers of their own, the first one's serves it.
    if (first.due < Infinity && !this.#own) {
      this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, Math.ceil(first.due - now)));
    }
  }
}
