// The admission answers a circuit-breaker store gives that never change, and the probe lease,
// shared by the in-memory store and the Redis one (plain frozen data, so a second bundled copy is harmless).
import type { CircuitAdmission } from './store.js';

/**
 * A HALF_OPEN probe that has not reported after `max(recoveryTimeout, this)` is taken as lost
 * (a hung call, or a process that died) and its slot goes to a new probe.
 * @internal The same in every store, so that Redis and memory lose probes alike.
 */
export const MIN_PROBE_LEASE_MS = 10_000;

/** @internal */
export const ADMIT_CLOSED: CircuitAdmission = Object.freeze({
  admitted: true,
  state: 'closed',
  probe: false,
  retryAfterMs: 0,
});
/** @internal */
export const ADMIT_PROBE: CircuitAdmission = Object.freeze({
  admitted: true,
  state: 'half-open',
  probe: true,
  retryAfterMs: 0,
});
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
export const REFUSE_HALF_OPEN: CircuitAdmission = Object.freeze({
  admitted: false,
  state: 'half-open',
  // Stryker disable next-line BooleanLiteral: a refusal's `probe` is never read, only an admitted call's
  probe: false,
  retryAfterMs: 0,
});
/** @internal */
export const REFUSE_ISOLATED: CircuitAdmission = Object.freeze({
  admitted: false,
  state: 'isolated',
  // Stryker disable next-line BooleanLiteral: a refusal's `probe` is never read, only an admitted call's
  probe: false,
  retryAfterMs: Infinity,
});
