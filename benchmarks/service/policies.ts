// The same policy in each library, configured as equivalently as each allows:
//
//   fallback ( bulkhead ( retry ( circuit breaker ( timeout ( call the downstream ) ) ) ) )
//
// - timeout: 100 ms per attempt, and the attempt's abort signal cancels the HTTP request;
// - circuit breaker: opens after 5 consecutive failures, tries again after 1 s; a call that
//   arrives while the trial call is out waits for its verdict, as cockatiel holds such calls (at
//   most the 100 ms timeout of the trial call: bulwark's `halfOpenWait`), where opossum refuses it;
// - retry: 2 attempts in all, 10 ms apart; an open circuit or a full bulkhead is not retried;
// - bulkhead: 8 calls at once, no queue (a 9th is refused at once);
// - fallback: any failure becomes a canned answer, which the service marks as such.
//
// opossum is one breaker with a timeout, a concurrency cap (`capacity`) and a fallback built in;
// it has no retry and no consecutive-failure mode. Its equivalent: a two-attempt loop around
// `fire()` (skipping open-circuit and capacity refusals), the fallback in the same catch, and a
// breaker that opens at 50% failures once 5 calls are in its 1 s rolling window. Its timeout does
// not cancel the request: its one abort controller is shared by every call in flight, so
// aborting it on one timeout would cancel all of them.
import {
  CircuitBreaker,
  isBulkheadFullError,
  isCircuitOpenError,
  isOperationTimeoutError,
  Policy,
} from 'bulwark';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  circuitBreaker,
  ConsecutiveBreaker,
  ConstantBackoff,
  fallback,
  handleAll,
  handleWhen,
  retry,
  SamplingBreaker,
  timeout,
  TaskCancelledError,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import Opossum from 'opossum';
import type { Library } from './libraries.js';

export const CONFIG = {
  timeoutMs: 100,
  attempts: 2,
  retryDelayMs: 10,
  failureThreshold: 5,
  failureRate: 0.5,
  windowMs: 1000,
  recoveryMs: 1000,
  maxConcurrent: 8,
} as const;

/**
 * How the circuit breakers decide to open. `rate`: at a failure rate of 50% over the last second,
 * judged once 5 calls are in it (opossum's only mode, and bulwark's and cockatiel's closest
 * equivalent). `consecutive`: after 5 failures in a row (bulwark and cockatiel; opossum has no
 * such mode and keeps `rate`).
 */
export type BreakerMode = 'rate' | 'consecutive';
export const BREAKER_MODES: readonly BreakerMode[] = ['rate', 'consecutive'];

/** One call to the downstream; rejects on a failure status or when the signal aborts it. */
export type Call = (signal: AbortSignal | undefined) => Promise<string>;

export interface Answer {
  readonly body: string;
  readonly source: 'downstream' | 'fallback';
}

export interface Guard {
  run(call: Call): Promise<Answer>;
}

export type BreakerState = 'closed' | 'open' | 'half-open';
/**
 * Why a request was answered by the fallback: the last error the policy saw. `probe`: refused by
 * a half-open circuit whose trial call was out (cockatiel instead holds such a call until the
 * trial call's outcome, and bulwark too with `halfOpenWait`, until its wait runs out); `circuit`:
 * refused by an open one.
 */
export type FallbackReason = 'probe' | 'circuit' | 'bulkhead' | 'timeout' | 'error';

/** What a guard reports as it works, for the per-phase trace (each library's own events). */
export interface Trace {
  /** The circuit moved to `to`. */
  state(to: BreakerState): void;
  /** A failed attempt is about to be retried. */
  retry(): void;
  /** A request is answered by the fallback, after `reason`. */
  fallback(reason: FallbackReason): void;
}

