import { OperationTimeoutError } from '../../errors.js';
import type { SignalWork } from '../../internal/resolved.js';
import type { Clock } from '../../internal/clock.js';
import {
  deadlineQueue,
  inCallContext,
  type DeadlineNode,
  type DeadlineQueue,
} from '../../internal/deadlines.js';
import type { Duration } from '../../internal/duration.js';
import {
  NEVER_ABORTED,
  abortable,
  raceAbort,
  noop,
  callAsync,
  refusedCall,
} from '../../internal/signals.js';
import { setReadonly } from '../../internal/readonly.js';
import { clip } from '../../optionErrors.js';
import {
  clockOption,
  oneOfOption,
  optionsObject,
  positiveDuration,
  stringOption,
  unboundError,
} from '../../internal/validate.js';
import { DerivedContext, RootContext, deferTo, type Context } from '../../internal/context.js';
import { listenAbort, unlistenAbort } from '../../internal/abortListeners.js';
import { answeredWith } from '../../internal/answers.js';

/** Options of a {@link TimeLimiter}. */
export interface TimeLimiterOptions {
  /**
   * Longest an operation may take before it is rejected and its signal aborted: a finite
   * duration > 0.
   * @defaultValue `'30s'`
   */
  readonly timeout?: Duration | undefined;
  /**
   * Operation name used in the timeout message; otherwise the function or policy name. A name
   * longer than 200 characters shows its first 200 and its length there.
   */
  readonly name?: string | undefined;
  /**
   * What happens at the deadline:
   * - `'aggressive'`: the signal aborts and the call rejects at once with
   *   {@link OperationTimeoutError}, whether or not the work honours the signal (it may go on in
   *   the background; its late outcome is ignored).
   * - `'cooperative'`: the signal aborts (its reason an {@link OperationTimeoutError}) and the
   *   call waits for the work to settle, then passes on the work's own outcome: its value if it
   *   resolves after all, its error if it rejects. Work that honours the signal usually rejects
   *   with what it chose: `fetch` rejects with the signal's reason, the `OperationTimeoutError`
   *   (other APIs with an `AbortError` `DOMException`). Work that ignores the signal is never cut
   *   short. The `timeout` event is emitted at the deadline in both modes. (Polly's and
   *   cockatiel's cooperative model.)
   * @defaultValue `'aggressive'`
   */
  readonly mode?: TimeoutMode | undefined;
  /** Source of time. @defaultValue {@link systemClock} */
  readonly clock?: Clock | undefined;
}

/** What a {@link TimeLimiter} does at the deadline: see {@link TimeLimiterOptions.mode}. */
export type TimeoutMode = 'aggressive' | 'cooperative';

/** @internal Every option key the constructor accepts. */
export const TIME_LIMITER_OPTIONS = ['timeout', 'name', 'mode', 'clock'] as const;

/** @internal Who is told about a timeout, and under what name it is reported. */
export interface TimeoutOwner {
  readonly operation: string;
  onTimeout(timeoutMs: number): void;
}

/** @internal Told when a deadline passes before the work settled. */
export interface DeadlineSink {
  expired(timed: TimedContext, error: unknown): void;
}

/**
 * Enforces a deadline. The operation receives an `AbortSignal` that aborts at the deadline (and
 * when the caller's signal aborts), and the returned promise rejects with
 * {@link OperationTimeoutError} at the deadline whether or not the operation honours the signal.
 *
 * All operations of one limiter share one timeout, so their deadlines arrive in order and one
 * timer serves them all; the signal is created only when someone reads it. A deadline keeps the
 * process alive (like any `setTimeout`) while an operation waits on it, and no longer: once every
 * operation has settled, a finished process exits at once.
 *
 * @example
 * ```ts
 * const limiter = new TimeLimiter({ timeout: '3s' });
 * const res = await limiter.execute((signal) => fetch(url, { signal }));
 * ```
 */
export class TimeLimiter {
  readonly #cooperativeMode: boolean;
  readonly #clock: Clock;
  readonly #deadlineQueue: DeadlineQueue;

  /** The deadline, in milliseconds. */
  declare readonly timeoutMs: number;
  /** The operation name used in timeout messages, if one was given. */
  declare readonly name: string | undefined;
  /** What happens at the deadline. */
  declare readonly mode: TimeoutMode;
  /** @internal True in `'cooperative'` mode. */
  get cooperativeMode(): boolean {
    return this.#cooperativeMode;
  }

  /** @internal */
  get clock(): Clock {
    return this.#clock;
  }

  /** @internal */
  get deadlineQueue(): DeadlineQueue {
    return this.#deadlineQueue;
  }

