// Function wrappers and method decorators (standard or legacy): each is a few lines over
// `toDecorator`.
import { RootContext, type Context } from '../internal/context.js';
import { showInstead } from '../internal/validate.js';
import { Policy, policyExecutor, type WrapOptions } from '../pipeline/Policy.js';
import { Bulkhead } from '../strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../strategies/circuit-breaker/CircuitBreaker.js';
import { RejectedResultError } from '../errors.js';
import { Fallback, type FallbackOptions } from '../strategies/fallback/Fallback.js';
import { RateLimiter } from '../strategies/rate-limiter/RateLimiter.js';
import { Retry, type RetryOptions } from '../strategies/retry/Retry.js';
import {
  TimeLimiter,
  type TimeLimiterOptions,
  type TimeoutOwner,
} from '../strategies/timeout/TimeLimiter.js';
import { toDecorator, type Executor, type ResilienceDecorator } from './decorator.js';
import type { Duration } from '../internal/duration.js';

export type {
  FallbackResultMismatch,
  MethodResultMismatch,
  ResilienceDecorator,
} from './decorator.js';

/**
 * Retries a function (or an async method) as a {@link Retry} with these options would. One Retry
 * is built at once, so bad options throw where `retry(...)` is written (at class definition for
 * a decorator), never during a call.
 *
 * @throws TypeError or RangeError for invalid options, as `new Retry(options)`
 * @example
 * ```ts
 * const getUser = retry({ maxAttempts: 3, delay: '200ms', backoff: 2 })(async (id: string) => api.get(id));
 *
 * class Users {
 *   @retry({ maxAttempts: 3, delay: '200ms' })
 *   async get(id: string) { return api.get(id); }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- `R`: as Retry's
export function retry<R = any>(options?: RetryOptions<R>): ResilienceDecorator<never, R> {
  const policy = new Retry(options);
  return toDecorator(
    (call, _fnName, _args, _work, signal) => policy.runAttempts(call, signal && { signal }),
    'retry',
  );
}

/**
 * Guards a function (or an async method) with a shared {@link CircuitBreaker}: every call goes
 * through `breaker.execute`, so all functions given one breaker trip together, and the breaker's
 * `recordOnResult` judges what they resolve to (the caller still receives it): they must resolve
 * to what it takes.
 *
 * @throws TypeError when `breaker` is not a CircuitBreaker
 * @example
 * ```ts
 * const inventory = new CircuitBreaker({ failureThreshold: 3, recoveryTimeout: '20s' });
 * const getStock = circuitBreaker(inventory)(async (sku: string) => api.stock(sku));
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- `R`: as CircuitBreaker's
export function circuitBreaker<R = any>(breaker: CircuitBreaker<R>): ResilienceDecorator<never, R> {
  return through<never, R>(breaker, CircuitBreaker, 'breaker', 'CircuitBreaker', 'circuitBreaker');
}

/**
 * Takes one token of a shared {@link RateLimiter} per call; a call finding none rejects with
 * `RateLimitExceededError` (or waits, when the limiter has `maxWait`).
 *
 * @throws TypeError when `limiter` is not a RateLimiter
 * @example
 * ```ts
 * const pricingLimiter = new RateLimiter({ maxTokens: 100, refillRate: 50 });
 * const getPrice = rateLimiter(pricingLimiter)(async (id: string) => api.price(id));
 * ```
 */
export function rateLimiter(limiter: RateLimiter): ResilienceDecorator {
  return through(limiter, RateLimiter, 'limiter', 'RateLimiter', 'rateLimiter');
}

/**
 * Holds a slot of a shared {@link Bulkhead} for each call until it settles; a call finding the
 * bulkhead full rejects with `BulkheadFullError` (or queues, when the bulkhead has `maxQueue`).
 * Over another wrapper the slot follows the work, as in a policy: a call a `timeLimiter` beneath
 * answered at its deadline keeps its slot (counted in `orphaned`) until the function settles.
 *
 * @throws TypeError when `bulkhead` is not a Bulkhead
 * @example
 * ```ts
 * const pricingBulkhead = new Bulkhead({ maxConcurrent: 10 });
 * const getPrice = bulkhead(pricingBulkhead)(async (id: string) => api.price(id));
 * ```
 */
