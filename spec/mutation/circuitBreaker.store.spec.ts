// The in-memory circuit breaker store and its windows, where a slip goes unseen by the usual
// calls: a snapshot's open time and slow outcomes, the time a restored time window's outcomes
// leave it, a time window emptied by a close, the order of a wrapped count window, and the clock
// a count window's metrics leave unread.
import { expect } from 'chai';
import sinon from 'sinon';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { InMemoryCircuitBreakerStore } from '../../src/strategies/circuit-breaker/store.js';
import { ManualClock } from '../support/clock.js';

describe('CircuitBreaker store and windows', () => {
  let wall: sinon.SinonFakeTimers;
  beforeEach(() => {
    // Only the wall clock is faked (snapshots are stamped with it); breakers read a manual clock.
    wall = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
  });
  afterEach(() => wall.restore());

  it('can be reset before it serves a breaker', () => {
    const store = new InMemoryCircuitBreakerStore();
    store.reset();
    new CircuitBreaker({ store });
    expect(store.state()).to.equal('closed');
  });

  it('reads no clock for the metrics of a count window', () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock });
    breaker.onSuccess();
    const reads = clock.reads;
    expect(breaker.metrics).to.include({ state: 'closed', bufferedCalls: 1 });
    expect(clock.reads).to.equal(reads);
  });

  describe('snapshots', () => {
    it('say 0 for the time open of a circuit that is no longer OPEN', () => {
      const clock = new ManualClock();
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock });
      breaker.onFailure(new Error('down'));
      clock.tick(1500);
      expect(breaker.toJSON()).to.include({ state: 'half-open', openedAgoMs: 0 });
    });

    it('keep the short open period of an OPEN circuit restored by a breaker with a longer one', () => {
      const clock = new ManualClock();
      const short = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock });
      short.onFailure(new Error('down'));
      clock.tick(400);
      const restored = new CircuitBreaker({
        failureThreshold: 1,
        recoveryTimeout: 5000,
        clock,
        initialState: short.toJSON(),
      });
      expect(restored.state).to.equal('open');
      clock.tick(599);
      expect(restored.state).to.equal('open');
      clock.tick(1);
      expect(restored.state).to.equal('half-open');
    });

    it('carry the slow outcomes of a count window', () => {
      const options = { slowCallDuration: 100, failureThreshold: 5, windowSize: 4 };
      const first = new CircuitBreaker(options);
      first.onSuccess(100);
      first.onFailure(new Error('slow failure'), 150);
      first.onSuccess(10);
      const restored = new CircuitBreaker({ ...options, initialState: first.toJSON() });
      expect(restored.metrics).to.include({ bufferedCalls: 3, failedCalls: 1, slowCalls: 2 });
      expect(restored.toJSON().window).to.deep.equal({
        type: 'count',
        size: 4,
        outcomes: [2, 3, 0],
      });
    });

    it('give a wrapped count window’s outcomes oldest first', () => {
      const breaker = new CircuitBreaker({ failureThreshold: 5, windowSize: 3 });
      breaker.onSuccess();
      breaker.onFailure(new Error('down'));
      breaker.onSuccess();
      breaker.onSuccess();
      expect(breaker.toJSON().window).to.deep.equal({
        type: 'count',
        size: 3,
        outcomes: [1, 0, 0],
      });
    });
  });

  describe('a time window', () => {
    const options = {
      windowType: 'time' as const,
      windowDuration: '10s',
      failureThreshold: 100,
      slowCallDuration: 100,
    };

    it('restored, lets each bucket’s outcomes leave it a window after their bucket ended', () => {
      const clock = new ManualClock();
      const first = new CircuitBreaker({ ...options, clock });
      first.onFailure(new Error('slow failure'), 100);
      first.onSuccess(0);
      clock.tick(5000);
      first.onSuccess(100);
      const saved = first.toJSON();
      // Restored 2 s of wall time later, by a breaker whose clock reads 7 s.
      wall.tick(2000);
      const later = new ManualClock(7000);
      const restored = new CircuitBreaker({ ...options, clock: later, initialState: saved });
      expect(restored.metrics).to.include({ bufferedCalls: 3, failedCalls: 1, slowCalls: 2 });
      // The first bucket, [0, 1 s) on the restoring clock, ended 10 s before 11 s.
      later.tick(3999);
      expect(restored.metrics).to.include({ bufferedCalls: 3, failedCalls: 1, slowCalls: 2 });
      later.tick(1);
      expect(restored.metrics, 'the first bucket left').to.include({
        bufferedCalls: 1,
        failedCalls: 0,
        slowCalls: 1,
      });
      later.tick(4999);
      expect(restored.metrics).to.include({ bufferedCalls: 1 });
      later.tick(1);
      expect(restored.metrics, 'the second bucket left').to.include({
        bufferedCalls: 0,
        failedCalls: 0,
        slowCalls: 0,
      });
    });

    it('emptied by a close, lets later outcomes leave it on time', () => {
      const clock = new ManualClock();
      const breaker = new CircuitBreaker({
        ...options,
        failureThreshold: 1,
        recoveryTimeout: 1000,
        clock,
      });
      breaker.onFailure(new Error('down'));
      clock.tick(1000);
      breaker.onSuccess(0, breaker.beforeCall());
      expect(breaker.state).to.equal('closed');
      breaker.onSuccess(0);
      expect(breaker.metrics).to.include({ bufferedCalls: 1 });
      clock.tick(10_000);
      expect(breaker.metrics).to.include({ bufferedCalls: 1 });
      clock.tick(1_000); // its bucket, [1 s, 2 s), ended 10 s ago
      expect(breaker.metrics).to.include({ bufferedCalls: 0 });
    });
  });
});
