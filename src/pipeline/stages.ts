import type { Duration } from '../internal/duration.js';
import { fail } from '../optionErrors.js';
import { isPlainObject, showInstead, stringOption } from '../internal/validate.js';
import type { CheckedConstructor, StageDescriptor } from '../strategies/descriptor.js';
import { BULKHEAD_STAGE } from '../strategies/bulkhead/kind.js';
import type { Bulkhead, BulkheadOptions } from '../strategies/bulkhead/Bulkhead.js';
import { CIRCUIT_BREAKER_STAGE } from '../strategies/circuit-breaker/kind.js';
import type {
  CircuitBreaker,
  CircuitBreakerOptions,
} from '../strategies/circuit-breaker/CircuitBreaker.js';
import { FALLBACK_STAGE } from '../strategies/fallback/kind.js';
import type { Fallback } from '../strategies/fallback/Fallback.js';
import { HEDGE_STAGE } from '../strategies/hedge/kind.js';
import type { Hedge, HedgeOptions } from '../strategies/hedge/Hedge.js';
import { CHAOS_STAGE } from '../strategies/chaos/kind.js';
import type { Chaos, ChaosOptions, InjectedResult } from '../strategies/chaos/Chaos.js';
import { RATE_LIMITER_STAGE } from '../strategies/rate-limiter/kind.js';
import type { RateLimiter, RateLimiterOptions } from '../strategies/rate-limiter/RateLimiter.js';
import { RETRY_STAGE } from '../strategies/retry/kind.js';
import type { Retry, RetryOptions } from '../strategies/retry/Retry.js';
import { keyedStage } from '../strategies/keyed/kind.js';
import type { Keyed } from '../strategies/keyed/Keyed.js';
import { TIMEOUT_STAGE } from '../strategies/timeout/kind.js';
import type { TimeLimiter, TimeLimiterOptions } from '../strategies/timeout/TimeLimiter.js';
import type { ExecutionContext } from './ExecutionContext.js';
import { Policy } from './Policy.js';
import type { PolicyFallbackOptions } from './PolicyBuilder.js';
import type { Stage } from './Stage.js';

/**
 * The results the primitive `P` of a built-in stage judges: what the result predicate
 * of a retry, circuit breaker or fallback takes (`any` for the other kinds, and without one).
 */
type JudgedBy<P> =
  P extends Keyed<infer Q>
    ? JudgedBy<Q>
    : P extends Retry<infer R>
      ? R
      : P extends CircuitBreaker<infer R>
        ? R
        : P extends Fallback<unknown, infer R>
          ? R
          : P extends Hedge<infer R>
            ? R
            : // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a stage that judges no result takes any
              any;

/**
 * The results the primitive `P` of a built-in stage may answer with instead of the work's: a
 * chaos stage's injected `result.value` (`never` for the other kinds, and without one).
 */
type InjectedBy<P> = P extends Chaos<infer R> ? InjectedResult<R> : never;

/**
 * What a stage `S` added with `builder.use(stage)` adds to the policy's results besides the
 * work's: a fallback stage's substitute, a chaos stage's injected `result.value` (`never` for the
 * other stages, built-in or custom), as the builder's `fallback(...)` and `chaos(...)` add them.
 */
export type AddedBy<S> =
  S extends BuiltinStage<infer P>
    ? P extends Fallback<infer V, never>
      ? V
      : InjectedBy<P>
    : never;

/**
 * What `builder.use(stage)` checks of a stage for a policy of results `T`: nothing
 * (`unknown`) unless it is a built-in stage whose result predicate takes another type, whose
 * mismatch names both.
 */
export type StageFor<S, T> =
  S extends BuiltinStage<infer P>
    ? [T] extends [JudgedBy<P>]
      ? [InjectedBy<P>] extends [T]
        ? unknown
        : StageInjectionMismatch<T, InjectedBy<P>>
      : StageResultMismatch<T, JudgedBy<P>>
    : unknown;

