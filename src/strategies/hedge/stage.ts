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
  readonly inPolicy = true;
  // Stryker disable next-line ConditionalExpression: false reads the clock, which in the call's first turn reads `startedAt` too
  private readonly sharesClock = this.primitive.clock === this.env.clock;
  // Its first delay starts from `startedAt`, read at `execute` then.
  // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: only when the start is read changes: `enter` reads `startedAt` in the call's first turn, which reads the clock then if `execute` did not
  readonly needsClock = this.sharesClock && this.primitive.timed;

  enter(ctx: Context): void {
    const root = ctx.root;
    const hedge = this.primitive;
    // The first delay starts now: `startedAt` when this is still the call's first turn.
    // Stryker disable next-line ConditionalExpression: false reads the clock, which in the call's first turn reads `startedAt` too
    const firstTurn = this.sharesClock && root.inFirstTurn;
    const now = hedge.timed ? (firstTurn ? root.startedAt : hedge.clock.now()) : 0;
    new HedgeRun(hedge, ctx, this).begin(now);
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
    // Stryker disable next-line ConditionalExpression: a fast path; an event nobody listens to goes nowhere
    if (hub.has('hedge')) hub.emit('hedge', { policy, stage: this.kind, attempt, reason });
  }
}
