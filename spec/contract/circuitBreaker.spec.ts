// The circuit breaker rules of docs/CONTRACT.md (R-CB-*), checked against the built package.
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import {
  CircuitBreaker,
  CircuitOpenError,
  CircuitState,
  InMemoryCircuitBreakerStore,
  Policy,
  PolicyRegistry,
  circuitBreaker,
  isCircuitOpenError,
  type CircuitAdmission,
  type CircuitBreakerStore,
} from 'bulwark';
import { flush, rejectionOf, settle, thrownBy } from './support.js';

class Boom extends Error {}
class Ignored extends Error {}

const fail = (): Promise<never> => Promise.reject(new Boom());

/** Records outcomes by hand: `F` a failure, `S` a success. */
function record(breaker: CircuitBreaker, outcomes: string): void {
  for (const o of outcomes) {
    breaker.beforeCall();
    if (o === 'F') breaker.onFailure(new Boom());
    else breaker.onSuccess();
  }
}

describe('contract: CircuitBreaker', () => {
  it('R-CB-1: `failureThreshold` defaults to 5 consecutive failures that trip it', async () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock(1_000) });
    for (let i = 0; i < 4; i++) await rejectionOf(breaker.execute(fail));
    expect(breaker.state).to.equal('closed');
    await rejectionOf(breaker.execute(fail));
    expect(breaker.state).to.equal('open');
  });

  it('R-CB-1: a success resets the count', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, clock: new ManualClock(1_000) });
    record(breaker, 'FFSFF');
    expect(breaker.state).to.equal('closed');
    record(breaker, 'F');
    expect(breaker.state).to.equal('open');
  });

  it('R-CB-2: `recoveryTimeout` defaults to 30s: time OPEN before HALF_OPEN', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock });
    record(breaker, 'F');
    await clock.advance(29_999);
    expect(breaker.state).to.equal('open');
    await clock.advance(1);
    expect(breaker.state).to.equal('half-open');
  });

  it('R-CB-2: at elapsed time `>= recoveryTimeout` the state reads HALF_OPEN (the `state` getter performs the lazy OPEN -> HALF_OPEN move)', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '10s', clock });
    const changes: unknown[] = [];
    breaker.onStateChange((change) => changes.push(change));
    record(breaker, 'F');
    await clock.advance(9_999);
    expect(breaker.state).to.equal(CircuitState.Open);
    await clock.advance(1);
    expect(changes).to.deep.equal([{ from: 'closed', to: 'open' }]);
    expect(breaker.state).to.equal(CircuitState.HalfOpen);
    expect(changes).to.deep.equal([
      { from: 'closed', to: 'open' },
      { from: 'open', to: 'half-open' },
    ]);
    expect(clock.pending()).to.equal(0);
  });

  it('R-CB-2: reset() and isolate() once `recoveryTimeout` has passed start from HALF_OPEN, whether or not the state was read', async () => {
    for (const change of ['reset', 'isolate'] as const) {
      for (const read of [false, true]) {
        const clock = new ManualClock(1_000);
        const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock });
        const changes: string[] = [];
        breaker.onStateChange(({ from, to }) => changes.push(`${from}>${to}`));
        record(breaker, 'F');
        await clock.advance(150);
        if (read) expect(breaker.state).to.equal(CircuitState.HalfOpen);
        breaker[change]();
        expect(changes, `${change}, read: ${read}`).to.deep.equal([
          'closed>open',
          'open>half-open',
          `half-open>${change === 'reset' ? 'closed' : 'isolated'}`,
        ]);
      }
    }
  });

  it('R-CB-3: `recordOn`: errors that count as failures; others pass through and count as neither', async () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 2,
      recordOn: [Boom],
      clock: new ManualClock(1_000),
    });
    await rejectionOf(breaker.execute(fail));
    const ignored = new Ignored();
    expect(await rejectionOf(breaker.execute(() => Promise.reject(ignored)))).to.equal(ignored);
    expect(breaker.metrics.bufferedCalls).to.equal(1);
    expect(breaker.state).to.equal('closed');
    // Not a success either: the run of consecutive failures goes on.
    await rejectionOf(breaker.execute(fail));
    expect(breaker.state).to.equal('open');
  });

  it('R-CB-4: `failureRateThreshold`: trip on failure rate over the window instead (windowSize defaults to 10)', () => {
    const breaker = new CircuitBreaker({
      failureRateThreshold: 0.5,
      clock: new ManualClock(1_000),
    });
    record(breaker, 'SSSSSFFFF');
    expect(breaker.state).to.equal('closed');
    record(breaker, 'F');
    expect(breaker.state).to.equal('open');
  });

  it('R-CB-5: Rate-based tripping (COUNT window): (1) a partial window is never judged', () => {
    const breaker = new CircuitBreaker({
      failureRateThreshold: 0.5,
      windowSize: 4,
      failureThreshold: 1,
      clock: new ManualClock(1_000),
    });
    record(breaker, 'FFF');
    expect(breaker.state).to.equal('closed');
  });

  it('R-CB-6: (2) the threshold is checked when a failure is recorded, so the call that fills the window and crosses the threshold must itself be a failure', () => {
    const breaker = new CircuitBreaker({
      failureRateThreshold: 0.5,
      windowSize: 4,
      clock: new ManualClock(1_000),
    });
    record(breaker, 'FFFS');
    expect(breaker.metrics.failureRate).to.equal(0.75);
    expect(breaker.state).to.equal('closed');
    record(breaker, 'F');
    expect(breaker.state).to.equal('open');
    const other = new CircuitBreaker({
      failureRateThreshold: 0.5,
      windowSize: 4,
      clock: new ManualClock(1_000),
    });
    record(other, 'SFSF');
    expect(other.state).to.equal('open');
  });

  it('R-CB-5: `minimumCalls` defaults to `windowSize` for a COUNT window; an explicit smaller `minimumCalls` lets a rate be judged once that many outcomes are recorded', () => {
    const byDefault = new CircuitBreaker({
      failureRateThreshold: 1,
      windowSize: 10,
      clock: new ManualClock(1_000),
    });
    record(byDefault, 'FFFFFFFFF');
    expect(byDefault.state).to.equal('closed');
    record(byDefault, 'F');
    expect(byDefault.state).to.equal('open');
    const early = new CircuitBreaker({
      failureRateThreshold: 0.5,
      windowSize: 10,
      minimumCalls: 4,
      clock: new ManualClock(1_000),
    });
    record(early, 'SFF');
    expect(early.state).to.equal('closed');
    record(early, 'F');
    expect(early.state).to.equal('open');
  });

  it("R-CB-4, R-CB-5: `windowType: 'time'`: the window is the last `windowDuration` (60s by default; `minimumCalls` 10 by default)", async () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({ windowType: 'time', failureRateThreshold: 0.5, clock });
    record(breaker, 'FFFFFFFFF');
    expect(breaker.state).to.equal('closed');
    expect(breaker.metrics.bufferedCalls).to.equal(9);
    await clock.advance(60_000);
    expect(breaker.metrics.bufferedCalls).to.equal(9);
    await clock.advance(1_000);
    expect(breaker.metrics.bufferedCalls).to.equal(0);
    record(breaker, 'FFFFFFFFF');
    expect(breaker.state).to.equal('closed');
    record(breaker, 'F');
    expect(breaker.state).to.equal('open');
  });

  it('R-CB-4: `windowDuration` sets the length of a TIME window', async () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({ windowType: 'time', windowDuration: '10s', clock });
    record(breaker, 'SF');
    await clock.advance(10_000);
    expect(breaker.metrics.bufferedCalls).to.equal(2);
    await clock.advance(1_000);
    expect(breaker.metrics.bufferedCalls).to.equal(0);
  });

  it('R-CB-4: a TIME window counts in buckets aligned on the clock: an outcome recorded at `t` counts until `(floor(t / width) + 1) * width + windowDuration`, never less than `windowDuration`, at most one bucket more', async () => {
    // [windowDuration in ms, the bucket width it gets, when the outcome is recorded]
    const cases: Array<[number, number, number]> = [
      [10_000, 1_000, 999], // 10 buckets of 1 s; 1 ms before a bucket ends: leaves 10 001 ms later
      [10_000, 1_000, 1_000], // at a bucket's start: counts 11 s
      [10_000, 1_000, 1_500],
      [1_000, 100, 150], // never fewer than 10 buckets
      [60_000, 1_000, 59_999],
      [90_000, 1_500, 3_001], // more than 60 s: 60 buckets
      [300_000, 5_000, 4_999],
      [3_600_000, 60_000, 59_000], // 1 h: buckets of a minute
    ];
    for (const [windowMs, width, t] of cases) {
      const clock = new ManualClock(t);
      const breaker = new CircuitBreaker({
        windowType: 'time',
        windowDuration: windowMs,
        failureRateThreshold: 1,
        clock,
      });
      record(breaker, 'F');
      const leaves = (Math.floor(t / width) + 1) * width + windowMs;
      const what = `${windowMs} ms window, recorded at ${t}`;
      expect(leaves - t, what)
        .to.be.above(windowMs)
        .and.at.most(windowMs + width);
      if (t % width === 0) expect(leaves - t, what).to.equal(windowMs + width);
      await clock.advance(windowMs);
      expect(breaker.metrics.bufferedCalls, `${what}: windowDuration later`).to.equal(1);
      await clock.advance(leaves - 1 - t - windowMs);
      expect(breaker.metrics.bufferedCalls, `${what}: at ${leaves - 1}`).to.equal(1);
      await clock.advance(1);
      expect(breaker.metrics.bufferedCalls, `${what}: at ${leaves}`).to.equal(0);
    }
    // Failures at 900 ms and 10 000 ms are all of the last 10 s: they share the window and trip it.
    const clock = new ManualClock(900);
    const breaker = new CircuitBreaker({
      windowType: 'time',
      windowDuration: '10s',
      failureRateThreshold: 0.5,
      minimumCalls: 10,
      clock,
    });
    record(breaker, 'FFFFF');
    await clock.advance(10_000 - 900);
    record(breaker, 'FFFF');
    expect(breaker.metrics.bufferedCalls).to.equal(9);
    expect(breaker.state).to.equal('closed');
    record(breaker, 'F');
    expect(breaker.state).to.equal('open');
    expect(breaker.metrics.bufferedCalls).to.equal(10);
    // Failures at 999 ms and 11 000 ms never share a 10 s window.
    const later = new ManualClock(999);
    const other = new CircuitBreaker({
      windowType: 'time',
      windowDuration: '10s',
      failureRateThreshold: 1,
      minimumCalls: 2,
      clock: later,
    });
    record(other, 'F');
    await later.advance(11_000 - 999);
    record(other, 'F');
    expect(other.metrics.bufferedCalls).to.equal(1);
    expect(other.state).to.equal('closed');
  });

  it('R-CB-7: `slowCallDuration`: a call at least this long counts as slow; `slowCallRateThreshold`: trip when the slow-call rate over the window reaches it', () => {
    const breaker = new CircuitBreaker({
      slowCallDuration: 100,
      slowCallRateThreshold: 0.5,
      windowSize: 4,
      clock: new ManualClock(1_000),
    });
    for (const ms of [100, 150, 150]) {
      breaker.beforeCall();
      breaker.onSuccess(ms);
    }
    expect(breaker.metrics.slowCalls).to.equal(3);
    expect(breaker.state).to.equal('closed');
    // The slow-call rate is checked when a slow call is recorded: a fast call fills the window
    // at 75% slow without tripping it.
    breaker.beforeCall();
    breaker.onSuccess(99);
    expect(breaker.metrics.slowCallRate).to.equal(0.75);
    expect(breaker.state).to.equal('closed');
    breaker.beforeCall();
    breaker.onSuccess(100);
    expect(breaker.state).to.equal('open');
  });

  it('R-CB-7: slow calls are measured on the clock around `execute`', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({
      slowCallDuration: '1s',
      slowCallRateThreshold: 1,
      windowSize: 1,
      clock,
    });
    const call = settle(
      breaker.execute(() => new Promise((r) => clock.setTimeout(() => r(undefined), 1_000))),
    );
    await clock.advance(1_000);
    expect(call.status).to.equal('fulfilled');
    expect(breaker.state).to.equal('open');
  });

  it('R-CB-7: A slow call that fails counts as a failure and as slow', () => {
    const breaker = new CircuitBreaker({ slowCallDuration: 100, clock: new ManualClock(1_000) });
    breaker.beforeCall();
    breaker.onFailure(new Boom(), 250);
    expect(breaker.metrics).to.include({ bufferedCalls: 1, failedCalls: 1, slowCalls: 1 });
  });

  it('R-CB-8, R-CB-12: `halfOpenMaxCalls` defaults to 1: trial calls admitted in HALF_OPEN; further calls are rejected at once with `CircuitOpenError`', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock });
    record(breaker, 'F');
    await clock.advance(100);
    let release!: () => void;
    const probe = settle(breaker.execute(() => new Promise<void>((r) => (release = r))));
    const refused = await rejectionOf(breaker.execute(() => 'second'));
    expect(refused).to.be.instanceOf(CircuitOpenError);
    expect(refused).to.include({ state: 'half-open', retryAfterMs: 0 });
    release();
    await flush();
    expect(probe.status).to.equal('fulfilled');
    expect(breaker.state).to.equal('closed');
  });

  it('R-CB-8: `halfOpenMaxCalls` values < 1 are coerced to 1', async () => {
    for (const halfOpenMaxCalls of [0, -3, 0.5, -2.5]) {
      const clock = new ManualClock(1_000);
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        recoveryTimeout: 100,
        halfOpenMaxCalls,
        clock,
      });
      record(breaker, 'F');
      await clock.advance(100);
      breaker.beforeCall();
      expect(() => breaker.beforeCall()).to.throw(CircuitOpenError);
      breaker.onSuccess();
      expect(breaker.state).to.equal('closed');
    }
  });

  it('R-CB-8: In HALF_OPEN, up to `halfOpenMaxCalls` probes are admitted; when all probes succeed the circuit closes; any failure re-opens it', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeout: 100,
      halfOpenMaxCalls: 3,
      clock,
    });
    record(breaker, 'F');
    await clock.advance(100);
    for (let i = 0; i < 3; i++) breaker.beforeCall();
    const error = thrownBy(() => breaker.beforeCall()) as CircuitOpenError;
    expect(isCircuitOpenError(error)).to.equal(true);
    expect([error.state, error.retryAfterMs]).to.deep.equal(['half-open', 0]);
    breaker.onSuccess();
    breaker.onSuccess();
    expect(breaker.state).to.equal('half-open');
    breaker.onSuccess();
    expect(breaker.state).to.equal('closed');

    record(breaker, 'F');
    await clock.advance(100);
    breaker.beforeCall();
    breaker.beforeCall();
    breaker.onSuccess();
    breaker.onFailure(new Boom());
    expect(breaker.state).to.equal('open');
  });

  it('R-CB-13: `beforeCall()` throws `CircuitOpenError` or admits the call; `onSuccess(durationMs?)` and `onFailure(error, durationMs?)` record it', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock: new ManualClock(1_000) });
    expect(() => breaker.beforeCall()).to.not.throw();
    breaker.onFailure(new Boom());
    breaker.beforeCall();
    breaker.onSuccess(5);
    breaker.beforeCall();
    breaker.onFailure(new Boom(), 5);
    expect(breaker.metrics).to.include({ bufferedCalls: 3, failedCalls: 2 });
    breaker.beforeCall();
    breaker.onFailure(new Boom());
    expect(() => breaker.beforeCall()).to.throw(CircuitOpenError, 'Circuit breaker is open');
  });

  it('R-CB-14, R-CB-12: `isolate()` (force OPEN until `reset()`); `retryAfterMs` is `Infinity` when isolated', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ recoveryTimeout: 10, clock });
    breaker.isolate();
    expect(breaker.state).to.equal(CircuitState.Isolated);
    await clock.advance(60_000);
    expect(breaker.state).to.equal('isolated');
    const error = (await rejectionOf(breaker.execute(() => 1))) as CircuitOpenError;
    expect(error).to.be.instanceOf(CircuitOpenError);
    expect([error.state, error.retryAfterMs]).to.deep.equal(['isolated', Infinity]);
    breaker.reset();
    expect(await breaker.execute(() => 1)).to.equal(1);
  });

  it('R-CB-14: `reset()` (to CLOSED, counters cleared)', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, clock: new ManualClock(1_000) });
    record(breaker, 'SFFF');
    expect(breaker.state).to.equal('open');
    breaker.reset();
    expect(breaker.state).to.equal(CircuitState.Closed);
    expect(breaker.metrics).to.deep.equal({
      state: 'closed',
      failureRate: 0,
      slowCallRate: 0,
      bufferedCalls: 0,
      failedCalls: 0,
      slowCalls: 0,
    });
    record(breaker, 'FF');
    expect(breaker.state).to.equal('closed');
  });

  it('R-CB-15: `metrics` (`{ state, failureRate, slowCallRate, bufferedCalls, failedCalls, slowCalls }`)', () => {
    const breaker = new CircuitBreaker({ slowCallDuration: 50, clock: new ManualClock(1_000) });
    expect(breaker.metrics).to.deep.equal({
      state: 'closed',
      failureRate: 0,
      slowCallRate: 0,
      bufferedCalls: 0,
      failedCalls: 0,
      slowCalls: 0,
    });
    breaker.beforeCall();
    breaker.onSuccess(60);
    breaker.beforeCall();
    breaker.onFailure(new Boom(), 10);
    breaker.beforeCall();
    breaker.onSuccess(10);
    breaker.beforeCall();
    breaker.onSuccess(10);
    expect(breaker.metrics).to.deep.equal({
      state: 'closed',
      failureRate: 0.25,
      slowCallRate: 0.25,
      bufferedCalls: 4,
      failedCalls: 1,
      slowCalls: 1,
    });
  });

  it('R-CB-15: `metrics.failureRate` is over the current window (the last `windowSize` outcomes); in consecutive mode the breaker still keeps that window for metrics', () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 100,
      windowSize: 4,
      clock: new ManualClock(1_000),
    });
    record(breaker, 'FFFFSS');
    expect(breaker.metrics).to.include({ bufferedCalls: 4, failedCalls: 2, failureRate: 0.5 });
    const byDefault = new CircuitBreaker({ failureThreshold: 100, clock: new ManualClock(1_000) });
    record(byDefault, 'FFSSSSSSSSSS');
    expect(byDefault.metrics).to.include({ bufferedCalls: 10, failedCalls: 0, failureRate: 0 });
  });

  it('R-CB-15: with a TIME window, `metrics.failureRate` and `slowCallRate` are over the last `windowDuration`', async () => {
    const clock = new ManualClock(900);
    const breaker = new CircuitBreaker({
      failureThreshold: 100,
      windowType: 'time',
      windowDuration: '10s',
      slowCallDuration: '1s',
      clock,
    });
    breaker.beforeCall();
    breaker.onFailure(new Boom(), 1_500); // slow and failed, at 900 ms
    record(breaker, 'S');
    await clock.advance(10_000 - 900);
    record(breaker, 'SS'); // at 10 s, all four of the last 10 s
    expect(breaker.metrics).to.include({
      bufferedCalls: 4,
      failedCalls: 1,
      slowCalls: 1,
      failureRate: 0.25,
      slowCallRate: 0.25,
    });
    await clock.advance(900); // 10 s after the first two: still in
    expect(breaker.metrics).to.include({ failureRate: 0.25, slowCallRate: 0.25 });
  });

  it('R-CB-12: `CircuitOpenError.retryAfterMs` is the time left OPEN', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '20s', clock });
    record(breaker, 'F');
    expect(thrownBy(() => breaker.beforeCall())).to.include({
      state: 'open',
      retryAfterMs: 20_000,
    });
    await clock.advance(15_500);
    expect(thrownBy(() => breaker.beforeCall())).to.include({ retryAfterMs: 4_500 });
  });

  it("R-CB-12: `CircuitOpenError.state` is the breaker's state when it rejected (`'open'`, `'half-open'` or `'isolated'`)", async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 10, clock });
    record(breaker, 'F');
    expect(thrownBy(() => breaker.beforeCall())).to.include({ state: 'open' });
    await clock.advance(10);
    breaker.beforeCall();
    expect(thrownBy(() => breaker.beforeCall())).to.include({ state: 'half-open' });
    breaker.isolate();
    expect(thrownBy(() => breaker.beforeCall())).to.include({ state: 'isolated' });
  });

  it('R-CB-16: `onStateChange(listener)` calls `listener({ from, to })` and returns an unsubscribe function', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock: new ManualClock(1_000) });
    const changes: unknown[] = [];
    const unsubscribe = breaker.onStateChange((change) => changes.push(change));
    expect(unsubscribe).to.be.a('function');
    record(breaker, 'F');
    breaker.isolate();
    breaker.reset();
    expect(changes).to.deep.equal([
      { from: 'closed', to: 'open' },
      { from: 'open', to: 'isolated' },
      { from: 'isolated', to: 'closed' },
    ]);
    unsubscribe();
    record(breaker, 'F');
    expect(changes).to.have.length(3);
  });

  it('R-CB-16, R-CB-14: `isolate()` from a listener of the move to HALF_OPEN refuses the call that brought the move', async () => {
    // One store that answers at once, one that answers with promises.
    const inner = new InMemoryCircuitBreakerStore();
    const later: CircuitBreakerStore = {
      configure: (c) => inner.configure(c),
      acquire: (): Promise<CircuitAdmission> => Promise.resolve().then(() => inner.acquire()),
      record: (o) => Promise.resolve().then(() => inner.record(o)),
      release: () => Promise.resolve().then(() => inner.release()),
      state: () => Promise.resolve(inner.state()),
      snapshot: () => Promise.resolve(inner.snapshot()),
      isolate: () => Promise.resolve(inner.isolate()),
      reset: () => Promise.resolve(inner.reset()),
    };
    const ways: Array<
      [string, (b: CircuitBreaker, fn: () => string) => Promise<unknown>, boolean]
    > = [
      ['execute', (b, fn) => b.execute(fn), false],
      ['a policy', (b, fn) => Policy.builder('p').circuitBreaker(b).build().execute(fn), false],
      ['execute, store answering later', (b, fn) => b.execute(fn), true],
      [
        'beforeCall',
        (b, fn) => {
          try {
            const ticket = b.beforeCall();
            const value = fn();
            b.onSuccess(0, ticket);
            return Promise.resolve(value);
          } catch (error) {
            return Promise.reject(error as Error);
          }
        },
        false,
      ],
    ];
    for (const [way, call, async] of ways) {
      const clock = new ManualClock(1_000);
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        recoveryTimeout: 10,
        clock,
        ...(async ? { store: later } : {}),
      });
      const changes: unknown[] = [];
      breaker.onStateChange((change) => {
        changes.push(change);
        if (change.to === 'half-open') breaker.isolate();
      });
      await rejectionOf(breaker.execute(fail));
      await clock.advance(10);
      let ran = false;
      const error = await rejectionOf(
        call(breaker, () => {
          ran = true;
          return 'probe';
        }),
      );
      expect(error, way).to.be.instanceOf(CircuitOpenError);
      expect(error, way).to.include({ state: 'isolated', retryAfterMs: Infinity });
      expect(ran, way).to.equal(false);
      expect(breaker.state, way).to.equal('isolated');
      expect(changes, way).to.deep.equal([
        { from: 'closed', to: 'open' },
        { from: 'open', to: 'half-open' },
        { from: 'half-open', to: 'isolated' },
      ]);
      // Isolation ends with reset(), and the circuit then admits calls again.
      breaker.reset();
      expect(await call(breaker, () => 'after reset'), way).to.equal('after reset');
      inner.reset();
    }
  });

  it("R-CB-17: `CircuitState` is exported as a value: Closed === 'closed', Open === 'open', HalfOpen === 'half-open', Isolated === 'isolated'", () => {
    expect(CircuitState.Closed).to.equal('closed');
    expect(CircuitState.Open).to.equal('open');
    expect(CircuitState.HalfOpen).to.equal('half-open');
    expect(CircuitState.Isolated).to.equal('isolated');
    expect(Object.keys(CircuitState).sort()).to.deep.equal([
      'Closed',
      'HalfOpen',
      'Isolated',
      'Open',
    ]);
  });

  it('R-CB-11: A call the caller aborted records nothing in the breaker', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock: new ManualClock(1_000) });
    const controller = new AbortController();
    let reject!: (e: unknown) => void;
    const call = settle(
      breaker.execute(() => new Promise((_, r) => (reject = r)), controller.signal),
    );
    controller.abort();
    await flush();
    expect(call.status).to.equal('rejected');
    reject(new Boom());
    await flush();
    expect(breaker.metrics.bufferedCalls).to.equal(0);
    expect(breaker.state).to.equal('closed');
  });

  it('R-CB-13: a `durationMs` given to `onSuccess` or `onFailure` must be a finite number >= 0', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const refused: Array<[unknown, typeof TypeError | typeof RangeError, string]> = [
      ['x', TypeError, '"x"'],
      [-5, RangeError, '-5'],
      [NaN, RangeError, 'NaN'],
    ];
    for (const [value, type, shown] of refused) {
      const message = `\`durationMs\` must be a finite number >= 0, got ${shown}`;
      expect(() => breaker.onSuccess(value as number)).to.throw(type, message);
      expect(() => breaker.onFailure(new Error('x'), value as number)).to.throw(type, message);
    }
    expect(breaker.state).to.equal(CircuitState.Closed);
    expect(breaker.metrics.bufferedCalls).to.equal(0);
    breaker.onSuccess();
    breaker.onFailure(new Error('trips'), 5);
    expect(breaker.state).to.equal(CircuitState.Open);
  });

  it('R-CB-13: `execute(fn, signal?)` admits the call and records how it went', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock: new ManualClock(1_000) });
    expect(await breaker.execute(() => 'ok')).to.equal('ok');
    await rejectionOf(breaker.execute(fail));
    await rejectionOf(breaker.execute(fail));
    let called = false;
    const error = await rejectionOf(
      breaker.execute(() => {
        called = true;
      }),
    );
    expect(error).to.be.instanceOf(CircuitOpenError);
    expect(called).to.equal(false);
  });

  it('R-CB-18: `recordOnResult` counts a result as a failure while the caller still receives it, through `execute`, a policy and the decorator', async () => {
    const bad = { status: 503 };
    const judge = (r: { status: number }): boolean => r.status >= 500;
    const make = (): CircuitBreaker =>
      new CircuitBreaker({
        failureThreshold: 1,
        recoveryTimeout: 100,
        recordOnResult: judge,
        clock: new ManualClock(1_000),
      });
    const standalone = make();
    expect(await standalone.execute(() => bad)).to.equal(bad);
    expect(standalone.state).to.equal('open');
    const staged = make();
    const policy = Policy.builder('http').circuitBreaker(staged).build();
    expect(await policy.execute(() => bad)).to.equal(bad);
    expect(staged.state).to.equal('open');
    const decorated = make();
    expect(await circuitBreaker(decorated)(async () => bad)()).to.equal(bad);
    expect(decorated.state).to.equal('open');
    expect(await rejectionOf(decorated.execute(() => bad))).to.be.instanceOf(CircuitOpenError);
  });

  it('R-CB-18: a result `recordOnResult` counts fails a HALF_OPEN probe', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeout: 100,
      recordOnResult: (r: string) => r === 'bad',
      clock,
    });
    await rejectionOf(breaker.execute(fail));
    await clock.advance(100);
    expect(breaker.state).to.equal('half-open');
    expect(await breaker.execute(() => 'bad')).to.equal('bad');
    expect(breaker.state).to.equal('open');
  });

  it('R-CB-19: a throwing `recordOnResult` rejects the call with what it threw, counted as a failure', async () => {
    const bug = new Error('bug');
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recordOn: [Ignored],
      recordOnResult: () => {
        throw bug;
      },
      clock: new ManualClock(1_000),
    });
    expect(await rejectionOf(breaker.execute(() => 'ok'))).to.equal(bug);
    expect(breaker.state).to.equal('open');
  });

  it('R-CB-19: a throwing `recordOn` counts the error as a failure and rejects with what it threw; `onFailure` records, then throws it', async () => {
    const bug = new Error('bug');
    const recordOn = (): boolean => {
      throw bug;
    };
    const breaker = new CircuitBreaker({ failureThreshold: 1, recordOn });
    expect(await rejectionOf(breaker.execute(fail))).to.equal(bug);
    expect(breaker.state).to.equal('open');
    const manual = new CircuitBreaker({ failureThreshold: 1, recordOn });
    expect(() => manual.onFailure(new Error('work failed'))).to.throw(bug);
    expect(manual.state).to.equal('open');
  });

  it('R-CB-20: each re-open from HALF_OPEN multiplies the open time by `recoveryBackoff` up to `maxRecoveryTimeout`; a close resets it', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeout: '1s',
      recoveryBackoff: 3,
      maxRecoveryTimeout: '5s',
      clock,
    });
    const openFor = async (): Promise<number> =>
      ((await rejectionOf(breaker.execute(() => 'x'))) as CircuitOpenError).retryAfterMs;
    await rejectionOf(breaker.execute(fail));
    expect(await openFor()).to.equal(1000);
    const times: number[] = [];
    for (let k = 1; k <= 3; k++) {
      await clock.advance(5000);
      await rejectionOf(breaker.execute(fail));
      times.push(await openFor());
    }
    expect(times).to.deep.equal([3000, 5000, 5000]);
    await clock.advance(5000);
    expect(await breaker.execute(() => 'ok')).to.equal('ok');
    await rejectionOf(breaker.execute(fail));
    expect(await openFor()).to.equal(1000);
  });

  it('R-CB-20: `recoveryBackoff` defaults to 1 (every open period lasts `recoveryTimeout`); bad values are refused at construction', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock });
    await rejectionOf(breaker.execute(fail));
    await clock.advance(100);
    await rejectionOf(breaker.execute(fail));
    expect(
      ((await rejectionOf(breaker.execute(() => 'x'))) as CircuitOpenError).retryAfterMs,
    ).to.equal(100);
    expect(thrownBy(() => new CircuitBreaker({ recoveryBackoff: 0.9 }))).to.be.instanceOf(
      RangeError,
    );
    expect(
      thrownBy(() => new CircuitBreaker({ recoveryTimeout: '10s', maxRecoveryTimeout: '1s' })),
    ).to.be.instanceOf(RangeError);
    for (const bad of [NaN, Infinity, 0]) {
      const error = thrownBy(() => new CircuitBreaker({ recoveryBackoff: bad }));
      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.include('`recoveryBackoff`');
    }
    expect(thrownBy(() => new CircuitBreaker({ recoveryBackoff: '2' as never }))).to.be.instanceOf(
      TypeError,
    );
  });

  it('R-CB-20: a `recoveryBackoff` alone is accepted and grows nothing until `maxRecoveryTimeout` is above `recoveryTimeout`', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeout: 100,
      recoveryBackoff: 2,
      clock,
    });
    await rejectionOf(breaker.execute(fail));
    for (let reopen = 0; reopen < 3; reopen++) {
      await clock.advance(100);
      await rejectionOf(breaker.execute(fail));
      expect(
        ((await rejectionOf(breaker.execute(() => 'x'))) as CircuitOpenError).retryAfterMs,
      ).to.equal(100);
    }
    expect(breaker.metrics).to.not.have.property('openDurationMs');
  });

  it('R-CB-20: configuration keys `recovery-backoff` and `max-recovery-timeout`', async () => {
    const clock = new ManualClock(1_000);
    const registry = PolicyRegistry.fromConfig(
      {
        'circuit-breaker': {
          api: {
            'failure-threshold': 1,
            'recovery-timeout': 100,
            'recovery-backoff': 2,
            'max-recovery-timeout': 1000,
          },
        },
      },
      { clock },
    );
    const breaker = registry.circuitBreaker('api');
    await rejectionOf(breaker.execute(fail));
    await clock.advance(100);
    await rejectionOf(breaker.execute(fail));
    expect(
      ((await rejectionOf(breaker.execute(() => 'x'))) as CircuitOpenError).retryAfterMs,
    ).to.equal(200);
  });

  it('R-CB-21: with growing open times `metrics.openDurationMs` is the current open time; without, it is absent', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeout: 100,
      recoveryBackoff: 2,
      maxRecoveryTimeout: 1000,
      clock,
    });
    expect(breaker.metrics.openDurationMs).to.equal(100);
    await rejectionOf(breaker.execute(fail));
    await clock.advance(100);
    await rejectionOf(breaker.execute(fail));
    expect(breaker.metrics).to.include({ state: 'open', openDurationMs: 200 });
    await clock.advance(200);
    expect(breaker.metrics).to.include({ state: 'half-open', openDurationMs: 200 });
    expect(await breaker.execute(() => 'ok')).to.equal('ok');
    expect(breaker.metrics).to.include({ state: 'closed', openDurationMs: 100 });
    expect(new CircuitBreaker().metrics).to.not.have.property('openDurationMs');
  });
  it('R-CB-23: with `halfOpenWait`, a call beyond the trial budget waits for the verdict: admitted when the circuit closes, refused when it re-opens or the wait runs out', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeout: 100,
      halfOpenWait: '1s',
      clock,
    });
    await rejectionOf(breaker.execute(fail));
    await clock.advance(100);
    let closeProbe!: (value: string) => void;
    const probe = breaker.execute(() => new Promise<string>((resolve) => (closeProbe = resolve)));
    const admitted = settle(breaker.execute(() => 'waited'));
    await clock.advance(10);
    expect(admitted.status).to.equal('pending');
    closeProbe('probe');
    expect(await probe).to.equal('probe');
    await flush();
    expect(admitted).to.deep.equal({ status: 'fulfilled', value: 'waited' });
    expect(breaker.metrics).to.include({ state: 'closed', bufferedCalls: 1 });

    await rejectionOf(breaker.execute(fail));
    await clock.advance(100);
    let failProbe!: (error: Error) => void;
    const failing = settle(
      breaker.execute(() => new Promise<string>((_, reject) => (failProbe = reject))),
    );
    const refused = settle(breaker.execute(() => 'never'));
    failProbe(new Boom());
    await flush();
    expect(failing.status).to.equal('rejected');
    expect(refused.reason).to.be.instanceOf(CircuitOpenError).and.include({
      state: 'open',
      retryAfterMs: 100,
    });

    await clock.advance(100);
    const hung = settle(breaker.execute(() => new Promise<string>(() => {})));
    const late = settle(breaker.execute(() => 'never'));
    await clock.advance(999);
    expect(late.status).to.equal('pending');
    await clock.advance(1);
    expect(late.reason).to.be.instanceOf(CircuitOpenError).and.include({
      state: 'half-open',
      retryAfterMs: 0,
    });
    expect(hung.status).to.equal('pending');
    expect(clock.pending()).to.equal(0);
  });

  it('R-CB-23: `halfOpenWait` is a finite duration >= 0, refused otherwise at construction; configuration key `half-open-wait`; a policy reports only a final refusal', async () => {
    for (const bad of [-1, Infinity, 'soon']) {
      const error = thrownBy(() => new CircuitBreaker({ halfOpenWait: bad as never }));
      expect(error, String(bad)).to.be.instanceOf(bad === 'soon' ? TypeError : RangeError);
      expect(error.message).to.include('`halfOpenWait`');
    }
    const clock = new ManualClock(1_000);
    const registry = PolicyRegistry.fromConfig(
      {
        'circuit-breaker': {
          api: { 'failure-threshold': 1, 'recovery-timeout': 100, 'half-open-wait': 500 },
        },
      },
      { clock },
    );
    const breaker = registry.circuitBreaker('api');
    const policy = Policy.builder('api').circuitBreaker(breaker).build();
    const rejected: unknown[] = [];
    policy.on('rejected', (event) => rejected.push(event));
    await rejectionOf(policy.execute(fail));
    await clock.advance(100);
    const hung = settle(policy.execute(() => new Promise<string>(() => {})));
    const waiting = settle(policy.execute(() => 'never'));
    await clock.advance(499);
    expect([waiting.status, rejected.length]).to.deep.equal(['pending', 0]);
    await clock.advance(1);
    expect(waiting.reason).to.be.instanceOf(CircuitOpenError);
    expect(rejected).to.have.length(1);
    expect(hung.status).to.equal('pending');
  });

  it('R-CB-24: the outcome of a call admitted before the circuit last closed moves nothing and enters no window', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 2, recoveryTimeout: '1s', clock });
    const policy = Policy.builder().clock(clock).circuitBreaker(breaker).build();
    let failSlow!: (error: Error) => void;
    const slow = settle(
      policy.execute(() => new Promise<string>((_, reject) => (failSlow = reject))),
    );
    const slowSuccess = breaker.beforeCall();
    await rejectionOf(policy.execute(fail));
    await rejectionOf(policy.execute(fail));
    expect(breaker.state).to.equal('open');
    await clock.advance(1_000);
    expect(await policy.execute(() => 'probe')).to.equal('probe');
    expect(breaker.state).to.equal('closed');

    failSlow(new Boom());
    await flush();
    expect(slow.reason).to.be.instanceOf(Boom);
    expect(breaker.metrics).to.include({ state: 'closed', bufferedCalls: 0, failedCalls: 0 });
    // Nor does a success of such a call reset the run of failures of the new period.
    await rejectionOf(policy.execute(fail));
    breaker.onSuccess(0, slowSuccess);
    expect(breaker.metrics).to.include({ state: 'closed', bufferedCalls: 1, failedCalls: 1 });
    await rejectionOf(policy.execute(fail));
    expect(breaker.state).to.equal('open');
  });
});
