// Regression specs for the Redis stores, against a real redis-server with each client library:
// slots given back after abort storms, releases that free the finishing call's own lease, stores
// sharing what they learn of their client's health, and no listener on the never-aborting signal.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { BulkheadFullError, OperationTimeoutError } from '../../src/errors.js';
import { NEVER_ABORTED } from '../../src/internal/signals.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import type { StoreErrorMode } from '../../src/redis/options.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import {
  deferred,
  describeRedis,
  eventually,
  PATIENT,
  rejectionOf,
  sleep,
  type RedisEnv,
} from './harness.js';

/** The redis-server's process id, for SIGSTOP / SIGCONT. */
async function serverPid(env: RedisEnv): Promise<number> {
  const info = String(await env.admin.command('INFO', 'server'));
  const match = /process_id:(\d+)/.exec(info);
  if (match === null) throw new Error('no process_id in INFO server');
  return Number(match[1]);
}

/** Runs `body` with the server frozen (SIGSTOP), thawing it (SIGCONT) whatever happens. */
async function frozen<T>(env: RedisEnv, body: () => Promise<T>): Promise<T> {
  const pid = await serverPid(env);
  process.kill(pid, 'SIGSTOP');
  try {
    return await body();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

async function zcard(env: RedisEnv, key: string): Promise<number> {
  return Number(await env.admin.command('ZCARD', `bulwark:bh:{${key}}`));
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await promise;
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

// A process that takes two slots and holds them (renewing its leases) until it is killed.
const HOLDER = `
const { Bulkhead } = await import(process.env.CORE_URL);
const { RedisBulkheadStore } = await import(process.env.REDIS_URL);
const host = process.env.REDIS_HOST;
const port = Number(process.env.REDIS_PORT);
let client;
if (process.env.CLIENT_KIND === 'ioredis') {
  const { Redis } = await import('ioredis');
  client = new Redis({ host, port });
} else {
  const { createClient } = await import('redis');
  client = createClient({ socket: { host, port } });
  await client.connect();
}
// Leases taken in Redis, however busy the machine (not local slots, on a slow answer).
const store = new RedisBulkheadStore({ client, key: process.env.KEY, leaseTtl: 600, storeTimeout: '10s' });
const bulkhead = new Bulkhead({ maxConcurrent: 2, store });
await Promise.all([0, 1].map(() => new Promise((started) => {
  bulkhead.execute(() => { started(); return new Promise(() => {}); });
})));
console.log('held');
setInterval(() => {}, 1000);
`;

describeRedis('Regressions on Redis stores', function (env) {
  this.timeout(20_000);

  it('gives the slots of a lease holder killed with SIGKILL back within leaseTtl', async function () {
    const key = env.uniqueKey();
    const child = spawn(process.execPath, ['--input-type=module', '-e', HOLDER], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        CORE_URL: new URL('../../src/index.js', import.meta.url).href,
        REDIS_URL: new URL('../../src/redis/index.js', import.meta.url).href,
        REDIS_HOST: env.server.host,
        REDIS_PORT: String(env.server.port),
        CLIENT_KIND: env.kind,
        KEY: key,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('held')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`the holder exited early (${code})`)));
      });
      const survivor = new Bulkhead({
        maxConcurrent: 2,
        maxQueue: 1,
        store: new RedisBulkheadStore({
          client: (await env.connect()).client,
          key,
          leaseTtl: 600,
          storeTimeout: PATIENT,
        }),
      });
      // Alive, the holder renews its leases past their lifetime.
      await sleep(900);
      expect(await zcard(env, key)).to.equal(2);
      const probe = new Bulkhead({
        maxConcurrent: 2,
        store: new RedisBulkheadStore({
          client: (await env.connect()).client,
          key,
          leaseTtl: 600,
          storeTimeout: PATIENT,
        }),
      });
      expect(await rejectionOf(probe.execute(() => 'x'))).to.be.instanceOf(BulkheadFullError);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const killedAt = performance.now();
      const servedAfter = await survivor.execute(() => performance.now() - killedAt);
      // Renewed at most leaseTtl / 3 before the kill; polled every 100 ms.
      expect(servedAfter).to.be.below(600 + 300);
      await eventually(async () => (await zcard(env, key)) === 0, 2000, 'the leases gone');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('gives back every slot after 2,000 calls with random aborts while Redis decides', async function () {
    const key = env.uniqueKey();
    const { client } = await env.connect();
    const store = new RedisBulkheadStore({ client, key, storeTimeout: 2000 });
    const bulkhead = new Bulkhead({ maxConcurrent: 5, maxQueue: 10_000, store });
    const policy = Policy.builder(`storm-${key}`).bulkhead(bulkhead).build();
    const random = prng(7);
    const timers: NodeJS.Timeout[] = [];
    const runs = Array.from({ length: 2000 }, (_, i) => {
      const controller = new AbortController();
      if (random() < 0.5) timers.push(setTimeout(() => controller.abort(), random() * 30));
      const ms = random() * 3;
      const work = () => new Promise((resolve) => setTimeout(resolve, ms));
      return i % 2 === 0
        ? policy.execute(work, { signal: controller.signal })
        : bulkhead.execute(work, controller.signal);
    });
    const outcomes = await Promise.allSettled(runs);
    for (const timer of timers) clearTimeout(timer);
    expect(outcomes.filter((o) => o.status === 'rejected').length).to.be.greaterThan(0);
    await eventually(async () => (await zcard(env, key)) === 0, 3000, 'every lease released');
    expect(store.leases).to.equal(0);
    expect(bulkhead.queued).to.equal(0);
    expect(bulkhead.orphaned).to.equal(0);
    // All five slots can be taken again, by another process too.
    const other = new Bulkhead({
      maxConcurrent: 5,
      store: new RedisBulkheadStore({ client: (await env.connect()).client, key }),
    });
    const gate = deferred();
    const held = Array.from({ length: 5 }, () => other.execute(() => gate.promise));
    await eventually(async () => (await zcard(env, key)) === 5, 2000, 'five slots taken');
    gate.resolve();
    await Promise.all(held);
  });

  for (const mode of ['local', 'fail-open'] as StoreErrorMode[]) {
    it(`a call that held a '${mode}' slot during a stall frees that slot, not another call's lease`, async function () {
      const key = env.uniqueKey();
      // The local limit counts X's lease: it takes a second slot for Y to run beside X.
      const maxConcurrent = mode === 'local' ? 2 : 1;
      const a = new RedisBulkheadStore({
        client: (await env.connect()).client,
        key,
        storeTimeout: 100,
        onStoreError: mode,
      });
      const bulkheadA = new Bulkhead({ maxConcurrent, store: a });
      const bulkheadB = new Bulkhead({
        maxConcurrent,
        store: new RedisBulkheadStore({ client: (await env.connect()).client, key }),
      });
      const x = deferred();
      const running = bulkheadA.execute(() => x.promise);
      await eventually(async () => (await zcard(env, key)) === 1, 2000, 'the lease of X');
      const y = deferred();
      let yRunning: Promise<unknown> | undefined;
      await frozen(env, async () => {
        // Redis cannot answer: Y runs in a slot decided without it (after storeTimeout).
        let yStarted = false;
        yRunning = bulkheadA.execute(() => {
          yStarted = true;
          return y.promise;
        });
        await eventually(() => yStarted, 2000, 'Y running without Redis');
      });
      // Past the back-off, A talks to Redis again; then Y ends.
      await sleep(500);
      y.resolve();
      await yRunning;
      await sleep(100);
      expect(await zcard(env, key), "X's lease").to.equal(1);
      const filler = deferred();
      const filled = maxConcurrent === 2 ? bulkheadB.execute(() => filler.promise) : undefined;
      if (filled !== undefined) await eventually(async () => (await zcard(env, key)) === 2);
      expect(await rejectionOf(bulkheadB.execute(() => 'past the cap'))).to.be.instanceOf(
        BulkheadFullError,
      );
      filler.resolve();
      await filled;
      x.resolve();
      await running;
      await eventually(async () => (await zcard(env, key)) === 0, 2000, "X's lease released");
    });
  }

  it('a call whose lease Redis lost (FLUSHALL) keeps being counted: the next renewal adds it again, and its end frees it', async function () {
    const key = env.uniqueKey();
    const a = new RedisBulkheadStore({ client: (await env.connect()).client, key, leaseTtl: 300 });
    const bulkheadA = new Bulkhead({ maxConcurrent: 2, store: a });
    const bulkheadB = new Bulkhead({
      maxConcurrent: 2,
      store: new RedisBulkheadStore({ client: (await env.connect()).client, key, leaseTtl: 300 }),
    });
    const early = [deferred(), deferred()];
    const earlyRuns = early.map((d) => bulkheadA.execute(() => d.promise));
    await eventually(async () => (await zcard(env, key)) === 2, 2000, 'two leases');
    await env.admin.command('FLUSHALL');
    // The next renewal (every leaseTtl / 3) adds both leases again: the calls still run.
    await eventually(async () => (await zcard(env, key)) === 2, 2000, 'both leases again');
    expect(a.leases).to.equal(2);
    // Past leaseTtl: renewed since.
    await sleep(400);
    expect(await zcard(env, key)).to.equal(2);
    for (const bulkhead of [bulkheadA, bulkheadB]) {
      expect(await rejectionOf(bulkhead.execute(() => 'past the cap'))).to.be.instanceOf(
        BulkheadFullError,
      );
    }
    // A call from before the flush ends: it frees its own lease, and a slot for another call.
    early[0]?.resolve();
    await earlyRuns[0];
    await eventually(async () => (await zcard(env, key)) === 1, 2000, 'its lease freed');
    expect(a.leases).to.equal(1);
    expect(await bulkheadB.execute(() => 'admitted')).to.equal('admitted');
    early[1]?.resolve();
    await earlyRuns[1];
    await eventually(async () => (await zcard(env, key)) === 0, 2000, 'every lease released');
  });

  it('three stores on one client wait at most one storeTimeout in all while Redis is frozen', async function () {
    const key = env.uniqueKey();
    const { client } = await env.connect();
    const storeTimeout = 150;
    const common = { client, key, storeTimeout, onStoreError: 'local' as const };
    const breakerStore = new RedisCircuitBreakerStore(common);
    const policy = Policy.builder(`three-${key}`)
      .rateLimiter(
        new RateLimiter({
          maxTokens: 100,
          refillRate: 100,
          store: new RedisRateLimiterStore(common),
        }),
      )
      .bulkhead(new Bulkhead({ maxConcurrent: 10, store: new RedisBulkheadStore(common) }))
      .circuitBreaker(new CircuitBreaker({ failureThreshold: 100, store: breakerStore }))
      .build();
    expect(await policy.execute(() => 'warm')).to.equal('warm');
    const results = await frozen(env, () =>
      Promise.all(Array.from({ length: 5 }, (_, i) => timed(policy.execute(() => i)))),
    );
    for (const [i, r] of results.entries()) {
      expect(r.value).to.equal(i);
      // One storeTimeout and scheduling slack; three in a row would be 450 ms.
      expect(r.ms).to.be.below(storeTimeout + 120);
    }
    await env.admin.ready();
    await eventually(
      async () => (await policy.execute(() => 'back')) === 'back' && breakerStore.redisAvailable,
      3000,
      'the stores back on Redis',
    );
  });

  it('adds no listener to the never-aborting signal while Redis-backed stages decide', async function () {
    const key = env.uniqueKey();
    const { client } = await env.connect();
    const policy = Policy.builder(`quiet-${key}`)
      .rateLimiter(
        new RateLimiter({
          maxTokens: 5000,
          refillRate: 1,
          maxWait: '1s',
          store: new RedisRateLimiterStore({ client, key }),
        }),
      )
      .bulkhead(
        new Bulkhead({
          maxConcurrent: 1000,
          maxQueue: 100,
          store: new RedisBulkheadStore({ client, key }),
        }),
      )
      .circuitBreaker(new CircuitBreaker({ store: new RedisCircuitBreakerStore({ client, key }) }))
      .build();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      let most = 0;
      const watch = setInterval(() => {
        most = Math.max(most, getEventListeners(NEVER_ABORTED, 'abort').length);
      }, 1);
      const runs = Array.from({ length: 1000 }, () => policy.execute(() => sleep(5)));
      most = Math.max(most, getEventListeners(NEVER_ABORTED, 'abort').length);
      await Promise.all(runs);
      clearInterval(watch);
      expect(most, 'listeners on the never-aborting signal').to.equal(0);
      await sleep(10);
      expect(warnings.map((w) => w.name)).to.not.include('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('keeps the lease of work that outlives an inner timeout until it settles, as orphaned', async function () {
    const key = env.uniqueKey();
    const { client } = await env.connect();
    const bulkhead = new Bulkhead({
      maxConcurrent: 1,
      store: new RedisBulkheadStore({ client, key, storeTimeout: PATIENT }),
    });
    const policy = Policy.builder(`orphan-${key}`).bulkhead(bulkhead).timeout(100).build();
    const work = deferred();
    const timedOut = await rejectionOf(policy.execute(() => work.promise));
    expect(timedOut).to.be.instanceOf(OperationTimeoutError);
    expect(bulkhead.orphaned).to.equal(1);
    expect(await zcard(env, key)).to.equal(1);
    expect(await rejectionOf(policy.execute(() => 'second'))).to.be.instanceOf(BulkheadFullError);
    work.resolve();
    await eventually(async () => (await zcard(env, key)) === 0, 2000, 'the lease released');
    expect(bulkhead.orphaned).to.equal(0);
    expect(await policy.execute(() => 'next')).to.equal('next');
  });
});
