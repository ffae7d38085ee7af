import { AttemptContext, outside, type Context } from '../../internal/context.js';
import { retryInfo, type Retry, type RetryReport, type RetryState } from './Retry.js';
import { BuiltinStep } from '../../pipeline/step.js';
import { RETRY, type FusedStage } from '../../pipeline/fused.js';

/** @internal Runs the steps inside it again on failure, numbering attempts in `ctx.attempt`. */
export class RetryStage extends BuiltinStep<Retry> {
  // Stryker disable next-line BooleanLiteral: a retry answers only once its attempt has settled; saying it might answer earlier only makes a policy count thunk calls it need not
  readonly settlesEarly = false;
  private readonly retry = this.primitive;
  // Stryker disable next-line ConditionalExpression: Retry.next answers a one-attempt outcome as final too; the shortcut only saves the call (it differs for a caller who has given up, and was answered already)
  private readonly single = this.primitive.maxAttempts === 1;
  private readonly budget = this.primitive.budget;

  enter(ctx: Context): void {
    if (this.budget !== undefined) {
      try {
        this.budget.deposit();
      } catch (error) {
        // A custom store that throws: its error is the call's failure, before any attempt.
        this.outer.leave(ctx, false, error);
        return;
      }
    }
    // Attempt 1 reuses the context unless an outer retry numbered it otherwise.
    // Stryker disable next-line ConditionalExpression: a context of its own for attempt 1 reads the same; reusing the caller's saves the allocation
    this.inner.enter(ctx.attempt === 1 ? ctx : new AttemptContext(ctx, this, 1));
  }

  /** Fused without a budget (whose store may answer later). */
  fusable(): FusedStage | undefined {
    if (this.budget !== undefined) return undefined;
    return { code: RETRY, kind: this.kind, retry: this.retry, report: this.report };
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    const received = ctx.owner === this ? (ctx.parent as Context) : ctx;
    // Stryker disable next-line ConditionalExpression,LogicalOperator,BlockStatement: the happy path's shortcut; Retry.next accepts these outcomes as final too (it differs only for a caller who has given up, and was answered already)
    if (this.single || (ok && !this.retry.judgesResults)) {
      this.outer.leave(received, ok, value);
      return;
    }
    const attempt = ctx.attempt;
    // The execution's retry state rides on the attempt contexts this stage makes; the first
    // failure starts it.
    const state: RetryState =
      // Stryker disable next-line ConditionalExpression: past attempt 1 the context handed back is always this stage's own (every step hands back the one it received), so `ctx.owner === this` only guards
      ctx.owner === this && attempt > 1 ? (ctx as AttemptContext).retryState : { prev: 0 };
    // Every rule (an abort never retried, the deadline, the budget, the event) is the retry's:
    // what it throws (the abort reason, or what a predicate threw) goes out as the failure.
    let wait: Promise<void> | undefined;
    try {
      wait = this.retry.nextAttempt(
        attempt,
        !ok,
        value,
        state,
        // The deadline of a timeout inside, carried by the root, bounds the attempt, not this.
        outside(received, this),
        this.report,
      );
    } catch (error) {
      this.outer.leave(received, false, error);
      return;
    }
    if (wait === undefined) {
      this.outer.leave(received, ok, value);
      return;
    }
    wait.then(
      () => this.inner.enter(new AttemptContext(received, this, attempt + 1, state)),
      // Stryker disable next-line BooleanLiteral: the wait rejects only for a caller who has given up, who was answered already (abort or deadline)
      (error: unknown) => this.outer.leave(received, false, error),
    );
  }

  // The retry's report of each retry due: counted in `metrics().retries` (a skipped one too, as
  // every `retry` event is), then, while someone listens for `retry`, told in the policy's `retry`
  // event (its payload built only then).
  private readonly report: RetryReport = (attempt, delayMs, failed, outcome, skipped) => {
    const { counters, hub, policy } = this.env;
    counters.retries++;
    if (hub.has('retry')) {
      hub.emit('retry', {
        policy,
        stage: this.kind,
        ...retryInfo(attempt, delayMs, failed, outcome, skipped),
      });
    }
  };
}
