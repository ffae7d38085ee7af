// Type-level spec: compiled by `tsc -p spec/types/contract/tsconfig.json --noEmit` (the spec
// settings without the unused-name checks, as a user's `strict` project), and by
// `scripts/check-consumers.mjs` against the packed package with standard and legacy decorators;
// never run. The decorator example of the public contract, copied as written with the limiter and
// bulkhead it names, must compile: a method whose result is `Promise<void>` discards its value,
// so a fallback may answer anything for it.
import { Bulkhead, RateLimiter, bulkhead, fallback, rateLimiter, timeLimiter } from 'bulwark';

const pricingLimiter = new RateLimiter({ maxTokens: 100, refillRate: 50 });
const pricingBulkhead = new Bulkhead({ maxConcurrent: 10 });

// prettier-ignore
export class PricingService {
  @fallback({ method: (error, productId) => ({ productId, price: 0 }) })
  @rateLimiter(pricingLimiter)
  @bulkhead(pricingBulkhead)
  @timeLimiter({ timeout: '3s' })
  async getPrice(productId: string) { /* ... */ }
}
