// A shared breaker's `state` and `metrics` are the last known shared values: right after this
// process's own failures trip the circuit (their outcomes are recorded in the background, not
// awaited), they may still read CLOSED. The store's own `state()` and `snapshot()`, asked
// after them on the same client, answer the fresh shared state, as the docs say.
import { expect } from 'chai';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { describeRedis } from './harness.js';

describeRedis('RedisCircuitBreakerStore fresh state', function (env) {
  it('answers the state the awaited failures brought, through await store.state()', async function () {
    const { client } = await env.connect();
    const store = new RedisCircuitBreakerStore({
      client,
      key: env.uniqueKey(),
      storeTimeout: 2000,
    });
    const breaker = new CircuitBreaker({ store, failureThreshold: 2 });
    for (let i = 0; i < 2; i++) {
      await breaker.execute(() => Promise.reject(new Error('boom'))).catch(() => undefined);
    }
    expect(await store.state()).to.equal('open');
    expect(await store.snapshot()).to.include({ state: 'open' });
    // The record's answer came first: it reached the breaker's last known state too.
    await new Promise((resolve) => setImmediate(resolve));
    expect(breaker.state).to.equal('open');
  });
});
