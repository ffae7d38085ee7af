import type { Clock } from '../../internal/clock.js';
import { BUCKETS, EPSILON, budgetLeft, reserveOf } from './budget.js';

/** A retry budget's resolved settings, handed once to its store by {@link RetryBudgetStore.configure}. */
export interface RetryBudgetStoreConfig {
  /** Retries allowed per first attempt in the window. */
  readonly ratio: number;
  /** Retries allowed per second of the window whatever the traffic. */
  readonly minPerSecond: number;
  /** Length of the sliding window, in milliseconds. */
  readonly windowMs: number;
  /** The budget's clock. */
  readonly clock: Clock;
}

/**
 * Where a {@link RetryBudget} counts first attempts (deposits) and retries (withdrawals) over its
 * sliding window. A withdrawal succeeds only while the window's withdrawals, itself included,
 * stay within `ratio` x its deposits + `minPerSecond` x the window's seconds. Every method answers synchronously: a store shared
 * between processes decides on what it last learned and brings its counts up to date in the
 * background. A store serves one budget. The default is {@link InMemoryRetryBudgetStore}.
 */
export interface RetryBudgetStore {
  /** Receives the budget's resolved settings, once, from the budget's constructor. */
  configure(config: RetryBudgetStoreConfig): void;
  /** Records `n` first attempts. */
  deposit(n: number): void;
  /** Records one retry and answers `true` when the budget holds one; `false` (nothing recorded) otherwise. */
  tryWithdraw(): boolean;
  /** Retries the budget holds now (may be fractional; never below 0). */
  balance(): number;
}

/**
 * The default {@link RetryBudgetStore}: counts in this process's memory, in ten buckets per
 * window that expire lazily by the clock (no timers).
 *
 * @example
 * ```ts
 * const budget = new RetryBudget({ ratio: 0.1, store: new InMemoryRetryBudgetStore() });
 * ```
 */
export class InMemoryRetryBudgetStore implements RetryBudgetStore {
  #config: RetryBudgetStoreConfig | undefined = undefined;
  #bucketMs = 1;
  #reserve = 0;
  readonly #deposits = new Array<number>(BUCKETS).fill(0);
  readonly #withdrawals = new Array<number>(BUCKETS).fill(0);
  #depositSum = 0;
  #withdrawalSum = 0;
  // The absolute index (time / bucket length) of the newest bucket.
  #head = -Infinity;

  /** @throws Error when the store already serves another budget */
  configure(config: RetryBudgetStoreConfig): void {
    if (this.#config !== undefined) {
      throw new Error(
        'This InMemoryRetryBudgetStore already serves a RetryBudget; give each budget its own store, or share the budget',
      );
    }
    this.#config = config;
    this.#bucketMs = config.windowMs / BUCKETS;
    this.#reserve = reserveOf(config.minPerSecond, config.windowMs);
  }

  deposit(n: number): void {
    const i = this.#advance();
    this.#deposits[i] = (this.#deposits[i] as number) + n;
    this.#depositSum += n;
  }

  tryWithdraw(): boolean {
    const i = this.#advance();
    if (this.#left() < 1 - EPSILON) return false;
    this.#withdrawals[i] = (this.#withdrawals[i] as number) + 1;
    this.#withdrawalSum++;
    return true;
  }

  balance(): number {
    this.#advance();
    const left = this.#left();
    return left > 0 ? left : 0;
  }

  /** First attempts in the window now. */
  deposits(): number {
    this.#advance();
    return this.#depositSum;
  }

  /** Retries in the window now. */
  withdrawals(): number {
    this.#advance();
    return this.#withdrawalSum;
  }

  /**
   * @internal Adds the counts of `old`'s window (a store of the budget this one's replaces,
   * on the same clock) to this window: each bucket's counts (a tenth of the old window) to the
   * bucket of this window that holds the moment it began, so a count is placed by that moment,
   * not its own; a bucket that began before this window is left out whole. Buckets of the same
   * length are copied as they are.
   */
  takeOver(old: InMemoryRetryBudgetStore): void {
    this.#advance();
    old.#advance();
    const head = this.#head;
    const same = old.#bucketMs === this.#bucketMs;
    for (let k = 0; k < BUCKETS; k++) {
      const index = old.#head - k;
      const from = mod(index);
      const deposits = old.#deposits[from] as number;
      const withdrawals = old.#withdrawals[from] as number;
      if (deposits === 0 && withdrawals === 0) continue;
      const at = same
        ? index
        : Math.min(head, Math.floor((index * old.#bucketMs) / this.#bucketMs));
      if (at <= head - BUCKETS) continue;
      const to = mod(at);
      this.#deposits[to] = (this.#deposits[to] as number) + deposits;
      this.#withdrawals[to] = (this.#withdrawals[to] as number) + withdrawals;
      this.#depositSum += deposits;
      this.#withdrawalSum += withdrawals;
    }
  }

  #left(): number {
    // Only ever read after #advance, which throws before configure().
    const { ratio } = this.#config as RetryBudgetStoreConfig;
    return budgetLeft(ratio, this.#reserve, this.#depositSum, this.#withdrawalSum);
  }

  // Moves the window to the clock's bucket, emptying the buckets it leaves; returns the slot of
  // the current bucket. A clock that goes back keeps counting in the newest bucket.
  #advance(): number {
    const config = this.#config;
    if (config === undefined) throw new Error('InMemoryRetryBudgetStore used before configure()');
    const now = Math.floor(config.clock.now() / this.#bucketMs);
    const head = this.#head;
    // Stryker disable next-line EqualityOperator: in the same bucket (gap 0) nothing expires either way
    if (now > head) {
      const gap = now - head;
      // Stryker disable next-line EqualityOperator: a gap of exactly BUCKETS empties every slot in the loop too
      if (gap >= BUCKETS) {
        this.#deposits.fill(0);
        this.#withdrawals.fill(0);
        this.#depositSum = 0;
        this.#withdrawalSum = 0;
      } else {
        for (let k = 1; k <= gap; k++) {
          const slot = mod(head + k);
          this.#depositSum -= this.#deposits[slot] as number;
          this.#withdrawalSum -= this.#withdrawals[slot] as number;
          this.#deposits[slot] = 0;
          this.#withdrawals[slot] = 0;
        }
      }
      this.#head = now;
    }
    return mod(this.#head);
  }
}

const mod = (i: number): number => ((i % BUCKETS) + BUCKETS) % BUCKETS;