/**
 * What `builder.use(stage)` asks of a built-in stage whose result predicate (`retryOnResult`,
 * `recordOnResult`, `onResult`) takes another type than the policy's results: the compile error
 * names both.
 */
interface StageResultMismatch<T, J> {
  readonly 'the stage judges results of another type than the policy': {
    policy: T;
    stage: J;
  };
}

/**
 * What `builder.use(stage)` asks of a chaos stage whose injected `result.value` is not of the
 * policy's result type: the compile error names both.
 */
interface StageInjectionMismatch<T, I> {
  readonly 'the stage injects results of another type than the policy': {
    policy: T;
    stage: I;
  };
}

/**
 * A built-in stage over a primitive, as {@link stages} makes it: a {@link Stage} like any other.
 * Added with `builder.use(stage)` it compiles into the policy's pipeline exactly as the builder's
 * own methods do (same steps, events, counters and `describe()`). Called by hand,
 * `execute(ctx, next)` applies the same step to `next`, with the context's signal and data; its
 * events and counters go nowhere (no policy listens).
 *
 * @typeParam P - the primitive it wraps (shared, not copied)
 */
export class BuiltinStage<P = unknown> implements Stage {
  readonly kind: string;
  readonly name: string;
  /** The primitive this stage applies (the one given, or one made from the options). */
  readonly primitive: P;
  /** @internal */
  readonly descriptor: StageDescriptor<P>;
  /**
   * The one-stage policy `execute` runs, typed as any {@link Stage}'s: run by hand, a stage's
   * answer (a fallback's substitute, an injected result) stands for `next`'s.
   */
  #policy: Policy<unknown, never> | undefined;

  /** @internal Use {@link stages}. */
  constructor(descriptor: StageDescriptor<P>, primitive: P, name: string | undefined) {
    this.descriptor = descriptor;
    this.kind = descriptor.kind;
    this.primitive = primitive;
    this.name = name ?? descriptor.kind;
  }

