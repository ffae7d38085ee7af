import type { Clock } from '../internal/clock.js';
import { Context, RootContext } from '../internal/context.js';
import { raceAbort } from '../internal/signals.js';
import { show } from '../internal/validate.js';
import { CircuitBreakerStage } from './stages/CircuitBreakerStage.js';
import { EventHub, type PolicyEvent, type PolicyListener } from './events.js';
import { toDataMap, type ExecutionContext, type Thunk } from './ExecutionContext.js';
import { Counters, type PolicyMetrics, type StageState } from './metrics.js';
import { PolicyBuilder } from './PolicyBuilder.js';
import type { Stage, StageInfo } from './Stage.js';

/** Options of {@link Policy.execute}. */
export interface ExecuteOptions {
  /** The caller's signal: when it aborts, the execution rejects at once with its reason. */
  readonly signal?: AbortSignal | undefined;
  /** Data for the thunk and stages, available as `ctx.data`. */
  readonly data?: Record<string, unknown> | Map<string, unknown> | undefined;
}

type Link = (ctx: Context) => Promise<unknown>;

/** @internal Everything `build()` hands to the policy. */
export interface PolicyParts {
  readonly name: string;
  readonly clock: Clock;
  readonly stages: readonly Stage[];
  /** The stages the builder made itself (they take the internal context as is). */
  readonly builtin: ReadonlySet<Stage>;
  readonly hub: EventHub;
  readonly counters: Counters;
}

/**
 * An immutable pipeline of stages, built by {@link Policy.builder}. The first stage declared is
 * the outermost. Stages are linked once at build time, so an execution allocates one context and
 * nothing else it can avoid.
 *
 * @typeParam T - result type the policy's thunks must produce
 * @typeParam F - result type its fallbacks may produce instead
 * @example
 * ```ts
 * const policy = Policy.builder<Price>('pricing')
 *   .fallback({ method: (error, ctx) => cachedPrice(ctx.data.get('id') as string) })
 *   .rateLimiter({ maxTokens: 100, refillRate: 50 })
 *   .bulkhead({ maxConcurrent: 10 })
 *   .retry({ maxAttempts: 3, delay: '200ms', backoff: 2, jitter: 0.2 })
 *   .circuitBreaker({ failureThreshold: 5, recoveryTimeout: '30s' })
 *   .timeout('3s')
 *   .build();
 * const price = await policy.execute((ctx) => fetchPrice(id, { signal: ctx.signal }), {
 *   signal: request.signal,
 *   data: { id },
 * });
 * ```
 */
export class Policy<T = unknown, F = never> {
  /** The policy's name (default `'policy'`). */
  readonly name: string;
  /** The stages, outermost first. */
  readonly stages: readonly StageInfo[];
  private readonly parts: PolicyParts;
  private readonly head: Link;
  private readonly countSuccess = (value: unknown): unknown => {
    this.parts.counters.successes++;
    return value;
  };
  private readonly countFailure = (error: unknown): never => {
    this.parts.counters.failures++;
    throw error;
  };
  private breakerSubscriptions: Array<() => void> = [];

  /** Starts a builder. `T` is the result type the policy's thunks produce. */
  static builder<T = unknown>(name?: string): PolicyBuilder<T> {
    return new PolicyBuilder<T>(name);
  }

  /** @internal Use {@link Policy.builder}. */
  constructor(parts: PolicyParts) {
    this.parts = parts;
    this.name = parts.name;
    this.stages = Object.freeze(
      parts.stages.map((s) => Object.freeze({ kind: s.kind, name: s.name ?? s.kind })),
    );
    this.head = link(parts, (ctx) => this.invoke(ctx));
    parts.hub.onCountChange = (event, count) => {
      if (event === 'circuit-state') this.watchBreakers(count > 0);
    };
    Object.freeze(this);
  }

