// CircuitBreaker, white-box. State-change listeners: every transition reported once, unsubscribing,
// and listeners that throw or unsubscribe others.
import { expect } from 'chai';
import sinon from 'sinon';
import {
  CircuitBreaker,
  type CircuitStateChange,
} from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ManualClock } from '../../support/clock.js';
import { rejectionOf } from '../../support/promises.js';
import { breakerClock, run } from './support.js';

describe('CircuitBreaker', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  describe('onStateChange', () => {
    it('reports every transition with from and to', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: 10,
      });
      const changes: CircuitStateChange[] = [];
      breaker.onStateChange((c) => changes.push(c));
      await run(breaker, 'F');
      clock.tick(10);
      expect(breaker.state).to.equal('half-open');
      await run(breaker, 'F');
      clock.tick(10);
      await run(breaker, 'S');
      breaker.isolate();
      breaker.reset();
      expect(changes).to.deep.equal([
        { from: 'closed', to: 'open' },
        { from: 'open', to: 'half-open' },
        { from: 'half-open', to: 'open' },
        { from: 'open', to: 'half-open' },
        { from: 'half-open', to: 'closed' },
        { from: 'closed', to: 'isolated' },
        { from: 'isolated', to: 'closed' },
      ]);
    });

    it('emits nothing when the state does not change', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 2 });
      const listener = sinon.spy();
      breaker.onStateChange(listener);
      await run(breaker, 'SFS');
      breaker.reset();
      expect(breaker.state).to.equal('closed');
      expect(listener.callCount).to.equal(0);
    });

    it('stops calling a listener once unsubscribed', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const listener = sinon.spy();
      const unsubscribe = breaker.onStateChange(listener);
      unsubscribe();
      unsubscribe(); // twice is harmless
      await run(breaker, 'F');
      expect(listener.callCount).to.equal(0);
    });

    it('keeps working, and keeps calling other listeners, when a listener throws', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const good = sinon.spy();
      breaker.onStateChange(() => {
        throw new Error('faulty listener');
      });
      breaker.onStateChange(good);
      const error = new Error('call failed');
      expect(await rejectionOf(breaker.execute(() => Promise.reject(error)))).to.equal(error);
      expect(breaker.state).to.equal('open');
      expect(good.calledOnceWith({ from: 'closed', to: 'open' })).to.equal(true);
    });

    it('calls every listener even when one unsubscribes another during an event', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const second = sinon.spy();
      let unsubscribeSecond = (): void => undefined;
      breaker.onStateChange(() => unsubscribeSecond());
      unsubscribeSecond = breaker.onStateChange(second);
      await run(breaker, 'F');
      expect(second.callCount).to.equal(1);
      breaker.reset();
      expect(second.callCount).to.equal(1);
    });

    it('answers the state a listener moved the circuit to when the read itself half-opened it', () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 10 });
      breaker.onFailure(new Error('down'));
      breaker.onStateChange(({ to }) => {
        if (to === 'half-open') breaker.isolate();
      });
      clock.tick(10);
      // This read moves OPEN to HALF_OPEN; the listener isolates the circuit at once.
      expect(breaker.state).to.equal('isolated');
      expect(breaker.state).to.equal('isolated');
    });

    it('rejects a listener that is not a function', () => {
      expect(() => new CircuitBreaker().onStateChange('nope' as never)).to.throw(TypeError);
    });
  });
});
