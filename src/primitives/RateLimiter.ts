import { RateLimitExceededError } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import type { Duration } from '../internal/duration.js';
import { NEVER_ABORTED, noop, raceAbort, callAsync, abortable } from '../internal/signals.js';
import {
  clockOption,
  durationOption,
  knownKeys,
  numberOption,
  optionsObject,
  show,
} from '../internal/validate.js';
import { InMemoryRateLimiterStore, type RateLimiterStore } from './RateLimiterStore.js';

/** Options of a {@link RateLimiter}. */
export interface RateLimiterOptions {
  /**
   * Bucket capacity: the largest burst. The bucket starts full. A finite number >= 1 (a call
   * takes 1 token, so a smaller bucket could never serve one).
   * @defaultValue `10`
   */
  readonly maxTokens?: number;
  /**
   * Tokens added per second, up to `maxTokens`. Any finite number > 0 (`100 / 60` is 100 a minute).
   * @defaultValue `10`
   */
  readonly refillRate?: number;
  /**
   * Longest a caller waits, first in first out, for its tokens. `0`: reject at once when too few
   * tokens are available. `Infinity`: wait as long as it takes. A caller
   * whose tokens cannot arrive within `maxWait` is rejected at once rather than waiting in vain.
   * @defaultValue `0`
   */
  readonly maxWait?: Duration;
  /** Source of time. @defaultValue {@link systemClock} */
  readonly clock?: Clock;
  /**
   * Where the bucket lives; share one backend between processes to share one rate.
   * @defaultValue a new {@link InMemoryRateLimiterStore}
   */
  readonly store?: RateLimiterStore;
}

const DEFAULTS = Object.freeze({ maxTokens: 10, refillRate: 10, maxWait: 0 });
/** @internal Every option key the constructor accepts. */
export const RATE_LIMITER_OPTIONS = Object.freeze([
  'maxTokens',
  'refillRate',
  'maxWait',
  'clock',
  'store',
]);
const STORE_METHODS = Object.freeze(['configure', 'tryReserve', 'reserve', 'refund', 'available']);

interface ResolvedRateLimiterOptions {
  readonly maxTokens: number;
  readonly refillRate: number;
  readonly maxWaitMs: number;
  readonly clock: Clock;
  readonly store: RateLimiterStore;
}

// Handed to every caller served at once: an acquire on the hot path allocates nothing.
const GRANTED: Promise<void> = Promise.resolve();

/**
 * A token bucket. Each call takes tokens; tokens come back at `refillRate` per second, up to
 * `maxTokens`, computed lazily from the clock on each call (no background timer). With
 * `maxWait > 0`, callers that find too few tokens wait in FIFO order: tokens owed to callers
 * already waiting count before a newcomer's, and a caller whose tokens cannot arrive within
 * `maxWait` is rejected at once with {@link RateLimitExceededError} (its `retryAfterMs` says when
 * they would be).
 *
 * With a store that decides remotely, `tryAcquire` returns `false` whenever the store cannot
 * answer synchronously, `availableTokens` reports the last known shared count, and waiting is
 * FIFO among this process's callers.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ maxTokens: 5, refillRate: 2 }); // bursts of 5, then 2/s
 * try {
 *   await limiter.execute(() => callExternalApi());
 * } catch (e) {
 *   if (isRateLimitExceededError(e)) console.log(`retry in ${e.retryAfterMs} ms`);
 * }
 *
 * const patient = new RateLimiter({ maxTokens: 10, refillRate: 10, maxWait: '2s' });
 * await patient.acquire(3, request.signal); // waits (FIFO) up to 2 s for 3 tokens
 * ```
 */
export class RateLimiter {
  readonly #options: ResolvedRateLimiterOptions;
  readonly #store: RateLimiterStore;
  readonly #queue: TokenQueue;

