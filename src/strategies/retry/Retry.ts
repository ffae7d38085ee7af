import type { Clock } from '../../internal/clock.js';
import type { AttemptWork, Resolved } from '../../internal/resolved.js';
import { MAX_TIMER_MS as MAX_WAIT_MS } from '../../internal/timerLimit.js';
import { fail, toMs, type Duration } from '../../internal/duration.js';
import { notify } from '../../internal/listeners.js';
import { notRetryable } from '../../internal/retryable.js';
import {
  NEVER_ABORTED,
  nextTurnPromise,
  raceAbort,
  sleep,
  refusedCall,
} from '../../internal/signals.js';
// One namespace: a bundle keeps only the helpers used.
import * as validate from '../../internal/validate.js';
import { inspectView, inspectableClass } from '../../internal/inspect.js';
// A type only: a retry without a budget carries none of the budget's code.
import type { RetryBudget } from '../retry-budget/RetryBudget.js';

/** What a {@link RetryOptions.delay} function receives: the outcome that is about to be retried. */
export interface RetryDelayInput {
  /** The attempt that just failed (1-based). */
  readonly attempt: number;
  /** The error that caused the retry; `undefined` when a result did. */
  readonly error: unknown;
  /** The result `retryOnResult` rejected; `undefined` when an error caused the retry. */
  readonly result: unknown;
}

/** How the wait grows from one retry to the next. */
export type BackoffType = 'exponential' | 'constant' | 'linear';

/**
 * Options of a {@link Retry}.
 *
 * @typeParam R - the result type `retryOnResult` inspects
 */
// `any` by default so that options written for one result type fit a retry of any other.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface RetryOptions<R = any> {
  /**
   * Total attempts, the first one included. An integer >= 1; `1` never retries.
   * @defaultValue 3
   */
  readonly maxAttempts?: number | undefined;
  /**
   * Base wait before the first retry (milliseconds or a string like `'200ms'`), which
   * `backoffType` grows. With `0` the next attempt sets no timer; it still waits for a later
   * macrotask, so a deadline or an abort can land between attempts.
   *
   * Or a function of the outcome about to be retried, `({ attempt, error, result }) => Duration`,
   * whose value is the wait as it is (no backoff, no jitter; still capped by `maxDelay` and
   * raised to a `retryAfterMs`). What it throws rejects the call; a value that is not a duration
   * rejects it with a `TypeError` or `RangeError` naming `delay`.
   * @defaultValue 0
   */
  readonly delay?: Duration | ((input: RetryDelayInput) => Duration) | undefined;
  /**
   * How the wait grows: `'exponential'` waits `delay * backoff ** n` before retry `n` (0-based),
   * `'constant'` waits `delay` each time, `'linear'` waits `delay * (n + 1)`.
   * @defaultValue `'exponential'`
   */
  readonly backoffType?: BackoffType | undefined;
  /**
   * Multiplier applied to the wait for each further retry with `backoffType: 'exponential'`: the
   * wait before retry `n` (0-based) is `delay * backoff ** n`. A finite number >= 1; `1` keeps
   * the wait constant. Refused with another `backoffType`, `jitter: 'decorrelated'` or a `delay`
   * function, except `1`, which changes no wait.
   * @defaultValue 1
   */
  readonly backoff?: number | undefined;
  /**
   * Cap on one wait, applied after jitter (milliseconds or a string like `'10s'`).
   * @defaultValue none (no cap)
   */
  readonly maxDelay?: Duration | undefined;
  /**
   * Cap on the wait an outcome asks for with a finite `retryAfterMs` >= 0 (a
   * `RateLimitExceededError`, a `CircuitOpenError`, an `HttpStatusError` from `bulwark/fetch`'s
   * `Retry-After`, or any object with that property): the wait is at least
   * `min(retryAfterMs, maxRetryAfter)`.
   * @defaultValue `maxDelay` (no cap without it)
   */
  readonly maxRetryAfter?: Duration | undefined;
  /**
   * Randomises each wait, spreading the retries of many callers:
   * - a number in [0, 1]: moves the wait by up to ±`jitter`·wait;
   * - `'full'`: a uniform wait in [0, wait) ("full jitter");
   * - `'decorrelated'`: Polly's decorrelated jitter (v2): waits whose median grows like the
   *   exponential formula with `backoff` 2, randomised without clustering; the waits up to retry
   *   `n` add up to between `delay·f(n)/1.4` and `delay·f(n+1)/1.4`, with
   *   `f(t) = 2^t·tanh(√(4t))`. Refused with a `backoffType` other than `'exponential'` (the
   *   default, accepted written out), with a `backoff` other than 1, or with a `delay` function.
   * @defaultValue 0
   */
  readonly jitter?: number | 'full' | 'decorrelated' | undefined;
  /**
   * Which errors are retried: an array of error classes (matched with `instanceof`) or a
   * predicate. Other errors propagate at once. An error object with an own data property
   * `retryable` set to `false` (as `bulwark/fetch`'s `HttpStatusError` has for a request that
   * may not be sent again) is never retried, and `retryOn` is not consulted for it. A predicate that throws rejects the call with
   * what it threw. A class list never throws: an error that `instanceof` cannot inspect (a Proxy
   * whose `getPrototypeOf` trap throws) is an instance of no class, so it is not retried and the
   * caller gets it unchanged.
   * @defaultValue all errors
   */
  readonly retryOn?: validate.ErrorFilter | undefined;
  /**
   * Retries a call that resolved, while it returns true (for example on an HTTP 503 response).
   * After the last attempt the last result is returned, whatever this says.
   * @defaultValue none (every result is accepted)
   */
  readonly retryOnResult?: ((result: R) => boolean) | undefined;
  /**
   * Source of randomness for jitter, returning a number in [0, 1) like `Math.random`, at once (a
   * promise it returns fails the call with a `TypeError` naming `random`). Inject one for
   * deterministic waits.
   * @defaultValue `Math.random`
   */
  readonly random?: (() => number) | undefined;
  /**
   * Source of time for the waits.
   * @defaultValue `systemClock`
   */
  readonly clock?: Clock | undefined;
  /**
   * A {@link RetryBudget} shared with other retries: each call deposits its first attempt, each
   * retry withdraws one; when the budget is exhausted the last outcome is returned at once (the
   * `retry` event has `skipped: 'budget'`).
   * @defaultValue none (retries are limited by `maxAttempts` only)
   */
  readonly budget?: RetryBudget | undefined;
}

