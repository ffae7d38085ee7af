import type { Context } from '../../internal/context.js';
import { sleep } from '../../internal/signals.js';
import type { Chaos, ChaosPlan } from './Chaos.js';
import { BuiltinStep } from '../../pipeline/step.js';

/**
 * @internal Injects latency, faults or results into the calls that reach it. Switched off, a
 * call costs one check; it never makes a context of its own, so its way out is a pass-through.
 */
export class ChaosStage extends BuiltinStep<Chaos<unknown>> {
  // Stryker disable next-line BooleanLiteral: true only makes the policy and an outer bulkhead prepare for an early answer that never comes (same outcomes, same slots)
  readonly settlesEarly = false;
  private readonly chaos = this.primitive;

  enter(ctx: Context): void {
    const chaos = this.chaos;
    if (!chaos.switchedOn) {
      this.inner.enter(ctx);
      return;
    }
    let enabled: boolean;
    try {
      // Stryker disable next-line ConditionalExpression: a fast path; without a per-call switch `enabledFor` answers true too
      enabled = chaos.perCall === undefined || chaos.enabledFor(ctx);
    } catch (error) {
      // A switch that throws fails the call with what it threw, as a predicate does.
      this.outer.leave(ctx, false, error);
      return;
    }
    if (!enabled) {
      this.inner.enter(ctx);
      return;
    }
    const plan = chaos.planCall();
    if (plan.delayMs === 0) {
      this.inject(ctx, plan);
      return;
    }
    this.report(ctx, 'latency', plan.delayMs);
    sleep(chaos.clock, plan.delayMs, ctx.signal).then(
      () => {
        if (ctx.aborted) this.outer.leave(ctx, false, ctx.abortReason);
        else this.inject(ctx, plan);
      },
      (error: unknown) => this.outer.leave(ctx, false, error),
    );
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    this.outer.leave(ctx, ok, value);
  }

  /** After any latency: the call fails, returns the injected value, or goes on inward. */
  private inject(ctx: Context, plan: ChaosPlan): void {
    if (plan.outcome === 'fault') {
      let error: unknown;
      try {
        error = this.chaos.faultFor(ctx);
      } catch (thrown) {
        error = thrown;
      }
      this.report(ctx, 'fault', error);
      this.outer.leave(ctx, false, error);
    } else if (plan.outcome === 'result') {
      const value = this.chaos.resultPlan();
      this.report(ctx, 'result', value);
      this.outer.leave(ctx, true, value);
    } else this.inner.enter(ctx);
  }

  private report(_ctx: Context, injection: 'fault' | 'latency' | 'result', detail: unknown): void {
    const { hub, policy } = this.env;
    // Stryker disable next-line ConditionalExpression: a fast path; an event nobody listens to goes nowhere
    if (!hub.has('chaos')) return;
    const stage = this.kind;
    hub.emit(
      'chaos',
      injection === 'latency'
        ? { policy, stage, injection, delayMs: detail as number }
        : injection === 'fault'
          ? { policy, stage, injection, error: detail }
          : { policy, stage, injection, result: detail },
    );
  }
}
