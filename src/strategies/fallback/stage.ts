import { outside, type Context } from '../../internal/context.js';
import { RejectedResultError } from '../../errors.js';
import type { Fallback } from './Fallback.js';
import { whenSettled } from '../../internal/signals.js';
import { BuiltinStep, reportFallback } from '../../pipeline/step.js';
import { isAsyncAnswerError } from '../../internal/validate.js';
import { FALLBACK, type FusedStage } from '../../pipeline/fused.js';

/**
 * @internal Replaces matching errors of the steps inside it, and results `onResult` rejects, with
 * the fallback's value.
 */
export class FallbackStage extends BuiltinStep<Fallback<unknown>> {
  // Stryker disable next-line BooleanLiteral: only chooses a deferred promise and slot tracking, which answer the same for a step that answers after the work
  readonly settlesEarly = false;
  // A method that may reach the context may read `startedAt` once the call has failed.
  readonly needsClock = this.primitive.takesContext;
  private readonly fallback = this.primitive;
  // Read once: without `onResult` a result costs one field read.
  private readonly judgesResults = this.primitive.judgesResults;

  enter(ctx: Context): void {
    this.inner.enter(ctx);
  }

  /** Always fused (a method that takes the context gets the fused call's). */
  fusable(): FusedStage {
    return { code: FALLBACK, kind: this.kind, fallback: this.fallback };
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    // A caller who gave up wants no substitute value; an enclosing timeout has already answered.
    if (ok) {
      if (this.judgesResults && !ctx.aborted) this.judge(ctx, value);
      else this.outer.leave(ctx, true, value);
      return;
    }
    const handled = !ctx.aborted && this.handles(value);
    if (handled !== true) {
      this.outer.leave(ctx, false, handled === false ? value : handled.refused);
      return;
    }
    this.replace(ctx, value);
  }

  // A result under `onResult`: kept, or replaced as a failure described by a RejectedResultError.
  // A predicate that throws fails the call with what it threw.
  private judge(ctx: Context, result: unknown): void {
    let rejected: boolean;
    try {
      rejected = this.fallback.rejects(result);
    } catch (error) {
      this.outer.leave(ctx, false, error);
      return;
    }
    if (rejected) this.replace(ctx, new RejectedResultError(result));
    else this.outer.leave(ctx, true, result);
  }

  private replace(ctx: Context, value: unknown): void {
    let substitute: unknown;
    try {
      // The deadline of a timeout inside, carried by the root, is not the method's.
      substitute = this.fallback.recover(value, [outside(ctx, this)]);
    } catch (error) {
      this.settled(ctx, value, false, error);
      return;
    }
    whenSettled(substitute, (settledOk, settled) => this.settled(ctx, value, settledOk, settled));
  }

  /**
   * The method, called for `error`, answered `outcome`. It took over from `error` when it
   * supplied a value, or failed with another error: the fallback is counted and reported then,
   * with `error`, which the call's own outcome would otherwise hide. A method that throws or
   * rejects with the very error it was given declined it: no fallback, and the call fails with
   * that error, reported as the call's failure. Nothing is counted for a caller who left.
   */
  private settled(ctx: Context, error: unknown, ok: boolean, outcome: unknown): void {
    if (!ctx.aborted && (ok || outcome !== error)) {
      reportFallback(this.env, this.kind, error);
      // A value that can still reach the caller: the call resolves by the fallback (a later
      // success, after a retry outside, is the work's own).
      if (ok) ctx.root.recovered = true;
    }
    this.outer.leave(ctx, ok, outcome);
  }

  // Whether `on` matches `error`: one that throws declines it; one that answered with a promise
  // gives the TypeError saying so, which the call fails with.
  private handles(error: unknown): boolean | { refused: unknown } {
    try {
      // Read as a boolean, as a predicate's answer always was.
      return !!this.fallback.handles(error);
    } catch (thrown) {
      return isAsyncAnswerError(thrown) ? { refused: thrown } : false;
    }
  }
}