  /**
   * Runs `fn` through the pipeline.
   * @param fn - the work; receives the {@link ExecutionContext} (pass `ctx.signal` on)
   * @returns the thunk's value, or a fallback's
   */
  execute<R extends T>(fn: Thunk<R>, options?: ExecuteOptions): Promise<R | F> {
    const { counters, hub, clock } = this.parts;
    counters.calls++;
    const signal = options?.signal;
    if (typeof fn !== 'function') {
      counters.failures++;
      return Promise.reject(new TypeError(`\`fn\` must be a function, got ${show(fn)}`));
    }
    if (signal !== undefined && signal.aborted) {
      counters.failures++;
      if (hub.has('failure')) {
        hub.emit('failure', { policy: this.name, error: signal.reason, durationMs: 0 });
      }
      return Promise.reject(signal.reason);
    }
    const startedAt = clock.now();
    const data = options?.data === undefined ? undefined : toDataMap(options.data);
    const ctx = new RootContext(this.name, startedAt, fn as Thunk<unknown>, signal, data);
    let result = this.head(ctx);
    if (signal !== undefined) result = raceAbort(result, signal);
    if (hub.has('success') || hub.has('failure')) return this.observe(result, ctx) as never;
    return result.then(this.countSuccess, this.countFailure) as Promise<R | F>;
  }

  /**
   * Wraps a function so that every call runs through this policy. The wrapper keeps the
   * function's parameters and `this`, and always returns a promise.
   */
  wrap<A extends unknown[], R extends T>(
    fn: (...args: A) => R | PromiseLike<R>,
  ): (...args: A) => Promise<R | F> {
    if (typeof fn !== 'function') {
      throw new TypeError(`\`fn\` must be a function, got ${show(fn)}`);
    }
    const policy = this;
    const wrapped = function (this: unknown, ...args: A): Promise<R | F> {
      return policy.execute(() => fn.apply(this, args));
    };
    Object.defineProperty(wrapped, 'name', { value: fn.name });
    return wrapped;
  }

  /**
   * Subscribes to an event; returns a function that unsubscribes. A listener that throws never
   * breaks a call, and events nobody listens to cost nothing.
   */
  on<E extends PolicyEvent>(event: E, listener: PolicyListener<E>): () => void {
    if (!EventHub.isEvent(event)) {
      throw new TypeError(
        `\`event\` must be one of success, failure, attempt, retry, rejected, timeout, fallback, circuit-state, got ${show(event)}`,
      );
    }
    if (typeof listener !== 'function') {
      throw new TypeError(`\`listener\` must be a function, got ${show(listener)}`);
    }
    return this.parts.hub.on(event, listener);
  }

  /** Counters since the policy was built and each stage's live state. */
  metrics(): PolicyMetrics {
    const c = this.parts.counters;
    return {
      calls: c.calls,
      successes: c.successes,
      failures: c.failures,
      rejections: { rateLimit: c.rateLimit, bulkhead: c.bulkhead, circuitOpen: c.circuitOpen },
      retries: c.retries,
      timeouts: c.timeouts,
      fallbacks: c.fallbacks,
      stages: this.parts.stages.map(stageState),
    };
  }

  /** One line per stage, outermost first. */
  describe(): string {
    const lines = this.parts.stages.map((s, i) => {
      const name = s.name ?? s.kind;
      const label = name === s.kind ? s.kind : `${s.kind} "${name}"`;
      const detail = typeof s.describe === 'function' ? safeDescribe(s) : '';
      return `${i + 1}. ${label}${detail ? `: ${detail}` : ''}`;
    });
    return lines.length > 0 ? lines.join('\n') : '(no stages)';
  }

  /** Calls the thunk, timing the attempt only while someone listens for `attempt`. */
  private invoke(ctx: Context): Promise<unknown> {
    const { hub, clock } = this.parts;
    if (!hub.has('attempt')) return invoke(ctx);
    const start = clock.now();
    const policy = this.name;
    const attempt = ctx.attempt;
    return invoke(ctx).then(
      (value) => {
        hub.emit('attempt', { policy, attempt, durationMs: clock.now() - start });
        return value;
      },
      (error: unknown) => {
        hub.emit('attempt', { policy, attempt, durationMs: clock.now() - start, error });
        throw error;
      },
    );
  }

