import type { Clock } from '../../internal/clock.js';
import type { AttemptWork, Resolved } from '../../internal/resolved.js';
import {
  DerivedContext,
  endTimedCalls,
  RootContext,
  type Context,
  type Holder,
} from '../../internal/context.js';
import {
  deadlineQueue,
  inCallContext,
  type DeadlineNode,
  type DeadlineQueue,
} from '../../internal/deadlines.js';
import { fail, toMs, type Duration } from '../../internal/duration.js';
import {
  NEVER_ABORTED,
  abortable,
  whenSettled,
  nextTurn,
  raceAbort,
  refusedCall,
} from '../../internal/signals.js';
import { setLive, setReadonly } from '../../internal/readonly.js';
import {
  clockOption,
  predicateOption,
  integerOption,
  optionsObject,
  unboundError,
} from '../../internal/validate.js';
import { listenAbort, unlistenAbort } from '../../internal/abortListeners.js';

/** How one hedged attempt settled, as {@link HedgeOptions.on} sees it. */
export type HedgeOutcome<R = unknown> =
  | { readonly ok: true; readonly result: R; readonly attempt: number }
  | { readonly ok: false; readonly error: unknown; readonly attempt: number };

/**
 * Options of a {@link Hedge}.
 *
 * @typeParam R - the result type `on` inspects
 */
// `any` by default so that options written for one result type fit a hedge of any other.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface HedgeOptions<R = any> {
  /**
   * Extra attempts a call may start besides the first: an integer >= 1. At most
   * `1 + maxHedges` attempts run for one call.
   * @defaultValue 1
   */
  readonly maxHedges?: number | undefined;
  /**
   * How long an attempt may run unsettled before the next one starts: a duration >= 0
   * (milliseconds or a string like `'200ms'`; a negative number, `-1` too, is a `RangeError`).
   * `0` starts every attempt at once. `'on-failure'` never starts one on time: the next attempt
   * starts only when one fails (is not acceptable); {@link Hedge.delayMs} reads `Infinity` then.
   * Whatever the delay, an attempt that is not acceptable starts the next one in the next turn of
   * the event loop (it yields, as a retry does), if any is left.
   * @defaultValue `'2s'`
   */
  readonly delay?: Duration | undefined;
  /**
   * Which outcomes are not acceptable ("hedge on" them): returns true for an outcome that must not
   * answer the call. Such an outcome lets the other attempts run on and starts the next one at
   * once, if any is left. When no attempt was acceptable, the call settles with the last outcome
   * that arrived. A predicate that throws settles the call with what it threw.
   * @defaultValue every failure (`({ ok }) => !ok`): the first result wins
   */
  readonly on?: ((outcome: HedgeOutcome<R>) => boolean) | undefined;
  /** Source of time for the hedging delay. @defaultValue {@link systemClock} */
  readonly clock?: Clock | undefined;
}

/** @internal Every option key the constructor accepts. */
export const HEDGE_OPTIONS: readonly string[] = Object.freeze([
  'maxHedges',
  'delay',
  'on',
  'clock',
]);

/**
 * The hedging delay that means "start the next attempt only when one fails": `'on-failure'`, read
 * as a delay that never passes.
 */
const ON_FAILURE = Infinity;

/**
 * Hedges slow calls: when an attempt has not settled after `delay`, starts another one (up to
 * `maxHedges` more) without cancelling the first, and answers with the first acceptable outcome
 * (by default, the first result). The others are aborted through their own signal, so work that
 * honours it (`fetch(url, { signal })`) stops and frees its connection: its reason is a
 * `DOMException` named `AbortError` whose message says another hedged attempt answered the call
 * first (made when the signal or the reason is first read, the same object on every read). Use it for idempotent
 * reads whose latency has a long tail: a hedge trades a few extra requests for the tail.
 *
 * Each attempt receives its own signal and its attempt number (1 for the first, 2 for the first
 * hedge, ...). An attempt that is not acceptable (by default, one that failed) starts the next
 * attempt at once, if any is left; when every attempt has failed, the call rejects with the last
 * error that arrived.
 *
 * @example
 * ```ts
 * const hedge = new Hedge({ maxHedges: 1, delay: '150ms' });
 * const res = await hedge.execute((signal) => fetch(url, { signal }));
 * ```
 *
 * @typeParam R - the results its `on` judges (inferred from the predicate's parameter; `any`
 *   without one): `execute` and a policy's `hedge(...)` accept only work that resolves to an `R`
 */
