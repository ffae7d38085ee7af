// opossum is one circuit breaker with a timeout, a concurrency cap and a fallback built in, so it
// has an equivalent for the breaker, the full pipeline and the two rejection paths only.
import CircuitBreaker from 'opossum';
import { never, noop, type Subject } from './types.js';
import type { Suite } from './types.js';

type Options = ConstructorParameters<typeof CircuitBreaker>[1];

function breaker(options: Options, prepare?: (b: CircuitBreaker) => void): Subject {
  const b = new CircuitBreaker(noop, options);
  prepare?.(b);
  // shutdown() clears opossum's per-breaker interval and timers, so the process can exit.
  return { call: () => b.fire(), dispose: () => b.shutdown() };
}

export const suite: Suite = {
  library: 'opossum',
  subjects: {
    'circuit-breaker': () => breaker({ timeout: false }),
    pipeline: () => breaker({ timeout: 3000 }),
    'pipeline-x1000': () => breaker({ timeout: 3000 }),
    'open-circuit': () => breaker({ timeout: false, resetTimeout: 600_000 }, (b) => b.open()),
    'bulkhead-full': () => {
      // opossum's bulkhead is its `capacity` semaphore. Its rejections count as failures, so
      // the breaker is kept from tripping, which would change the path being measured. With
      // rolling percentiles on, each counted failure sorts every latency in the 10 s window,
      // so the cost would grow with the length of the run rather than measure the rejection.
      const b = new CircuitBreaker(never, {
        timeout: false,
        capacity: 1,
        volumeThreshold: Number.MAX_SAFE_INTEGER,
        rollingPercentilesEnabled: false,
      });
      void b.fire();
      return { call: () => b.fire(), dispose: () => b.shutdown() };
    },
  },
};
