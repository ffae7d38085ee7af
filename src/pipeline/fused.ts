// The fused executor: a policy of fallbacks, rate limiters, a bulkhead, a retry and a circuit
// breaker over in-memory stores, run by one object without the step engine's walk (see
// ARCHITECTURE.md, "The fused path"). Each decision is the primitive's own (a slot, a token, a
// ticket, `recordOn`, `nextAttempt`, `on`); this file only orders them as the steps do.
import type { Clock } from '../internal/clock.js';
import type { ContextJSON } from '../internal/context.js';
import { contextView, deferTo } from '../internal/context.js';
import { INSPECT } from '../internal/inspect.js';
import { V8Error, rejectedSoon } from '../internal/refusal.js';
import { NEVER_ABORTED, isThenable } from '../internal/signals.js';
import { isAsyncAnswerError } from '../internal/validate.js';
import {
  CircuitOpenError,
  RejectedResultError,
  isBulkheadFullError,
  isRateLimitExceededError,
} from '../errors.js';
import type { Bulkhead } from '../strategies/bulkhead/Bulkhead.js';
import type { BulkheadTicket } from '../strategies/bulkhead/store.js';
import type { CircuitBreaker } from '../strategies/circuit-breaker/CircuitBreaker.js';
import type { Fallback } from '../strategies/fallback/Fallback.js';
import type { RateLimiter } from '../strategies/rate-limiter/RateLimiter.js';
import type { Retry, RetryReport, RetryState } from '../strategies/retry/Retry.js';
import type { ExecutionContext, Thunk } from './ExecutionContext.js';
import type { StageEnv } from './env.js';
import type { EventHub, RejectionReason } from './events.js';
import type { Counters } from './metrics.js';
import { reportAttempt, reportEnd, reportFallback, reportRefusal } from './step.js';

/** @internal What a step offers the fused executor: its kind and its primitive. */
export type FusedStage =
  | { readonly code: typeof FALLBACK; readonly kind: string; readonly fallback: Fallback<unknown> }
  | { readonly code: typeof BULKHEAD; readonly kind: string; readonly bulkhead: Bulkhead }
  | { readonly code: typeof BREAKER; readonly kind: string; readonly breaker: CircuitBreaker }
  | {
      readonly code: typeof LIMITER;
      readonly kind: string;
      readonly limiter: RateLimiter;
      /** The limiter runs on the policy's clock: in the call's first turn it borrows `startedAt`. */
      readonly sharesClock: boolean;
    }
  | {
      readonly code: typeof RETRY;
      readonly kind: string;
      readonly retry: Retry;
      /** The stage's report of each retry due (counted, and the `retry` event). */
      readonly report: RetryReport;
    };

export const FALLBACK = 0;
export const BULKHEAD = 1;
export const BREAKER = 2;
export const LIMITER = 3;
export const RETRY = 4;

/**
 * @internal One stage of a fused policy. One class for every kind (V8 then sees one shape where
 * the executor reads a part), with the primitive of its kind set and the others undefined.
 */
class Part {
  readonly code: number;
  readonly kind: string;
  readonly fallback: Fallback<unknown> | undefined;
  readonly bulkhead: Bulkhead | undefined;
  readonly breaker: CircuitBreaker | undefined;
  readonly limiter: RateLimiter | undefined;
  readonly sharesClock: boolean;
  readonly retry: Retry | undefined;
  readonly report: RetryReport | undefined;
  /** A retry of one attempt: every outcome goes out as it is. */
  readonly single: boolean;

  constructor(stage: FusedStage) {
    this.code = stage.code;
    this.kind = stage.kind;
    this.fallback = stage.code === FALLBACK ? stage.fallback : undefined;
    this.bulkhead = stage.code === BULKHEAD ? stage.bulkhead : undefined;
    this.breaker = stage.code === BREAKER ? stage.breaker : undefined;
    this.limiter = stage.code === LIMITER ? stage.limiter : undefined;
    this.sharesClock = stage.code === LIMITER && stage.sharesClock;
    this.retry = stage.code === RETRY ? stage.retry : undefined;
    this.report = stage.code === RETRY ? stage.report : undefined;
    this.single = stage.code === RETRY && stage.retry.maxAttempts === 1;
  }
}

