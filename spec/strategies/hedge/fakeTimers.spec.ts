// A hedge's delays keep their cadence under fake timers moved synchronously (sinon's `tick`,
// Jest's `advanceTimersByTime`): each delay's expiry runs a microtask after its timer, in the
// call's async context, so after such a tick it runs once the tick has returned; the next delay
// still starts from when the timer fired, not from the end of the tick.
import { expect } from 'chai';
import sinon from 'sinon';
import { Hedge } from '../../../src/strategies/hedge/Hedge.js';
import { Policy } from '../../../src/pipeline/Policy.js';

/** Lets pending promise reactions run (sinon fakes `setImmediate`). */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('hedge delays under a synchronous fake-timer tick', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  it('starts each hedged attempt a delay after the previous one, not after the tick', async () => {
    const starts: number[] = [];
    const hedge = new Hedge({ maxHedges: 3, delay: 100 });
    const controller = new AbortController();
    const call = hedge
      .execute((signal) => {
        starts.push(performance.now());
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error)),
        );
      }, controller.signal)
      .catch((error: unknown) => error);
    // The first delay's timer fires at 100 within the tick; its attempt starts once it returned.
    clock.tick(150);
    await microtasks();
    expect(starts).to.deep.equal([0, 150]);
    // The second delay runs from 100, when the first one's timer fired: due at 200, not 250.
    await clock.tickAsync(50);
    expect(starts).to.deep.equal([0, 150, 200]);
    await clock.tickAsync(100);
    expect(starts).to.deep.equal([0, 150, 200, 300]);
    controller.abort(new Error('done'));
    expect(await call).to.have.property('message', 'done');
    expect(clock.countTimers()).to.equal(0);
  });

  it("keeps the cadence of a policy's hedge alike", async () => {
    const starts: number[] = [];
    const policy = Policy.builder('h').hedge({ maxHedges: 2, delay: 100 }).build();
    const call = policy.execute((ctx) => {
      starts.push(performance.now());
      return ctx.attempt === 3 ? 'third' : new Promise<string>(() => {});
    });
    clock.tick(150);
    await microtasks();
    expect(starts).to.deep.equal([0, 150]);
    await clock.tickAsync(50);
    expect(starts).to.deep.equal([0, 150, 200]);
    expect(await call).to.equal('third');
  });
});
