import type { Context } from '../../internal/context.js';
import { isCircuitOpenError } from '../../errors.js';
import type { CircuitBreaker } from '../../primitives/CircuitBreaker.js';
import type { Stage } from '../Stage.js';
import type { StageEnv } from './env.js';

/** @internal Asks the breaker before each call and records how the call ended. */
export class CircuitBreakerStage implements Stage {
  readonly kind = 'circuit-breaker';
  readonly name: string;
  /** @internal */
  readonly breaker: CircuitBreaker;
  private readonly env: StageEnv;
  private readonly onSuccessUntimed = <T>(value: T): T => {
    this.breaker.onSuccess();
    return value;
  };

  constructor(breaker: CircuitBreaker, env: StageEnv, name: string | undefined) {
    this.breaker = breaker;
    this.env = env;
    this.name = name ?? this.kind;
  }

  execute<T>(ctx: Context, next: (ctx: Context) => Promise<T>): Promise<T> {
    const breaker = this.breaker;
    try {
      breaker.beforeCall();
    } catch (error) {
      if (isCircuitOpenError(error)) {
        const { counters, hub, policy } = this.env;
        counters.circuitOpen++;
        if (hub.has('rejected')) {
          hub.emit('rejected', { policy, stage: this.kind, reason: 'circuit-open', error });
        }
      }
      return Promise.reject(error);
    }
    const start = breaker.timesCalls ? breaker.clock.now() : 0;
    let inner: Promise<T>;
    try {
      inner = next(ctx);
    } catch (error) {
      inner = Promise.reject(error);
    }
    return inner.then(
      !breaker.timesCalls
        ? this.onSuccessUntimed
        : (value: T) => {
            breaker.onSuccess(breaker.clock.now() - start);
            return value;
          },
      (error: unknown) => {
        // The caller gave up: the outcome says nothing about the dependency.
        if (ctx.root.aborted) breaker.onCancel();
        else breaker.onFailure(error, breaker.timesCalls ? breaker.clock.now() - start : 0);
        throw error;
      },
    );
  }

  describe(): string {
    return this.breaker.describe();
  }

  state(): Record<string, unknown> {
    return { kind: this.kind, name: this.name, ...this.breaker.metrics };
  }
}
