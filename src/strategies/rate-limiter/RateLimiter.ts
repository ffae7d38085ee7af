import { RateLimitExceededError } from '../../errors.js';
import type { SignalWork } from '../../internal/resolved.js';
import { refusalFrom } from '../../internal/refusal.js';
import type { Clock } from '../../internal/clock.js';
import type { Duration } from '../../internal/duration.js';
import {
  NEVER_ABORTED,
  noop,
  raceAbort,
  callAsync,
  abortable,
  refusedCall,
  badSignal,
  refuseSignal,
} from '../../internal/signals.js';
import { storeGivesSnapshot, storeOption, storeTakesSnapshot } from '../../internal/store.js';
import {
  clockOption,
  durationOption,
  numberOption,
  optionsObject,
  unboundError,
} from '../../internal/validate.js';
import { fail } from '../../internal/duration.js';
import { WaitQueue } from '../../internal/waitQueue.js';
import { setReadonly } from '../../internal/readonly.js';
import { InMemoryRateLimiterStore, type RateLimiterStore } from './store.js';
import { wallNow } from '../../internal/clock.js';
import { field, isSpan, readEnvelope, SNAPSHOT_VERSION } from '../../internal/snapshot.js';

/** Options of a {@link RateLimiter}. */
export interface RateLimiterOptions {
  /**
   * Bucket capacity: the largest burst. The bucket starts full. A finite number >= 1 (a call
   * takes 1 token, so a smaller bucket could never serve one).
   * @defaultValue `10`
   */
  readonly maxTokens?: number | undefined;
  /**
   * Tokens added per second, up to `maxTokens`. Any finite number > 0 (`100 / 60` is 100 a minute).
   * @defaultValue `10`
   */
  readonly refillRate?: number | undefined;
  /**
   * Longest a caller waits, first in first out, for its tokens. `0`: reject at once when too few
   * tokens are available. `Infinity`: wait as long as it takes. A caller
   * whose tokens cannot arrive within `maxWait` is rejected at once rather than waiting in vain.
   * @defaultValue `0`
   */
  readonly maxWait?: Duration | undefined;
  /** Source of time. @defaultValue {@link systemClock} */
  readonly clock?: Clock | undefined;
  /**
   * Where the bucket lives; share one backend between processes to share one rate.
   * @defaultValue a new {@link InMemoryRateLimiterStore}
   */
  readonly store?: RateLimiterStore | undefined;
  /**
   * A snapshot from {@link RateLimiter.toJSON} (as an object, e.g. `JSON.parse` of a saved
   * string) to start from instead of a full bucket: its token count, refilled at this limiter's
   * `refillRate` for the wall-clock time elapsed since it was taken, and capped at `maxTokens`.
   * A snapshot of another format or version, or a corrupt one, is refused here with a
   * `TypeError` or `RangeError` naming `initialState`. Only with the in-memory store (a shared
   * store keeps its state itself). Configuration may give it too (`initial-state`: the same JSON).
   * @defaultValue none (the bucket starts full)
   */
  readonly initialState?: RateLimiterSnapshot | undefined;
}

/**
 * What {@link RateLimiter.toJSON} returns and `initialState` takes: plain JSON data, taken at the
 * wall-clock instant `takenAt`.
 */
export interface RateLimiterSnapshot {
  /** What it is a snapshot of. */
  readonly format: 'bulwark.rate-limiter';
  /** The version of the format (1). A snapshot of another version is refused. */
  readonly version: number;
  /** Wall-clock time it was taken, in milliseconds since the epoch (the system's clock). */
  readonly takenAt: number;
  /** Tokens in the bucket when taken (below 0 while callers waited for tokens owed to them). */
  readonly tokens: number;
  /** The bucket's capacity when taken (for reference: a restoring bucket caps at its own). */
  readonly maxTokens: number;
  /** Its refill rate when taken, per second (for reference). */
  readonly refillRate: number;
}

/** @internal Every option key the constructor accepts. */
export const RATE_LIMITER_OPTIONS = Object.freeze([
  'maxTokens',
  'refillRate',
  'maxWait',
  'clock',
  'store',
  'initialState',
]);
const STORE_METHODS = Object.freeze(['configure', 'tryReserve', 'reserve', 'refund', 'available']);
const STORE_OPTIONAL = Object.freeze(['tryReserveKnown']);

// Handed to every caller served at once: an acquire on the hot path allocates nothing.
const GRANTED: Promise<void> = Promise.resolve();

