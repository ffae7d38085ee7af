// Bulkhead slots whose calls end while Redis is away (a blip: one command slower than
// storeTimeout puts every store on the client in a short back-off) come back once Redis answers
// again, not a whole leaseTtl later.
import { expect } from 'chai';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { deferred, describeRedis, eventually, sleep } from './harness.js';

describeRedis('RedisBulkheadStore releases after a blip', function (env) {
  /** `slots` calls holding every slot of a bulkhead, and a limiter on the same client. */
  async function setUp(slots: number, leaseTtl: string) {
    const { client } = await env.connect();
    const key = env.uniqueKey();
    const store = new RedisBulkheadStore({ client, key, storeTimeout: 100, leaseTtl });
    const bulkhead = new Bulkhead({ maxConcurrent: slots, store });
    const limiter = new RateLimiter({
      maxTokens: 100,
      refillRate: 100,
      store: new RedisRateLimiterStore({ client, key, storeTimeout: 100 }),
    });
    const gates = Array.from({ length: slots }, () => deferred());
    const calls = gates.map((gate) => bulkhead.execute(() => gate.promise));
    await eventually(() => store.leases === slots, 2000, 'every lease');
    return { key, store, bulkhead, limiter, gates, calls };
  }

  /** Ends `count` of the calls while the client is in its back-off: their releases cannot reach Redis. */
  async function endDuringBlip(setup: Awaited<ReturnType<typeof setUp>>, count: number) {
    await env.admin.command('CLIENT', 'PAUSE', '300', 'ALL');
    // Slower than storeTimeout: the client backs off (4 x 100 ms).
    await setup.limiter.acquire();
    expect(setup.store.redisAvailable).to.equal(false);
    for (const gate of setup.gates.slice(0, count)) gate.resolve();
    await Promise.all(setup.calls.slice(0, count));
    // The pause and the back-off end.
    await sleep(600);
  }

  it("frees the slots of calls that ended while Redis was away with the store's next call", async function () {
    const setup = await setUp(2, '30s');
    await endDuringBlip(setup, 2);
    expect(setup.store.leases).to.equal(0);
    expect(await setup.bulkhead.execute(() => 'ran')).to.equal('ran');
    // That call's own release goes to Redis in the background, on the store's connection.
    await eventually(
      async () => Number(await env.admin.command('ZCARD', setup.store.redisKey)) === 0,
      2000,
      'every lease released',
    );
  });

  it('frees them with the next renewal while another call runs, for every process to use', async function () {
    // Renewed every second.
    const setup = await setUp(3, '3s');
    await endDuringBlip(setup, 2);
    expect(setup.store.leases).to.equal(1);
    // No new call in this process: the renewal of the running one frees the others' slots.
    await eventually(
      async () => Number(await env.admin.command('ZCARD', setup.store.redisKey)) === 1,
      1500,
      'one lease left in Redis',
    );
    const elsewhere = new Bulkhead({
      maxConcurrent: 3,
      store: new RedisBulkheadStore({ client: (await env.connect()).client, key: setup.key }),
    });
    const both = [deferred(), deferred()];
    const calls = both.map((gate) => elsewhere.execute(() => gate.promise));
    for (const gate of both) gate.resolve();
    await Promise.all(calls);
    setup.gates[2]?.resolve();
    await setup.calls[2];
  });
});
