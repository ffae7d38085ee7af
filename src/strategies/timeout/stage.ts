import type { Context } from '../../internal/context.js';
import type { DeadlineSink, TimedContext, TimeLimiter, TimeoutOwner } from './TimeLimiter.js';
import type { StageEnv } from '../../pipeline/env.js';
import { BuiltinStep } from '../../pipeline/step.js';
import type { KindDescriptor } from '../descriptor.js';

/** @internal Bounds the steps inside it by the limiter's deadline. */
export class TimeoutStage extends BuiltinStep<TimeLimiter> implements TimeoutOwner, DeadlineSink {
  readonly settlesEarly = true;
  readonly operation: string;
  private readonly limiter: TimeLimiter;
  private readonly sharesClock: boolean;

  constructor(
    descriptor: KindDescriptor<TimeLimiter>,
    limiter: TimeLimiter,
    env: StageEnv,
    name: string | undefined,
  ) {
    super(descriptor, limiter, env, name);
    this.limiter = limiter;
    this.operation = env.policy;
    this.sharesClock = limiter.clock === env.clock;
  }

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
    if (hub.has('timeout')) hub.emit('timeout', { policy, stage: this.kind, timeoutMs });
  }
}
