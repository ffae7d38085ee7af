// The examples and benchmarks compile this file without src/redis/lua.d.ts in their projects.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../lua.d.ts" />
import type { CircuitBreakerStoreConfig } from '../../index.js';
import type { RedisCommand } from '../link.js';
import { LuaScript, runScript, type ScriptCall } from '../script.js';
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
type BreakerOp = 'acquire' | 'record' | 'release' | 'state' | 'snapshot' | 'isolate' | 'reset';

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

/** @internal What the breaker script reads of a breaker's settings: all but its keys. */
export type BreakerShape = Omit<BreakerSettings, 'stateKey' | 'windowKey'>;

/** @internal The `ARGV` of `params`, in breaker.lua's order. */
function breakerArgs(params: Omit<BreakerParams, 'stateKey' | 'windowKey'>): string[] {
  return [
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
  ];
}

/** @internal The `KEYS` and `ARGV` of `params`, in breaker.lua's order. */
export function breakerCall(params: BreakerParams): ScriptCall {
  return { keys: [params.stateKey, params.windowKey], args: breakerArgs(params) };
}

/**
 * @internal The breaker's state machine. Replies: acquire `[admitted 1/0, state, probe 0/1/2,
 * retryAfterMs]` (probe 2: a probe that took back the slots of lost ones); record and snapshot
 * `[state, calls, failures, slow calls, open duration ms]` (the window's totals after the
 * operation); the other operations the state.
 */
export const BREAKER = /* @__PURE__ */ new LuaScript(source, breakerCall);

/**
 * @internal The settings of `shape` as the breaker script reads them, as one string: breakers
 * whose settings give the same one can share their {@link BreakerCalls}.
 */
export function breakerSignature(shape: BreakerShape): string {
  // Every field, without building the arguments (a breaker on a new key asks for this).
  const s = shape;
  return `${s.failureThreshold} ${s.recoveryTimeoutMs} ${s.recoveryBackoff} ${s.maxRecoveryTimeoutMs} ${s.failureRateThreshold} ${s.slowCallRateThreshold} ${s.timed} ${s.windowSize} ${s.windowDurationMs} ${s.buckets} ${s.minimumCalls} ${s.halfOpenMaxCalls} ${s.idleTtlMs} ${s.probeLeaseMs}`;
}

/**
 * @internal Where each call of the breaker script sits among a breaker's calls (see
 * {@link BreakerCalls}): `record` of an outcome at `(failure ? 1 : 0) + (slow ? 2 : 0) + (stale ?
 * 8 : probe === false ? 4 : 0)`, the other operations after those twelve.
 */
export const BREAKER_CALL = Object.freeze({
  acquire: 12,
  release: 13,
  state: 14,
  snapshot: 15,
  isolate: 16,
  reset: 17,
});

const OPS: readonly Exclude<BreakerOp, 'record'>[] = Object.freeze([
  'acquire',
  'release',
  'state',
  'snapshot',
  'isolate',
  'reset',
]);

/**
 * @internal The breaker script's calls for one breaker's settings: the `ARGV` of each call (see
 * {@link BREAKER_CALL}), made on its first use and then kept, for every store whose settings read
 * the same (all the per-key views of one store, above all). A breaker on a new key then costs
 * its keys and the commands it sends, not the arguments of every call it might make.
 */
export class BreakerCalls {
  readonly #shape: BreakerShape;
  readonly #args: (readonly string[] | undefined)[] = [];

  constructor(shape: BreakerShape) {
    this.#shape = shape;
  }

  /** The `ARGV` of call `index` (see {@link BREAKER_CALL}). */
  args(index: number): readonly string[] {
    let args = this.#args[index];
    if (args === undefined) {
      const shape = this.#shape;
      args = Object.freeze(
        index < BREAKER_CALL.acquire
          ? breakerArgs({
              ...shape,
              op: 'record',
              failure: (index & 1) !== 0,
              slow: (index & 2) !== 0,
              probe: (index & 4) === 0 && index < 8,
              stale: index >= 8,
            })
          : breakerArgs({ ...shape, op: OPS[index - BREAKER_CALL.acquire] as BreakerOp }),
      );
      this.#args[index] = args;
    }
    return args;
  }

  /**
   * A command running call `index` (see {@link BREAKER_CALL}) on one breaker's `keys` (its state
   * hash and its window, as {@link breakerCall} gives them).
   */
  command(keys: readonly string[], index: number): RedisCommand {
    const call: ScriptCall = { keys, args: this.args(index) };
    return (adapter) => runScript(adapter, BREAKER, call);
  }
}
