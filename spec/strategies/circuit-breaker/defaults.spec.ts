// CircuitBreaker, white-box. The defaults: what a breaker built with no options does.
import { expect } from 'chai';
import { CircuitOpenError } from '../../../src/errors.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ManualClock } from '../../support/clock.js';
import { deferred, rejectionOf } from '../../support/promises.js';
import { ValidationError, breakerClock, run } from './support.js';

describe('CircuitBreaker', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  describe('defaults', () => {
    it('trips after 5 consecutive failures by default', async () => {
      const breaker = new CircuitBreaker({ clock });
      await run(breaker, 'FFFF');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('stays open for 30 seconds by default', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      await run(breaker, 'F');
      clock.tick(29_999);
      expect(breaker.state).to.equal('open');
      clock.tick(1);
      expect(breaker.state).to.equal('half-open');
    });

    it('admits one half-open probe by default, and its success closes the circuit', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 10 });
      await run(breaker, 'F');
      clock.tick(10);
      const probe = deferred();
      const first = breaker.execute(() => probe.promise);
      const second = await rejectionOf(breaker.execute(() => 'never'));
      expect(second).to.be.instanceOf(CircuitOpenError);
      probe.resolve('ok');
      expect(await first).to.equal('ok');
      expect(breaker.state).to.equal('closed');
    });

    it('keeps a count window of the last 10 calls by default', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 100 });
      await run(breaker, 'FFFFFSSSSSSS');
      expect(breaker.metrics).to.include({ bufferedCalls: 10, failedCalls: 3 });
    });

    it('judges a failure rate only on a full count window by default', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.5 });
      await run(breaker, 'FFFFFFFFF');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('uses a 60 second time window with a minimum of 10 calls when windowType is time', async () => {
      const breaker = new CircuitBreaker({ clock, windowType: 'time', failureRateThreshold: 0.5 });
      for (let i = 0; i < 9; i++) {
        await run(breaker, 'F');
        clock.tick(6_000);
      }
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics.bufferedCalls).to.equal(9);
      // t = 54s: all nine are still inside the last 60s
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('keeps outcomes in a time window for 60 seconds by default, in buckets of 1 second', async () => {
      const breaker = new CircuitBreaker({ clock, windowType: 'time' });
      await run(breaker, 'F');
      clock.tick(60_000);
      expect(breaker.metrics.bufferedCalls).to.equal(1);
      clock.tick(999);
      expect(breaker.metrics.bufferedCalls).to.equal(1);
      clock.tick(1);
      expect(breaker.metrics.bufferedCalls).to.equal(0);
    });

    it('counts every error as a failure by default', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 3 });
      await breaker.execute(() => Promise.reject(new TypeError('x'))).catch(() => undefined);
      await breaker.execute(() => Promise.reject(new ValidationError('x'))).catch(() => undefined);
      await breaker.execute(() => Promise.reject('a string')).catch(() => undefined);
      expect(breaker.state).to.equal('open');
    });

    it('starts closed with empty metrics', () => {
      expect(new CircuitBreaker().metrics).to.deep.equal({
        state: 'closed',
        failureRate: 0,
        slowCallRate: 0,
        bufferedCalls: 0,
        failedCalls: 0,
        slowCalls: 0,
      });
    });
  });
});
