// CircuitBreaker, white-box. OPEN: refusals without calling fn, outcomes from before it opened
// ignored; and forcing the state by hand with isolate and reset.
import { expect } from 'chai';
import sinon from 'sinon';
import { CircuitOpenError, isCircuitOpenError } from '../../../src/errors.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ManualClock } from '../../support/clock.js';
import { deferred, rejectionOf } from '../../support/promises.js';
import { breakerClock, run } from './support.js';

describe('CircuitBreaker', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  describe('open', () => {
    it('refuses calls with CircuitOpenError without calling fn', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '10s' });
      await run(breaker, 'F');
      const fn = sinon.spy(() => 'never');
      clock.tick(4_000);
      const error = await rejectionOf(breaker.execute(fn));
      expect(fn.callCount).to.equal(0);
      expect(error).to.be.instanceOf(CircuitOpenError);
      expect(isCircuitOpenError(error)).to.equal(true);
      expect(error).to.include({
        state: 'open',
        retryAfterMs: 6_000,
        code: 'CIRCUIT_OPEN',
        message: 'Circuit breaker is open',
        name: 'CircuitOpenError',
      });
    });

    it('refuses in beforeCall by throwing', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 1_000 });
      await run(breaker, 'F');
      clock.tick(250);
      expect(() => breaker.beforeCall())
        .to.throw(CircuitOpenError)
        .that.includes({ state: 'open', retryAfterMs: 750 });
    });

    it('returns a rejected promise rather than throwing from execute', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      await run(breaker, 'F');
      let promise: Promise<unknown> | undefined;
      expect(() => {
        promise = breaker.execute(() => 'x');
      }).not.to.throw();
      expect(await rejectionOf(promise as Promise<unknown>)).to.be.instanceOf(CircuitOpenError);
    });

    it('counts outcomes of calls admitted before it opened in its metrics, and moves nothing on them', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 100 });
      const slow = deferred();
      const late = breaker.execute(() => slow.promise);
      await run(breaker, 'F');
      slow.resolve('late');
      await late;
      expect(breaker.state).to.equal('open');
      expect(breaker.metrics).to.include({ bufferedCalls: 2, failedCalls: 1, failureRate: 0.5 });
      clock.tick(99);
      expect(breaker.state).to.equal('open');
    });
  });

  describe('isolate and reset', () => {
    it('isolate forces the circuit open until reset, refusing with retryAfterMs Infinity', async () => {
      const breaker = new CircuitBreaker({ clock, recoveryTimeout: 10 });
      breaker.isolate();
      expect(breaker.state).to.equal('isolated');
      const fn = sinon.spy(() => 'x');
      const error = await rejectionOf(breaker.execute(fn));
      expect(fn.callCount).to.equal(0);
      expect(error).to.be.instanceOf(CircuitOpenError);
      expect(error).to.include({ state: 'isolated', retryAfterMs: Infinity });
      expect(() => breaker.beforeCall())
        .to.throw(CircuitOpenError)
        .that.includes({ state: 'isolated' });
      clock.tick(1e9);
      expect(breaker.state).to.equal('isolated');
      breaker.reset();
      expect(breaker.state).to.equal('closed');
      expect(await breaker.execute(() => 'back')).to.equal('back');
    });

    it('isolate ignores outcomes of calls still running', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const pending = deferred();
      const call = breaker.execute(() => pending.promise);
      breaker.isolate();
      pending.resolve('done');
      await call;
      expect(breaker.state).to.equal('isolated');
    });

    it('reset closes an open circuit and clears every count', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 3 });
      await run(breaker, 'FFF');
      expect(breaker.state).to.equal('open');
      breaker.reset();
      expect(breaker.metrics).to.include({ state: 'closed', bufferedCalls: 0 });
      await run(breaker, 'FF');
      expect(breaker.state).to.equal('closed');
    });

    it('reset clears the consecutive count of a closed circuit', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 3 });
      await run(breaker, 'FF');
      breaker.reset();
      await run(breaker, 'FF');
      expect(breaker.state).to.equal('closed');
    });
  });
});
