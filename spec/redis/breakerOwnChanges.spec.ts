// A Redis breaker's own isolate() and reset() are what its state reads from then on: the answers
// to what it asked Redis before them (the state read of its construction, a state read while
// isolated) arrive after them and move nothing, nor reach the listeners.
import { expect } from 'chai';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import {
  CircuitBreaker,
  type CircuitStateChange,
} from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { describeRedis } from './harness.js';

describeRedis('RedisCircuitBreakerStore and the breaker own isolate() and reset()', function (env) {
  async function setUp() {
    const { client } = await env.connect();
    const store = new RedisCircuitBreakerStore({
      client,
      key: env.uniqueKey(),
      storeTimeout: 2000,
    });
    // The construction asks Redis for the state: CLOSED, answered after isolate() below.
    const breaker = new CircuitBreaker({ store });
    const seen: string[] = [];
    breaker.onStateChange((c: CircuitStateChange) => seen.push(`${c.from}->${c.to}`));
    // Asked after everything before it on the same connection: answered after it all.
    const settled = async (): Promise<void> => {
      await store.state();
      await new Promise((resolve) => setImmediate(resolve));
    };
    return { store, breaker, seen, settled };
  }

  it('stays isolated after isolate() once the earlier answers arrive', async function () {
    const { store, breaker, seen, settled } = await setUp();
    breaker.isolate();
    await settled();
    expect(await store.state()).to.equal('isolated');
    expect(breaker.state).to.equal('isolated');
    expect(seen).to.deep.equal(['closed->isolated']);
  });

  it('stays closed after reset() once the answers asked while isolated arrive', async function () {
    const { breaker, seen, settled } = await setUp();
    breaker.isolate();
    await settled();
    void breaker.state; // asks Redis: ISOLATED
    breaker.reset();
    await settled();
    expect(breaker.state).to.equal('closed');
    expect(seen).to.deep.equal(['closed->isolated', 'isolated->closed']);
    expect(await breaker.execute(() => 'ran')).to.equal('ran');
  });
});
