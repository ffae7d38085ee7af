import { BulkheadFullError } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import type { Duration } from '../internal/duration.js';
import { NEVER_ABORTED, noop, raceAbort, isThenable, abortable } from '../internal/signals.js';
import {
  clockOption,
  durationOption,
  integerOption,
  knownKeys,
  optionsObject,
  show,
} from '../internal/validate.js';
import { InMemoryBulkheadStore, type BulkheadStore, type BulkheadTicket } from './BulkheadStore.js';

/** Options of a {@link Bulkhead}. */
export interface BulkheadOptions {
  /**
   * Calls allowed at once: an integer >= 1.
   * @defaultValue `10`
   */
  readonly maxConcurrent?: number;
  /**
   * Callers allowed to wait, first in first out, for a slot: an integer >= 0. `0` rejects at
   * once when every slot is taken (fail fast).
   * @defaultValue `0`
   */
  readonly maxQueue?: number;
  /**
   * Longest a queued caller waits for a slot before it is rejected with
   * {@link BulkheadFullError}. `0` never queues; `Infinity` is the same as leaving it out.
   * @defaultValue none (a queued caller waits until a slot frees or its signal aborts)
   */
  readonly maxWait?: Duration;
  /** Source of time. @defaultValue {@link systemClock} */
  readonly clock?: Clock;
  /**
   * Where the count of slots in use lives; share one backend between processes to share one
   * limit.
   * @defaultValue a new {@link InMemoryBulkheadStore}
   */
  readonly store?: BulkheadStore;
}

const DEFAULTS = Object.freeze({ maxConcurrent: 10, maxQueue: 0, maxWait: Infinity });
/** @internal Every option key the constructor accepts. */
export const BULKHEAD_OPTIONS = Object.freeze([
  'maxConcurrent',
  'maxQueue',
  'maxWait',
  'clock',
  'store',
]);
const STORE_METHODS = Object.freeze(['configure', 'tryAcquire', 'acquire', 'release', 'inUse']);

interface ResolvedBulkheadOptions {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly maxWaitMs: number;
  readonly clock: Clock;
  readonly store: BulkheadStore;
}

/**
 * Limits how many calls run at once. A call that finds every slot taken is rejected at once with
 * {@link BulkheadFullError} (fail fast), or, with `maxQueue > 0`, waits
 * first in first out for a slot, up to `maxWait`. A released slot goes straight to the next
 * waiter, so a newcomer can never take it first. A slot is held until the work it wraps settles,
 * even when the caller stopped waiting for it: such calls are counted as {@link Bulkhead.orphaned}.
 *
 * With a store that decides remotely, `tryAcquire` returns `false` whenever the store cannot
 * answer synchronously, `availableSlots` reports the last known shared count, and queued callers
 * are served by this process's releases and when the store reports slots freed elsewhere.
 *
 * @example
 * ```ts
 * const db = new Bulkhead({ maxConcurrent: 20, maxQueue: 100, maxWait: '2s' });
 * const rows = await db.execute((signal) => pool.query(sql, { signal }));
 *
 * // or by hand
 * await db.acquire();
 * try {
 *   await slowQuery();
 * } finally {
 *   db.release();
 * }
 * ```
 */
