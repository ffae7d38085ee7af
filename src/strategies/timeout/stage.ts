import type { Context } from '../../internal/context.js';
import type { DeadlineSink, TimedContext, TimeLimiter, TimeoutOwner } from './TimeLimiter.js';
import { BuiltinStep } from '../../pipeline/step.js';

/** @internal Bounds the steps inside it by the limiter's deadline. */
export class TimeoutStage extends BuiltinStep<TimeLimiter> implements TimeoutOwner, DeadlineSink {
  readonly settlesEarly = true;
  readonly operation = this.env.policy;
  private readonly limiter = this.primitive;
  private readonly sharesClock = this.primitive.clock === this.env.clock;
  // Its deadline starts from `startedAt`, read at `execute` then.
  readonly needsClock = this.sharesClock;

  enter(ctx: Context): void {
    const root = ctx.root;
    const now = this.sharesClock && root.inFirstTurn ? root.startedAt : this.limiter.clock.now();
    this.inner.enter(this.limiter.start(ctx, this, now, this));
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    const timed = ctx as TimedContext;
    // After the deadline the outcome is stale: the way out has already been taken.
    if (timed.finish()) this.outer.leave(timed.parent, ok, value);
  }

  /** The deadline passed first. */
  expired(timed: TimedContext, error: unknown): void {
    this.outer.leave(timed.parent, false, error);
  }

  onTimeout(timeoutMs: number): void {
    const { counters, hub, policy } = this.env;
    counters.timeouts++;
    // Stryker disable next-line ConditionalExpression: a fast path; an event nobody listens to reaches nobody
    if (hub.has('timeout')) hub.emit('timeout', { policy, stage: this.kind, timeoutMs });
  }
}
