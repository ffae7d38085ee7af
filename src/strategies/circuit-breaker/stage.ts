import { TimingContext, type Context } from '../../internal/context.js';
import { CircuitOpenError, isCircuitOpenError } from '../../errors.js';
import { V8Error } from '../../internal/refusal.js';
import type { CircuitBreaker, CircuitStateChange } from './CircuitBreaker.js';
import { BuiltinStep } from '../../pipeline/step.js';
import { BREAKER, type FusedStage } from '../../pipeline/fused.js';

/** @internal Asks the breaker before each call and records how the call ended. */
export class CircuitBreakerStage extends BuiltinStep<CircuitBreaker> {
  // Stryker disable next-line BooleanLiteral: true only makes the policy create its promise up front; every call settles the same
  readonly settlesEarly = false;
  private readonly breaker = this.primitive;
  private readonly sharesClock = this.primitive.clock === this.env.clock;
  // Slow calls are timed from `startedAt`, read at `execute` then.
  readonly needsClock = this.sharesClock && this.primitive.timesCalls;

  enter(ctx: Context): void {
    let ticket: number | Promise<number> | CircuitOpenError;
    try {
      ticket = this.breaker.tryAdmit();
    } catch (error) {
      // A custom store that throws: its error goes to the caller, not counted as a refusal.
      this.refused(ctx, error);
      return;
    }
    if (typeof ticket === 'number') this.admitted(ctx, ticket);
    else if (ticket instanceof CircuitOpenError) {
      // With `halfOpenWait`, a call refused in HALF_OPEN may wait for the trial calls' verdict.
      if (this.waited(ctx, ticket)) return;
      // Refused in the caller's turn, its stack starts at the caller's frame (later, at this
      // one): captured here, with no frame of a helper to walk (see `V8Error`).
      // Stryker disable next-line OptionalChaining: every host the specs run on has captureStackTrace
      V8Error.captureStackTrace?.(ticket, this.refusalEntry(ctx));
      this.rejected(ticket);
      this.outer.leave(ctx, false, ticket);
    } else {
      // A shared store decides remotely: wait for its exact answer.
      ticket.then(
        (t) => this.admittedLate(ctx, t),
        (error: unknown) => {
          if (!this.waited(ctx, error)) this.refused(ctx, error);
        },
      );
    }
  }

  /** Fused over the in-memory store, with neither slow-call timing nor `halfOpenWait`. */
  fusable(): FusedStage | undefined {
    if (!this.breaker.fusable) return undefined;
    return { code: BREAKER, kind: this.kind, breaker: this.breaker };
  }

  /** Waits for the HALF_OPEN verdict when the breaker lets `refusal`'s call wait; else false. */
  private waited(ctx: Context, refusal: unknown): boolean {
    const wait = this.breaker.waitVerdict(refusal, ctx.inheritedSignal, ctx.inheritedRemaining);
    if (wait === undefined) return false;
    wait.then(
      (t) => this.admittedLate(ctx, t),
      (error: unknown) => {
        if (ctx.aborted) this.outer.leave(ctx, false, ctx.abortReason);
        else this.refused(ctx, error);
      },
    );
    return true;
  }

  /**
   * A ticket that came after the call's turn (a shared store's answer, or the verdict a call
   * waited for): the call goes on, unless its caller gave up meanwhile; then the ticket goes back.
   */
  private admittedLate(ctx: Context, ticket: number): void {
    if (this.breaker.handBack(ticket, ctx.aborted)) {
      // Stryker disable next-line BooleanLiteral: the caller's abort has settled the call already, and an outer step passes an aborted context on whatever it says
      this.outer.leave(ctx, false, ctx.abortReason);
    } else this.admitted(ctx, ticket);
  }

  private admitted(ctx: Context, ticket: number): void {
    const breaker = this.breaker;
    // A call admitted CLOSED (a negative ticket, naming its CLOSED period) needs no context nor
    // clock read: its ticket rides on the context it came with, whatever calls of earlier periods
    // are still out. Not when another breaker step's ticket rides there (breakers nested with
    // nothing between them that makes a context). A half-open probe keeps its ticket in a
    // context; slow-call detection keeps the start time.
    // Stryker disable next-line BlockStatement: a fast path; a context of this step's with the same ticket and no start time records the same
    if (ticket < 0 && ctx.breakerTicket === 0 && !breaker.timesCalls) {
      ctx.breakerTicket = ticket;
      this.inner.enter(ctx);
      return;
    }
    // Timed from the call's start: `startedAt` while still in the call's first turn.
    const start = !breaker.timesCalls
      ? NaN
      : this.sharesClock && ctx.root.inFirstTurn
        ? ctx.root.startedAt
        : breaker.clock.now();
    this.inner.enter(new TimingContext(ctx, this, start, ticket));
  }

  private refused(ctx: Context, error: unknown): void {
    if (isCircuitOpenError(error)) {
      this.rejected(error);
    }
    this.outer.leave(ctx, false, error);
  }

  watchState(listener: (change: CircuitStateChange) => void): () => void {
    return this.breaker.onStateChange(listener);
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    const breaker = this.breaker;
    let received = ctx;
    let durationMs: number | undefined;
    let ticket: number;
    if (ctx.owner === this) {
      const own = ctx as TimingContext;
      received = own.parent;
      ticket = own.ticket;
      if (breaker.timesCalls) durationMs = breaker.clock.now() - own.start;
    } else {
      // The context this step passed on as it came, with its ticket (see `admitted`): an inner
      // breaker step that found it there made a context of its own.
      ticket = ctx.breakerTicket;
      ctx.breakerTicket = 0;
    }
    // The caller gave up (or a hedge gave this attempt up): the outcome, whichever it is, is not
    // recorded (as with the standalone breaker), and a probe gives its slot back.
    if (ctx.cancelled) breaker.onCancel(ticket);
    else if (!ok) {
      try {
        breaker.stepFailed(value, durationMs, ticket);
      } catch (error) {
        // `recordOn` threw (or answered with a promise): the call fails with what it threw.
        this.outer.leave(received, false, error);
        return;
      }
    } else if (!breaker.judgesResults) breaker.stepSucceeded(durationMs, ticket);
    else {
      // `recordOnResult` judges the result; the caller receives it either way, unless the
      // predicate threw: then the call fails with what it threw, as retry's predicates do.
      try {
        breaker.resultRule(value, durationMs, ticket);
      } catch (error) {
        this.outer.leave(received, false, error);
        return;
      }
    }
    this.outer.leave(received, ok, value);
  }
}
