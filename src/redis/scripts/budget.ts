// The examples and benchmarks compile this file without src/redis/lua.d.ts in their projects.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../lua.d.ts" />
import { LuaScript, type ScriptCall } from '../script.js';
import source from './budget.lua';

/** @internal One call of the retry budget script (budget.lua). */
interface BudgetParams {
  /** The budget's hash. */
  readonly key: string;
  /** Length of one bucket (a tenth of the window). */
  readonly bucketMs: number;
  /** Buckets per window. */
  readonly buckets: number;
  /** First attempts to record. */
  readonly deposits: number;
  /** Retries to record. */
  readonly withdrawals: number;
}

/** @internal The `KEYS` and `ARGV` of `params`, in budget.lua's order. */
function budgetCall(params: BudgetParams): ScriptCall {
  return {
    keys: [params.key],
    args: [
      String(params.bucketMs),
      String(params.buckets),
      String(params.deposits),
      String(params.withdrawals),
    ],
  };
}

/**
 * @internal The retry budget's counts. Reply: `[deposits, withdrawals]` in the window, as
 * strings.
 */
export const BUDGET = /* @__PURE__ */ new LuaScript(source, budgetCall);
