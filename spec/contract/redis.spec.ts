// The Redis store rules of docs/CONTRACT.md (R-REDIS-*) that can be checked without a Redis server
// (options, defaults and the store-error modes, with a client that never answers or always fails).
// spec/redis covers the behaviour against a real server.
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import {
  Bulkhead,
  CircuitBreaker,
  isStoreUnavailableError,
  RateLimiter,
  ResilienceError,
  StoreUnavailableError,
} from 'bulwark';
import {
  RedisBulkheadStore,
  RedisCircuitBreakerStore,
  RedisRateLimiterStore,
  toRedisAdapter,
  type RedisClientAdapter,
} from 'bulwark/redis';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { flush, rejectionOf, settle, thrownBy } from './support.js';

/** A client whose commands never answer. */
function silentClient(): RedisClientAdapter {
  const never = () => new Promise<never>(() => {});
  return {
    name: 'silent',
    evalsha: never,
    eval: never,
    scriptLoad: never,
    time: never,
    classifyError: () => 'connection',
  };
}

/** A client whose commands fail at once, as when the connection is refused. */
function downClient(): RedisClientAdapter {
  const refused = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
  return {
    name: 'down',
    evalsha: refused,
    eval: refused,
    scriptLoad: refused,
    time: refused,
    classifyError: () => 'connection',
  };
}

const STORES = [
  ['RedisRateLimiterStore', (o: Record<string, unknown>) => new RedisRateLimiterStore(o as never)],
  [
    'RedisCircuitBreakerStore',
    (o: Record<string, unknown>) => new RedisCircuitBreakerStore(o as never),
  ],
  ['RedisBulkheadStore', (o: Record<string, unknown>) => new RedisBulkheadStore(o as never)],
] as const;

