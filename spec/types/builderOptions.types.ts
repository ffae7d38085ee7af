// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile.
// A builder's stage options are checked as an object literal is: the name of a primitive's
// member (`maxWaitMs`, `queued`, `timeoutMs`) is no option, as `build()` would say at run time.
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';

export function builderOptionSpecs(): void {
  const builder = Policy.builder('p');
  // @ts-expect-error `maxWaitMs` is a limiter's reading, the option is `maxWait`
  builder.rateLimiter({ maxTokens: 10, maxWaitMs: 500 });
  // @ts-expect-error `availableTokens` is a reading too
  builder.rateLimiter({ maxTokens: 10, availableTokens: 3 });
  // @ts-expect-error `maxWaitMs` is a bulkhead's reading, the option is `maxWait`
  builder.bulkhead({ maxConcurrent: 2, maxWaitMs: 500 });
  // @ts-expect-error `queued` is a reading
  builder.bulkhead({ maxConcurrent: 2, queued: 1 });
  // @ts-expect-error `timeoutMs` is a time limiter's reading, the option is `timeout`
  builder.timeout({ timeoutMs: 5000 });
  // @ts-expect-error so with `timeout` too
  builder.timeout({ timeout: '1s', timeoutMs: 5 });

  // The options themselves, keyed or not, and instances, are taken as before.
  builder.rateLimiter();
  builder.rateLimiter({ maxTokens: 10, refillRate: 5, maxWait: '500ms' });
  builder.rateLimiter({ maxTokens: 10, refillRate: 5, key: (ctx) => String(ctx.data.get('k')) });
  builder.rateLimiter(new RateLimiter({ maxTokens: 10, refillRate: 5 }), 'shared');
  builder.bulkhead({ maxConcurrent: 2, maxQueue: 4, maxWait: '1s' });
  builder.bulkhead({ maxConcurrent: 2, key: () => 'k', maxKeys: 10 });
  builder.bulkhead(new Bulkhead({ maxConcurrent: 2 }));
  builder.timeout('1s');
  builder.timeout(500);
  builder.timeout({ timeout: '1s', mode: 'aggressive' });
  builder.timeout(new TimeLimiter({ timeout: '1s' }));
  builder.timeout();
  // @ts-expect-error a keyed stage's options need `key`
  builder.bulkhead({ maxConcurrent: 2, maxKeys: 10 });
}
