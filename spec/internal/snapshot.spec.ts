// A snapshot handed over in this process (a reload that changed a primitive's options): restored
// with no wall time elapsed, and, for a breaker whose window changed shape, with an empty window
// where a snapshot from elsewhere is refused.
import { expect } from 'chai';
import sinon from 'sinon';
import { handOver } from '../../src/internal/snapshot.js';
import {
  CircuitBreaker,
  type CircuitBreakerSnapshot,
} from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { CIRCUIT_BREAKER } from '../../src/strategies/circuit-breaker/kind.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { ManualClock } from '../support/clock.js';

describe('handOver: a snapshot passed on within this process', () => {
  let wall: sinon.SinonFakeTimers;

  beforeEach(() => {
    wall = sinon.useFakeTimers({ now: Date.UTC(2026, 11, 6, 8, 0, 0), toFake: ['Date'] });
  });
  afterEach(() => wall.restore());

  it('counts no wall time as elapsed since it was taken', () => {
    const old = new RateLimiter({ clock: new ManualClock(), maxTokens: 10, refillRate: 2 });
    for (let i = 0; i < 10; i++) old.tryAcquire();
    const plain = old.toJSON();
    const snapshot = handOver(plain);
    expect(snapshot).to.deep.equal({ ...plain, takenAt: Number.MAX_VALUE });
    expect(plain.takenAt, 'the snapshot handed over is a copy').to.equal(Date.now());
    wall.tick(5_000);
    const options = { clock: new ManualClock(), maxTokens: 10, refillRate: 2 };
    expect(new RateLimiter({ ...options, initialState: snapshot }).availableTokens).to.equal(0);
    expect(
      new RateLimiter({ ...options, initialState: plain }).availableTokens,
      'the same state, not handed over: refilled for 5 s',
    ).to.equal(10);
  });

  for (const [window, changed] of [
    [{ windowSize: 10 }, { windowSize: 4 }],
    [
      { windowType: 'time', windowDuration: '10s' },
      { windowType: 'time', windowDuration: '20s' },
    ],
    [{ windowSize: 10 }, { windowType: 'time', windowDuration: '10s' }],
  ] as const) {
    it(`gives a breaker whose window changed shape an empty window and the rest of the state (${JSON.stringify(changed)})`, async () => {
      const clock = new ManualClock();
      const old = new CircuitBreaker({ clock, failureThreshold: 1, ...window });
      await old.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
      const options = { clock, failureThreshold: 1, ...changed };
      // What a reload to `options` hands over.
      const snapshot = CIRCUIT_BREAKER.carry!(old, options) as CircuitBreakerSnapshot;
      const next = new CircuitBreaker({ ...options, initialState: snapshot });
      expect(next.state).to.equal('open');
      expect(next.metrics).to.include({ bufferedCalls: 0 });
      expect(next.toJSON().window).to.deep.equal(
        new CircuitBreaker(options).toJSON().window,
        'an empty window of the new shape',
      );
      expect(
        () => new CircuitBreaker({ ...options, initialState: old.toJSON() }),
        'the same state from elsewhere',
      ).to.throw(RangeError, /initialState/);
    });
  }

  it('hands a breaker whose window keeps its shape its window as it was', async () => {
    const clock = new ManualClock();
    const old = new CircuitBreaker({ clock, failureThreshold: 3, windowSize: 5 });
    await old.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    const options = { clock, failureThreshold: 4, windowSize: 5 };
    const snapshot = CIRCUIT_BREAKER.carry!(old, options) as CircuitBreakerSnapshot;
    expect(snapshot.window).to.deep.equal({ type: 'count', size: 5, outcomes: [1] });
    const next = new CircuitBreaker({ ...options, initialState: snapshot });
    expect(next.metrics).to.include({ state: 'closed', bufferedCalls: 1, failedCalls: 1 });
  });

  it('leaves options the new breaker refuses to its constructor', () => {
    const old = new CircuitBreaker({ clock: new ManualClock() });
    const snapshot = CIRCUIT_BREAKER.carry!(old, { windowSize: 0 }) as CircuitBreakerSnapshot;
    expect(snapshot.window).to.deep.equal(old.toJSON().window);
    expect(() => new CircuitBreaker({ windowSize: 0, initialState: snapshot })).to.throw(
      RangeError,
      '`windowSize` must be an integer >= 1, got 0',
    );
  });
});