  constructor(options?: TimeLimiterOptions) {
    const o = optionsObject(options, 'TimeLimiter', TIME_LIMITER_OPTIONS);
    // A zero deadline would fail every call before it could start: surely a mistake.
    const timeoutMs = positiveDuration(o.timeout, 'timeout', 30_000);
    const name = stringOption(o.name, 'name', undefined);
    const mode = oneOfOption(o.mode, 'mode', ['aggressive', 'cooperative'], 'aggressive');
    setReadonly<TimeLimiter>(this, { timeoutMs, name, mode });
    this.#cooperativeMode = mode === 'cooperative';
    this.#clock = clockOption(o.clock);
    this.#deadlineQueue = deadlineQueue(this.#clock);
  }

  /**
   * Runs `fn` under the deadline.
   * @param signal - the caller's signal: its abort rejects at once with its reason
   */
  // The work's whole type (see `SignalWork`).
  execute<T = unknown, Fn extends SignalWork<T> = SignalWork<T>>(
    fn: Fn,
    signal?: AbortSignal,
  ): Promise<Awaited<ReturnType<Fn>>>;
  execute<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    if (!(this instanceof TimeLimiter)) {
      return Promise.reject(unboundError('execute', 'TimeLimiter', this));
    }
    const refused = refusedCall(fn, signal);
    if (refused !== undefined) return refused;
    if (signal?.aborted) return Promise.reject(signal.reason);
    // Stryker disable next-line LogicalOperator,StringLiteral: the root's policy name is read by policy stages only; the work run here sees nothing but its signal
    const root = new RootContext(this.name ?? '', 0, fn as never, signal, undefined);
    const owner: TimeoutOwner = { operation: this.name || fn.name, onTimeout: noop };
    const next = (ctx: Context): Promise<T> => callAsync(fn, ctx.signal);
    return raceAbort(this.runTimed(root, next, owner, this.#clock.now()), signal);
  }

  /**
   * @internal Starts a deadline: a context for the work whose signal also aborts at the deadline,
   * queued so that `sink.expired` is called if it passes first. The caller calls
   * `timed.finish()` when the work settles.
   * @param now - this limiter's clock, read by the caller (it may have read it already)
   * @param capture - whether the expiry runs in the async context current now (the call's),
   *   for a sink that runs something after it
   */
  startDeadline(
    parent: Context,
    owner: TimeoutOwner,
    now: number,
    sink: DeadlineSink,
    capture = false,
  ): TimedContext {
    const timed = new TimedContext(parent, this, now + this.timeoutMs, owner, sink);
    if (capture) timed.wake = inCallContext();
    this.#deadlineQueue.add(timed, now);
    // When the caller gives up, nobody waits for this deadline any more: it ends then, so its
    // timer does not keep the process alive for work whose caller was answered.
    const caller = abortable(parent.root.callerSignal);
    if (caller !== undefined && !caller.aborted) timed.watch(caller);
    return timed;
  }

  /**
   * @internal Runs `next` under the deadline and returns a promise of its outcome (or of the
   * timeout). Used by `execute` and the function wrappers; policies use `start` directly.
   * `next` never throws: both callers hand it work already wrapped in a promise.
   */
  runTimed<T>(
    parent: Context,
    next: (ctx: Context) => Promise<T>,
    owner: TimeoutOwner,
    now: number,
  ): Promise<T> {
    const timed = this.startDeadline(parent, owner, now, PROMISE_SINK);
    const result = deferTo(timed) as Promise<T>;
    next(timed).then(
      (value) => {
        if (timed.finish()) timed.resolve(value);
      },
      (error: unknown) => {
        if (timed.finish()) timed.reject(error);
      },
    );
    return result;
  }
}

/**
 * @internal A deadline of `limiter` passed before the work settled: tells `owner` (counted and
 * reported by a policy's timeout step; a listener that throws never breaks the call) and answers
 * the error the call fails with. The one place a timeout's error is made, for a deadline in a
 * {@link TimedContext} and one carried by a policy's root context alike.
 */
export function timeoutError(limiter: TimeLimiter, owner: TimeoutOwner): OperationTimeoutError {
  // A name longer than 200 characters shows its first 200 and its length.
  const operation = limiter.name || owner.operation;
  const error = new OperationTimeoutError(
    limiter.timeoutMs,
    typeof operation == 'string' ? clip(operation, 200) : operation,
  );
  // An aggressive deadline answers its caller with it now; a cooperative one answers nobody.
  if (!limiter.cooperativeMode) answeredWith(error);
  try {
    owner.onTimeout(limiter.timeoutMs);
  } catch {
    // A listener never breaks a call.
  }
  return error;
}

const PROMISE_SINK: DeadlineSink = {
  expired(timed, error) {
    timed.reject(error);
  },
};

/** @internal The context inside a timeout: a deadline node with a lazily created signal. */
export class TimedContext extends DerivedContext implements DeadlineNode {
  /** This timeout's own deadline on its limiter's clock. */
  dueAt: number;
  prevDeadline: DeadlineNode | undefined;
  nextDeadline: DeadlineNode | undefined;
  // Stryker disable next-line BooleanLiteral: `start` queues the context as soon as it is made, setting it
  queued = false;
  declare readonly owner: TimeoutOwner;
  /** Told if the deadline passes first. */
  readonly sink: DeadlineSink;
  resolve: (value: unknown) => void = noop;
  reject: (error: unknown) => void = noop;
  /** Set when the expiry must run in the call's async context (see `startDeadline`). */
  wake: DeadlineNode['wake'] = undefined;
  readonly #limiter: TimeLimiter;
  // Fields without an initializer start out undefined.
  #controller: AbortController | undefined;
  #linked: AbortSignal | undefined;
  #caller: AbortSignal | undefined;
  #timeoutError: OperationTimeoutError | undefined;
  #done = false;

