// A process whose callers queued for a Redis bulkhead are all gone (served, or left: a wait run
// out, a signal aborted) leaves the line in Redis at once, so a slot freed elsewhere does not
// wait for it. The bulkhead tells its store when its queue empties. Driven through a scripted
// adapter on fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { BulkheadFullError } from '../../src/errors.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { settle } from '../support/promises.js';
import { flush, ScriptedAdapter } from './scripted.js';

// A refusal: no slot, one in use, nobody waiting elsewhere.
const REFUSED = [0, 1, -1, 0];

describe('RedisBulkheadStore leaving the line (scripted, on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  /**
   * A caller of a bulkhead queued while another process holds the only slot, standing in the
   * line once its first poll (100 ms) has said so: that poll, for the spec to answer.
   */
  async function queuedInLine(maxWait: number, signal?: AbortSignal) {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({ client: adapter, key: 'pool', storeTimeout: '10s' });
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWait, store });
    const call = settle(bulkhead.execute(() => 'ran', signal));
    expect(adapter.answer(REFUSED)[0]).to.equal('acquire');
    await flush();
    expect(bulkhead.queued).to.equal(1);
    await clock.tickAsync(100);
    const poll = adapter.next();
    // The poll carries the caller's place: the store stands in the line.
    expect(poll.args[0]).to.equal('acquire+');
    return { adapter, bulkhead, call, poll };
  }

  /** Answers the oldest command not answered, which must take the store out of the line. */
  function leaving(adapter: ScriptedAdapter): readonly string[] {
    const args = adapter.answer([0, [], -1, 0]);
    expect(args[0]).to.equal('renew+');
    // Its place: nobody waits there any more.
    expect(args.at(-2)).to.equal('-1');
    return args;
  }

  it('leaves as the wait of its last queued caller runs out, not at its next poll', async function () {
    const { adapter, call, poll } = await queuedInLine(150);
    poll.resolve(REFUSED);
    await flush();
    // Its next poll is at 200 ms; its caller's wait runs out at 150 ms.
    await clock.tickAsync(50);
    await flush();
    expect(call.reason).to.be.instanceOf(BulkheadFullError);
    expect(adapter.calls, 'commands sent').to.have.length(1);
    leaving(adapter);
  });

  it('leaves as its last queued caller aborts', async function () {
    const controller = new AbortController();
    const { adapter, call, poll } = await queuedInLine(Infinity, controller.signal);
    poll.resolve(REFUSED);
    await flush();
    await clock.tickAsync(20);
    controller.abort(new Error('gone'));
    await flush();
    expect(call.reason).to.have.property('message', 'gone');
    expect(adapter.calls, 'commands sent').to.have.length(1);
    leaving(adapter);
  });

  it('leaves as a slot Redis granted goes to its last queued caller', async function () {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({ client: adapter, key: 'pool', storeTimeout: '10s' });
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
    let end!: () => void;
    const call = settle(bulkhead.execute(() => new Promise<void>((resolve) => (end = resolve))));
    adapter.answer(REFUSED);
    await flush();
    await clock.tickAsync(100);
    expect(adapter.answer([1, 1, -1, 0])[0]).to.equal('acquire+');
    await flush();
    // The call runs; the store is out of the line already.
    expect(bulkhead.queued).to.equal(0);
    expect(adapter.calls, 'commands sent').to.have.length(1);
    leaving(adapter);
    end();
    await flush();
    expect(call.status).to.equal('fulfilled');
    expect(adapter.answer([1, 0, -1, 0])[0]).to.equal('release');
  });
});
