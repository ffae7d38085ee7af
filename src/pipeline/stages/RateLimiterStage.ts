import type { Context } from '../../internal/context.js';
import { isRateLimitExceededError } from '../../errors.js';
import type { RateLimiter } from '../../primitives/RateLimiter.js';
import type { Stage } from '../Stage.js';
import type { StageEnv } from './env.js';

/** @internal Takes one token per execution before running the inner pipeline. */
export class RateLimiterStage implements Stage {
  readonly kind = 'rate-limiter';
  readonly name: string;
  private readonly limiter: RateLimiter;
  private readonly env: StageEnv;
  private readonly onReject = (error: unknown): never => {
    if (isRateLimitExceededError(error)) {
      const { counters, hub, policy } = this.env;
      counters.rateLimit++;
      if (hub.has('rejected')) {
        hub.emit('rejected', { policy, stage: this.kind, reason: 'rate-limit', error });
      }
    }
    throw error;
  };

  constructor(limiter: RateLimiter, env: StageEnv, name: string | undefined) {
    this.limiter = limiter;
    this.env = env;
    this.name = name ?? this.kind;
  }

  execute<T>(ctx: Context, next: (ctx: Context) => Promise<T>): Promise<T> {
    if (this.limiter.tryAcquire(1)) return next(ctx);
    // Slow path: wait in line (when maxWait allows) or be refused with retryAfterMs.
    const signal = this.limiter.maxWaitMs > 0 ? ctx.signal : undefined;
    return this.limiter.acquire(1, signal).then(() => next(ctx), this.onReject);
  }

  describe(): string {
    return this.limiter.describe();
  }

  state(): Record<string, unknown> {
    return {
      kind: this.kind,
      name: this.name,
      availableTokens: this.limiter.availableTokens,
      maxTokens: this.limiter.maxTokens,
    };
  }
}
