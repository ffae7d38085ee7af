// A process whose queued callers poll a Redis bulkhead keeps polling when the reply to one of its
// releases (which says a slot is free) is read in the same turn as its poll's refusal: the
// release's reply spends the poll timer the refusal had just armed to ask at once, as the
// bulkhead is still taking that refusal. The bulkhead then asks again, rather than leave its
// queue with nothing to poll for good. Driven through a scripted adapter on fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { deferred, settle } from '../support/promises.js';
import { flush, ScriptedAdapter } from './scripted.js';

describe('RedisBulkheadStore polls on as a release frees a slot while a poll is refused (scripted, on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  it('asks again for the queued caller, and serves it', async function () {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({ client: adapter, key: 'pool', storeTimeout: '10s' });
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, store });
    const running = deferred<void>();
    const first = settle(bulkhead.execute(() => running.promise));
    expect(adapter.answer([1, 1, -1, 0])[0]).to.equal('acquire');
    await flush();
    const second = settle(bulkhead.execute(() => 'second'));
    expect(adapter.answer([0, 1, -1, 0])[0]).to.equal('acquire');
    await flush();
    expect(bulkhead.queued).to.equal(1);
    // Its poll: a caller in another process has waited longer (500 ms against 100).
    await clock.tickAsync(100);
    expect(adapter.answer([0, 1, 500, 1])[0]).to.equal('acquire+');
    await flush();
    // The next poll goes out; then the call running here ends, and its slot is freed in Redis
    // (the caller elsewhere comes first).
    await clock.tickAsync(100);
    const poll = adapter.next();
    expect(poll.args[0]).to.equal('acquire+');
    running.resolve();
    await flush();
    expect(first.status).to.equal('fulfilled');
    const release = adapter.next();
    expect(release.args[0]).to.equal('release+');
    // Both replies are read in one turn: the poll is refused (Redis ran it first), and the release
    // frees the slot, nobody waiting elsewhere any more.
    poll.resolve([0, 1, 500, 1]);
    release.resolve([1, 0, -1, 0]);
    await flush();
    // It asks at once (and not only at a poll to come: no poll is armed any more).
    await clock.tickAsync(1000);
    expect(adapter.calls.map((call) => call.args[0])).to.deep.equal(['acquire+']);
    adapter.answer([1, 1, -1, 0]);
    await flush();
    expect(second).to.deep.include({ status: 'fulfilled', value: 'second' });
  });
});
