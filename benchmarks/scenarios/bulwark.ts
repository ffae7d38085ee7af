// bulwark's scenarios, through the built package (`bulwark` resolves to dist/ by self-reference).
// The runner loads this module dynamically and skips bulwark when the build lacks these exports.
import { AdaptiveLimit, Bulkhead, CircuitBreaker, Policy, RateLimiter, RetryBudget } from 'bulwark';
import {
  failEveryOtherCall,
  never,
  noop,
  type Factory,
  type Subject,
  type Suite,
} from './types.js';

export type Runnable = { execute(fn: () => Promise<unknown>): Promise<unknown> };

export const through = (policy: Runnable, fn: () => Promise<unknown> = noop): Subject => ({
  call: () => policy.execute(fn),
});

/** Enough tokens that every call is granted at once. */
export const ample = { maxTokens: 1e9, refillRate: 1e9 };

/** The settings of the primitives measured on their own, with either store. */
export const breakerOptions = { failureThreshold: 5 };
export const bulkheadOptions = { maxConcurrent: 1e6 };

export const newPipeline = () =>
  Policy.builder('pipeline')
    .fallback({ value: 0 })
    .rateLimiter(ample)
    .bulkhead({ maxConcurrent: 1e6 })
    .retry({ maxAttempts: 3 })
    .circuitBreaker({ failureThreshold: 5 })
    .timeout('3s')
    .build();

export const suite: Suite = {
  library: 'bulwark',
  subjects: {
    fallback: () => through(Policy.builder('fallback').fallback({ value: 0 }).build()),
    'rate-limiter': () => through(Policy.builder('rate-limiter').rateLimiter(ample).build()),
    bulkhead: () => through(Policy.builder('bulkhead').bulkhead({ maxConcurrent: 1e6 }).build()),
    retry: () => through(Policy.builder('retry').retry({ maxAttempts: 3 }).build()),
    'retry-budget': () =>
      through(
        Policy.builder('retry-budget').retry({ maxAttempts: 3, budget: new RetryBudget() }).build(),
      ),
    'bulkhead-adaptive': () =>
      through(
        Policy.builder('bulkhead-adaptive')
          .bulkhead({ limit: new AdaptiveLimit({ initial: 1000, max: 1000 }) })
          .build(),
      ),
    'circuit-breaker': () =>
      through(Policy.builder('circuit-breaker').circuitBreaker({ failureThreshold: 5 }).build()),
    timeout: () => through(Policy.builder('timeout').timeout('3s').build()),
    hedge: () => through(Policy.builder('hedge').hedge({ delay: '2s' }).build()),
    chaos: () =>
      through(
        Policy.builder('chaos')
          .chaos({ fault: { rate: 0.3 }, enabled: false })
          .build(),
      ),
    pipeline: () => through(newPipeline()),
    'pipeline-x1000': () => through(newPipeline()),
    'open-circuit': () => {
      const breaker = new CircuitBreaker({ failureThreshold: 5 });
      breaker.isolate();
      return through(Policy.builder('open-circuit').circuitBreaker(breaker).build());
    },
    'bulkhead-full': () => {
      const full = new Bulkhead({ maxConcurrent: 1 });
      const policy = Policy.builder('bulkhead-full').bulkhead(full).build();
      void policy.execute(never);
      return through(policy);
    },
    'retry-then-success': () =>
      through(Policy.builder('retry').retry({ maxAttempts: 3 }).build(), failEveryOtherCall()),
    // The in-memory side of the distributed scenarios (scenarios/bulwark-redis.ts).
    'rate-limiter-acquire': () => {
      const limiter = new RateLimiter(ample);
      return { call: () => limiter.acquire() };
    },
    'circuit-breaker-execute': () => through(new CircuitBreaker(breakerOptions)),
    'bulkhead-execute': () => through(new Bulkhead(bulkheadOptions)),
  },
};

/**
 * Shapes of several stages that the mixed run keeps alive and calls next to the single stages
 * and the full pipeline (benchmarks/mixed.ts), as an application with several policies would.
 */
export const combinations: Readonly<Record<string, Factory>> = {
  'retry+timeout': () =>
    through(Policy.builder('rt').retry({ maxAttempts: 3 }).timeout('3s').build()),
  'breaker+timeout': () =>
    through(Policy.builder('bt').circuitBreaker({ failureThreshold: 5 }).timeout('3s').build()),
  'fallback+retry': () =>
    through(Policy.builder('fr').fallback({ value: 0 }).retry({ maxAttempts: 3 }).build()),
  'bulkhead+breaker+timeout': () =>
    through(
      Policy.builder('bbt')
        .bulkhead({ maxConcurrent: 1e6 })
        .circuitBreaker({ failureThreshold: 5 })
        .timeout('3s')
        .build(),
    ),
  'limiter+bulkhead': () =>
    through(Policy.builder('lb').rateLimiter(ample).bulkhead({ maxConcurrent: 1e6 }).build()),
};