/** Whether policies are fused when they can be (the specs run the policy suite both ways). */
let fusing = true;

/** @internal Turns fusing off (or on again) for the policies built from now on. */
export function setFusing(on: boolean): void {
  fusing = on;
}

/** @internal What the fused executor tells its policy. */
export interface FusedHost {
  /** Since when someone has listened for `success`/`failure` (NaN while nobody does). */
  readonly watching: { since: number };
  /** Called after each execution the executor settled (a drain watch), or undefined. */
  afterSettle: (() => void) | undefined;
}

/**
 * @internal The fused executor of a policy whose stages all offer one (see {@link FusedStage}),
 * with at most one bulkhead, one circuit breaker and one retry; `undefined` for any other policy.
 */
export function fuse(
  stages: ReadonlyArray<FusedStage | undefined>,
  env: StageEnv,
  host: FusedHost,
): Fused | undefined {
  if (!fusing) return undefined;
  (FusedContext.prototype as { [INSPECT]?: unknown })[INSPECT] ??= contextView;
  // A context holds one ticket of each (a bulkhead's slot, a breaker's ticket, a retry's state).
  let bulkheads = 0;
  let breakers = 0;
  let retries = 0;
  const parts: Part[] = [];
  for (const stage of stages) {
    if (stage === undefined) return undefined;
    if (stage.code === BULKHEAD) bulkheads++;
    else if (stage.code === BREAKER) breakers++;
    else if (stage.code === RETRY) retries++;
    parts.push(new Part(stage));
  }
  if (bulkheads > 1 || breakers > 1 || retries > 1) return undefined;
  return new Fused(parts, env, host);
}

/**
 * @internal The context of an execution the fused executor runs: what the thunk sees (as the
 * steps' root context shows it for a call with neither a signal nor a deadline) and the tickets
 * the execution holds. A retry's later attempts get one of their own (`attempt`, and the tickets
 * of the stages inside the retry), whose `top` is the execution's first: it keeps the start, the
 * data and the outcome.
 */
export class FusedContext implements ExecutionContext {
  readonly policyName: string;
  /** @internal The clock time `startedAt` answers (NaN: read at first use); on `top`. */
  start: number;
  /** @internal The executor running it. */
  readonly exec: Fused;
  /** @internal The execution's first context (this one for the first). */
  readonly top: FusedContext;
  /** @internal The context the retry received, for a later attempt's (else undefined). */
  readonly outer: FusedContext | undefined;
  readonly attempt: number;
  /** @internal The retry's state from one wait to the next (a later attempt's). */
  readonly retryState: RetryState | undefined;
  /** @internal The thunk. */
  readonly fn: Thunk<unknown>;
  /** @internal The bulkhead's ticket, once taken. */
  slot: BulkheadTicket | false = false;
  /** @internal The circuit breaker's ticket, once admitted. */
  ticket = 0;
  /** @internal The outcome, once settled (on `top`). */
  ok = false;
  value: unknown = undefined;
  /** @internal A fallback supplied the value (on `top`). */
  recovered = false;
  /**
   * @internal The settle functions of the execution's promise once it is a deferred (on `top`):
   * made when the execution first waits (a slot, a token, a retry's delay, a fallback's method
   * answering later), as the steps make theirs, and settled where the outcome is known (see
   * `Fused.answer`).
   */
  deferred: Settlers | undefined = undefined;
  /** @internal True while `execute` still runs (a refusal's stack starts at its caller). */
  inFirstTurn: boolean;
  /** @internal The wrapper the caller called, if any (see `RootContext.entry`). */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any function can be the entry
  readonly entry: Function | undefined;
  /** @internal The policy's clock, which `startedAt` reads at first use. */
  readonly clock: Clock;
  /** @internal Behind `data`: `execute`'s, or made when it is first read (on `top`). */
  map: Map<string, unknown> | undefined = undefined;
  /** @internal When the thunk was called, while someone listens for `attempt` (else NaN). */
  attemptStart = NaN;

