import type { Context } from '../../internal/context.js';
import type { Fallback } from '../../primitives/Fallback.js';
import type { Stage } from '../Stage.js';
import type { StageEnv } from './env.js';

/** @internal Replaces matching errors of the inner pipeline with the fallback's value. */
export class FallbackStage implements Stage {
  readonly kind = 'fallback';
  readonly name: string;
  private readonly fallback: Fallback<unknown>;
  private readonly env: StageEnv;

  constructor(fallback: Fallback<unknown>, env: StageEnv, name: string | undefined) {
    this.fallback = fallback;
    this.env = env;
    this.name = name ?? this.kind;
  }

  execute<T>(ctx: Context, next: (ctx: Context) => Promise<T>): Promise<T> {
    return next(ctx).then(undefined, (error: unknown) => this.recover(error, ctx)) as Promise<T>;
  }

  private recover(error: unknown, ctx: Context): unknown {
    // A caller who gave up wants no substitute value; an enclosing timeout has already answered.
    if (ctx.aborted || !this.fallback.handles(error)) throw error;
    const { counters, hub, policy } = this.env;
    counters.fallbacks++;
    if (hub.has('fallback')) hub.emit('fallback', { policy, stage: this.kind, error });
    ctx.root.recovered = true;
    return this.fallback.recover(error, [ctx]);
  }

  describe(): string {
    return this.fallback.describe();
  }

  state(): Record<string, unknown> {
    return { kind: this.kind, name: this.name };
  }
}
