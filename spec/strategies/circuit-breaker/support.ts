// Helpers shared by the CircuitBreaker specs of this folder.
import { expect } from 'chai';
import { CircuitOpenError } from '../../../src/errors.js';
import type { Policy } from '../../../src/pipeline/Policy.js';
import type { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { CircuitState } from '../../../src/strategies/circuit-breaker/CircuitState.js';
import {
  InMemoryCircuitBreakerStore,
  type CircuitAdmission,
  type CircuitBreakerMetrics,
  type CircuitBreakerStore,
  type CircuitBreakerStoreConfig,
  type CircuitOutcome,
} from '../../../src/strategies/circuit-breaker/store.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, rejectionOf, settle, type Settled } from '../../support/promises.js';

export class ConnectionError extends Error {}
export class ResetError extends ConnectionError {}
export class ValidationError extends Error {}
/** The failure of a call held open by `pending`. */
export class Boom extends Error {}

/** A call through `call` that settles when told to; `fail` rejects it with Boom. */
export function pending(call: (fn: () => Promise<string>) => Promise<string>): {
  settled: Settled<string>;
  succeed: () => void;
  fail: () => void;
} {
  const gate = deferred<string>();
  const settled = settle(call(() => gate.promise));
  return {
    settled,
    succeed: () => gate.resolve('late'),
    fail: () => gate.reject(new Boom()),
  };
}

/** Lets a few microtask turns pass: the outcomes of settled calls are recorded. */
export async function flushed(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** A manual clock that refuses timers: a breaker reads the time, and never sets one. */
export function breakerClock(): ManualClock {
  return new ManualClock(0, { forbidTimers: 'a circuit breaker must not set timers' });
}

/** Runs one call per letter through `execute`: F fails, S succeeds. Rejections are swallowed. */
export async function run(breaker: CircuitBreaker, pattern: string): Promise<void> {
  for (const letter of pattern) {
    await breaker
      .execute(() => (letter === 'F' ? Promise.reject(new Error('boom')) : 'ok'))
      .catch(() => undefined);
  }
}

/**
 * Calls `policy`, whose circuit is open, and checks the refusal: a `CircuitOpenError` without
 * calling the thunk, counted in `metrics()` (its only one) and reported once to `rejected`, the
 * events a listener subscribed before the call collected.
 */
export async function expectOpenRefusal(policy: Policy, rejected: unknown[]): Promise<void> {
  let called = false;
  const error = await rejectionOf(
    policy.execute(() => {
      called = true;
      return 'no';
    }),
  );
  expect(error).to.be.instanceOf(CircuitOpenError);
  expect(called).to.equal(false);
  expect(policy.metrics().rejections.circuitOpen).to.equal(1);
  expect(rejected).to.deep.equal([
    { policy: policy.name, stage: 'circuit-breaker', reason: 'circuit-open', error },
  ]);
}

/**
 * The in-memory store answering every question with a promise, as a shared one would, whose
 * circuit another process may move (`inner`); it counts admissions, and `failAcquire` makes the
 * next ones reject.
 */
export class AsyncStore implements CircuitBreakerStore {
  readonly inner = new InMemoryCircuitBreakerStore();
  acquires = 0;
  failAcquire: Error | undefined;
  configure(config: CircuitBreakerStoreConfig): void {
    this.inner.configure(config);
  }
  acquire(): Promise<CircuitAdmission> {
    this.acquires++;
    const error = this.failAcquire;
    return Promise.resolve().then(() => {
      if (error !== undefined) throw error;
      return this.inner.acquire();
    });
  }
  record(outcome: CircuitOutcome): Promise<CircuitState> {
    return Promise.resolve().then(() => this.inner.record(outcome));
  }
  release(): Promise<void> {
    return Promise.resolve().then(() => this.inner.release());
  }
  state(): Promise<CircuitState> {
    return Promise.resolve().then(() => this.inner.state());
  }
  snapshot(): Promise<CircuitBreakerMetrics> {
    return Promise.resolve().then(() => this.inner.snapshot());
  }
  isolate(): Promise<void> {
    return Promise.resolve().then(() => this.inner.isolate());
  }
  reset(): Promise<void> {
    return Promise.resolve().then(() => this.inner.reset());
  }
}
