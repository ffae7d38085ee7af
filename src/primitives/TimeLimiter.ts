import { OperationTimeoutError } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import { DeadlineQueue, type DeadlineNode } from '../internal/deadlines.js';
import type { Duration } from '../internal/duration.js';
import { NEVER_ABORTED, raceAbort } from '../internal/signals.js';
import {
  clockOption,
  durationOption,
  knownKeys,
  optionsObject,
  stringOption,
} from '../internal/validate.js';
import { Context, RootContext } from '../internal/context.js';

/** Options of a {@link TimeLimiter}. */
export interface TimeLimiterOptions {
  /**
   * Longest an operation may take before it is rejected and its signal aborted.
   * @defaultValue `'30s'`
   */
  readonly timeout?: Duration;
  /** Operation name used in the timeout message; otherwise the function or policy name. */
  readonly name?: string;
  /** Source of time. @defaultValue {@link systemClock} */
  readonly clock?: Clock;
}

const DEFAULTS = Object.freeze({ timeout: 30_000 });
const KEYS = ['timeout', 'name', 'clock'] as const;

/** @internal Who is told about a timeout, and under what name it is reported. */
export interface TimeoutOwner {
  readonly operation: string;
  onTimeout(timeoutMs: number): void;
}

/**
 * Enforces a deadline. The operation receives an `AbortSignal` that aborts at the deadline (and
 * when the caller's signal aborts), and the returned promise rejects with
 * {@link OperationTimeoutError} at the deadline whether or not the operation honours the signal.
 *
 * All operations of one limiter share one timeout, so their deadlines arrive in order and one
 * timer serves them all; the signal is created only when someone reads it. Timers are unref'd:
 * they never keep a finished process alive.
 *
 * @example
 * ```ts
 * const limiter = new TimeLimiter({ timeout: '3s' });
 * const res = await limiter.execute((signal) => fetch(url, { signal }));
 * ```
 */
export class TimeLimiter {
  /** The deadline, in milliseconds. */
  readonly timeoutMs: number;
  /** The operation name used in timeout messages, if one was given. */
  readonly name: string | undefined;
  /** @internal */
  readonly clock: Clock;
  /** @internal */
  readonly queue: DeadlineQueue;

  constructor(options?: TimeLimiterOptions) {
    const o = optionsObject(options, 'TimeLimiter');
    knownKeys(o, KEYS, 'TimeLimiter');
    this.timeoutMs = durationOption(o.timeout, 'timeout', DEFAULTS.timeout);
    this.name = stringOption(o.name, 'name', undefined);
    this.clock = clockOption(o.clock);
    this.queue = new DeadlineQueue(this.clock);
  }

  /**
   * Runs `fn` under the deadline.
   * @param signal - the caller's signal: its abort rejects at once with its reason
   */
  execute<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const root = new RootContext(this.name ?? '', 0, fn as never, signal, undefined);
    const owner: TimeoutOwner = { operation: this.name || fn.name, onTimeout: noop };
    const next = (ctx: Context): Promise<T> => Promise.resolve(fn(ctx.signal));
    return raceAbort(this.run(root, next, owner), signal);
  }

  /**
   * @internal Runs `next` with a context whose signal also aborts at this limiter's deadline.
   */
  run<T>(parent: Context, next: (ctx: Context) => Promise<T>, owner: TimeoutOwner): Promise<T> {
    const now = this.clock.now();
    const timed = new TimedContext(parent, this, now + this.timeoutMs, owner);
    const result = new Promise<T>((resolve, reject) => {
      timed.resolve = resolve as (value: unknown) => void;
      timed.reject = reject;
    });
    this.queue.add(timed, now);
    let inner: Promise<T>;
    try {
      inner = next(timed);
    } catch (error) {
      inner = Promise.reject(error);
    }
    inner.then(
      (value) => timed.settle(true, value),
      (error: unknown) => timed.settle(false, error),
    );
    return result;
  }
}

function noop(): void {}

/** @internal The context inside a timeout: a deadline node with a lazily created signal. */
export class TimedContext extends Context implements DeadlineNode {
  deadline: number;
  prevDeadline: DeadlineNode | undefined = undefined;
  nextDeadline: DeadlineNode | undefined = undefined;
  queued = false;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;
  private readonly parent: Context;
  private readonly limiter: TimeLimiter;
  private readonly owner: TimeoutOwner;
  private controller: AbortController | undefined = undefined;
  private linked: AbortSignal | undefined = undefined;
  private timeoutError: OperationTimeoutError | undefined = undefined;
  private done = false;

  constructor(parent: Context, limiter: TimeLimiter, deadline: number, owner: TimeoutOwner) {
    super();
    this.parent = parent;
    this.limiter = limiter;
    this.deadline = deadline;
    this.owner = owner;
  }

  get policyName(): string {
    return this.parent.policyName;
  }
  get attempt(): number {
    return this.parent.attempt;
  }
  get startedAt(): number {
    return this.parent.startedAt;
  }
  get data(): Map<string, unknown> {
    return this.parent.data;
  }
  get root(): RootContext {
    return this.parent.root;
  }
  get aborted(): boolean {
    return this.parent.aborted || this.timeoutError !== undefined;
  }
  get abortReason(): unknown {
    return this.parent.aborted ? this.parent.abortReason : this.timeoutError;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = (this.controller = new AbortController());
      if (this.parent.aborted) controller.abort(this.parent.abortReason);
      else if (this.timeoutError !== undefined) controller.abort(this.timeoutError);
      else if (!this.done) {
        const outer = this.parent.signal;
        if (outer !== NEVER_ABORTED) {
          outer.addEventListener('abort', this);
          this.linked = outer;
        }
      }
    }
    return this.controller.signal;
  }

  /** Forwards the enclosing signal's abort (this object is its own listener: no closure). */
  handleEvent(): void {
    this.unlink();
    this.controller?.abort(this.parent.abortReason);
  }

  /** Deadline passed while the operation was still running. */
  expire(): void {
    if (this.done) return;
    this.done = true;
    this.unlink();
    if (this.parent.aborted) {
      this.reject(this.parent.abortReason);
      return;
    }
    const error = new OperationTimeoutError(
      this.limiter.timeoutMs,
      this.limiter.name || this.owner.operation,
    );
    this.timeoutError = error;
    try {
      this.owner.onTimeout(this.limiter.timeoutMs);
    } catch {
      // A listener never breaks a call.
    }
    this.reject(error);
    this.controller?.abort(error);
  }

  /** The operation settled. */
  settle(ok: boolean, value: unknown): void {
    if (this.done) return;
    this.done = true;
    this.limiter.queue.remove(this);
    this.unlink();
    if (ok) this.resolve(value);
    else this.reject(value);
  }

  private unlink(): void {
    if (this.linked !== undefined) {
      this.linked.removeEventListener('abort', this);
      this.linked = undefined;
    }
  }
}
