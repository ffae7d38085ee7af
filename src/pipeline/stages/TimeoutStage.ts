import type { Context } from '../../internal/context.js';
import type { TimeLimiter, TimeoutOwner } from '../../primitives/TimeLimiter.js';
import type { Stage } from '../Stage.js';
import type { StageEnv } from './env.js';

/** @internal Bounds the inner pipeline by the limiter's deadline. */
export class TimeoutStage implements Stage, TimeoutOwner {
  readonly kind = 'timeout';
  readonly name: string;
  readonly operation: string;
  private readonly limiter: TimeLimiter;
  private readonly env: StageEnv;

  constructor(limiter: TimeLimiter, env: StageEnv, name: string | undefined) {
    this.limiter = limiter;
    this.env = env;
    this.name = name ?? this.kind;
    this.operation = env.policy;
  }

  execute<T>(ctx: Context, next: (ctx: Context) => Promise<T>): Promise<T> {
    return this.limiter.run(ctx, next, this);
  }

  onTimeout(timeoutMs: number): void {
    const { counters, hub, policy } = this.env;
    counters.timeouts++;
    if (hub.has('timeout')) hub.emit('timeout', { policy, stage: this.kind, timeoutMs });
  }

  describe(): string {
    return `timeout ${this.limiter.timeoutMs} ms`;
  }

  state(): Record<string, unknown> {
    return { kind: this.kind, name: this.name, timeoutMs: this.limiter.timeoutMs };
  }
}
