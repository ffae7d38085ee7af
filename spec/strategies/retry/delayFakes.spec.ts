// A retry's wait under fake timers that leave `performance.now()` real (Vitest 2's default, Jest's
// `doNotFake: ['performance']`, a sinon `toFake` list without it): its timer fires when the
// test's ticking reaches it, and the wait ends then. Measured against the real clock, which barely
// moves during a tick, such a timer looks early; set again for the rest, it would need another
// tick each time.
import { expect } from 'chai';
import sinon from 'sinon';
import { Retry } from '../../../src/strategies/retry/Retry.js';
import { settle } from '../../support/promises.js';

describe("a retry's wait under fake timers that leave performance.now() real", () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    clock.restore();
  });

  for (const [delay, tick] of [
    [1, 1],
    [1, 2],
    [2, 2],
  ] as const) {
    it(`reaches the 2nd attempt after delay ${delay} with one tickAsync(${tick})`, async () => {
      const retry = new Retry({ maxAttempts: 2, delay, backoffType: 'constant', jitter: 0 });
      let attempts = 0;
      const call = settle(
        retry.execute(() => {
          attempts++;
          return attempts === 1 ? Promise.reject(new Error('first')) : Promise.resolve('ok');
        }),
      );
      await clock.tickAsync(tick);
      expect(attempts).to.equal(2);
      expect(call).to.deep.equal({ status: 'fulfilled', value: 'ok' });
      expect(clock.countTimers()).to.equal(0);
    });
  }
});