/**
 * A token bucket. Each call takes tokens; tokens come back at `refillRate` per second, up to
 * `maxTokens`, computed lazily from the clock on each call (no background timer). With
 * `maxWait > 0`, callers that find too few tokens wait in FIFO order: tokens owed to callers
 * already waiting count before a newcomer's, and a caller whose tokens cannot arrive within
 * `maxWait` is rejected at once with {@link RateLimitExceededError} (its `retryAfterMs` says when
 * they would be: a lower bound, which a host timer set for it may undershoot).
 *
 * With a store that decides remotely, `tryAcquire` decides on the last known shared count (a
 * store without that ability answers `false`), `availableTokens` reports that count, and
 * waiting is FIFO among this process's callers. `acquire` and `execute` always ask the store.
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
  /** Bucket capacity (the largest burst). */
  declare readonly maxTokens: number;
  /** Tokens added per second. */
  declare readonly refillRate: number;
  /** The longest a caller waits for tokens, in milliseconds (`Infinity`: no limit). */
  declare readonly maxWaitMs: number;
  readonly #clock: Clock;

  /** @internal The clock given in the options. */
  get clock(): Clock {
    return this.#clock;
  }

  readonly #store: RateLimiterStore;
  // The store's optional `tryReserveKnown`, looked up once: a store object is fixed by the time
  // it serves a limiter.
  readonly #tryKnown: ((permits: number) => boolean) | undefined;
  // Callers waiting for reserved tokens, each due when its tokens arrive.
  readonly #queue: WaitQueue<void>;
  // A clock reading lent to the store for one decision (NaN: none).
  #lent = NaN;

  /**
   * @throws TypeError for an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options?: RateLimiterOptions) {
    const o = optionsObject(options, 'RateLimiter', RATE_LIMITER_OPTIONS);
    // A call takes 1 token: a smaller bucket could never serve one.
    const maxTokens = numberOption(o.maxTokens, 'maxTokens', (n) => n >= 1, '>= 1', 10);
    const refillRate = numberOption(o.refillRate, 'refillRate', (n) => n > 0, '> 0', 10);
    const maxWaitMs = durationOption(o.maxWait, 'maxWait', 0, true);
    const clock = (this.#clock = clockOption(o.clock));
    setReadonly<RateLimiter>(this, { maxTokens, refillRate, maxWaitMs });
    const store: RateLimiterStore = (this.#store =
      storeOption<RateLimiterStore>(o.store, 'RateLimiterStore', STORE_METHODS, STORE_OPTIONAL) ??
      new InMemoryRateLimiterStore());
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called on the store itself
    this.#tryKnown = store.tryReserveKnown;
    this.#queue = new WaitQueue<void>(
      clock,
      (waiter) => waiter.resolve(),
      // An aborted waiter's tokens go back, and arrive this much sooner for everyone behind it.
      (waiter) => {
        refundQuietly(store, waiter.n);
        return (waiter.n * 1000) / refillRate;
      },
    );
    // The store reads time through this facade so a policy can lend it the time it has already
    // read in the same synchronous turn (see tryAcquireAt), saving a clock read per call.
    const storeClock: Clock = Object.freeze({
      now: (): number => {
        const lent = this.#lent;
        return lent === lent ? lent : clock.now();
      },
      setTimeout: (fn: () => void, ms: number): unknown => clock.setTimeout(fn, ms),
      clearTimeout: (handle: unknown): void => clock.clearTimeout(handle),
    });
    // Checked in full before anything is applied.
    const initial = o.initialState === undefined ? undefined : readLimiterSnapshot(o.initialState);
    if (initial !== undefined) {
      storeTakesSnapshot(store, InMemoryRateLimiterStore, o.initialState);
    }
    store.configure(Object.freeze({ maxTokens, refillRate, clock: storeClock }));
    if (initial !== undefined) {
      (store as InMemoryRateLimiterStore).load(initial.tokens, initial.elapsedMs);
    }
  }

  /**
   * A snapshot of the bucket as plain JSON data, for `initialState` of a limiter in another
   * process or a later invocation: the token count now, and `takenAt`, the wall-clock instant
   * (from the system's clock). Callers waiting in this limiter are not part of it, but the tokens owed to
   * them are (the count is then below 0). `JSON.stringify(limiter)` calls it.
   *
   * @throws TypeError when the limiter has a shared store, any but the in-memory one (a shared
   * store keeps its state itself); an in-memory store passed as `store` gives snapshots
   */
  toJSON(): RateLimiterSnapshot {
    const store = this.#store;
    storeGivesSnapshot(store, InMemoryRateLimiterStore, 'RateLimiter');
    return {
      format: 'bulwark.rate-limiter',
      version: SNAPSHOT_VERSION,
      takenAt: wallNow(),
      tokens: store.available(),
      maxTokens: this.maxTokens,
      refillRate: this.refillRate,
    };
  }

  /**
   * @internal {@link RateLimiter.tryTake} deciding at time `now`, a reading of this limiter's
   * clock taken moments before in the same synchronous turn.
   */
  tryAcquireAt(now: number): boolean {
    this.#lent = now;
    try {
      return this.tryTake();
    } finally {
      this.#lent = NaN;
    }
  }

  /** @internal True when a fused policy may run this limiter: the in-memory store. */
  get fusable(): boolean {
    return Object.getPrototypeOf(this.#store) === InMemoryRateLimiterStore.prototype;
  }

  /**
   * @internal Takes one token now, as `acquire` decides (for `execute` and a policy's stage): only
   * a store's synchronous answer (`tryReserve`), never one from what a remote store last knew; a
   * `false` sends the caller to `acquire`'s path.
   */
  tryTake(): boolean {
    return this.#queue.size === 0 && this.#store.tryReserve(1);
  }

  /**
   * Tokens available now, in `[0, maxTokens]` (a fraction while the bucket refills; 0 while
   * callers wait for tokens owed to them). With a remote store, the last known shared count.
   */
  get availableTokens(): number {
    const tokens = this.#store.available();
    const max = this.maxTokens;
    // Stryker disable next-line EqualityOperator: at tokens === 0 and tokens === max both branches answer the same
    return !(tokens > 0) ? 0 : tokens < max ? tokens : max;
  }

  /** Callers of this limiter waiting for their tokens. */
  get queued(): number {
    return this.#queue.size;
  }

  /** @internal At rest for a `Keyed` holder: its bucket full and nobody waiting. */
  'bulwark.atRest'(): boolean {
    return this.queued === 0 && this.availableTokens >= this.maxTokens;
  }

  /** @internal In use for a `Keyed` holder, which then never drops it: callers wait for tokens. */
  'bulwark.inUse'(): boolean {
    return this.queued !== 0;
  }

  /**
   * Takes `permits` tokens if they are available now and nobody is waiting; never waits.
   *
   * With a remote store (such as `RedisRateLimiterStore`) it decides on the last known shared
   * count, as `availableTokens` reports it (the last answer plus the refill since, less what this
   * process took or asked for since), without a round trip: `true` lowers that count at once, and the store
   * takes the tokens in the shared bucket in the background. Processes deciding on counts a
   * round trip old may together admit more than the shared bucket holds, by at most what was
   * taken elsewhere since this process's last answer; use `acquire` for a decision by the shared
   * bucket itself. A remote store that cannot decide this way answers `false` (use `acquire`).
   * Whether the store decides this way (has a `tryReserveKnown`) is read once, when the limiter
   * is made.
   *
   * @param permits - tokens to take: a finite number > 0, at most `maxTokens`
   * @returns whether the tokens were taken
   * @throws TypeError when `permits` is not a number
   * @throws RangeError when `permits` is not > 0, not finite, or more than `maxTokens`
   */
  tryAcquire(permits = 1): boolean {
    // Stryker disable next-line ConditionalExpression: a fast path; #check accepts 1 (maxTokens >= 1)
    if (permits !== 1) this.#check(permits);
    if (this.#queue.size !== 0) return false;
    const store = this.#store;
    const known = this.#tryKnown;
    return known !== undefined ? known.call(store, permits) : store.tryReserve(permits);
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
    // Stryker disable next-line ConditionalExpression: a fast path; #check accepts 1 (maxTokens >= 1)
    if (permits !== 1) {
      try {
        this.#check(permits);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (badSignal(signal)) return refuseSignal(signal);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- a stack frame marker, never called
    return this.#take(permits, signal, true, RateLimiter.prototype.acquire) as Promise<void>;
  }

  /**
   * @internal `acquire(1, signal)` for a policy's stage, whose policy answers the caller at the
   * signal's abort: a remote store's answer is not raced with it (no promise or listener for
   * that), and a grant that arrives after the abort goes back (`#settle`). A refusal decided in
   * the caller's turn comes back as the error itself, without a stack: the stage gives it the
   * caller's.
   */
  acquireUnraced(signal: AbortSignal): Promise<void> | RateLimitExceededError {
    return this.#take(1, signal, false, null);
  }

  /**
   * Takes `permits` checked tokens; `race`: a remote store's answer with the caller's abort. A
   * refusal decided now has its stack start at the caller of `boundary`: a rejection, or, with
   * `null`, the error without a stack (see `refusalFrom`).
   */
  #take(
    permits: number,
    signal: AbortSignal | undefined,
    race: boolean,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the caller's entry point, any function
    boundary: Function | null,
  ): Promise<void> | RateLimitExceededError {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let answer: ReturnType<RateLimiterStore['reserve']>;
    let settled: Promise<void> | undefined;
    try {
      answer = this.#store.reserve(permits, this.maxWaitMs);
      if (typeof answer !== 'number') {
        settled = answer.then((wait) => this.#settle(wait, permits, signal));
      }
    } catch (error) {
      // A custom store that throws, or answers what is no promise (its `then` unreadable): a
      // rejection with its error, as when it rejects.
      return Promise.reject(error);
    }
    if (settled !== undefined) return race ? raceAbort(settled, signal) : settled;
    const wait = answer as number;
    // Stryker disable next-line ConditionalExpression: a fast path; #settle answers 0 with GRANTED too (the signal was not aborted above)
    if (wait >= 0) return wait === 0 ? GRANTED : this.#settle(wait, permits, signal);
    const refusal = refusalFrom(() => new RateLimitExceededError(-wait), boundary);
    return boundary === null ? refusal : Promise.reject(refusal);
  }

  /**
   * Takes one token (see {@link RateLimiter.acquire}), then runs `fn`. Rejects with
   * {@link RateLimitExceededError} without calling `fn` when the token is refused. When the
   * caller's signal aborts, rejects at once with its reason (`fn`, if started, runs on).
   *
   * @param fn - the operation; it receives the caller's signal (or one that never aborts)
   * @param signal - the caller's signal
   */
  // The work's whole type (see `SignalWork`).
  execute<T = unknown, Fn extends SignalWork<T> = SignalWork<T>>(
    fn: Fn,
    signal?: AbortSignal,
  ): Promise<Awaited<ReturnType<Fn>>>;
  execute<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    if (!(this instanceof RateLimiter)) {
      return Promise.reject(unboundError('execute', 'RateLimiter', this));
    }
    const refused = refusedCall(fn, signal);
    if (refused !== undefined) return refused;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let granted: boolean;
    try {
      granted = this.tryTake();
    } catch (error) {
      // A custom store that throws: the caller gets a rejection, not a throw.
      return Promise.reject(error);
    }
    if (granted) return raceAbort(callAsync(fn, signal ?? NEVER_ABORTED), signal);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- a stack frame marker, never called
    return (this.#take(1, signal, true, RateLimiter.prototype.execute) as Promise<void>).then(() =>
      signal?.aborted
        ? Promise.reject(signal.reason)
        : raceAbort(callAsync(fn, signal ?? NEVER_ABORTED), signal),
    );
  }

  #settle(answer: number, permits: number, signal: AbortSignal | undefined): Promise<void> {
    if (answer < 0) return Promise.reject(new RateLimitExceededError(-answer));
    // Only reachable on a remote store's late answer: the tokens were granted after the caller
    // gave up, so they go back.
    if (signal?.aborted) {
      refundQuietly(this.#store, permits);
      return Promise.reject(signal.reason);
    }
    return answer === 0 ? GRANTED : this.#queue.push(permits, answer, abortable(signal));
  }

  /** Throws unless `permits` is a finite number > 0, at most `maxTokens`. */
  #check(permits: unknown): void {
    const max = this.maxTokens;
    const rule =
      typeof permits !== 'number' || !(permits > 0) || permits === Infinity
        ? 'a finite number > 0'
        : permits > max
          ? `at most \`maxTokens\` (${max}) or it can never be served`
          : '';
    if (rule) fail(typeof permits === 'number' ? RangeError : TypeError, 'permits', rule, permits);
  }
}

/**
 * Checks a snapshot given as `initialState`, in full.
 * @throws TypeError for a value that is not such a snapshot or is corrupt
 * @throws RangeError for another version
 */
function readLimiterSnapshot(value: unknown): { tokens: number; elapsedMs: number } {
  const { fields, elapsedMs } = readEnvelope(value, 'bulwark.rate-limiter', 'RateLimiter');
  const max = field(fields, 'maxTokens', (n) => isSpan(n) && n >= 1, 'a finite number >= 1');
  field(fields, 'refillRate', (n) => isSpan(n) && n > 0, 'a finite number > 0');
  const tokens = field(
    fields,
    'tokens',
    (n) => typeof n === 'number' && n <= (max as number) && n > -Infinity,
    `a finite number <= its \`maxTokens\` (${max as number})`,
  ) as number;
  return { tokens, elapsedMs };
}

/**
 * Gives `permits` tokens back. A failed refund is the store's to recover: a remote store's
 * rejection must not become an unhandled rejection, nor a custom store's throw break the caller.
 */
function refundQuietly(store: RateLimiterStore, permits: number): void {
  try {
    (store.refund(permits) as Promise<void> | undefined)?.then(noop, noop);
  } catch {
    // The store keeps its own count.
  }
}
