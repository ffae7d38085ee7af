import { listen, notify } from '../internal/listeners.js';
import type { BulkheadFullError, CircuitOpenError, RateLimitExceededError } from '../errors.js';
import type { CircuitState } from '../strategies/circuit-breaker/CircuitState.js';

/** Payloads of the events a policy emits, by event name. Every payload names its `policy`. */
export interface PolicyEventMap {
  /**
   * An execution resolved (with the thunk's value or a fallback's). `durationMs` runs from the
   * call's start (`ctx.startedAt`) to now; see `partial` for a call that began before anyone
   * listened.
   */
  success: {
    readonly policy: string;
    readonly durationMs: number;
    /** True when the value came from a fallback stage. */
    readonly fallback: boolean;
    /**
     * Set when the call began before any `success`/`failure` listener was subscribed and nothing
     * read its start (`ctx.startedAt`): its start is unknown, and `durationMs` runs from when the
     * listeners began listening, a lower bound of its duration. Absent otherwise.
     */
    readonly partial?: true;
  };
  /** An execution rejected, for any reason. `durationMs` and `partial` as for `success`. */
  failure: {
    readonly policy: string;
    readonly error: unknown;
    readonly durationMs: number;
    /** As for `success`. */
    readonly partial?: true;
  };
  /**
   * One call of the thunk ended (each attempt of a retry is one): it settled, or the policy
   * stopped waiting for it first (an aggressive timeout's deadline, the caller's abort, a hedged
   * attempt that lost to another, a failure a custom stage answered with while the work ran).
   * `error` is set when it rejected, or is what ended it; `durationMs` runs to that moment, and
   * the work's later outcome is not reported again. Measured only while someone listens.
   */
  attempt: {
    readonly policy: string;
    readonly attempt: number;
    readonly durationMs: number;
    readonly error?: unknown;
  };
  /** A retry stage is about to wait before its next attempt. */
  retry: {
    readonly policy: string;
    readonly stage: string;
    /** The attempt that just failed (1-based). */
    readonly attempt: number;
    /** The wait before the next attempt. */
    readonly delayMs: number;
    /** The error that caused the retry, when an error did. */
    readonly error?: unknown;
    /** The result that caused the retry, when `retryOnResult` did. */
    readonly result?: unknown;
    /**
     * Set when the retry does not happen after all: `'deadline'` when the wait (`delayMs`) would
     * end at or after the enclosing deadline (`ctx.deadline`); the last outcome is then returned
     * (or its error thrown) at once; `'budget'` when the retry's `RetryBudget` is exhausted.
     */
    readonly skipped?: 'deadline' | 'budget';
  };
  /**
   * A rate limiter, bulkhead or circuit breaker refused a call; or a custom stage did, failing it
   * with one of their errors of its own (not one that came out of its `next`): `stage` is then its
   * kind.
   */
  rejected:
    | RejectedEvent<'rate-limit', RateLimitExceededError>
    | RejectedEvent<'bulkhead', BulkheadFullError>
    | RejectedEvent<'circuit-open', CircuitOpenError>;
  /**
   * A timeout stage's deadline passed; or a custom stage failed a call with an
   * `OperationTimeoutError` of its own (not one that came out of its `next`): `stage` is then its
   * kind and `timeoutMs` the error's.
   */
  timeout: { readonly policy: string; readonly stage: string; readonly timeoutMs: number };
  /**
   * A fallback stage took over the failure `error`: emitted once its value is there (after an
   * asynchronous `method` resolves), or once its `method` has thrown or rejected with another
   * error, which the call then fails with (so that `error`, hidden by the call's outcome, is
   * still reported). A `method` that throws or rejects with the very error it was given declined
   * it: no event, and the call's `failure` carries that error. For a result its `onResult`
   * rejected, `error` is a `RejectedResultError` holding the result.
   */
  fallback: { readonly policy: string; readonly stage: string; readonly error: unknown };
  /**
   * A hedge stage is about to start another attempt of the same call: `reason` is `'delay'` when
   * the attempts before it ran past the hedging delay, `'failure'` when one was not acceptable.
   * `attempt` is the new attempt's number (2 for the first hedge).
   */
  hedge: {
    readonly policy: string;
    readonly stage: string;
    readonly attempt: number;
    readonly reason: 'delay' | 'failure';
  };
  /**
   * A chaos stage injected something into a call: `'latency'` (with `delayMs`, before the call
   * goes on), `'fault'` (with the `error` the call fails with, the work not called) or `'result'`
   * (with the `result` the call returns, the work not called). `injection` tells which:
   * `e.injection === 'latency'` makes `e.delayMs` a number.
   */
  chaos: ChaosLatencyEvent | ChaosFaultEvent | ChaosResultEvent;
  /** A circuit breaker in the policy changed state. */
  'circuit-state': {
    readonly policy: string;
    readonly stage: string;
    readonly from: CircuitState;
    readonly to: CircuitState;
    /** The key whose breaker it is, when the stage keeps one breaker per key (`key` option). */
    readonly key?: string;
  };
}