  /**
   * @param outer - for a retry's later attempt, the context the retry received; `state` its
   *   state, `attempt` the attempt's number
   */
  constructor(
    exec: Fused,
    start: number,
    fn: Thunk<unknown>,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any function can be the entry
    entry: Function | undefined,
    outer: FusedContext | undefined,
    attempt: number,
    state: RetryState | undefined,
  ) {
    this.exec = exec;
    this.policyName = exec.env.policy;
    this.start = start;
    this.fn = fn;
    this.entry = entry;
    this.clock = exec.env.clock;
    this.outer = outer;
    this.top = outer === undefined ? this : outer.top;
    this.attempt = attempt;
    this.retryState = state;
    this.inFirstTurn = outer === undefined;
  }

  get startedAt(): number {
    const top = this.top;
    const start = top.start;
    return start === start ? start : (top.start = this.clock.now());
  }
  get signal(): AbortSignal {
    return NEVER_ABORTED;
  }
  get data(): Map<string, unknown> {
    const top = this.top;
    return (top.map ??= new Map());
  }
  get deadline(): number {
    return Infinity;
  }
  get remaining(): number {
    return Infinity;
  }
  /** @internal Nobody can call it off (no signal, no deadline): a retry's scope. */
  get aborted(): boolean {
    return false;
  }
  get abortReason(): undefined {
    return undefined;
  }
  /** @internal For the context's inspection (see `contextView`). */
  get dataIfMade(): Map<string, unknown> | undefined {
    return this.top.map;
  }
  get signalMade(): AbortSignal {
    return NEVER_ABORTED;
  }
  get signalAborted(): boolean {
    return false;
  }

  toJSON(): ContextJSON {
    const map = this.top.map;
    return {
      policyName: this.policyName,
      attempt: this.attempt,
      startedAt: this.startedAt,
      deadline: Infinity,
      remaining: Infinity,
      data: map === undefined ? {} : Object.fromEntries(map),
      signal: { aborted: false },
    };
  }
}

/** @internal The settle functions of a promise made by `deferTo`. */
interface Settlers {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/*
 * The reactions to the thunk's promise, bound to the execution's context (see engine.ts for why
 * bound functions): each answers with the execution's outcome, or a promise of it when something
 * waits on the way out (see `Fused.answer`).
 */
function fusedOk(this: FusedContext, value: unknown): unknown {
  return this.exec.answer(this, this.exec.thunkOut(this, true, value));
}

function fusedError(this: FusedContext, error: unknown): unknown {
  return this.exec.answer(this, this.exec.thunkOut(this, false, error));
}

/**
 * @internal Runs a fused policy (see {@link fuse}) as the steps would, in one object: the
 * admissions in order (a token, a slot, a ticket), the thunk, then the outcome out through each
 * stage in reverse (a retry going in again from its place). The execution's promise is the
 * reaction to the thunk's.
 */
export class Fused {
  readonly env: StageEnv;
  readonly last: number;
  private readonly parts: readonly Part[];
  /** A refusal made in the caller's turn, until `execute` has given it its stack. */
  private refusal: Refusal | undefined = undefined;
  private readonly host: FusedHost;
  private readonly counters: Counters;
  private readonly hub: EventHub;

  constructor(parts: readonly Part[], env: StageEnv, host: FusedHost) {
    this.parts = parts;
    this.last = parts.length - 1;
    this.env = env;
    this.host = host;
    this.counters = env.counters;
    this.hub = env.hub;
  }