/** What a retry is about to do, as reported when its wait begins. */
export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  readonly attempt: number;
  /** The wait before the next attempt, in milliseconds (0: no wait). */
  readonly delayMs: number;
  /** The error that caused the retry; present only when an error did. */
  readonly error?: unknown;
  /** The result `retryOnResult` rejected; present only when a result caused the retry. */
  readonly result?: unknown;
  /**
   * Set when the retry does not happen after all: `'deadline'` when the wait would end at or
   * after the enclosing deadline (`ctx.deadline`), so the last outcome is returned at once;
   * `'budget'` when the retry's {@link RetryBudget} is exhausted.
   */
  readonly skipped?: 'deadline' | 'budget';
}

/**
 * @internal Hears of each retry due as its wait would begin (see {@link Retry.nextAttempt}): the
 * attempt that just failed, the wait, the outcome (an error when `failed`) and, for a retry that
 * does not happen after all, why. Called with the parts, so that a caller nobody listens to
 * builds no {@link RetryInfo}.
 */
export type RetryReport = (
  attempt: number,
  delayMs: number,
  failed: boolean,
  outcome: unknown,
  skipped: RetryInfo['skipped'],
) => void;

/** @internal The {@link RetryInfo} of a retry due, from a {@link RetryReport}'s arguments. */
export function retryInfo(
  attempt: number,
  delayMs: number,
  failed: boolean,
  outcome: unknown,
  skipped: RetryInfo['skipped'],
): RetryInfo {
  return {
    attempt,
    delayMs,
    [failed ? 'error' : 'result']: outcome,
    ...(skipped && { skipped }),
  };
}

/** @internal State one execution's retries carry from wait to wait (decorrelated jitter). */
export interface RetryState {
  prev: number;
}

/**
 * @internal The execution a retry serves, as {@link Retry.nextAttempt} and {@link Retry.pause} read it
 * between attempts (a policy's context has these members; the standalone loop adapts its
 * signal).
 */
