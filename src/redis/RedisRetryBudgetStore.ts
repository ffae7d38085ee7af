import {
  InMemoryRetryBudgetStore,
  type RetryBudgetStore,
  type RetryBudgetStoreConfig,
} from '../index.js';
import { BUCKETS, EPSILON, budgetLeft, reserveOf } from '../strategies/retry-budget/budget.js';
import { RedisStore } from './core.js';
import type { RedisClientAdapter } from './adapter.js';
import type { RedisStoreOptions } from './options.js';
import { BUDGET } from './scripts/budget.js';

/** Options of a {@link RedisRetryBudgetStore}: the common {@link RedisStoreOptions}. */
export type RedisRetryBudgetStoreOptions = RedisStoreOptions;

/**
 * A retry budget's counts in Redis, shared by every {@link RetryBudget} (in any process) whose
 * store has the same `prefix` and `key`: one budget for a whole fleet, so the retries of every
 * instance together stay within `ratio` x the fleet's first attempts + `minPerSecond` x window.
 *
 * Deciding a retry never waits for Redis: each process decides on the fleet's totals from its
 * last answer plus what it has counted since, and sends its counts (one script call at a time;
 * counts made meanwhile go together in the next) so that the next answer brings the others'
 * counts too. The fleet can therefore exceed the budget by what its processes spend between two
 * answers (about one round trip), and a process before its first answer by up to a fresh
 * budget's `minPerSecond` x window (see docs/DISTRIBUTED.md). Buckets follow the Redis server's clock; the key expires a
 * window after the last call.
 *
 * While Redis cannot answer: with `onStoreError: 'local'` a budget of this process's own decides
 * (the same `ratio`, `minPerSecond / instances`), with `'fail-open'` every retry is allowed, with
 * `'fail-closed'` none is.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RetryBudget } from 'bulwark';
 * import { RedisRetryBudgetStore } from 'bulwark/redis';
 *
 * const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const budget = new RetryBudget({
 *   ratio: 0.1,
 *   store: new RedisRetryBudgetStore({ client, key: 'inventory-api', instances: 8 }),
 * });
 * ```
 */
export class RedisRetryBudgetStore
  extends RedisStore<InMemoryRetryBudgetStore, RedisRetryBudgetStore>
  implements RetryBudgetStore
{
  #ratio = 0;
  #reserve = 0;
  #bucketMs = 1;
  // The window's totals in the last answer; counts sent and not yet answered; counts not sent.
  #deposits = 0;
  #withdrawals = 0;
  #sentDeposits = 0;
  #sentWithdrawals = 0;
  #newDeposits = 0;
  #newWithdrawals = 0;
  #inFlight: Promise<void> | undefined = undefined;
  #windowMs = 0;
  /** When the totals were last answered (on the budget's clock). */
  #answeredAt = -Infinity;
  // The send's command and handlers, made once: a budget sends on every first attempt and retry.
  // The command reads the counts being sent when the link runs it (at once).
  readonly #command = (adapter: RedisClientAdapter): Promise<unknown> =>
    BUDGET.run(adapter, {
      key: this.redisKey,
      bucketMs: this.#bucketMs,
      buckets: BUCKETS,
      deposits: this.#sentDeposits,
      withdrawals: this.#sentWithdrawals,
    });

  readonly #onReply = (reply: unknown): void => {
    // A reply of another shape (from an adapter of one's own) teaches nothing.
    if (Array.isArray(reply)) {
      this.#deposits = Number(reply[0]);
      this.#withdrawals = Number(reply[1]);
      this.#answeredAt = this.core.link.clock.now();
    }
    this.#onDone();
  };

  readonly #onDone = (): void => {
    this.#sentDeposits = this.#sentWithdrawals = 0;
    this.#inFlight = undefined;
    void this.#send();
  };

  /**
   * @throws TypeError for a missing `client` or `key`, an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options: RedisRetryBudgetStoreOptions) {
    super(options, 'RedisRetryBudgetStore', 'rb');
  }

  /** @throws Error when the store already serves another budget */
  configure(config: RetryBudgetStoreConfig): void {
    this.core.configure(config.clock, 'RetryBudget', InMemoryRetryBudgetStore, (instances) => ({
      ...config,
      minPerSecond: config.minPerSecond / instances,
    }));
    this.#ratio = config.ratio;
    this.#reserve = reserveOf(config.minPerSecond, config.windowMs);
    this.#bucketMs = config.windowMs / BUCKETS;
    this.#windowMs = config.windowMs;
  }

  deposit(n: number): void {
    this.core.local?.deposit(n);
    this.#newDeposits += n;
    void this.#send();
  }

  /**
   * Decides on the fleet's totals as last known plus this process's counts since. While Redis
   * is away: the local budget with `'local'`, `true` with `'fail-open'`, `false` with
   * `'fail-closed'`.
   */
  tryWithdraw(): boolean {
    const core = this.core;
    if (core.link.bypassing) {
      return core.decideNow((local) => local.tryWithdraw(), true, false);
    }
    if (this.#left() < 1 - EPSILON) return false;
    core.local?.tryWithdraw();
    this.#newWithdrawals++;
    void this.#send();
    return true;
  }

  balance(): number {
    const local = this.core.localWhileAway;
    if (local !== undefined) return local.balance();
    const left = this.#left();
    return left > 0 ? left : 0;
  }

  /**
   * Sends what this process has counted and brings the fleet's totals up to date; resolves once
   * Redis has answered (or the call was decided without it).
   */
  async refresh(): Promise<void> {
    const sending = this.#inFlight;
    if (sending !== undefined) {
      await sending;
      // A send made as that one ended carries every count made since this call: its answer is
      // enough (waiting for every next one would never end while the budget is in use).
      const next = this.#inFlight;
      if (next !== undefined) return next;
    }
    await this.#send(true);
  }

  #left(): number {
    // Totals answered a whole window ago have all left the window since.
    const fresh = this.core.link.clock.now() - this.#answeredAt < this.#windowMs;
    const deposits = (fresh ? this.#deposits : 0) + this.#sentDeposits + this.#newDeposits;
    const withdrawals =
      (fresh ? this.#withdrawals : 0) + this.#sentWithdrawals + this.#newWithdrawals;
    return budgetLeft(this.#ratio, this.#reserve, deposits, withdrawals);
  }

  // One script call at a time: counts made while one is out go in the next.
  #send(always = false): Promise<void> | undefined {
    if (this.#inFlight !== undefined) return undefined;
    if (!always && this.#newDeposits === 0 && this.#newWithdrawals === 0) return undefined;
    const deposits = this.#newDeposits;
    const withdrawals = this.#newWithdrawals;
    this.#newDeposits = this.#newWithdrawals = 0;
    const link = this.core.link;
    // While calls skip Redis the counts are lost to the fleet (the local budget has them), and
    // no command is made for them.
    if (!link.shouldTry()) return undefined;
    this.#sentDeposits = deposits;
    this.#sentWithdrawals = withdrawals;
    return (this.#inFlight = link.run(this.#command).then(this.#onReply, this.#onDone));
  }
}
