// The store-failure machinery (timeouts, back-off, probing, NOSCRIPT reload, late answers),
// driven through a scripted adapter on fake time, so every timing is exact.
import { expect } from 'chai';
import sinon from 'sinon';
import { isStoreUnavailableError, StoreUnavailableError } from '../../src/errors.js';
import { systemClock } from '../../src/internal/clock.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { RedisRetryBudgetStore } from '../../src/redis/RedisRetryBudgetStore.js';
import { BUDGET } from '../../src/redis/scripts/budget.js';
import type { StoreErrorMode } from '../../src/redis/options.js';
import { flush, ScriptedAdapter } from './scripted.js';

function makeStore(
  mode: StoreErrorMode,
  instances = 1,
  adapter = new ScriptedAdapter(),
  key = 'api',
) {
  const store = new RedisRateLimiterStore({
    client: adapter,
    key,
    storeTimeout: 100,
    onStoreError: mode,
    instances,
  });
  store.configure({ maxTokens: 10, refillRate: 10, clock: systemClock });
  return { adapter, store };
}

describe('RedisLink (store failures, on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  it('answers from Redis with the script reply', async function () {
    const { adapter, store } = makeStore('local');
    const answer = store.reserve(1, 0) as Promise<number>;
    expect(adapter.last().args).to.deep.equal(['10', '10', 'r', '1', '0']);
    adapter.last().resolve(['0', '9']);
    expect(await answer).to.equal(0);
    expect(store.available()).to.equal(9);
  });

  it('decides without Redis once storeTimeout passes with no answer', async function () {
    const { store } = makeStore('local', 2);
    let settled: number | undefined;
    void (store.reserve(1, 0) as Promise<number>).then((n) => (settled = n));
    await clock.tickAsync(99);
    expect(settled).to.equal(undefined);
    await clock.tickAsync(1);
    expect(settled).to.equal(0);
    expect(store.redisAvailable).to.equal(false);
  });

  it('gives the local fallback 1/instances of the bucket', async function () {
    const { adapter, store } = makeStore('local', 2);
    adapter.calls.length = 0;
    void store.reserve(1, 0);
    await clock.tickAsync(100);
    // Now in the back-off: decided locally and synchronously, 5 tokens in all.
    const answers = [2, 3, 4, 5, 6].map(() => store.reserve(1, 0));
    expect(answers.slice(0, 4)).to.deep.equal([0, 0, 0, 0]);
    expect(answers[4]).to.be.lessThan(0);
    expect(adapter.calls).to.have.length(1);
  });

  it('sends nothing to Redis during the back-off, then lets one probe through at a time', async function () {
    const { adapter, store } = makeStore('fail-open');
    void store.reserve(1, 0);
    adapter.last().reject(new Error('The client is offline'));
    await flush();
    expect(store.redisAvailable).to.equal(false);
    // Back-off is 4 x storeTimeout = 400 ms.
    await clock.tickAsync(399);
    expect(store.reserve(1, 0)).to.equal(0);
    expect(store.tryReserve(1)).to.equal(true);
    expect(adapter.calls).to.have.length(1);
    await clock.tickAsync(1);
    const probe = store.reserve(1, 0);
    expect(probe).to.be.instanceOf(Promise);
    expect(adapter.calls).to.have.length(2);
    // While the probe is out, the others do not wait for Redis.
    expect(store.reserve(1, 0)).to.equal(0);
    expect(adapter.calls).to.have.length(2);
    adapter.last().resolve(['0', '3']);
    expect(await probe).to.equal(0);
    expect(store.redisAvailable).to.equal(true);
    expect(store.tryReserve(1)).to.equal(false);
    expect(store.reserve(1, 0)).to.be.instanceOf(Promise);
    expect(adapter.calls).to.have.length(3);
  });

  it('backs off again when the probe fails', async function () {
    const { adapter, store } = makeStore('fail-open');
    void store.reserve(1, 0);
    adapter.last().reject(new Error('down'));
    await clock.tickAsync(400);
    void store.reserve(1, 0);
    adapter.last().reject(new Error('still down'));
    await flush();
    expect(store.reserve(1, 0)).to.equal(0);
    expect(adapter.calls).to.have.length(2);
    await clock.tickAsync(400);
    void store.reserve(1, 0);
    expect(adapter.calls).to.have.length(3);
  });

  it("rejects with StoreUnavailableError under 'fail-closed', naming the failure", async function () {
    const { adapter, store } = makeStore('fail-closed');
    const timedOut = (store.reserve(1, 0) as Promise<number>).catch((e: unknown) => e);
    await clock.tickAsync(100);
    const error = (await timedOut) as StoreUnavailableError;
    expect(error).to.be.instanceOf(StoreUnavailableError);
    expect(isStoreUnavailableError(error)).to.equal(true);
    expect(error.code).to.equal('STORE_UNAVAILABLE');
    expect(error.message).to.include('Redis did not answer within 100 ms');
    expect(error.message).to.include('bulwark:rl:{api}');
    // In the back-off it rejects at once, without a round trip.
    const refused = store.reserve(1, 0) as Promise<number>;
    expect(await refused.catch((e: unknown) => e)).to.be.instanceOf(StoreUnavailableError);
    expect(store.tryReserve(1)).to.equal(false);
    expect(adapter.calls).to.have.length(1);
    await clock.tickAsync(400);
    const failing = (store.reserve(1, 0) as Promise<number>).catch((e: unknown) => e);
    const cause = new Error('The client is offline');
    adapter.last().reject(cause);
    const second = (await failing) as StoreUnavailableError;
    expect(second.message).to.include('Redis is unreachable: The client is offline');
    expect(second.cause).to.equal(cause);
  });

  it('sends the script source when the server does not know its SHA1', async function () {
    const { adapter, store } = makeStore('fail-closed');
    const answer = store.reserve(2, 0) as Promise<number>;
    adapter.last().reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));
    await flush();
    expect(adapter.last().command).to.equal('eval');
    expect(adapter.last().args).to.deep.equal(['10', '10', 'r', '2', '0']);
    adapter.last().resolve(['0', '8']);
    expect(await answer).to.equal(0);
    expect(store.redisAvailable).to.equal(true);
  });

  it('gives back tokens that Redis granted after the caller was answered without it', async function () {
    const { adapter, store } = makeStore('local');
    void store.reserve(3, 0);
    await clock.tickAsync(100);
    const late = adapter.last();
    late.resolve(['0', '7']);
    await flush();
    expect(adapter.calls).to.have.length(2);
    expect(adapter.last().args).to.deep.equal(['10', '10', 'f', '3', '0']);
  });

  it('gives nothing back for a late refusal', async function () {
    const { adapter, store } = makeStore('local');
    void store.reserve(3, 0);
    await clock.tickAsync(100);
    adapter.last().resolve(['-300', '0']);
    await flush();
    expect(adapter.calls).to.have.length(1);
  });

  it('reports a store whose own call failed as unavailable until one of its calls succeeds, whichever store on the client probed', async function () {
    // Two stores on one client, as on a cluster client whose nodes own different keys.
    const adapter = new ScriptedAdapter();
    const a = makeStore('local', 1, adapter, 'a').store;
    const b = makeStore('local', 1, adapter, 'b').store;
    void a.reserve(1, 0);
    await clock.tickAsync(100);
    // A's node did not answer: every store on the client backs off.
    expect([a.redisAvailable, b.redisAvailable]).to.deep.equal([false, false]);
    await clock.tickAsync(400);
    const probe = b.reserve(1, 0) as Promise<number>;
    adapter.last().resolve(['0', '9']);
    expect(await probe).to.equal(0);
    // B's node answered; nothing has come from A's yet.
    expect([a.redisAvailable, b.redisAvailable]).to.deep.equal([false, true]);
    const again = a.reserve(1, 0) as Promise<number>;
    expect(adapter.calls).to.have.length(3);
    adapter.last().resolve(['0', '9']);
    expect(await again).to.equal(0);
    expect([a.redisAvailable, b.redisAvailable]).to.deep.equal([true, true]);
  });

  it('makes no retry budget command for the counts made while calls skip Redis', async function () {
    const adapter = new ScriptedAdapter();
    const store = new RedisRetryBudgetStore({
      client: adapter,
      key: 'budget',
      storeTimeout: 100,
      onStoreError: 'fail-open',
    });
    store.configure({ ratio: 0.5, minPerSecond: 0, windowMs: 10_000, clock: systemClock });
    store.deposit(1);
    expect(adapter.calls).to.have.length(1);
    await clock.tickAsync(100);
    expect(store.redisAvailable).to.equal(false);
    const command = sinon.spy(BUDGET, 'run');
    try {
      for (let i = 0; i < 50; i++) {
        store.deposit(1);
        expect(store.tryWithdraw()).to.equal(true);
      }
      expect(command.callCount).to.equal(0);
      expect(adapter.calls).to.have.length(1);
      // After the back-off one deposit probes Redis, carrying its own count alone.
      await clock.tickAsync(400);
      store.deposit(1);
      expect(command.callCount).to.equal(1);
      expect(adapter.calls).to.have.length(2);
      expect(adapter.last().args.slice(2)).to.deep.equal(['1', '0']);
    } finally {
      command.restore();
    }
  });
});