export class Bulkhead {
  readonly #options: ResolvedBulkheadOptions;
  readonly #store: BulkheadStore;
  readonly #queue: CallerQueue;
  // Tickets of the slots taken by hand (`acquire`, `tryAcquire`), for `release()`. Slots held by
  // `execute` and by policies are held by their ticket and never appear here, so a stray
  // `release()` cannot free them.
  readonly #manual: BulkheadTicket[] = [];
  // Calls answered (rejected, timed out, aborted) whose work still runs in a slot.
  #orphaned = 0;
  // A remote `acquire` asked on behalf of the queue is in flight.
  #polling = false;
  readonly #wake = (): void => {
    while (!this.#polling && this.#queue.size !== 0) {
      let answer: ReturnType<BulkheadStore['acquire']>;
      try {
        answer = this.#store.acquire();
      } catch {
        return;
      }
      if (answer === false) return;
      if (!isThenable(answer)) {
        this.giveSlot(answer);
        continue;
      }
      this.#polling = true;
      answer.then(
        (ticket) => {
          this.#polling = false;
          if (ticket === false) return;
          // giveSlot hands the slot to the head of the queue, or back if nobody waits any more.
          this.giveSlot(ticket);
          this.#wake();
        },
        () => {
          this.#polling = false;
        },
      );
    }
  };

  /**
   * @throws TypeError for an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options?: BulkheadOptions) {
    const o = optionsObject(options, 'Bulkhead');
    knownKeys(o, BULKHEAD_OPTIONS, 'Bulkhead');
    const maxConcurrent = integerOption(
      o.maxConcurrent,
      'maxConcurrent',
      1,
      DEFAULTS.maxConcurrent,
    );
    const maxQueue = integerOption(o.maxQueue, 'maxQueue', 0, DEFAULTS.maxQueue);
    const maxWaitMs = durationOption(o.maxWait, 'maxWait', DEFAULTS.maxWait, true);
    const clock = clockOption(o.clock);
    const store: BulkheadStore = storeOption(o.store) ?? new InMemoryBulkheadStore();
    this.#options = Object.freeze({ maxConcurrent, maxQueue, maxWaitMs, clock, store });
    this.#store = store;
    this.#queue = new CallerQueue(clock, maxQueue, maxWaitMs, maxConcurrent);
    store.configure(Object.freeze({ maxConcurrent, clock }));
    if (typeof store.subscribe === 'function') store.subscribe(this.#wake);
  }

  /** Calls allowed at once. */
  get maxConcurrent(): number {
    return this.#options.maxConcurrent;
  }

  /** Callers allowed to wait for a slot. */
  get maxQueue(): number {
    return this.#options.maxQueue;
  }

  /** Longest a queued caller waits, in milliseconds (`Infinity`: no limit). */
  get maxWaitMs(): number {
    return this.#options.maxWaitMs;
  }

  /**
   * Free slots, in `[0, maxConcurrent]`. With a remote store, from the last known shared count.
   */
  get availableSlots(): number {
    const max = this.#options.maxConcurrent;
    const free = max - this.#store.inUse();
    return free <= 0 ? 0 : free < max ? free : max;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.#queue.size;
  }

  /**
   * Calls whose caller has been answered (a deadline inside the bulkhead passed, or the caller
   * aborted) while their work still runs and holds its slot. Each slot comes back when its work
   * settles; work that honours its signal ends at the deadline or abort.
   */
  get orphaned(): number {
    return this.#orphaned;
  }

  /**
   * A one-line summary of the settings, as `policy.describe()` shows it, e.g.
   * `10 concurrent calls, no queue` or `10 concurrent calls, queue 100, max wait 2000 ms`.
   */
  describe(): string {
    const o = this.#options;
    const text = `${o.maxConcurrent} concurrent call${o.maxConcurrent === 1 ? '' : 's'}`;
    if (o.maxQueue === 0 || o.maxWaitMs === 0) return `${text}, no queue`;
    return `${text}, queue ${o.maxQueue}${o.maxWaitMs === Infinity ? '' : `, max wait ${o.maxWaitMs} ms`}`;
  }

  /**
   * Takes a slot if one is free and nobody is queued for one; never waits. Pair a `true` with
   * {@link Bulkhead.release}. With a remote store that cannot answer synchronously it returns
   * `false` (use `acquire`).
   */
  tryAcquire(): boolean {
    const ticket = this.takeSlot();
    if (ticket === false) return false;
    this.#manual.push(ticket);
    return true;
  }

  /**
   * Takes a slot. Resolves at once when one is free; otherwise queues the caller (FIFO) when
   * the queue has room, or rejects at once with {@link BulkheadFullError}. A queued caller is
   * rejected with {@link BulkheadFullError} when `maxWait` runs out, and with `signal.reason`
   * (leaving the queue at once) when its signal aborts. Pair a resolved acquire with
   * {@link Bulkhead.release}.
   *
   * @param signal - stops waiting when it aborts; an aborted signal rejects at once
   */
  acquire(signal?: AbortSignal): Promise<void> {
    return this.waitSlot(signal, true).then(noop);
  }

  /**
   * Gives back a slot taken by `acquire` or a successful `tryAcquire`. The slot goes straight
   * to the next queued caller, if any. Slots held by `execute` or by a policy are not freed by
   * this method: they come back when their work settles.
   *
   * @throws Error when no slot taken by `acquire` or `tryAcquire` is held; nothing changes then
   */
  release(): void {
    const ticket = this.#manual.pop();
    if (ticket === undefined) {
      throw new Error(
        'Bulkhead.release() called without a held slot taken by acquire() or tryAcquire(); slots held by execute() or a policy come back when their work settles',
      );
    }
    this.giveSlot(ticket);
  }

  /**
   * Runs `fn` in a slot (see {@link Bulkhead.acquire}) and releases the slot when `fn` settles,
   * whether it resolves, rejects or throws. When the caller's signal aborts, rejects at once
   * with its reason; the slot stays held (counted in {@link Bulkhead.orphaned}) until `fn`
   * settles.
   *
   * @param fn - the operation; it receives the caller's signal (or one that never aborts)
   * @param signal - the caller's signal
   */
  execute<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason);
    const ticket = this.takeSlot();
    if (ticket !== false) return this.#run(fn, signal, ticket);
    return this.waitSlot(signal).then((granted) => this.#run(fn, signal, granted));
  }

  /**
   * @internal Takes a slot now, for a caller that holds it by its ticket: the ticket, or `false`
   * when none is free (or the store cannot answer synchronously, or callers are queued).
   */
  takeSlot(): false | BulkheadTicket {
    if (this.#queue.size !== 0) return false;
    return this.#store.tryAcquire();
  }

  /**
   * @internal Takes a slot, waiting in the queue as `acquire` does: resolves with its ticket,
   * which the holder hands back to {@link Bulkhead.giveSlot}.
   */
  waitSlot(given?: AbortSignal, manual = false): Promise<BulkheadTicket> {
    const signal = abortable(given);
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason);
    if (this.#queue.size === 0) {
      let answer: ReturnType<BulkheadStore['acquire']>;
      try {
        answer = this.#store.acquire();
      } catch (error) {
        return Promise.reject(error);
      }
      if (answer !== false) {
        if (!isThenable(answer)) {
          if (manual) this.#manual.push(answer);
          return Promise.resolve(answer);
        }
        return raceAbort(
          Promise.resolve(answer).then((ticket) => this.#afterRemote(ticket, signal, manual)),
          signal,
        );
      }
    }
    return this.#queue.push(signal, manual);
  }

  /**
   * @internal Gives back the slot `ticket` names: to the next queued caller, or to the store.
   */
  giveSlot(ticket: BulkheadTicket): void {
    const waiter = this.#queue.shift();
    if (waiter !== undefined) {
      // A slot handed to a caller of `acquire` is theirs to `release()` from now on.
      if (waiter.manual) this.#manual.push(ticket);
      waiter.resolve(ticket);
      return;
    }
    let done: void | Promise<void>;
    try {
      done = this.#store.release(ticket);
    } catch {
      return;
    }
    if (done !== undefined) done.then(noop, noop);
  }

  /** @internal Counts a call answered while its work still holds a slot (or stops counting it). */
  orphan(delta: 1 | -1): void {
    this.#orphaned += delta;
  }

  #run<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    signal: AbortSignal | undefined,
    ticket: BulkheadTicket,
  ): Promise<T> {
    if (signal !== undefined && signal.aborted) {
      this.giveSlot(ticket);
      return Promise.reject(signal.reason);
    }
    let work: Promise<T>;
    try {
      const result = fn(signal ?? NEVER_ABORTED);
      // Reading `then` may throw (a getter, a hostile Proxy): a rejection like any other.
      if (!isThenable(result)) {
        this.giveSlot(ticket);
        return Promise.resolve(result);
      }
      work = Promise.resolve(result);
    } catch (error) {
      this.giveSlot(ticket);
      return Promise.reject(error);
    }
    const live = abortable(signal);
    if (live === undefined) {
      return work.then(
        (value) => {
          this.giveSlot(ticket);
          return value;
        },
        (error: unknown) => {
          this.giveSlot(ticket);
          throw error;
        },
      );
    }
    return new Promise<T>((resolve, reject) => {
      let answered = false;
      const onAbort = (): void => {
        answered = true;
        this.#orphaned++;
        reject(live.reason);
      };
      live.addEventListener('abort', onAbort, { once: true });
      const settle = (): void => {
        live.removeEventListener('abort', onAbort);
        if (answered) this.#orphaned--;
        this.giveSlot(ticket);
      };
      work.then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    });
  }

  #afterRemote(
    ticket: false | BulkheadTicket,
    signal: AbortSignal | undefined,
    manual: boolean,
  ): Promise<BulkheadTicket> | BulkheadTicket {
    // The caller gave up while the store was deciding: it must neither keep a slot nor wait in
    // the queue (nobody would ever release what it got there).
    if (signal !== undefined && signal.aborted) {
      if (ticket !== false) this.giveSlot(ticket);
      return Promise.reject(signal.reason);
    }
    if (ticket === false) return this.#queue.push(signal, manual);
    if (manual) this.#manual.push(ticket);
    return ticket;
  }
}

