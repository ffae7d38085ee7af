// The link's gate for calls a store decides on the count it knows (a limiter's or a bulkhead's
// `tryAcquire`), and the count of what a store has asked Redis for and not had answered: shared
// by the stores, driven here on their own through a scripted adapter on fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { systemClock } from '../../src/internal/clock.js';
import { StoreCore } from '../../src/redis/core.js';
import { Outstanding, type RedisCommand } from '../../src/redis/link.js';
import { flush, ScriptedAdapter } from './scripted.js';

const ping: RedisCommand = (adapter) => adapter.evalsha('0', [], []);

function makeLink() {
  const adapter = new ScriptedAdapter();
  const core = new StoreCore({ client: adapter, key: 'gate', storeTimeout: 100 }, 'Gate', 'rl');
  core.link.bind(systemClock, 'Gate', 'Primitive');
  return { adapter, link: core.link };
}

describe('RedisLink.gateKnown (on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  it('takes a covered call and refuses the others while Redis is up', function () {
    const { link } = makeLink();
    expect([link.gateKnown(true), link.gateKnown(false), link.gateKnown(true)]).to.deep.equal([
      'take',
      'refuse',
      'take',
    ]);
  });

  it('decides without Redis in the back-off, then lets one call through as the probe', async function () {
    const { adapter, link } = makeLink();
    void link.run(ping).catch(() => undefined);
    adapter.next().reject(new Error('The client is offline'));
    await flush();
    expect(link.up).to.equal(false);
    expect([link.gateKnown(true), link.gateKnown(false)]).to.deep.equal(['without', 'without']);
    await clock.tickAsync(400); // the back-off is over
    expect(link.gateKnown(true), 'a covered probe').to.equal('take');
    void link.run(ping).catch(() => undefined);
    expect(link.gateKnown(true), 'while the probe is out').to.equal('without');
    adapter.next().reject(new Error('The client is offline'));
    await flush();
    await clock.tickAsync(400);
    // A call the count does not cover is the probe too: it reads the count in Redis.
    expect(link.gateKnown(false), 'an uncovered probe').to.equal('probe');
    void link.run(ping);
    expect([link.gateKnown(true), link.gateKnown(false)], 'while it is out').to.deep.equal([
      'without',
      'without',
    ]);
    adapter.next().resolve('OK');
    await flush();
    expect(link.up).to.equal(true);
    expect([link.gateKnown(true), link.gateKnown(false)]).to.deep.equal(['take', 'refuse']);
  });
});

describe('Outstanding', function () {
  it('counts the amount still out, by what each command asked for', function () {
    const out = new Outstanding();
    out.add(0.5);
    out.add(0.25);
    out.add(2);
    out.done(0.25);
    expect([out.amount, out.calls]).to.deep.equal([2.5, 2]);
    out.done(2);
    out.done(0.5);
    expect([out.amount, out.calls]).to.deep.equal([0, 0]);
  });

  it('is exactly 0 once nothing is out, whatever the fractions summed to', function () {
    const out = new Outstanding();
    out.add(0.1);
    out.add(0.2);
    out.done(0.1);
    out.done(0.2);
    expect(out.amount).to.equal(0);
  });
});
