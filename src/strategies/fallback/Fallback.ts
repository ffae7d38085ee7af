import { RejectedResultError } from '../../errors.js';
import type { SignalWork, Resolved } from '../../internal/resolved.js';
import { reaches } from '../../internal/arity.js';
import { fail } from '../../internal/duration.js';
import { inspectView, inspectableClass } from '../../internal/inspect.js';
import { NEVER_ABORTED, raceAbort, callAsync, refusedCall } from '../../internal/signals.js';
import type { ErrorFilter, ErrorMatcher } from '../../internal/validate.js';
import {
  unboundError,
  errorFilterOption,
  predicateOption,
  matchesAll,
  optionsObject,
} from '../../internal/validate.js';

/**
 * Options every {@link Fallback} accepts, whichever way it recovers.
 *
 * @typeParam R - the result type `onResult` inspects
 */
// `any` by default so that options written for one result type fit a fallback of any other.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface FallbackFilterOptions<R = any> {
  /**
   * Which errors the fallback handles: an array of error classes (matched with `instanceof`) or
   * a predicate. Other errors propagate unchanged.
   * @defaultValue all errors
   */
  readonly on?: ErrorFilter | undefined;
  /**
   * Replaces a result for which it returns true (for example an HTTP 503 `Response`), as if the
   * call had failed: the caller gets the fallback's value, or what `method` returns when given a
   * {@link RejectedResultError} holding the result. A predicate that throws rejects the call with
   * what it threw. Code only: configuration cannot give it.
   * @defaultValue none (every result is kept)
   */
  readonly onResult?: ((result: R) => boolean) | undefined;
}

/** A {@link Fallback} that resolves with a fixed value. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as FallbackFilterOptions
export interface FallbackValueOptions<T, R = any> extends FallbackFilterOptions<R> {
  /**
   * The value to resolve with when a handled error (or a result `onResult` rejects) occurs. The key's presence counts, so
   * `{ value: undefined }` resolves with `undefined`.
   */
  readonly value: T;
  /** Not allowed together with `value`. */
  readonly method?: never;
}

/**
 * A {@link Fallback} that computes its value from the error.
 *
 * @typeParam P - the parameters `method` declares after the error: a function wrapper checks the
 *   wrapped function's (a decorator the method's) against them
 * @typeParam This - the `this` `method` is called with: the wrapped call's in a function wrapper
 *   or decorator; none (`void`) standalone and in a policy
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- as FallbackFilterOptions; `P` any
   arguments unless the method declares them */
export interface FallbackMethodOptions<
  T,
  R = any,
  P extends any[] = any[],
  This = void,
> extends FallbackFilterOptions<R> {
  /* eslint-enable @typescript-eslint/no-explicit-any */
  /**
   * Computes the substitute from the error, sync or async. Standalone it receives `(error)`; a
   * function wrapper passes the wrapped call's arguments after the error, and calls it with the
   * call's `this` (a decorated method's instance); a policy passes `(error, ctx)`. For a result `onResult` rejected, `error` is a {@link RejectedResultError}
   * holding it. What it throws (or rejects with) propagates.
   *
   * In a policy, `ctx.startedAt` is the call's start for every method that can reach `ctx`: the
   * policy reads the clock at `execute` unless the method's source shows one plain parameter (or
   * none) and contains neither `arguments` nor `eval` (`(error) => …` costs no clock read; a rest
   * parameter, a default value, destructuring, a bound or native function cost one).
   */
  readonly method: (this: This, error: unknown, ...args: P) => T | PromiseLike<T>;
  /** Not allowed together with `method`. */
  readonly value?: never;
}

/**
 * Options of a {@link Fallback}: exactly one of `value` or `method`, plus optional `on` and
 * `onResult`.
 *
 * @typeParam T - the type of the substitute value
 * @typeParam R - the result type `onResult` inspects
 * @typeParam P - the parameters `method` declares after the error (see {@link FallbackMethodOptions})
 * @typeParam This - the `this` `method` is called with (see {@link FallbackMethodOptions})
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as FallbackFilterOptions
export type FallbackOptions<T, R = any, P extends any[] = any[], This = void> =
  FallbackValueOptions<T, R> | FallbackMethodOptions<T, R, P, This>;

/** @internal Every option key the constructor accepts. */
export const FALLBACK_OPTIONS: readonly string[] = Object.freeze([
  'value',
  'method',
  'on',
  'onResult',
]);

