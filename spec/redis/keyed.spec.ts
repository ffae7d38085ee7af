// Per-key views of the Redis stores (`store.forKey(key)`): one process-wide store serves a limiter,
// breaker or bulkhead per user, each key with its own shared state, all on one client.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  BulkheadFullError,
  CircuitOpenError,
  RateLimitExceededError,
  StoreUnavailableError,
} from '../../src/errors.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { stages } from '../../src/pipeline/stages.js';
import { Keyed } from '../../src/strategies/keyed/Keyed.js';
import { flush, settle } from '../support/promises.js';
import { deferred, describeRedis, rejectionOf } from './harness.js';

/** A keyed holder, as a keyed policy keeps one: a primitive per key, made on first use. */
function keyed<P>(factory: (key: string) => P): (key: string) => P {
  const holder = new Keyed(factory);
  return (key) => holder.get(key);
}

describeRedis(
  'Per-key views of the Redis stores',
  function (env) {
    it('give each key its own bucket, shared by the views of that key in every process', async function () {
      const family = env.uniqueKey();
      // Two processes, each with one store for all its users.
      const [a, b] = await Promise.all([env.connect(), env.connect()]);
      const limiterIn = (client: object) => {
        const store = new RedisRateLimiterStore({ client: client as never, key: family });
        return keyed(
          (user) => new RateLimiter({ maxTokens: 2, refillRate: 0.1, store: store.forKey(user) }),
        );
      };
      const inA = limiterIn(a.client);
      const inB = limiterIn(b.client);
      await inA('alice').acquire();
      await inB('alice').acquire();
      expect(await rejectionOf(inA('alice').acquire())).to.be.instanceOf(RateLimitExceededError);
      // Another user's bucket is untouched, in either process.
      await inB('bob').acquire();
      await inA('bob').acquire();
      expect(await rejectionOf(inB('bob').acquire())).to.be.instanceOf(RateLimitExceededError);
      const views = new RedisRateLimiterStore({ client: a.client, key: family });
      for (const user of ['alice', 'bob']) {
        const tokens = Number(await env.admin.command('HGET', views.forKey(user).redisKey, 't'));
        expect(tokens).to.be.lessThan(1);
      }
    });

    it('serve a keyed policy stage: one store, a view per key', async function () {
      const family = env.uniqueKey();
      const [a, b] = await Promise.all([env.connect(), env.connect()]);
      const policyIn = (client: object) =>
        Policy.builder('api')
          .rateLimiter({
            key: (ctx) => String(ctx.data.get('user')),
            maxTokens: 2,
            refillRate: 0.1,
            store: new RedisRateLimiterStore({ client: client as never, key: family }),
          })
          .build();
      const [inA, inB] = [policyIn(a.client), policyIn(b.client)];
      const call = (policy: typeof inA, user: string) =>
        policy.execute(() => 'ok', { data: { user } });
      await call(inA, 'alice');
      await call(inB, 'alice');
      // Alice's bucket is shared by both processes; Bob's is his own.
      expect(await rejectionOf(call(inA, 'alice'))).to.be.instanceOf(RateLimitExceededError);
      expect(await call(inB, 'bob')).to.equal('ok');
      const views = new RedisRateLimiterStore({ client: a.client, key: family });
      const tokens = Number(await env.admin.command('HGET', views.forKey('bob').redisKey, 't'));
      expect(tokens).to.be.closeTo(1, 0.1);
    });

    it('open the circuit of one key only', async function () {
      const { client } = await env.connect();
      const store = new RedisCircuitBreakerStore({ client, key: env.uniqueKey() });
      const breakerOf = keyed(
        (host) =>
          new CircuitBreaker({
            failureThreshold: 2,
            recoveryTimeout: '30s',
            store: store.forKey(host),
          }),
      );
      const down = () => Promise.reject(new Error('down'));
      await rejectionOf(breakerOf('a.example').execute(down));
      await rejectionOf(breakerOf('a.example').execute(down));
      expect(await rejectionOf(breakerOf('a.example').execute(() => 'x'))).to.be.instanceOf(
        CircuitOpenError,
      );
      expect(await breakerOf('b.example').execute(() => 'b')).to.equal('b');
      // A new breaker for the open key (another process, or one made after an eviction) sees it open.
      const again = new CircuitBreaker({ failureThreshold: 2, store: store.forKey('a.example') });
      expect(await rejectionOf(again.execute(() => 'x'))).to.be.instanceOf(CircuitOpenError);
    });

    it('cap the concurrency of each key on its own', async function () {
      const { client } = await env.connect();
      const store = new RedisBulkheadStore({ client, key: env.uniqueKey(), leaseTtl: '5s' });
      const poolOf = keyed(
        (tenant) => new Bulkhead({ maxConcurrent: 1, store: store.forKey(tenant) }),
      );
      const gate = deferred();
      const started = deferred();
      const running = poolOf('t1').execute(() => {
        started.resolve();
        return gate.promise;
      });
      await started.promise;
      expect(await rejectionOf(poolOf('t1').execute(() => 'x'))).to.be.instanceOf(
        BulkheadFullError,
      );
      expect(await poolOf('t2').execute(() => 't2')).to.equal('t2');
      gate.resolve();
      await running;
    });

    it('drop a key whose bulkhead last heard of slots another process holds: nothing is held here', async function () {
      const family = env.uniqueKey();
      const [a, b] = await Promise.all([env.connect(), env.connect()]);
      const stage = stages.bulkhead({
        key: (ctx) => String(ctx.data.get('tenant')),
        maxKeys: 3,
        maxConcurrent: 2,
        store: new RedisBulkheadStore({ client: a.client, key: family, leaseTtl: '5s' }),
      });
      const policy = Policy.builder('tenants').use(stage).build();
      const inB = new RedisBulkheadStore({ client: b.client, key: family, leaseTtl: '5s' });
      for (let i = 0; i < 8; i++) {
        // Another process holds a slot of the tenant while this one runs a call on it.
        const elsewhere = new Bulkhead({ maxConcurrent: 2, store: inB.forKey(`t-${i}`) });
        await elsewhere.acquire();
        expect(await policy.execute(() => i, { data: { tenant: `t-${i}` } })).to.equal(i);
        elsewhere.release();
      }
      const holder = stage.primitive;
      expect(holder.keys()).to.deep.equal(['t-5', 't-6', 't-7']);
      expect(holder.droppedBusy, 'each dropped as at rest').to.equal(0);
    });

    it('share what the client learns of the server: one view failing to reach it backs off the others', async function () {
      const connection = await env.connect();
      const store = new RedisRateLimiterStore({
        client: connection.client,
        key: env.uniqueKey(),
        onStoreError: 'fail-closed',
      });
      const limiterOf = keyed(
        (user) => new RateLimiter({ maxTokens: 5, refillRate: 1, store: store.forKey(user) }),
      );
      const bob = limiterOf('bob');
      await bob.acquire();
      connection.crash();
      expect(await rejectionOf(limiterOf('alice').acquire())).to.be.instanceOf(
        StoreUnavailableError,
      );
      // bob's view has not asked Redis since, yet knows it is away and answers without it.
      expect(store.forKey('bob').redisAvailable).to.equal(false);
      // At once: within this turn of the event loop, with no wait for Redis or any timer.
      const answer = settle(bob.acquire());
      await flush();
      expect(answer.status).to.equal('rejected');
      expect(answer.reason).to.be.instanceOf(StoreUnavailableError);
    });

    // Once, on the cluster (the hardest case: each user's bucket on its own slot, the users over
    // three masters), two of the processes on ioredis's Cluster, two on node-redis's.
    if (env.kind !== 'ioredis-cluster') return;
    const kinds = ['ioredis-cluster', 'node-redis-cluster'];
    it('keep each user within its bucket with 4 processes (ioredis and node-redis) and 50 users, one store per process', async function () {
      this.timeout(30_000);
      const users = 50;
      const maxTokens = 5;
      const refillRate = 5;
      const durationMs = 1000;
      const family = env.uniqueKey();
      const worker = fileURLToPath(new URL('../fixtures/redisKeyedWorker.js', import.meta.url));
      const { ports, host } = env.redisCluster;
      const children = [0, 1, 2, 3].map((i) =>
        spawn(process.execPath, [worker], {
          stdio: ['pipe', 'pipe', 'pipe'],
          env: {
            ...process.env,
            CLIENT_KIND: kinds[i % 2],
            REDIS_HOST: host,
            REDIS_PORTS: ports.join(','),
            FAMILY: family,
            USERS: String(users),
            MAX_TOKENS: String(maxTokens),
            REFILL_RATE: String(refillRate),
            DURATION_MS: String(durationMs),
          },
        }),
      );
      const outputs = children.map((child) => {
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => (stdout += String(chunk)));
        child.stderr.on('data', (chunk) => (stderr += String(chunk)));
        const ready = new Promise<void>((resolve, reject) => {
          child.stdout.on('data', () => {
            if (stdout.startsWith('ready\n')) resolve();
          });
          child.once('exit', () =>
            reject(new Error(`worker exited before it was ready: ${stderr}`)),
          );
        });
        const done = new Promise<Record<string, number>>((resolve, reject) => {
          child.once('exit', (code) => {
            if (code === 0)
              resolve(JSON.parse(stdout.slice('ready\n'.length)) as Record<string, number>);
            else reject(new Error(`worker exited with ${code}: ${stderr}`));
          });
        });
        return { ready, done };
      });
      let runs: Record<string, number>[];
      try {
        const spawned = performance.now();
        await Promise.all(outputs.map((o) => o.ready));
        const readyMs = performance.now() - spawned;
        // All start together, once every one has connected.
        const startAt = Date.now() + 50;
        for (const child of children) child.stdin.end(`${startAt}\n`);
        runs = await Promise.all(outputs.map((o) => o.done));
        if (process.env.BULWARK_SPEC_FIGURES === '1') {
          console.log(
            `ready after ${readyMs.toFixed(0)} ms, done after ${(performance.now() - spawned).toFixed(0)} ms`,
          );
        }
      } finally {
        for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      }
      // The bucket starts full; calls admitted just after the end (sent before it) may take up
      // to half a second more of refill on a busy machine.
      const bound = maxTokens + (refillRate * (durationMs + 500)) / 1000;
      const totals = Array.from({ length: users }, (_, i) =>
        runs.reduce((sum, run) => sum + (run[`user-${i}`] ?? NaN), 0),
      );
      if (process.env.BULWARK_SPEC_FIGURES === '1') {
        console.log(`[${env.kind}] admitted per user: ${totals.join(' ')} (bound ${bound})`);
      }
      // Each process got some of each user's calls in...
      for (const run of runs) expect(Object.keys(run)).to.have.length(users);
      for (const total of totals) {
        // ...and together they stayed within the user's one shared bucket, which each filled.
        expect(total).to.be.at.most(bound);
        expect(total).to.be.at.least(maxTokens);
      }
    });
  },
  { cluster: true },
);
