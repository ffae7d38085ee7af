import type { Context } from '../../internal/context.js';
import { isRateLimitExceededError } from '../../errors.js';
import type { RateLimiter } from './RateLimiter.js';
import type { Inward, Outward, Step } from '../../pipeline/engine.js';
import { primitiveState } from '../../pipeline/metrics.js';
import { UNLINKED, type StageEnv } from '../../pipeline/env.js';

/** @internal Takes one token per execution before the steps inside it run. */
export class RateLimiterStage implements Step {
  readonly kind = 'rate-limiter';
  readonly name: string;
  inner: Inward = UNLINKED;
  outer: Outward = UNLINKED;
  readonly settlesEarly = false;
  private readonly limiter: RateLimiter;
  private readonly env: StageEnv;
  private readonly sharesClock: boolean;

  constructor(limiter: RateLimiter, env: StageEnv, name: string | undefined) {
    this.limiter = limiter;
    this.env = env;
    this.name = name ?? this.kind;
    this.sharesClock = limiter.clock === env.clock;
  }

  enter(ctx: Context): void {
    const root = ctx.root;
    const granted =
      this.sharesClock && root.inFirstTurn
        ? this.limiter.tryAcquireAt(root.startedAt)
        : this.limiter.tryAcquire(1);
    if (granted) {
      this.inner.enter(ctx);
      return;
    }
    // Slow path: wait in line (when maxWait allows) or be refused with retryAfterMs.
    const signal = this.limiter.maxWaitMs > 0 ? ctx.signal : undefined;
    this.limiter.acquire(1, signal).then(
      () => this.inner.enter(ctx),
      (error: unknown) => {
        if (isRateLimitExceededError(error)) {
          const { counters, hub, policy } = this.env;
          counters.rateLimit++;
          if (hub.has('rejected')) {
            hub.emit('rejected', { policy, stage: this.kind, reason: 'rate-limit', error });
          }
        }
        this.outer.leave(ctx, false, error);
      },
    );
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    this.outer.leave(ctx, ok, value);
  }

  describe(): string {
    return this.limiter.describe();
  }

  state(): Record<string, unknown> {
    return primitiveState(this.name, this.limiter);
  }
}
