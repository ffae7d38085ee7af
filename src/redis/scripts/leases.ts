// The examples and benchmarks compile this file without src/redis/lua.d.ts in their projects.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../lua.d.ts" />
import { LuaScript, type ScriptCall } from '../script.js';
import source from './leases.lua';

/** @internal What a lease script call does. */
export type LeaseOp =
  | {
      /**
       * Frees the leases of `free` (if any), adds those of `adopt` (if any) whatever the limit,
       * then takes a slot under lease `id` if fewer than `maxConcurrent` are taken.
       */
      readonly op: 'acquire';
      readonly id: string;
      readonly free: readonly string[];
      /** Leases for calls this process still runs on slots taken while Redis was away. */
      readonly adopt?: readonly string[] | undefined;
    }
  | {
      /** `release`: frees every lease of `ids` (at least one); `retire`: the same, and no
       * renewal adds them again for `leaseTtlMs` (one sent before may still name them), as for
       * the leases `acquire` frees; `renew` and `retake` (after a time without Redis): extends
       * every lease of `ids`, adding again whatever the limit those Redis no longer has, bar
       * those retired since, and names them. */
      readonly op: 'release' | 'retire' | 'renew' | 'retake';
      readonly ids: readonly string[];
    };

/**
 * @internal A process's place in the line of processes with callers queued (see leases.lua),
 * carried by any command.
 */
export interface LeasePlace {
  /** The process (store) standing in the line. */
  readonly owner: string;
  /** How long its first queued caller has waited (ms, an integer); -1: it leaves the line. */
  readonly waitedMs: number;
  /** How long its place lasts unless a command says more (an integer). */
  readonly ttlMs: number;
}

/** @internal One call of the bulkhead's lease script (leases.lua). */
export type LeasesParams = LeaseOp & {
  /**
   * The sorted set of leases; the line's keys are named after it (`:q`, `:qt`), as is the record
   * of leases retired lately (`:r`).
   */
  readonly key: string;
  readonly maxConcurrent: number;
  /** How long a lease lasts without renewal (an integer). */
  readonly leaseTtlMs: number;
  /** This process's place in the line, when it has callers queued or has just had. */
  readonly place?: LeasePlace | undefined;
};

// The keys of the line of processes with callers queued and of the leases retired lately, beside
// the leases `key`: the last ones made kept (a store sends every command for one key).
let lastKeys: readonly [string, string, string, string] = ['', ':q', ':qt', ':r'];

function lineKeys(key: string): readonly [string, string, string, string] {
  if (lastKeys[0] !== key) {
    lastKeys = Object.freeze([key, `${key}:q`, `${key}:qt`, `${key}:r`] as const);
  }
  return lastKeys;
}

/** @internal The `KEYS` and `ARGV` of `params`, in leases.lua's order. */
export function leasesCall(params: LeasesParams): ScriptCall {
  const settings = [String(params.maxConcurrent), String(params.leaseTtlMs)];
  const place = params.place;
  const plus = place === undefined ? '' : '+';
  let args: string[];
  if (params.op !== 'acquire') {
    args = [params.op + plus, ...settings, ...params.ids];
  } else {
    const adopt = params.adopt ?? NONE;
    args =
      adopt.length === 0
        ? ['acquire' + plus, ...settings, params.id, ...params.free]
        : ['adopt' + plus, ...settings, params.id, String(adopt.length), ...adopt, ...params.free];
  }
  if (place !== undefined) {
    args.push(place.owner, String(place.waitedMs), String(place.ttlMs));
  }
  return { keys: lineKeys(params.key), args };
}

const NONE: readonly string[] = [];

/**
 * @internal The bulkhead's leases. Replies: acquire `[granted 1/0, in use, wait, others]`;
 * release and retire `[1, in use, wait, others]`; renew and retake `[in use, ids added again, wait, others]`;
 * `wait`: how long the caller first in line in another process has waited (ms), -1 when none
 * waits; `others`: how many other processes stand in the line.
 */
export const LEASES = /* @__PURE__ */ new LuaScript(source, leasesCall);
