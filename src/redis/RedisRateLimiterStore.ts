import {
  InMemoryRateLimiterStore,
  type Clock,
  type RateLimiterStore,
  type RateLimiterStoreConfig,
} from '../index.js';
import { RedisLink, luaScript } from './link.js';
import { assertUnconfigured, resolveStoreOptions, type RedisStoreOptions } from './options.js';

/** Options of a {@link RedisRateLimiterStore}: the common {@link RedisStoreOptions}. */
export type RedisRateLimiterStoreOptions = RedisStoreOptions;

// One decision, atomically, on the server's clock (no client clock skew). The bucket is a
// reservation ledger like the in-memory one: its count goes below zero by the tokens reserved
// by callers still waiting, in any process, so earlier reservations are always served first.
// KEYS[1]: the bucket (hash: t = tokens, ts = time of t in ms).
// ARGV: maxTokens, refillRate (per second), op ('r' reserve, 'f' refund), permits,
// maxWaitMs (-1: no limit).
// Reply: { result, tokens } as strings (Lua numbers would be truncated to integers).
const BUCKET = luaScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key = KEYS[1]
local max = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local op = ARGV[3]
local permits = tonumber(ARGV[4])
local maxWait = tonumber(ARGV[5])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local state = redis.call('HMGET', key, 't', 'ts')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
if tokens == nil or last == nil then
  tokens = max
  last = now
elseif now > last then
  tokens = math.min(max, tokens + (now - last) * rate / 1000)
  last = now
end
local result = 0
if op == 'r' then
  if tokens >= permits then
    tokens = tokens - permits
  else
    local wait = (permits - tokens) * 1000 / rate
    if maxWait >= 0 and wait > maxWait then
      return { string.format('%.17g', -wait), string.format('%.17g', tokens) }
    end
    tokens = tokens - permits
    result = wait
  end
elseif op == 'f' then
  tokens = math.min(max, tokens + permits)
end
redis.call('HSET', key, 't', string.format('%.17g', tokens), 'ts', string.format('%.17g', last))
-- Once idle this long the bucket would be full again, which is what a missing key means.
local idle = math.ceil((max - tokens) * 1000 / rate)
if idle < 5000 then idle = 5000 elseif idle > 1e15 then idle = 1e15 end
redis.call('PEXPIRE', key, string.format('%d', idle))
return { string.format('%.17g', result), string.format('%.17g', tokens) }
`);

/**
 * A token bucket in Redis, shared by every {@link RateLimiter} (in any process) whose store has
 * the same `prefix` and `key`. Each decision is one atomic Lua script (`EVALSHA`) that refills
 * the bucket from the Redis server's clock, so the processes' clocks need not agree. The key
 * expires once the bucket would be full again (at least 5 s after the last call).
 *
 * Weighted permits, waiting (`maxWait > 0`: the tokens are reserved in Redis, and the caller
 * waits in this process) and `retryAfterMs` work as with the in-memory bucket. Each `acquire`
 * is one round trip; `tryAcquire` answers `false` without asking Redis (except while Redis is
 * away and `onStoreError` is `'local'` or `'fail-open'`), and the limiter's `availableTokens`
 * reports the count from the last answer plus the refill since.
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
 * const client = new Redis(process.env.REDIS_URL);
 * const limiter = new RateLimiter({
 *   maxTokens: 100,
 *   refillRate: 50,
 *   store: new RedisRateLimiterStore({ client, key: 'payment-api', instances: 4 }),
 * });
 * await limiter.execute(() => payments.charge(order));
 * ```
 */
export class RedisRateLimiterStore implements RateLimiterStore {
  /** The Redis key of the bucket (`<prefix>rl:{<key>}`). */
  readonly redisKey: string;
  readonly #link: RedisLink;
  readonly #keys: readonly string[];
  readonly #instances: number;
  #clock: Clock | undefined;
  #local: InMemoryRateLimiterStore | undefined;
  #maxTokens = 0;
  #refillRate = 0;
  #maxArg = '';
  #rateArg = '';
  // The last answer's token count, and when (on this process's clock) it was received.
  #known = NaN;
  #knownAt = 0;
  // The argument list of the last reserve, reused while permits and maxWait stay the same.
  #reserveArgs: readonly string[] = [];
  #reservePermits = NaN;
  #reserveMaxWait = NaN;

