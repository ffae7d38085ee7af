// CircuitBreaker, white-box. What the breaker reports: its metrics snapshot and its one-line
// summary.
import { expect } from 'chai';
import {
  CircuitBreaker,
  type CircuitStateChange,
} from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ManualClock } from '../../support/clock.js';
import { ConnectionError, breakerClock, run } from './support.js';

describe('CircuitBreaker', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  describe('metrics', () => {
    it('reports rates and counts over the current count window', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 100, windowSize: 5 });
      await run(breaker, 'FFSSSSF'); // window S,S,S,S,F after the first two leave
      expect(breaker.metrics).to.deep.equal({
        state: 'closed',
        failureRate: 0.2,
        slowCallRate: 0,
        bufferedCalls: 5,
        failedCalls: 1,
        slowCalls: 0,
      });
    });

    it('reports the lazy half-open state and emits its change', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 5 });
      await run(breaker, 'F');
      const changes: CircuitStateChange[] = [];
      breaker.onStateChange((c) => changes.push(c));
      clock.tick(5);
      expect(breaker.metrics.state).to.equal('half-open');
      expect(changes).to.deep.equal([{ from: 'open', to: 'half-open' }]);
    });

    it('reports a time window as of the moment it is read', async () => {
      const breaker = new CircuitBreaker({ clock, windowType: 'time', windowDuration: '10s' });
      await run(breaker, 'FS');
      expect(breaker.metrics).to.include({ bufferedCalls: 2, failureRate: 0.5 });
      clock.tick(10_000);
      expect(breaker.metrics).to.include({ bufferedCalls: 2, failureRate: 0.5 });
      clock.tick(1_000);
      expect(breaker.metrics).to.include({ bufferedCalls: 0, failureRate: 0 });
    });

    it('reports the failure and slow-call rates over the last windowDuration', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 100,
        windowType: 'time',
        windowDuration: '10s',
        slowCallDuration: '1s',
      });
      clock.tick(400);
      // A slow success, recorded at 1.4 s, then a failure.
      await breaker.execute(() => {
        clock.tick(1_000);
        return 'slow';
      });
      await run(breaker, 'F');
      clock.tick(10_000); // t = 11.4 s: both are exactly 10 s old
      await run(breaker, 'SS');
      expect(breaker.metrics).to.deep.equal({
        state: 'closed',
        failureRate: 0.25,
        slowCallRate: 0.25,
        bufferedCalls: 4,
        failedCalls: 1,
        slowCalls: 1,
      });
      clock.tick(600); // t = 12 s: their bucket [1 s, 2 s) ended 10 s ago
      expect(breaker.metrics).to.deep.equal({
        state: 'closed',
        failureRate: 0,
        slowCallRate: 0,
        bufferedCalls: 2,
        failedCalls: 0,
        slowCalls: 0,
      });
    });
  });

  describe('describe', () => {
    it('summarises consecutive mode', () => {
      expect(new CircuitBreaker().describe()).to.equal(
        'opens after 5 consecutive failures, recovery 30000 ms, 1 half-open call, on all errors',
      );
    });

    it('summarises rate mode with slow calls', () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 0.5,
        slowCallDuration: '2s',
        slowCallRateThreshold: 0.8,
        windowSize: 20,
        halfOpenMaxCalls: 3,
        recordOn: [ConnectionError],
      });
      expect(breaker.describe()).to.equal(
        'opens at 50% failures over the last 20 calls or 80% calls >= 2000 ms over the last 20 calls (minimum 20 calls), recovery 30000 ms, 3 half-open calls, on matching errors',
      );
    });
  });
});
