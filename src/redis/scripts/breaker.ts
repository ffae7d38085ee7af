// The examples and benchmarks compile this file without src/redis/lua.d.ts in their projects.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../lua.d.ts" />
import type { CircuitBreakerStoreConfig } from '../../index.js';
import { LuaScript, type ScriptCall } from '../script.js';
import source from './breaker.lua';

/**
 * @internal What every call of the breaker script (breaker.lua) carries: the breaker's settings
 * (see {@link CircuitBreakerStoreConfig}), and the keys and derived numbers the script needs.
 */
export interface BreakerSettings extends Omit<CircuitBreakerStoreConfig, 'windowType' | 'clock'> {
  /** The state hash. */
  readonly stateKey: string;
  /** The window (a string for a COUNT window, a hash of buckets for a TIME window). */
  readonly windowKey: string;
  /** A TIME window (else COUNT). */
  readonly timed: boolean;
  /** Buckets of a TIME window. */
  readonly buckets: number;
  /** How long the keys live idle (an integer). */
  readonly idleTtlMs: number;
  /** How long a HALF_OPEN probe may go without reporting before its slot is taken back. */
  readonly probeLeaseMs: number;
}

/** @internal The breaker script's operations. */
export type BreakerOp =
  'acquire' | 'record' | 'release' | 'state' | 'snapshot' | 'isolate' | 'reset';

/** @internal One call of the breaker script. */
export interface BreakerParams extends BreakerSettings {
  readonly op: BreakerOp;
  /** `record`: the call failed. */
  readonly failure?: boolean;
  /** `record`: the call was slow. */
  readonly slow?: boolean;
  /**
   * `record`: `false` for the outcome of a call known to hold no probe slot of the current
   * HALF_OPEN period (counted in the window, deciding nothing there). Defaults to `true` (may be
   * a probe).
   */
  readonly probe?: boolean;
  /**
   * `record`: the outcome of a call admitted before the circuit last closed, dropped while the
   * circuit is CLOSED and otherwise counted as one with `probe: false`.
   */
  readonly stale?: boolean;
}

/** @internal The `KEYS` and `ARGV` of `params`, in breaker.lua's order. */
export function breakerCall(params: BreakerParams): ScriptCall {
  return {
    keys: [params.stateKey, params.windowKey],
    args: [
      params.op,
      String(params.failureThreshold),
      String(params.recoveryTimeoutMs),
      String(params.failureRateThreshold ?? -1),
      String(params.slowCallRateThreshold ?? -1),
      params.timed ? '1' : '0',
      String(params.windowSize),
      String(params.windowDurationMs),
      String(params.buckets),
      String(params.minimumCalls),
      String(params.halfOpenMaxCalls),
      String(params.idleTtlMs),
      String(params.probeLeaseMs),
      params.failure === true ? '1' : '0',
      params.slow === true ? '1' : '0',
      params.stale === true ? '2' : params.probe === false ? '0' : '1',
      String(params.recoveryBackoff),
      String(params.maxRecoveryTimeoutMs),
    ],
  };
}

/**
 * @internal The breaker's state machine. Replies: acquire `[admitted 1/0, state, probe 0/1/2,
 * retryAfterMs]` (probe 2: a probe that took back the slots of lost ones); snapshot
 * `[state, calls, failures, slow calls, open duration ms]`; the other operations the state.
 */
export const BREAKER = /* @__PURE__ */ new LuaScript(source, breakerCall);
