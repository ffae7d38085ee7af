// The examples and benchmarks compile this file without src/redis/lua.d.ts in their projects.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../lua.d.ts" />
import { LuaScript, type ScriptCall } from '../script.js';
import source from './leases.lua';

/** @internal What a lease script call does. */
export type LeaseOp =
  | {
      /**
       * Frees the leases of `free` (if any), then takes a slot under lease `id` if fewer than
       * `maxConcurrent` are taken.
       */
      readonly op: 'acquire';
      readonly id: string;
      readonly free: readonly string[];
    }
  | {
      /** `release`: frees every lease of `ids` (at least one); `renew`: extends every lease of
       * `ids` still held, and names those lost. */
      readonly op: 'release' | 'renew';
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
  const head = [params.op, String(params.maxConcurrent), String(params.leaseTtlMs)];
  return {
    keys: [params.key],
    args: params.op === 'acquire' ? [...head, params.id, ...params.free] : [...head, ...params.ids],
  };
}

/**
 * @internal The bulkhead's leases. Replies: acquire `[granted 1/0, in use]`; release
 * `[1, in use]`; renew `[in use, lost ids]`.
 */
export const LEASES = /* @__PURE__ */ new LuaScript(source, leasesCall);