/** A caller waiting for a slot; it is its own abort listener, so queueing needs no closure. */
class QueuedCaller implements EventListenerObject {
  readonly queue: CallerQueue;
  readonly signal: AbortSignal | undefined;
  /** Waits in `acquire` (its slot is released by hand), not for `execute` or a policy. */
  manual = false;
  deadline = Infinity;
  prev: QueuedCaller | undefined = undefined;
  next: QueuedCaller | undefined = undefined;
  resolve: (ticket: BulkheadTicket) => void = noop;
  reject: (reason: unknown) => void = noop;

  constructor(queue: CallerQueue, signal: AbortSignal | undefined) {
    this.queue = queue;
    this.signal = signal;
  }

  handleEvent(): void {
    this.queue.abandon(this);
  }
}

/**
 * The waiting callers, FIFO, as a linked list: O(1) to join, to serve and to leave from
 * anywhere. Every caller waits the same `maxWait`, so deadlines come in queue order and one
 * timer (for the head's deadline) serves the whole queue; it is cleared when the queue empties.
 */
class CallerQueue {
  size = 0;
  #head: QueuedCaller | undefined = undefined;
  #tail: QueuedCaller | undefined = undefined;
  #timer: unknown = undefined;
  readonly #clock: Clock;
  readonly #maxQueue: number;
  readonly #maxWaitMs: number;
  readonly #maxConcurrent: number;
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    const now = this.#clock.now();
    let waiter = this.#head;
    while (waiter !== undefined && waiter.deadline <= now) {
      this.#unlink(waiter);
      waiter.reject(this.#full());
      waiter = this.#head;
    }
    if (waiter !== undefined) this.#arm(waiter, now);
  };

