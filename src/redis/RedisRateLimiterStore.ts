import {
  InMemoryRateLimiterStore,
  type RateLimiterStore,
  type RateLimiterStoreConfig,
} from '../index.js';
import { noop } from '../internal/signals.js';
import { RedisStore } from './core.js';
import { Outstanding, type RedisCommand } from './link.js';
import type { RedisStoreOptions } from './options.js';
import { BUCKET } from './scripts/bucket.js';

/** Options of a {@link RedisRateLimiterStore}: the common {@link RedisStoreOptions}. */
export type RedisRateLimiterStoreOptions = RedisStoreOptions;

/**
 * A token bucket in Redis, shared by every {@link RateLimiter} (in any process) whose store has
 * the same `prefix` and `key`. Each decision is one atomic Lua script (`EVALSHA`) that refills
 * the bucket from the Redis server's clock, so the processes' clocks need not agree. The key
 * expires once the bucket would be full again (at least 5 s after the last call).
 *
 * Weighted permits, waiting (`maxWait > 0`: the tokens are reserved in Redis, and the caller
 * waits in this process) and `retryAfterMs` work as with the in-memory bucket. Each `acquire`
 * and `execute` is one round trip, decided by Redis. The limiter's `availableTokens` reports the
 * last known shared count: the count from the last answer plus the refill since, less the
 * tokens this process's `tryAcquire` took since and those its `acquire` calls asked for, until
 * Redis answers them. `tryAcquire` decides on that count without
 * waiting for Redis (see {@link RedisRateLimiterStore.tryReserveKnown}), so processes may
 * together admit a little more than the shared rate, by what was taken elsewhere within a
 * round trip; while Redis is away it decides as `onStoreError` says.
 *
 * When Redis cannot answer within `storeTimeout`, the call is decided as `onStoreError` says,
 * and calls skip Redis for a short back-off (4 x `storeTimeout`, between 100 ms and 1 s) before
 * one call tries it again.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RateLimiter } from 'bulwark';
 * import { RedisRateLimiterStore } from 'bulwark/redis';
 *
 * const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const limiter = new RateLimiter({
 *   maxTokens: 100,
 *   refillRate: 50,
 *   store: new RedisRateLimiterStore({ client, key: 'payment-api', instances: 4 }),
 * });
 * await limiter.execute(() => payments.charge(order));
 * ```
 */
