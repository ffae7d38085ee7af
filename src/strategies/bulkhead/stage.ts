import {
  SlotContext,
  type Context,
  type Holder,
  type RootContext,
  type SlotOwner,
} from '../../internal/context.js';
import { isBulkheadFullError, isOperationTimeoutError } from '../../errors.js';
import { V8Error } from '../../internal/refusal.js';
import type { Bulkhead } from './Bulkhead.js';
import type { BulkheadTicket } from './store.js';
import { AdaptiveTicket } from './AdaptiveLimit.js';
import { sampleOf } from './sample.js';
import { answered } from '../../internal/answers.js';
import type { Step } from '../../pipeline/engine.js';
import { BuiltinStep } from '../../pipeline/step.js';
import { BULKHEAD, type FusedStage } from '../../pipeline/fused.js';

/**
 * @internal Holds one bulkhead slot while the steps inside it run, and until the work they wrap
 * settles: when a step inside answers first (a deadline), the outcome goes out at once and the
 * slot comes back when the thunk settles. Calls answered while they still hold a slot are the
 * bulkhead's `orphaned`.
 *
 * The slot is held by its ticket, never through `Bulkhead.release()`, so a stray release cannot
 * free it. The first pass reached with the root context records its slot on the root (no
 * allocation); another pass in the same execution (a retry or concurrent branches outside) gets a
 * {@link SlotContext} when its slot needs a name or its work needs counting.
 */
export class BulkheadStage extends BuiltinStep<Bulkhead> implements Holder, SlotOwner {
  // Stryker disable next-line BooleanLiteral: `true` only makes the policy (and a bulkhead outside) take the slower path that follows work past its answer; this stage never answers before the steps inside it, so no caller can tell
  readonly settlesEarly = false;
  private readonly bulkhead = this.primitive;
  // Whether a step inside may answer before the work settles (known once linked).
  private early: boolean | undefined = undefined;

  enter(ctx: Context): void {
    let ticket: false | BulkheadTicket;
    try {
      ticket = this.bulkhead.takeSlot();
    } catch (error) {
      // A custom store that throws: its error is the call's failure, as when it rejects.
      this.outer.leave(ctx, false, error);
      return;
    }
    if (ticket !== false) {
      this.admitted(ctx, ticket);
      return;
    }
    if (!ctx.aborted) {
      // Refused in the caller's turn: the refusal's stack starts at the caller's frame (later,
      // at this one), captured here, with no frame of a helper to walk (see `V8Error`).
      const refusal = this.bulkhead.refuseNow(null);
      if (refusal !== undefined) {
        // Stryker disable next-line OptionalChaining: every host the specs run on has captureStackTrace
        V8Error.captureStackTrace?.(refusal, this.refusalEntry(ctx));
        this.rejected(refusal);
        this.outer.leave(ctx, false, refusal);
        return;
      }
    }
    // Always the signal: a bulkhead taken over by a reload waits in its successor's queue,
    // whatever its own `maxQueue` was (a waiter listens only once queued).
    this.bulkhead.waitSlot(ctx.signal).then(
      (granted) => {
        // The caller gave up while waiting: the slot is not theirs to use.
        if (ctx.aborted) {
          this.bulkhead.giveSlot(granted);
          this.outer.leave(ctx, false, ctx.abortReason);
        } else this.admitted(ctx, granted);
      },
      (error: unknown) => {
        if (ctx.aborted) {
          this.outer.leave(ctx, false, ctx.abortReason);
          return;
        }
        if (isBulkheadFullError(error)) {
          this.rejected(error);
        }
        this.outer.leave(ctx, false, error);
      },
    );
  }

  /** Fused over a fixed limit and the in-memory store. */
  fusable(): FusedStage | undefined {
    if (!this.bulkhead.fusable) return undefined;
    return { code: BULKHEAD, kind: this.kind, bulkhead: this.bulkhead };
  }