  execute<T>(ctx: ExecutionContext, next: (ctx: ExecutionContext) => Promise<T>): Promise<T> {
    // A one-stage policy runs the step itself: one statement of the kind's semantics.
    // Used as any stage: the one-stage policy's results are untyped.
    const policy = (this.#policy ??= Policy.builder(this.name).use<Stage>(this).build());
    const attempts = this.descriptor.numbersAttempts === true;
    return policy.execute((inner) => next(within(ctx, inner, attempts)), {
      signal: ctx.signal,
      data: ctx.data,
    });
  }

  describe(): string {
    return this.descriptor.describe(this.primitive);
  }

  state(): Record<string, unknown> {
    return this.descriptor.state(this.primitive);
  }
}

/**
 * The context `next` receives from a stage run by hand: the caller's, with the signal the stage
 * set (a timeout's deadline signal) and, from a stage that numbers attempts, its attempt.
 */
function within(
  outer: ExecutionContext,
  inner: ExecutionContext,
  attempts: boolean,
): ExecutionContext {
  return {
    policyName: outer.policyName,
    startedAt: outer.startedAt,
    data: outer.data,
    get attempt() {
      return attempts ? inner.attempt : outer.attempt;
    },
    get signal() {
      return inner.signal;
    },
    get deadline() {
      // A hand-made context from before these fields has none: no deadline.
      return Math.min(outer.deadline ?? Infinity, inner.deadline);
    },
    get remaining() {
      return Math.min(outer.remaining ?? Infinity, inner.remaining);
    },
  };
}

/**
 * @internal A built-in stage of `descriptor`'s kind over `options` (or the primitive itself).
 * The name is checked before a primitive is made, so a bad call consumes no store it was given.
 */
export function stageOf<P>(
  descriptor: StageDescriptor<P>,
  options: unknown,
  name: string | undefined,
): BuiltinStage<P> {
  stringOption(name, 'name', undefined);
  if (descriptor.keyable === true && hasKey(options)) {
    // One primitive per key: the stage holds them (see strategies/keyed/).
    const keyed = keyedStage(descriptor as StageDescriptor<P & object>, options);
    return new BuiltinStage(keyed.descriptor, keyed.primitive, name) as BuiltinStage<never>;
  }
  if (descriptor.keyable === true && isPlainObject(options)) {
    // A keyed stage's own options without `key`: say what they need; left `undefined` (as
    // `UnkeyedStageOptions` allows), they are unset, so the primitive never sees them.
    let unkeyed: Record<string, unknown> | undefined;
    for (const option of ['key', 'maxKeys', 'idleTimeout']) {
      if (!(option in options)) continue;
      if (options[option] !== undefined)
        fail(TypeError, option, 'unset without `key`', options[option]);
      delete (unkeyed ??= { ...options })[option];
    }
    if (unkeyed !== undefined) options = unkeyed;
  }
  const primitive =
    options instanceof descriptor.Primitive
      ? options
      : new (descriptor.Primitive as CheckedConstructor<P>)(plainOptions(options, descriptor));
  return new BuiltinStage(descriptor, primitive, name);
}

/**
 * The options given for a stage, unless they are an instance of some class: a primitive of
 * another kind (a Bulkhead given to `retry`), or one from another copy of the package, would
 * otherwise read as empty options and silently become a new primitive with the defaults.
 */
function plainOptions(
  options: unknown,
  { label, Primitive }: StageDescriptor<unknown>,
): Record<string, unknown> {
  if (options !== null && typeof options === 'object' && !isPlainObject(options)) {
    fail(
      TypeError,
      'options',
      `${label} options or a ${label}`,
      options,
      `\`options\` must be ${label} options or a ${label}, got ${showInstead(options, label, Primitive)}`,
    );
  }
  return options as Record<string, unknown>;
}

/** True for plain options that give a `key` (any value: a keyed stage checks it). */
function hasKey(options: unknown): options is Record<string, unknown> {
  return isPlainObject(options) && options.key !== undefined;
}

/**
 * What a stateful stage (circuit breaker, rate limiter, bulkhead) takes to keep one primitive
 * per key: a call's key is `key(ctx)`, and each key gets its own primitive, made from the same
 * options, in a {@link Keyed} holder (`stage.primitive`).
 */
export interface KeyedStageOptions {
  /**
   * The key of a call (a host, a user, a tenant), from its context (`ctx.data` usually). A key
   * function that throws fails the call with what it threw; one that returns a non-string fails
   * it with a TypeError.
   */
  readonly key: (ctx: ExecutionContext) => string;
  /** Most primitives kept (see {@link KeyedOptions.maxKeys}). @defaultValue `1000` */
  readonly maxKeys?: number | undefined;
  /** A primitive at rest unused this long is dropped. @defaultValue `'10m'` */
  readonly idleTimeout?: Duration | undefined;
}

/**
 * Options, as opposed to a primitive instance: a primitive's getters (a `Retry`'s `maxAttempts`,
 * `delay`, ...) would pass for options, so a primitive is checked as the primitive it is (that
 * its result predicate takes the policy's results), never as options.
 */
export interface PlainStageOptions {
  readonly execute?: undefined;
}

/**
 * What a stateful stage without `key` may not take: `maxKeys` and `idleTimeout` need `key`.
 */
export interface UnkeyedStageOptions {
  readonly key?: undefined;
  readonly maxKeys?: undefined;
  readonly idleTimeout?: undefined;
}

/**
 * What a stateful stage (circuit breaker, rate limiter, bulkhead) takes: its options `O`, with
 * {@link KeyedStageOptions} for one primitive per key, or a primitive `P` to use as it is.
 */
export type KeyableOptions<O, P> =
  (O & UnkeyedStageOptions & PlainStageOptions) | P | (O & KeyedStageOptions & PlainStageOptions);

/**
 * A stateful kind's entry in {@link stages}: given `key`, a keyed stage over a {@link Keyed}
 * holder; otherwise a stage over one primitive (given, or made from the options).
 */
export interface KeyableStageFactory<O, P> {
  (options: O & KeyedStageOptions, name?: string): BuiltinStage<Keyed<P>>;
  (options?: (O & UnkeyedStageOptions) | P, name?: string): BuiltinStage<P>;
  (options: KeyableOptions<O, P>, name?: string): BuiltinStage<P> | BuiltinStage<Keyed<P>>;
}

/**
 * The circuit breaker's entry in {@link stages}: a {@link KeyableStageFactory} generic in the
 * results its `recordOnResult` judges.
 */
export interface CircuitBreakerStageFactory {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- `R`: as CircuitBreaker's
  <R = any>(
    options: CircuitBreakerOptions<R> & KeyedStageOptions,
    name?: string,
  ): BuiltinStage<Keyed<CircuitBreaker<R>>>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  <R = any>(
    options?: (CircuitBreakerOptions<R> & UnkeyedStageOptions) | CircuitBreaker<R>,
    name?: string,
  ): BuiltinStage<CircuitBreaker<R>>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  <R = any>(
    options: KeyableOptions<CircuitBreakerOptions<R>, CircuitBreaker<R>>,
    name?: string,
  ): BuiltinStage<CircuitBreaker<R>> | BuiltinStage<Keyed<CircuitBreaker<R>>>;
}

/** @internal `3s` or `3000` for a timeout's options. */
export function timeoutOptions(
  options: Duration | TimeLimiterOptions | TimeLimiter | undefined,
): TimeLimiterOptions | TimeLimiter | undefined {
  return typeof options === 'number' || typeof options === 'string'
    ? { timeout: options }
    : options;
}

/**
 * The built-in stages as {@link Stage} objects, each over a primitive (given, or made from
 * options, validated at once). Use them in `builder.use(...)`, where they compile exactly as the
 * builder's methods, or call `execute(ctx, next)` by hand to compose and test them.
 *
 * @example
 * ```ts
 * const retry = stages.retry({ maxAttempts: 3, delay: 0 });
 * const policy = Policy.builder('pricing').use(retry).use(stages.timeout('2s')).build();
 * ```
 */
export const stages = Object.freeze({
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- `R`: as Retry's
  retry: <R = any>(
    options?: (RetryOptions<R> & PlainStageOptions) | Retry<R>,
    name?: string,
  ): BuiltinStage<Retry<R>> => stageOf(RETRY_STAGE as StageDescriptor<Retry<R>>, options, name),
  circuitBreaker: ((options: unknown, name?: string) =>
    stageOf(CIRCUIT_BREAKER_STAGE, options, name)) as CircuitBreakerStageFactory,
  rateLimiter: ((options: unknown, name?: string) =>
    stageOf(RATE_LIMITER_STAGE, options, name)) as KeyableStageFactory<
    RateLimiterOptions,
    RateLimiter
  >,
  bulkhead: ((options: unknown, name?: string) =>
    stageOf(BULKHEAD_STAGE, options, name)) as KeyableStageFactory<BulkheadOptions, Bulkhead>,
  timeout: (
    options?: Duration | TimeLimiterOptions | TimeLimiter,
    name?: string,
  ): BuiltinStage<TimeLimiter> => stageOf(TIMEOUT_STAGE, timeoutOptions(options), name),
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- `R`: as Fallback's
  fallback: <V, R = any>(
    options: PolicyFallbackOptions<V, R> | Fallback<V, R>,
    name?: string,
  ): BuiltinStage<Fallback<V, R>> =>
    stageOf(FALLBACK_STAGE as StageDescriptor<Fallback<V, R>>, options, name),
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- `R`: as Hedge's
  hedge: <R = any>(
    options?: (HedgeOptions<R> & PlainStageOptions) | Hedge<R>,
    name?: string,
  ): BuiltinStage<Hedge<R>> => stageOf(HEDGE_STAGE as StageDescriptor<Hedge<R>>, options, name),
  chaos: <R = never>(
    options?: (ChaosOptions<R> & PlainStageOptions) | Chaos<R>,
    name?: string,
  ): BuiltinStage<Chaos<R>> => stageOf(CHAOS_STAGE as StageDescriptor<Chaos<R>>, options, name),
});
