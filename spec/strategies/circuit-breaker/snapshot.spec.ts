// CircuitBreaker, white-box: toJSON() and initialState. The snapshot's times are relative to its
// wall-clock instant; restoring moves them on by the wall time elapsed since. A snapshot that does
// not fit is refused at construction, whole.
import { expect } from 'chai';
import sinon from 'sinon';
import { isOptionError } from '../../../src/optionErrors.js';
import {
  CircuitBreaker,
  type CircuitBreakerSnapshot,
} from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import {
  InMemoryCircuitBreakerStore,
  type CircuitBreakerStore,
} from '../../../src/strategies/circuit-breaker/store.js';
import { rejectionOf } from '../../support/promises.js';
import { breakerClock, run } from './support.js';

const WALL = Date.UTC(2026, 11, 6, 8, 0, 0);

describe('CircuitBreaker snapshots', () => {
  let wall: sinon.SinonFakeTimers;

  beforeEach(() => {
    // Only the wall clock is faked: the breakers read a manual clock.
    wall = sinon.useFakeTimers({ now: WALL, toFake: ['Date'] });
  });
  afterEach(() => wall.restore());

  it('takes the state, the open time and the wall-clock instant as plain JSON data', async () => {
    const clock = breakerClock();
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: '30s' });
    await run(breaker, 'FF');
    clock.tick(4_000);
    const snapshot = breaker.toJSON();
    expect(snapshot).to.deep.equal({
      format: 'bulwark.circuit-breaker',
      version: 1,
      takenAt: WALL,
      state: 'open',
      openMs: 30_000,
      openedAgoMs: 4_000,
      failures: 0,
      window: { type: 'count', size: 10, outcomes: [1, 1] },
    });
    expect(JSON.parse(JSON.stringify(breaker))).to.deep.equal(snapshot);
  });

  it('restores an open circuit with the wall time elapsed since the snapshot taken off', async () => {
    const clock = breakerClock();
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '30s' });
    await run(breaker, 'F');
    const saved = JSON.stringify(breaker);
    wall.tick(5_000);
    const later = breakerClock();
    const restored = new CircuitBreaker({
      clock: later,
      failureThreshold: 1,
      recoveryTimeout: '30s',
      initialState: JSON.parse(saved) as CircuitBreakerSnapshot,
    });
    expect(restored.state).to.equal('open');
    const refusal = await rejectionOf(restored.execute(() => 'x'));
    expect(refusal).to.include({ state: 'open', retryAfterMs: 25_000 });
    later.tick(24_999);
    expect(restored.state).to.equal('open');
    later.tick(1);
    expect(restored.state).to.equal('half-open');
  });

  it('counts a wall clock that went back as no time elapsed', async () => {
    const clock = breakerClock();
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '30s' });
    await run(breaker, 'F');
    const snapshot = { ...breaker.toJSON(), takenAt: WALL + 60_000 };
    const restored = new CircuitBreaker({
      clock: breakerClock(),
      failureThreshold: 1,
      recoveryTimeout: '30s',
      initialState: snapshot,
    });
    expect(await rejectionOf(restored.execute(() => 'x'))).to.include({ retryAfterMs: 30_000 });
  });

  it('restores HALF_OPEN with every trial slot free, and a probe success closes it', async () => {
    const clock = breakerClock();
    const options = { failureThreshold: 1, recoveryTimeout: 1_000 } as const;
    const breaker = new CircuitBreaker({ clock, ...options });
    await run(breaker, 'F');
    clock.tick(1_000);
    expect(breaker.state).to.equal('half-open');
    const restored = new CircuitBreaker({
      clock: breakerClock(),
      ...options,
      initialState: breaker.toJSON(),
    });
    expect(restored.state).to.equal('half-open');
    expect(await restored.execute(() => 'probe')).to.equal('probe');
    expect(restored.state).to.equal('closed');
  });

  it("re-opens a restored HALF_OPEN circuit for at least the restoring breaker's recoveryTimeout", async () => {
    const clock = breakerClock();
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 1_000 });
    await run(breaker, 'F');
    clock.tick(1_000);
    const restored = new CircuitBreaker({
      clock: breakerClock(),
      failureThreshold: 1,
      recoveryTimeout: 5_000,
      initialState: breaker.toJSON(),
    });
    expect(restored.state).to.equal('half-open');
    await run(restored, 'F');
    expect(await rejectionOf(restored.execute(() => 'x'))).to.include({ retryAfterMs: 5_000 });
  });

  it('keeps the grown open time of a circuit that re-opened', async () => {
    const clock = breakerClock();
    const options = {
      failureThreshold: 1,
      recoveryTimeout: 1_000,
      recoveryBackoff: 2,
      maxRecoveryTimeout: 10_000,
    } as const;
    const breaker = new CircuitBreaker({ clock, ...options });
    await run(breaker, 'F');
    clock.tick(1_000);
    await run(breaker, 'F');
    const snapshot = breaker.toJSON();
    expect(snapshot).to.include({ state: 'open', openMs: 2_000, openedAgoMs: 0 });
    const restored = new CircuitBreaker({
      clock: breakerClock(),
      ...options,
      initialState: snapshot,
    });
    expect(restored.metrics.openDurationMs).to.equal(2_000);
    // An open time above the restoring breaker's cap is cut to it.
    const capped = new CircuitBreaker({
      clock: breakerClock(),
      failureThreshold: 1,
      recoveryTimeout: 1_000,
      initialState: snapshot,
    });
    expect(await rejectionOf(capped.execute(() => 'x'))).to.include({ retryAfterMs: 1_000 });
  });

  it('keeps the consecutive failures and the count window of a closed circuit', async () => {
    const clock = breakerClock();
    const breaker = new CircuitBreaker({ clock, failureThreshold: 3 });
    await run(breaker, 'SFF');
    const restored = new CircuitBreaker({
      clock: breakerClock(),
      failureThreshold: 3,
      initialState: breaker.toJSON(),
    });
    expect(restored.metrics).to.include({ state: 'closed', bufferedCalls: 3, failedCalls: 2 });
    await run(restored, 'F');
    expect(restored.state, 'a third consecutive failure trips it').to.equal('open');
  });

  it('keeps an isolated circuit isolated', () => {
    const breaker = new CircuitBreaker({ clock: breakerClock() });
    breaker.isolate();
    const restored = new CircuitBreaker({ clock: breakerClock(), initialState: breaker.toJSON() });
    expect(restored.state).to.equal('isolated');
  });

  it('moves a time window on by the wall time elapsed: old outcomes leave it', async () => {
    const clock = breakerClock();
    const options = {
      windowType: 'time',
      windowDuration: '10s',
      failureRateThreshold: 0.5,
      minimumCalls: 100,
    } as const;
    const breaker = new CircuitBreaker({ clock, ...options });
    await run(breaker, 'FFF');
    clock.tick(6_000);
    await run(breaker, 'SS');
    const snapshot = breaker.toJSON();
    expect(snapshot.window).to.deep.equal({
      type: 'time',
      durationMs: 10_000,
      buckets: [
        [6_000, 3, 3, 0],
        [0, 2, 0, 0],
      ],
    });
    const now = new CircuitBreaker({ clock: breakerClock(), ...options, initialState: snapshot });
    expect(now.metrics).to.include({ bufferedCalls: 5, failedCalls: 3 });
    wall.tick(5_000);
    const later = new CircuitBreaker({ clock: breakerClock(), ...options, initialState: snapshot });
    expect(later.metrics).to.include({ bufferedCalls: 2, failedCalls: 0 });
  });

  describe('a snapshot that does not fit is refused at construction, naming initialState', () => {
    let good: CircuitBreakerSnapshot;

    beforeEach(async () => {
      const breaker = new CircuitBreaker({ clock: breakerClock(), failureThreshold: 1 });
      await run(breaker, 'F');
      good = breaker.toJSON();
    });

    const cases: Array<
      [string, (s: CircuitBreakerSnapshot) => unknown, 'TypeError' | 'RangeError', RegExp]
    > = [
      ['a string', (s) => JSON.stringify(s), 'TypeError', /must be a CircuitBreaker snapshot/],
      ['null', () => null, 'TypeError', /must be a CircuitBreaker snapshot/],
      [
        'a rate limiter snapshot',
        (s) => ({ ...s, format: 'bulwark.rate-limiter' }),
        'TypeError',
        /its format is "bulwark.rate-limiter"/,
      ],
      [
        'another version',
        (s) => ({ ...s, version: 2 }),
        'RangeError',
        /version 2; this bulwark reads version 1/,
      ],
      ['no takenAt', (s) => ({ ...s, takenAt: undefined }), 'TypeError', /takenAt/],
      ['an unknown state', (s) => ({ ...s, state: 'ajar' }), 'TypeError', /`state` must be one of/],
      [
        'a negative open time',
        (s) => ({ ...s, openMs: -1 }),
        'TypeError',
        /`openMs` must be a finite number >= 0/,
      ],
      [
        'a fractional failure count',
        (s) => ({ ...s, failures: 1.5 }),
        'TypeError',
        /`failures` must be an integer >= 0/,
      ],
      [
        'no window',
        (s) => ({ ...s, window: undefined }),
        'TypeError',
        /`window` must be an object/,
      ],
      [
        'an outcome that is no outcome',
        (s) => ({ ...s, window: { ...s.window, outcomes: [1, 7] } }),
        'TypeError',
        /`outcomes`/,
      ],
      [
        'a count window of another size',
        (s) => ({ ...s, window: { ...s.window, size: 20 } }),
        'RangeError',
        /holds a count window of 20 outcomes, but this breaker has a count window of 10 outcomes/,
      ],
      [
        'a time window',
        () => ({ ...good, window: { type: 'time', durationMs: 60_000, buckets: [] } }),
        'RangeError',
        /holds a time window of 60000 ms, but this breaker has a count window/,
      ],
    ];
    for (const [what, make, name, message] of cases) {
      it(`refuses ${what} with a ${name}`, () => {
        let error: unknown;
        try {
          new CircuitBreaker({
            failureThreshold: 1,
            initialState: make(good) as CircuitBreakerSnapshot,
          });
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(name === 'TypeError' ? TypeError : RangeError);
        expect(isOptionError(error) && error.option).to.equal('initialState');
        expect((error as Error).message)
          .to.match(/^`initialState` /)
          .and.match(message);
      });
    }

    it('refuses a corrupt time window bucket', () => {
      const bad = {
        ...good,
        window: { type: 'time', durationMs: 60_000, buckets: [[0, 1, 2, 0]] },
      };
      expect(
        () =>
          new CircuitBreaker({
            windowType: 'time',
            initialState: bad as unknown as CircuitBreakerSnapshot,
          }),
      ).to.throw(TypeError, /`buckets` must be/);
    });

    it('applies nothing of a refused snapshot: the store it was given stays unconfigured', () => {
      const store = new InMemoryCircuitBreakerStore();
      expect(
        () => new CircuitBreaker({ store, initialState: { ...good, state: 'ajar' } as never }),
      ).to.throw(TypeError);
      // The store was never configured, so another breaker may still use it, from CLOSED.
      expect(new CircuitBreaker({ store }).state).to.equal('closed');
    });

    it('refuses initialState with a store of its own, and toJSON on such a breaker', () => {
      const store: CircuitBreakerStore = {
        configure: () => undefined,
        acquire: () =>
          Promise.resolve({ admitted: true, state: 'closed', probe: false, retryAfterMs: 0 }),
        record: () => Promise.resolve('closed' as const),
        release: () => undefined,
        state: () => Promise.resolve('closed' as const),
        snapshot: () => Promise.reject(new Error('unused')),
        isolate: () => undefined,
        reset: () => undefined,
      };
      expect(() => new CircuitBreaker({ store, initialState: good }))
        .to.throw(
          TypeError,
          '`initialState` needs the in-memory store: a shared store keeps its state itself, got an object',
        )
        .with.property('option', 'initialState');
      expect(() => new CircuitBreaker({ store }).toJSON()).to.throw(
        TypeError,
        'CircuitBreaker.toJSON() needs the in-memory store: a shared store keeps its state itself',
      );
    });
  });
});