  private admitted(ctx: Context, ticket: BulkheadTicket): void {
    const root = ctx.root;
    // Only an execution whose promise is a deferred (a caller's signal, a step that may answer
    // first) can be answered while this pass holds its slot: no other needs to be told.
    // Stryker disable next-line ConditionalExpression: without a caller's signal or a step that answers first, nothing settles the execution before this pass leaves (which unregisters it): holding it too would tell nobody anything
    if (root.deferred) root.hold(this);
    const early = this.early ?? this.findEarly();
    // Stryker disable next-line ConditionalExpression,BooleanLiteral,BlockStatement: the tracked path (slot on the root or a SlotContext, work followed) gives the same outcome as the simple one when nothing inside answers early; it only costs more
    if (!early && ticket === true) {
      // Nothing to remember: any `true` ticket frees a slot, and the work ends with the pass.
      this.inner.enter(ctx);
      return;
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: a slot recorded on the root is held, followed and given back exactly as one in a SlotContext; the root only saves the allocation
    if (ctx === root && root.slotOwner === undefined) {
      // A slot to remember (named, or followed past a deadline), in the usual case: on the root.
      root.takeSlot(this, ticket, early);
      this.inner.enter(ctx);
      return;
    }
    // Stryker disable next-line ConditionalExpression: the tracked path (slot on the root or a SlotContext, work followed) gives the same outcome as the simple one when nothing inside answers early; it only costs more
    if (early) root.tracked = true;
    this.inner.enter(new SlotContext(ctx, this, ticket));
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    let received = ctx;
    let ticket: BulkheadTicket = true;
    const root = ctx.root;
    if (ctx.owner === this) {
      // Each step leaves once per entry: a pass that answered early gets no second outcome (the
      // step inside that answered keeps the late one), and its slot comes back when it drains.
      const own = ctx as SlotContext;
      received = own.parent;
      ticket = own.ticket as BulkheadTicket;
      if (own.running !== 0) {
        // A step inside answered before the work settled: the slot follows the work.
        own.left = true;
        this.leftEarly(root, received, ticket, ok, value);
        return;
      }
    } else if (root.slotOwner === this) {
      // The pass that recorded its slot on the root, the only one reached with the root: while
      // the record stands, no other pass of this step leaves with a context not its own. A step
      // outside that runs this one more than once at a time (a hedge, a custom stage) hands every
      // run a context of its own, the first too; a retry runs it again either after the slot is
      // given back (nothing inside answers early) or in a SlotContext (something may).
      ticket = root.slotTicket as BulkheadTicket;
      if (root.slotRunning !== 0) {
        root.slotLeft = true;
        this.leftEarly(root, received, ticket, ok, value);
        return;
      }
      root.freeSlot();
    }
    // Stryker disable next-line ConditionalExpression: a fast path; with no holder at all, unhold finds nothing to remove
    if (root.holder !== undefined) root.unhold(this);
    // Counted as orphaned when the caller was answered while this slot was held.
    if (root.settled) this.bulkhead.orphan(-1);
    // Only an adaptive limit learns the outcome (its slots are held by its own tickets, also one
    // lent by an adaptive bulkhead that took over on a reload): none is worked out for others.
    this.bulkhead.giveSlot(
      ticket,
      ticket !== true && ticket instanceof AdaptiveTicket
        ? outcome(received, root, ok, value, this.bulkhead)
        : undefined,
    );
    this.outer.leave(received, ok, value);
  }

  /** A step inside answered before the work settled: the slot follows the work. */
  private leftEarly(
    root: RootContext,
    received: Context,
    ticket: BulkheadTicket,
    ok: boolean,
    value: unknown,
  ): void {
    // The outcome an adaptive limit learns once the work drains.
    if (ticket instanceof AdaptiveTicket) {
      ticket.outcome = outcome(received, root, ok, value, this.bulkhead);
    }
    root.unhold(this);
    if (!root.settled) this.bulkhead.orphan(1);
    this.outer.leave(received, ok, value);
  }

  /** The caller was answered (aborted, or a deadline outside passed) while the slot is held. */
  answered(_root: RootContext): void {
    this.bulkhead.orphan(1);
  }

  /** The work of a pass that was answered early has all settled. */
  drained(ticket: unknown): void {
    this.bulkhead.orphan(-1);
    // How the pass answered (see `leftEarly`); only an adaptive limit reads it.
    this.bulkhead.giveSlot(
      ticket as BulkheadTicket,
      ticket instanceof AdaptiveTicket ? ticket.outcome : false,
    );
  }

  private findEarly(): boolean {
    // Stryker disable BooleanLiteral,ConditionalExpression: the tracked path (slot on the root or a SlotContext, work followed) gives the same outcome as the simple one when nothing inside answers early; it only costs more; the chain always ends at the invoker, which has no settlesEarly
    let early = false;
    let step = this.inner as Partial<Step>;
    while (step !== undefined && typeof step.settlesEarly === 'boolean') {
      if (step.settlesEarly) early = true;
      // Stryker restore BooleanLiteral,ConditionalExpression
      step = step.inner as Partial<Step>;
    }
    this.early = early;
    return early;
  }
}

/**
 * How a pass's call went, as an adaptive limit learns it (see `sampleOf`): answered first when
 * the execution's caller was, or when a deadline outside the pass answered the step outside it
 * (an attempt's aggressive timeout, under a retry), which `ctx` tells by its abort reason, read
 * with no signal made; a cooperative deadline answers nobody (see `answered`). A caller's signal
 * aborted with an `OperationTimeoutError` (an enclosing policy's timeout passing it in) is a
 * deadline, not a call called off, as `sampleBy` reads a signal: the execution answered its
 * caller at that abort, so the call is a failure. A call that failed with an error (`value`) the
 * limit's `recordOn` does not match is no sample, unless something aborted it first (a deadline:
 * a failure, as above).
 */
function outcome(
  ctx: Context,
  root: RootContext,
  ok: boolean,
  value: unknown,
  bulkhead: Bulkhead,
): boolean | undefined {
  const cancelled = ctx.cancelled && !(root.aborted && isOperationTimeoutError(root.abortReason));
  // Most passes have no abort reason: no look into the marks then.
  const reason = ok && !cancelled ? ctx.abortReason : undefined;
  return sampleOf(
    ok,
    root.settled || (reason !== undefined && answered.has(reason as object)),
    cancelled,
    ok || cancelled || ctx.abortReason !== undefined || bulkhead.counts(value),
  );
}
