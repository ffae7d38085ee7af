// A call called off before its outcome teaches an adaptive limit nothing, whatever the outcome:
// here a hedged attempt given up once another answered, whose work then succeeds while the
// execution still runs (a retry outside waits to try again).
import { expect } from 'chai';
import sinon from 'sinon';
import { Policy } from '../../../src/pipeline/Policy.js';
import { AdaptiveLimit } from '../../../src/strategies/bulkhead/AdaptiveLimit.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, flush, settle, type Deferred } from '../../support/promises.js';

describe('An adaptive limit and a call called off', () => {
  it('learns nothing from a hedged attempt given up before its work succeeded, while the execution runs on', async () => {
    const clock = new ManualClock();
    const limit = new AdaptiveLimit({ algorithm: 'aimd', initial: 4, window: 1, minSamples: 1 });
    const sample = sinon.spy(limit, 'sample');
    const failure = new Error('second attempt failed');
    const works: Array<Deferred<string>> = [];
    const policy = Policy.builder<string>('p')
      .retry({ maxAttempts: 2, delay: 1000 })
      // Every outcome is acceptable: the first to arrive answers, a failure too.
      .hedge({ delay: 10, maxHedges: 1, on: () => false })
      .bulkhead({ limit })
      .clock(clock)
      .build();
    const call = settle(policy.execute(() => (works[works.length] = deferred<string>()).promise));
    await clock.advance(10);
    expect(works).to.have.length(2);
    // The hedged attempt fails first: the hedge answers with it and gives the first one up; the
    // retry outside waits its delay.
    works[1]!.reject(failure);
    await flush();
    expect(sample.getCalls().map((c) => c.args[3])).to.deep.equal([true]);
    // The attempt given up succeeds only now: called off first, it says nothing.
    works[0]!.resolve('late');
    await flush();
    expect(sample.getCalls().map((c) => c.args[3])).to.deep.equal([true]);
    expect(call.status).to.equal('pending');
    await clock.advance(1000);
    await clock.advance(0);
    works[2]!.resolve('ok');
    await flush();
    await clock.advance(0);
    expect(call).to.deep.equal({ status: 'fulfilled', value: 'ok' });
    expect(sample.getCalls().map((c) => c.args[3])).to.deep.equal([true, false]);
  });
});
