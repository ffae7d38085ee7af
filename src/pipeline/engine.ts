import { isThenable } from '../internal/signals.js';
import type { Clock } from '../internal/clock.js';
import {
  listTimedCall,
  trackRunning,
  unlistTimedCall,
  untrackRunning,
  type Context,
  type RootContext,
  type TimedCall,
} from '../internal/context.js';
import type { EventHub } from './events.js';
import { reportAttempt } from './step.js';
import type { FusedStage } from './fused.js';
import type { CircuitStateChange } from '../strategies/circuit-breaker/CircuitBreaker.js';

/** @internal Where a step sends an outcome on the way out. */
export interface Outward {
  /** The outcome of everything inside; `ctx` is the context the receiver passed inward. */
  leave(ctx: Context, ok: boolean, value: unknown): void;
}

/** @internal Where a step goes on the way in. */
export interface Inward {
  enter(ctx: Context): void;
}

/**
 * @internal A stage compiled into a policy's pipeline.
 *
 * Instead of each stage wrapping the next in a promise (one allocation and one microtask hop per
 * stage), an execution walks the steps: inward through `enter`, then, when the thunk settles,
 * outward through `leave`, synchronously from one step to the next. A step may pause the walk
 * (a queue wait, a retry delay) and resume it later, turn it around (retry, fallback), or start
 * the way out early (a rejection, a deadline). A whole execution then costs one promise for the
 * caller and one reaction to the thunk's promise, whatever the number of stages.
 *
 * Steps are linked to their neighbours when the policy is built, so each step's calls to its
 * neighbours stay monomorphic for the engine.
 */
export interface Step extends Inward, Outward {
  readonly kind: string;
  readonly name: string;
  /** The next step inward (or the thunk). Set once by `link`. */
  inner: Inward;
  /** The next step outward (or the policy). Set once by `link`. */
  outer: Outward;
  /**
   * Going in: `ctx` is what this step receives. Ends by calling `this.inner.enter(ctx')` or
   * `this.outer.leave(ctx, false, error)`, now or later. Must not throw.
   */
  enter(ctx: Context): void;
  /**
   * Coming out. Ends by calling `this.outer.leave(received, …)` (`received` being the context
   * this step was entered with) or by going in again. Must not throw.
   */
  leave(ctx: Context, ok: boolean, value: unknown): void;
  /** True when this step can settle an execution before its thunk settles (a deadline). */
  readonly settlesEarly: boolean;
  /**
   * True when this step reads `ctx.startedAt` (a stage that measures time from the start, on the
   * policy's clock) or runs code of the user's given the context, which may read it at any time:
   * `execute` then reads the clock at once. Otherwise `startedAt` is read at its first use.
   */
  readonly needsClock?: boolean;
  describe(): string;
  state(): Record<string, unknown>;
  /**
   * What the step offers a fused executor (see `fused.ts`), or undefined when the policy must
   * run through the steps (a step without it, as a custom stage, always does).
   */
  fusable?(): FusedStage | undefined;
  /**
   * For a step over a primitive with states (a circuit breaker): subscribes to its state
   * changes, reported as `circuit-state` events while someone listens. Returns the unsubscribe.
   */
  watchState?(listener: (change: CircuitStateChange) => void): () => void;
}

/** @internal Links the steps to each other, to the thunk and to the policy's outcome. */
export function link(
  steps: readonly Step[],
  outcome: Outward,
  hub: EventHub,
  clock: Clock,
  policy: string,
): Inward {
  let inner: Inward;
  let outer: Outward = outcome;
  const invoker = new Invoker(hub, clock, policy);
  for (const step of steps) {
    step.outer = outer;
    outer = step;
  }
  // The two calls every policy makes whatever its stages go through links (see {@link Link}).
  invoker.outer = new Link(outer);
  inner = invoker;
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i] as Step;
    step.inner = inner;
    inner = step;
  }
  return new Link(inner);
}

/**
 * How many classes of step get a call site of their own in a {@link Link} (the classes a process
 * meets first; any later ones share one more).
 */
const SITES = 5;

/** The call site of each class a link has led to, numbered as first seen. */
const sites = new Map<unknown, number>();

function siteOf(to: object): number {
  const kind = to.constructor;
  let site = sites.get(kind);
  if (site === undefined) {
    site = Math.min(sites.size, SITES);
    sites.set(kind, site);
  }
  return site;
}

/**
 * @internal The way into a policy's first step and out of its last one: the two calls every
 * policy makes whatever its stages (`execute` calling its first step, the thunk's reaction calling
 * the innermost step's `leave`). In a process with policies of several shapes (an application
 * has several), every class of step reaches those two calls; V8 then looks each one up in a
 * generic cache and inlines none of them. A link calls its step from a call site that only that
 * class of step reaches (one `case` per class, numbered as the process meets them): in a process
 * with twelve shapes, that took 178 to 226 instructions off a one-stage policy's call (9 to 11%;
 * 84 off the timeout's) and 146 off the six-stage pipeline's; a process with one shape pays up to
 * 90 for it. Six cases: each adds to what V8 counts against its inlining budget. The cases
 * are the same code on purpose: each has its own feedback in V8 (`this.to` is read in each, so
 * that V8 does not share one cache between the cases, as it does for a local variable).
 */