  /**
   * Runs `fn`; `start` as `execute` read it (or NaN), `entry` the wrapper called, if any, `data`
   * `execute`'s.
   */
  run(
    fn: Thunk<unknown>,
    start: number,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any function can be the entry
    entry: Function | undefined,
    data: Map<string, unknown> | undefined,
  ): Promise<unknown> | typeof REFUSED {
    const ctx = new FusedContext(this, start, fn, entry, undefined, 1, undefined);
    if (data !== undefined) ctx.map = data;
    const answer = this.admit(ctx, 0);
    if (answer === REFUSED) return REFUSED;
    ctx.inFirstTurn = false;
    if (answer !== undefined) return answer;
    return ctx.ok ? Promise.resolve(ctx.value) : rejectedSoon(ctx.value);
  }

  /**
   * `admit` after the caller's turn (at a wait's end, or for a retry's later attempt), where a
   * refusal takes its stack at once: never {@link REFUSED}.
   */
  private admitLater(ctx: FusedContext, from: number): Promise<unknown> | undefined {
    return this.admit(ctx, from) as Promise<unknown> | undefined;
  }

  /**
   * A refusal by `part`: in the caller's turn, kept for `execute`, which gives it its stack from
   * its own frame (no frame between it and the caller's to walk: see `V8Error`), then goes on with
   * {@link Fused.refused}; later, its stack taken here, and sent out.
   */
  private refusing(
    ctx: FusedContext,
    i: number,
    part: Part,
    reason: RejectionReason,
    refusal: Error,
  ): Promise<unknown> | undefined | typeof REFUSED {
    if (ctx.inFirstTurn) {
      this.refusal = { ctx, i, part, reason, error: refusal };
      return REFUSED;
    }
    // Stryker disable next-line OptionalChaining: every host the specs run on has captureStackTrace
    V8Error.captureStackTrace?.(refusal);
    reportRefusal(this.env, part.kind, reason, refusal);
    return this.out(ctx, i - 1, false, refusal);
  }

  /**
   * The refusal `run` answered {@link REFUSED} for, its stack taken by `execute`: counted,
   * reported and sent out; the execution's promise.
   */
  refused(): Promise<unknown> {
    const { ctx, i, part, reason, error } = this.refusal as Refusal;
    this.refusal = undefined;
    reportRefusal(this.env, part.kind, reason, error);
    const answer = this.out(ctx, i - 1, false, error);
    ctx.inFirstTurn = false;
    if (answer !== undefined) return answer;
    return ctx.ok ? Promise.resolve(ctx.value) : rejectedSoon(ctx.value);
  }

  /** The refusal kept for `execute` (see `refusing`), and its error, to stamp. */
  get refusalError(): Error {
    return (this.refusal as Refusal).error;
  }

  /** The wrapper or handle the refused call came through, if any. */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any function can be the entry
  get refusalEntry(): Function {
    return (this.refusal as Refusal).ctx.entry ?? this.env.entry;
  }

