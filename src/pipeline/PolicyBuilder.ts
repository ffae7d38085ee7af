import type { Clock } from '../internal/clock.js';
import type { Duration } from '../internal/duration.js';
import { clockOption, show, stringOption } from '../internal/validate.js';
import { Bulkhead, type BulkheadOptions } from '../strategies/bulkhead/Bulkhead.js';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
} from '../strategies/circuit-breaker/CircuitBreaker.js';
import {
  Fallback,
  type FallbackFilterOptions,
  type FallbackValueOptions,
} from '../strategies/fallback/Fallback.js';
import { RateLimiter, type RateLimiterOptions } from '../strategies/rate-limiter/RateLimiter.js';
import { Retry, type RetryOptions } from '../strategies/retry/Retry.js';
import { TimeLimiter, type TimeLimiterOptions } from '../strategies/timeout/TimeLimiter.js';
import { EventHub } from './events.js';
import type { ExecutionContext } from './ExecutionContext.js';
import { Counters } from './metrics.js';
import { Policy } from './Policy.js';
import type { Step } from './engine.js';
import type { Stage } from './Stage.js';
import { CustomStage } from './CustomStage.js';
import { BulkheadStage } from '../strategies/bulkhead/stage.js';
import { CircuitBreakerStage } from '../strategies/circuit-breaker/stage.js';
import type { StageEnv } from './env.js';
import { FallbackStage } from '../strategies/fallback/stage.js';
import { RateLimiterStage } from '../strategies/rate-limiter/stage.js';
import { RetryStage } from '../strategies/retry/stage.js';
import { TimeoutStage } from '../strategies/timeout/stage.js';

/** Fallback options as a policy takes them: `method` receives the error and the context. */
export type PolicyFallbackOptions<V> =
  | FallbackValueOptions<V>
  | (FallbackFilterOptions & {
      readonly method: (error: unknown, ctx: ExecutionContext) => V | PromiseLike<V>;
      readonly value?: never;
    });

/**
 * Declares a policy's stages, outermost first, then {@link PolicyBuilder.build | builds} it.
 * Every method validates its options at once and accepts either options or a primitive instance
 * (shared, not copied: two policies given one `CircuitBreaker` share its state).
 *
 * @typeParam T - result type of the policy's thunks
 * @typeParam F - result types the fallbacks declared so far may produce
 */
export class PolicyBuilder<T = unknown, F = never> {
  private readonly policyName: string;
  /** Each makes a stage once the policy's shared parts exist. */
  private readonly factories: Array<(env: StageEnv) => Step> = [];
  private policyClock: Clock | undefined;
  private built = false;

  /** @internal Use `Policy.builder(name)`. */
  constructor(name?: string) {
    this.policyName = stringOption(name, 'name', 'policy');
  }

  /**
   * Adds a fallback: matching errors of the stages inside it become the fallback's value.
   * In a policy, `method` is called as `method(error, ctx)`.
   */
  fallback<V extends T>(
    options: PolicyFallbackOptions<V> | Fallback<V>,
    name?: string,
  ): PolicyBuilder<T, F | V> {
    return this.stage(options, name, Fallback, FallbackStage, 'Fallback') as never;
  }

  /** Adds a rate limiter: each execution takes one token. */
  rateLimiter(options: RateLimiterOptions | RateLimiter, name?: string): this {
    return this.stage(options, name, RateLimiter, RateLimiterStage, 'RateLimiter');
  }

  /** Adds a bulkhead: each execution holds one slot until the stages inside it settle. */
  bulkhead(options: BulkheadOptions | Bulkhead, name?: string): this {
    return this.stage(options, name, Bulkhead, BulkheadStage, 'Bulkhead');
  }

  /** Adds a retry: the stages inside it run again on failure; sets `ctx.attempt`. */
  retry(options: RetryOptions | Retry, name?: string): this {
    return this.stage(options, name, Retry, RetryStage, 'Retry');
  }

  /** Adds a circuit breaker around the stages inside it. */
  circuitBreaker(options: CircuitBreakerOptions | CircuitBreaker, name?: string): this {
    return this.stage(options, name, CircuitBreaker, CircuitBreakerStage, 'CircuitBreaker');
  }

  /**
   * Adds a timeout: a duration, TimeLimiter options, or a TimeLimiter. Inside a retry it bounds
   * each attempt; outside, the whole execution.
   */
  timeout(options: Duration | TimeLimiterOptions | TimeLimiter, name?: string): this {
    const o =
      typeof options === 'number' || typeof options === 'string' ? { timeout: options } : options;
    return this.stage(o, name, TimeLimiter, TimeoutStage, 'TimeLimiter');
  }

  /** Adds a custom stage, used as given. */
  use(stage: Stage): this {
    this.assertOpen();
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
    this.factories.push(() => new CustomStage(stage));
    return this;
  }

  /** Sets the clock the policy uses for `ctx.startedAt` and event durations. */
  clock(clock: Clock): this {
    this.assertOpen();
    this.policyClock = clockOption(clock);
    return this;
  }

  /** Builds the immutable policy. The builder cannot be changed afterwards. */
  build(): Policy<T, F> {
    this.assertOpen();
    this.built = true;
    const hub = new EventHub();
    const counters = new Counters();
    const clock = clockOption(this.policyClock);
    const env: StageEnv = { policy: this.policyName, hub, counters, clock };
    const steps = this.factories.map((factory) => factory(env));
    return new Policy<T, F>({ name: this.policyName, clock, steps, hub, counters });
  }

  /**
   * Adds a stage over a primitive: the one given, or one made from options. The name is checked
   * before a primitive is made, so a bad call consumes no store it was given.
   */
  private stage<P>(
    options: unknown,
    name: string | undefined,
    Primitive: new (options: never) => P,
    Wrapper: new (primitive: P, env: StageEnv, name: string | undefined) => Step,
    kind: string,
  ): this {
    this.assertOpen();
    stringOption(name, 'name', undefined);
    const primitive =
      options instanceof Primitive ? options : new Primitive(plainOptions(options, kind) as never);
    this.factories.push((env) => new Wrapper(primitive, env, name));
    return this;
  }

  private assertOpen(): void {
    if (this.built) {
      throw new Error(`Policy builder "${this.policyName}" was already built; start a new builder`);
    }
  }
}

/**
 * The options given to a builder method, unless they are an instance of some class: a primitive
 * of another kind (a Bulkhead given to `retry`), or one from another copy of the package, would
 * otherwise read as empty options and silently become a new primitive with the defaults.
 */
function plainOptions<O>(options: O, kind: string): O {
  if (options !== null && typeof options === 'object') {
    const proto: unknown = Object.getPrototypeOf(options);
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
      throw new TypeError(
        `\`options\` must be ${kind} options or a ${kind}, got ${
          typeof name === 'string' && name !== '' ? `an instance of ${name}` : show(options)
        }`,
      );
    }
  }
  return options;
}
