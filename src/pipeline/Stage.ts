import type { ExecutionContext } from './ExecutionContext.js';

/**
 * One step of a policy's pipeline. Built-in stages are thin adapters over the primitives; any
 * object with this shape can be added with `builder.use(stage)` and is a first-class stage.
 *
 * A stage calls `next(ctx)` to run the rest of the pipeline (inner stages, then the thunk) and
 * returns a promise of its result. It may call `next` several times (as retry does), not at all
 * (to reject or short-circuit), or with a context of its own making.
 *
 * A stage that refuses a call itself with a `RateLimitExceededError`, `BulkheadFullError` or
 * `CircuitOpenError`, or times it out with an `OperationTimeoutError` (of this copy of bulwark or
 * another), is reported as a built-in stage of that sort: a `rejected` or `timeout` event with its
 * `kind` as `stage`, counted in `metrics()`. An error that came out of `next` (an inner stage's,
 * reported there, or the work's own) is not the stage's, nor is its context's abort reason.
 *
 * @example
 * ```ts
 * const logging: Stage = {
 *   kind: 'logging',
 *   async execute(ctx, next) {
 *     console.log(`${ctx.policyName}: attempt ${ctx.attempt}`);
 *     return next(ctx);
 *   },
 * };
 * // Declared inside `retry`, the stage runs (and logs) once per attempt.
 * const policy = Policy.builder('pricing').retry({ maxAttempts: 3 }).use(logging).build();
 * ```
 */
export interface Stage {
  /** What the stage is: `'retry'`, `'bulkhead'`, … or a custom stage's own kind. */
  readonly kind: string;
  /** Optional name shown by `policy.stages`, `describe()` and metrics; defaults to `kind`. */
  readonly name?: string | undefined;
  /** Runs this stage around `next`. */
  execute<T>(ctx: ExecutionContext, next: (ctx: ExecutionContext) => Promise<T>): Promise<T>;
  /** Optional one-line description for `policy.describe()`. */
  describe?(): string;
  /** Optional live state for `policy.metrics().stages`. */
  state?(): Record<string, unknown>;
}

/** A stage's entry in `policy.stages`. */
export interface StageInfo {
  readonly kind: string;
  readonly name: string;
}