  /**
   * Admits the execution through the parts from `from` on, then calls the thunk. Returns the
   * execution's promise, or undefined when it settled now (`ctx.ok`, `ctx.value`).
   */
  private admit(ctx: FusedContext, from: number): Promise<unknown> | undefined | typeof REFUSED {
    const parts = this.parts;
    for (let i = from; i < parts.length; i++) {
      const part = parts[i] as Part;
      if (part.code === BULKHEAD) {
        const bulkhead = part.bulkhead as Bulkhead;
        let slot: false | BulkheadTicket;
        try {
          slot = bulkhead.takeSlot();
        } catch (error) {
          return this.out(ctx, i - 1, false, error);
        }
        if (slot !== false) {
          ctx.slot = slot;
          continue;
        }
        const refusal = bulkhead.refuseNow(null);
        if (refusal !== undefined) {
          return this.refusing(ctx, i, part, 'bulkhead', refusal);
        }
        // Queued (or redirected to a successor's queue after a reload).
        return this.queued(ctx, i, part);
      } else if (part.code === BREAKER) {
        let ticket: number | Promise<number> | CircuitOpenError;
        try {
          ticket = (part.breaker as CircuitBreaker).tryAdmit();
        } catch (error) {
          return this.out(ctx, i - 1, false, error);
        }
        if (typeof ticket === 'number') {
          ctx.ticket = ticket;
          continue;
        }
        // An in-memory store answers at once: a refusal.
        const refusal = ticket as CircuitOpenError;
        return this.refusing(ctx, i, part, 'circuit-open', refusal);
      } else if (part.code === LIMITER) {
        const limiter = part.limiter as RateLimiter;
        let granted: boolean;
        try {
          granted =
            part.sharesClock && ctx.inFirstTurn
              ? limiter.tryAcquireAt(ctx.startedAt)
              : limiter.tryTake();
        } catch (error) {
          return this.out(ctx, i - 1, false, error);
        }
        if (granted) continue;
        const taken = limiter.acquireUnraced(NEVER_ABORTED);
        if (isRateLimitExceededError(taken)) {
          return this.refusing(ctx, i, part, 'rate-limit', taken);
        }
        return this.limited(ctx, i, part, taken);
      }
    }
    // Called on the execution's first context, as the steps call it on their root.
    const top = ctx.top;
    let value: unknown;
    let promise: Promise<unknown> | undefined;
    try {
      // Timed while someone listens for `attempt` (see `Invoker.enterTimed`).
      if (this.hub.watchesAttempts) ctx.attemptStart = this.env.clock.now();
      value = top.fn(ctx);
      if (value instanceof Promise) promise = value;
      else if (isThenable(value)) promise = Promise.resolve(value);
    } catch (error) {
      return this.thunkOut(ctx, false, error);
    }
    if (promise === undefined) return this.thunkOut(ctx, true, value);
    let reaction: Promise<unknown>;
    try {
      reaction = promise.then(fusedOk.bind(ctx), fusedError.bind(ctx));
    } catch (error) {
      // A promise whose `then` throws (a Proxy of one, a subclass): the work failed with that.
      return this.thunkOut(ctx, false, error);
    }
    // A timed attempt's outcome goes out by a reaction that settles a deferred, as the steps send
    // a timed call's (see `Invoker.settles`).
    const timed = ctx.attemptStart;
    return timed === timed ? waiting(ctx, reaction as Promise<void>) : reaction;
  }

  /** The thunk's outcome, its attempt's end reported while timed, sent out. */
  thunkOut(ctx: FusedContext, ok: boolean, value: unknown): Promise<unknown> | undefined {
    const start = ctx.attemptStart;
    if (start === start) {
      ctx.attemptStart = NaN;
      const durationMs = this.env.clock.now() - start;
      reportAttempt(this.hub, this.env.policy, ctx.attempt, durationMs, ok, value);
    }
    return this.out(ctx, this.last, ok, value);
  }

  /*
   * Each wait below (a slot, a token, a retry's delay, a fallback's method answering later) goes
   * on in reactions that never throw: they settle the execution's promise, a deferred from the
   * first wait on (see `waiting`), as the steps settle theirs. A promise chained on to the
   * continuation instead would settle a microtask later than the steps' for each wait it adopts.
   */

  /**
   * Waits for a slot of `part`'s bulkhead, then admits the execution through the parts after
   * it. (Out of `admit`: a function that makes closures keeps its variables in a context object
   * made at every call.)
   */
  private queued(ctx: FusedContext, i: number, part: Part): Promise<unknown> {
    const reaction = (part.bulkhead as Bulkhead).waitSlot(NEVER_ABORTED).then(
      (granted) => {
        ctx.slot = granted;
        this.answer(ctx, this.admitLater(ctx, i + 1));
      },
      (error: unknown) => {
        if (isBulkheadFullError(error)) reportRefusal(this.env, part.kind, 'bulkhead', error);
        this.answer(ctx, this.out(ctx, i - 1, false, error));
      },
    );
    return waiting(ctx, reaction);
  }