const NO_ARGS: readonly unknown[] = Object.freeze([]);

/** A fallback's `method`, as it is called: with the call's `this` (if any) and arguments. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the arguments of any call
type FallbackMethod<T> = (this: unknown, error: unknown, ...args: any[]) => T | PromiseLike<T>;

/**
 * Provides a degraded but working response when an operation fails: on an error that `on`
 * matches, resolves with `value` or with what `method(error)` returns (awaited). Errors that
 * `on` does not match propagate unchanged. With `onResult`, a result it returns true for is
 * replaced the same way, `method` receiving a {@link RejectedResultError} that holds it.
 *
 * A caller's abort is never swallowed: when the caller's signal aborts, the call rejects with
 * `signal.reason` instead of a substitute, since a caller who gave up does not want one.
 *
 * @typeParam T - the type of the substitute value
 * @typeParam R - the results its `onResult` judges (inferred from the predicate's parameter;
 *   `any` without one): `execute`, a policy's `fallback(...)` and the `fallback` wrapper accept
 *   only work that resolves to an `R`
 * @example
 * ```ts
 * const cached = new Fallback({ method: (error) => cache.get('price') ?? 0, on: [OperationTimeoutError] });
 * const price = await cached.execute((signal) => fetchPrice(id, { signal }), request.signal);
 *
 * const empty = new Fallback({ value: [] as Recommendation[] });
 * ```
 */
// `in R`: a fallback judging any `R` judges every narrower result.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as FallbackFilterOptions
export class Fallback<T, in R = any> {
  readonly #value: T | undefined;
  // Unset for a fallback with a `value`.
  readonly #method: FallbackMethod<T> | undefined;
  readonly #on: ErrorMatcher;
  readonly #onResult: ((result: unknown) => boolean) | undefined;
  // Made once so a call without a signal allocates no closure.
  readonly #recoverUnsignalled: (error: unknown) => T | PromiseLike<T>;

  /**
   * @throws TypeError when neither or both of `value` and `method` are given, when `method` is
   *   not a function, when `on` is not a filter, or for an unknown option
   */
  constructor(options: FallbackOptions<T, R>) {
    const raw = optionsObject(options, 'Fallback', FALLBACK_OPTIONS);
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
    this.#value = hasValue ? (raw.value as T) : undefined;
    this.#method = hasMethod
      ? (raw.method as FallbackMethodOptions<T, R, unknown[], unknown>['method'])
      : undefined;
    this.#on = errorFilterOption(raw.on, 'on');
    this.#onResult = predicateOption<(result: unknown) => boolean>(raw.onResult, 'onResult');
    this.#recoverUnsignalled = (error) => this.#rescue(error, NEVER_ABORTED);
    inspectableClass(Fallback.prototype, fallbackView);
  }

