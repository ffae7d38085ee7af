import type { Context } from '../../internal/context.js';
import { isBulkheadFullError } from '../../errors.js';
import type { Bulkhead } from '../../primitives/Bulkhead.js';
import type { Inward, Outward, Step } from '../engine.js';
import { primitiveState } from '../metrics.js';
import { UNLINKED, type StageEnv } from './env.js';

/** @internal Holds one bulkhead slot while the steps inside it run. */
export class BulkheadStage implements Step {
  readonly kind = 'bulkhead';
  readonly name: string;
  inner: Inward = UNLINKED;
  outer: Outward = UNLINKED;
  readonly settlesEarly = false;
  private readonly bulkhead: Bulkhead;
  private readonly env: StageEnv;

  constructor(bulkhead: Bulkhead, env: StageEnv, name: string | undefined) {
    this.bulkhead = bulkhead;
    this.env = env;
    this.name = name ?? this.kind;
  }

  enter(ctx: Context): void {
    if (this.bulkhead.tryAcquire()) {
      this.inner.enter(ctx);
      return;
    }
    const signal = this.bulkhead.maxQueue > 0 ? ctx.signal : undefined;
    this.bulkhead.acquire(signal).then(
      () => this.inner.enter(ctx),
      (error: unknown) => {
        if (isBulkheadFullError(error)) {
          const { counters, hub, policy } = this.env;
          counters.bulkhead++;
          if (hub.has('rejected')) {
            hub.emit('rejected', { policy, stage: this.kind, reason: 'bulkhead', error });
          }
        }
        this.outer.leave(ctx, false, error);
      },
    );
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    this.bulkhead.release();
    this.outer.leave(ctx, ok, value);
  }

  describe(): string {
    return this.bulkhead.describe();
  }

  state(): Record<string, unknown> {
    return primitiveState(this.name, this.bulkhead);
  }
}