export class RedisRateLimiterStore
  extends RedisStore<InMemoryRateLimiterStore, RedisRateLimiterStore>
  implements RateLimiterStore
{
  // What every call of the bucket script carries: the limiter's settings.
  #bucket = { key: '', maxTokens: 0, refillRate: 0 };
  // The last answer's token count, and when (on this process's clock) it was received.
  #known = NaN;
  #knownAt = 0;
  // Tokens taken by tryReserveKnown that Redis has not answered for yet (not in #known).
  readonly #taking = new Outstanding();
  // Tokens this store's `reserve` asked Redis for that it has not answered yet.
  readonly #reserving = new Outstanding();
  // The last background take's command and handlers, reused while permits stay the same.
  #take: TakeCall | undefined = undefined;
  // The last reserve's command and handlers, reused while permits and maxWait stay the same: a
  // reserve allocates nothing of its own beyond what the link's call does.
  #reserve: ReserveCall | undefined = undefined;
  readonly #learn = (reply: unknown): number => {
    const [result, tokens] = reply as [unknown, unknown];
    this.#known = Number(tokens);
    this.#knownAt = this.core.link.clock.now();
    return Number(result);
  };

  /**
   * @throws TypeError for a missing `client` or `key`, an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options: RedisRateLimiterStoreOptions) {
    super(options, 'RedisRateLimiterStore', 'rl');
  }

  /** @throws Error when the store already serves another limiter */
  configure(config: RateLimiterStoreConfig): void {
    this.core.configure(config.clock, 'RateLimiter', InMemoryRateLimiterStore, (n) => {
      // A share below one token could never serve a single permit.
      const share = config.maxTokens / n;
      return {
        maxTokens: share >= 1 ? share : Math.min(1, config.maxTokens),
        refillRate: config.refillRate / n,
        clock: config.clock,
      };
    });
    this.#bucket = {
      key: this.redisKey,
      maxTokens: config.maxTokens,
      refillRate: config.refillRate,
    };
  }

  /**
   * Answers `false` (Redis cannot answer synchronously), so the limiter's `acquire`, `execute`
   * and policies ask {@link RedisRateLimiterStore.reserve}. While Redis is away: the local
   * bucket's answer with `'local'`, `true` with `'fail-open'`. (The limiter's `tryAcquire` asks
   * {@link RedisRateLimiterStore.tryReserveKnown}.)
   */
  tryReserve(permits: number): boolean {
    const core = this.core;
    if (!core.link.bypassing) return false;
    return core.decideNow((local) => local.tryReserve(permits), true, false);
  }

  /**
   * Decides the limiter's `tryAcquire` on the last known shared count (see
   * {@link RedisRateLimiterStore.available}), without waiting for Redis: `true` when it covers
   * `permits`, and the count is lowered at once; the tokens are then taken in Redis in the
   * background (one script call, not awaited), whose answer becomes the known count. Redis
   * refusing that take (others took the tokens since this store last heard from Redis) means
   * the fleet admitted that many tokens more than the shared bucket held: the over-admission is
   * what other processes took since this store's last answer (before any, the bucket is taken
   * as full). This store's own reservations still out count against the known count. While
   * Redis is away (after a failed call), it answers as `onStoreError` says (the local bucket's
   * answer with `'local'`, `true` with `'fail-open'`, `false` with `'fail-closed'`); once the
   * back-off is over, one call is the probe whose answer brings the store back: a call the known
   * count admits takes its tokens in Redis, any other reads the shared count there while it is
   * answered as `onStoreError` says.
   */
  tryReserveKnown(permits: number): boolean {
    const link = this.core.link;
    // The count `availableTokens` reads (this process's own reservations still out included).
    const gate = link.gateKnown(!(this.available() < permits));
    if (gate === 'refuse') return false;
    if (gate !== 'take') {
      // The probe reads the shared count (a refund of nothing), whose answer brings the store
      // back to Redis; meanwhile the call is decided as `onStoreError` says.
      if (gate === 'probe') link.run(this.#refund(0)).then(this.#learn, noop);
      return this.core.decideNow((local) => local.tryReserve(permits), true, false);
    }
    let call = this.#take;
    if (call === undefined || permits !== call.permits) call = this.#take = this.#takeCall(permits);
    this.#taking.add(permits);
    link.run(call.command).then(call.onReply, call.onFailure).then(undefined, noop);
    return true;
  }

  // A background take of `permits`: its command, and what it does with each outcome.
  #takeCall(permits: number): TakeCall {
    const taking = this.#taking;
    return {
      permits,
      command: BUCKET.command({ ...this.#bucket, op: 'reserve', permits, maxWaitMs: 0 }),
      // Redis's answer (a grant, or a refusal: the call ran all the same) is the known count.
      onReply: (reply) => {
        taking.done(permits);
        this.#learn(reply);
      },
      // A take that failed or timed out is known no more (its late answer is not awaited).
      onFailure: () => taking.done(permits),
    };
  }

  reserve(permits: number, maxWaitMs: number): number | Promise<number> {
    let call = this.#reserve;
    if (call === undefined || permits !== call.permits || maxWaitMs !== call.maxWaitMs) {
      call = this.#reserve = this.#reserveCall(permits, maxWaitMs);
    }
    const link = this.core.link;
    if (!link.shouldTry()) return call.without();
    this.#reserving.add(permits);
    return link.run(call.command, call.onLate).then(call.onReply, call.onFailure);
  }

  // A reserve of `permits` waiting at most `maxWaitMs`: its command, and what it does with each
  // outcome, counting the reservation as answered.
  #reserveCall(permits: number, maxWaitMs: number): ReserveCall {
    const core = this.core;
    const reserving = this.#reserving;
    const answered = (): void => reserving.done(permits);
    const viaLocal = (local: InMemoryRateLimiterStore): number => local.reserve(permits, maxWaitMs);
    const without = (): number | Promise<number> => core.decide(viaLocal, 0);
    return {
      permits,
      maxWaitMs,
      command: BUCKET.command({ ...this.#bucket, op: 'reserve', permits, maxWaitMs }),
      without,
      onReply: (reply) => {
        answered();
        return this.#learn(reply);
      },
      onFailure: () => {
        answered();
        return without();
      },
      onLate: (late) => {
        // Redis granted tokens to a caller already answered without it: give them back.
        if (Number(first(late)) >= 0) core.link.send(this.#refund(permits));
      },
    };
  }

  refund(permits: number): void | Promise<void> {
    const core = this.core;
    return core.link.attempt(
      this.#refund(permits),
      (reply) => {
        this.#learn(reply);
      },
      () => core.local?.refund(permits),
    );
  }

  /**
   * The last known shared count, as `tryAcquire` decides on it: the token count from the last
   * answer Redis gave this store (a full bucket before the first), plus the refill since, less
   * the tokens `tryAcquire` took and those `acquire` asked for that Redis has not answered yet
   * (other processes may have taken some too). While Redis is away with `'local'`, the local
   * bucket's count.
   */
  available(): number {
    const local = this.core.localWhileAway;
    if (local !== undefined) return local.available();
    const { maxTokens, refillRate } = this.#bucket;
    const known = this.#known;
    const tokens = Number.isNaN(known)
      ? maxTokens
      : known + ((this.core.link.clock.now() - this.#knownAt) * refillRate) / 1000;
    return (tokens < maxTokens ? tokens : maxTokens) - this.#taking.amount - this.#reserving.amount;
  }

  #refund(permits: number): RedisCommand {
    return BUCKET.command({ ...this.#bucket, op: 'refund', permits });
  }
}

/** A background take's command and handlers, for one `permits`. */
interface TakeCall {
  readonly permits: number;
  readonly command: RedisCommand;
  readonly onReply: (reply: unknown) => void;
  readonly onFailure: () => void;
}

/** A reserve's command and handlers, for one `permits` and `maxWaitMs`. */
interface ReserveCall {
  readonly permits: number;
  readonly maxWaitMs: number;
  readonly command: RedisCommand;
  /** The answer without Redis, as `onStoreError` says. */
  readonly without: () => number | Promise<number>;
  readonly onReply: (reply: unknown) => number;
  readonly onFailure: () => number | Promise<number>;
  readonly onLate: (late: unknown) => void;
}

function first(reply: unknown): unknown {
  return Array.isArray(reply) ? reply[0] : undefined;
}
