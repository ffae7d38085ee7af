// CircuitBreaker, white-box. The store behind a breaker: the in-memory store as a state machine of
// its own, and a store answering asynchronously as a remote one would.
import { expect } from 'chai';
import sinon from 'sinon';
import { CircuitOpenError } from '../../../src/errors.js';
import {
  CircuitBreaker,
  type CircuitStateChange,
} from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { InMemoryCircuitBreakerStore } from '../../../src/strategies/circuit-breaker/store.js';
import type { ManualClock } from '../../support/clock.js';
import { flush, rejectionOf } from '../../support/promises.js';
import { AsyncStore, breakerClock, run } from './support.js';

describe('InMemoryCircuitBreakerStore', () => {
  it('serves one breaker only', () => {
    const store = new InMemoryCircuitBreakerStore();
    new CircuitBreaker({ store });
    expect(() => new CircuitBreaker({ store })).to.throw(Error, 'already serves');
  });

  it('is the state machine behind a breaker it is given', async () => {
    const clock = breakerClock();
    const store = new InMemoryCircuitBreakerStore();
    const breaker = new CircuitBreaker({ clock, store, failureThreshold: 2, recoveryTimeout: 10 });
    await run(breaker, 'FF');
    expect(store.state()).to.equal('open');
    expect(store.acquire()).to.include({ admitted: false, state: 'open', retryAfterMs: 10 });
    clock.tick(10);
    expect(store.acquire()).to.include({ admitted: true, state: 'half-open', probe: true });
    expect(store.acquire()).to.include({ admitted: false, state: 'half-open', retryAfterMs: 0 });
    store.release();
    expect(store.acquire()).to.include({ admitted: true, probe: true });
    expect(store.record({ failure: false, slow: false })).to.equal('closed');
    expect(store.snapshot()).to.include({ state: 'closed', bufferedCalls: 0 });
  });

  it('answers admission in CLOSED without allocating a new object each time', () => {
    const store = new InMemoryCircuitBreakerStore();
    new CircuitBreaker({ store });
    expect(store.acquire()).to.equal(store.acquire());
  });
});

describe('CircuitBreaker with a store that answers asynchronously', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  it('awaits the admission in execute and trips as the store decides', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({ clock, store, failureThreshold: 2, recoveryTimeout: 10 });
    expect(await breaker.execute(() => 'ok')).to.equal('ok');
    await run(breaker, 'FF');
    await flush();
    expect(store.inner.state()).to.equal('open');
    const error = await rejectionOf(breaker.execute(() => 'x'));
    expect(error)
      .to.be.instanceOf(CircuitOpenError)
      .and.include({ state: 'open', retryAfterMs: 10 });
    clock.tick(10);
    expect(await breaker.execute(() => 'probe')).to.equal('probe');
    await flush();
    expect(store.inner.state()).to.equal('closed');
    expect(breaker.state).to.equal('closed');
  });

  it('reports transitions it learns from the store to listeners', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({ clock, store, failureThreshold: 1, recoveryTimeout: 10 });
    const changes: CircuitStateChange[] = [];
    breaker.onStateChange((c) => changes.push(c));
    await run(breaker, 'F');
    await flush();
    clock.tick(10);
    await run(breaker, 'S');
    await flush();
    expect(changes).to.deep.equal([
      { from: 'closed', to: 'open' },
      { from: 'open', to: 'half-open' },
      { from: 'half-open', to: 'closed' },
    ]);
  });

  it('answers state and metrics synchronously with the last known values', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({ clock, store, failureThreshold: 1, recoveryTimeout: 10 });
    await run(breaker, 'F');
    await flush();
    expect(breaker.state).to.equal('open');
    clock.tick(10);
    expect(breaker.state).to.equal('open'); // last known; asks the store
    await flush();
    expect(breaker.state).to.equal('half-open');
    expect(breaker.metrics).to.include({ bufferedCalls: 0 }); // nothing known yet
    await flush();
    expect(breaker.metrics).to.include({ state: 'half-open', bufferedCalls: 1, failedCalls: 1 });
  });

  it('decides beforeCall on the last known state', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({ clock, store, failureThreshold: 1, recoveryTimeout: 10 });
    breaker.beforeCall();
    breaker.onFailure(new Error('x'));
    await flush();
    expect(() => breaker.beforeCall())
      .to.throw(CircuitOpenError)
      .that.includes({ state: 'open', retryAfterMs: 10 });
    clock.tick(10);
    expect(() => breaker.beforeCall()).to.throw(CircuitOpenError); // still last known OPEN
    await flush(); // the refresh it asked for has arrived
    expect(() => breaker.beforeCall()).not.to.throw();
    await flush();
    expect(breaker.state).to.equal('half-open');
    breaker.onSuccess();
    await flush();
    expect(breaker.state).to.equal('closed');
  });

  it('refuses on isolation at once and forwards isolate and reset to the store', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({ clock, store });
    breaker.isolate();
    expect(breaker.state).to.equal('isolated');
    expect(() => breaker.beforeCall())
      .to.throw(CircuitOpenError)
      .that.includes({ retryAfterMs: Infinity });
    await flush();
    expect(store.inner.state()).to.equal('isolated');
    breaker.reset();
    await flush();
    expect(store.inner.state()).to.equal('closed');
    expect(await breaker.execute(() => 'ok')).to.equal('ok');
  });

  it('gives back the probe slot of a call aborted while the admission was pending', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({ clock, store, failureThreshold: 1, recoveryTimeout: 10 });
    await run(breaker, 'F');
    clock.tick(10);
    const controller = new AbortController();
    const fn = sinon.spy(() => 'x');
    const promise = breaker.execute(fn, controller.signal);
    controller.abort();
    await rejectionOf(promise);
    await flush();
    expect(fn.callCount).to.equal(0);
    expect(store.inner.acquire()).to.include({ admitted: true, probe: true });
  });
});
