// The snapshot rules of docs/CONTRACT.md (R-CB-22, R-RL-9): toJSON() and initialState on the
// built package, with the wall clock faked.
import { expect } from 'chai';
import sinon from 'sinon';
import { CircuitBreaker, isOptionError, RateLimiter } from 'bulwark';
import { ManualClock } from '../support/clock.js';
import { rejectionOf, thrownBy } from './support.js';

const WALL = Date.UTC(2026, 11, 6, 9, 0, 0);

describe('contract: snapshots', () => {
  let wall: sinon.SinonFakeTimers;

  beforeEach(() => {
    wall = sinon.useFakeTimers({ now: WALL, toFake: ['Date'] });
  });
  afterEach(() => wall.restore());

  it('R-CB-22: toJSON() gives a versioned JSON snapshot; initialState restores it, minus the wall time elapsed', async () => {
    const options = { failureThreshold: 1, recoveryTimeout: '30s' } as const;
    const breaker = new CircuitBreaker({ ...options, clock: new ManualClock() });
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    const snapshot = JSON.parse(JSON.stringify(breaker)) as ReturnType<CircuitBreaker['toJSON']>;
    expect(snapshot).to.deep.equal({
      format: 'bulwark.circuit-breaker',
      version: 1,
      takenAt: WALL,
      state: 'open',
      openMs: 30_000,
      openedAgoMs: 0,
      failures: 0,
      window: { type: 'count', size: 10, outcomes: [1] },
    });
    wall.tick(5_000);
    const clock = new ManualClock(42);
    const restored = new CircuitBreaker({ ...options, clock, initialState: snapshot });
    expect(await rejectionOf(restored.execute(() => 'x'))).to.include({
      state: 'open',
      retryAfterMs: 25_000,
    });
    clock.tick(25_000);
    expect(restored.state).to.equal('half-open');
  });

  it('R-CB-22: a snapshot of another format, version or window, or corrupt, is refused naming initialState', () => {
    const good = new CircuitBreaker().toJSON();
    const bad: Array<[unknown, typeof TypeError]> = [
      [{ ...good, format: 'bulwark.rate-limiter' }, TypeError],
      [{ ...good, version: 2 }, RangeError],
      [{ ...good, window: { ...good.window, size: 5 } }, RangeError],
      [{ ...good, openMs: 'soon' }, TypeError],
      [{ ...good, window: null }, TypeError],
      ['{}', TypeError],
    ];
    for (const [initialState, type] of bad) {
      const error = thrownBy(() => new CircuitBreaker({ initialState: initialState as never }));
      expect(error).to.be.instanceOf(type);
      expect(isOptionError(error) && error.option).to.equal('initialState');
      expect(error.message).to.match(/^`initialState` /);
    }
  });

  it('R-RL-9: toJSON() gives the token count; initialState refills it for the wall time elapsed', () => {
    const limiter = new RateLimiter({ maxTokens: 4, refillRate: 1, clock: new ManualClock() });
    limiter.tryAcquire(4);
    const snapshot = limiter.toJSON();
    expect(snapshot).to.deep.equal({
      format: 'bulwark.rate-limiter',
      version: 1,
      takenAt: WALL,
      tokens: 0,
      maxTokens: 4,
      refillRate: 1,
    });
    wall.tick(2_000);
    const restored = new RateLimiter({
      maxTokens: 4,
      refillRate: 1,
      clock: new ManualClock(7),
      initialState: snapshot,
    });
    expect(restored.availableTokens).to.equal(2);
    const error = thrownBy(() => new RateLimiter({ initialState: { ...snapshot, version: 9 } }));
    expect(error).to.be.instanceOf(RangeError);
    expect(isOptionError(error) && error.option).to.equal('initialState');
  });
});
