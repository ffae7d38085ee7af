import type { Context } from '../../internal/context.js';
import type { DeadlineSink, TimedContext, TimeLimiter, TimeoutOwner } from './TimeLimiter.js';
import { BuiltinStep } from '../../pipeline/step.js';

/** @internal Bounds the steps inside it by the limiter's deadline. */
export class TimeoutStage extends BuiltinStep<TimeLimiter> implements TimeoutOwner, DeadlineSink {
  readonly settlesEarly = true;
  readonly operation = this.env.policy;
  private readonly limiter = this.primitive;
  private readonly sharesClock = this.primitive.clock === this.env.clock;

  enter(ctx: Context): void {
    const root = ctx.root;
    const limiter = this.limiter;
    const first = this.sharesClock && root.inFirstTurn;
    const start = root.start;
    let now: number;
    // The start `execute` read, when something needed it.
    if (first && start === start) now = start;
    // None: a hot queue reads it later, one clock read for many calls (see `DeadlineQueue.hot`).
    else if (limiter.queue.hot) now = NaN;
    // Read now, and lent to `startedAt` in the call's first turn.
    else now = first ? root.startedAt : limiter.clock.now();
    this.inner.enter(limiter.start(ctx, this, now, this));
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
