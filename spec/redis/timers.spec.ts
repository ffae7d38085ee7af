// What a Redis store leaves behind once every call has settled: no timer, so a process whose
// calls are done (and whose client is closed) exits at once. Driven through a scripted adapter
// on fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { flush, ScriptedAdapter } from './scripted.js';

describe('Redis store timers (on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  it('stops renewing leases once the bulkhead store holds none', async function () {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({ client: adapter, key: 'pool', leaseTtl: '30s' });
    const bulkhead = new Bulkhead({ maxConcurrent: 2, store });
    let finish!: () => void;
    const call = bulkhead.execute(() => new Promise<void>((resolve) => (finish = resolve)));
    expect(adapter.answer([1, 1])[0]).to.equal('acquire');
    await flush();
    expect(store.leases).to.equal(1);
    // While the call runs its lease is renewed every leaseTtl / 3.
    await clock.tickAsync(10_000);
    expect(adapter.answer([1, []])[0]).to.equal('renew');
    await flush();
    finish();
    await call;
    // A renewal named the lease: its release keeps that renewal from adding it again.
    expect(adapter.answer([1, 0])[0]).to.equal('retire');
    await flush();
    expect(store.leases).to.equal(0);
    expect(clock.countTimers()).to.equal(0);
    // And a new call arms renewal again.
    const next = bulkhead.execute(() => new Promise<void>((resolve) => (finish = resolve)));
    adapter.answer([1, 1]);
    await flush();
    await clock.tickAsync(10_000);
    expect(adapter.answer([1, []])[0]).to.equal('renew');
    await flush();
    finish();
    await next;
    adapter.answer([1, 0]);
    await flush();
    expect(clock.countTimers()).to.equal(0);
  });
});