export class Link implements Inward, Outward {
  readonly site: number;
  readonly to: Inward & Outward;

  constructor(to: Inward | Outward) {
    this.to = to as Inward & Outward;
    this.site = siteOf(to);
  }

  enter(ctx: Context): void {
    // Stryker disable all: each case makes the same call, from a site of its own
    switch (this.site) {
      case 0:
        return this.to.enter(ctx);
      case 1:
        return this.to.enter(ctx);
      case 2:
        return this.to.enter(ctx);
      case 3:
        return this.to.enter(ctx);
      case 4:
        return this.to.enter(ctx);
      default:
        return this.to.enter(ctx);
    }
    // Stryker restore all
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    // Stryker disable all: each case makes the same call, from a site of its own
    switch (this.site) {
      case 0:
        return this.to.leave(ctx, ok, value);
      case 1:
        return this.to.leave(ctx, ok, value);
      case 2:
        return this.to.leave(ctx, ok, value);
      case 3:
        return this.to.leave(ctx, ok, value);
      case 4:
        return this.to.leave(ctx, ok, value);
      default:
        return this.to.leave(ctx, ok, value);
    }
    // Stryker restore all
  }
}

/*
 * The reactions to the thunk's promise are functions bound to their call (`outer` as `this`, the
 * context as the first argument), not closures made per call: a closure made by optimised code
 * starts out on V8's lazy-compile stub, which its first call (the only one) then goes through
 * (about 60 instructions), where a bound function calls code already compiled.
 */

/** The thunk's value, sent out; the reaction then answers with the execution's outcome. */
function answeredOk(this: Outward, ctx: Context, result: unknown): unknown {
  this.leave(ctx, true, result);
  return ctx.root.take();
}

/** The thunk's rejection, sent out; the reaction then answers with the execution's outcome. */
function answeredError(this: Outward, ctx: Context, error: unknown): unknown {
  this.leave(ctx, false, error);
  return ctx.root.take();
}

/** The thunk's value, sent out. */
function sentOk(this: Outward, ctx: Context, result: unknown): void {
  this.leave(ctx, true, result);
}

/** The thunk's rejection, sent out. */
function sentError(this: Outward, ctx: Context, error: unknown): void {
  this.leave(ctx, false, error);
}

/** The thunk's value, uncounted in the slots that counted it (see `enterTracked`), sent out. */
function trackedOk(this: Outward, ctx: Context, onRoot: boolean, result: unknown): void {
  untrackRunning(ctx, onRoot);
  this.leave(ctx, true, result);
}

/** The thunk's rejection, uncounted in the slots that counted it, sent out. */
function trackedError(this: Outward, ctx: Context, onRoot: boolean, error: unknown): void {
  untrackRunning(ctx, onRoot);
  this.leave(ctx, false, error);
}

/**
 * Sends the outcome of the thunk's `promise` to `outer` by a reaction that is also the
 * execution's promise: it returns (or throws) the final outcome.
 */
function answerBy(
  root: RootContext,
  ctx: Context,
  promise: Promise<unknown>,
  outer: Outward,
): void {
  root.result = promise.then(answeredOk.bind(outer, ctx), answeredError.bind(outer, ctx));
}

/** Sends the outcome of the thunk's `promise` to `outer` when it settles. */
function sendBy(ctx: Context, promise: Promise<unknown>, outer: Outward): void {
  promise.then(sentOk.bind(outer, ctx), sentError.bind(outer, ctx));
}

/** Calls the thunk and sends its outcome out. */
class Invoker implements Inward {
  // Stryker disable next-line ObjectLiteral: `link` sets it before the invoker is entered
  outer: Outward = { leave() {} };
  private readonly hub: EventHub;
  private readonly clock: Clock;
  private readonly policy: string;

  constructor(hub: EventHub, clock: Clock, policy: string) {
    this.hub = hub;
    this.clock = clock;
    this.policy = policy;
  }

  enter(ctx: Context): void {
    // Timed for `attempt` listeners: see `enterTimed`.
    if (this.hub.watchesAttempts) {
      this.enterTimed(ctx);
      return;
    }
    const root = ctx.root;
    let value: unknown;
    let promise: Promise<unknown> | undefined;
    try {
      value = root.fn(ctx);
      // Asked here: a hostile answer (a Proxy) may throw even this.
      if (value instanceof Promise) promise = value;
    } catch (error) {
      this.outer.leave(ctx, false, error);
      return;
    }
    // A native promise, the usual answer, goes as `settles` would send it, without its checks
    // for a timed call: short enough for the engine to inline into `execute`.
    if (promise === undefined) {
      this.answered(ctx, value, this.outer);
      return;
    }
    try {
      if (root.tracked || root.slotTracked) this.enterTracked(ctx, promise, this.outer);
      // Compared with `true` (and `false`): V8 keeps no type for a field holding a boolean, and a
      // plain test of one that is true goes through every falsy value first.
      else if (root.inFirstTurn === true && root.deferred === false) {
        answerBy(root, ctx, promise, this.outer);
      } else sendBy(ctx, promise, this.outer);
    } catch (error) {
      // A promise whose `then` throws (a Proxy of one, a subclass): the work failed with that.
      this.outer.leave(ctx, false, error);
    }
  }