// `in`: a hedge judging any `R` judges every narrower result (`Hedge<unknown>` fits all work).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as HedgeOptions
export class Hedge<in R = any> {
  /** Extra attempts a call may start besides the first. */
  declare readonly maxHedges: number;
  /**
   * The hedging delay in milliseconds; `Infinity` with `delay: 'on-failure'` (attempts start only
   * on failure), written `null` in JSON (by `JSON.stringify`, and in `registry.health()`).
   */
  declare readonly delayMs: number;
  /** Attempts running now, over every call of this hedge (the first ones included). */
  declare readonly running: number;
  /** Hedged attempts started so far (attempts beyond the first of each call). */
  declare readonly hedges: number;
  /** Calls answered by a hedged attempt rather than the first. */
  declare readonly wins: number;
  readonly #on: ((outcome: HedgeOutcome) => boolean) | undefined;
  readonly #clock: Clock;
  readonly #timed: boolean;
  readonly #queue: DeadlineQueue;
  #running = 0;
  #hedges = 0;
  #wins = 0;
  // The live counters' getters: one function each for every instance (see `setLive`).
  static #runningNow(this: Hedge): number {
    return this.#running;
  }
  static #hedgesNow(this: Hedge): number {
    return this.#hedges;
  }
  static #winsNow(this: Hedge): number {
    return this.#wins;
  }

  constructor(options?: HedgeOptions<R>) {
    const o = optionsObject(options, 'Hedge', HEDGE_OPTIONS);
    const maxHedges = integerOption(o.maxHedges, 'maxHedges', 1, 1);
    const delayMs = hedgeDelay(o.delay);
    const on = predicateOption<(outcome: HedgeOutcome) => boolean>(o.on, 'on');
    this.#on = on;
    this.#clock = clockOption(o.clock);
    this.#queue = deadlineQueue(this.#clock);
    setReadonly<Hedge>(this, { maxHedges, delayMs });
    this.#timed = delayMs > 0 && delayMs !== ON_FAILURE;
    setLive<Hedge>(this, {
      running: Hedge.#runningNow,
      hedges: Hedge.#hedgesNow,
      wins: Hedge.#winsNow,
    });
  }

  /**
   * Runs `fn` hedged: `fn(signal, attempt)` is called once at first, then again (with a new
   * signal and the next attempt number) after each `delay` without an acceptable outcome.
   * @param signal - the caller's signal: its abort rejects at once with its reason and aborts
   * every attempt
   */
  // The work's whole type (see `SignalWork`); `J`, the receiver's `R` read from `this` (or a
  // result type given as a type argument): the result names no `R` of the class's own, which
  // would make it no longer `in`. One signature, so that a union of these can be called.
  execute<J extends R = R, Fn extends AttemptWork<J> = AttemptWork<J>>(
    this: Hedge<J>,
    fn: Fn,
    signal?: AbortSignal,
  ): Promise<Resolved<ReturnType<Fn>, J>>;
  execute<T extends R>(
    fn: (signal: AbortSignal, attempt: number) => T | PromiseLike<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    if (!(this instanceof Hedge)) return Promise.reject(unboundError('execute', 'Hedge', this));
    const refused = refusedCall(fn, signal);
    if (refused !== undefined) return refused;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const result = new Promise<T>((resolve, reject) => {
      // Stryker disable next-line StringLiteral: a standalone call has no policy name, and nothing reads it
      const root = new RootContext('', 0, fn as never, signal, undefined);
      const sink: HedgeSink = {
        inPolicy: false,
        start(attempt) {
          let value: unknown;
          try {
            value = fn(attempt.signal, attempt.attempt);
          } catch (error) {
            attempt.run.settled(attempt, false, error);
            return;
          }
          // A `then` that cannot be read fails the attempt, as in a policy.
          whenSettled(value, (ok, settled) => attempt.run.settled(attempt, ok, settled));
        },
        finish(_run, ok, value) {
          if (ok) resolve(value as T);
          else reject(value);
        },
        hedged() {},
      };
      new HedgeRun(this, root, sink).begin(this.timed ? this.clock.now() : 0);
    });
    // Attempts that ignore their signal may run on; the caller is answered at its abort anyway.
    return raceAbort(result, signal);
  }

  /** @internal The source of time for the hedging delay. */
  get clock(): Clock {
    return this.#clock;
  }

  /**
   * @internal The pending delays of every call, one timer for all: they share one `delay`, so
   * they come due in the order they were set.
   */
  get hedgeQueue(): DeadlineQueue {
    return this.#queue;
  }

  /**
   * @internal True when attempts start on time, after a delay that passes: neither `0` (all at
   * once) nor `'on-failure'`. Only then is the clock read.
   */
  get timed(): boolean {
    return this.#timed;
  }

  /** @internal True when `on` was given. */
  get judgesOutcomes(): boolean {
    return this.#on !== undefined;
  }

  /**
   * @internal True when an attempt's outcome must not answer the call: by default a failure; with
   * `on`, what it says of the outcome (made only then). What `on` throws is thrown.
   */
  rejects(ok: boolean, value: unknown, attempt: number): boolean {
    const on = this.#on;
    if (on === undefined) return !ok;
    return on(ok ? { ok: true, result: value, attempt } : { ok: false, error: value, attempt });
  }

  /** @internal Counts an attempt starting (`delta` 1; `hedged` when not the first) or settling (-1). */
  trackRun(delta: 1 | -1, hedged: boolean): void {
    this.#running += delta;
    if (hedged) this.#hedges++;
  }

  /** @internal A hedged attempt answered a call. */
  won(): void {
    this.#wins++;
  }

  /**
   * @internal Takes the place of `old` (a registry's reload changed its options): its `hedges`
   * and `wins` so far go on here. A copy, not a link: the attempts still running on `old` (calls
   * in flight under the old settings), and the hedges and wins they come to, count on `old`
   * only, so that nothing the old object holds keeps its replacements alive or makes a count
   * walk a chain of them.
   */
  takeOver(old: Hedge): void {
    this.#hedges += old.#hedges;
    this.#wins += old.#wins;
  }
}

