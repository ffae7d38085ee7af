// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile. A builder
// method (and its entry in `stages`) whose stage has a default for every option may be called
// without options, as at run time; one whose stage needs an option (a fallback's `value` or
// `method`) may not.
import { Policy } from '../../src/pipeline/Policy.js';
import { stages } from '../../src/pipeline/stages.js';

interface Price {
  readonly amount: number;
}

export function optionalOptionsTypeSpecs(): void {
  const built: Policy<Price> = Policy.builder<Price>('defaults')
    .rateLimiter()
    .bulkhead()
    .retry()
    .circuitBreaker()
    .timeout()
    .hedge()
    .chaos()
    .build();
  void built;
  // A name with the defaults: options left out as undefined.
  Policy.builder('named')
    .retry(undefined, 'again')
    .rateLimiter(undefined, 'bucket')
    .bulkhead(undefined, 'pool')
    .circuitBreaker(undefined, 'breaker')
    .timeout(undefined, 'deadline')
    .chaos(undefined, 'faults');

  Policy.builder('p').use(stages.retry()).use(stages.rateLimiter()).use(stages.bulkhead());
  Policy.builder('p').use(stages.circuitBreaker()).use(stages.timeout()).use(stages.chaos());

  // A fallback needs its `value` or `method`, at run time as in the types.
  // @ts-expect-error a fallback without options
  Policy.builder('p').fallback();
  // @ts-expect-error nor as a stage
  stages.fallback();
}