  /**
   * @throws TypeError for an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options?: RateLimiterOptions) {
    const o = optionsObject(options, 'RateLimiter');
    knownKeys(o, RATE_LIMITER_OPTIONS, 'RateLimiter');
    const positive = (n: number): boolean => n > 0;
    // A call takes 1 token: a smaller bucket could never serve one.
    const maxTokens = numberOption(
      o.maxTokens,
      'maxTokens',
      (n) => n >= 1,
      '>= 1',
      DEFAULTS.maxTokens,
    );
    const refillRate = numberOption(
      o.refillRate,
      'refillRate',
      positive,
      '> 0',
      DEFAULTS.refillRate,
    );
    const maxWaitMs = durationOption(o.maxWait, 'maxWait', DEFAULTS.maxWait, true);
    const clock = clockOption(o.clock);
    const store = storeOption(o.store) ?? new InMemoryRateLimiterStore();
    this.#options = Object.freeze({ maxTokens, refillRate, maxWaitMs, clock, store });
    this.#store = store;
    this.#queue = new TokenQueue(clock, store, refillRate);
    // The store reads time through this facade so a policy can lend it the time it has already
    // read in the same synchronous turn (see tryAcquireAt), saving a clock read per call.
    const storeClock: Clock = Object.freeze({
      now: (): number => {
        const lent = this.#lentNow;
        return lent === lent ? lent : clock.now();
      },
      setTimeout: (fn: () => void, ms: number): unknown => clock.setTimeout(fn, ms),
      clearTimeout: (handle: unknown): void => clock.clearTimeout(handle),
    });
    store.configure(Object.freeze({ maxTokens, refillRate, clock: storeClock }));
  }

  #lentNow = NaN;

  /** @internal The clock given in the options. */
  get clock(): Clock {
    return this.#options.clock;
  }