/** What `delay` takes, as every refusal of it says. */
const DELAY = "a finite duration >= 0 such as 250ms or 2s, or 'on-failure'";

/**
 * Reads the `delay` option: a finite duration >= 0, or 'on-failure' (read as {@link ON_FAILURE}).
 * Every refusal has one message; a value out of range (a negative or infinite number or sum, `-1`
 * as any other) is a RangeError, any other a TypeError.
 */
function hedgeDelay(value: unknown): number {
  if (value === undefined) return 2000;
  if (value === 'on-failure') return ON_FAILURE;
  try {
    // Stryker disable next-line StringLiteral: the refusal below replaces toMs's message
    return toMs(value, 'delay');
  } catch (error) {
    fail(error instanceof RangeError ? RangeError : TypeError, 'delay', DELAY, value);
  }
}

/** @internal Who runs a hedge's attempts and receives its outcome. */
export interface HedgeSink {
  /**
   * True for a policy's stage: the policy settles the execution's root when the caller is
   * answered (its abort included), which tells the run. False standalone, where nothing settles
   * the root and the caller's signal is the only thing that answers the caller first.
   */
  readonly inPolicy: boolean;
  /** Runs one attempt; its outcome goes to `attempt.run.settled(attempt, ok, value)`. */
  start(attempt: HedgeAttempt): void;
  /** The call's outcome (once). */
  finish(run: HedgeRun, ok: boolean, value: unknown): void;
  /** A hedged attempt is about to start, because of a delay or a failure. */
  hedged(run: HedgeRun, attempt: number, reason: 'delay' | 'failure'): void;
}

/**
 * @internal One call through a hedge: the attempts still running and the pending delay. While a
 * delay is pending it holds the execution's root, which tells it (`answered`) when the caller is
 * answered first (an enclosing deadline), so the delay's timer ends with the call.
 */
export class HedgeRun implements DeadlineNode, Holder {
  readonly hedge: Hedge;
  /** The context the hedge received. */
  readonly parent: Context;
  readonly sink: HedgeSink;
  /** Attempts still running, in start order. */
  readonly attempts: HedgeAttempt[] = [];
  started = 0;
  done = false;
  /** When the pending delay ends (on the hedge's clock), while `queued`. */
  dueAt = 0;
  prevDeadline: DeadlineNode | undefined = undefined;
  nextDeadline: DeadlineNode | undefined = undefined;
  queued = false;
  /**
   * Runs the delay's expiry in the call's async context (see `inCallContext`), set with each
   * delay (kept while unused): the hedged attempt and its event belong to this call, not to the
   * one that armed the shared timer.
   */
  wake: DeadlineNode['wake'] = undefined;
  #watched: AbortSignal | undefined;
  /** Registered with the execution's root (and the caller's signal): at the first delay. */
  #held = false;

  constructor(hedge: Hedge, parent: Context, sink: HedgeSink) {
    this.hedge = hedge;
    this.parent = parent;
    this.sink = sink;
  }