export interface RetryScope {
  /** The caller has given up: its signal aborted (in a policy, or the deadline passed). */
  readonly aborted: boolean;
  /** What the call rejects with once `aborted`. */
  readonly abortReason: unknown;
  /** Milliseconds left before the enclosing deadline (`Infinity`: none). */
  readonly remaining: number;
  /** The signal that cuts a wait short (read only for a timed wait). */
  readonly signal: AbortSignal | undefined;
}

// `Math.random` is looked up on every draw, so a stub installed after import (as tests do) applies.
const mathRandom = (): number => Math.random();

/** @internal Every option key the constructor accepts. */
export const RETRY_OPTIONS: readonly string[] = Object.freeze([
  'maxAttempts',
  'delay',
  'backoffType',
  'backoff',
  'maxDelay',
  'maxRetryAfter',
  'jitter',
  'retryOn',
  'retryOnResult',
  'random',
  'clock',
  'budget',
]);

/**
 * Re-invokes an operation that fails, waiting between attempts so a dependency has time to
 * recover.
 *
 * The wait before retry `n` (0-based) is `delay * backoff ** n` (or constant, or linear, by
 * `backoffType`); with `jitter` > 0 it moves by a uniform random fraction in ±`jitter` of itself
 * (`'full'` and `'decorrelated'` draw it otherwise); with `maxDelay` it is then capped. An
 * outcome that carries a finite `retryAfterMs` is waited on for at least that long (capped by
 * `maxRetryAfter`). After the last attempt the last error is rethrown unchanged (or, with
 * `retryOnResult`, the last result is returned). Errors that `retryOn` does not match, and errors
 * with an own `retryable: false`, propagate at once. In a policy, a wait that would end at or
 * after the enclosing deadline is not started: the last outcome is returned at once.
 *
 * Waits are abortable: when the caller's signal aborts, the call rejects at once with
 * `signal.reason` and no further attempt is made. An attempt that fails while the signal is
 * aborted is never retried; the call rejects with `signal.reason`.
 *
 * @example
 * ```ts
 * const retry = new Retry({ maxAttempts: 5, delay: '500ms', backoff: 2, maxDelay: '10s', jitter: 0.2,
 *   retryOn: [ConnectionError] });
 * // waits ~0.5s, ~1s, ~2s, ~4s (each ±20%, capped at 10s)
 * const user = await retry.execute((signal, attempt) => api.getUser(id, { signal }), request.signal);
 * ```
 *
 * @typeParam R - the results its `retryOnResult` judges (inferred from the predicate's parameter;
 *   `any` without one): `execute`, a policy's `retry(...)` and the `retry` wrapper accept only
 *   work that resolves to an `R`
 */
// `in`: a retry judging any `R` judges every narrower result (`Retry<unknown>` fits all work).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as RetryOptions
export class Retry<in R = any> {
  readonly #maxAttempts: number;
  readonly #delay: number;
  readonly #delayFn: ((input: RetryDelayInput) => Duration) | undefined;
  readonly #backoffType: BackoffType;
  readonly #backoff: number;
  readonly #maxDelay: number | undefined;
  readonly #maxRetryAfter: number | undefined;
  /** A fraction of the wait (proportional jitter), `'full'` or `'decorrelated'`. */
  readonly #jitter: number | 'full' | 'decorrelated';
  readonly #retryOn: validate.ErrorMatcher;
  readonly #retryOnResult: ((result: unknown) => boolean) | undefined;
  readonly #random: () => number;
  readonly #clock: Clock;
  readonly #budget: RetryBudget | undefined;

