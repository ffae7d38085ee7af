import type { Context } from '../../internal/context.js';
import { isBulkheadFullError } from '../../errors.js';
import type { Bulkhead } from '../../primitives/Bulkhead.js';
import type { Stage } from '../Stage.js';
import type { StageEnv } from './env.js';

/** @internal Holds one bulkhead slot while the inner pipeline runs. */
export class BulkheadStage implements Stage {
  readonly kind = 'bulkhead';
  readonly name: string;
  private readonly bulkhead: Bulkhead;
  private readonly env: StageEnv;
  // Pre-bound so the happy path allocates no closures.
  private readonly releaseValue = <T>(value: T): T => {
    this.bulkhead.release();
    return value;
  };
  private readonly releaseError = (error: unknown): never => {
    this.bulkhead.release();
    throw error;
  };
  private readonly onReject = (error: unknown): never => {
    if (isBulkheadFullError(error)) {
      const { counters, hub, policy } = this.env;
      counters.bulkhead++;
      if (hub.has('rejected')) {
        hub.emit('rejected', { policy, stage: this.kind, reason: 'bulkhead', error });
      }
    }
    throw error;
  };

  constructor(bulkhead: Bulkhead, env: StageEnv, name: string | undefined) {
    this.bulkhead = bulkhead;
    this.env = env;
    this.name = name ?? this.kind;
  }

  execute<T>(ctx: Context, next: (ctx: Context) => Promise<T>): Promise<T> {
    if (this.bulkhead.tryAcquire()) return this.run(ctx, next);
    const signal = this.bulkhead.maxQueue > 0 ? ctx.signal : undefined;
    return this.bulkhead.acquire(signal).then(() => this.run(ctx, next), this.onReject);
  }

  private run<T>(ctx: Context, next: (ctx: Context) => Promise<T>): Promise<T> {
    let inner: Promise<T>;
    try {
      inner = next(ctx);
    } catch (error) {
      this.bulkhead.release();
      return Promise.reject(error);
    }
    return inner.then(this.releaseValue, this.releaseError);
  }

  describe(): string {
    return this.bulkhead.describe();
  }

  state(): Record<string, unknown> {
    return {
      kind: this.kind,
      name: this.name,
      availableSlots: this.bulkhead.availableSlots,
      maxConcurrent: this.bulkhead.maxConcurrent,
      queued: this.bulkhead.queued,
    };
  }
}