  constructor(clock: Clock, maxQueue: number, maxWaitMs: number, maxConcurrent: number) {
    this.#clock = clock;
    this.#maxQueue = maxQueue;
    this.#maxWaitMs = maxWaitMs;
    this.#maxConcurrent = maxConcurrent;
  }

  push(given: AbortSignal | undefined, manual: boolean): Promise<BulkheadTicket> {
    const signal = abortable(given);
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason);
    if (this.size >= this.#maxQueue || this.#maxWaitMs === 0) {
      return Promise.reject(this.#full());
    }
    const waiter = new QueuedCaller(this, signal);
    waiter.manual = manual;
    const promise = new Promise<BulkheadTicket>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    const tail = this.#tail;
    if (tail === undefined) this.#head = waiter;
    else {
      tail.next = waiter;
      waiter.prev = tail;
    }
    this.#tail = waiter;
    this.size++;
    if (signal !== undefined) signal.addEventListener('abort', waiter);
    if (this.#maxWaitMs !== Infinity) {
      const now = this.#clock.now();
      waiter.deadline = now + this.#maxWaitMs;
      if (this.#timer === undefined) this.#arm(waiter, now);
    }
    return promise;
  }

  /** Takes the head of the queue (to hand it a slot), or undefined when nobody waits. */
  shift(): QueuedCaller | undefined {
    const waiter = this.#head;
    if (waiter !== undefined) this.#unlink(waiter);
    return waiter;
  }

  /** Removes a caller whose signal aborted and rejects it with the reason. */
  abandon(waiter: QueuedCaller): void {
    this.#unlink(waiter);
    waiter.reject((waiter.signal as AbortSignal).reason);
  }

  #unlink(waiter: QueuedCaller): void {
    const { prev, next } = waiter;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    if (waiter.signal !== undefined) waiter.signal.removeEventListener('abort', waiter);
    // A timer left for a departed head just fires early and re-arms; only an empty queue needs
    // it gone, so an idle bulkhead holds no timer.
    if (--this.size === 0 && this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #arm(head: QueuedCaller, now: number): void {
    const delay = Math.ceil(head.deadline - now);
    this.#timer = this.#clock.setTimeout(this.#onTimer, delay > 0 ? delay : 0);
  }

  #full(): BulkheadFullError {
    return new BulkheadFullError(this.#maxConcurrent, this.#maxQueue);
  }
}

function storeOption(value: unknown): BulkheadStore | undefined {
  if (value === undefined) return undefined;
  const store = value as Record<string, unknown> | null;
  if (
    store === null ||
    typeof store !== 'object' ||
    STORE_METHODS.some((m) => typeof store[m] !== 'function') ||
    (store.subscribe !== undefined && typeof store.subscribe !== 'function')
  ) {
    throw new TypeError(
      `\`store\` must be a BulkheadStore with ${STORE_METHODS.map((m) => `${m}()`).join(', ')}, got ${show(value)}`,
    );
  }
  return value as BulkheadStore;
}
