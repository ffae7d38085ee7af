import type { Clock } from '../../internal/clock.js';
import { fail, type Duration } from '../../internal/duration.js';
import { NEVER_ABORTED, nextTurnPromise, raceAbort, sleep } from '../../internal/signals.js';
import type { ErrorFilter, ErrorMatcher } from '../../internal/validate.js';
import { notify } from '../../internal/listeners.js';
import {
  clockOption,
  durationOption,
  errorFilterOption,
  functionOption,
  integerOption,
  knownKeys,
  matchesAll,
  numberOption,
  optionsObject,
} from '../../internal/validate.js';

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
  readonly maxAttempts?: number;
  /**
   * Base wait before the first retry (milliseconds or a string like `'200ms'`). With `0` the next
   * attempt sets no timer; it still waits for a later macrotask, so a deadline or an abort can
   * land between attempts.
   * @defaultValue 0
   */
  readonly delay?: Duration;
  /**
   * Multiplier applied to the wait for each further retry: the wait before retry `n` (0-based)
   * is `delay * backoff ** n`. A finite number >= 1; `1` keeps the wait constant.
   * @defaultValue 1
   */
  readonly backoff?: number;
  /**
   * Cap on one wait, applied after jitter (milliseconds or a string like `'10s'`).
   * @defaultValue none (no cap)
   */
  readonly maxDelay?: Duration;
  /**
   * Randomises each wait by up to ±`jitter`·wait, spreading the retries of many callers.
   * A number in [0, 1].
   * @defaultValue 0
   */
  readonly jitter?: number;
  /**
   * Which errors are retried: an array of error classes (matched with `instanceof`) or a
   * predicate. Other errors propagate at once. A predicate that throws rejects the call with
   * what it threw. A class list never throws: an error that `instanceof` cannot inspect (a Proxy
   * whose `getPrototypeOf` trap throws) is an instance of no class, so it is not retried and the
   * caller gets it unchanged.
   * @defaultValue all errors
   */
  readonly retryOn?: ErrorFilter;
  /**
   * Retries a call that resolved, while it returns true (for example on an HTTP 503 response).
   * After the last attempt the last result is returned, whatever this says.
   * @defaultValue none (every result is accepted)
   */
  readonly retryOnResult?: (result: R) => boolean;
  /**
   * Source of randomness for jitter, returning a number in [0, 1) like `Math.random`.
   * Inject one for deterministic waits.
   * @defaultValue `Math.random`
   */
  readonly random?: () => number;
  /**
   * Source of time for the waits.
   * @defaultValue `systemClock`
   */
  readonly clock?: Clock;
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
}

interface ResolvedRetryOptions {
  readonly maxAttempts: number;
  readonly delay: number;
  readonly backoff: number;
  readonly maxDelay: number | undefined;
  readonly jitter: number;
  readonly retryOn: ErrorMatcher;
  readonly retryOnResult: ((result: unknown) => boolean) | undefined;
  readonly random: () => number;
  readonly clock: Clock;
}

// `Math.random` is looked up on every draw, so a stub installed after import (as tests do) applies.
const mathRandom = (): number => Math.random();

/** @internal Every option key the constructor accepts. */
export const RETRY_OPTIONS: readonly string[] = Object.freeze([
  'maxAttempts',
  'delay',
  'backoff',
  'maxDelay',
  'jitter',
  'retryOn',
  'retryOnResult',
  'random',
  'clock',
]);

// Host timers treat a longer delay as 1 ms (Node) or 0, which would turn a huge backoff into a
// hot loop; no wait is ever longer than this (about 24.8 days).
const MAX_WAIT_MS = 2_147_483_647;

/**
 * Re-invokes an operation that fails, waiting between attempts so a dependency has time to
 * recover.
 *
 * The wait before retry `n` (0-based) is `delay * backoff ** n`; with `jitter` > 0 it moves by
 * a uniform random fraction in ±`jitter` of itself; with `maxDelay` it is then capped. After the
 * last attempt the last error is rethrown unchanged (or, with `retryOnResult`, the last result
 * is returned). Errors that `retryOn` does not match propagate at once.
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
 */
