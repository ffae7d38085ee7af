// The leases of calls still running are carried again by the first command that reaches Redis
// after an outage (an acquire, here). A renewal sent while that command is out names the same
// leases, and a cluster client may run it after a later release: that release must leave a
// record (`retire`), as for any lease a renewal named, or the renewal would take the slot again.
// Driven through a scripted adapter on fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { settle } from '../support/promises.js';
import { flush, ScriptedAdapter } from './scripted.js';

const GRANTED = [1, 1, -1, 0];

describe('RedisBulkheadStore releasing a lease taken again after an outage (scripted, on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  it('retires it when a renewal naming it was sent before the command that took it again answered', async function () {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({
      client: adapter,
      key: 'pool',
      leaseTtl: 6000,
      storeTimeout: 1500,
    });
    const bulkhead = new Bulkhead({ maxConcurrent: 2, store });
    let endLong!: () => void;
    const long = settle(
      bulkhead.execute(() => new Promise<void>((resolve) => (endLong = resolve))),
    );
    expect(adapter.answer(GRANTED)[0]).to.equal('acquire');
    await flush();
    // Its first renewal (every leaseTtl / 3) fails: Redis is away.
    await clock.tickAsync(2000);
    const renewal = adapter.next();
    expect(renewal.args[0]).to.match(/^renew/);
    const longId = renewal.args[3] as string;
    renewal.reject(new Error('connection lost'));
    await flush();
    // Back: the next call's acquire carries the running call's lease, to be taken again.
    await clock.tickAsync(1100);
    const other = settle(bulkhead.execute(() => new Promise<void>(() => {})));
    await flush();
    const acquire = adapter.next();
    expect(acquire.args, 'the acquire carries the lease').to.include(longId);
    // A renewal naming it goes out before the acquire answers.
    await clock.tickAsync(900);
    const late = adapter.calls.find((call) => call.args.includes(longId));
    expect(late?.args[0], 'a renewal naming the lease').to.match(/^(renew|retake)/);
    await clock.tickAsync(50);
    acquire.resolve([1, 2, -1, 0]);
    await flush();
    // The call ends: its release must be recorded, as the renewal may run after it.
    endLong();
    await flush();
    const release = adapter.calls.find(
      (call) =>
        call !== late &&
        call.args.includes(longId) &&
        /^(release|retire)/.test(call.args[0] as string),
    );
    expect(release?.args[0]).to.equal('retire');
    await flush();
    expect(long.status).to.equal('fulfilled');
    expect(other.status).to.equal('pending');
  });
});