  /**
   * @internal `tryAcquire(1)` deciding at time `now`, a reading of this limiter's clock taken
   * moments before in the same synchronous turn.
   */
  tryAcquireAt(now: number): boolean {
    if (this.#queue.size !== 0) return false;
    this.#lentNow = now;
    try {
      return this.#store.tryReserve(1);
    } finally {
      this.#lentNow = NaN;
    }
  }

  /** Bucket capacity (the largest burst). */
  get maxTokens(): number {
    return this.#options.maxTokens;
  }

  /** Tokens added per second. */
  get refillRate(): number {
    return this.#options.refillRate;
  }

  /** The longest a caller waits for tokens, in milliseconds (`Infinity`: no limit). */
  get maxWaitMs(): number {
    return this.#options.maxWaitMs;
  }

  /**
   * Tokens available now, in `[0, maxTokens]` (a fraction while the bucket refills; 0 while
   * callers wait for tokens owed to them). With a remote store, the last known shared count.
   */
  get availableTokens(): number {
    const tokens = this.#store.available();
    if (!(tokens > 0)) return 0;
    const max = this.#options.maxTokens;
    return tokens < max ? tokens : max;
  }

  /** Callers of this limiter waiting for their tokens. */
  get queued(): number {
    return this.#queue.size;
  }

  /**
   * A one-line summary of the settings, as `policy.describe()` shows it, e.g.
   * `10 tokens, refill 10/s, no wait` or `100 tokens, refill 50/s, max wait 2000 ms`.
   */
  describe(): string {
    const o = this.#options;
    const wait =
      o.maxWaitMs === 0
        ? 'no wait'
        : o.maxWaitMs === Infinity
          ? 'waits as long as needed'
          : `max wait ${o.maxWaitMs} ms`;
    return `${o.maxTokens} token${o.maxTokens === 1 ? '' : 's'}, refill ${o.refillRate}/s, ${wait}`;
  }

  /**
   * Takes `permits` tokens if they are available now and nobody is waiting; never waits.
   * With a remote store that cannot answer synchronously it returns `false` (use `acquire`).
   *
   * @param permits - tokens to take: a finite number > 0, at most `maxTokens`
   * @returns whether the tokens were taken
   * @throws TypeError when `permits` is not a number
   * @throws RangeError when `permits` is not > 0, not finite, or more than `maxTokens`
   */
  tryAcquire(permits = 1): boolean {
    if (permits !== 1) {
      const error = this.#permitError(permits);
      if (error !== undefined) throw error;
    }
    return this.#queue.size === 0 && this.#store.tryReserve(permits);
  }

  /**
   * Takes `permits` tokens. Resolves at once when they are available; otherwise, with
   * `maxWait > 0`, waits FIFO for them, or rejects at once with {@link RateLimitExceededError}
   * when they cannot arrive within `maxWait`. When `signal` aborts while waiting, the reserved
   * tokens go back to the bucket (those behind move up) and it rejects with `signal.reason`.
   *
   * An invalid `permits` is reported as a rejection (a `TypeError` or `RangeError`, as for
   * {@link RateLimiter.tryAcquire}), like every other failure of an async call.
   *
   * @param permits - tokens to take: a finite number > 0, at most `maxTokens`
   * @param signal - stops waiting when it aborts; an aborted signal rejects at once
   */
  acquire(permits = 1, signal?: AbortSignal): Promise<void> {
    if (permits !== 1) {
      const error = this.#permitError(permits);
      if (error !== undefined) return Promise.reject(error);
    }
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason);
    const answer = this.#store.reserve(permits, this.#options.maxWaitMs);
    if (typeof answer === 'number') {
      if (answer === 0) return GRANTED;
      return this.#settle(answer, permits, signal);
    }
    return raceAbort(
      answer.then((wait) => this.#settle(wait, permits, signal)),
      signal,
    );
  }

  /**
   * Takes one token (see {@link RateLimiter.acquire}), then runs `fn`. Rejects with
   * {@link RateLimitExceededError} without calling `fn` when the token is refused. When the
   * caller's signal aborts, rejects at once with its reason (`fn`, if started, runs on).
   *
   * @param fn - the operation; it receives the caller's signal (or one that never aborts)
   * @param signal - the caller's signal
   */
  execute<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason);
    if (this.#queue.size === 0 && this.#store.tryReserve(1)) {
      return raceAbort(callAsync(fn, signal ?? NEVER_ABORTED), signal);
    }
    return this.acquire(1, signal).then(() =>
      signal !== undefined && signal.aborted
        ? Promise.reject(signal.reason)
        : raceAbort(callAsync(fn, signal ?? NEVER_ABORTED), signal),
    );
  }

  #settle(answer: number, permits: number, signal: AbortSignal | undefined): Promise<void> {
    if (answer < 0) return Promise.reject(new RateLimitExceededError(-answer));
    // Only reachable on a remote store's late answer: the tokens were granted after the caller
    // gave up, so they go back.
    if (signal !== undefined && signal.aborted) {
      settleQuietly(this.#store.refund(permits));
      return Promise.reject(signal.reason);
    }
    if (answer === 0) return GRANTED;
    return this.#queue.push(permits, answer, signal);
  }

  #permitError(permits: unknown): Error | undefined {
    if (typeof permits !== 'number') {
      return new TypeError(`\`permits\` must be a finite number > 0, got ${show(permits)}`);
    }
    if (!(permits > 0) || permits === Infinity) {
      return new RangeError(`\`permits\` must be a finite number > 0, got ${show(permits)}`);
    }
    const max = this.#options.maxTokens;
    if (permits > max) {
      return new RangeError(
        `\`permits\` must be at most \`maxTokens\` (${max}) or it can never be served, got ${show(permits)}`,
      );
    }
    return undefined;
  }
}

/**
 * A caller waiting for reserved tokens. It is its own abort listener (`handleEvent`), so waiting
 * needs no closure beyond the promise's.
 */
class TokenWaiter implements EventListenerObject {
  readonly queue: TokenQueue;
  readonly permits: number;
  readonly signal: AbortSignal | undefined;
  prev: TokenWaiter | undefined = undefined;
  next: TokenWaiter | undefined = undefined;
  /** Milliseconds between the previous waiter's due time and this one's. */
  gap = 0;
  resolve: () => void = noop;
  reject: (reason: unknown) => void = noop;

  constructor(queue: TokenQueue, permits: number, signal: AbortSignal | undefined) {
    this.queue = queue;
    this.permits = permits;
    this.signal = signal;
  }

  handleEvent(): void {
    this.queue.abandon(this);
  }
}

/**
 * The limiter's waiting callers in FIFO order, as a linked list with one timer (for the head).
 * Due times are kept as gaps between neighbours, so a caller leaving from anywhere in the line
 * moves everyone behind it up by its refunded tokens' worth of time in O(1).
 */