  /**
   * @throws TypeError for a missing `client` or `key`, an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options: RedisRateLimiterStoreOptions) {
    const { common } = resolveStoreOptions(options, 'RedisRateLimiterStore');
    this.redisKey = `${common.prefix}rl:{${common.key}}`;
    this.#keys = Object.freeze([this.redisKey]);
    this.#link = new RedisLink(common, this.redisKey);
    this.#instances = common.instances;
  }

  /** False from a failed Redis call until a call to Redis succeeds again. */
  get redisAvailable(): boolean {
    return this.#link.up;
  }

  /** @throws Error when the store already serves another limiter */
  configure(config: RateLimiterStoreConfig): void {
    assertUnconfigured(this.#clock, 'RedisRateLimiterStore', 'RateLimiter');
    this.#clock = config.clock;
    this.#link.bind(config.clock);
    this.#maxTokens = config.maxTokens;
    this.#refillRate = config.refillRate;
    this.#maxArg = String(config.maxTokens);
    this.#rateArg = String(config.refillRate);
    if (this.#link.mode === 'local') {
      const n = this.#instances;
      // A share below one token could never serve a single permit.
      const share = config.maxTokens / n;
      const local = new InMemoryRateLimiterStore();
      local.configure({
        maxTokens: share >= 1 ? share : Math.min(1, config.maxTokens),
        refillRate: config.refillRate / n,
        clock: config.clock,
      });
      this.#local = local;
    }
  }

  /**
   * Answers `false` (Redis cannot answer synchronously), so the limiter asks
   * {@link RedisRateLimiterStore.reserve}. While Redis is away: the local bucket's answer with
   * `'local'`, `true` with `'fail-open'`.
   */
  tryReserve(permits: number): boolean {
    if (!this.#link.bypassing) return false;
    const local = this.#local;
    if (local !== undefined) return local.tryReserve(permits);
    return this.#link.mode === 'fail-open';
  }

  reserve(permits: number, maxWaitMs: number): number | Promise<number> {
    const link = this.#link;
    if (!link.shouldTry()) return this.#reserveWithout(permits, maxWaitMs);
    if (permits !== this.#reservePermits || maxWaitMs !== this.#reserveMaxWait) {
      this.#reservePermits = permits;
      this.#reserveMaxWait = maxWaitMs;
      this.#reserveArgs = Object.freeze([
        this.#maxArg,
        this.#rateArg,
        'r',
        String(permits),
        maxWaitMs === Infinity ? '-1' : String(maxWaitMs),
      ]);
    }
    return link
      .run(BUCKET, this.#keys, this.#reserveArgs, (late) => {
        // Redis granted tokens to a caller already answered without it: give them back.
        if (Number(first(late)) >= 0) link.send(BUCKET, this.#keys, this.#refundArgs(permits));
      })
      .then(
        (reply) => this.#learn(reply),
        () => this.#reserveWithout(permits, maxWaitMs),
      );
  }

  refund(permits: number): void | Promise<void> {
    const link = this.#link;
    if (!link.shouldTry()) {
      if (this.#local !== undefined) this.#local.refund(permits);
      return;
    }
    return link.run(BUCKET, this.#keys, this.#refundArgs(permits)).then(
      (reply) => {
        this.#learn(reply);
      },
      () => {
        if (this.#local !== undefined) this.#local.refund(permits);
      },
    );
  }

  /**
   * The token count from the last answer Redis gave this store, plus the refill since (other
   * processes may have taken some). While Redis is away with `'local'`, the local bucket's count.
   */
  available(): number {
    const local = this.#local;
    if (local !== undefined && this.#link.bypassing) return local.available();
    const known = this.#known;
    if (Number.isNaN(known)) return this.#maxTokens;
    const clock = this.#clock as Clock;
    const tokens = known + ((clock.now() - this.#knownAt) * this.#refillRate) / 1000;
    return tokens < this.#maxTokens ? tokens : this.#maxTokens;
  }

  #learn(reply: unknown): number {
    const [result, tokens] = reply as [unknown, unknown];
    this.#known = Number(tokens);
    this.#knownAt = (this.#clock as Clock).now();
    return Number(result);
  }

  #refundArgs(permits: number): readonly string[] {
    return [this.#maxArg, this.#rateArg, 'f', String(permits), '0'];
  }

  #reserveWithout(permits: number, maxWaitMs: number): number | Promise<number> {
    const local = this.#local;
    if (local !== undefined) return local.reserve(permits, maxWaitMs);
    if (this.#link.mode === 'fail-open') return 0;
    return Promise.reject(this.#link.unavailable());
  }
}

function first(reply: unknown): unknown {
  return Array.isArray(reply) ? reply[0] : undefined;
}
