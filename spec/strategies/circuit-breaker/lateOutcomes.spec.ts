// CircuitBreaker metrics and the outcomes that move nothing: a call admitted while CLOSED that
// reports after the circuit opened, and HALF_OPEN trial calls. Every recorded call appears in
// `metrics` (it enters the window that tripped the circuit), whatever the state; only the state's
// rules decide whether it moves the circuit; a close starts an empty window.
import { expect } from 'chai';
import { CircuitOpenError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { InMemoryCircuitBreakerStore } from '../../../src/strategies/circuit-breaker/store.js';
import type { ManualClock } from '../../support/clock.js';
import { deferred, rejectionOf, settle } from '../../support/promises.js';
import { Boom, breakerClock, flushed, pending, run } from './support.js';

function counts(breaker: CircuitBreaker): [string, number, number, number] {
  const m = breaker.metrics;
  return [m.state, m.bufferedCalls, m.failedCalls, m.slowCalls];
}

describe('CircuitBreaker metrics count every recorded call, whatever the state', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  it('counts outcomes of calls admitted while CLOSED that report while OPEN, without moving the circuit', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: '10s' });
    const slowFailure = pending((fn) => breaker.execute(fn));
    const slowSuccess = pending((fn) => breaker.execute(fn));
    await run(breaker, 'FF');
    expect(counts(breaker)).to.deep.equal(['open', 2, 2, 0]);
    clock.tick(4_000);

    slowFailure.fail();
    slowSuccess.succeed();
    await flushed();
    expect(slowFailure.settled.reason).to.be.instanceOf(Boom);
    expect(slowSuccess.settled.value).to.equal('late');
    // Four calls ran, three failed.
    expect(breaker.metrics).to.deep.include({
      state: 'open',
      bufferedCalls: 4,
      failedCalls: 3,
      failureRate: 0.75,
    });
    // The open period goes on as it was.
    const refusal = (await rejectionOf(breaker.execute(() => 'no'))) as CircuitOpenError;
    expect(refusal).to.be.instanceOf(CircuitOpenError);
    expect(refusal.retryAfterMs).to.equal(6_000);
  });

  it('counts a late failure that arrives during HALF_OPEN, which neither re-opens nor blocks the close', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: '10s' });
    const late = pending((fn) => breaker.execute(fn));
    await run(breaker, 'FF');
    clock.tick(10_000);
    const probe = pending((fn) => breaker.execute(fn));
    expect(breaker.state).to.equal('half-open');

    late.fail();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['half-open', 3, 3, 0]);

    probe.succeed();
    await flushed();
    expect(probe.settled.value).to.equal('late');
    // The close starts a new, empty window.
    expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
  });

  it('counts failed trial calls in the window they re-open, one per trial call', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: '1s' });
    let downstream = 0;
    const call = (fails: boolean) =>
      breaker
        .execute(() => {
          downstream++;
          if (fails) throw new Boom();
          return 'ok';
        })
        .catch(() => undefined);
    for (let i = 0; i < 4; i++) await call(true);
    expect(downstream).to.equal(2);
    expect(counts(breaker)).to.deep.equal(['open', 2, 2, 0]);
    for (let round = 1; round <= 3; round++) {
      clock.tick(1_000);
      await call(true);
      expect(downstream).to.equal(2 + round);
      expect(counts(breaker), `after failed trial call ${round}`).to.deep.equal([
        'open',
        2 + round,
        2 + round,
        0,
      ]);
    }
    clock.tick(1_000);
    await call(false);
    expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
    await call(false);
    expect(counts(breaker)).to.deep.equal(['closed', 1, 0, 0]);
  });

  it('shows the successes of trial calls while the circuit is still HALF_OPEN', async () => {
    const breaker = new CircuitBreaker({
      clock,
      failureThreshold: 1,
      recoveryTimeout: '1s',
      halfOpenMaxCalls: 3,
    });
    await run(breaker, 'F');
    clock.tick(1_000);
    await run(breaker, 'SS');
    expect(breaker.metrics).to.deep.include({
      state: 'half-open',
      bufferedCalls: 3,
      failedCalls: 1,
      failureRate: 1 / 3,
    });
    await run(breaker, 'S');
    expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
  });

  it('counts a slow late call as slow, in a TIME window, and lets it leave the window with time', async () => {
    const breaker = new CircuitBreaker({
      clock,
      failureRateThreshold: 0.5,
      windowType: 'time',
      windowDuration: '10s',
      minimumCalls: 2,
      slowCallDuration: '1s',
      recoveryTimeout: '30s',
    });
    const late = pending((fn) => breaker.execute(fn));
    await run(breaker, 'FF');
    expect(counts(breaker)).to.deep.equal(['open', 2, 2, 0]);
    clock.tick(2_000);
    late.succeed();
    await flushed();
    expect(breaker.metrics).to.deep.include({
      state: 'open',
      bufferedCalls: 3,
      failedCalls: 2,
      slowCalls: 1,
      slowCallRate: 1 / 3,
    });
    // The trip's failures (in the bucket [0, 1 s)) leave first, at 11 s; the late success (in
    // [2 s, 3 s)) 2 s later.
    clock.tick(9_000);
    expect(counts(breaker)).to.deep.equal(['open', 1, 0, 1]);
    clock.tick(2_000);
    expect(counts(breaker)).to.deep.equal(['open', 0, 0, 0]);
  });

  it('counts a late outcome while ISOLATED, which stays isolated until reset() clears the window', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 5 });
    const late = pending((fn) => breaker.execute(fn));
    await run(breaker, 'S');
    breaker.isolate();
    late.fail();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['isolated', 2, 1, 0]);
    expect(await rejectionOf(breaker.execute(() => 'no'))).to.include({ state: 'isolated' });
    breaker.reset();
    expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
  });

  it('starts the CLOSED period after a close with an empty window: late failures before it never judge it', async () => {
    const breaker = new CircuitBreaker({
      clock,
      failureRateThreshold: 0.5,
      windowSize: 4,
      minimumCalls: 2,
      recoveryTimeout: '1s',
    });
    const late = [pending((fn) => breaker.execute(fn)), pending((fn) => breaker.execute(fn))];
    await run(breaker, 'FF');
    for (const call of late) call.fail();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['open', 4, 4, 0]);
    clock.tick(1_000);
    await run(breaker, 'S');
    expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
    // One failure is below minimumCalls in the new window: the circuit stays closed.
    await run(breaker, 'F');
    expect(counts(breaker)).to.deep.equal(['closed', 1, 1, 0]);
  });

  it('counts the outcome of a trial call of an earlier HALF_OPEN period without letting it decide', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '10s' });
    await run(breaker, 'F');
    clock.tick(10_000);
    const hung = pending((fn) => breaker.execute(fn));
    // The hung trial call is lost after max(recoveryTimeout, 10 s); a new one takes its slot.
    clock.tick(10_000);
    const fresh = pending((fn) => breaker.execute(fn));
    hung.fail();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['half-open', 2, 2, 0]);
    fresh.succeed();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
  });

  it('counts late outcomes recorded by a policy stage as the standalone breaker does', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: '10s' });
    const policy = Policy.builder().clock(clock).circuitBreaker(breaker).build();
    const gate = deferred<string>();
    const late = settle(policy.execute(() => gate.promise));
    await run(breaker, 'FF');
    expect(breaker.state).to.equal('open');
    gate.resolve('late');
    await flushed();
    expect(late.value).to.equal('late');
    expect(counts(breaker)).to.deep.equal(['open', 3, 2, 0]);
  });

  it('keeps late outcomes in toJSON(), as the window it reports', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: '10s' });
    const late = pending((fn) => breaker.execute(fn));
    await run(breaker, 'FF');
    late.succeed();
    await flushed();
    expect(breaker.toJSON().window).to.deep.equal({ type: 'count', size: 10, outcomes: [1, 1, 0] });
  });

  it('in the store: an outcome marked as no probe enters the window in HALF_OPEN but decides nothing', () => {
    const store = new InMemoryCircuitBreakerStore();
    // The breaker hands the store its settings; the rest talks to the store alone.
    new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '1s', store });
    expect(store.record({ failure: true, slow: false })).to.equal('open');
    expect(store.record({ failure: false, slow: true })).to.equal('open');
    clock.tick(1_000);
    expect(store.acquire().probe).to.equal(true);
    expect(store.record({ failure: true, slow: false, probe: false })).to.equal('half-open');
    expect(store.snapshot()).to.deep.include({ bufferedCalls: 3, failedCalls: 2, slowCalls: 1 });
    expect(store.record({ failure: true, slow: false })).to.equal('open');
    expect(store.snapshot()).to.deep.include({ bufferedCalls: 4, failedCalls: 3, slowCalls: 1 });
  });
});
