// What the stores do when Redis stops, stalls or fails a script: each onStoreError mode, calls
// bounded by storeTimeout, and shared state resuming once redis-server is back.
import { expect } from 'chai';
import {
  BulkheadFullError,
  CircuitOpenError,
  isStoreUnavailableError,
  RateLimitExceededError,
  StoreUnavailableError,
} from '../../src/errors.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import type { StoreErrorMode } from '../../src/redis/options.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { settle } from '../support/promises.js';
import {
  deferred,
  describeRedis,
  eventually,
  rejectionOf,
  sleep,
  type RedisEnv,
  type TestClient,
} from './harness.js';

const STORE_TIMEOUT = 100;
// The longest any call may take: the store timeout plus scheduling slack on a busy machine.
const CALL_BOUND = STORE_TIMEOUT + 100;

/** Settles `promise`, measuring how long that took. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await promise;
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

async function limiter(
  env: RedisEnv,
  key: string,
  mode: StoreErrorMode,
  options: { maxTokens: number; refillRate: number; instances?: number },
  connection?: TestClient,
) {
  const c = connection ?? (await env.connect());
  const store = new RedisRateLimiterStore({
    client: c.client,
    key,
    storeTimeout: STORE_TIMEOUT,
    onStoreError: mode,
    instances: options.instances ?? 1,
  });
  const rateLimiter = new RateLimiter({
    maxTokens: options.maxTokens,
    refillRate: options.refillRate,
    store,
  });
  return { limiter: rateLimiter, store, connection: c };
}

async function restart(env: RedisEnv, ...clients: TestClient[]): Promise<void> {
  await env.server.start();
  await Promise.all([env.admin, ...clients].map((c) => c.ready()));
}

describeRedis('Redis stores when Redis fails', function (env) {
  this.timeout(10_000);

  beforeEach(async function () {
    if (!env.server.running) await restart(env);
  });

  it("'local' limits each process to its share while Redis is down, then shares again", async function () {
    const key = env.uniqueKey();
    const options = { maxTokens: 10, refillRate: 0.5, instances: 2 };
    const a = await limiter(env, key, 'local', options);
    const b = await limiter(env, key, 'local', options);
    await a.limiter.acquire(2);
    await env.server.stop();
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await timed(a.limiter.acquire()));
    // 10 tokens / 2 instances: 5 locally, then refused as a rate limit, not as a store error.
    expect(results.slice(0, 5).map((r) => r.error)).to.deep.equal([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(results[5]?.error).to.be.instanceOf(RateLimitExceededError);
    for (const r of results) expect(r.ms).to.be.below(CALL_BOUND);
    expect(a.store.redisAvailable).to.equal(false);

    await restart(env, a.connection, b.connection);
    // Back on Redis after the back-off (400 ms): the fresh server holds a full bucket of 10.
    await eventually(
      async () => {
        await a.limiter.acquire().catch(() => undefined);
        return a.store.redisAvailable;
      },
      2000,
      'returning to Redis',
    );
    await a.limiter.acquire(5);
    await b.limiter.acquire(4);
    expect(await rejectionOf(b.limiter.acquire(1))).to.be.instanceOf(RateLimitExceededError);
    expect(await rejectionOf(a.limiter.acquire(1))).to.be.instanceOf(RateLimitExceededError);
  });

  it("'fail-open' admits every call while Redis is down", async function () {
    const a = await limiter(env, env.uniqueKey(), 'fail-open', { maxTokens: 1, refillRate: 1 });
    await a.limiter.acquire();
    expect(await rejectionOf(a.limiter.acquire())).to.be.instanceOf(RateLimitExceededError);
    await env.server.stop();
    for (let i = 0; i < 20; i++) {
      const r = await timed(a.limiter.execute(() => i));
      expect(r.value).to.equal(i);
      expect(r.ms).to.be.below(CALL_BOUND);
    }
  });

  it("'fail-closed' rejects with StoreUnavailableError, telling a down store from a hit limit", async function () {
    const key = env.uniqueKey();
    const a = await limiter(env, key, 'fail-closed', { maxTokens: 2, refillRate: 0.5 });
    await env.server.stop();
    for (let i = 0; i < 3; i++) {
      const r = await timed(a.limiter.acquire());
      expect(r.error).to.be.instanceOf(StoreUnavailableError);
      expect(isStoreUnavailableError(r.error)).to.equal(true);
      expect((r.error as StoreUnavailableError).code).to.equal('STORE_UNAVAILABLE');
      expect(r.ms).to.be.below(CALL_BOUND);
    }
    await restart(env, a.connection);
    await eventually(
      async () => (await timed(a.limiter.acquire())).error === undefined,
      2000,
      'admission through Redis',
    );
    await a.limiter.acquire();
    expect(await rejectionOf(a.limiter.acquire())).to.be.instanceOf(RateLimitExceededError);
  });

  it('bounds every call by storeTimeout when Redis stalls, and gives back late grants', async function () {
    const key = env.uniqueKey();
    const closed = await limiter(env, key, 'fail-closed', { maxTokens: 5, refillRate: 0.1 });
    const { client } = await env.connect();
    const store = new RedisBulkheadStore({
      client,
      key,
      storeTimeout: STORE_TIMEOUT,
      onStoreError: 'local',
    });
    const bulkhead = new Bulkhead({ maxConcurrent: 3, store });
    await env.admin.command('CLIENT', 'PAUSE', '400', 'ALL');
    const stalled = await timed(closed.limiter.acquire());
    expect(stalled.ms).to.be.within(STORE_TIMEOUT - 5, CALL_BOUND);
    expect((stalled.error as Error).message).to.include(
      `Redis did not answer within ${STORE_TIMEOUT} ms`,
    );
    const slot = await timed(bulkhead.execute(() => 'local slot'));
    expect(slot.value).to.equal('local slot');
    expect(slot.ms).to.be.below(CALL_BOUND);
    await sleep(400);
    // The commands ran once the pause ended; what Redis granted late was given back.
    await eventually(
      async () => {
        const tokens = Number(await env.admin.command('HGET', `bulwark:rl:{${key}}`, 't'));
        return tokens > 4.9;
      },
      1000,
      'the late tokens coming back',
    );
    await eventually(
      async () => (await env.admin.command('EXISTS', `bulwark:bh:{${key}}`)) === 0,
      1000,
      'the late lease going away',
    );
  });

  it('treats a script error as a store failure', async function () {
    const key = env.uniqueKey();
    await env.admin.command('SET', `bulwark:rl:{${key}}`, 'not a bucket');
    const closed = await limiter(env, key, 'fail-closed', { maxTokens: 1, refillRate: 1 });
    const error = (await rejectionOf(closed.limiter.acquire())) as StoreUnavailableError;
    expect(error).to.be.instanceOf(StoreUnavailableError);
    expect(error.message).to.include('Redis answered with an error: WRONGTYPE');
    const local = await limiter(env, key, 'local', { maxTokens: 1, refillRate: 1 });
    await local.limiter.acquire();
    expect(local.store.redisAvailable).to.equal(false);
  });

  it('bounds calls by storeTimeout even with a client that queues commands while offline', async function () {
    const key = env.uniqueKey();
    const queueing = await env.connect({ offlineQueue: true });
    const a = await limiter(env, key, 'local', { maxTokens: 3, refillRate: 0.1 }, queueing);
    await env.server.stop();
    const r = await timed(a.limiter.acquire());
    expect(r.error).to.equal(undefined);
    expect(r.ms).to.be.within(STORE_TIMEOUT - 5, CALL_BOUND);
    await restart(env, queueing);
    // The queued command ran on the new server; its token was given back.
    await eventually(
      async () => {
        const tokens = Number(await env.admin.command('HGET', `bulwark:rl:{${key}}`, 't'));
        return tokens > 2.9;
      },
      1500,
      'the queued grant coming back',
    );
  });

  for (const mode of ['local', 'fail-open', 'fail-closed'] as const) {
    it(`follows '${mode}' for a circuit breaker while Redis is down, then shares state again`, async function () {
      const key = env.uniqueKey();
      const make = async () => {
        const c = await env.connect();
        const store = new RedisCircuitBreakerStore({
          client: c.client,
          key,
          storeTimeout: STORE_TIMEOUT,
          onStoreError: mode,
        });
        const breaker = new CircuitBreaker({ failureThreshold: 2, recoveryTimeout: '10s', store });
        await store.state();
        return { breaker, store, connection: c };
      };
      const a = await make();
      const b = await make();
      await env.server.stop();
      const fail = () => a.breaker.execute(() => Promise.reject(new Error('boom')));
      const first = await timed(fail());
      const second = await timed(fail());
      const third = await timed(a.breaker.execute(() => 'third'));
      for (const r of [first, second, third]) expect(r.ms).to.be.below(CALL_BOUND);
      if (mode === 'local') {
        expect((first.error as Error).message).to.equal('boom');
        expect((second.error as Error).message).to.equal('boom');
        // The local breaker tripped on its own.
        expect(third.error).to.be.instanceOf(CircuitOpenError);
      } else if (mode === 'fail-open') {
        expect((second.error as Error).message).to.equal('boom');
        expect(third.value).to.equal('third');
      } else {
        for (const r of [first, second, third]) {
          expect(r.error).to.be.instanceOf(StoreUnavailableError);
        }
      }
      await restart(env, a.connection, b.connection);
      await eventually(
        async () =>
          (await timed(a.breaker.execute(() => 'ok'))).value === 'ok' && a.store.redisAvailable,
        2000,
        'admission through Redis',
      );
      // Shared again: two failures on B open the circuit for A.
      await rejectionOf(b.breaker.execute(() => Promise.reject(new Error('x'))));
      await rejectionOf(b.breaker.execute(() => Promise.reject(new Error('x'))));
      expect(await b.store.state()).to.equal('open');
      expect(await rejectionOf(a.breaker.execute(() => 'x'))).to.be.instanceOf(CircuitOpenError);
    });

    it(`follows '${mode}' for a bulkhead while Redis is down, then shares slots again`, async function () {
      const key = env.uniqueKey();
      const make = async () => {
        const c = await env.connect();
        const store = new RedisBulkheadStore({
          client: c.client,
          key,
          storeTimeout: STORE_TIMEOUT,
          onStoreError: mode,
          instances: 2,
        });
        return { bulkhead: new Bulkhead({ maxConcurrent: 4, store }), store, connection: c };
      };
      const a = await make();
      const b = await make();
      await env.server.stop();
      const gate = deferred();
      const started: number[] = [];
      const calls = [0, 1, 2].map((i) =>
        a.bulkhead.execute(() => {
          started.push(i);
          return gate.promise;
        }),
      );
      const outcomes = calls.map((call) => settle(call));
      // Every call decided: running (its function started), or refused.
      const decided = () => outcomes.every((o, i) => o.status !== 'pending' || started.includes(i));
      await eventually(decided, 2000, 'every call decided');
      if (mode === 'local') {
        // 4 slots / 2 instances: two run, the third is refused.
        expect(started).to.deep.equal([0, 1]);
        expect(outcomes[2]?.reason).to.be.instanceOf(BulkheadFullError);
      } else if (mode === 'fail-open') {
        expect(started).to.deep.equal([0, 1, 2]);
      } else {
        expect(started).to.deep.equal([]);
        for (const o of outcomes) expect(o.reason).to.be.instanceOf(StoreUnavailableError);
      }
      gate.resolve();
      await Promise.allSettled(calls);
      await restart(env, a.connection, b.connection);
      await eventually(
        async () =>
          (await timed(a.bulkhead.execute(() => 'ok'))).value === 'ok' && a.store.redisAvailable,
        2000,
        'admission through Redis',
      );
      const held = deferred();
      const running = [0, 1, 2, 3].map((i) => (i < 2 ? a : b).bulkhead.execute(() => held.promise));
      await eventually(
        async () => (await env.admin.command('ZCARD', `bulwark:bh:{${key}}`)) === 4,
        1000,
        'four shared leases',
      );
      expect(await rejectionOf(a.bulkhead.execute(() => 'x'))).to.be.instanceOf(BulkheadFullError);
      held.resolve();
      await Promise.all(running);
    });
  }
});
