// The Redis stores behind primitives composed in a policy, as most users will run them.
import { expect } from 'chai';
import { BulkheadFullError, CircuitOpenError, RateLimitExceededError } from '../../src/errors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import {
  deferred,
  describeRedis,
  PATIENT,
  eventually,
  rejectionOf,
  type RedisEnv,
} from './harness.js';

async function instance(env: RedisEnv, key: string) {
  const { client } = await env.connect();
  const breakerStore = new RedisCircuitBreakerStore({ client, key, storeTimeout: PATIENT });
  const bulkheadStore = new RedisBulkheadStore({ client, key, storeTimeout: PATIENT });
  const breaker = new CircuitBreaker({
    failureThreshold: 2,
    recoveryTimeout: '10s',
    store: breakerStore,
  });
  await breakerStore.state();
  const policy = Policy.builder(`p-${key}`)
    .rateLimiter(
      new RateLimiter({
        maxTokens: 6,
        refillRate: 0.1,
        store: new RedisRateLimiterStore({ client, key, storeTimeout: PATIENT }),
      }),
    )
    .bulkhead(new Bulkhead({ maxConcurrent: 2, store: bulkheadStore }))
    .circuitBreaker(breaker)
    .build();
  return { policy, breakerStore, bulkheadStore };
}

describeRedis(
  'Policies on Redis stores',
  function (env) {
    it('share one rate limit and one concurrency limit between processes', async function () {
      const key = env.uniqueKey();
      const a = await instance(env, key);
      const b = await instance(env, key);
      const gate = deferred();
      const running = [a.policy.execute(() => gate.promise), b.policy.execute(() => gate.promise)];
      // Both calls hold their slot in Redis (however busy the machine).
      const leases = async () => Number(await env.admin.command('ZCARD', a.bulkheadStore.redisKey));
      await eventually(async () => (await leases()) === 2, 2000, 'both slots taken');
      expect(await rejectionOf(a.policy.execute(() => 'x'))).to.be.instanceOf(BulkheadFullError);
      gate.resolve();
      await Promise.all(running);
      // 6 tokens in all: 3 taken above (two calls and the refused one), 3 left.
      await eventually(async () => (await leases()) === 0, 2000, 'both slots given back');
      expect(await a.policy.execute(() => 1)).to.equal(1);
      expect(await b.policy.execute(() => 2)).to.equal(2);
      expect(await a.policy.execute(() => 3)).to.equal(3);
      expect(await rejectionOf(b.policy.execute(() => 4))).to.be.instanceOf(RateLimitExceededError);
    });

    it('share the circuit: a trip elsewhere refuses the very next call', async function () {
      const key = env.uniqueKey();
      const a = await instance(env, key);
      const b = await instance(env, key);
      // b has run before, so it knows the circuit as closed.
      expect(await b.policy.execute(() => 'before')).to.equal('before');
      await a.breakerStore.record({ failure: true, slow: false });
      await a.breakerStore.record({ failure: true, slow: false });
      // The pipeline waits for the shared store's answer instead of trusting its last known state.
      let ran = false;
      const refused = await rejectionOf(
        b.policy.execute(() => {
          ran = true;
          return 'first';
        }),
      );
      expect(refused).to.be.instanceOf(CircuitOpenError);
      expect(ran).to.equal(false);
    });
  },
  { cluster: true },
);