export function bulkhead(bulkhead: Bulkhead): ResilienceDecorator {
  return through(
    bulkhead,
    Bulkhead,
    'bulkhead',
    'Bulkhead',
    'bulkhead',
    // Over another wrapper, the slot follows the work beneath (`work`), as in a policy.
    (call, _n, _a, work, signal, _self, entry) =>
      work === undefined
        ? bulkhead.execute(call, signal)
        : bulkhead.hold(call, signal, entry, work),
  );
}

/**
 * Rejects a call that takes longer than `options.timeout` with `OperationTimeoutError`, whose
 * message names the function or method (`getPrice exceeded timeout of 3.0s`) unless
 * `options.name` is given. A duration alone stands for `{ timeout }`, as in the builder's
 * `timeout(...)`: `timeLimiter('3s')`. The wrapped function is not handed a signal; to stop the
 * work itself at the deadline, use a {@link Policy} and pass `ctx.signal` on.
 *
 * @throws TypeError or RangeError for invalid options, as `new TimeLimiter(options)`
 * @example
 * ```ts
 * const getPrice = timeLimiter('3s')(function getPrice(id: string) { return api.price(id); });
 * ```
 */
export function timeLimiter(options?: Duration | TimeLimiterOptions): ResilienceDecorator {
  const limiter = new TimeLimiter(
    typeof options === 'number' || typeof options === 'string' ? { timeout: options } : options,
  );
  return toDecorator((call, fnName, _args, work, signal) => {
    const root = new WrappedCall(fnName, call, signal);
    const run =
      work === undefined
        ? runWrapped
        : (ctx: Context): Promise<unknown> => {
            // The wrappers beneath see the deadline, as the stages inside a policy's timeout do.
            work.signal = ctx.signal;
            return runWrapped(ctx);
          };
    return limiter.runTimed(root, run, root, limiter.clock.now());
  }, 'timeLimiter');
}

/**
 * Replaces a failure with a substitute: `{ value }`, or `{ method }` called as
 * `method(error, ...args)` with the wrapped call's arguments and `this` (sync or async): a
 * `function` may read the instance of a decorated method (`this: PriceService`, which the class
 * decorated must then be). `on` chooses the
 * errors handled (default: all); others propagate unchanged. With `onResult`, a result it returns
 * true for is replaced too (`method` then receives a `RejectedResultError` holding it). As a
 * decorator, the substitute must be assignable to the method's result type. The parameters
 * `method` declares after the error are checked against the wrapped function's (the decorated
 * method's): `(error, id: number)` does not fit a function taking a string; and the result it
 * resolves to against what `onResult` takes. A decorator's options are typed before the method
 * it decorates, so parameters `method` leaves undeclared are `any`: declare them (`productId:
 * string`) to have them typed and checked.
 *
 * @throws TypeError for invalid options, as `new Fallback(options)`
 * @example
 * ```ts
 * class PricingService {
 *   @fallback({ method: (error, productId: string) => ({ productId, price: 0, reason: String(error) }) })
 *   getPrice(productId: string): Promise<Price> { return api.price(productId); }
 * }
 * ```
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- `P`: a method's arguments, `R` its
   result, any unless `method` and `onResult` declare them */
export function fallback<V, P extends any[] = any[], R = any, This = unknown>(
  options: FallbackOptions<V, R, P, This>,
): ResilienceDecorator<V, R, P, This> {
  /* eslint-enable @typescript-eslint/no-explicit-any */
  // Standalone, a Fallback calls `method` with no `this`; here each call passes its own.
  const fb = new Fallback<V, R>(options as FallbackOptions<V, R>);
  return toDecorator<V, R, P, This>(
    (call, _fnName, args, _work, _signal, self) =>
      call().then(
        fb.judgesResults
          ? (result) =>
              fb.rejects(result) ? fb.recover(new RejectedResultError(result), args, self) : result
          : undefined,
        (error: unknown) => {
          if (!fb.handles(error)) throw error;
          return fb.recover(error, args, self);
        },
      ),
    'fallback',
  );
}