  constructor(
    parent: Context,
    limiter: TimeLimiter,
    deadline: number,
    owner: TimeoutOwner,
    sink: DeadlineSink,
  ) {
    super(parent, owner);
    this.#limiter = limiter;
    this.dueAt = deadline;
    this.sink = sink;
  }

  override get deadline(): number {
    const outer = this.parent.inheritedDeadline;
    // Stryker disable next-line EqualityOperator: when both are equal either one is the answer
    return outer < this.dueAt ? outer : this.dueAt;
  }
  override get remaining(): number {
    const left = this.dueAt - this.#limiter.clock.now();
    // Stryker disable next-line EqualityOperator: when both are equal either one is the answer
    const own = left > 0 ? left : 0;
    const outer = this.parent.inheritedRemaining;
    // Stryker disable next-line EqualityOperator: when both are equal either one is the answer
    return outer < own ? outer : own;
  }

  override get aborted(): boolean {
    return this.parent.aborted || this.#timeoutError !== undefined;
  }
  override get abortReason(): unknown {
    return this.parent.aborted ? this.parent.abortReason : this.#timeoutError;
  }

  override get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = (this.#controller = new AbortController());
      if (this.parent.aborted) controller.abort(this.parent.abortReason);
      else if (this.#timeoutError !== undefined) controller.abort(this.#timeoutError);
      else if (!this.#done) {
        const outer = this.parent.inheritedSignal;
        // Stryker disable next-line ConditionalExpression: a fast path; the never-aborting signal keeps no listener anyway
        if (outer !== NEVER_ABORTED) {
          listenAbort(outer, this);
          this.#linked = outer;
        }
      }
    }
    return this.#controller.signal;
  }

  /** @internal Ends the deadline early when the caller's `signal` aborts (see `handleEvent`). */
  watch(signal: AbortSignal): void {
    this.#caller = signal;
    listenAbort(signal, this);
  }

  /**
   * The caller's signal or the enclosing one aborted (this object is its own listener: no
   * closure). The abort reaches the work's signal, and the way out is taken now with the reason,
   * as it would be at the deadline: the deadline is dropped, since nobody waits for it.
   */
  handleEvent(): void {
    // Ends it as its outcome would (`finish`).
    // Stryker disable next-line ConditionalExpression: every way of setting #done also removes this listener (#unlink), and a removed listener is not called, even in the middle of a dispatch
    if (!this.finish()) return;
    const reason = this.parent.abortReason;
    // It answers the caller now, whatever aborted (a cooperative deadline outside too).
    answeredWith(reason);
    this.#controller?.abort(reason);
    this.sink.expired(this, reason);
  }

  /**
   * Deadline passed while the work was still running (called by the queue, or by its `wake` a
   * microtask later, in the call's context). In cooperative mode the work's signal aborts and the
   * way out waits for its outcome (`finish` still answers true).
   */
  expire(): void {
    // The work may have settled (or the caller aborted) between the timer and its `wake`.
    if (this.#done) return;
    let error: unknown;
    if (this.parent.aborted) {
      this.#done = true;
      this.#unlink();
      error = this.parent.abortReason;
    } else {
      const cooperative = this.#limiter.cooperativeMode;
      if (!cooperative) {
        this.#done = true;
        this.#unlink();
      }
      const timeout = timeoutError(this.#limiter, this.owner);
      this.#timeoutError = error = timeout;
      this.#controller?.abort(timeout);
      if (cooperative) return;
    }
    this.sink.expired(this, error);
  }

  /**
   * The work settled. Returns false when the deadline had already passed (the outcome is then
   * stale and must be ignored).
   */
  finish(): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#limiter.deadlineQueue.remove(this);
    this.#unlink();
    return true;
  }

  #unlink(): void {
    // Each once, and only where set: a finished context holds neither signal.
    if (this.#linked !== undefined) {
      unlistenAbort(this.#linked, this);
      this.#linked = undefined;
    }
    if (this.#caller !== undefined) {
      unlistenAbort(this.#caller, this);
      this.#caller = undefined;
    }
  }
}
