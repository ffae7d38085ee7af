import {
  endTimedCalls,
  type Context,
  type RootContext,
  type RootDeadline,
} from '../../internal/context.js';
import {
  timeoutError,
  type DeadlineSink,
  type TimedContext,
  type TimeLimiter,
  type TimeoutOwner,
} from './TimeLimiter.js';
import type { Step } from '../../pipeline/engine.js';
import { BuiltinStep, reportTimeout } from '../../pipeline/step.js';

/**
 * Kinds of built-in step that, on the way out after a deadline, run no code of the user's and
 * start no work (a queued call a bulkhead admits resumes in its own context, through a promise).
 */
const QUIET_OUTSIDE: ReadonlySet<string> = new Set(['timeout', 'bulkhead', 'rate-limiter']);

/**
 * @internal Bounds the steps inside it by the limiter's deadline. Reached with the execution's
 * root context while only the work runs inside it (the usual place of a timeout), it keeps the
 * deadline on the root, which is then the queue's entry: no context of its own per call.
 * Otherwise each pass gets a {@link TimedContext}.
 */
export class TimeoutStage
  extends BuiltinStep<TimeLimiter>
  implements TimeoutOwner, DeadlineSink, RootDeadline
{
  readonly settlesEarly = true;
  readonly operation = this.env.policy;
  private readonly limiter = this.primitive;
  private readonly sharesClock = this.primitive.clock === this.env.clock;
  // Its deadline starts from `startedAt`, read at `execute` then.
  readonly needsClock = this.sharesClock;
  readonly queue = this.primitive.deadlineQueue;
  readonly clock = this.primitive.clock;
  readonly cooperative = this.primitive.cooperativeMode;
  private readonly timeoutMs = this.primitive.timeoutMs;
  // Whether the work alone runs inside (known once linked).
  private innermost: boolean | undefined = undefined;
  // Whether a step outside runs something after a deadline (known once linked).
  private outsideActs: boolean | undefined = undefined;

  enter(ctx: Context): void {
    const root = ctx.root;
    // (Flags compared with `true`: V8 keeps no type for a field holding a boolean.)
    const now =
      this.sharesClock === true && root.inFirstTurn === true ? root.startedAt : this.clock.now();
    // What the expiry runs (the way out, its events) runs in this call's async context, not the
    // shared timer's, whenever that way out runs code of the user's or starts work. In cooperative
    // mode the expiry only emits `timeout` and aborts the signal: the way out comes from the
    // work's own outcome, in the work's context.
    const { hub } = this.env;
    const capture =
      hub.has('timeout') ||
      (!this.cooperative &&
        ((this.outsideActs ?? this.findOutside()) || hub.watchesCalls || hub.watchesAttempts));
    // Stryker disable next-line ConditionalExpression,EqualityOperator,LogicalOperator,BlockStatement: the deadline on the root is a fast path: a TimedContext bounds the work alike (deadline, signal, abort, events) for an allocation more; and no execution reaches this step with its root twice (a retry's next attempt, a hedge's or a custom stage's passes each bring a context of their own)
    if (
      ctx === root &&
      root.deadlineOwner === undefined &&
      (this.innermost ?? this.findInner()) === true
    ) {
      root.startDeadline(this, now + this.timeoutMs, now, capture);
      this.inner.enter(root);
      return;
    }
    this.inner.enter(this.limiter.startDeadline(ctx, this, now, this, capture));
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    if (ctx.owner === this) {
      const timed = ctx as TimedContext;
      // After the deadline the outcome is stale: the way out has already been taken.
      if (timed.finish()) this.outer.leave(timed.parent, ok, value);
    } else if ((ctx as RootContext).finishDeadline()) this.outer.leave(ctx, ok, value);
  }

  /**
   * The deadline passed first, or the caller gave up: the attempts under it end now, failed with
   * the error, and the way out begins.
   */
  expired(timed: TimedContext, error: unknown): void {
    if (timed.root.timedCalls !== undefined) endTimedCalls(timed, error);
    this.outer.leave(timed.parent, false, error);
  }

  /** The deadline on the root passed first, or the caller gave up: as `expired`. */
  expiredRoot(root: RootContext, error: unknown): void {
    if (root.timedCalls !== undefined) endTimedCalls(root, error);
    this.outer.leave(root, false, error);
  }

  timedOut(): unknown {
    return timeoutError(this.limiter, this);
  }

  onTimeout(timeoutMs: number): void {
    reportTimeout(this.env, this.kind, timeoutMs);
  }

  /**
   * Whether a step outside this one runs code of the user's or starts work on the way out (a
   * fallback's method, a retry's next attempt, a custom stage): anything but quiet built-ins.
   */
  private findOutside(): boolean {
    let acts = false;
    for (let step = this.outer as Partial<Step>; typeof step.settlesEarly === 'boolean';) {
      if (!(step instanceof BuiltinStep) || !QUIET_OUTSIDE.has(step.kind)) acts = true;
      step = step.outer as Partial<Step>;
    }
    return (this.outsideActs = acts);
  }

  /** Whether the step inside is the work itself (the invoker, which is no step). */
  private findInner(): boolean {
    // Stryker disable next-line ConditionalExpression,BlockStatement: answering false (or nothing) only keeps every pass on the TimedContext path, which bounds the work alike
    return (this.innermost = typeof (this.inner as Partial<Step>).settlesEarly !== 'boolean');
  }
}
