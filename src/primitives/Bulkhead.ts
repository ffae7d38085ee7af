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
import { InMemoryBulkheadStore, type BulkheadStore } from './BulkheadStore.js';

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

// Handed to every caller that gets a slot at once: the hot path allocates nothing for it.
const GRANTED: Promise<void> = Promise.resolve();

/**
 * Limits how many calls run at once. A call that finds every slot taken is rejected at once with
 * {@link BulkheadFullError} (fail fast), or, with `maxQueue > 0`, waits
 * first in first out for a slot, up to `maxWait`. A released slot goes straight to the next
 * waiter, so a newcomer can never take it first. A slot is held until the call it wraps settles,
 * even when the caller stopped waiting for it.
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
  // Slots held by this instance's callers (handed-over slots stay counted).
  #held = 0;
  // A remote `acquire` asked on behalf of the queue is in flight.
  #polling = false;
  readonly #onSettled = <T>(value: T): T => {
    this.#free();
    return value;
  };
  readonly #onFailed = (error: unknown): never => {
    this.#free();
    throw error;
  };
  readonly #wake = (): void => {
    while (!this.#polling && this.#queue.size !== 0) {
      const answer = this.#store.acquire();
      if (answer === false) return;
      if (answer === true) {
        this.#held++;
        this.#free();
        continue;
      }
      this.#polling = true;
      answer.then(
        (granted) => {
          this.#polling = false;
          if (!granted) return;
          // #free gives the slot to the head of the queue, or back if nobody waits any more.
          this.#held++;
          this.#free();
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
    if (this.#queue.size !== 0 || !this.#store.tryAcquire()) return false;
    this.#held++;
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
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason);
    if (this.#queue.size === 0) {
      const answer = this.#store.acquire();
      if (answer === true) {
        this.#held++;
        return GRANTED;
      }
      if (answer !== false) {
        return raceAbort(
          answer.then((granted) => this.#afterRemote(granted, signal)),
          signal,
        );
      }
    }
    return this.#queue.push(signal);
  }

  /**
   * Gives back a slot taken by `acquire` or a successful `tryAcquire`. The slot goes straight
   * to the next queued caller, if any.
   *
   * @throws Error when no slot is held: capacity never rises above `maxConcurrent`
   */
  release(): void {
    if (this.#held === 0) {
      throw new Error('Bulkhead.release() called without a held slot');
    }
    this.#free();
  }

  /**
   * Runs `fn` in a slot (see {@link Bulkhead.acquire}) and releases the slot when `fn` settles,
   * whether it resolves, rejects or throws. When the caller's signal aborts, rejects at once
   * with its reason; the slot stays held until `fn` settles.
   *
   * @param fn - the operation; it receives the caller's signal (or one that never aborts)
   * @param signal - the caller's signal
   */
  execute<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason);
    if (this.tryAcquire()) return this.#run(fn, signal);
    return this.acquire(signal).then(() => this.#run(fn, signal));
  }

  #run<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    if (signal !== undefined && signal.aborted) {
      this.#free();
      return Promise.reject(signal.reason);
    }
    let result: T | PromiseLike<T>;
    try {
      result = fn(signal ?? NEVER_ABORTED);
    } catch (error) {
      this.#free();
      return Promise.reject(error);
    }
    if (!isThenable(result)) {
      this.#free();
      return Promise.resolve(result);
    }
    return raceAbort(
      Promise.resolve(result).then(this.#onSettled, this.#onFailed) as Promise<T>,
      signal,
    );
  }

  #afterRemote(granted: boolean, signal: AbortSignal | undefined): Promise<void> {
    if (!granted) return this.#queue.push(signal);
    this.#held++;
    // The caller gave up while the store was deciding: the slot is not theirs to keep.
    if (signal !== undefined && signal.aborted) {
      this.#free();
      return Promise.reject(signal.reason);
    }
    return GRANTED;
  }

  #free(): void {
    const waiter = this.#queue.shift();
    if (waiter !== undefined) {
      waiter.resolve();
      return;
    }
    this.#held--;
    const done = this.#store.release();
    if (done !== undefined) done.then(noop, noop);
  }
}

/** A caller waiting for a slot; it is its own abort listener, so queueing needs no closure. */
class QueuedCaller implements EventListenerObject {
  readonly queue: CallerQueue;
  readonly signal: AbortSignal | undefined;
  deadline = Infinity;
  prev: QueuedCaller | undefined = undefined;
  next: QueuedCaller | undefined = undefined;
  resolve: () => void = noop;
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

  push(given: AbortSignal | undefined): Promise<void> {
    const signal = abortable(given);
    if (this.size >= this.#maxQueue || this.#maxWaitMs === 0) {
      return Promise.reject(this.#full());
    }
    const waiter = new QueuedCaller(this, signal);
    const promise = new Promise<void>((resolve, reject) => {
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
