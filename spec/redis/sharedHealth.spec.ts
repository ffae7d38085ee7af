// A store's own health beside its client's: what `redisAvailable` reports is what the store's
// calls do, also on a client (a cluster client) where one store's node is down while another
// store's answers. Driven through a scripted adapter on fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { systemClock } from '../../src/internal/clock.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { flush, ScriptedAdapter } from './scripted.js';

function storeOn(adapter: ScriptedAdapter, key: string): RedisRateLimiterStore {
  const store = new RedisRateLimiterStore({
    client: adapter,
    key,
    storeTimeout: 100,
    onStoreError: 'fail-open',
  });
  store.configure({ maxTokens: 10, refillRate: 10, clock: systemClock });
  return store;
}

describe('Redis stores sharing a client (on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  it('keep a store that reports Redis unavailable deciding without it, but for its probe, after another store reached the server', async function () {
    const adapter = new ScriptedAdapter();
    const a = storeOn(adapter, 'a');
    const b = storeOn(adapter, 'b');
    void a.reserve(1, 0);
    await clock.tickAsync(100);
    await clock.tickAsync(400);
    // B probes for the client, and its node answers.
    const probe = b.reserve(1, 0) as Promise<number>;
    adapter.last().resolve(['0', '9']);
    expect(await probe).to.equal(0);
    expect([a.redisAvailable, b.redisAvailable]).to.deep.equal([false, true]);
    // A is not back: one call of A probes its node; the others decide without Redis meanwhile.
    const calls = adapter.calls.length;
    const own = a.reserve(1, 0);
    expect(own).to.be.instanceOf(Promise);
    expect(adapter.calls).to.have.length(calls + 1);
    expect(a.reserve(1, 0)).to.equal(0);
    expect(a.tryReserve(1)).to.equal(true);
    expect(adapter.calls).to.have.length(calls + 1);
    // B goes on asking Redis.
    expect(b.tryReserve(1)).to.equal(false);
    expect(b.reserve(1, 0)).to.be.instanceOf(Promise);
    // A's node does not answer: A backs off again.
    await clock.tickAsync(100);
    expect(await own).to.equal(0);
    expect(a.redisAvailable).to.equal(false);
    expect(a.reserve(1, 0)).to.equal(0);
    await clock.tickAsync(400);
    const again = a.reserve(1, 0) as Promise<number>;
    adapter.last().resolve(['0', '8']);
    expect(await again).to.equal(0);
    expect(a.redisAvailable).to.equal(true);
    expect(a.reserve(1, 0)).to.be.instanceOf(Promise);
  });

  it("let a store probe again when another store's loss of the server failed its probe", async function () {
    const adapter = new ScriptedAdapter();
    const a = storeOn(adapter, 'a');
    const b = storeOn(adapter, 'b');
    // An error reply about A's key: A alone backs off.
    void a.reserve(1, 0);
    adapter.last().reject(new Error('ERR script failed'));
    await flush();
    expect([a.redisAvailable, b.redisAvailable]).to.deep.equal([false, true]);
    await clock.tickAsync(400);
    const probe = a.reserve(1, 0) as Promise<number>;
    void b.reserve(1, 0);
    // B's call finds the server gone, which fails A's probe too.
    await clock.tickAsync(100);
    expect(await probe).to.equal(0);
    const calls = adapter.calls.length;
    await clock.tickAsync(400);
    const next = a.reserve(1, 0) as Promise<number>;
    expect(next).to.be.instanceOf(Promise);
    expect(adapter.calls).to.have.length(calls + 1);
    adapter.last().resolve(['0', '9']);
    expect(await next).to.equal(0);
    expect([a.redisAvailable, b.redisAvailable]).to.deep.equal([true, true]);
  });
});
