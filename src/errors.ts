import { formatSeconds } from './internal/duration.js';
import { bounded } from './optionErrors.js';
import type { CircuitState } from './strategies/circuit-breaker/CircuitState.js';

// A brand in the global symbol registry lets the guards recognise errors made by another copy of
// the package (two versions in one node_modules tree), where `instanceof` would say no.
const BRAND: unique symbol = Symbol.for('bulwark.ResilienceError') as never;

/** Every code a {@link ResilienceError} can carry. */
export type ResilienceErrorCode =
  'RATE_LIMITED' | 'BULKHEAD_FULL' | 'TIMEOUT' | 'CIRCUIT_OPEN' | 'STORE_UNAVAILABLE';

/**
 * Base class of every rejection that bulwark itself raises. User errors are never wrapped.
 */
export abstract class ResilienceError extends Error {
  /** Stable, machine-readable code of the error class. */
  abstract readonly code: ResilienceErrorCode;
  /** @internal */
  declare readonly [BRAND]: true;

  /**
   * @param name - the error's `name`, a string literal in each subclass: a class's own name does
   *   not survive minification (a bundle would print `Ze: Rate limit exceeded`)
   */
  protected constructor(name: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (new.target === ResilienceError) {
      // Abstract in the declarations only: plain JavaScript could make one with no `code`.
      throw new TypeError('ResilienceError is abstract: raise one of its subclasses');
    }
    this.name = name;
    // The brand lives on the prototype, defined when the first error is made (at load it would
    // keep this module in every bundle that imports it for nothing): defined on each error, it
    // cost a tenth of a refusal.
    if (!branded)
      branded = Reflect.defineProperty(ResilienceError.prototype, BRAND, { value: true });
  }

  /**
   * `instanceof` also knows a bulwark error made by another copy of the package (a second
   * version installed beside this one, or a browser bundle that gives `require` and `import` each
   * its own build): `ResilienceError` any of them, a class of bulwark's own the ones of its
   * `code`. A subclass defined elsewhere keeps the prototype chain.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // The prototype chain first, as a plain `instanceof` (all that this copy's errors, a promise
    // or another error need), by the function itself: `super[Symbol.hasInstance]` cost ~30 ns a
    // call. Then the brand of another copy.
    return (
      Function.prototype[Symbol.hasInstance].call(this, value) ||
      (hasBrand(value) &&
        (this === ResilienceError ||
          (Object.hasOwn(this, 'code') && value.code === (this as { code?: unknown }).code)))
    );
  }

  /**
   * What `JSON.stringify` writes: `name`, `code`, `message` and the class's fields; neither the
   * stack nor the `cause` (which may be anything, and not JSON-safe).
   */
  toJSON(): { name: string; code: ResilienceErrorCode; message: string; [field: string]: unknown } {
    return { name: this.name, code: this.code, message: this.message, ...(this as object) };
  }
}

let branded = false;