  /** Waits for a token of `part`'s limiter, then admits through the parts after it. */
  private limited(
    ctx: FusedContext,
    i: number,
    part: Part,
    taken: Promise<void>,
  ): Promise<unknown> {
    const reaction = taken.then(
      () => {
        this.answer(ctx, this.admitLater(ctx, i + 1));
      },
      (error: unknown) => {
        if (isRateLimitExceededError(error)) {
          reportRefusal(this.env, part.kind, 'rate-limit', error);
        }
        this.answer(ctx, this.out(ctx, i - 1, false, error));
      },
    );
    return waiting(ctx, reaction);
  }

  /**
   * After `wait`, the next attempt (`attempt + 1`) of the retry at part `i`, admitted through the
   * parts inside it; `received` is the context the retry received.
   */
  private retrying(
    received: FusedContext,
    i: number,
    attempt: number,
    state: RetryState,
    wait: Promise<void>,
  ): Promise<unknown> {
    const reaction = wait.then(
      () => {
        const next = new FusedContext(
          this,
          NaN,
          received.fn,
          undefined,
          received,
          attempt + 1,
          state,
        );
        this.answer(received, this.admitLater(next, i + 1));
      },
      (error: unknown) => {
        this.answer(received, this.out(received, i - 1, false, error));
      },
    );
    return waiting(received, reaction);
  }

  /**
   * The outcome of a continuation: a promise of it, or it now (returned or thrown); or, for an
   * execution whose promise is a deferred, that promise settled with it now (nothing returned).
   */
  answer(ctx: FusedContext, later: Promise<unknown> | undefined): unknown {
    if (later !== undefined) return later;
    const top = ctx.top;
    const deferred = top.deferred;
    if (deferred !== undefined) {
      if (top.ok) deferred.resolve(top.value);
      else deferred.reject(top.value);
      return undefined;
    }
    if (top.ok) return top.value;
    throw top.value;
  }

  /**
   * Sends an outcome out through the parts from `from` down to the first, then settles the
   * execution. Returns undefined when it settled now, or a promise of the outcome when a
   * fallback's method answers later.
   */
  out(ctx: FusedContext, from: number, ok: boolean, value: unknown): Promise<unknown> | undefined {
    const parts = this.parts;
    for (let i = from; i >= 0; i--) {
      const part = parts[i] as Part;
      if (part.code === BULKHEAD) {
        const slot = ctx.slot;
        ctx.slot = false;
        (part.bulkhead as Bulkhead).giveSlot(slot as BulkheadTicket, undefined);
      } else if (part.code === BREAKER) {
        const breaker = part.breaker as CircuitBreaker;
        const ticket = ctx.ticket;
        try {
          if (!ok) breaker.stepFailed(value, undefined, ticket);
          else if (!breaker.judgesResults) breaker.stepSucceeded(undefined, ticket);
          else breaker.resultRule(value, undefined, ticket);
        } catch (error) {
          // `recordOn` or `recordOnResult` threw: the call fails with what it threw.
          ok = false;
          value = error;
        }
      } else if (part.code === RETRY) {
        const retry = part.retry as Retry;
        // Past the retry, the context it received (a later attempt's is the retry's own).
        const received = ctx.outer ?? ctx;
        if (!part.single && (!ok || retry.judgesResults)) {
          const attempt = ctx.attempt;
          const state = attempt > 1 ? (ctx.retryState as RetryState) : { prev: 0 };
          let wait: Promise<void> | undefined;
          try {
            wait = retry.nextAttempt(attempt, !ok, value, state, received, part.report);
          } catch (error) {
            // What a predicate or a `delay` function threw goes out as the failure.
            ok = false;
            value = error;
          }
          if (wait !== undefined) return this.retrying(received, i, attempt, state, wait);
        }
        ctx = received;
      } else if (part.code === FALLBACK) {
        const fallback = part.fallback as Fallback<unknown>;
        let replaced: unknown = NOT_REPLACED;
        if (ok) {
          if (fallback.judgesResults) {
            try {
              if (fallback.rejects(value)) replaced = new RejectedResultError(value);
            } catch (error) {
              ok = false;
              value = error;
            }
          }
        } else {
          let handled: boolean;
          try {
            handled = !!fallback.handles(value);
          } catch (thrown) {
            handled = false;
            if (isAsyncAnswerError(thrown)) value = thrown;
          }
          if (handled) replaced = value;
        }
        if (replaced !== NOT_REPLACED) {
          const error = replaced;
          let substitute: unknown;
          let later: Promise<unknown> | undefined;
          try {
            substitute = fallback.recover(error, [ctx]);
            if (isThenable(substitute)) later = Promise.resolve(substitute);
          } catch (thrown) {
            ok = this.recovered(ctx, part, error, false, thrown);
            value = thrown;
            continue;
          }
          if (later !== undefined) return this.recovering(ctx, i, part, error, later);
          ok = this.recovered(ctx, part, error, true, substitute);
          value = substitute;
        }
      }
    }
    this.settle(ctx, ok, value);
    return undefined;
  }