  /**
   * The thunk called for `attempt` listeners: the outcome goes out through the call's record, so
   * its attempt ends when the work settles, or earlier when the policy stops waiting for it (see
   * {@link TimedAttempt}).
   */
  private enterTimed(ctx: Context): void {
    const timed = new TimedAttempt(this, ctx, this.clock.now());
    let value: unknown;
    let promise: Promise<unknown> | undefined;
    try {
      value = ctx.root.fn(ctx);
      if (value instanceof Promise) promise = value;
    } catch (error) {
      timed.leave(ctx, false, error);
      return;
    }
    if (promise === undefined) {
      this.answered(ctx, value, timed);
      return;
    }
    try {
      this.settles(ctx, promise, timed);
    } catch (error) {
      // A promise whose `then` throws (see `enter`); the record unlists the call.
      timed.leave(ctx, false, error);
    }
  }

  /**
   * What the thunk answered, other than a native promise, sent to `outer`: a thenable when it
   * settles, anything else at once.
   */
  private answered(ctx: Context, value: unknown, outer: Outward): void {
    let promise: Promise<unknown> | undefined;
    try {
      if (isThenable(value)) promise = Promise.resolve(value);
    } catch (error) {
      // A `then` getter that throws.
      outer.leave(ctx, false, error);
      return;
    }
    if (promise === undefined) outer.leave(ctx, true, value);
    else this.settles(ctx, promise, outer);
  }

  /** The thunk's promise: its outcome goes to `outer` when it settles. */
  private settles(ctx: Context, promise: Promise<unknown>, outer: Outward): void {
    const root = ctx.root;
    if (outer instanceof TimedAttempt) listTimedCall(outer);
    if (root.tracked || root.slotTracked) {
      this.enterTracked(ctx, promise, outer);
    } else if (
      root.inFirstTurn === true &&
      root.deferred === false &&
      !(outer instanceof TimedAttempt)
    ) {
      answerBy(root, ctx, promise, outer);
    } else {
      sendBy(ctx, promise, outer);
    }
  }

  /**
   * The thunk's promise, counted while it runs in the bulkhead slots around it (a step inside a
   * bulkhead may answer first; the slot follows the work), its outcome sent to `outer`. Such
   * executions are eager, so their promise is already a deferred.
   */
  private enterTracked(ctx: Context, promise: Promise<unknown>, outer: Outward): void {
    const onRoot = trackRunning(ctx);
    try {
      promise.then(trackedOk.bind(outer, ctx, onRoot), trackedError.bind(outer, ctx, onRoot));
    } catch (error) {
      // Not followed after all (see `enter`).
      untrackRunning(ctx, onRoot);
      throw error;
    }
  }

  /** Reports an attempt that ended. */
  ended(call: TimedAttempt, ok: boolean, value: unknown): void {
    reportAttempt(this.hub, this.policy, call.attempt, this.clock.now() - call.start, ok, value);
  }
}

/**
 * One thunk call timed for `attempt` listeners. Its attempt ends once: when the work settles, or,
 * if the policy stops waiting for it first (an aggressive deadline, the caller's abort, a hedged
 * attempt that lost), then, failed with the error that ended it; the work's late outcome still
 * goes out (where it is ignored) but is not timed again.
 */
class TimedAttempt implements TimedCall, Outward {
  readonly ctx: Context;
  readonly start: number;
  readonly attempt: number;
  prevCall: TimedCall | undefined = undefined;
  nextCall: TimedCall | undefined = undefined;
  private readonly invoker: Invoker;
  private over = false;

  constructor(invoker: Invoker, ctx: Context, start: number) {
    this.invoker = invoker;
    this.ctx = ctx;
    this.start = start;
    this.attempt = ctx.attempt;
  }

  /** The work settled: its attempt ends (unless it ended already) and its outcome goes out. */
  leave(_ctx: Context, ok: boolean, value: unknown): void {
    unlistTimedCall(this);
    if (!this.over) {
      this.over = true;
      this.invoker.ended(this, ok, value);
    }
    this.invoker.outer.leave(this.ctx, ok, value);
  }

  end(error: unknown): void {
    // Stryker disable next-line ConditionalExpression: a call is listed until it is over; a guard only
    if (this.over) return;
    this.over = true;
    this.invoker.ended(this, false, error);
  }
}
