import type { Context } from '../../internal/context.js';
import { isRateLimitExceededError } from '../../errors.js';
import { V8Error } from '../../internal/refusal.js';
import type { RateLimiter } from './RateLimiter.js';
import { BuiltinStep } from '../../pipeline/step.js';
import { LIMITER, type FusedStage } from '../../pipeline/fused.js';

/** @internal Takes one token per execution before the steps inside it run. */
export class RateLimiterStage extends BuiltinStep<RateLimiter> {
  // Stryker disable next-line BooleanLiteral: `true` only makes the policy (and a bulkhead outside) take the slower path that follows work past its answer; this stage never answers before the steps inside it, so no caller can tell
  readonly settlesEarly = false;
  private readonly limiter = this.primitive;
  private readonly sharesClock = this.primitive.clock === this.env.clock;
  // Its refill is measured at `startedAt`, read at `execute` then.
  readonly needsClock = this.sharesClock;

  enter(ctx: Context): void {
    const root = ctx.root;
    let granted: boolean;
    try {
      granted =
        this.sharesClock && root.inFirstTurn
          ? this.limiter.tryAcquireAt(root.startedAt)
          : this.limiter.tryTake();
    } catch (error) {
      // A custom store that throws: its error is the call's failure, as when it rejects (not
      // counted as a refusal), and the steps outside see it go out like any other.
      this.outer.leave(ctx, false, error);
      return;
    }
    // Slow path: wait in line (when maxWait allows) or be refused with retryAfterMs. The signal
    // goes along even with no wait allowed: a remote store's late grant to a caller who left
    // must neither call the thunk nor keep the token. The store's answer is not raced with the
    // signal: the policy (or an enclosing timeout) answers the caller at its abort. What the
    // store throws there (or an answer that is no promise) comes back as a rejection.
    const taken = granted ? undefined : this.limiter.acquireUnraced(ctx.signal);
    if (taken === undefined) {
      this.inner.enter(ctx);
      return;
    }
    if (isRateLimitExceededError(taken)) {
      // Refused in the caller's turn: the refusal's stack starts at the caller's frame (later, at
      // this one), captured here, with no frame of a helper to walk (see `V8Error`).
      // Stryker disable next-line OptionalChaining: every host the specs run on has captureStackTrace
      V8Error.captureStackTrace?.(taken, this.refusalEntry(ctx));
      this.rejected(taken);
      this.outer.leave(ctx, false, taken);
      return;
    }
    taken.then(
      () => this.inner.enter(ctx),
      (error: unknown) => {
        if (isRateLimitExceededError(error)) {
          this.rejected(error);
        }
        this.outer.leave(ctx, false, error);
      },
    );
  }

  /** Fused over the in-memory store. */
  fusable(): FusedStage | undefined {
    if (!this.limiter.fusable) return undefined;
    return { code: LIMITER, kind: this.kind, limiter: this.limiter, sharesClock: this.sharesClock };
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    this.outer.leave(ctx, ok, value);
  }
}
