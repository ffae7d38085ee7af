// Each function onStateChange returns removes its own subscription once, however often it is
// called: a listener subscribed twice stays subscribed once after the first unsubscribe is called
// twice, and unsubscribing one listener twice leaves the others.
import { expect } from 'chai';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';

const trip = (breaker: CircuitBreaker) =>
  breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);

describe('CircuitBreaker.onStateChange unsubscribe', () => {
  for (const times of [1, 2, 3]) {
    it(`with one listener subscribed twice, the first unsubscribe called ${times}x removes one`, async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '1h' });
      let calls = 0;
      const listener = () => {
        calls++;
      };
      const first = breaker.onStateChange(listener);
      breaker.onStateChange(listener);
      for (let i = 0; i < times; i++) first();
      await trip(breaker);
      expect(calls).to.equal(1);
    });
  }

  it('unsubscribing one listener twice leaves the others', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '1h' });
    const hits: string[] = [];
    const offA = breaker.onStateChange(() => hits.push('a'));
    breaker.onStateChange(() => hits.push('b'));
    offA();
    offA();
    await trip(breaker);
    expect(hits).to.deep.equal(['b']);
  });

  it("the second subscription's own function still removes it after the first was used", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '1h' });
    let calls = 0;
    const listener = () => {
      calls++;
    };
    const first = breaker.onStateChange(listener);
    const second = breaker.onStateChange(listener);
    first();
    first();
    second();
    await trip(breaker);
    expect(calls).to.equal(0);
  });
});
