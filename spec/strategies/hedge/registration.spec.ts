// What a hedged call registers to hear that its caller was answered, and what a Hedge shows of
// itself: in a policy the execution's root tells the run (no listener on the caller's signal of
// its own), standalone the caller's signal does; its internal members are not own properties.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { Policy } from '../../../src/pipeline/Policy.js';
import { Hedge } from '../../../src/strategies/hedge/Hedge.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, rejectionOf } from '../../support/promises.js';

describe('Hedge: registrations and own properties', () => {
  it('in a policy, adds no listener of its own to the caller’s signal: the root tells it of the abort', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p').hedge({ delay: 100, clock }).build();
    const controller = new AbortController();
    const never = deferred<never>();
    const call = policy.execute(() => never.promise, { signal: controller.signal });
    expect(clock.pending(), 'the delay is set').to.equal(1);
    expect(getEventListeners(controller.signal, 'abort'), 'the policy’s own only').to.have.length(
      1,
    );
    controller.abort(new Error('gave up'));
    expect(((await rejectionOf(call)) as Error).message).to.equal('gave up');
    expect(clock.pending(), 'the delay ends with the call').to.equal(0);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });

  it('standalone, listens to the caller’s signal while a delay is pending, and stops at the abort', async () => {
    const clock = new ManualClock();
    const hedge = new Hedge({ delay: 100, clock });
    const controller = new AbortController();
    const never = deferred<never>();
    const call = hedge.execute(() => never.promise, controller.signal);
    // The race that answers the caller at its abort, the attempt's signal (read by the hedge,
    // which passes it to \`fn\`), and the run's own listener for its delay listen through the
    // signal's one listener.
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
    controller.abort(new Error('gave up'));
    expect(((await rejectionOf(call)) as Error).message).to.equal('gave up');
    expect(clock.pending(), 'the delay ends with the call').to.equal(0);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });

  it('shows its settings, not its clock, queue or flags, as own enumerable properties', () => {
    const hedge = new Hedge({ maxHedges: 2, delay: '150ms', on: () => false });
    expect(Object.keys(hedge)).to.deep.equal(['maxHedges', 'delayMs']);
    expect(JSON.parse(JSON.stringify(hedge))).to.deep.equal({ maxHedges: 2, delayMs: 150 });
    expect(hedge.judgesOutcomes, 'still known to the stage').to.equal(true);
  });
});
