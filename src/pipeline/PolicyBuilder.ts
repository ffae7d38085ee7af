import type { Clock } from '../internal/clock.js';
import type { Duration } from '../internal/duration.js';
import { checkOption, clockOption, isPlainObject, show } from '../internal/validate.js';
import type { Bulkhead, BulkheadOptions } from '../strategies/bulkhead/Bulkhead.js';
import type {
  CircuitBreaker,
  CircuitBreakerOptions,
} from '../strategies/circuit-breaker/CircuitBreaker.js';
import type {
  Fallback,
  FallbackFilterOptions,
  FallbackValueOptions,
} from '../strategies/fallback/Fallback.js';
import type { RateLimiter, RateLimiterOptions } from '../strategies/rate-limiter/RateLimiter.js';
import type { Retry, RetryOptions } from '../strategies/retry/Retry.js';
import type { TimeLimiter, TimeLimiterOptions } from '../strategies/timeout/TimeLimiter.js';
import type { Hedge, HedgeOptions } from '../strategies/hedge/Hedge.js';
import type { Chaos, ChaosOptions, InjectedResult } from '../strategies/chaos/Chaos.js';
import { EventHub } from './events.js';
import type { ExecutionContext } from './ExecutionContext.js';
import { Counters } from './metrics.js';
import { Policy } from './Policy.js';
import type { Step } from './engine.js';
import type { Stage } from './Stage.js';
import { CustomStage } from './CustomStage.js';
import type { StageEnv } from './env.js';
import {
  BuiltinStage,
  stageOf,
  stages,
  timeoutOptions,
  type AddedBy,
  type KeyableOptions,
  type PlainStageOptions,
  type StageFor,
} from './stages.js';
import type { StageDescriptor } from '../strategies/descriptor.js';
import { BULKHEAD_STAGE } from '../strategies/bulkhead/kind.js';
import { CHAOS_STAGE } from '../strategies/chaos/kind.js';
import { CIRCUIT_BREAKER_STAGE } from '../strategies/circuit-breaker/kind.js';
import { HEDGE_STAGE } from '../strategies/hedge/kind.js';
import { RATE_LIMITER_STAGE } from '../strategies/rate-limiter/kind.js';
import { RETRY_STAGE } from '../strategies/retry/kind.js';
import { TIMEOUT_STAGE } from '../strategies/timeout/kind.js';

/**
 * Fallback options as a policy takes them: `method` receives the error (a
 * `RejectedResultError` for a result `onResult` rejected) and the context; `onResult` sees the
 * policy's result type `R`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as FallbackFilterOptions
export type PolicyFallbackOptions<V, R = any> =
  | FallbackValueOptions<V, R>
  | (FallbackFilterOptions<R> & {
      readonly method: (error: unknown, ctx: ExecutionContext) => V | PromiseLike<V>;
      readonly value?: never;
    });

/**
 * The type a result predicate (`retryOnResult`, `recordOnResult`) of a builder for `T` is given:
 * `T`, or `any` for an untyped builder (`unknown`), whose predicates may be written for the
 * results they expect.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an untyped builder's predicates take any result
type ResultOf<T> = unknown extends T ? any : T;

/**
 * Any value, spelled so that `T` gives a fallback's substitute its context: an object literal typed
 * like a `T` keeps `T`'s literal property types (`{ status: 'ok' }` for a `status: 'ok' | 'err'`).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- `{}`: every value but null and undefined
type AnyOf<T> = T | {} | null | undefined;

/**
 * Declares a policy's stages, outermost first, then {@link PolicyBuilder.build | builds} it.
 * Every method validates its options at once and accepts either options or a primitive instance
 * (shared, not copied: two policies given one `CircuitBreaker` share its state). Every stage
 * method but `fallback` may leave its options out (`.retry()`, or `.retry(undefined, name)`) for a
 * stage with every default.
 *
 * @typeParam T - result type of the policy's thunks
 * @typeParam F - result types the stages declared so far may answer with instead of the work's:
 *   fallbacks' substitutes, chaos stages' injected results
 */
export class PolicyBuilder<T = unknown, F = never> {
  private readonly policyName: string;
  /** Each makes a stage once the policy's shared parts exist. */
  private readonly factories: Array<(env: StageEnv) => Step> = [];
  private policyClock: Clock | undefined;
  private built = false;

  /** @internal Use `Policy.builder(name)`. */
  constructor(name?: string) {
    // A name tells policies apart in events, metrics, health and the registry: '' would not.
    this.policyName = checkOption(
      name,
      'name',
      (s) => typeof s == 'string' && s !== '',
      'a non-empty string',
      'policy',
    );
  }

  /**
   * Adds a fallback: matching errors of the stages inside it (and results `onResult` rejects)
   * become the fallback's value.
   * In a policy, `method` is called as `method(error, ctx)`. The substitute may be of any type
   * (`{ value: null }` on a `builder<Price>()`): it joins the policy's result type, so `execute`
   * resolves to `Price | null` there.
   */
  fallback<V extends AnyOf<T>>(
    options: PolicyFallbackOptions<V, T> | Fallback<V, ResultOf<T>>,
    name?: string,
  ): PolicyBuilder<T, F | V> {
    return this.open().use(stages.fallback(options, name));
  }

