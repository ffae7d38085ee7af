// What only a Redis Cluster shows: every key of one primitive in one hash slot (a script touching
// keys of two slots fails with CROSSSLOT), per-key views spread over the masters, scripts sent
// again to the node that lost them, and the cluster clients detected as such.
import { expect } from 'chai';
import { sha1Hex, toRedisAdapter } from '../../src/redis/adapter.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { BUCKET } from '../../src/redis/scripts/bucket.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { describeRedis, rejectionOf, type RedisEnv } from './harness.js';

// Keys that a naive `{<key>}` would tag wrongly (an empty tag, a tag cut short), and others.
const AWKWARD = ['}x', '{a}', 'a}b{c', '%7D', 'tenant:42/🙂', 'h'.repeat(300)];

async function slotOf(env: RedisEnv, name: string): Promise<number> {
  return Number(await env.admin.command('CLUSTER', 'KEYSLOT', name));
}

// Which master serves each slot, from CLUSTER SLOTS.
async function slotOwners(env: RedisEnv): Promise<(slot: number) => string> {
  const ranges = (await env.admin.command('CLUSTER', 'SLOTS')) as [
    number,
    number,
    [string, number, ...unknown[]],
  ][];
  return (slot) => {
    const range = ranges.find(([from, to]) => slot >= Number(from) && slot <= Number(to));
    if (range === undefined) throw new Error(`slot ${slot} unassigned`);
    return `${range[2][0]}:${range[2][1]}`;
  };
}

/** Runs one primitive of each kind on `stores` (writing every key they keep) and checks the keys. */
async function exercise(
  env: RedisEnv,
  stores: {
    limiter: RedisRateLimiterStore;
    breaker: RedisCircuitBreakerStore;
    bulkhead: RedisBulkheadStore;
  },
): Promise<void> {
  const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1, store: stores.limiter });
  const breaker = new CircuitBreaker({
    failureRateThreshold: 0.9,
    windowSize: 10,
    store: stores.breaker,
  });
  const bulkhead = new Bulkhead({ maxConcurrent: 1, store: stores.bulkhead });
  await limiter.acquire();
  expect(
    await rejectionOf(breaker.execute(() => Promise.reject(new Error('down')))),
  ).to.have.property('message', 'down');
  expect(await bulkhead.execute(() => 'ran')).to.equal('ran');
  // Each store answered from Redis, not from its fallback.
  expect(stores.limiter.redisAvailable && stores.breaker.redisAvailable).to.equal(true);
  expect(stores.bulkhead.redisAvailable).to.equal(true);
  expect(limiter.availableTokens).to.be.within(1, 1.5);
  expect((await stores.breaker.snapshot()).failedCalls).to.equal(1);
  const state = stores.breaker.redisKey;
  expect(await env.admin.command('EXISTS', state)).to.equal(1);
  expect(await env.admin.command('EXISTS', `${state}:w`)).to.equal(1);
  expect(await slotOf(env, `${state}:w`)).to.equal(await slotOf(env, state));
}

describeRedis(
  'Redis stores on a Redis Cluster',
  function (env) {
    it('keep every key of one primitive in one hash slot, whatever the key', async function () {
      this.timeout(10_000);
      const { client } = await env.connect();
      for (const key of AWKWARD) {
        const options = {
          client,
          key: `${key}-${env.uniqueKey()}`,
          onStoreError: 'fail-closed',
        } as const;
        await exercise(env, {
          limiter: new RedisRateLimiterStore(options),
          breaker: new RedisCircuitBreakerStore(options),
          bulkhead: new RedisBulkheadStore(options),
        });
        const family = env.uniqueKey();
        const root = { client, key: family, onStoreError: 'fail-closed' } as const;
        for (const member of [key, '%']) {
          await exercise(env, {
            limiter: new RedisRateLimiterStore(root).forKey(member),
            breaker: new RedisCircuitBreakerStore(root).forKey(member),
            bulkhead: new RedisBulkheadStore(root).forKey(member),
          });
        }
      }
    });

    it('put the state of one view key in one slot, and spread view keys over every master', async function () {
      const { client } = await env.connect();
      const family = env.uniqueKey();
      const limiters = new RedisRateLimiterStore({ client, key: `${family}-rl` });
      const breakers = new RedisCircuitBreakerStore({ client, key: `${family}-cb` });
      const owner = await slotOwners(env);
      const masters = new Set<string>();
      for (let user = 0; user < 30; user++) {
        const slot = await slotOf(env, limiters.forKey(`user-${user}`).redisKey);
        // A user's limiter and breaker, though of different stores, live on one slot.
        expect(await slotOf(env, breakers.forKey(`user-${user}`).redisKey)).to.equal(slot);
        masters.add(owner(slot));
      }
      expect(masters.size).to.equal(3);
    });

    it('send a script again, with EVAL, to the node that lost it', async function () {
      const { client } = await env.connect();
      const cluster = env.redisCluster;
      const flushAll = () =>
        Promise.all(cluster.ports.map((port) => cluster.command(port, 'SCRIPT', 'FLUSH')));
      const cached = () =>
        Promise.all(
          cluster.ports.map(
            async (port) =>
              (await cluster.command(port, 'SCRIPT', 'EXISTS', BUCKET.sha1)).trim() === '1',
          ),
        );
      const store = new RedisRateLimiterStore({
        client,
        key: env.uniqueKey(),
        onStoreError: 'fail-closed',
      });
      // Refilled too slowly for a token to come back while the spec asks the nodes (redis-cli).
      const limiter = new RateLimiter({ maxTokens: 3, refillRate: 0.01, store });
      await limiter.acquire();
      await flushAll();
      expect(await cached()).to.deep.equal([false, false, false]);
      await limiter.acquire();
      await limiter.acquire();
      expect(await rejectionOf(limiter.acquire())).to.have.property('code', 'RATE_LIMITED');
      // Loaded again on the one node that owns the bucket's slot.
      expect((await cached()).filter(Boolean)).to.have.length(1);
    });

    it('detect the cluster client, and load a script where the client sends SCRIPT LOAD', async function () {
      const { client } = await env.connect();
      const adapter = toRedisAdapter(client);
      expect(adapter.name).to.equal(
        env.kind === 'ioredis-cluster' ? 'ioredis Cluster' : 'node-redis cluster',
      );
      const cluster = env.redisCluster;
      const script = `return '${env.uniqueKey()}'`;
      const sha1 = await adapter.scriptLoad(script);
      expect(sha1).to.equal(sha1Hex(script));
      const exists = await Promise.all(
        cluster.ports.map((port) => cluster.command(port, 'SCRIPT', 'EXISTS', sha1)),
      );
      expect(exists.map((reply) => reply.trim())).to.include('1');
      expect(await adapter.time()).to.be.closeTo(Date.now(), 5000);
    });
  },
  { cluster: 'only' },
);
