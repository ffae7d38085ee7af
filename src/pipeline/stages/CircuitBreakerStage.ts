import { TimingContext, type Context } from '../../internal/context.js';
import { isCircuitOpenError } from '../../errors.js';
import type { CircuitBreaker } from '../../primitives/CircuitBreaker.js';
import type { Inward, Outward, Step } from '../engine.js';
import { UNLINKED, type StageEnv } from './env.js';

/** @internal Asks the breaker before each call and records how the call ended. */
export class CircuitBreakerStage implements Step {
  readonly kind = 'circuit-breaker';
  readonly name: string;
  inner: Inward = UNLINKED;
  outer: Outward = UNLINKED;
  readonly settlesEarly = false;
  /** @internal */
  readonly breaker: CircuitBreaker;
  private readonly env: StageEnv;

  constructor(breaker: CircuitBreaker, env: StageEnv, name: string | undefined) {
    this.breaker = breaker;
    this.env = env;
    this.name = name ?? this.kind;
  }

  enter(ctx: Context): void {
    const breaker = this.breaker;
    try {
      breaker.beforeCall();
    } catch (error) {
      if (isCircuitOpenError(error)) {
        const { counters, hub, policy } = this.env;
        counters.circuitOpen++;
        if (hub.has('rejected')) {
          hub.emit('rejected', { policy, stage: this.kind, reason: 'circuit-open', error });
        }
      }
      this.outer.leave(ctx, false, error);
      return;
    }
    // The clock is read only when slow calls are judged.
    this.inner.enter(breaker.timesCalls ? new TimingContext(ctx, this, breaker.clock.now()) : ctx);
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    const breaker = this.breaker;
    let received = ctx;
    let durationMs: number | undefined;
    if (ctx.owner === this) {
      received = ctx.parent as Context;
      durationMs = breaker.clock.now() - (ctx as TimingContext).start;
    }
    if (ok) breaker.onSuccess(durationMs);
    // The caller gave up: the outcome says nothing about the dependency.
    else if (ctx.root.aborted) breaker.onCancel();
    else breaker.onFailure(value, durationMs);
    this.outer.leave(received, ok, value);
  }

  describe(): string {
    return this.breaker.describe();
  }

  state(): Record<string, unknown> {
    return { kind: this.kind, name: this.name, ...this.breaker.metrics };
  }
}