/**
 * Runs every call through a built {@link Policy}: `policy.execute(() => fn.apply(this, args))`.
 * Its events and metrics count these calls like any other. With `options.signal`, each call's
 * signal is picked from its arguments and passed on as `execute`'s `signal`: a call whose caller
 * aborted then rejects at once with its reason, is never retried and records nothing in a
 * circuit breaker. Its parameters are `any` unless it declares them (`(req: Request) =>
 * req.signal`): a decorator's options are typed before the method it decorates.
 *
 * @throws TypeError when `policy` is not a Policy or `options` are invalid
 * @example
 * ```ts
 * const pricing = Policy.builder('pricing').retry({ maxAttempts: 3 }).timeout('3s').build();
 * class PricingService {
 *   @usePolicy(pricing)
 *   getPrice(productId: string) { return api.price(productId); }
 *
 *   @usePolicy(pricing, { signal: (req: Request) => req.signal })
 *   quote(req: Request) { return api.quote(req); }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- `P`: what the picker takes, any unless it declares it
export function usePolicy<T, F, P extends any[] = any[]>(
  policy: Policy<T, F>,
  options?: WrapOptions<P>,
): ResilienceDecorator<F, T, P> {
  // The policy first: a bare `@usePolicy` passes the method and its context (or, as a legacy
  // decorator, the class and the key), which would otherwise be refused as bad options.
  mustBe(policy, Policy, 'policy', 'Policy', 'usePolicy');
  // `execute` takes the function's answer as it is, as for `policy.wrap`.
  return toDecorator<F, T, P>(policyExecutor(policy, options, 'usePolicy'), 'usePolicy', true);
}

/**
 * Runs every call through `value.execute`, once `value` is checked to be a `cls`. The message
 * names the class as written: a minifying bundler renames classes, so `cls.name` would not.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as ResilienceDecorator's
function through<V = never, T = unknown, P extends any[] = any[]>(
  value: object,
  cls: abstract new (...args: never[]) => unknown,
  option: string,
  label: string,
  what: string,
  executor: Executor = (call, _n, _a, _w, signal) => (value as RateLimiter).execute(call, signal),
  raw?: boolean,
): ResilienceDecorator<V, T, P> {
  mustBe(value, cls, option, label, what);
  return toDecorator<V, T, P>(executor, what, raw);
}

/**
 * Throws unless `value` is a `cls`. A function, or an object with a `constructor` of its own (a
 * class's prototype), is what a decorator written bare (`@usePolicy` for `@usePolicy(policy)`)
 * receives: the message says how to write it.
 */
function mustBe(
  value: unknown,
  cls: abstract new (...args: never[]) => unknown,
  option: string,
  label: string,
  what: string,
): void {
  if (value instanceof cls) return;
  const bare =
    typeof value == 'function' ||
    (typeof value == 'object' && value !== null && Object.hasOwn(value, 'constructor'));
  throw new TypeError(
    `\`${option}\` must be a ${label}, got ${showInstead(value, label, cls)}` +
      (bare ? `: call the decorator with one, \`@${what}(${option})\`, not bare \`@${what}\`` : ''),
  );
}

/**
 * The root context of one wrapped call under a time limiter. It carries the call (as the root's
 * thunk) and is also the timeout owner, naming the function in the message, so a call allocates
 * one object here.
 */
class WrappedCall extends RootContext implements TimeoutOwner {
  constructor(fnName: string, call: () => Promise<unknown>, signal: AbortSignal | undefined) {
    super(fnName, 0, call, signal, undefined);
  }

  get operation(): string {
    return this.policyName;
  }

  onTimeout(): void {}
}

const runWrapped = (ctx: Context): Promise<unknown> => ctx.root.fn(ctx) as Promise<unknown>;