/** Raised when a rate limiter has too few tokens (and none arrive within its `maxWait`). */
export class RateLimitExceededError extends ResilienceError {
  readonly code = 'RATE_LIMITED' as const;
  /** `'RateLimitExceededError'`, a string literal that survives minification. */
  declare readonly name: 'RateLimitExceededError';
  /** @internal The code `instanceof` matches errors of another copy by. */
  static readonly code = 'RATE_LIMITED';
  /**
   * Milliseconds until enough tokens will be available, on the limiter's clock: exact, often
   * fractional, and a lower bound (a call made sooner is refused again). Host timers may fire
   * early against that clock (Node's by up to about a millisecond against `performance.now()`),
   * so a retry of your own should wait a little more (`Math.ceil(retryAfterMs) + 1`); `Retry`
   * waits at least this long on its clock.
   */
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number, options?: { cause?: unknown }) {
    super('RateLimitExceededError', 'Rate limit exceeded', options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** Raised when a bulkhead has no free slot and its queue is full (or a queued wait ran out). */
export class BulkheadFullError extends ResilienceError {
  readonly code = 'BULKHEAD_FULL' as const;
  /** `'BulkheadFullError'`, a string literal that survives minification. */
  declare readonly name: 'BulkheadFullError';
  /** @internal The code `instanceof` matches errors of another copy by. */
  static readonly code = 'BULKHEAD_FULL';
  /** The bulkhead's concurrency limit. */
  readonly maxConcurrent: number;
  /** The bulkhead's queue length. */
  readonly maxQueue: number;

  /**
   * How long a queued caller waited, in milliseconds, before its `maxWait` ran out; absent for a
   * call refused at once.
   */
  declare readonly waitedMs?: number;

  /**
   * @param options - `waitedMs`: how long a queued caller waited before its `maxWait` ran out
   */
  constructor(
    maxConcurrent: number,
    maxQueue: number,
    options?: { cause?: unknown; waitedMs?: number | undefined },
  ) {
    super('BulkheadFullError', `Bulkhead at capacity (${maxConcurrent} concurrent calls)`, options);
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
    if (options?.waitedMs !== undefined)
      (this as { waitedMs?: number }).waitedMs = options.waitedMs;
  }
}

/** Raised when a time limiter's deadline passes before the operation settles. */
export class OperationTimeoutError extends ResilienceError {
  readonly code = 'TIMEOUT' as const;
  /** `'OperationTimeoutError'`, a string literal that survives minification. */
  declare readonly name: 'OperationTimeoutError';
  /** @internal The code `instanceof` matches errors of another copy by. */
  static readonly code = 'TIMEOUT';
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * @param operation - function or policy name shown in the message; `'operation'` when empty
   */
  constructor(timeoutMs: number, operation?: string, options?: { cause?: unknown }) {
    super(
      'OperationTimeoutError',
      `${operation || 'operation'} exceeded timeout of ${formatSeconds(timeoutMs)}`,
      options,
    );
    this.timeoutMs = timeoutMs;
  }
}

/** Raised when a circuit breaker refuses a call (open, isolated, or half-open budget spent). */
export class CircuitOpenError extends ResilienceError {
  readonly code = 'CIRCUIT_OPEN' as const;
  /** `'CircuitOpenError'`, a string literal that survives minification. */
  declare readonly name: 'CircuitOpenError';
  /** @internal The code `instanceof` matches errors of another copy by. */
  static readonly code = 'CIRCUIT_OPEN';
  /** The breaker's state when it refused the call. */
  readonly state: Exclude<CircuitState, 'closed'>;
  /**
   * Milliseconds left open; `Infinity` when isolated; 0 when the half-open budget refused it.
   * Exact on the breaker's clock, so a lower bound: as with
   * {@link RateLimitExceededError.retryAfterMs}, a timer of your own set for it may fire early.
   */
  readonly retryAfterMs: number;

  constructor(
    state: Exclude<CircuitState, 'closed'>,
    retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super('CircuitOpenError', 'Circuit breaker is open', options);
    this.state = state;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Raised by a primitive with a shared store set to `'fail-closed'` when the store is unreachable. */
export class StoreUnavailableError extends ResilienceError {
  readonly code = 'STORE_UNAVAILABLE' as const;
  /** `'StoreUnavailableError'`, a string literal that survives minification. */
  declare readonly name: 'StoreUnavailableError';
  /** @internal The code `instanceof` matches errors of another copy by. */
  static readonly code = 'STORE_UNAVAILABLE';

  constructor(message = 'Shared state store is unavailable', options?: { cause?: unknown }) {
    super('StoreUnavailableError', message, options);
  }
}

// The brand of a RejectedResultError, in the global symbol registry like the one of the
// ResilienceErrors, so that another copy of the package knows it.
const REJECTED_BRAND: unique symbol = Symbol.for('bulwark.RejectedResultError') as never;
let rejectedBranded = false;

/**
 * What a fallback's `method` (and its `fallback` event) receives in place of an error when
 * `onResult` rejected a result: the outcome, as Polly's fallback sees it, with the result itself
 * in {@link RejectedResultError.result}. It is never thrown at the caller. A circuit breaker
 * tripped by a result its `recordOnResult` matched gives one (holding that result) as the `cause`
 * of its refusals while OPEN.
 *
 * Not a {@link ResilienceError}: bulwark refused nothing, the result is the caller's own.
 *
 * @typeParam R - the type of the rejected result
 * @example
 * ```ts
 * const fallback = new Fallback({
 *   onResult: (response: Response) => response.status >= 500,
 *   method: (error) => (error instanceof RejectedResultError ? Response.json({ stale: true }) : Response.error()),
 * });
 * ```
 */
export class RejectedResultError<R = unknown> extends Error {
  /** Stable, machine-readable code. */
  readonly code = 'REJECTED_RESULT' as const;
  /** `'RejectedResultError'`, a string literal that survives minification. */
  declare readonly name: 'RejectedResultError';
  /**
   * The result that was rejected, whole. Not enumerable, so that a logger that copies an error's
   * own fields (pino) does not write a large result, or one with secrets, whole; the JSON shows
   * it bounded.
   */
  declare readonly result: R;
  /** @internal */
  declare readonly [REJECTED_BRAND]: true;

  constructor(result: R) {
    super("The result was rejected by the fallback's onResult");
    // A string literal: a class's own name does not survive minification.
    this.name = 'RejectedResultError';
    Object.defineProperty(this, 'result', { value: result, writable: true, configurable: true });
    // On the prototype, once, as ResilienceError's brand.
    if (!rejectedBranded) {
      rejectedBranded = Reflect.defineProperty(RejectedResultError.prototype, REJECTED_BRAND, {
        value: true,
      });
    }
  }

  /**
   * `instanceof RejectedResultError` also knows one made by another copy of the package (a
   * second version installed beside this one, or a browser bundle that gives `require` and
   * `import` each its own build). A subclass keeps the prototype chain.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandedInstance(this, value, REJECTED_BRAND, 'REJECTED_RESULT');
  }

  /**
   * What `JSON.stringify` writes: `name`, `code`, `message`, and `result` as far as a message
   * would show it: a finite number, a boolean or `null` as it is, a string cut after 100
   * characters, a plain object by its keys (`"an object with keys
   * status"`), any other object by its class (`"an instance of Response"`). Not the stack.
   */
  toJSON(): {
    name: 'RejectedResultError';
    code: 'REJECTED_RESULT';
    message: string;
    result: unknown;
    [field: string]: unknown;
  } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      result: bounded(this.result),
      ...(this as object),
    };
  }
}

/**
 * True for a {@link RejectedResultError}, from this or another copy of the package; false, never
 * a throw, for a value whose property reads throw.
 */
export function isRejectedResultError<R = unknown>(e: unknown): e is RejectedResultError<R> {
  return carriesBrand(e, REJECTED_BRAND, 'REJECTED_RESULT');
}

/**
 * @internal The cause of a circuit breaker's refusals when a result its `recordOnResult` matched
 * tripped it: a {@link RejectedResultError} holding that result, whose message says who rejected
 * it. Set before anything reads the stack, whose first line (in V8) is written when first read.
 */
export function resultTripped<R>(result: R): RejectedResultError<R> {
  const error = new RejectedResultError(result);
  error.message = 'recordOnResult counted the result as a failure';
  return error;
}

/**
 * True when `e` is one of bulwark's errors (with `code`, when given), from any copy; false, never
 * a throw, for a value whose property reads throw (a hostile Proxy), so no guard throws.
 */
function hasBrand(e: unknown, code?: string): e is ResilienceError {
  return carriesBrand(e, BRAND, code);
}

/**
 * @internal `value instanceof cls` for an error class branded with `brand` and `code`: the
 * prototype chain first (all that this copy's errors need), then, for the class that owns this
 * check (known by owning it, not by its name, which a bundle may change; a subclass inherits it
 * and keeps the plain chain), the brand of another copy's error.
 */
export function brandedInstance(
  cls: abstract new (...args: never[]) => unknown,
  value: unknown,
  brand: symbol,
  code: string,
): boolean {
  return (
    Function.prototype[Symbol.hasInstance].call(cls, value) ||
    (Object.hasOwn(cls, Symbol.hasInstance) && carriesBrand(value, brand, code))
  );
}

/**
 * @internal True when `e` carries `brand` (a symbol in the global registry, so any copy's) and,
 * when given, `code`; false, never a throw, for a value whose property reads throw.
 */
export function carriesBrand(e: unknown, brand: symbol, code?: string): boolean {
  try {
    return (
      typeof e === 'object' &&
      e !== null &&
      (e as { [brand]?: unknown })[brand] === true &&
      (code === undefined || (e as { code?: unknown }).code === code)
    );
  } catch {
    return false;
  }
}

function codeGuard<E extends ResilienceError>(code: E['code']): (e: unknown) => e is E {
  return (e: unknown): e is E => hasBrand(e, code);
}

/** True for any error bulwark raised, from this or another copy of the package. */
export const isResilienceError = (e: unknown): e is ResilienceError => hasBrand(e);
/** True for a {@link RateLimitExceededError}, from this or another copy of the package. */
export const isRateLimitExceededError =
  /* @__PURE__ */ codeGuard<RateLimitExceededError>('RATE_LIMITED');
/** True for a {@link BulkheadFullError}, from this or another copy of the package. */
export const isBulkheadFullError = /* @__PURE__ */ codeGuard<BulkheadFullError>('BULKHEAD_FULL');
/** True for an {@link OperationTimeoutError}, from this or another copy of the package. */
export const isOperationTimeoutError = /* @__PURE__ */ codeGuard<OperationTimeoutError>('TIMEOUT');
/** True for a {@link CircuitOpenError}, from this or another copy of the package. */
export const isCircuitOpenError = /* @__PURE__ */ codeGuard<CircuitOpenError>('CIRCUIT_OPEN');
/** True for a {@link StoreUnavailableError}, from this or another copy of the package. */
export const isStoreUnavailableError =
  /* @__PURE__ */ codeGuard<StoreUnavailableError>('STORE_UNAVAILABLE');