describe('contract: bulwark/redis', () => {
  it('R-REDIS-1: an ioredis client or a connected node-redis client is accepted as `client`', () => {
    const io = new Redis({ lazyConnect: true });
    const node = createClient();
    try {
      for (const [, make] of STORES) {
        expect(() => make({ client: io, key: 'k' })).to.not.throw();
        expect(() => make({ client: node, key: 'k' })).to.not.throw();
      }
    } finally {
      io.disconnect();
    }
  });

  it('R-REDIS-1: a `RedisClientAdapter` of your own needs no `scriptLoad`, which the stores never call', () => {
    const { scriptLoad: _unused, ...adapter } = silentClient();
    expect(toRedisAdapter(adapter)).to.equal(adapter);
    for (const [, make] of STORES) {
      expect(() => make({ client: adapter, key: 'k' })).to.not.throw();
    }
    // Given, it must be a function.
    expect(thrownBy(() => toRedisAdapter({ ...adapter, scriptLoad: 5 } as never)).message).to.match(
      /^`client` must be an ioredis client, a node-redis client or a RedisClientAdapter \(evalsha, eval, time, classifyError; scriptLoad optional\), got an object$/,
    );
    // The adapter made for a client library's has it.
    const io = new Redis({ lazyConnect: true });
    try {
      expect(toRedisAdapter(io).scriptLoad).to.be.a('function');
    } finally {
      io.disconnect();
    }
  });

  for (const [name, make] of STORES) {
    it(`R-REDIS-1: ${name}: \`client\` (required), \`key\` (required)`, () => {
      const client = silentClient();
      expect(() => make({ key: 'k' })).to.throw(TypeError, '`client`');
      expect(() => make({ client })).to.throw(TypeError, '`key`');
      expect(() => make({ client, key: '' })).to.throw(RangeError, '`key`');
      expect(() => make({ client, key: 'k' })).to.not.throw();
    });

    it(`R-REDIS-2: ${name}: \`prefix\` (default \`'bulwark:'\`)`, () => {
      const client = silentClient();
      expect(make({ client, key: 'k' }).redisKey.startsWith('bulwark:')).to.equal(true);
      expect(make({ client, key: 'k', prefix: 'app:' }).redisKey.startsWith('app:')).to.equal(true);
      expect(() => make({ client, key: 'k', prefix: 5 })).to.throw(TypeError, '`prefix`');
    });

    it(`R-REDIS-2: ${name}: \`storeTimeout\` (Duration), \`onStoreError\` ('fail-open' | 'fail-closed' | 'local'), \`instances\` (integer >= 1) are validated with the core's message shapes`, () => {
      const client = silentClient();
      for (const storeTimeout of ['250ms', 100, '1s']) {
        expect(() => make({ client, key: 'k', storeTimeout })).to.not.throw();
      }
      expect(() => make({ client, key: 'k', storeTimeout: '5' })).to.throw(
        TypeError,
        /^`storeTimeout` .*got "5"$/,
      );
      expect(() => make({ client, key: 'k', storeTimeout: Infinity })).to.throw(
        RangeError,
        '`storeTimeout`',
      );
      for (const onStoreError of ['fail-open', 'fail-closed', 'local']) {
        expect(() => make({ client, key: 'k', onStoreError })).to.not.throw();
      }
      expect(() => make({ client, key: 'k', onStoreError: 'ignore' })).to.throw(
        TypeError,
        /^`onStoreError` must be one of 'fail-open', 'fail-closed', 'local', got "ignore"$/,
      );
      expect(() => make({ client, key: 'k', instances: 0 })).to.throw(
        RangeError,
        '`instances` must be an integer >= 1, got 0',
      );
      expect(() => make({ client, key: 'k', instances: '2' })).to.throw(TypeError, '`instances`');
      expect(() => make({ client, key: 'k', instanses: 2 })).to.throw(
        TypeError,
        `${name}: unknown option \`instanses\` (did you mean \`instances\`?)`,
      );
    });
  }

  it("R-REDIS-4: `RedisBulkheadStore` adds `leaseTtl` (Duration, default `'30s'`)", () => {
    const client = silentClient();
    expect(new RedisBulkheadStore({ client, key: 'k' }).leaseTtlMs).to.equal(30_000);
    expect(new RedisBulkheadStore({ client, key: 'k', leaseTtl: '2m' }).leaseTtlMs).to.equal(
      120_000,
    );
    expect(() => new RedisBulkheadStore({ client, key: 'k', leaseTtl: '5' })).to.throw(TypeError);
    expect(
      () => new RedisRateLimiterStore({ client, key: 'k', leaseTtl: '30s' } as never),
    ).to.throw(TypeError, 'unknown option `leaseTtl`');
  });

  it("R-REDIS-2, R-REDIS-3, R-ERR-7: `storeTimeout` defaults to `'250ms'`; with `'fail-closed'`, calls are rejected with `StoreUnavailableError` (code `STORE_UNAVAILABLE`, a `ResilienceError`)", async () => {
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({
      clock,
      store: new RedisRateLimiterStore({
        client: silentClient(),
        key: 'k',
        onStoreError: 'fail-closed',
      }),
    });
    const call = settle(limiter.execute(() => 'ran'));
    await clock.advance(249);
    expect(call.status).to.equal('pending');
    await clock.advance(1);
    expect(call.status).to.equal('rejected');
    const error = call.reason as StoreUnavailableError;
    expect(error).to.be.instanceOf(StoreUnavailableError);
    expect(error).to.be.instanceOf(ResilienceError);
    expect(error.name).to.equal('StoreUnavailableError');
    expect(error.code).to.equal('STORE_UNAVAILABLE');
    expect(isStoreUnavailableError(error)).to.equal(true);
  });

  it("R-REDIS-3: `'fail-closed'` applies to every store: the breaker and the bulkhead reject with `StoreUnavailableError` too", async () => {
    const breaker = new CircuitBreaker({
      store: new RedisCircuitBreakerStore({
        client: downClient(),
        key: 'k',
        onStoreError: 'fail-closed',
      }),
    });
    const refused = await rejectionOf(breaker.execute(() => 1));
    expect(isStoreUnavailableError(refused)).to.equal(true);
    // `{ cause }` where one exists: the client's own error.
    expect(((refused as Error).cause as Error).message).to.include('ECONNREFUSED');
    const bulkhead = new Bulkhead({
      store: new RedisBulkheadStore({
        client: downClient(),
        key: 'k',
        onStoreError: 'fail-closed',
      }),
    });
    expect(isStoreUnavailableError(await rejectionOf(bulkhead.execute(() => 1)))).to.equal(true);
  });

  it("R-REDIS-2, R-REDIS-3: `onStoreError` defaults to `'local'`; `instances` (default 1): with `'local'`, the local fallback gets `1/instances` of the limits", async () => {
    const count = async (instances?: number): Promise<number> => {
      const limiter = new RateLimiter({
        maxTokens: 10,
        refillRate: 0.001,
        clock: new ManualClock(1_000),
        store: new RedisRateLimiterStore({
          client: downClient(),
          key: 'k',
          ...(instances === undefined ? {} : { instances }),
        }),
      });
      let served = 0;
      for (let i = 0; i < 20; i++) {
        const outcome = settle(limiter.acquire());
        await flush();
        if (outcome.status === 'fulfilled') served++;
      }
      return served;
    };
    expect(await count()).to.equal(10);
    expect(await count(2)).to.equal(5);
    expect(await count(5)).to.equal(2);
  });

  it("R-REDIS-3: with `'local'`, a bulkhead's local fallback gets `1/instances` of `maxConcurrent`", async () => {
    const served = async (instances: number): Promise<number> => {
      const bulkhead = new Bulkhead({
        maxConcurrent: 4,
        clock: new ManualClock(1_000),
        store: new RedisBulkheadStore({ client: downClient(), key: 'k', instances }),
      });
      let granted = 0;
      for (let i = 0; i < 8; i++) {
        const outcome = settle(bulkhead.acquire());
        await flush();
        if (outcome.status === 'fulfilled') granted++;
      }
      return granted;
    };
    expect(await served(1)).to.equal(4);
    expect(await served(2)).to.equal(2);
  });

  it('R-REDIS-8: synchronous members (`tryAcquire`, `state`, `availableTokens`, `availableSlots`) report the last known shared value and say so in their TSDoc', () => {
    const doc = (file: 'RateLimiter' | 'Bulkhead' | 'CircuitBreaker', member: RegExp): string => {
      const folder = {
        RateLimiter: 'rate-limiter',
        Bulkhead: 'bulkhead',
        CircuitBreaker: 'circuit-breaker',
      }[file];
      const text = readFileSync(`dist/esm/strategies/${folder}/${file}.d.ts`, 'utf8');
      const at = text.search(member);
      expect(at, `${file} ${member}`).to.be.greaterThan(0);
      return text.slice(text.lastIndexOf('/**', at), at);
    };
    const remote = /remote store|answers asynchronously/;
    expect(doc('RateLimiter', /tryAcquire\(permits\?: number\): boolean;/)).to.match(remote);
    expect(doc('RateLimiter', /get availableTokens\(\)/)).to.match(remote);
    expect(doc('RateLimiter', /get availableTokens\(\)/)).to.include('last known');
    expect(doc('Bulkhead', /tryAcquire\(\): boolean;/)).to.match(remote);
    expect(doc('Bulkhead', /get availableSlots\(\)/)).to.include('last known');
    expect(doc('CircuitBreaker', /get state\(\)/)).to.include('last');
    expect(doc('CircuitBreaker', /get state\(\)/)).to.match(remote);
  });

  it("R-REDIS-3: `'fail-open'` lets calls through while the store cannot answer", async () => {
    const limiter = new RateLimiter({
      maxTokens: 1,
      store: new RedisRateLimiterStore({
        client: downClient(),
        key: 'k',
        onStoreError: 'fail-open',
      }),
    });
    for (let i = 0; i < 5; i++) expect(await limiter.execute(() => i)).to.equal(i);
  });

  it('R-ERR-7, R-ERR-9: `StoreUnavailableError` is exported from `bulwark` with its guard `isStoreUnavailableError`', () => {
    const error = new StoreUnavailableError('down', { cause: new Error('x') });
    expect(isStoreUnavailableError(error)).to.equal(true);
    expect(
      thrownBy(() => {
        throw error;
      }).message,
    ).to.equal('down');
  });
});