  /**
   * @internal What Node's inspect view shows (`console.log(fallback)`): its `value` or its
   * `method`, and what it replaces, as `describe()` says it (`all errors`, ...).
   */
  get inspected(): object {
    const method = this.#method;
    return {
      ...(method === undefined ? { value: this.#value } : { method }),
      replaces: this.#replaces(),
    };
  }

  // A fulfilled call under `onResult`: the result, or its substitute when `onResult` rejects it.
  // A caller who aborted gets `signal.reason` from the race, so nothing is computed for it.
  #judge(result: unknown, signal: AbortSignal): unknown {
    if (signal.aborted || !this.rejects(result)) return result;
    return this.recover(new RejectedResultError(result), NO_ARGS);
  }

  /**
   * Runs `fn`; on an error that `on` matches (or a result `onResult` rejects), resolves with the
   * fallback instead. `fn` receives the caller's signal (or one that never aborts). An
   * already-aborted `signal` rejects at once without calling `fn`, and an abort at any time
   * rejects with `signal.reason`: the fallback never replaces a caller's abort.
   *
   * @returns what `fn` resolves with, or the fallback's value
   */
  // The work's whole type (see `SignalWork`); `J`, the receiver's `R` read from `this` (or a
  // result type given as a type argument): the result names no `R` of the class's own, which
  // would make it no longer `in`. One signature, so that a union of these can be called.
  execute<J extends R = R, Fn extends SignalWork<J> = SignalWork<J>>(
    this: Fallback<T, J>,
    fn: Fn,
    signal?: AbortSignal,
  ): Promise<Resolved<ReturnType<Fn>, J> | T>;
  execute<X extends R>(
    fn: (signal: AbortSignal) => X | PromiseLike<X>,
    signal?: AbortSignal,
  ): Promise<X | T> {
    if (!(this instanceof Fallback))
      return Promise.reject(unboundError('execute', 'Fallback', this));
    const refused = refusedCall(fn, signal);
    if (refused !== undefined) return refused;
    const given = signal ?? NEVER_ABORTED;
    const judge =
      // Stryker disable next-line ConditionalExpression: a fast path; without `onResult` a judge keeps every result
      this.#onResult === undefined ? undefined : (result: X) => this.#judge(result, given) as X | T;
    if (given.aborted) return Promise.reject(given.reason);
    const guarded = callAsync(fn, given).then(
      judge,
      signal === undefined ? this.#recoverUnsignalled : (error) => this.#rescue(error, signal),
    );
    // Without a signal, the call itself (raceAbort returns it).
    return raceAbort(guarded, signal);
  }

  // A failed call: the substitute for an error `on` matches, unless the caller aborted.
  #rescue(error: unknown, signal: AbortSignal): T | PromiseLike<T> {
    if (signal.aborted) throw signal.reason;
    if (!this.#on(error)) throw error;
    return this.recover(error, NO_ARGS);
  }

  /**
   * A one-line summary, as `policy.describe()` shows it, e.g. `method cachedPrice on all errors`
   * or `fixed value on matching errors`.
   */
  describe(): string {
    const method = this.#method;
    const how = method === undefined ? 'fixed value' : `method ${method.name || '(anonymous)'}`;
    return `${how} on ${this.#replaces()}`;
  }

  // What it replaces: `all errors`, `matching errors`, each with ` and matching results`.
  #replaces(): string {
    const results = this.#onResult === undefined ? '' : ' and matching results';
    return `${matchesAll(this.#on) ? 'all' : 'matching'} errors${results}`;
  }

  /** @internal True when results are judged too (`onResult` is set). */
  get judgesResults(): boolean {
    // Stryker disable next-line ConditionalExpression: a fast path; without `onResult`, `rejects` keeps every result
    return this.#onResult !== undefined;
  }

  /**
   * @internal True when `method` may reach the context a policy passes it after the error, whose
   * `startedAt` it may read at any time (the rule is in `internal/arity.ts`).
   */
  get takesContext(): boolean {
    return this.#method !== undefined && reaches(this.#method, 1);
  }

  /**
   * @internal True when `onResult` rejects `result` (false without `onResult`). What the
   * predicate throws propagates.
   */
  rejects(result: unknown): boolean {
    // Stryker disable next-line ConditionalExpression: asked only under `onResult` (`judgesResults`)
    return this.#onResult !== undefined && this.#onResult(result);
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
   * `[ctx]`, a function wrapper the wrapped call's arguments and `this` (`self`), which `method`
   * is called with. What `method` throws propagates.
   */
  recover(error: unknown, args: readonly unknown[], self?: unknown): T | PromiseLike<T> {
    const method = this.#method;
    if (method === undefined) return this.#value as T;
    return method.call(self, error, ...args);
  }
}

const fallbackView = /* @__PURE__ */ inspectView(
  'Fallback',
  (fallback: Fallback<unknown>) => fallback.inspected,
);