  /**
   * Starts the first attempt (and, with `delay: 0`, every other one).
   * @param now - the hedge's clock, read by the caller (it may have read it already)
   */
  begin(now: number): void {
    this.#start();
    if (this.hedge.delayMs === 0) {
      while (!this.done && this.started + this.failovers <= this.hedge.maxHedges) {
        this.#hedge('delay');
      }
    } else this.#arm(now);
  }

  /** An attempt's outcome. */
  settled(attempt: HedgeAttempt, ok: boolean, value: unknown): void {
    const hedge = this.hedge;
    const i = this.attempts.indexOf(attempt);
    // Stryker disable next-line ConditionalExpression: an attempt settles once (each inner step passes one outcome per context); a guard only
    if (i === -1) return;
    this.attempts.splice(i, 1);
    attempt.unlink();
    hedge.trackRun(-1, false);
    if (this.done) return;
    const parent = this.parent;
    // The caller gave up (or an enclosing deadline passed): no more attempts.
    if (parent.aborted) {
      this.#finish(false, parent.abortReason);
      return;
    }
    let rejected: boolean;
    try {
      rejected = hedge.rejects(ok, value, attempt.attempt);
    } catch (error) {
      this.#finish(false, error);
      return;
    }
    if (!rejected) {
      if (attempt.attempt > 1) hedge.won();
      this.#finish(ok, value);
      return;
    }
    if (this.started + this.failovers <= hedge.maxHedges) {
      // Not acceptable: the next attempt starts rather than after the delay, in the next turn
      // (it yields, as a retry does): the failed attempt's aborted work has settled by then and
      // given back what it held (a bulkhead slot inside the hedge).
      this.#disarm();
      this.failovers++;
      nextTurn(this.#failover);
    } else if (this.attempts.length === 0 && this.failovers === 0) {
      this.#finish(ok, value);
    }
  }

  /** Attempts due in the next turn because one failed (see `settled`). */
  failovers = 0;

  readonly #failover = (): void => {
    this.failovers--;
    if (this.done) return;
    if (this.parent.aborted) {
      this.#finish(false, this.parent.abortReason);
      return;
    }
    this.#hedge('failure');
    this.#arm(undefined);
  };

  #start(): void {
    const attempt = new HedgeAttempt(this.parent, this, this.started + 1);
    this.started++;
    this.attempts.push(attempt);
    this.hedge.trackRun(1, attempt.attempt > 1);
    this.sink.start(attempt);
  }

  #hedge(reason: 'delay' | 'failure'): void {
    try {
      this.sink.hedged(this, this.started + 1, reason);
    } catch {
      // A listener never breaks a call.
    }
    this.#start();
  }

  /**
   * Sets the delay before the next hedged attempt, if one is left and the delay applies.
   * @param now - the hedge's clock if already read; read here only when a delay is set
   * @param from - when the delay starts, if not `now`: the time the previous one's timer fired
   */
  #arm(now: number | undefined, from?: number): void {
    const hedge = this.hedge;
    // A pending failover starts the next attempt and sets the delay after it: an attempt that
    // failed at once (synchronously) has scheduled one before this is called.
    if (this.done || this.failovers > 0 || this.started > hedge.maxHedges) return;
    if (!hedge.timed || this.queued) return;
    const at = now ?? hedge.clock.now();
    this.dueAt = (from ?? at) + hedge.delayMs;
    // Called in the call's context: at `begin`, after a failover, or in an expiry's reaction.
    this.wake ??= inCallContext();
    hedge.hedgeQueue.add(this, at);
    // Nobody waits for the next attempt once the caller is answered: the delay ends then. In a
    // policy, the root is settled whatever answers the caller (its abort, an enclosing deadline,
    // a custom stage), and tells its holders (at once if the caller is answered already);
    // standalone, only the caller's abort answers the caller, which this run hears itself. The
    // run registers once, at its first delay: a delay set again after the caller was answered
    // ends at once.
    const root = this.parent.root;
    if (this.#held) {
      if (root.settled) this.answered(root);
      return;
    }
    this.#held = true;
    if (this.sink.inPolicy) {
      root.hold(this);
      return;
    }
    const signal = abortable(root.callerSignal);
    if (signal !== undefined) {
      this.#watched = signal;
      listenAbort(signal, this);
    }
  }

  #disarm(): void {
    this.hedge.hedgeQueue.remove(this);
  }

  /**
   * The delay passed without an acceptable outcome (told by its `wake`, a microtask after the
   * timer, in the call's context): the next attempt starts, unless the run was disarmed since
   * (finished, set again after a failover, or its caller answered).
   */
  expire(firedAt: number): void {
    if (this.done || this.queued || this.failovers > 0 || this.parent.root.settled) return;
    if (this.parent.aborted) {
      this.#finish(false, this.parent.abortReason);
      return;
    }
    // Stryker disable next-line ConditionalExpression: `#arm` sets no delay without an attempt left; a guard only
    if (this.started + this.failovers > this.hedge.maxHedges) return;
    this.#hedge('delay');
    // From when the timer fired: not `dueAt` (a late timer must not queue this delay before
    // younger ones, queued by then), nor the clock now, a microtask later, which a synchronous
    // fake-timer tick has moved on by the whole tick (the later delays would drift by it).
    this.#arm(undefined, firedAt);
  }

  /** The caller was answered (in a policy): no further attempt starts on time. */
  answered(_root: RootContext): void {
    this.handleEvent();
  }

  /** The caller's signal aborted (standalone): no further attempt starts on time. */
  handleEvent(): void {
    this.#disarm();
    this.#unwatch();
  }

  #unwatch(): void {
    if (this.#watched !== undefined) {
      unlistenAbort(this.#watched, this);
      this.#watched = undefined;
    }
  }

  #finish(ok: boolean, value: unknown): void {
    this.done = true;
    this.#disarm();
    this.#unwatch();
    // Still held by the root, which goes with the call: told it was answered, it has nothing left
    // to stop.
    // The losers stop: each is aborted through its own signal. A copy: an inner step may answer
    // for one at once (a deadline linked to its signal), which takes it off the list.
    for (const attempt of this.attempts.slice()) attempt.cancel();
    this.sink.finish(this, ok, value);
  }
}