class TokenQueue {
  size = 0;
  #head: TokenWaiter | undefined = undefined;
  #tail: TokenWaiter | undefined = undefined;
  #headDue = 0;
  #tailDue = 0;
  #timer: unknown = undefined;
  readonly #clock: Clock;
  readonly #store: RateLimiterStore;
  readonly #refillRate: number;
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#serveDue(this.#clock.now());
  };

  constructor(clock: Clock, store: RateLimiterStore, refillRate: number) {
    this.#clock = clock;
    this.#store = store;
    this.#refillRate = refillRate;
  }

  /** Queues a caller whose tokens are reserved and arrive in `waitMs`. */
  push(permits: number, waitMs: number, given: AbortSignal | undefined): Promise<void> {
    const signal = abortable(given);
    const waiter = new TokenWaiter(this, permits, signal);
    const promise = new Promise<void>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    const now = this.#clock.now();
    const due = now + waitMs;
    const tail = this.#tail;
    if (tail === undefined) {
      this.#head = waiter;
      this.#headDue = due;
      this.#tailDue = due;
    } else {
      // A remote store may answer a later caller with a shorter wait; it still goes after.
      waiter.gap = due > this.#tailDue ? due - this.#tailDue : 0;
      waiter.prev = tail;
      tail.next = waiter;
      this.#tailDue += waiter.gap;
    }
    this.#tail = waiter;
    this.size++;
    if (signal !== undefined) signal.addEventListener('abort', waiter);
    if (waiter === this.#head) this.#arm(now);
    return promise;
  }

  /** Removes a caller whose signal aborted, refunds its tokens and rejects it. */
  abandon(waiter: TokenWaiter): void {
    const signal = waiter.signal as AbortSignal;
    signal.removeEventListener('abort', waiter);
    // The refunded tokens arrive this much sooner for everyone behind it.
    const shift = (waiter.permits * 1000) / this.#refillRate;
    const { prev, next } = waiter;
    waiter.prev = undefined;
    waiter.next = undefined;
    this.size--;
    settleQuietly(this.#store.refund(waiter.permits));
    if (prev === undefined) {
      this.#head = next;
      this.#cancelTimer();
      if (next === undefined) {
        this.#tail = undefined;
      } else {
        next.prev = undefined;
        this.#headDue += next.gap - shift;
        this.#tailDue -= shift;
        this.#serveDue(this.#clock.now());
      }
    } else {
      prev.next = next;
      if (next === undefined) {
        this.#tail = prev;
        this.#tailDue -= waiter.gap;
      } else {
        next.prev = prev;
        const joined = waiter.gap + next.gap;
        next.gap = joined > shift ? joined - shift : 0;
        this.#tailDue -= joined - next.gap;
      }
    }
    waiter.reject(signal.reason);
  }

  #serveDue(now: number): void {
    let waiter = this.#head;
    while (waiter !== undefined && this.#headDue <= now) {
      const next = waiter.next;
      this.#head = next;
      this.size--;
      waiter.next = undefined;
      if (waiter.signal !== undefined) waiter.signal.removeEventListener('abort', waiter);
      waiter.resolve();
      if (next === undefined) {
        this.#tail = undefined;
      } else {
        next.prev = undefined;
        this.#headDue += next.gap;
      }
      waiter = next;
    }
    if (waiter !== undefined) this.#arm(now);
  }

  #arm(now: number): void {
    // Rounded up so the timer never fires before the tokens are there (fake and real timers
    // truncate fractional delays).
    const delay = Math.ceil(this.#headDue - now);
    this.#timer = this.#clock.setTimeout(this.#onTimer, delay > 0 ? delay : 0);
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}

/** Keeps a remote store's failed refund from becoming an unhandled rejection. */
function settleQuietly(result: void | Promise<void>): void {
  if (result !== undefined) result.then(noop, noop);
}

function storeOption(value: unknown): RateLimiterStore | undefined {
  if (value === undefined) return undefined;
  const store = value as Record<string, unknown> | null;
  if (
    store === null ||
    typeof store !== 'object' ||
    STORE_METHODS.some((m) => typeof store[m] !== 'function')
  ) {
    throw new TypeError(
      `\`store\` must be a RateLimiterStore with ${STORE_METHODS.map((m) => `${m}()`).join(', ')}, got ${show(value)}`,
    );
  }
  return value as RateLimiterStore;
}