  /**
   * @throws TypeError for an option of the wrong type or an unknown option
   * @throws RangeError for an option out of range
   */
  constructor(options?: RetryOptions<R>) {
    const raw = validate.optionsObject(options, 'Retry', RETRY_OPTIONS);
    const { delay, jitter } = raw;
    const delayFn = (this.#delayFn =
      typeof delay == 'function'
        ? (validate.syncFunctionOption(delay, 'delay', 'a duration') as (
            input: RetryDelayInput,
          ) => Duration)
        : undefined);
    const backoffType = (this.#backoffType = validate.oneOfOption(
      raw.backoffType,
      'backoffType',
      BACKOFF_TYPES,
      'exponential',
    ));
    this.#backoff = validate.numberOption(raw.backoff, 'backoff', (n) => n >= 1, '>= 1', 1);
    const jitterSetting = (this.#jitter =
      jitter === 'full' || jitter === 'decorrelated'
        ? jitter
        : // A number out of range is told its range; any other value all three choices.
          typeof jitter == 'number' || jitter === undefined
          ? validate.numberOption(jitter, 'jitter', (n) => n >= 0 && n <= 1, 'in [0, 1]', 0)
          : fail(TypeError, 'jitter', "a number in [0, 1], 'full' or 'decorrelated'", jitter));
    // An option that the others make meaningless is refused, naming what rules it out; its
    // value that changes nothing (`backoff: 1`, `jitter: 0`, written out as configuration may)
    // is not.
    const unset = (key: string, when: unknown, by: string, noOp: number | string): void => {
      const value = raw[key];
      if (when && value !== undefined && value !== noOp) {
        const allowed = typeof noOp == 'string' ? `'${noOp}'` : noOp;
        fail(TypeError, key, `unset with ${by} (or ${allowed})`, value);
      }
    };
    // With a delay function, a jitter 'decorrelated' is refused before the rules of that jitter.
    const by = delayFn ? 'a delay function' : "jitter 'decorrelated'";
    const decorrelated = jitterSetting == 'decorrelated';
    unset('backoff', delayFn, by, 1);
    unset('backoff', backoffType != 'exponential', `backoffType '${backoffType}'`, 1);
    unset('jitter', delayFn, by, 0);
    unset('backoffType', decorrelated && backoffType != 'exponential', by, 'exponential');
    unset('backoff', decorrelated, by, 1);
    const maxDelay = (this.#maxDelay = validate.durationOption(
      raw.maxDelay,
      'maxDelay',
      undefined,
    ));
    this.#maxAttempts = validate.integerOption(raw.maxAttempts, 'maxAttempts', 1, 3);
    this.#delay = delayFn ? 0 : validate.durationOption(delay, 'delay', 0);
    this.#maxRetryAfter = validate.durationOption(raw.maxRetryAfter, 'maxRetryAfter', maxDelay);
    this.#retryOn = validate.errorFilterOption(raw.retryOn, 'retryOn');
    this.#retryOnResult = validate.predicateOption<(result: unknown) => boolean>(
      raw.retryOnResult,
      'retryOnResult',
    );
    this.#random = (validate.syncFunctionOption(raw.random, 'random', 'a number') ??
      mathRandom) as () => number;
    this.#clock = validate.clockOption(raw.clock);
    this.#budget = validate.checkOption<RetryBudget | undefined>(
      raw.budget,
      'budget',
      (b: Partial<RetryBudget> | null) =>
        typeof b?.deposit == 'function' && typeof b.tryWithdraw == 'function',
      'a RetryBudget',
      undefined,
    );
    inspectableClass(Retry.prototype, retryView);
  }

  /**
   * @internal What Node's inspect view shows (`console.log(retry)`): the settings, every time in
   * ms (`delay` is the function when it is one), those not set left out.
   */
  get inspected(): object {
    const maxDelay = this.#maxDelay;
    const maxRetryAfter = this.#maxRetryAfter;
    const budget = this.#budget;
    return {
      maxAttempts: this.#maxAttempts,
      ...(this.#delayFn ? { delay: this.#delayFn } : { delayMs: this.#delay }),
      backoffType: this.#backoffType,
      backoff: this.#backoff,
      jitter: this.#jitter,
      ...(maxDelay === undefined ? {} : { maxDelayMs: maxDelay }),
      ...(maxRetryAfter === undefined ? {} : { maxRetryAfterMs: maxRetryAfter }),
      ...(budget === undefined ? {} : { budget }),
    };
  }

  /** The retry budget it draws on, if any. */
  get budget(): RetryBudget | undefined {
    return this.#budget;
  }

  /** Total attempts, the first one included. */
  get maxAttempts(): number {
    return this.#maxAttempts;
  }

  /** Base wait before the first retry, in milliseconds (0 with a `delay` function). */
  get delay(): number {
    return this.#delay;
  }

  /** True when `delay` is a function of the outcome. */
  get delaysByFunction(): boolean {
    return this.#delayFn !== undefined;
  }

  /** How the wait grows from one retry to the next. */
  get backoffType(): BackoffType {
    return this.#backoffType;
  }

  /** Cap on a wait an outcome's `retryAfterMs` asks for, or `undefined` when there is none. */
  get maxRetryAfter(): number | undefined {
    return this.#maxRetryAfter;
  }

  /** Multiplier applied to the wait for each further retry. */
  get backoff(): number {
    return this.#backoff;
  }

  /** Cap on one wait in milliseconds, or `undefined` when there is none. */
  get maxDelay(): number | undefined {
    return this.#maxDelay;
  }

  /** The jitter: a fraction of each wait in [0, 1], `'full'` or `'decorrelated'`. */
  get jitter(): number | 'full' | 'decorrelated' {
    return this.#jitter;
  }

  /**
   * The wait in milliseconds before retry `n` (0-based: `0` is the wait after the first failed
   * attempt) by the formula of `backoffType`, moved by jitter (drawing one number from
   * `random`), then capped by `maxDelay`. Always 0 when `delay` is 0. With `'decorrelated'`
   * jitter each wait depends on the one before: this reads as if retry `n` were the first one
   * drawn. With a `delay` function: 0 (the wait depends on the outcome).
   *
   * @throws RangeError when `n` is not an integer >= 0
   */
  delayFor(n: number): number {
    if (!Number.isInteger(n) || n < 0) fail(RangeError, 'n', 'an integer >= 0', n);
    // With a delay function `delay` is 0, for which #waitBefore answers 0.
    return this.#waitBefore(n, { prev: 0 });
  }

  /**
   * Runs `fn`, retrying it as configured. `fn` receives the caller's signal (or one that never
   * aborts) and the attempt number, starting at 1.
   *
   * An already-aborted `signal` rejects at once without calling `fn`; an abort during an attempt
   * or a wait rejects at once with `signal.reason`. `fn` must resolve to the results
   * `retryOnResult` judges.
   */
  // The work's whole type (see `SignalWork`); `J`, the receiver's `R` read from `this` (or a
  // result type given as a type argument): the result names no `R` of the class's own, which
  // would make it no longer `in`. One signature, so that a union of these can be called.
  execute<J extends R = R, Fn extends AttemptWork<J> = AttemptWork<J>>(
    this: Retry<J>,
    fn: Fn,
    signal?: AbortSignal,
  ): Promise<Resolved<ReturnType<Fn>, J>>;
  execute<T extends R>(
    fn: (signal: AbortSignal, attempt: number) => T | PromiseLike<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    if (!(this instanceof Retry)) {
      return Promise.reject(validate.unboundError('execute', 'Retry', this));
    }
    const given = signal ?? NEVER_ABORTED;
    return (
      refusedCall(fn, signal) ??
      (given.aborted
        ? Promise.reject(given.reason)
        : // Without a signal, raceAbort returns the loop's promise itself.
          raceAbort(
            this.runAttempts((n) => Promise.resolve(fn(given, n)), signal && { signal }),
            signal,
          ))
    );
  }

  /**
   * @internal The standalone retry loop, shared by {@link Retry.execute} and the `retry`
   * decorator: each outcome is judged by {@link Retry.nextAttempt}, each wait made by
   * {@link Retry.pause}.
   *
   * @param attempt - performs attempt number `n` (1-based)
   * @param source - holds the signal that stops retrying; its `signal` is read only after a
   *   failure, so a lazily made signal is not materialised on the happy path
   * @param onRetry - called as each wait begins; like a policy event listener, what it throws and
   *   a rejection of a promise it returns are ignored (never unhandled)
   */
  runAttempts<T>(
    attempt: (n: number) => Promise<T>,
    source: { readonly signal: AbortSignal } | undefined,
    onRetry?: (info: RetryInfo) => unknown,
  ): Promise<T> {
    let first: Promise<T>;
    try {
      this.#budget?.deposit();
    } catch (error) {
      // A custom store that throws: the call fails with its error, before any attempt.
      return Promise.reject(error);
    }
    try {
      first = attempt(1);
    } catch (error) {
      first = Promise.reject(error);
    }
    // One hop on the happy path; the loop starts only once an outcome is judged.
    return this.#maxAttempts < 2
      ? first
      : first.then(
          // Stryker disable next-line LogicalOperator: the loop accepts a result at once when there is no retryOnResult; this only saves it
          this.#retryOnResult &&
            ((result: T) => this.#loop(false, result, attempt, source, onRetry)),
          (error: unknown) => this.#loop(true, error, attempt, source, onRetry),
        );
  }

  /**
   * @internal What to do with the outcome of attempt `n` (1-based): the one place that decides,
   * for every caller that retries (the standalone loop and the policy stage). Answers the wait
   * before attempt `n + 1`, begun, or `undefined` when the outcome goes out as it is: it is
   * final, or the retry is skipped (`'deadline'`: the wait would end at or after the scope's
   * deadline, so it is not started; `'budget'`: the budget cannot pay for it). A caller that has
   * given up gets the scope's `abortReason` thrown: its abort is never retried (a failure, or
   * the outcome of a later attempt, is not even judged). The wait settles after the delay, and
   * even without one only in a later macrotask, so a deadline or an abort lands between attempts
   * that fail at once; it rejects with the scope's `abortReason` when the caller gives up
   * meanwhile (at once during a timed wait, which alone reads the scope's `signal`). `report`
   * hears of each retry due (as `onRetry` does) as its wait would begin, a skipped one with
   * `skipped`; it must not throw. What a `retryOn` or `retryOnResult` predicate or a `delay`
   * function throws propagates.
   *
   * @param state - the execution's retry state, from one wait to the next (start `{ prev: 0 }`)
   */
  nextAttempt(
    n: number,
    failed: boolean,
    outcome: unknown,
    state: RetryState,
    scope: RetryScope,
    report: RetryReport | undefined,
  ): Promise<void> | undefined {
    if ((failed || n > 1) && scope.aborted) throw scope.abortReason;
    const delayFn = this.#delayFn;
    if (
      n >= this.#maxAttempts ||
      (failed ? notRetryable(outcome) || !this.#retryOn(outcome) : !this.#retryOnResult?.(outcome))
    ) {
      return undefined;
    }
    const delayMs = Math.min(
      Math.max(
        delayFn
          ? Math.min(
              toMs(
                validate.syncAnswer(
                  delayFn({
                    attempt: n,
                    error: failed ? outcome : undefined,
                    result: failed ? undefined : outcome,
                  }),
                  'delay',
                  'a duration',
                ),
                'delay',
              ),
              this.#maxDelay ?? Infinity,
            )
          : this.#waitBefore(n - 1, state),
        // An outcome's `retryAfterMs` raises the wait, up to `maxRetryAfter`.
        Math.min(retryAfterOf(outcome), this.#maxRetryAfter ?? Infinity),
      ),
      MAX_WAIT_MS,
    );
    if (scope.aborted) throw scope.abortReason;
    const skipped =
      delayMs > 0 && delayMs >= scope.remaining
        ? 'deadline'
        : this.#budget?.tryWithdraw() === false
          ? 'budget'
          : undefined;
    report?.(n, delayMs, failed, outcome, skipped);
    return skipped
      ? undefined
      : (delayMs > 0 ? sleep(this.#clock, delayMs, scope.signal) : nextTurnPromise()).then(() => {
          if (scope.aborted) throw scope.abortReason;
        });
  }

  /** @internal True when every error may be retried (`retryOn` is not set). */
  get retriesAllErrors(): boolean {
    return validate.matchesAll(this.#retryOn);
  }

  /** @internal True when results may be retried too (`retryOnResult` is set). */
  get judgesResults(): boolean {
    return this.#retryOnResult !== undefined;
  }

  // Attempt 1 has ended (a failure, or a result to judge): while a retry is due, wait and try
  // again, until an outcome goes out. The source's signal is read only when asked for (after a
  // failure, or once a result is to be retried).
  async #loop<T>(
    failed: boolean,
    outcome: unknown,
    attempt: (n: number) => Promise<T>,
    source: { readonly signal: AbortSignal } | undefined,
    onRetry: ((info: RetryInfo) => unknown) | undefined,
  ): Promise<T> {
    const scope: RetryScope = {
      remaining: Infinity,
      get signal() {
        return source?.signal;
      },
      get aborted() {
        return !!source?.signal.aborted;
      },
      get abortReason(): unknown {
        return source?.signal.reason as unknown;
      },
    };
    const state: RetryState = { prev: 0 };
    const report = onRetry && reportTo(onRetry);
    for (let n = 1; ; n++) {
      const wait = this.nextAttempt(n, failed, outcome, state, scope, report);
      if (wait === undefined) {
        if (failed) throw outcome;
        return outcome as T;
      }
      await wait;
      try {
        outcome = await attempt(n + 1);
        failed = false;
      } catch (error) {
        outcome = error;
        failed = true;
      }
    }
  }

  #waitBefore(n: number, state: RetryState): number {
    const delay = this.#delay;
    const jitter = this.#jitter;
    if (!delay) return 0;
    let wait: number;
    if (jitter == 'decorrelated') {
      // Polly's decorrelated jitter v2 (after George Polevoy's formula): `f(t) = 2^t *
      // tanh(sqrt(4t))` grows like 2^t but starts smoothly; retry `n` draws `t` in [n, n + 1)
      // and waits the growth of `f` since the last draw, scaled by `delay / 1.4` (a literal `1 / 1.4`) so that the
      // medians fall near delay·2^n. The waits add up to `f(t) * delay / 1.4`, so they never
      // cluster, and each is >= 0 (a previous draw of a later retry, never in one execution,
      // cannot make one negative). 0.9999999999999999 is the double just below 1.
      const t = n + Math.min(this.#draw(), 0.9999999999999999);
      const f = 2 ** t * Math.tanh(Math.sqrt(4 * t));
      wait = Math.max(
        0,
        f < Infinity ? (f - state.prev) * 0.7142857142857143 * delay : MAX_WAIT_MS,
      );
      state.prev = f;
    } else {
      const backoffType = this.#backoffType;
      // Clamped before jitter so a huge backoff never yields Infinity (or NaN from Infinity * 0).
      wait = Math.min(
        backoffType == 'exponential'
          ? delay * this.#backoff ** n
          : backoffType == 'linear'
            ? delay * (n + 1)
            : delay,
        MAX_WAIT_MS,
      );
      if (jitter == 'full') {
        wait *= this.#draw();
      } else if (jitter > 0) {
        // Held to [0, 1], so the wait stays within ±jitter of the formula's value.
        wait += (this.#draw() * 2 - 1) * jitter * wait;
      }
    }
    // Never negative: jitter moves a wait by at most itself.
    return Math.min(wait, this.#maxDelay ?? Infinity, MAX_WAIT_MS);
  }

  // One number from `random`, held to [0, 1] (a custom `random` may return anything, NaN too).
  #draw(): number {
    const r = this.#random();
    // A promise (of a plain function returning one) is refused, its rejection handled.
    if (typeof r != 'number') validate.syncAnswer(r, 'random', 'a number');
    // Stryker disable next-line EqualityOperator: at 0 and at 1 both branches answer the same number
    return r >= 0 ? (r <= 1 ? r : 1) : 0;
  }
}

const BACKOFF_TYPES: readonly BackoffType[] = ['exponential', 'constant', 'linear'];

// The standalone loop's `onRetry` as a report: like a policy event listener, what it throws and a
// rejection of a promise it returns are ignored.
function reportTo(onRetry: (info: RetryInfo) => unknown): RetryReport {
  return (attempt, delayMs, failed, outcome, skipped) =>
    notify(onRetry, retryInfo(attempt, delayMs, failed, outcome, skipped));
}

// An outcome's finite `retryAfterMs`, or -1 (only one above the wait raises it, so a negative one
// counts for nothing). Read from any value: a getter or a Proxy that throws reads as none, as do
// `null` and `undefined` (whose read throws).
function retryAfterOf(outcome: unknown): number {
  let value: unknown;
  try {
    value = (outcome as { retryAfterMs?: unknown }).retryAfterMs;
  } catch {
    // None.
  }
  return typeof value === 'number' && value < Infinity ? value : -1;
}

const retryView = /* @__PURE__ */ inspectView('Retry', (retry: Retry) => retry.inspected);