/**
 * @internal The context of one hedged attempt: its own attempt number and its own signal, which
 * aborts when the enclosing one does and when another attempt wins. The signal is created only
 * when someone reads it.
 */
export class HedgeAttempt extends DerivedContext {
  readonly run: HedgeRun;
  readonly #attempt: number;
  #controller: AbortController | undefined;
  #linked: AbortSignal | undefined;
  /** Another attempt answered the call. */
  #lost = false;
  /** The reason this attempt lost, made when first read. */
  #why: DOMException | undefined;
  #settled = false;

  constructor(parent: Context, run: HedgeRun, attempt: number) {
    super(parent, run.sink);
    this.run = run;
    this.#attempt = attempt;
  }

  override get attempt(): number {
    return this.#attempt;
  }

  override get aborted(): boolean {
    return this.parent.aborted || this.#lost;
  }

  override get abortReason(): unknown {
    if (this.parent.aborted) return this.parent.abortReason;
    return this.#lost ? this.#reason() : undefined;
  }

  override get cancelled(): boolean {
    return this.#lost || this.parent.cancelled;
  }

  override get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = (this.#controller = new AbortController());
      if (this.parent.aborted) controller.abort(this.parent.abortReason);
      else if (this.#lost) controller.abort(this.#reason());
      else if (!this.#settled) {
        const outer = this.parent.signal;
        // Stryker disable next-line ConditionalExpression: a listener on the signal that never aborts is never called, and goes when the attempt settles
        if (outer !== NEVER_ABORTED) {
          listenAbort(outer, this);
          this.#linked = outer;
        }
      }
    }
    return this.#controller.signal;
  }

  /** The enclosing signal aborted: so does this attempt's (this object is its listener). */
  handleEvent(): void {
    this.unlink();
    // Linked only once the controller exists.
    (this.#controller as AbortController).abort(this.parent.abortReason);
  }

  /**
   * Another attempt answered the call: this one is aborted. Its reason is made only for a signal
   * already read, or when read later.
   */
  cancel(): void {
    this.unlink();
    this.#lost = true;
    this.#controller?.abort(this.#reason());
    // Nobody waits for its work any more: its attempts in a policy end now.
    if (this.root.timedCalls !== undefined) endTimedCalls(this, this.abortReason);
  }

  /** The reason a losing attempt's signal aborts with, made once. */
  #reason(): DOMException {
    return (this.#why ??= new DOMException(
      'Another hedged attempt answered the call first',
      'AbortError',
    ));
  }

  /** The attempt settled: it no longer follows the enclosing signal. */
  unlink(): void {
    this.#settled = true;
    if (this.#linked !== undefined) {
      unlistenAbort(this.#linked, this);
      this.#linked = undefined;
    }
  }
}
