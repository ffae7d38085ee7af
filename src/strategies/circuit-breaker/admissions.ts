// The admission answers a circuit-breaker store gives that never change, the probe lease and the
// TIME window's bucket count, shared by the in-memory store and the Redis one (plain frozen data
// and pure functions, so a second bundled copy is harmless).
import type { CircuitState } from './CircuitState.js';
import type { CircuitAdmission } from './store.js';

/**
 * A HALF_OPEN probe that has not reported after `max(recoveryTimeout, this)` is taken as lost
 * (a hung call, or a process that died) and its slot goes to a new probe.
 * @internal The same in every store, so that Redis and memory lose probes alike.
 */
export const MIN_PROBE_LEASE_MS = 10_000;

/**
 * @internal How many buckets a TIME window of `durationMs` gets: one per second, but never fewer
 * than 10 (so short windows still slide smoothly) nor more than 60 (so long ones stay small).
 */
export function bucketsFor(durationMs: number): number {
  return Math.min(60, Math.max(10, Math.ceil(durationMs / 1000)));
}

/** @internal */
export const ADMIT_CLOSED: CircuitAdmission = Object.freeze({
  admitted: true,
  state: 'closed',
  probe: false,
  retryAfterMs: 0,
});
/** @internal */
export const ADMIT_PROBE: CircuitAdmission = Object.freeze({
  ...ADMIT_CLOSED,
  state: 'half-open',
  probe: true,
});
/**
 * @internal A probe admitted by taking back the slots of probes that had not reported in time.
 */
export const ADMIT_PROBE_RECLAIMED: CircuitAdmission = Object.freeze({
  ...ADMIT_PROBE,
  reclaimed: true,
});

/** A refusal in `state`, which a call may try again after `retryAfterMs`. */
function refusal(state: CircuitState, retryAfterMs: number): CircuitAdmission {
  return {
    admitted: false,
    state,
    // Stryker disable next-line BooleanLiteral: a refusal's `probe` is never read, only an admitted call's
    probe: false,
    retryAfterMs,
  };
}

/** @internal */
export const REFUSE_HALF_OPEN: CircuitAdmission = Object.freeze(
  /* @__PURE__ */ refusal('half-open', 0),
);
/** @internal */
export const REFUSE_ISOLATED: CircuitAdmission = Object.freeze(
  /* @__PURE__ */ refusal('isolated', Infinity),
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
  return refusal(state, retryAfterMs);
}