  private observe(result: Promise<unknown>, ctx: RootContext): Promise<unknown> {
    const { counters, hub, clock } = this.parts;
    const policy = this.name;
    const startedAt = ctx.startedAt;
    return result.then(
      (value) => {
        counters.successes++;
        if (hub.has('success')) {
          const durationMs = clock.now() - startedAt;
          hub.emit('success', { policy, durationMs, fallback: ctx.recovered });
        }
        return value;
      },
      (error: unknown) => {
        counters.failures++;
        if (hub.has('failure')) {
          hub.emit('failure', { policy, error, durationMs: clock.now() - startedAt });
        }
        throw error;
      },
    );
  }

  private watchBreakers(on: boolean): void {
    if (on && this.breakerSubscriptions.length === 0) {
      const { hub } = this.parts;
      for (const stage of this.parts.stages) {
        if (!(stage instanceof CircuitBreakerStage)) continue;
        this.breakerSubscriptions.push(
          stage.breaker.onStateChange(({ from, to }) => {
            hub.emit('circuit-state', { policy: this.name, stage: stage.kind, from, to });
          }),
        );
      }
    } else if (!on) {
      for (const unsubscribe of this.breakerSubscriptions.splice(0)) unsubscribe();
    }
  }
}

function safeDescribe(stage: Stage): string {
  try {
    return String(stage.describe?.() ?? '');
  } catch {
    return '';
  }
}

function stageState(stage: Stage): StageState {
  let extra: Record<string, unknown> = {};
  if (typeof stage.state === 'function') {
    try {
      extra = stage.state() ?? {};
    } catch {
      extra = {};
    }
  }
  return { ...extra, kind: stage.kind, name: stage.name ?? stage.kind };
}

/** Calls the user's thunk; a synchronous throw becomes a rejection. */
function invoke(ctx: Context): Promise<unknown> {
  try {
    return Promise.resolve(ctx.root.fn(ctx));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Links the stages once: each stage's `next` is the link to the stage inside it. */
function link(parts: PolicyParts, innermost: Link): Link {
  const { stages, builtin } = parts;
  let next: Link = innermost;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i] as Stage;
    const inner = next;
    if (builtin.has(stage)) {
      next = (ctx) => safely(stage as never, ctx, inner);
    } else {
      // A custom stage may hand `next` a context of its own making: adopt it.
      next = (ctx) =>
        safely(stage, ctx, (given: ExecutionContext) =>
          inner(given instanceof Context ? given : adopt(given, ctx)),
        );
    }
  }
  return next;
}

function safely(
  stage: Stage,
  ctx: Context,
  next: (ctx: never) => Promise<unknown>,
): Promise<unknown> {
  try {
    return stage.execute(ctx, next as never);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A context a custom stage made, read through, with the execution's root kept. */
class AdoptedContext extends Context {
  private readonly given: ExecutionContext;
  private readonly origin: Context;

  constructor(given: ExecutionContext, origin: Context) {
    super();
    this.given = given;
    this.origin = origin;
  }
  get policyName(): string {
    return this.given.policyName;
  }
  get signal(): AbortSignal {
    return this.given.signal;
  }
  get attempt(): number {
    return this.given.attempt;
  }
  get startedAt(): number {
    return this.given.startedAt;
  }
  get data(): Map<string, unknown> {
    return this.given.data;
  }
  get aborted(): boolean {
    return this.given.signal.aborted;
  }
  get abortReason(): unknown {
    return this.given.signal.reason;
  }
  get root(): RootContext {
    return this.origin.root;
  }
}

function adopt(given: ExecutionContext, origin: Context): Context {
  return new AdoptedContext(given, origin);
}