  /** A fallback's method answers later: the outcome goes on out from the part before `i`. */
  private recovering(
    ctx: FusedContext,
    i: number,
    part: Part,
    error: unknown,
    later: Promise<unknown>,
  ): Promise<unknown> {
    const reaction = later.then(
      (result) => {
        const ok = this.recovered(ctx, part, error, true, result);
        this.answer(ctx, this.out(ctx, i - 1, ok, result));
      },
      (thrown: unknown) => {
        const ok = this.recovered(ctx, part, error, false, thrown);
        this.answer(ctx, this.out(ctx, i - 1, ok, thrown));
      },
    );
    return waiting(ctx, reaction);
  }

  /**
   * A fallback's method, called for `error`, answered `outcome` (see `FallbackStage.settled`):
   * counted and reported when it took over. Returns `ok`.
   */
  private recovered(
    ctx: FusedContext,
    part: Part,
    error: unknown,
    ok: boolean,
    outcome: unknown,
  ): boolean {
    if (ok || outcome !== error) {
      reportFallback(this.env, part.kind, error);
      if (ok) ctx.top.recovered = true;
    }
    return ok;
  }

  /** The execution is over: counted, its `success`/`failure` event, a drain watch told. */
  private settle(ctx: FusedContext, ok: boolean, value: unknown): void {
    ctx = ctx.top;
    ctx.ok = ok;
    ctx.value = value;
    if (ok) this.counters.successes++;
    else this.counters.failures++;
    const hub = this.hub;
    if (hub.watchesCalls) {
      const { policy, clock } = this.env;
      const since = this.host.watching.since;
      reportEnd(hub, policy, clock.now(), ctx.start, since, ctx.recovered, ok, value);
    }
    const after = this.host.afterSettle;
    if (after !== undefined) after();
  }
}

const NOT_REPLACED = Symbol('not replaced');

/** @internal What `run` answers for a refusal in the caller's turn (see `Fused.refusing`). */
export const REFUSED: unique symbol = Symbol('refused');

/** A refusal made in the caller's turn, by the part at `i`. */
interface Refusal {
  readonly ctx: FusedContext;
  readonly i: number;
  readonly part: Part;
  readonly reason: RejectionReason;
  readonly error: Error;
}

/**
 * What a continuation that waits (`reaction`, which never rejects) answers: at the execution's
 * first wait, its promise, made a deferred now (which the reactions settle); at a later one, the
 * reaction (nobody needs the outcome from it).
 */
function waiting(ctx: FusedContext, reaction: Promise<void>): Promise<unknown> {
  const top = ctx.top;
  if (top.deferred !== undefined) return reaction;
  const settlers: Settlers = { resolve: ignore, reject: ignore };
  const promise = deferTo(settlers);
  top.deferred = settlers;
  return promise;
}

function ignore(): void {}
