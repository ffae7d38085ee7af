import type { Context } from '../../internal/context.js';
import { HedgeRun, type Hedge, type HedgeAttempt, type HedgeSink } from './Hedge.js';
import { BuiltinStep } from '../../pipeline/step.js';

/**
 * @internal Runs the steps inside it once, then again for each hedged attempt (each with its own
 * context: attempt number and signal), and goes out with the first acceptable outcome. The
 * losers' outcomes arrive later and stop here.
 */
export class HedgeStage extends BuiltinStep<Hedge> implements HedgeSink {
  // The winner answers while the losers' work still runs.
  readonly settlesEarly = true;

  enter(ctx: Context): void {
    new HedgeRun(this.primitive, ctx, this).begin();
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    const attempt = ctx as HedgeAttempt;
    attempt.run.settled(attempt, ok, value);
  }

  start(attempt: HedgeAttempt): void {
    this.inner.enter(attempt);
  }

  finish(run: HedgeRun, ok: boolean, value: unknown): void {
    this.outer.leave(run.parent, ok, value);
  }

  hedged(_run: HedgeRun, attempt: number, reason: 'delay' | 'failure'): void {
    const { hub, policy } = this.env;
    if (hub.has('hedge')) hub.emit('hedge', { policy, stage: this.kind, attempt, reason });
  }
}
