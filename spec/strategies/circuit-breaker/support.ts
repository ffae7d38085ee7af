// Helpers shared by the CircuitBreaker specs of this folder.
import { expect } from 'chai';
import { CircuitOpenError } from '../../../src/errors.js';
import type { Policy } from '../../../src/pipeline/Policy.js';
import type { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { ManualClock } from '../../support/clock.js';
import { rejectionOf } from '../../support/promises.js';

export class ConnectionError extends Error {}
export class ResetError extends ConnectionError {}
export class ValidationError extends Error {}

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
