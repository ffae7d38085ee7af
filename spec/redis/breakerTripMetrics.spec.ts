// A breaker over a shared store reports, synchronously, the last known figures of the shared
// window. Every record answer brings them, so they follow the circuit across a trip, a close and
// `reset()` as the in-memory store's do: a trip keeps the window that tripped it (in consecutive
// mode too), a close from HALF_OPEN and `reset()` start an empty one.
import { expect } from 'chai';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
} from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import {
  InMemoryCircuitBreakerStore,
  type CircuitBreakerMetrics,
  type CircuitBreakerStoreConfig,
  type CircuitOutcome,
} from '../../src/strategies/circuit-breaker/store.js';
import { ManualClock } from '../support/clock.js';
import { describeRedis, endOpenPeriod, PATIENT } from './harness.js';
import { flush, ScriptedAdapter } from './scripted.js';

function boom(): never {
  throw new Error('boom');
}

// The figures of `metrics` that the window decides.
function figures(m: CircuitBreakerMetrics): Partial<CircuitBreakerMetrics> {
  const { state, bufferedCalls, failedCalls, slowCalls, failureRate, slowCallRate } = m;
  return { state, bufferedCalls, failedCalls, slowCalls, failureRate, slowCallRate };
}

const WINDOWS: readonly [string, Partial<CircuitBreakerOptions>][] = [
  ['a COUNT window', { windowSize: 10 }],
  ['a TIME window', { windowType: 'time', windowDuration: '60s' }],
];

describeRedis('RedisCircuitBreakerStore metrics across a trip', function (env) {
  for (const [label, window] of WINDOWS) {
    it(`keeps the window that tripped the circuit in consecutive mode, over ${label}, and empties it on close and reset()`, async function () {
      const { client } = await env.connect();
      const key = env.uniqueKey();
      const store = new RedisCircuitBreakerStore({ client, key, storeTimeout: PATIENT });
      const breaker = new CircuitBreaker({
        ...window,
        failureThreshold: 3,
        recoveryTimeout: '60s',
        store,
      });
      // Every answer this breaker asked for has come once one asked after them has (one client).
      const settled = async (): Promise<void> => {
        await store.state();
        await new Promise((resolve) => setImmediate(resolve));
      };

      await breaker.execute(() => 'ok');
      for (let i = 0; i < 3; i++) await breaker.execute(boom).catch(() => undefined);
      await settled();
      expect(breaker.state).to.equal('open');
      // The first read, right after the trip: the window that tripped it, as in memory.
      expect(figures(breaker.metrics)).to.deep.equal({
        state: 'open',
        bufferedCalls: 4,
        failedCalls: 3,
        slowCalls: 0,
        failureRate: 0.75,
        slowCallRate: 0,
      });

      // OPEN -> HALF_OPEN keeps it; the trial call's success closes the circuit on an empty one.
      await endOpenPeriod(env.admin, store.redisKey);
      await breaker.execute(() => 'ok');
      await settled();
      expect(breaker.state).to.equal('closed');
      expect(figures(breaker.metrics)).to.deep.equal({
        state: 'closed',
        bufferedCalls: 0,
        failedCalls: 0,
        slowCalls: 0,
        failureRate: 0,
        slowCallRate: 0,
      });

      // A new trip, then reset(): an empty window at once.
      for (let i = 0; i < 3; i++) await breaker.execute(boom).catch(() => undefined);
      await settled();
      expect(figures(breaker.metrics)).to.include({ state: 'open', bufferedCalls: 3 });
      breaker.reset();
      expect(figures(breaker.metrics)).to.include({ state: 'closed', bufferedCalls: 0 });
      await settled();
      expect(figures(breaker.metrics)).to.include({ state: 'closed', bufferedCalls: 0 });
    });
  }
});

