// A bulkhead under an AdaptiveLimit over a Redis store: Redis decides under the limit as it is
// now (not its `max`), the callers queued here ask it again at each poll as under a fixed
// `maxConcurrent`, so slots freed in other processes reach them, and a `tryAcquire` the known
// count refuses sends for the shared count. Driven through a scripted adapter on fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { BulkheadFullError } from '../../src/errors.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { AdaptiveLimit } from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { ManualClock } from '../support/clock.js';
import { settle } from '../support/promises.js';
import { deferred, describeRedis, eventually, PATIENT, sleep } from './harness.js';
import { flush, ScriptedAdapter } from './scripted.js';

/** An acquire's reply: `granted` or not, `inUse` slots taken in Redis, nobody waiting elsewhere. */
const acquired = (granted: 0 | 1, inUse: number) => [granted, inUse, -1, 0];

describe('RedisBulkheadStore under an AdaptiveLimit (scripted, on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  function setUp(limit: AdaptiveLimit, maxQueue: number) {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({ client: adapter, key: 'pool', storeTimeout: '10s' });
    const bulkhead = new Bulkhead({ limit, maxQueue, store });
    return { adapter, bulkhead };
  }

  it('serves a caller queued while other processes hold the slots once they free them, asking Redis at each poll', async function () {
    const { adapter, bulkhead } = setUp(new AdaptiveLimit({ min: 1, max: 2, initial: 2 }), 5);
    const call = settle(bulkhead.execute(() => 'ran'));
    // Both slots are taken elsewhere.
    expect(adapter.answer(acquired(0, 2))[0]).to.equal('acquire');
    await flush();
    expect(bulkhead.queued).to.equal(1);
    // Each poll asks Redis, standing in the line, though the count last known is at the limit.
    await clock.tickAsync(100);
    expect(adapter.calls, 'the first poll').to.have.length(1);
    expect(adapter.answer(acquired(0, 2))[0]).to.equal('acquire+');
    await flush();
    await clock.tickAsync(100);
    expect(adapter.calls, 'the second poll').to.have.length(1);
    // The other processes' calls have ended: Redis grants the slot.
    expect(adapter.answer(acquired(1, 1))[0]).to.equal('acquire+');
    await flush();
    expect(call.status).to.equal('fulfilled');
    expect(call.value).to.equal('ran');
    expect(bulkhead.queued).to.equal(0);
  });

  it('has Redis decide under the limit as it is now, not its max', async function () {
    const { adapter, bulkhead } = setUp(new AdaptiveLimit({ min: 1, max: 4, initial: 2 }), 1);
    const call = settle(bulkhead.execute(() => 'ran'));
    const asked = adapter.answer(acquired(0, 2));
    expect(asked[0]).to.equal('acquire');
    // Redis grants a slot only while fewer than this many are taken.
    expect(asked[1], 'the acquire limit').to.equal('2');
    await flush();
    expect(bulkhead.queued).to.equal(1);
    await clock.tickAsync(100);
    const poll = adapter.answer(acquired(1, 2));
    expect(poll.slice(0, 2)).to.deep.equal(['acquire+', '2']);
    await flush();
    expect(call.value).to.equal('ran');
  });

  it('gives back a slot Redis granted past a limit that fell while it decided, and asks again at the next poll', async function () {
    // Each call that fails takes the limit down by 0.9 at once: 3 -> 2.7, which admits 2.
    const limit = new AdaptiveLimit({
      algorithm: 'aimd',
      min: 1,
      max: 4,
      initial: 3,
      window: 1,
      minSamples: 1,
    });
    const { adapter, bulkhead } = setUp(limit, 1);
    const failing = settle(
      bulkhead.execute(
        () => new Promise((_, reject) => setTimeout(() => reject(new Error('overloaded')), 5)),
      ),
    );
    expect(adapter.answer(acquired(1, 1)).slice(0, 2)).to.deep.equal(['acquire', '3']);
    await flush();
    const second = settle(bulkhead.execute(() => 'ran'));
    // Asked under a limit of 3; the first call fails while Redis decides.
    expect(adapter.last().args.slice(0, 2)).to.deep.equal(['acquire', '3']);
    await clock.tickAsync(5);
    await flush();
    expect(failing.status).to.equal('rejected');
    expect(limit.limit).to.equal(2);
    // Granted, with 3 slots taken: one past the limit now. Given back; the caller queues.
    adapter.answer(acquired(1, 3));
    expect(adapter.answer(acquired(1, 2))[0], "the first call's release").to.equal('release');
    await flush();
    expect(second.status).to.equal('pending');
    expect(bulkhead.queued).to.equal(1);
    expect(adapter.answer(acquired(1, 1))[0], 'the slot given back').to.equal('release');
    await flush();
    await clock.tickAsync(100);
    expect(adapter.answer(acquired(1, 2)).slice(0, 2)).to.deep.equal(['acquire+', '2']);
    await flush();
    expect(second.value).to.equal('ran');
  });

  it("counts a call as in flight beside itself in its sample, also on an untracked 'fail-open' slot", async function () {
    const limit = new AdaptiveLimit({ min: 1, max: 4, initial: 2 });
    const sample = sinon.spy(limit, 'sample');
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({
      client: adapter,
      key: 'pool',
      storeTimeout: '10s',
      onStoreError: 'fail-open',
    });
    const bulkhead = new Bulkhead({ limit, store });
    // Redis is away: the call runs on a slot nobody counts.
    const first = settle(bulkhead.execute(() => 'ran'));
    adapter.next().reject(new Error('connection lost'));
    await flush();
    expect(first.value).to.equal('ran');
    const second = settle(bulkhead.execute(() => 'ran'));
    await flush();
    expect(second.value).to.equal('ran');
    expect(sample.called).to.equal(true);
    for (const call of sample.getCalls()) expect(call.args[2], 'in flight').to.be.at.least(1);
  });

  it('refuses a tryAcquire on the known count at the limit as it is now, below its max', async function () {
    const { adapter, bulkhead } = setUp(new AdaptiveLimit({ min: 1, max: 4, initial: 2 }), 0);
    // Refused by Redis with 2 slots taken elsewhere: the limit's 2, though its max is 4.
    const refused = settle(bulkhead.execute(() => 'ran'));
    adapter.answer(acquired(0, 2));
    await flush();
    expect(refused.reason).to.be.instanceOf(BulkheadFullError);
    expect(bulkhead.tryAcquire()).to.equal(false);
    // What it sends is for the shared count, not for a slot.
    expect(adapter.calls.map((call) => call.args[0])).to.deep.equal(['renew']);
  });

  it('sends for the shared count when the known count refuses a tryAcquire, so a later one sees slots freed elsewhere', async function () {
    const { adapter, bulkhead } = setUp(new AdaptiveLimit({ min: 1, max: 2, initial: 2 }), 0);
    // A caller refused by Redis: the known count is at the limit.
    const refused = settle(bulkhead.execute(() => 'ran'));
    adapter.answer(acquired(0, 2));
    await flush();
    expect(refused.reason).to.be.instanceOf(BulkheadFullError);
    expect(bulkhead.tryAcquire()).to.equal(false);
    expect(adapter.calls, 'the count sent for').to.have.length(1);
    // The other processes' calls have ended.
    expect(adapter.answer([0, [], -1, 0])[0]).to.equal('renew');
    await flush();
    expect(bulkhead.availableSlots).to.equal(2);
    expect(bulkhead.tryAcquire()).to.equal(true);
    expect(adapter.answer(acquired(1, 1)).slice(0, 2)).to.deep.equal(['acquire', '2']);
    await flush();
    bulkhead.release();
    expect(adapter.answer([1, 0, -1, 0])[0]).to.equal('release');
  });
});

