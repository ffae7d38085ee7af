// A bulkhead slot Redis grants after its caller was answered without Redis goes back, even when
// the release sent at once fails: the store's next command that reaches Redis frees it, instead
// of the lease holding a shared slot for leaseTtl. Driven through a scripted adapter on fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { systemClock } from '../../src/internal/clock.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { flush, ScriptedAdapter } from './scripted.js';

describe('RedisBulkheadStore late grants (on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  /** A store whose first acquire is answered by Redis after storeTimeout: the lease id granted. */
  async function lateGrant() {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({ client: adapter, key: 'pool', storeTimeout: 100 });
    store.configure({ maxConcurrent: 2, clock: systemClock });
    const ticket = store.acquire() as Promise<unknown>;
    await clock.tickAsync(100);
    // Decided by the local limit; that call ends at once (a call still running on a local slot
    // would get a lease of its own with the next command).
    const local = await ticket;
    expect(local).to.deep.equal({ slot: 'local' });
    store.release(local as object);
    expect(store.redisAvailable).to.equal(false);
    const acquire = adapter.next();
    expect(acquire.args[0]).to.equal('acquire');
    const id = acquire.args[3] as string;
    acquire.resolve([1, 1]);
    await flush();
    const release = adapter.next();
    expect(release.args[0]).to.equal('release');
    expect(release.args.slice(3)).to.deep.equal([id]);
    return { adapter, store, id, release };
  }

  it('frees the slot with the next command when its release fails', async function () {
    const { adapter, store, id, release } = await lateGrant();
    release.reject(new Error('connect ECONNREFUSED'));
    await flush();
    // Past the back-off (4 x storeTimeout), the next call reaches Redis and frees the slot.
    await clock.tickAsync(400);
    const ticket = store.acquire() as Promise<unknown>;
    const acquire = adapter.next();
    expect(acquire.args[0]).to.equal('acquire');
    expect(acquire.args.slice(4)).to.deep.equal([id]);
    acquire.resolve([1, 1]);
    const granted = await ticket;
    expect(granted).to.equal(acquire.args[3]);
    // Freed: not sent again.
    const released = store.release(granted as string);
    const next = adapter.next();
    expect(next.args.slice(3)).to.deep.equal([granted]);
    next.resolve([1, 0]);
    await released;
    expect(adapter.calls).to.have.length(0);
  });

  it('sends nothing more once its release is answered', async function () {
    const { adapter, store, release } = await lateGrant();
    release.resolve([1, 0]);
    await flush();
    await clock.tickAsync(400);
    const ticket = store.acquire() as Promise<unknown>;
    const acquire = adapter.next();
    expect(acquire.args.slice(4)).to.deep.equal([]);
    acquire.resolve([1, 1]);
    expect(await ticket).to.equal(acquire.args[3]);
  });
});
