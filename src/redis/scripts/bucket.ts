// The examples and benchmarks compile this file without src/redis/lua.d.ts in their projects.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../lua.d.ts" />
import { LuaScript, type ScriptCall } from '../script.js';
import source from './bucket.lua';

/** @internal One call of the token bucket script (bucket.lua). */
export type BucketParams = {
  /** The bucket's hash. */
  readonly key: string;
  readonly maxTokens: number;
  /** Tokens per second. */
  readonly refillRate: number;
  readonly permits: number;
} & (
  | {
      /** Takes `permits`, or reserves them when the bucket is short and the wait fits. */
      readonly op: 'reserve';
      /** Longest wait a reservation may take (`Infinity`: no limit). */
      readonly maxWaitMs: number;
    }
  | {
      /** Gives `permits` back. */
      readonly op: 'refund';
    }
);

/** @internal The `KEYS` and `ARGV` of `params`, in bucket.lua's order. */
export function bucketCall(params: BucketParams): ScriptCall {
  return {
    keys: [params.key],
    args: [
      String(params.maxTokens),
      String(params.refillRate),
      params.op === 'reserve' ? 'r' : 'f',
      String(params.permits),
      params.op === 'refund'
        ? '0'
        : params.maxWaitMs === Infinity
          ? '-1'
          : String(params.maxWaitMs),
    ],
  };
}

/**
 * @internal The token bucket. Reply: `[result, tokens]` as strings; `result` is 0 (granted), the
 * wait in ms (reserved), or minus the wait (refused: longer than `maxWaitMs`).
 */
export const BUCKET = /* @__PURE__ */ new LuaScript(source, bucketCall);