describeRedis('RedisBulkheadStore under an AdaptiveLimit, across processes', function (env) {
  it('serves a caller queued under an adaptive limit below its max once the slot taken elsewhere is freed, never taking one past the limit', async function () {
    const clock = new ManualClock();
    const key = env.uniqueKey();
    const store = async () =>
      new RedisBulkheadStore({
        client: (await env.connect()).client,
        key,
        storeTimeout: PATIENT,
      });
    const other = new Bulkhead({ maxConcurrent: 2, clock, store: await store() });
    const mine = await store();
    const bulkhead = new Bulkhead({
      limit: new AdaptiveLimit({ min: 1, max: 2, initial: 1 }),
      maxQueue: 1,
      clock,
      store: mine,
    });
    /** Moves time on in steps of 25 ms, each as long in real time, for Redis to answer. */
    const pass = async (ms: number): Promise<void> => {
      for (let passed = 0; passed < ms; passed += 25) {
        await clock.advance(25);
        await sleep(25);
      }
    };
    const gate = deferred();
    const held = other.execute(() => gate.promise);
    const taken = async () => Number(await env.admin.command('ZCARD', mine.redisKey));
    await eventually(async () => (await taken()) === 1);
    // One of the two shared slots is free, but this bulkhead's limit is 1: its caller queues.
    const call = settle(bulkhead.execute(() => 'ran'));
    await eventually(() => bulkhead.queued === 1);
    await pass(300);
    expect(call.status).to.equal('pending');
    expect(await taken(), 'slots taken').to.equal(1);
    expect(bulkhead.tryAcquire()).to.equal(false);
    gate.resolve();
    await held;
    await pass(200);
    await eventually(() => call.status === 'fulfilled');
    expect(call.value).to.equal('ran');
    await pass(100);
    expect(await taken(), 'slots taken').to.equal(0);
  });
});
