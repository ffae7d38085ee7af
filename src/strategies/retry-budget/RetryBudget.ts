import type { Clock } from '../../internal/clock.js';
import type { Duration } from '../../internal/duration.js';
import { storeOption } from '../../internal/store.js';
import { setReadonly } from '../../internal/readonly.js';
import {
  clockOption,
  numberOption,
  optionsObject,
  positiveDuration,
} from '../../internal/validate.js';
import { InMemoryRetryBudgetStore, type RetryBudgetStore } from './store.js';
import { roundTokens } from './budget.js';

/** Options of a {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /**
   * Retries allowed per first attempt in the window: a finite number >= 0 (`0.2`: one retry
   * for every five calls).
   * @defaultValue 0.2
   */
  readonly ratio?: number | undefined;
  /**
   * Retries allowed per second of the window whatever the traffic, so a service with few calls
   * can still retry: a finite number >= 0.
   * @defaultValue 10
   */
  readonly minPerSecond?: number | undefined;
  /**
   * The sliding window first attempts and retries are counted over (milliseconds or a string
   * like `'10s'`); counts expire in steps of a tenth of it.
   * @defaultValue `'10s'`
   */
  readonly window?: Duration | undefined;
  /** Source of time for the window. @defaultValue {@link systemClock} */
  readonly clock?: Clock | undefined;
  /**
   * Where the counts live; a `RedisRetryBudgetStore` (`bulwark/redis`) shares one budget
   * between processes.
   * @defaultValue a new {@link InMemoryRetryBudgetStore}
   */
  readonly store?: RetryBudgetStore | undefined;
}

/** @internal Every option key the constructor accepts. */
export const RETRY_BUDGET_OPTIONS: readonly string[] = Object.freeze([
  'ratio',
  'minPerSecond',
  'window',
  'clock',
  'store',
]);
const STORE_METHODS = Object.freeze(['configure', 'deposit', 'tryWithdraw', 'balance']);

/**
 * Caps the retries of every retry that shares it to a fraction of the calls they serve: a retry
 * goes ahead only while the retries of the sliding `window`, itself included, stay within
 * `ratio` x the window's first attempts + `minPerSecond` x the window's seconds (as gRPC,
 * Finagle and Envoy do). Each first attempt of a retry with this `budget`
 * deposits, each retry withdraws; a retry the budget cannot pay for does not happen, and the
 * last outcome is returned at once (its `retry` event has `skipped: 'budget'`).
 *
 * During an outage every call fails, and a retry of `maxAttempts` multiplies the load on the
 * struggling dependency by `maxAttempts`; with a budget the load stays near `(1 + ratio)` x the
 * calls. Share one budget between every retry that calls one dependency (any number of policies
 * and standalone `Retry`s); the counts live in its store, in ten buckets per window that expire
 * by the clock, without timers.
 *
 * @example
 * ```ts
 * const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 5, window: '10s' });
 * const policy = Policy.builder('inventory').retry({ maxAttempts: 3, delay: '100ms', budget }).build();
 * ```
 */
export class RetryBudget {
  /** Retries allowed per first attempt in the window. */
  declare readonly ratio: number;
  /** Retries allowed per second of the window whatever the traffic. */
  declare readonly minPerSecond: number;
  /** The sliding window, in milliseconds. */
  declare readonly windowMs: number;
  readonly #store: RetryBudgetStore;
  #refused = 0;

  /**
   * @throws TypeError for an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options?: RetryBudgetOptions) {
    const o = optionsObject(options, 'RetryBudget', RETRY_BUDGET_OPTIONS);
    const ratio = numberOption(o.ratio, 'ratio', (n) => n >= 0, '>= 0', 0.2);
    const minPerSecond = numberOption(o.minPerSecond, 'minPerSecond', (n) => n >= 0, '>= 0', 10);
    const windowMs = positiveDuration(o.window, 'window', 10_000);
    setReadonly<RetryBudget>(this, { ratio, minPerSecond, windowMs });
    const clock = clockOption(o.clock);
    const store = (this.#store =
      storeOption<RetryBudgetStore>(o.store, 'RetryBudgetStore', STORE_METHODS) ??
      new InMemoryRetryBudgetStore());
    store.configure(Object.freeze({ ratio, minPerSecond, windowMs, clock }));
  }

  /**
   * Retries the budget holds now: `ratio` x first attempts + `minPerSecond` x window seconds -
   * retries, over the window (0 at the least; fractional as counted, to a millionth of a retry:
   * 19.2, not 19.200000000000003). A retry needs a whole one.
   */
  get tokens(): number {
    // Whatever the store (in memory, Redis, custom): its decisions read its own figure.
    return roundTokens(this.#store.balance());
  }

  /**
   * Retries refused for want of budget since the budget was made (by a registry, since the first
   * budget of its name: a reload that changes it carries the count on).
   */
  get refused(): number {
    return this.#refused;
  }

  /** Records a first attempt (a retry with this budget does so for each call it serves). */
  deposit(): void {
    this.#store.deposit(1);
  }

  /**
   * Takes one retry from the budget: `true` when it held one (the retry may go ahead), `false`
   * when it is exhausted (counted in {@link RetryBudget.refused}).
   */
  tryWithdraw(): boolean {
    if (this.#store.tryWithdraw()) return true;
    this.#refused++;
    return false;
  }

  /**
   * @internal Takes the place of `old` (a registry's reload changed its options): its refusals
   * so far count here too, and, both counting in memory, the first attempts and retries of its
   * window (see `InMemoryRetryBudgetStore.takeOver`) count under this budget's settings. A copy,
   * not a link: what calls in flight under the old settings still draw on `old`, and refuse,
   * counts on `old` only.
   */
  takeOver(old: RetryBudget): void {
    this.#refused += old.#refused;
    const store = this.#store;
    const was = old.#store;
    if (store instanceof InMemoryRetryBudgetStore && was instanceof InMemoryRetryBudgetStore) {
      store.takeOver(was);
    }
  }
}
