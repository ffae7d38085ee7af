import type { Context } from '../../internal/context.js';
import type { Retry } from '../../primitives/Retry.js';
import type { Stage } from '../Stage.js';
import type { StageEnv } from './env.js';

/** @internal Runs the inner pipeline again on failure, setting `ctx.attempt` for each attempt. */
export class RetryStage implements Stage {
  readonly kind = 'retry';
  readonly name: string;
  private readonly retry: Retry;
  private readonly env: StageEnv;
  private readonly onRetry = (info: {
    attempt: number;
    delayMs: number;
    error?: unknown;
    result?: unknown;
  }): void => {
    const { counters, hub, policy } = this.env;
    counters.retries++;
    if (hub.has('retry')) hub.emit('retry', { policy, stage: this.kind, ...info });
  };

  constructor(retry: Retry, env: StageEnv, name: string | undefined) {
    this.retry = retry;
    this.env = env;
    this.name = name ?? this.kind;
  }

  execute<T>(ctx: Context, next: (ctx: Context) => Promise<T>): Promise<T> {
    return this.retry.run(
      (n: number) => next(n === ctx.attempt ? ctx : ctx.withAttempt(n)),
      ctx,
      this.onRetry,
    );
  }

  describe(): string {
    return this.retry.describe();
  }

  state(): Record<string, unknown> {
    return { kind: this.kind, name: this.name, maxAttempts: this.retry.maxAttempts };
  }
}
