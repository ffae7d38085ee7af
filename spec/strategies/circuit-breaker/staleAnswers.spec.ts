// CircuitBreaker with a store that answers asynchronously: an answer the store gave before the
// breaker's own isolate() or reset() (a state read, a record, an admission, a snapshot) arrives
// after it and must not move the state back, nor tell the listeners of a change that never was.
import { expect } from 'chai';
import { CircuitOpenError } from '../../../src/errors.js';
import {
  CircuitBreaker,
  type CircuitStateChange,
} from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { CircuitState } from '../../../src/strategies/circuit-breaker/CircuitState.js';
import {
  InMemoryCircuitBreakerStore,
  type CircuitAdmission,
  type CircuitBreakerMetrics,
  type CircuitBreakerStore,
  type CircuitBreakerStoreConfig,
  type CircuitOutcome,
} from '../../../src/strategies/circuit-breaker/store.js';
import { flush, rejectionOf } from '../../support/promises.js';
import { breakerClock } from './support.js';

/**
 * The in-memory store behind promises that the spec settles: each answer is the store's as of
 * the moment it was asked (as a Redis reply is), delivered when `deliver()` says.
 */
class HeldStore implements CircuitBreakerStore {
  readonly inner = new InMemoryCircuitBreakerStore();
  readonly held: (() => void)[] = [];
  configure(config: CircuitBreakerStoreConfig): void {
    this.inner.configure(config);
  }
  acquire(): Promise<CircuitAdmission> {
    return this.#hold(this.inner.acquire());
  }
  record(outcome: CircuitOutcome): Promise<CircuitState> {
    return this.#hold(this.inner.record(outcome));
  }
  release(): Promise<void> {
    return this.#hold(this.inner.release());
  }
  state(): Promise<CircuitState> {
    return this.#hold(this.inner.state());
  }
  snapshot(): Promise<CircuitBreakerMetrics> {
    return this.#hold(this.inner.snapshot());
  }
  isolate(): Promise<void> {
    return this.#hold(this.inner.isolate());
  }
  reset(): Promise<void> {
    return this.#hold(this.inner.reset());
  }
  /** Delivers every answer held so far, in the order asked, and lets them be taken in. */
  async deliver(): Promise<void> {
    for (const answer of this.held.splice(0)) answer();
    await flush();
  }
  #hold<T>(value: T): Promise<T> {
    return new Promise((resolve) => this.held.push(() => resolve(value)));
  }
}

function watched(store: HeldStore, options: object = {}) {
  const breaker = new CircuitBreaker({ clock: breakerClock(), store, ...options });
  const seen: string[] = [];
  breaker.onStateChange((c: CircuitStateChange) => seen.push(`${c.from}->${c.to}`));
  return { breaker, seen };
}

describe('CircuitBreaker with an asynchronous store: answers older than isolate() and reset()', () => {
  it('keeps ISOLATED when a state read asked before isolate() answers CLOSED', async () => {
    const store = new HeldStore();
    const { breaker, seen } = watched(store); // the constructor asked for the state
    breaker.isolate();
    await store.deliver();
    expect(store.inner.state()).to.equal('isolated');
    expect(breaker.state).to.equal('isolated');
    expect(seen).to.deep.equal(['closed->isolated']);
    const call = rejectionOf(breaker.execute(() => 'ran'));
    await store.deliver();
    const error = await call;
    expect(error).to.be.instanceOf(CircuitOpenError).that.includes({ state: 'isolated' });
  });

  it('keeps CLOSED when a state read asked while isolated answers after reset()', async () => {
    const store = new HeldStore();
    const { breaker, seen } = watched(store);
    breaker.isolate();
    await store.deliver();
    void breaker.state; // asks the store: it answers ISOLATED
    breaker.reset();
    await store.deliver();
    expect(store.inner.state()).to.equal('closed');
    expect(breaker.state).to.equal('closed');
    expect(seen).to.deep.equal(['closed->isolated', 'isolated->closed']);
  });

  it('keeps ISOLATED when a record and an admission asked before isolate() answer after it', async () => {
    const store = new HeldStore();
    const { breaker, seen } = watched(store, { failureThreshold: 1 });
    await store.deliver();
    const ticket = breaker.beforeCall(); // admits on CLOSED, asks the store (CLOSED)
    breaker.onSuccess(0, ticket); // records; the store answers CLOSED
    breaker.isolate();
    await store.deliver();
    expect(breaker.state).to.equal('isolated');
    expect(seen).to.deep.equal(['closed->isolated']);
  });

  it('keeps CLOSED when a failure recorded before reset() answers OPEN after it', async () => {
    const store = new HeldStore();
    const { breaker, seen } = watched(store, { failureThreshold: 1 });
    await store.deliver();
    breaker.onFailure(new Error('boom')); // trips the store: it answers OPEN
    breaker.reset();
    await store.deliver();
    expect(store.inner.state()).to.equal('closed');
    expect(breaker.state).to.equal('closed');
    expect(seen).to.deep.equal([]);
  });

  it('does not show metrics read before reset() once it is done', async () => {
    const store = new HeldStore();
    const { breaker } = watched(store, { failureThreshold: 3 });
    await store.deliver();
    breaker.onFailure(new Error('boom'));
    await store.deliver();
    void breaker.metrics; // asks: one failure
    breaker.reset();
    await store.deliver();
    expect(breaker.metrics).to.include({ state: 'closed', failedCalls: 0 });
  });

  it('still follows answers asked after its own change (another process moved the circuit)', async () => {
    const store = new HeldStore();
    const { breaker, seen } = watched(store);
    breaker.isolate();
    await store.deliver();
    store.inner.reset(); // another breaker on the shared circuit resets it
    void breaker.state;
    await store.deliver();
    expect(breaker.state).to.equal('closed');
    expect(seen).to.deep.equal(['closed->isolated', 'isolated->closed']);
  });
});
