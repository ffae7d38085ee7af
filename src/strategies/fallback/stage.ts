import type { Context } from '../../internal/context.js';
import type { Fallback } from './Fallback.js';
import { whenSettled } from '../../pipeline/engine.js';
import { BuiltinStep } from '../../pipeline/step.js';

/** @internal Replaces matching errors of the steps inside it with the fallback's value. */
export class FallbackStage extends BuiltinStep<Fallback<unknown>> {
  readonly settlesEarly = false;
  private readonly fallback = this.primitive;

  enter(ctx: Context): void {
    this.inner.enter(ctx);
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    // A caller who gave up wants no substitute value; an enclosing timeout has already answered.
    if (ok || ctx.aborted || !this.handles(value)) {
      this.outer.leave(ctx, ok, value);
      return;
    }
    let substitute: unknown;
    try {
      substitute = this.fallback.recover(value, [ctx]);
    } catch (error) {
      // A method that throws supplied nothing: no fallback to count or report.
      this.outer.leave(ctx, false, error);
      return;
    }
    whenSettled(substitute, (settledOk, settled) => {
      // Counted once it has supplied a value that can still reach the caller.
      if (settledOk && !ctx.aborted) this.recovered(ctx, value);
      this.outer.leave(ctx, settledOk, settled);
    });
  }

  /** The fallback supplied a value in place of `error`: count and report it. */
  private recovered(ctx: Context, error: unknown): void {
    const { counters, hub, policy } = this.env;
    counters.fallbacks++;
    if (hub.has('fallback')) hub.emit('fallback', { policy, stage: this.kind, error });
    ctx.root.recovered = true;
  }

  private handles(error: unknown): boolean {
    try {
      return this.fallback.handles(error);
    } catch {
      return false;
    }
  }
}
