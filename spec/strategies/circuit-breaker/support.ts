// Helpers shared by the CircuitBreaker specs of this folder.
import type { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { ManualClock } from '../../support/clock.js';

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
