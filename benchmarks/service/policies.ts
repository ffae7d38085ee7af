// The same policy in each library, configured as equivalently as each allows:
//
//   fallback ( bulkhead ( retry ( circuit breaker ( timeout ( call the downstream ) ) ) ) )
//
// - timeout: 100 ms per attempt, and the attempt's abort signal cancels the HTTP request;
// - circuit breaker: opens after 5 consecutive failures, tries again after 1 s;
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
import { CircuitBreaker, isCircuitOpenError, Policy } from 'bulwark';
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
  timeout,
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
  recoveryMs: 1000,
  maxConcurrent: 8,
} as const;

/** One call to the downstream; rejects on a failure status or when the signal aborts it. */
export type Call = (signal: AbortSignal | undefined) => Promise<string>;

export interface Answer {
  readonly body: string;
  readonly source: 'downstream' | 'fallback';
}

export interface Guard {
  run(call: Call): Promise<Answer>;
  /** Calls `listener` each time the circuit opens. */
  onOpen(listener: () => void): void;
}

const FALLBACK = '{"fallback":1}';
const answer = (body: string): Answer => ({
  body,
  source: body === FALLBACK ? 'fallback' : 'downstream',
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function guardFor(library: Library): Guard {
  switch (library) {
    case 'none':
      // No policy: every request goes to the downstream and its failure is the client's.
      return { run: async (call) => answer(await call(undefined)), onOpen: () => {} };

    case 'bulwark': {
      const breaker = new CircuitBreaker({
        failureThreshold: CONFIG.failureThreshold,
        recoveryTimeout: CONFIG.recoveryMs,
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
      return {
        run: async (call) => answer((await policy.execute((ctx) => call(ctx.signal))) as string),
        onOpen: (listener) => {
          breaker.onStateChange(({ to }) => {
            if (to === 'open') listener();
          });
        },
      };
    }

    case 'cockatiel': {
      const breaker = circuitBreaker(handleAll, {
        halfOpenAfter: CONFIG.recoveryMs,
        breaker: new ConsecutiveBreaker(CONFIG.failureThreshold),
      });
      const policy = wrap(
        fallback(handleAll, FALLBACK),
        bulkhead(CONFIG.maxConcurrent, 0),
        // cockatiel counts retries, not attempts.
        retry(
          handleWhen(
            (e) => !(e instanceof BrokenCircuitError) && !(e instanceof BulkheadRejectedError),
          ),
          { maxAttempts: CONFIG.attempts - 1, backoff: new ConstantBackoff(CONFIG.retryDelayMs) },
        ),
        breaker,
        timeout(CONFIG.timeoutMs, TimeoutStrategy.Aggressive),
      );
      return {
        run: async (call) => answer(await policy.execute(({ signal }) => call(signal))),
        onOpen: (listener) => {
          breaker.onBreak(() => listener());
        },
      };
    }

    case 'opossum': {
      const breaker = new Opossum((call: Call) => call(undefined), {
        timeout: CONFIG.timeoutMs,
        resetTimeout: CONFIG.recoveryMs,
        errorThresholdPercentage: 50,
        volumeThreshold: CONFIG.failureThreshold,
        rollingCountTimeout: 1000,
        rollingCountBuckets: 10,
        capacity: CONFIG.maxConcurrent,
      });
      const refused = (e: unknown) => {
        const code = (e as { code?: unknown } | null)?.code;
        return code === 'EOPENBREAKER' || code === 'ESEMLOCKED';
      };
      return {
        run: async (call) => {
          for (let attempt = 1; attempt <= CONFIG.attempts; attempt++) {
            try {
              return answer((await breaker.fire(call)) as string);
            } catch (e) {
              if (refused(e)) break;
              if (attempt < CONFIG.attempts) await sleep(CONFIG.retryDelayMs);
            }
          }
          return answer(FALLBACK);
        },
        onOpen: (listener) => {
          breaker.on('open', () => listener());
        },
      };
    }
  }
}
