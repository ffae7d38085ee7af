// cockatiel's equivalent of each bulwark scenario, configured as close to bulwark's as it allows.
import {
  bulkhead,
  circuitBreaker,
  ConsecutiveBreaker,
  fallback,
  handleAll,
  retry,
  timeout,
  TimeoutStrategy,
  wrap,
  type IDefaultPolicyContext,
  type IPolicy,
} from 'cockatiel';
import { failEveryOtherCall, never, noop, type Subject, type Suite } from './types.js';

const through = (
  policy: IPolicy<IDefaultPolicyContext, unknown>,
  fn: () => Promise<unknown> = noop,
): Subject => ({
  call: () => policy.execute(fn),
});

// cockatiel counts retries, bulwark counts attempts: 2 retries here are bulwark's maxAttempts 3.
const newRetry = () => retry(handleAll, { maxAttempts: 2 });
const newBreaker = () =>
  circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
const newTimeout = () => timeout(3000, TimeoutStrategy.Cooperative);
const newPipeline = () =>
  wrap(fallback(handleAll, 0), newRetry(), newBreaker(), bulkhead(1e6), newTimeout());

export const suite: Suite = {
  library: 'cockatiel',
  subjects: {
    fallback: () => through(fallback(handleAll, 0)),
    'rate-limiter': 'cockatiel has no rate limiter',
    bulkhead: () => through(bulkhead(1e6)),
    retry: () => through(newRetry()),
    'circuit-breaker': () => through(newBreaker()),
    timeout: () => through(newTimeout()),
    pipeline: () => through(newPipeline()),
    'pipeline-x1000': () => through(newPipeline()),
    'open-circuit': () => {
      const breaker = newBreaker();
      breaker.isolate();
      return through(breaker);
    },
    'bulkhead-full': () => {
      const full = bulkhead(1, 0);
      void full.execute(never);
      return through(full);
    },
    'retry-then-success': () => through(newRetry(), failEveryOtherCall()),
  },
};