  /**
   * Adds a rate limiter: each execution takes one token. With `key`, one limiter per key (see
   * {@link KeyedStageOptions}).
   */
  // One signature per form, as for `retry`: a union with the class would take, in an object
  // literal, the name of any of its members (`maxWaitMs`) as an option.
  rateLimiter(options: RateLimiter, name?: string): this;
  rateLimiter(options?: KeyableOptions<RateLimiterOptions, never>, name?: string): this;
  rateLimiter(options?: KeyableOptions<RateLimiterOptions, RateLimiter>, name?: string): this {
    return this.timed(RATE_LIMITER_STAGE, options, name);
  }

  /**
   * Adds a bulkhead: each execution holds one slot until the stages inside it settle. With
   * `key`, one bulkhead per key (see {@link KeyedStageOptions}).
   */
  // One signature per form, as for `rateLimiter`.
  bulkhead(options: Bulkhead, name?: string): this;
  bulkhead(options?: KeyableOptions<BulkheadOptions, never>, name?: string): this;
  bulkhead(options?: KeyableOptions<BulkheadOptions, Bulkhead>, name?: string): this {
    return this.timed(BULKHEAD_STAGE, options, name);
  }

  /**
   * Adds a retry: the stages inside it run again on failure; sets `ctx.attempt`. Its
   * `retryOnResult` receives the policy's result type `T` (a `Retry` given must take a `T`).
   */
  // One signature per form, not a union: a union of both would let TypeScript compare a `Retry`
  // with it member by member, and accept one whose `retryOnResult` takes another type.
  retry(options: Retry<ResultOf<T>>, name?: string): this;
  retry(options?: RetryOptions<ResultOf<T>> & PlainStageOptions, name?: string): this;
  retry(options?: RetryOptions | Retry, name?: string): this {
    return this.timed(RETRY_STAGE, options, name);
  }

  /**
   * Adds a circuit breaker around the stages inside it. With `key`, one breaker per key (see
   * {@link KeyedStageOptions}). Its `recordOnResult` receives the policy's result type `T` (a
   * `CircuitBreaker` given must take a `T`).
   */
  // One signature per form, as for `retry`.
  circuitBreaker(options: CircuitBreaker<ResultOf<T>>, name?: string): this;
  circuitBreaker(
    options?: KeyableOptions<CircuitBreakerOptions<ResultOf<T>>, never>,
    name?: string,
  ): this;
  circuitBreaker(
    options?: KeyableOptions<CircuitBreakerOptions, CircuitBreaker>,
    name?: string,
  ): this {
    return this.timed(CIRCUIT_BREAKER_STAGE, options, name);
  }

  /**
   * Adds a timeout: a duration, TimeLimiter options, or a TimeLimiter. Inside a retry it bounds
   * each attempt; outside, the whole execution.
   */
  // One signature per form, as for `rateLimiter`.
  timeout(options: TimeLimiter, name?: string): this;
  timeout(options?: Duration | TimeLimiterOptions, name?: string): this;
  timeout(options?: Duration | TimeLimiterOptions | TimeLimiter, name?: string): this {
    return this.timed(TIMEOUT_STAGE, timeoutOptions(options), name);
  }

  /**
   * Adds a hedge: when an attempt of the stages inside it has not settled after `delay`, another
   * starts (up to `maxHedges` more); the first acceptable outcome answers and the others are
   * aborted through their own `ctx.signal`. Sets `ctx.attempt` (1 for the first attempt). Its
   * `on` receives outcomes of the policy's result type `T` (a `Hedge` given must take a `T`).
   */
  // One signature per form, as for `retry`.
  hedge(options: Hedge<ResultOf<T>>, name?: string): this;
  hedge(options?: HedgeOptions<ResultOf<T>> & PlainStageOptions, name?: string): this;
  hedge(options?: HedgeOptions | Hedge, name?: string): this {
    return this.timed(HEDGE_STAGE, options ?? {}, name);
  }

  /**
   * Adds fault injection: a fraction of the calls reaching it fail, wait, or return a value
   * instead of running the stages inside it. For tests and staging; off with `enabled: false`.
   * An injected `result.value` must be a `T` (a `Chaos` given must inject `T`s, or no result),
   * and joins the policy's result type like a fallback's substitute: a call may resolve to it
   * whatever its work resolves to (`execute(async () => 1 as const)` on a policy injecting `5` is a
   * `Promise<1 | 5>`). Options typed `ChaosOptions` without a type argument (results of type
   * `any`) add nothing: the calls keep the work's type.
   */
  // One signature per form, as for `retry`. `I`: the injected results, `never` without `result`.
  chaos<I extends T = never>(
    options: Chaos<I>,
    name?: string,
  ): PolicyBuilder<T, F | InjectedResult<I>>;
  chaos<I extends T = never>(
    options?: ChaosOptions<I> & PlainStageOptions,
    name?: string,
  ): PolicyBuilder<T, F | InjectedResult<I>>;
  chaos(options?: ChaosOptions | Chaos<unknown>, name?: string): PolicyBuilder<T, unknown> {
    return this.timed(CHAOS_STAGE, options, name);
  }