describeRedis('RedisCircuitBreakerStore window through a whole cycle', function (env) {
  for (const [label, timed] of [
    ['a COUNT window', false],
    ['a TIME window', true],
  ] as const) {
    it(`keeps the same window as the in-memory store from trip to close, over ${label}`, async function () {
      const config: CircuitBreakerStoreConfig = {
        failureThreshold: 2,
        // Open times far beyond a pause of a busy machine, and, ended twice, within the window.
        recoveryTimeoutMs: 20_000,
        recoveryBackoff: 1,
        maxRecoveryTimeoutMs: 20_000,
        failureRateThreshold: undefined,
        slowCallRateThreshold: undefined,
        windowType: timed ? 'time' : 'count',
        windowSize: 10,
        windowDurationMs: 60_000,
        minimumCalls: 10,
        halfOpenMaxCalls: 2,
        clock: new ManualClock(1_000_000),
      };
      const { client } = await env.connect();
      const redis = new RedisCircuitBreakerStore({
        client,
        key: env.uniqueKey(),
        storeTimeout: PATIENT,
      });
      redis.configure(config);
      const memory = new InMemoryCircuitBreakerStore();
      memory.configure(config);
      const same = async (what: string): Promise<void> => {
        expect(await redis.snapshot(), what).to.deep.equal(memory.snapshot());
        expect(redis.snapshotKnown(), `${what}, as last known`).to.deep.equal(memory.snapshot());
      };
      const record = async (outcome: CircuitOutcome): Promise<void> => {
        expect(await redis.record(outcome)).to.equal(memory.record(outcome));
      };
      const endOpen = async (): Promise<void> => {
        await (config.clock as ManualClock).advance(20_000);
        await endOpenPeriod(env.admin, redis.redisKey);
      };
      const SLOW_OK = { failure: false, slow: true };
      const FAIL = { failure: true, slow: false };
      await record(SLOW_OK);
      await record(FAIL);
      await record(FAIL);
      await same('tripped');
      // Late outcomes while OPEN join the window that tripped it.
      await record(SLOW_OK);
      await same('open');
      await endOpen();
      expect((await redis.acquire()).probe).to.equal(memory.acquire().probe);
      await same('half-open');
      // A failed probe re-opens it, with the window as it was, the probe's outcome added.
      await record(FAIL);
      await same('re-opened');
      await endOpen();
      for (let i = 0; i < 2; i++) {
        expect((await redis.acquire()).probe).to.equal(memory.acquire().probe);
        await record(SLOW_OK);
      }
      // Two successes close it on an empty window.
      await same('closed');
      await record(FAIL);
      await same('closed, one failure since');
      await redis.reset();
      memory.reset();
      await same('reset');
    });
  }
});

describeRedis('RedisCircuitBreakerStore window while isolated', function (env) {
  it('keeps the window of an isolated circuit without expiry, as its state, until reset()', async function () {
    const { client } = await env.connect();
    const store = new RedisCircuitBreakerStore({
      client,
      key: env.uniqueKey(),
      storeTimeout: PATIENT,
    });
    const breaker = new CircuitBreaker({ failureThreshold: 5, store });
    await store.state();
    await store.record({ failure: true, slow: false });
    breaker.isolate();
    // An outcome that reports while isolated enters the window too.
    expect(await store.record({ failure: false, slow: false })).to.equal('isolated');
    const windowKey = `${store.redisKey}:w`;
    expect(await env.admin.command('PTTL', store.redisKey)).to.equal(-1);
    expect(await env.admin.command('PTTL', windowKey)).to.equal(-1);
    expect(await store.snapshot()).to.include({
      state: 'isolated',
      bufferedCalls: 2,
      failedCalls: 1,
    });
    await store.reset();
    expect(await env.admin.command('EXISTS', store.redisKey, windowKey)).to.equal(0);
  });
});

describe('RedisCircuitBreakerStore known counts around reset() (scripted answers)', function () {
  async function setUp() {
    const adapter = new ScriptedAdapter();
    const store = new RedisCircuitBreakerStore({ client: adapter, key: 'k', storeTimeout: 10_000 });
    const breaker = new CircuitBreaker({ failureThreshold: 3, store });
    // The state asked for at construction.
    adapter.answer('closed');
    await flush();
    return { adapter, store, breaker };
  }

  it('takes the counts every record answer brings', async function () {
    const { adapter, store, breaker } = await setUp();
    expect(store.snapshotKnown()).to.equal(undefined);
    breaker.onFailure(new Error('boom'));
    expect(adapter.answer(['closed', 2, 1, 0, '30000'])[0]).to.equal('record');
    await flush();
    expect(store.snapshotKnown()).to.include({ state: 'closed', bufferedCalls: 2, failedCalls: 1 });
    expect(breaker.metrics).to.include({ state: 'closed', bufferedCalls: 2, failureRate: 0.5 });
  });

  it('drops the counts of an answer to a record sent before reset(), which empties them at once', async function () {
    const { adapter, store, breaker } = await setUp();
    breaker.onFailure(new Error('boom'));
    breaker.reset();
    expect(store.snapshotKnown()).to.include({ state: 'closed', bufferedCalls: 0 });
    // The record's answer comes first: about the window the reset empties.
    expect(adapter.answer(['closed', 5, 2, 0, '30000'])[0]).to.equal('record');
    await flush();
    expect(store.snapshotKnown()).to.include({ bufferedCalls: 0 });
    expect(breaker.metrics).to.include({ state: 'closed', bufferedCalls: 0 });
    expect(adapter.answer('closed')[0]).to.equal('reset');
    await flush();
    // The snapshot the read above asked for, sent after the reset: taken.
    expect(adapter.answer(['closed', 1, 0, 0, '30000'])[0]).to.equal('snapshot');
    await flush();
    expect(breaker.metrics).to.include({ state: 'closed', bufferedCalls: 1 });
  });
});
