// A Redis breaker isolated by isolate() stays isolated in its local fallback ('local') through
// every outage until reset(), whether or not the isolation has reached Redis yet: driven through
// an adapter that answers like the breaker script, on fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { flush, ScriptedAdapter } from './scripted.js';

/** An adapter answering at once like a one-key breaker script, or failing while `down`. */
class BreakerAdapter extends ScriptedAdapter {
  down = false;
  /** Fails isolations even while Redis answers everything else. */
  isolateFails = false;
  isolated = false;
  readonly ops: string[] = [];

  protected override respond(
    _command: string,
    _keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    const op = String(args[0]);
    this.ops.push(op);
    if (this.down || (op === 'isolate' && this.isolateFails)) {
      return Promise.reject(new Error('connect ECONNREFUSED'));
    }
    if (op === 'isolate') this.isolated = true;
    if (op === 'reset') this.isolated = false;
    const state = this.isolated ? 'isolated' : 'closed';
    if (op === 'acquire')
      return Promise.resolve(this.isolated ? [0, state, 0, 0] : [1, state, 0, 0]);
    if (op === 'state') return Promise.resolve(state);
    if (op === 'record') return Promise.resolve([state, 0, 0, 0, '0']);
    return Promise.resolve(1);
  }
}

describe('RedisCircuitBreakerStore local fallback after isolate() (on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  async function setUp() {
    const adapter = new BreakerAdapter();
    // Back-off: max(100 ms, 4 x storeTimeout).
    const store = new RedisCircuitBreakerStore({ client: adapter, key: 'k', storeTimeout: 20 });
    const breaker = new CircuitBreaker({ failureThreshold: 1, store });
    await store.state();
    const run = (): Promise<string> =>
      breaker
        .execute(() => 'ran')
        .then(
          (value) => value,
          (error: { state?: string }) => `refused (${error.state})`,
        );
    return { adapter, store, breaker, run };
  }

  it('stays isolated in the next outage when the isolation sent again on return failed', async function () {
    const { adapter, store, breaker, run } = await setUp();
    adapter.down = true;
    breaker.isolate();
    await flush();
    expect(store.redisAvailable).to.equal(false);
    expect(await run()).to.equal('refused (isolated)');
    await clock.tickAsync(100);
    // Redis answers the probe; the isolation sent again then fails.
    adapter.down = false;
    adapter.isolateFails = true;
    expect(await run()).to.equal('refused (isolated)');
    await flush();
    expect(adapter.ops.filter((op) => op === 'isolate')).to.have.length(2);
    expect(adapter.isolated).to.equal(false);
    adapter.down = true;
    await clock.tickAsync(150);
    // Decided locally, with the isolation still on its way to Redis.
    expect(await run()).to.equal('refused (isolated)');
    expect(await run()).to.equal('refused (isolated)');
    expect(store.redisAvailable).to.equal(false);
  });

  it('stays isolated through outages separated by one answer from Redis', async function () {
    const { adapter, store, breaker, run } = await setUp();
    breaker.isolate();
    await flush();
    expect(adapter.isolated).to.equal(true);
    adapter.down = true;
    expect(await run()).to.equal('refused (isolated)');
    expect(store.redisAvailable).to.equal(false);
    expect(await run()).to.equal('refused (isolated)');
    await clock.tickAsync(150);
    adapter.down = false;
    expect(await run()).to.equal('refused (isolated)');
    expect(store.redisAvailable).to.equal(true);
    adapter.down = true;
    expect(await run()).to.equal('refused (isolated)');
    await clock.tickAsync(150);
    expect(await run()).to.equal('refused (isolated)');
    expect(store.redisAvailable).to.equal(false);
  });

  it('admits again in an outage once reset() came, even before it reached Redis', async function () {
    const { adapter, store, breaker, run } = await setUp();
    breaker.isolate();
    await flush();
    adapter.down = true;
    expect(await run()).to.equal('refused (isolated)');
    breaker.reset();
    await flush();
    expect(adapter.isolated).to.equal(true);
    // The local breaker follows reset() at once.
    expect(await run()).to.equal('ran');
    await clock.tickAsync(150);
    adapter.down = false;
    // The reset reaches Redis after the call that finds it back (decided by Redis before it).
    await run();
    await flush();
    expect(adapter.isolated).to.equal(false);
    expect(store.redisAvailable).to.equal(true);
    expect(await run()).to.equal('ran');
    adapter.down = true;
    expect(await run()).to.equal('ran');
    await clock.tickAsync(150);
    expect(await run()).to.equal('ran');
    expect(store.redisAvailable).to.equal(false);
  });
});