  /**
   * Adds a custom stage, used as given. A built-in stage from {@link stages} whose result
   * predicate takes another type than `T` is a compile error; a fallback stage's substitute and
   * a chaos stage's injected result join the policy's result type, as with `fallback(...)` and
   * `chaos(...)`.
   */
  use<S extends Stage>(stage: S & StageFor<S, ResultOf<T>>): PolicyBuilder<T, F | AddedBy<S>> {
    this.open();
    if (stage instanceof BuiltinStage) {
      // A built-in stage compiles into the fast path, as the methods above do.
      const { descriptor, primitive, name } = stage as BuiltinStage;
      this.factories.push((env) => descriptor.step(primitive, env, name));
      return this;
    }
    if (
      stage === null ||
      typeof stage !== 'object' ||
      typeof stage.execute !== 'function' ||
      typeof stage.kind !== 'string' ||
      stage.kind === ''
    ) {
      throw new TypeError(
        `\`stage\` must be an object with a non-empty string \`kind\` and an \`execute(ctx, next)\` method, got ${show(stage)}`,
      );
    }
    this.factories.push((env) => new CustomStage(stage, env));
    return this;
  }

  /**
   * Sets the policy's clock: `ctx.startedAt`, `ctx.deadline` and event durations are read on it,
   * and every stage this builder makes from options (timeouts, retry and queue waits, hedge
   * delays, injected latency, breaker and limiter time) runs on it unless its options name their
   * own `clock`. Applies to the stages declared before it too. A primitive instance given to a
   * stage method, or a stage given to `use`, keeps its own clock.
   *
   * @example
   * ```ts
   * const policy = Policy.builder('pricing').clock(testClock).retry({ delay: '1s' }).timeout('5s').build();
   * ```
   */
  clock(clock: Clock): this {
    this.open();
    this.policyClock = clockOption(clock);
    return this;
  }

  /** Builds the immutable policy. The builder cannot be changed afterwards. */
  build(): Policy<T, F> {
    this.open();
    this.built = true;
    const hub = new EventHub();
    const counters = new Counters();
    const clock = clockOption(this.policyClock);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- a stack frame marker, never called
    const entry = Policy.prototype.execute;
    const env: StageEnv = { policy: this.policyName, hub, counters, clock, entry };
    const steps = this.factories.map((factory) => factory(env));
    return new Policy<T, F>({ name: this.policyName, clock, steps, hub, counters, env });
  }

  /**
   * Adds a built-in stage of `descriptor`'s kind over `options` (or a primitive, used as given).
   * A primitive made from options that name no `clock` runs on the policy's clock, known only at
   * `build()`: the options are checked now, by making one, and the stage is made again at
   * `build()` when the policy's clock is not the one it was made with. Options that bind an
   * object to the primitive they make (a store, an adaptive limit: each serves one primitive) are
   * checked now without it, and the primitive is made with it at `build()` only.
   */
  private timed(descriptor: StageDescriptor, options: unknown, name: string | undefined): this {
    this.open();
    if (!isPlainObject(options)) {
      this.use(stageOf(descriptor, options, name));
      return this;
    }
    // Read once (a getter runs once): what is checked now is what the stage is made of.
    const given: Record<string, unknown> = { ...options };
    if (given.clock !== undefined) {
      this.use(stageOf(descriptor, given, name));
      return this;
    }
    // Checked now on the clock known now, without what a primitive binds to itself.
    const checked: Record<string, unknown> = { ...given, clock: this.policyClock };
    // (A keyed stage binds nothing when declared: it refuses an adaptive limit then.)
    const keyed = given.key !== undefined;
    let bound = false;
    for (const option in checked) {
      const value = checked[option];
      if (
        !keyed &&
        typeof value == 'object' &&
        value !== null &&
        ('bind' in value || 'configure' in value)
      ) {
        bound = true;
        checked[option] = undefined;
      }
    }
    const probe = stageOf(descriptor, checked, name);
    this.factories.push((env) => {
      const clock = this.policyClock;
      const stage =
        !bound && clock === checked.clock ? probe : stageOf(descriptor, { ...given, clock }, name);
      return stage.descriptor.step(stage.primitive, env, stage.name);
    });
    return this;
  }

  /**
   * This builder, once checked to be still open (not built): before a stage's primitive is made,
   * and before anything changes it.
   */
  private open(): this {
    if (this.built) {
      throw new Error(`Policy builder "${this.policyName}" was already built; start a new builder`);
    }
    return this;
  }
}