const FALLBACK = '{"fallback":1}';
const answer = (body: string): Answer => ({
  body,
  source: body === FALLBACK ? 'fallback' : 'downstream',
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function guardFor(library: Library, mode: BreakerMode, trace: Trace): Guard {
  switch (library) {
    case 'none':
      // No policy: every request goes to the downstream and its failure is the client's.
      return { run: async (call) => answer(await call(undefined)) };

    case 'bulwark': {
      const breaker = new CircuitBreaker({
        ...(mode === 'consecutive'
          ? { failureThreshold: CONFIG.failureThreshold }
          : {
              failureRateThreshold: CONFIG.failureRate,
              windowType: 'time',
              windowDuration: CONFIG.windowMs,
              minimumCalls: CONFIG.failureThreshold,
            }),
        recoveryTimeout: CONFIG.recoveryMs,
        // What cockatiel does: hold a call beyond the trial budget until the trial call's answer,
        // which the 100 ms timeout bounds.
        halfOpenWait: CONFIG.timeoutMs,
      });
      const policy = Policy.builder('downstream')
        .fallback({ value: FALLBACK })
        .bulkhead({ maxConcurrent: CONFIG.maxConcurrent, maxQueue: 0 })
        .retry({
          maxAttempts: CONFIG.attempts,
          delay: CONFIG.retryDelayMs,
          retryOn: (error) => !isCircuitOpenError(error),
        })
        .circuitBreaker(breaker)
        .timeout(CONFIG.timeoutMs)
        .build();
      breaker.onStateChange(({ to }) => {
        if (to !== 'isolated') trace.state(to);
      });
      policy.on('retry', () => trace.retry());
      policy.on('fallback', ({ error }) =>
        trace.fallback(
          isCircuitOpenError(error)
            ? error.state === 'half-open'
              ? 'probe'
              : 'circuit'
            : isBulkheadFullError(error)
              ? 'bulkhead'
              : isOperationTimeoutError(error)
                ? 'timeout'
                : 'error',
        ),
      );
      return {
        run: async (call) => answer((await policy.execute((ctx) => call(ctx.signal))) as string),
      };
    }

    case 'cockatiel': {
      const breaker = circuitBreaker(handleAll, {
        halfOpenAfter: CONFIG.recoveryMs,
        breaker:
          mode === 'consecutive'
            ? new ConsecutiveBreaker(CONFIG.failureThreshold)
            : new SamplingBreaker({
                threshold: CONFIG.failureRate,
                duration: CONFIG.windowMs,
                // At least 5 calls in the window, as the others' minimum.
                minimumRps: CONFIG.failureThreshold / (CONFIG.windowMs / 1000),
              }),
      });
      const fallbackPolicy = fallback(handleAll, FALLBACK);
      // cockatiel counts retries, not attempts.
      const retryPolicy = retry(
        handleWhen(
          (e) => !(e instanceof BrokenCircuitError) && !(e instanceof BulkheadRejectedError),
        ),
        { maxAttempts: CONFIG.attempts - 1, backoff: new ConstantBackoff(CONFIG.retryDelayMs) },
      );
      const policy = wrap(
        fallbackPolicy,
        bulkhead(CONFIG.maxConcurrent, 0),
        retryPolicy,
        breaker,
        timeout(CONFIG.timeoutMs, TimeoutStrategy.Aggressive),
      );
      breaker.onBreak(() => trace.state('open'));
      breaker.onHalfOpen(() => trace.state('half-open'));
      breaker.onReset(() => trace.state('closed'));
      retryPolicy.onRetry(() => trace.retry());
      fallbackPolicy.onFailure(({ reason }) => {
        const error = 'error' in reason ? reason.error : undefined;
        trace.fallback(
          error instanceof BrokenCircuitError
            ? 'circuit'
            : error instanceof BulkheadRejectedError
              ? 'bulkhead'
              : error instanceof TaskCancelledError ||
                  (error as Error | undefined)?.name === 'AbortError'
                ? 'timeout'
                : 'error',
        );
      });
      return {
        run: async (call) => answer(await policy.execute(({ signal }) => call(signal))),
      };
    }

    case 'opossum': {
      const breaker = new Opossum((call: Call) => call(undefined), {
        timeout: CONFIG.timeoutMs,
        resetTimeout: CONFIG.recoveryMs,
        errorThresholdPercentage: CONFIG.failureRate * 100,
        volumeThreshold: CONFIG.failureThreshold,
        rollingCountTimeout: CONFIG.windowMs,
        rollingCountBuckets: 10,
        capacity: CONFIG.maxConcurrent,
      });
      const reasonOf = (e: unknown): FallbackReason => {
        const code = (e as { code?: unknown } | null)?.code;
        return code === 'EOPENBREAKER'
          ? breaker.halfOpen
            ? 'probe'
            : 'circuit'
          : code === 'ESEMLOCKED'
            ? 'bulkhead'
            : code === 'ETIMEDOUT'
              ? 'timeout'
              : 'error';
      };
      breaker.on('open', () => trace.state('open'));
      breaker.on('halfOpen', () => trace.state('half-open'));
      breaker.on('close', () => trace.state('closed'));
      return {
        run: async (call) => {
          for (let attempt = 1; ; attempt++) {
            try {
              return answer((await breaker.fire(call)) as string);
            } catch (e) {
              const reason = reasonOf(e);
              if (
                reason === 'probe' ||
                reason === 'circuit' ||
                reason === 'bulkhead' ||
                attempt >= CONFIG.attempts
              ) {
                trace.fallback(reason);
                return answer(FALLBACK);
              }
              trace.retry();
              await sleep(CONFIG.retryDelayMs);
            }
          }
        },
      };
    }
  }
}
