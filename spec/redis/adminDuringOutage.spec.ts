// isolate() and reset() asked while Redis is away are not lost: the shared circuit follows them
// once Redis answers again, for every process.
import { expect } from 'chai';
import { CircuitOpenError } from '../../src/errors.js';
import type { StoreErrorMode } from '../../src/redis/options.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { describeRedis, eventually, rejectionOf, sleep, type RedisEnv } from './harness.js';

async function breakerOn(env: RedisEnv, key: string, mode: StoreErrorMode) {
  const connection = await env.connect();
  const store = new RedisCircuitBreakerStore({
    client: connection.client,
    key,
    storeTimeout: 100,
    onStoreError: mode,
  });
  const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '1h', store });
  await store.state();
  return { connection, store, breaker };
}

describeRedis('RedisCircuitBreakerStore isolate() and reset() while Redis is away', function (env) {
  this.timeout(10_000);

  afterEach(async function () {
    if (!env.server.running) {
      await env.server.start();
      await env.admin.ready();
    }
  });

  for (const mode of ['local', 'fail-open', 'fail-closed'] as const) {
    it(`isolates the shared circuit once Redis is back ('${mode}'), and refuses the call that finds it back`, async function () {
      const key = env.uniqueKey();
      const a = await breakerOn(env, key, mode);
      const b = await breakerOn(env, key, mode);
      await env.server.stop();
      a.breaker.isolate();
      const isolatedAt = performance.now();
      await env.server.start();
      await Promise.all([env.admin, a.connection, b.connection].map((c) => c.ready()));
      // Past A's back-off (4 x storeTimeout), A's next call reaches Redis, sends the isolation,
      // and is refused itself. On a busy machine that call can find Redis slower than
      // storeTimeout (just restarted, or this process paused): it is then decided without Redis
      // as the mode says, and A waits out another back-off; the call checked is the first one
      // that finds Redis back.
      let error: unknown;
      let lastTry = isolatedAt;
      const deadline = performance.now() + 5_000;
      for (;;) {
        await sleep(Math.max(0, 500 - (performance.now() - lastTry)));
        lastTry = performance.now();
        // A call decided without Redis may run ('fail-open'); only the last one is checked.
        error = await a.breaker
          .execute(() => 'ran')
          .then(
            (value) => value,
            (reason: unknown) => reason,
          );
        if (a.store.redisAvailable || performance.now() > deadline) break;
      }
      expect(error).to.be.instanceOf(CircuitOpenError);
      expect(error).to.have.property('state', 'isolated');
      expect(a.store.redisAvailable).to.equal(true);
      // The isolation goes to Redis in the background, on A's connection, ahead of this read.
      expect(await a.store.state()).to.equal('isolated');
      expect(await env.admin.command('HGET', a.store.redisKey, 'st')).to.equal('isolated');
      const elsewhere = await rejectionOf(b.breaker.execute(() => 'ran'));
      expect(elsewhere).to.be.instanceOf(CircuitOpenError);
      expect(elsewhere).to.have.property('state', 'isolated');
    });
  }

  it('sends only the latest of isolate() and reset(), and not once either reached Redis', async function () {
    const key = env.uniqueKey();
    const a = await breakerOn(env, key, 'local');
    await rejectionOf(a.breaker.execute(() => Promise.reject(new Error('trip'))));
    // The failure is recorded in the background, on A's connection: wait for it to land.
    await eventually(
      async () => (await env.admin.command('HGET', a.store.redisKey, 'st')) === 'open',
      3000,
      'the trip in Redis',
    );
    await env.server.stop();
    a.breaker.reset();
    a.breaker.isolate();
    a.breaker.reset();
    await env.server.start();
    await Promise.all([env.admin, a.connection].map((c) => c.ready()));
    await eventually(
      async () =>
        (await a.breaker.execute(() => 'ran').catch(() => 'refused')) === 'ran' &&
        a.store.redisAvailable,
      3000,
      'A admitting through Redis',
    );
    // The reset deleted the state; the call above recorded a success in a fresh one.
    expect(await env.admin.command('HGET', a.store.redisKey, 'st')).to.not.equal('isolated');
    // Isolated now, in Redis: nothing sent later undoes it.
    a.breaker.isolate();
    await eventually(async () => (await a.store.state()) === 'isolated', 2000, 'isolated');
    expect(await a.breaker.execute(() => 'ran').catch(() => 'refused')).to.equal('refused');
    expect(await env.admin.command('HGET', a.store.redisKey, 'st')).to.equal('isolated');
  });
});
