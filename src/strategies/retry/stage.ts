import { AttemptContext, type Context } from '../../internal/context.js';
import { nextTurn, sleep } from '../../internal/signals.js';
import type { Retry, RetryState } from './Retry.js';
import { BuiltinStep } from '../../pipeline/step.js';

/** @internal Runs the steps inside it again on failure, numbering attempts in `ctx.attempt`. */
export class RetryStage extends BuiltinStep<Retry> {
  readonly settlesEarly = false;
  private readonly retry = this.primitive;
  private readonly single = this.primitive.maxAttempts === 1;
  private readonly budget = this.primitive.budget;

  enter(ctx: Context): void {
    if (this.budget !== undefined) this.budget.deposit();
    // Attempt 1 reuses the context unless an outer retry numbered it otherwise.
    this.inner.enter(ctx.attempt === 1 ? ctx : new AttemptContext(ctx, this, 1));
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    const received = ctx.owner === this ? (ctx.parent as Context) : ctx;
    if (this.single || (ok && !this.retry.judgesResults)) {
      this.outer.leave(received, ok, value);
      return;
    }
    // A caller's abort (or an enclosing deadline) is never retried.
    if (received.aborted) {
      this.outer.leave(received, false, received.abortReason);
      return;
    }
    const attempt = ctx.attempt;
    // The execution's retry state rides on the attempt contexts this stage makes; the first
    // failure starts it.
    const state: RetryState =
      ctx.owner === this && attempt > 1 ? (ctx as AttemptContext).retryState : { prev: 0 };
    let delayMs: number;
    try {
      delayMs = this.retry.decide(attempt, !ok, value, state);
    } catch (error) {
      this.outer.leave(received, false, error);
      return;
    }
    if (delayMs < 0) {
      this.outer.leave(received, ok, value);
      return;
    }
    const { counters, hub, policy } = this.env;
    // A wait that ends at or after the enclosing deadline would only meet the timeout: the last
    // outcome goes out now instead.
    if (delayMs > 0 && delayMs >= received.remaining) {
      if (hub.has('retry')) {
        hub.emit(
          'retry',
          ok
            ? { policy, stage: this.kind, attempt, delayMs, result: value, skipped: 'deadline' }
            : { policy, stage: this.kind, attempt, delayMs, error: value, skipped: 'deadline' },
        );
      }
      this.outer.leave(received, ok, value);
      return;
    }
    if (this.budget !== undefined && !this.budget.tryWithdraw()) {
      if (hub.has('retry')) {
        hub.emit(
          'retry',
          ok
            ? { policy, stage: this.kind, attempt, delayMs, result: value, skipped: 'budget' }
            : { policy, stage: this.kind, attempt, delayMs, error: value, skipped: 'budget' },
        );
      }
      this.outer.leave(received, ok, value);
      return;
    }
    counters.retries++;
    if (hub.has('retry')) {
      hub.emit(
        'retry',
        ok
          ? { policy, stage: this.kind, attempt, delayMs, result: value }
          : { policy, stage: this.kind, attempt, delayMs, error: value },
      );
    }
    const again = (): void => {
      if (received.aborted) this.outer.leave(received, false, received.abortReason);
      else this.inner.enter(new AttemptContext(received, this, attempt + 1, state));
    };
    // Even without a delay the next attempt waits for a later macrotask, so a deadline or an abort
    // lands between attempts that fail at once.
    if (delayMs > 0) {
      sleep(this.retry.clock, delayMs, received.signal).then(again, (error: unknown) =>
        this.outer.leave(received, false, error),
      );
    } else {
      nextTurn(again);
    }
  }
}
