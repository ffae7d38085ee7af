// CircuitBreaker, white-box. When the breaker trips: consecutive failures, and failure rates over a
// count or a time window.
import { expect } from 'chai';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ManualClock } from '../../support/clock.js';
import { breakerClock, run } from './support.js';

describe('CircuitBreaker', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  describe('consecutive mode', () => {
    it('trips after failureThreshold consecutive failures', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 3 });
      await run(breaker, 'FF');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('resets the count on a success', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 3 });
      await run(breaker, 'FFSFFSFF');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('still keeps the window for metrics', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 3, windowSize: 4 });
      await run(breaker, 'SFSFF');
      expect(breaker.metrics).to.deep.include({
        state: 'closed',
        bufferedCalls: 4,
        failedCalls: 3,
        failureRate: 0.75,
      });
    });

    it('trips with a failureThreshold of 1 on the first failure', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      await run(breaker, 'SSSF');
      expect(breaker.state).to.equal('open');
    });
  });

  describe('rate mode over a count window', () => {
    it('does not trip when the call that fills the window at the threshold is a success (F,F,S,S at 50%)', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.5, windowSize: 4 });
      await run(breaker, 'FFSS');
      expect(breaker.metrics).to.include({ failureRate: 0.5, bufferedCalls: 4 });
      expect(breaker.state).to.equal('closed');
    });

    it('trips on the next failure that keeps the full window at the threshold (then F: F,S,S,F)', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.5, windowSize: 4 });
      await run(breaker, 'FFSS');
      await run(breaker, 'F'); // window F,S,S,F
      expect(breaker.state).to.equal('open');
    });

    it('never judges a partial window, even at a 100% failure rate', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.5, windowSize: 4 });
      await run(breaker, 'FFF');
      expect(breaker.metrics.failureRate).to.equal(1);
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('does not trip on a success even when the full window is above the threshold', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.5, windowSize: 4 });
      await run(breaker, 'FFFS'); // full window at 0.75, filled by a success
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'S'); // F,F,S,S
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F'); // F,S,S,F = 0.5
      expect(breaker.state).to.equal('open');
    });

    it('does not trip while the failure rate stays below the threshold', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.75, windowSize: 4 });
      await run(breaker, 'SSFFSSFF');
      expect(breaker.metrics.failureRate).to.equal(0.5);
      expect(breaker.state).to.equal('closed');
    });

    it('trips when a failure brings the full window exactly to the threshold', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.75, windowSize: 4 });
      await run(breaker, 'SFSF'); // 0.5
      await run(breaker, 'F'); // F,S,F,F = 0.75
      expect(breaker.state).to.equal('open');
    });

    it('ignores failureThreshold in rate mode', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        failureRateThreshold: 1,
        windowSize: 3,
      });
      await run(breaker, 'FF');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('judges a rate once an explicit smaller minimumCalls outcomes are recorded', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureRateThreshold: 0.5,
        windowSize: 10,
        minimumCalls: 3,
      });
      await run(breaker, 'FS');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F'); // 3 outcomes, 2/3
      expect(breaker.state).to.equal('open');
    });

    it('with minimumCalls still judges the rate only when a failure is recorded', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureRateThreshold: 0.5,
        windowSize: 10,
        minimumCalls: 2,
      });
      await run(breaker, 'F');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'S'); // 2 outcomes at 0.5, but a success
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });
  });

  describe('rate mode over a time window', () => {
    const options = {
      windowType: 'time',
      windowDuration: '10s',
      failureRateThreshold: 0.5,
      minimumCalls: 4,
    } as const;

    it('judges the outcomes of the last windowDuration once minimumCalls are there', async () => {
      const breaker = new CircuitBreaker({ clock, ...options });
      await run(breaker, 'FFS');
      clock.tick(9_999);
      await run(breaker, 'F'); // 4 outcomes within 10s, 3/4
      expect(breaker.state).to.equal('open');
    });

    it('keeps outcomes exactly windowDuration old, and drops them once their bucket ended that long ago', async () => {
      const breaker = new CircuitBreaker({ clock, ...options });
      await run(breaker, 'FFF'); // t = 0, the start of the bucket [0, 1s)
      clock.tick(10_000);
      expect(breaker.metrics).to.include({ bufferedCalls: 3, failedCalls: 3 });
      clock.tick(999);
      expect(breaker.metrics.bufferedCalls).to.equal(3);
      clock.tick(1);
      expect(breaker.metrics.bufferedCalls).to.equal(0);
      await run(breaker, 'F'); // only 1 outcome left in the window
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics).to.include({ bufferedCalls: 1, failedCalls: 1 });
    });

    it('trips on outcomes exactly windowDuration old', async () => {
      const breaker = new CircuitBreaker({ clock, ...options });
      await run(breaker, 'FF'); // t = 0
      clock.tick(10_000);
      await run(breaker, 'SF'); // 4 outcomes of the last 10 s, 3/4
      expect(breaker.state).to.equal('open');
      expect(breaker.metrics).to.include({ bufferedCalls: 4, failedCalls: 3 });
    });

    it('trips on failures all of the last windowDuration, though their buckets began earlier', async () => {
      const breaker = new CircuitBreaker({
        clock,
        windowType: 'time',
        windowDuration: '10s',
        failureRateThreshold: 0.5,
        minimumCalls: 10,
      });
      clock.tick(900); // late in the bucket [0, 1s)
      await run(breaker, 'FFFFF');
      clock.tick(9_100); // t = 10s: the first failures are 9.1 s old
      await run(breaker, 'FFFF');
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics.bufferedCalls).to.equal(9);
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
      expect(breaker.metrics).to.include({ bufferedCalls: 10, failedCalls: 10, failureRate: 1 });
    });

    it("keeps a one-hour window's outcomes for the whole hour, in buckets of a minute", async () => {
      const breaker = new CircuitBreaker({
        clock,
        windowType: 'time',
        windowDuration: '1h',
        failureRateThreshold: 0.5,
        minimumCalls: 4,
      });
      clock.tick(59_000); // the end of the bucket [0, 1 min)
      await run(breaker, 'FF');
      clock.tick(3_541_000); // t = 1 h: they are 59 min 1 s old
      expect(breaker.metrics).to.include({ bufferedCalls: 2, failedCalls: 2 });
      await run(breaker, 'SF'); // 3/4 over the last hour
      expect(breaker.state).to.equal('open');
      expect(breaker.metrics).to.include({ bufferedCalls: 4, failedCalls: 3 });
      // Their bucket ended at 1 min: they leave an hour after that, 61 s after they were recorded.
      clock.tick(59_999);
      expect(breaker.metrics.bufferedCalls).to.equal(4);
      clock.tick(1);
      expect(breaker.metrics).to.include({ bufferedCalls: 2, failedCalls: 1 });
    });

    it('slides: old failures leave and new successes dilute the rate', async () => {
      const breaker = new CircuitBreaker({ clock, ...options, failureRateThreshold: 0.6 });
      await run(breaker, 'FF'); // t = 0
      clock.tick(5_000);
      await run(breaker, 'SS'); // t = 5s
      clock.tick(6_000); // t = 11s: the two failures have left
      await run(breaker, 'SF'); // S,S,S,F = 0.25
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics).to.include({ bufferedCalls: 4, failedCalls: 1 });
    });

    it('does not judge before minimumCalls outcomes, however high the rate', async () => {
      const breaker = new CircuitBreaker({ clock, ...options });
      await run(breaker, 'FFF');
      expect(breaker.state).to.equal('closed');
    });

    it('reads no clock for a count window on the hot path', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.5 });
      const before = clock.reads;
      await run(breaker, 'SSSSSFFS');
      expect(clock.reads).to.equal(before);
    });
  });
});
