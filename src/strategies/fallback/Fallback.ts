import { fail } from '../../internal/duration.js';
import { NEVER_ABORTED, raceAbort, callAsync } from '../../internal/signals.js';
import type { ErrorFilter, ErrorMatcher } from '../../internal/validate.js';
import {
  errorFilterOption,
  knownKeys,
  matchesAll,
  optionsObject,
} from '../../internal/validate.js';

/** Options every {@link Fallback} accepts, whichever way it recovers. */
export interface FallbackFilterOptions {
  /**
   * Which errors the fallback handles: an array of error classes (matched with `instanceof`) or
   * a predicate. Other errors propagate unchanged.
   * @defaultValue all errors
   */
  readonly on?: ErrorFilter;
}

/** A {@link Fallback} that resolves with a fixed value. */
export interface FallbackValueOptions<T> extends FallbackFilterOptions {
  /**
   * The value to resolve with when a handled error occurs. The key's presence counts, so
   * `{ value: undefined }` resolves with `undefined`.
   */
  readonly value: T;
  /** Not allowed together with `value`. */
  readonly method?: never;
}

/** A {@link Fallback} that computes its value from the error. */
export interface FallbackMethodOptions<T> extends FallbackFilterOptions {
  /**
   * Computes the substitute from the error, sync or async. Standalone it receives `(error)`; a
   * function wrapper passes the wrapped call's arguments after the error, and a policy passes
   * `(error, ctx)`. What it throws (or rejects with) propagates.
   */
  // `any[]`: the arguments after the error are the wrapped function's, whatever they are.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly method: (error: unknown, ...args: any[]) => T | PromiseLike<T>;
  /** Not allowed together with `method`. */
  readonly value?: never;
}

/** Options of a {@link Fallback}: exactly one of `value` or `method`, plus an optional `on`. */
export type FallbackOptions<T> = FallbackValueOptions<T> | FallbackMethodOptions<T>;

/** @internal Every option key the constructor accepts. */
export const FALLBACK_OPTIONS: readonly string[] = Object.freeze(['value', 'method', 'on']);

const NO_ARGS: readonly unknown[] = Object.freeze([]);

/**
 * Provides a degraded but working response when an operation fails: on an error that `on`
 * matches, resolves with `value` or with what `method(error)` returns (awaited). Errors that
 * `on` does not match propagate unchanged.
 *
 * A caller's abort is never swallowed: when the caller's signal aborts, the call rejects with
 * `signal.reason` instead of a substitute, since a caller who gave up does not want one.
 *
 * @typeParam T - the type of the substitute value
 * @example
 * ```ts
 * const cached = new Fallback({ method: (error) => cache.get('price') ?? 0, on: [OperationTimeoutError] });
 * const price = await cached.execute((signal) => fetchPrice(id, { signal }), request.signal);
 *
 * const empty = new Fallback({ value: [] as Recommendation[] });
 * ```
 */
export class Fallback<T> {
  readonly #hasValue: boolean;
  readonly #value: T | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as `method`'s
  readonly #method: ((error: unknown, ...args: any[]) => T | PromiseLike<T>) | undefined;
  readonly #on: ErrorMatcher;
  // Made once so a call without a signal allocates no closure.
  readonly #recoverUnsignalled: (error: unknown) => T | PromiseLike<T>;

  /**
   * @throws TypeError when neither or both of `value` and `method` are given, when `method` is
   *   not a function, when `on` is not a filter, or for an unknown option
   */
  constructor(options: FallbackOptions<T>) {
    const raw = optionsObject(options, 'Fallback');
    knownKeys(raw, FALLBACK_OPTIONS, 'Fallback');
    const hasValue = 'value' in raw;
    const hasMethod = 'method' in raw;
    if (hasValue === hasMethod) {
      throw new TypeError(
        `Fallback takes exactly one of \`value\` or \`method\`, got ${hasValue ? 'both' : 'neither'}`,
      );
    }
    if (hasMethod && typeof raw.method !== 'function') {
      fail(TypeError, 'method', 'a function', raw.method);
    }
    this.#hasValue = hasValue;
    this.#value = hasValue ? (raw.value as T) : undefined;
    this.#method = hasMethod ? (raw.method as FallbackMethodOptions<T>['method']) : undefined;
    this.#on = errorFilterOption(raw.on, 'on');
    this.#recoverUnsignalled = (error) => {
      if (!this.#on(error)) throw error;
      return this.recover(error, NO_ARGS);
    };
  }

  /**
   * Runs `fn`; on an error that `on` matches, resolves with the fallback instead. `fn` receives
   * the caller's signal (or one that never aborts). An already-aborted `signal` rejects at once
   * without calling `fn`, and an abort at any time rejects with `signal.reason`: the fallback
   * never replaces a caller's abort.
   *
   * @returns what `fn` resolves with, or the fallback's value
   */
  execute<R>(
    fn: (signal: AbortSignal) => R | PromiseLike<R>,
    signal?: AbortSignal,
  ): Promise<R | T> {
    if (signal === undefined) {
      return callAsync(fn, NEVER_ABORTED).then(undefined, this.#recoverUnsignalled);
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    const guarded = callAsync(fn, signal).then(undefined, (error: unknown) => {
      if (signal.aborted) throw signal.reason;
      if (!this.#on(error)) throw error;
      return this.recover(error, NO_ARGS);
    });
    return raceAbort(guarded, signal);
  }

  /**
   * A one-line summary, as `policy.describe()` shows it, e.g. `method cachedPrice on all errors`
   * or `fixed value on matching errors`.
   */
  describe(): string {
    const how = this.#hasValue ? 'fixed value' : `method ${this.#method?.name || '(anonymous)'}`;
    return `${how} on ${matchesAll(this.#on) ? 'all' : 'matching'} errors`;
  }

  /**
   * @internal True when `error` is one the fallback handles (it matches `on`). Knows nothing of
   * aborts: the caller checks its own signal first.
   */
  handles(error: unknown): boolean {
    return this.#on(error);
  }

  /**
   * @internal The substitute for `error`: the value, or `method(error, ...args)`. A policy passes
   * `[ctx]`, a function wrapper the wrapped call's arguments. What `method` throws propagates.
   */
  recover(error: unknown, args: readonly unknown[]): T | PromiseLike<T> {
    if (this.#hasValue) return this.#value as T;
    const method = this.#method as FallbackMethodOptions<T>['method'];
    return args.length === 0 ? method(error) : method(error, ...args);
  }
}
