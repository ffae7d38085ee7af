import type { Clock } from '../../internal/clock.js';

/**
 * A rate limiter's resolved settings, handed once to its store by
 * {@link RateLimiterStore.configure}.
 */
export interface RateLimiterStoreConfig {
  /** Bucket capacity (the burst size); the bucket starts full. */
  readonly maxTokens: number;
  /** Tokens added per second, up to `maxTokens`. */
  readonly refillRate: number;
  /** The limiter's clock. A store shared between processes may use its server's time instead. */
  readonly clock: Clock;
}

/**
 * Where a {@link RateLimiter} keeps its token bucket. The limiter validates arguments, queues
 * its own waiting callers and handles aborts; the store owns the token count and takes each
 * decision in one step, so a store shared between processes can decide atomically (one Lua
 * script per decision, on the server's time). The default is {@link InMemoryRateLimiterStore}.
 *
 * The bucket is a reservation ledger: its token count may go below zero by the permits reserved
 * by callers still waiting, so tokens owed to earlier callers always count before a newcomer's
 * (FIFO). Refill is lazy (from elapsed time on each call), capped at `maxTokens`.
 *
 * Methods that may need a round trip answer with a value or a promise; the limiter takes the
 * synchronous path, without creating a promise, whenever the value is not one. A store serves
 * one limiter (processes share state through a shared backend, not by sharing the object).
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ maxTokens: 100, refillRate: 50, store: new InMemoryRateLimiterStore() });
 * ```
 */
export interface RateLimiterStore {
  /** Receives the limiter's resolved settings, once, from the limiter's constructor. */
  configure(config: RateLimiterStoreConfig): void;
  /**
   * Takes `permits` tokens now if that many are available, without waiting or reserving.
   * A store that cannot decide synchronously (a remote one) returns `false`, and the limiter
   * falls back to {@link RateLimiterStore.reserve}.
   */
  tryReserve(permits: number): boolean;
  /**
   * Optional: takes `permits` tokens now if the count the store knows covers them, for the
   * limiter's public `tryAcquire` alone, without a round trip. A store shared between processes
   * answers from the last known shared count, lowers it at once, and takes the tokens in its
   * backend in the background; a call it admits that the backend then refuses is one the fleet
   * over-admitted (by at most what was taken elsewhere since its last answer). Without it,
   * `tryAcquire` asks {@link RateLimiterStore.tryReserve}. `acquire`, `execute` and policies
   * never call it: they decide through {@link RateLimiterStore.tryReserve} and
   * {@link RateLimiterStore.reserve}. The limiter reads it once, in its constructor, before it
   * calls {@link RateLimiterStore.configure} (so a store must have it from the start: adding or
   * removing it later, in `configure` too, changes nothing), and calls it on the store.
   */
  tryReserveKnown?(permits: number): boolean;
  /**
   * Takes or reserves `permits` tokens, counting tokens already reserved by waiting callers.
   * The answer is one number, so the hot path allocates nothing:
   *
   * - `0`: granted now;
   * - `> 0`: reserved; the caller may proceed after this many milliseconds;
   * - `< 0`: refused, nothing reserved, because the wait would exceed `maxWaitMs`; the caller can
   *   retry after `-result` milliseconds (always > 0).
   *
   * @param maxWaitMs - the longest acceptable wait (`Infinity`: any); 0 reserves nothing
   */
  reserve(permits: number, maxWaitMs: number): number | Promise<number>;
  /**
   * Gives back `permits` reserved by a caller that stopped waiting (its signal aborted). The
   * count never rises above `maxTokens`.
   */
  refund(permits: number): void | Promise<void>;
  /**
   * The current token count (negative while callers wait for reserved tokens). A remote store
   * returns the last value it knows, without a round trip.
   */
  available(): number;
}

/**
 * The default {@link RateLimiterStore}: a token bucket in this process's memory. It sets no
 * timers and reads the clock once per decision.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ maxTokens: 5, refillRate: 2, store: new InMemoryRateLimiterStore() });
 * ```
 */
export class InMemoryRateLimiterStore implements RateLimiterStore {
  #clock: Clock | undefined;
  #maxTokens = 0;
  #refillRate = 0;
  #tokens = 0;
  // NaN until the first decision: the bucket is full at first use however long ago it was made,
  // and the constructor needs no clock read.
  #last = NaN;

  /**
   * @throws Error when the store already serves another limiter
   */
  configure(config: RateLimiterStoreConfig): void {
    if (this.#clock !== undefined) {
      throw new Error(
        'This InMemoryRateLimiterStore already serves a RateLimiter; give each limiter its own store, or share the limiter',
      );
    }
    this.#clock = config.clock;
    this.#maxTokens = config.maxTokens;
    this.#refillRate = config.refillRate;
    this.#tokens = config.maxTokens;
  }

  tryReserve(permits: number): boolean {
    // Waiting at most 0 ms: granted now (0), or refused with nothing reserved.
    return this.reserve(permits, 0) === 0;
  }

  reserve(permits: number, maxWaitMs: number): number {
    const tokens = this.#refill();
    // Stryker disable next-line EqualityOperator: at tokens === permits the wait below is 0, which takes the tokens and answers 0 too
    if (tokens >= permits) {
      this.#tokens = tokens - permits;
      return 0;
    }
    // Multiply before dividing so whole numbers stay exact (1 token at 2/s is exactly 500 ms).
    let wait = ((permits - tokens) * 1000) / this.#refillRate;
    // Fractional refills leave the count a float hair off (3.044 - 1 + 0.688 tokens): a wait
    // whole milliseconds but for less than a billionth of a token is those milliseconds, so a
    // token due in exactly `maxWait` is not refused, nor a grant due at 1000 ms given at 1001
    // (timers are whole ms). Measured in tokens, so no refill rate makes a missing token arrived.
    const whole = Math.round(wait);
    if ((Math.abs(wait - whole) * this.#refillRate) / 1000 < 1e-9) wait = whole;
    if (wait > maxWaitMs) return -wait;
    this.#tokens = tokens - permits;
    return wait;
  }

  refund(permits: number): void {
    this.#fill(this.#refill() + permits);
  }

  available(): number {
    return this.#refill();
  }

  /**
   * @internal Takes a token count that `available()` gave, `elapsedMs` later, refilled for that
   * time at this bucket's rate and capped at its `maxTokens`.
   */
  load(tokens: number, elapsedMs: number): void {
    // Only the limiter calls it, after configure().
    this.#fill(tokens + (elapsedMs * this.#refillRate) / 1000);
    this.#last = (this.#clock as Clock).now();
  }

  /** Sets the token count to `tokens`, capped at `maxTokens`. */
  #fill(tokens: number): void {
    // Stryker disable next-line EqualityOperator: at tokens === maxTokens both branches store the same
    this.#tokens = tokens < this.#maxTokens ? tokens : this.#maxTokens;
  }

  #refill(): number {
    const clock = this.#clock;
    if (clock === undefined) throw new Error('InMemoryRateLimiterStore used before configure()');
    const now = clock.now();
    const elapsed = now - this.#last;
    // NaN at first use: the bucket is still full (a NaN sum below caps at maxTokens).
    // Stryker disable next-line EqualityOperator: at elapsed === 0 a refill adds nothing and #last stays the same
    if (!(elapsed <= 0)) {
      this.#fill(this.#tokens + (elapsed * this.#refillRate) / 1000);
      this.#last = now;
    }
    return this.#tokens;
  }
}