/** Names of the events a policy emits. */
export type PolicyEvent = keyof PolicyEventMap;

/** Why a call was refused. */
export type RejectionReason = 'rate-limit' | 'bulkhead' | 'circuit-open';

// The members of the `rejected` and `chaos` payloads are type literals, not interfaces: a
// payload passes as a `Record<string, unknown>`, as before. Exported, so that code building or
// narrowing one (and a declaration file) can name it.

/**
 * The `rejected` payload of a refusal for `reason` `R`, whose `error` is of the class `E` that
 * reason names: `PolicyEventMap['rejected']` is the union of `RejectedEvent<'rate-limit',
 * RateLimitExceededError>`, `RejectedEvent<'bulkhead', BulkheadFullError>` and
 * `RejectedEvent<'circuit-open', CircuitOpenError>`, so that `e.reason === 'bulkhead'` makes
 * `e.error` a `BulkheadFullError`.
 */
export type RejectedEvent<R extends RejectionReason, E> = {
  readonly policy: string;
  readonly stage: string;
  readonly reason: R;
  /** The refusal: its class follows `reason`. */
  readonly error: E;
  /** The call's key, when the stage keeps one primitive per key (`key` option). */
  readonly key?: string;
};

/** The `chaos` payload of an injected latency: the call goes on after `delayMs`. */
export type ChaosLatencyEvent = {
  readonly policy: string;
  readonly stage: string;
  readonly injection: 'latency';
  readonly delayMs: number;
  readonly error?: undefined;
  readonly result?: undefined;
};

/** The `chaos` payload of an injected fault: the call fails with `error`, the work not called. */
export type ChaosFaultEvent = {
  readonly policy: string;
  readonly stage: string;
  readonly injection: 'fault';
  readonly delayMs?: undefined;
  readonly error: unknown;
  readonly result?: undefined;
};

/** The `chaos` payload of an injected result: the call returns `result`, the work not called. */
export type ChaosResultEvent = {
  readonly policy: string;
  readonly stage: string;
  readonly injection: 'result';
  readonly delayMs?: undefined;
  readonly error?: undefined;
  readonly result: unknown;
};

/**
 * A listener for event `E`. What it returns is ignored: it may be `async`, and a promise it returns
 * that rejects is ignored as a throw is (marked handled, never an unhandled rejection).
 */
export type PolicyListener<E extends PolicyEvent> = (payload: PolicyEventMap[E]) => unknown;

/**
 * @internal Every event, in the order messages list them. The hub's lists are keyed by these, so
 * an event of {@link PolicyEventMap} missing here fails to compile where a list is read.
 */
export const EVENTS = [
  'success',
  'failure',
  'attempt',
  'retry',
  'rejected',
  'timeout',
  'fallback',
  'hedge',
  'chaos',
  'circuit-state',
] as const satisfies readonly PolicyEvent[];

/** The events {@link EVENTS} lists. */
type Listed = (typeof EVENTS)[number];

/**
 * @internal A small typed emitter. `has(event)` is a length check, so stages skip building a
 * payload when nobody listens; listener arrays are copied on change so emitting never allocates.
 */
export class EventHub {
  private readonly lists = Object.fromEntries(EVENTS.map((event) => [event, []])) as unknown as {
    [E in Listed]: ReadonlyArray<PolicyListener<E>>;
  };
  /** Called with the new listener count whenever a list changes. */
  onCountChange: ((event: PolicyEvent, count: number) => void) | undefined;
  /** True while anyone listens for `success` or `failure` (read on every execution). */
  watchesCalls = false;
  /** True while anyone listens for `attempt` (read on every attempt). */
  watchesAttempts = false;

  static isEvent(value: unknown): value is PolicyEvent {
    return typeof value === 'string' && (EVENTS as readonly string[]).includes(value);
  }

  has(event: PolicyEvent): boolean {
    return this.lists[event].length !== 0;
  }

  on<E extends PolicyEvent>(event: E, listener: PolicyListener<E>): () => void {
    return listen(listener, (change) => {
      this.lists[event] = change(this.lists[event]) as never;
      this.changed(event);
    });
  }

  private changed(event: PolicyEvent): void {
    this.watchesCalls = this.has('success') || this.has('failure');
    this.watchesAttempts = this.has('attempt');
    this.onCountChange?.(event, this.lists[event].length);
  }

  emit<E extends PolicyEvent>(event: E, payload: PolicyEventMap[E]): void {
    // The list is replaced, never changed, on (un)subscribe: an emit in progress reaches every
    // listener subscribed when it began.
    for (const listener of this.lists[event] as ReadonlyArray<PolicyListener<E>>) {
      notify(listener, payload);
    }
  }
}
