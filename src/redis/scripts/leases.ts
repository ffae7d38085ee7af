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
      /** `release`: frees every lease of `ids` (at least one); `renew`: extends every lease of
       * `ids` still held, and names those lost; `retake`: extends every lease of `ids`, adding
       * those lost again whatever the limit. */
      readonly op: 'release' | 'renew' | 'retake';
      readonly ids: readonly string[];
    };

/** @internal One call of the bulkhead's lease script (leases.lua). */
export type LeasesParams = LeaseOp & {
  /** The sorted set of leases. */
  readonly key: string;
  readonly maxConcurrent: number;
  /** How long a lease lasts without renewal (an integer). */
  readonly leaseTtlMs: number;
};

/** @internal The `KEYS` and `ARGV` of `params`, in leases.lua's order. */
export function leasesCall(params: LeasesParams): ScriptCall {
  const settings = [String(params.maxConcurrent), String(params.leaseTtlMs)];
  if (params.op !== 'acquire') {
    return { keys: [params.key], args: [params.op, ...settings, ...params.ids] };
  }
  const adopt = params.adopt ?? NONE;
  return {
    keys: [params.key],
    args:
      adopt.length === 0
        ? ['acquire', ...settings, params.id, ...params.free]
        : ['adopt', ...settings, params.id, String(adopt.length), ...adopt, ...params.free],
  };
}

const NONE: readonly string[] = [];

/**
 * @internal The bulkhead's leases. Replies: acquire `[granted 1/0, in use]`; release
 * `[1, in use]`; renew and retake `[in use, lost ids]`.
 */
export const LEASES = /* @__PURE__ */ new LuaScript(source, leasesCall);
