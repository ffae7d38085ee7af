// CircuitBreaker, white-box. Slow calls: calls at or above `slowCallDuration` counted, and tripping
// on their rate.
import { expect } from 'chai';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ManualClock } from '../../support/clock.js';
import { deferred, rejectionOf } from '../../support/promises.js';
import { breakerClock, run } from './support.js';

describe('CircuitBreaker', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  describe('slow calls', () => {
    function slowCall(ms: number): () => string {
      return () => {
        clock.tick(ms);
        return 'ok';
      };
    }

    it('counts a call that takes at least slowCallDuration as slow', async () => {
      const breaker = new CircuitBreaker({ clock, slowCallDuration: 1_000 });
      await breaker.execute(slowCall(999));
      expect(breaker.metrics.slowCalls).to.equal(0);
      await breaker.execute(slowCall(1_000));
      expect(breaker.metrics).to.include({ slowCalls: 1, bufferedCalls: 2, slowCallRate: 0.5 });
    });

    it('measures an asynchronous call from start to settlement', async () => {
      const breaker = new CircuitBreaker({ clock, slowCallDuration: 100 });
      const pending = deferred();
      const result = breaker.execute(() => pending.promise);
      clock.tick(150);
      pending.resolve('late');
      expect(await result).to.equal('late');
      expect(breaker.metrics.slowCalls).to.equal(1);
    });

    it('trips when a slow call brings the full window to slowCallRateThreshold', async () => {
      const breaker = new CircuitBreaker({
        clock,
        slowCallDuration: 100,
        slowCallRateThreshold: 0.5,
        windowSize: 4,
      });
      await breaker.execute(slowCall(100));
      await breaker.execute(slowCall(100));
      await breaker.execute(slowCall(1));
      expect(breaker.state).to.equal('closed'); // partial window
      await breaker.execute(slowCall(1)); // full at 0.5, but not a slow call
      expect(breaker.state).to.equal('closed');
      await breaker.execute(slowCall(200)); // S,F,F,S = 0.5
      expect(breaker.state).to.equal('open');
    });

    it('judges the slow-call rate once an explicit minimumCalls outcomes are recorded', async () => {
      const breaker = new CircuitBreaker({
        clock,
        slowCallDuration: 100,
        slowCallRateThreshold: 1,
        minimumCalls: 2,
      });
      await breaker.execute(slowCall(100));
      expect(breaker.state).to.equal('closed');
      await breaker.execute(slowCall(100));
      expect(breaker.state).to.equal('open');
    });

    it('counts a slow failing call as a failure and as slow', async () => {
      const breaker = new CircuitBreaker({ clock, slowCallDuration: 100 });
      const error = new Error('slow and broken');
      const caught = await rejectionOf(
        breaker.execute(() => {
          clock.tick(100);
          return Promise.reject(error);
        }),
      );
      expect(caught).to.equal(error);
      expect(breaker.metrics).to.include({
        bufferedCalls: 1,
        failedCalls: 1,
        slowCalls: 1,
        failureRate: 1,
        slowCallRate: 1,
      });
    });

    it('lets slow successes trip in consecutive mode while they reset the failure count', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 2,
        slowCallDuration: 50,
        slowCallRateThreshold: 0.5,
        windowSize: 4,
        minimumCalls: 4,
      });
      await run(breaker, 'F');
      await breaker.execute(slowCall(60)); // resets the consecutive count
      await run(breaker, 'F');
      expect(breaker.state).to.equal('closed');
      await breaker.execute(slowCall(60)); // F,S,F,S: 2 slow of 4
      expect(breaker.state).to.equal('open');
    });

    it('reads the clock around calls only when slowCallDuration is set', async () => {
      const plain = new CircuitBreaker({ clock });
      expect(plain.timesCalls).to.equal(false);
      const before = clock.reads;
      await plain.execute(() => 'ok');
      await plain.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
      expect(clock.reads).to.equal(before);

      const timed = new CircuitBreaker({ clock, slowCallDuration: '1s' });
      expect(timed.timesCalls).to.equal(true);
      expect(timed.clock).to.equal(clock);
      await timed.execute(() => 'ok');
      expect(clock.reads).to.equal(before + 2);
    });

    it('takes durations given to onSuccess and onFailure', () => {
      const breaker = new CircuitBreaker({ clock, slowCallDuration: '2s' });
      breaker.beforeCall();
      breaker.onSuccess(2_000);
      breaker.beforeCall();
      breaker.onFailure(new Error('x'), 2_500);
      breaker.beforeCall();
      breaker.onSuccess(1_999);
      breaker.beforeCall();
      breaker.onSuccess();
      expect(breaker.metrics).to.include({ bufferedCalls: 4, failedCalls: 1, slowCalls: 2 });
    });

    it('counts no call as slow without slowCallDuration, whatever duration is reported', () => {
      const breaker = new CircuitBreaker({ clock });
      breaker.beforeCall();
      breaker.onSuccess(1e9);
      expect(breaker.metrics.slowCalls).to.equal(0);
    });

    it('re-opens from half-open when slow probes reach slowCallRateThreshold', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: 10,
        slowCallDuration: 100,
        slowCallRateThreshold: 0.5,
        halfOpenMaxCalls: 2,
      });
      await run(breaker, 'F');
      clock.tick(10);
      await breaker.execute(slowCall(100));
      expect(breaker.state).to.equal('open');
    });

    it('closes from half-open when slow probes stay below slowCallRateThreshold', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: 10,
        slowCallDuration: 100,
        slowCallRateThreshold: 0.6,
        halfOpenMaxCalls: 2,
      });
      await run(breaker, 'F');
      clock.tick(10);
      await breaker.execute(slowCall(100)); // 1 of 2 = 0.5
      expect(breaker.state).to.equal('half-open');
      await breaker.execute(slowCall(1));
      expect(breaker.state).to.equal('closed');
    });
  });
});
