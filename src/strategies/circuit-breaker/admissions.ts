// The admission answers a circuit-breaker store gives that never change, the probe lease, the
// TIME window's bucket count and the metrics of a window's totals, shared by the in-memory store and the Redis one (plain frozen data
// and pure functions, so a second bundled copy is harmless).
import type { CircuitState } from './CircuitState.js';
import type { CircuitAdmission, CircuitBreakerMetrics } from './store.js';

/**
 * A HALF_OPEN probe that has not reported after `max(recoveryTimeout, this)` is taken as lost
 * (a hung call, or a process that died) and its slot goes to a new probe.
 * The same in every store, so that Redis and memory lose probes alike.
 */
const MIN_PROBE_LEASE_MS = 10_000;

/**
 * @internal How long a HALF_OPEN probe may go without reporting before it is taken as lost: the
 * one rule of every store and of the breaker's waiting calls.
 */
export function probeLeaseMs(recoveryTimeoutMs: number): number {
  return Math.max(MIN_PROBE_LEASE_MS, recoveryTimeoutMs);
}

/**
 * @internal How many buckets a TIME window of `durationMs` gets: one per second, but never fewer
 * than 10 (so short windows still slide smoothly) nor more than 60 (so long ones stay small).
 */
export function bucketsFor(durationMs: number): number {
  return Math.min(60, Math.max(10, Math.ceil(durationMs / 1000)));
}

/**
 * @internal A store's answer (`probe` only for an admitted call that is a probe), built through
 * this one function so that every answer has the same shape.
 */
export function answer(
  admitted: boolean,
  state: CircuitState,
  retryAfterMs: number,
  probe = false,
): CircuitAdmission {
  return { admitted, state, probe, retryAfterMs };
}

/** @internal */
export const ADMIT_CLOSED: CircuitAdmission = Object.freeze(
  /* @__PURE__ */ answer(true, 'closed', 0),
);
/** @internal */
export const ADMIT_PROBE: CircuitAdmission = Object.freeze(
  /* @__PURE__ */ answer(true, 'half-open', 0, true),
);
/**
 * @internal A probe admitted by taking back the slots of probes that had not reported in time.
 */
export const ADMIT_PROBE_RECLAIMED: CircuitAdmission = Object.freeze({
  admitted: true,
  state: 'half-open',
  probe: true,
  retryAfterMs: 0,
  reclaimed: true,
});
/** @internal */
export const REFUSE_HALF_OPEN: CircuitAdmission = Object.freeze(
  /* @__PURE__ */ answer(false, 'half-open', 0),
);
/** @internal */
export const REFUSE_ISOLATED: CircuitAdmission = Object.freeze(
  /* @__PURE__ */ answer(false, 'isolated', Infinity),
);

/**
 * @internal The admission a shared store's answer stands for: when `admitted`, by `probe` (0 no
 * probe, 1 a probe, 2 a probe that took back the slots of lost ones); when refused, the answer
 * of `state` (with `retryAfterMs` left while OPEN). The frozen answers above wherever they fit.
 */
export function admissionOf(
  admitted: boolean,
  state: CircuitState,
  probe: number,
  retryAfterMs: number,
): CircuitAdmission {
  if (admitted)
    return probe === 1 ? ADMIT_PROBE : probe === 2 ? ADMIT_PROBE_RECLAIMED : ADMIT_CLOSED;
  if (state === 'half-open') return REFUSE_HALF_OPEN;
  if (state === 'isolated') return REFUSE_ISOLATED;
  return answer(false, state, retryAfterMs);
}

/** @internal Metrics from a state and the window's totals (rates are 0 for an empty window). */
export function metricsOf(
  state: CircuitState,
  calls: number,
  failedCalls: number,
  slowCalls: number,
  openDurationMs?: number,
): CircuitBreakerMetrics {
  const metrics = {
    state,
    failureRate: calls === 0 ? 0 : failedCalls / calls,
    slowCallRate: calls === 0 ? 0 : slowCalls / calls,
    bufferedCalls: calls,
    failedCalls,
    slowCalls,
  };
  return openDurationMs === undefined ? metrics : { ...metrics, openDurationMs };
}