export class Retry {
  readonly #options: ResolvedRetryOptions;

  /**
   * @throws TypeError for an option of the wrong type or an unknown option
   * @throws RangeError for an option out of range
   */
  constructor(options?: RetryOptions) {
    const raw = optionsObject(options, 'Retry');
    knownKeys(raw, RETRY_OPTIONS, 'Retry');
    this.#options = {
      maxAttempts: integerOption(raw.maxAttempts, 'maxAttempts', 1, 3),
      delay: durationOption(raw.delay, 'delay', 0),
      backoff: numberOption(raw.backoff, 'backoff', (n) => n >= 1, '>= 1', 1),
      maxDelay: durationOption(raw.maxDelay, 'maxDelay', undefined),
      jitter: numberOption(raw.jitter, 'jitter', (n) => n >= 0 && n <= 1, 'in [0, 1]', 0),
      retryOn: errorFilterOption(raw.retryOn, 'retryOn'),
      retryOnResult: functionOption(raw.retryOnResult, 'retryOnResult', undefined) as
        ((result: unknown) => boolean) | undefined,
      random: functionOption(raw.random, 'random', mathRandom) as () => number,
      clock: clockOption(raw.clock),
    };
  }

  /** Total attempts, the first one included. */
  get maxAttempts(): number {
    return this.#options.maxAttempts;
  }

  /** Base wait before the first retry, in milliseconds. */
  get delay(): number {
    return this.#options.delay;
  }

  /** Multiplier applied to the wait for each further retry. */
  get backoff(): number {
    return this.#options.backoff;
  }

  /** Cap on one wait in milliseconds, or `undefined` when there is none. */
  get maxDelay(): number | undefined {
    return this.#options.maxDelay;
  }

  /** Fraction of each wait randomised, in [0, 1]. */
  get jitter(): number {
    return this.#options.jitter;
  }

  /**
   * The wait in milliseconds before retry `n` (0-based: `0` is the wait after the first failed
   * attempt): `delay * backoff ** n`, moved by jitter (drawing one number from `random`), then
   * capped by `maxDelay`. Always 0 when `delay` is 0.
   *
   * @throws RangeError when `n` is not an integer >= 0
   */
  delayFor(n: number): number {
    if (!Number.isInteger(n) || n < 0) fail(RangeError, 'n', 'an integer >= 0', n);
    return this.#waitBefore(n);
  }

  /**
   * Runs `fn`, retrying it as configured. `fn` receives the caller's signal (or one that never
   * aborts) and the attempt number, starting at 1.
   *
   * An already-aborted `signal` rejects at once without calling `fn`; an abort during an attempt
   * or a wait rejects at once with `signal.reason`.
   */
  execute<T>(
    fn: (signal: AbortSignal, attempt: number) => T | PromiseLike<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const given = signal ?? NEVER_ABORTED;
    if (given.aborted) return Promise.reject(given.reason);
    // Without a signal, raceAbort returns the loop's promise itself.
    return raceAbort(
      this.run((n) => Promise.resolve(fn(given, n)), signal && { signal }),
      signal,
    );
  }

  /**
   * @internal The retry loop, shared by {@link Retry.execute} and the pipeline stage.
   *
   * @param attempt - performs attempt number `n` (1-based)
   * @param source - holds the signal that stops retrying; its `signal` is read only after a
   *   failure, so a lazily made signal is not materialised on the happy path
   * @param onRetry - called as each wait begins; like a policy event listener, what it throws and
   *   a rejection of a promise it returns are ignored (never unhandled)
   */
  run<T>(
    attempt: (n: number) => Promise<T>,
    source: { readonly signal: AbortSignal } | undefined,
    onRetry?: (info: RetryInfo) => unknown,
  ): Promise<T> {
    let first: Promise<T>;
    try {
      first = attempt(1);
    } catch (error) {
      first = Promise.reject(error);
    }
    if (this.#options.maxAttempts === 1) return first;
    // One hop on the happy path; the loop (an async frame) starts only once an outcome is judged.
    return first.then(
      this.#options.retryOnResult === undefined
        ? undefined
        : (result: T) => this.#loop(1, false, result, attempt, source, onRetry),
      (error: unknown) => this.#loop(1, true, error, attempt, source, onRetry),
    );
  }

  /**
   * @internal Judges the outcome of attempt `n` (1-based) for a caller that runs the attempts
   * itself (a policy): the wait before the next attempt, or -1 when the outcome is final. What a
   * `retryOn` or `retryOnResult` predicate throws propagates.
   */
  decide(n: number, failed: boolean, outcome: unknown): number {
    const options = this.#options;
    return n >= options.maxAttempts ||
      !(failed ? options.retryOn(outcome) : options.retryOnResult?.(outcome))
      ? -1
      : this.#waitBefore(n - 1);
  }

  /** @internal True when every error may be retried (`retryOn` is not set). */
  get retriesAllErrors(): boolean {
    return matchesAll(this.#options.retryOn);
  }

  /** @internal True when results may be retried too (`retryOnResult` is set). */
  get judgesResults(): boolean {
    return this.#options.retryOnResult !== undefined;
  }

  /** @internal The clock its waits run on. */
  get clock(): Clock {
    return this.#options.clock;
  }

  // Attempt `n` has ended: judge its outcome (by `decide`) and, while one is due, wait and try
  // again. A caller that has given up gets its signal's reason: a failure is never retried for
  // it, nor a later result judged. The first result does not read the signal, so a lazily made
  // one is not materialised unless a retry is due.
  async #loop<T>(
    n: number,
    failed: boolean,
    outcome: unknown,
    attempt: (n: number) => Promise<T>,
    source: { readonly signal: AbortSignal } | undefined,
    onRetry: ((info: RetryInfo) => unknown) | undefined,
  ): Promise<T> {
    for (;;) {
      if ((failed || n > 1) && source?.signal.aborted) throw source.signal.reason;
      const delayMs = this.decide(n, failed, outcome);
      if (delayMs < 0) {
        if (failed) throw outcome;
        return outcome as T;
      }
      if (source?.signal.aborted) throw source.signal.reason;
      if (onRetry !== undefined) {
        notify(
          onRetry,
          failed
            ? { attempt: n, delayMs, error: outcome }
            : { attempt: n, delayMs, result: outcome },
        );
      }
      // Even without a delay the next attempt waits for a later macrotask, so a deadline or an
      // abort lands between attempts that fail at once.
      if (delayMs > 0) await sleep(this.#options.clock, delayMs, source?.signal);
      else await nextTurnPromise();
      if (source?.signal.aborted) throw source.signal.reason;
      try {
        outcome = await attempt(++n);
        failed = false;
      } catch (error) {
        outcome = error;
        failed = true;
      }
    }
  }

  #waitBefore(n: number): number {
    const options = this.#options;
    if (options.delay === 0) return 0;
    // Clamped before jitter so a huge backoff never yields Infinity (or NaN from Infinity * 0).
    let wait = Math.min(options.delay * options.backoff ** n, MAX_WAIT_MS);
    if (options.jitter > 0) {
      // A custom `random` outside [0, 1] (or NaN) is held to that range, so the wait stays within
      // ±jitter of the formula's value.
      const r = options.random();
      const u = r >= 0 ? (r <= 1 ? r : 1) : 0;
      wait += (u * 2 - 1) * options.jitter * wait;
    }
    if (options.maxDelay !== undefined && wait > options.maxDelay) wait = options.maxDelay;
    // Never negative: jitter moves a wait by at most itself.
    return Math.min(wait, MAX_WAIT_MS);
  }
}
