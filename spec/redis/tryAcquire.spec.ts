// `tryAcquire` of a primitive on a Redis store decides on the last known shared count, without a
// round trip, and takes what it granted in Redis in the background; `acquire`, `execute` and
// policies keep deciding through Redis.
import { expect } from 'chai';
import { BulkheadFullError, RateLimitExceededError } from '../../src/errors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import {
  describeRedis,
  PATIENT,
  eventually,
  rejectionOf,
  sleep,
  type RedisEnv,
} from './harness.js';

// Slow enough that no token comes back while a spec runs (one in 1000 s).
const SLOW = 0.001;

async function limiterFor(env: RedisEnv, key: string, maxTokens = 10) {
  const { client } = await env.connect();
  const store = new RedisRateLimiterStore({ client, key, storeTimeout: PATIENT });
  return { limiter: new RateLimiter({ maxTokens, refillRate: SLOW, store }), store };
}

async function bulkheadFor(env: RedisEnv, key: string, maxConcurrent = 2) {
  const { client } = await env.connect();
  const store = new RedisBulkheadStore({ client, key, storeTimeout: PATIENT });
  return { bulkhead: new Bulkhead({ maxConcurrent, store }), store };
}

describeRedis('tryAcquire on Redis stores', function (env) {
  /** The shared bucket's token count, as Redis holds it. */
  const tokensIn = async (store: RedisRateLimiterStore): Promise<number> =>
    Number(await env.admin.command('HGET', store.redisKey, 't'));
  /** The shared bulkhead's leases, as Redis holds them. */
  const leasesIn = async (store: RedisBulkheadStore): Promise<number> =>
    Number(await env.admin.command('ZCARD', store.redisKey));

  describe('RateLimiter', function () {
    it('grants on a last known count of 9 and takes the token from the shared bucket', async function () {
      const key = env.uniqueKey();
      const a = await limiterFor(env, key);
      const b = await limiterFor(env, key);
      await a.limiter.acquire();
      expect(a.limiter.availableTokens).to.be.within(8.99, 9.01);
      expect(a.limiter.tryAcquire()).to.equal(true);
      // Lowered at once, before Redis answers.
      expect(a.limiter.availableTokens).to.be.within(7.99, 8.01);
      await eventually(async () => (await tokensIn(a.store)) < 8.5, 2000, 'the token taken');
      expect(a.limiter.availableTokens).to.be.within(7.99, 8.01);
      // Another process's store sees the bucket without it: 8 tokens, no more.
      await b.limiter.acquire(8);
      expect(await rejectionOf(b.limiter.acquire())).to.be.instanceOf(RateLimitExceededError);
    });

    it('takes weighted permits, and counts the ones taken before Redis answered', async function () {
      const a = await limiterFor(env, env.uniqueKey());
      expect(a.limiter.tryAcquire(4)).to.equal(true);
      expect(a.limiter.tryAcquire(4)).to.equal(true);
      // 10 known (a full bucket before any answer), 8 of them taken in this turn.
      expect(a.limiter.tryAcquire(3)).to.equal(false);
      expect(a.limiter.tryAcquire(2)).to.equal(true);
      await eventually(async () => (await tokensIn(a.store)) < 0.5, 2000, 'the tokens taken');
      expect(a.limiter.availableTokens).to.be.below(0.01);
    });

    it('answers false on a last known count of 0, and sends nothing', async function () {
      const key = env.uniqueKey();
      const a = await limiterFor(env, key);
      await a.limiter.acquire(10);
      const before = await tokensIn(a.store);
      expect(a.limiter.tryAcquire()).to.equal(false);
      await sleep(50);
      expect(await tokensIn(a.store)).to.equal(before);
    });

    it('admits on a stale count when Redis then refuses the take, and learns the shared count', async function () {
      const key = env.uniqueKey();
      const a = await limiterFor(env, key);
      const b = await limiterFor(env, key);
      await a.limiter.acquire();
      // Another process takes the rest: this one still knows 9.
      await b.limiter.acquire(9);
      expect(a.limiter.tryAcquire()).to.equal(true);
      await eventually(() => a.limiter.availableTokens < 0.5, 2000, 'the refusal learned');
      // Refused: the shared bucket did not go below what it held.
      expect(await tokensIn(a.store)).to.be.within(0, 0.5);
      expect(a.limiter.tryAcquire()).to.equal(false);
    });

    it('keeps acquire, execute and a policy deciding through Redis on a stale count', async function () {
      const key = env.uniqueKey();
      const b = await limiterFor(env, key);
      await b.limiter.acquire(10);
      // Each limiter below has never heard from Redis: it knows a full bucket.
      const fresh = async () => (await limiterFor(env, key)).limiter;
      expect(await rejectionOf((await fresh()).acquire())).to.be.instanceOf(RateLimitExceededError);
      expect(await rejectionOf((await fresh()).execute(() => 'x'))).to.be.instanceOf(
        RateLimitExceededError,
      );
      const policy = Policy.builder(`rl-${key}`)
        .rateLimiter(await fresh())
        .build();
      expect(await rejectionOf(policy.execute(() => 'x'))).to.be.instanceOf(RateLimitExceededError);
      expect(await tokensIn(b.store)).to.be.within(0, 0.5);
    });
  });

  describe('Bulkhead', function () {
    it('takes a slot on the last known count, leased in Redis, and release gives it back', async function () {
      const key = env.uniqueKey();
      const a = await bulkheadFor(env, key);
      const b = await bulkheadFor(env, key);
      expect(a.bulkhead.tryAcquire()).to.equal(true);
      expect(a.bulkhead.availableSlots).to.equal(1);
      await eventually(() => a.store.leases === 1, 2000, 'the lease granted');
      expect(await leasesIn(a.store)).to.equal(1);
      expect(a.bulkhead.availableSlots).to.equal(1);
      // Another process sees the slot taken.
      await b.bulkhead.acquire();
      expect(await rejectionOf(b.bulkhead.acquire())).to.be.instanceOf(BulkheadFullError);
      a.bulkhead.release();
      await eventually(async () => (await leasesIn(a.store)) === 1, 2000, 'the lease freed');
      expect(a.store.leases).to.equal(0);
      b.bulkhead.release();
      await eventually(async () => (await leasesIn(a.store)) === 0, 2000, 'every lease freed');
    });

    it('answers false when the last known count has no free slot', async function () {
      const key = env.uniqueKey();
      const a = await bulkheadFor(env, key);
      const b = await bulkheadFor(env, key);
      await b.bulkhead.acquire();
      await b.bulkhead.acquire();
      expect(await rejectionOf(a.bulkhead.acquire())).to.be.instanceOf(BulkheadFullError);
      expect(a.bulkhead.availableSlots).to.equal(0);
      expect(a.bulkhead.tryAcquire()).to.equal(false);
      expect(() => a.bulkhead.release()).to.throw(Error);
      b.bulkhead.release();
      b.bulkhead.release();
    });

    it('gives the lease back when the slot is released before Redis grants it', async function () {
      const key = env.uniqueKey();
      const a = await bulkheadFor(env, key);
      expect(a.bulkhead.tryAcquire()).to.equal(true);
      a.bulkhead.release();
      expect(a.bulkhead.tryAcquire()).to.equal(true);
      // Both grants arrive after their releases: neither lease stays.
      a.bulkhead.release();
      await eventually(() => a.bulkhead.availableSlots === 2, 2000, 'the grants answered');
      await eventually(async () => (await leasesIn(a.store)) === 0, 2000, 'the leases freed');
      expect(a.store.leases).to.equal(0);
    });

    it('frees nothing when Redis refused the take: the call ran untracked', async function () {
      const key = env.uniqueKey();
      const a = await bulkheadFor(env, key);
      const b = await bulkheadFor(env, key);
      await b.bulkhead.acquire();
      await b.bulkhead.acquire();
      // `a` has never heard from Redis: it knows both slots free.
      expect(a.bulkhead.tryAcquire()).to.equal(true);
      await eventually(() => a.bulkhead.availableSlots === 0, 2000, 'the refusal learned');
      expect(a.store.leases).to.equal(0);
      a.bulkhead.release();
      await sleep(50);
      // `b`'s leases are untouched.
      expect(await leasesIn(a.store)).to.equal(2);
      b.bulkhead.release();
      b.bulkhead.release();
      await eventually(async () => (await leasesIn(a.store)) === 0, 2000, 'b freed its slots');
    });

    it('keeps acquire, execute and a policy deciding through Redis on a stale count', async function () {
      const key = env.uniqueKey();
      const b = await bulkheadFor(env, key);
      await b.bulkhead.acquire();
      await b.bulkhead.acquire();
      // Each bulkhead below has never heard from Redis: it knows every slot free.
      const fresh = async () => (await bulkheadFor(env, key)).bulkhead;
      expect(await rejectionOf((await fresh()).acquire())).to.be.instanceOf(BulkheadFullError);
      expect(await rejectionOf((await fresh()).execute(() => 'x'))).to.be.instanceOf(
        BulkheadFullError,
      );
      const policy = Policy.builder(`bh-${key}`)
        .bulkhead(await fresh())
        .build();
      expect(await rejectionOf(policy.execute(() => 'x'))).to.be.instanceOf(BulkheadFullError);
      expect(await leasesIn(b.store)).to.equal(2);
      b.bulkhead.release();
      b.bulkhead.release();
    });
  });
});
