// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit` (which sets
// `exactOptionalPropertyTypes`), never run. An option left `undefined` by a caller's own optional
// setting means its default, at run time and in the types.
import { resilientFetch } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import type { Stage } from '../../src/pipeline/Stage.js';
import { RedisRateLimiterStore } from '../../src/redis/index.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { AdaptiveLimit } from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Chaos } from '../../src/strategies/chaos/Chaos.js';
import { Hedge } from '../../src/strategies/hedge/Hedge.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';

interface Settings {
  readonly attempts?: number;
  readonly wait?: string;
  readonly strict?: boolean;
  readonly label?: string;
}

export function explicitUndefinedTypeSpecs(settings: Settings, client: never): void {
  new Retry({ maxAttempts: settings.attempts, delay: settings.wait, maxDelay: undefined });
  new CircuitBreaker({ failureThreshold: settings.attempts, recoveryTimeout: settings.wait });
  new RateLimiter({ maxTokens: settings.attempts, refillRate: undefined, maxWait: settings.wait });
  new Bulkhead({ maxConcurrent: settings.attempts, maxQueue: undefined, maxWait: settings.wait });
  new AdaptiveLimit({ algorithm: 'aimd', min: settings.attempts, max: undefined });
  new TimeLimiter({ timeout: '1s', mode: undefined });
  new Hedge({ maxHedges: settings.attempts, delay: settings.wait });
  new Chaos({ enabled: settings.strict, seed: undefined });
  new RetryBudget({ ratio: undefined, window: settings.wait });
  PolicyRegistry.fromConfig({}, { clock: undefined });
  Policy.builder('p').retry({ maxAttempts: settings.attempts }).timeout({ timeout: '1s' });
  // A custom stage's `name` left `undefined` is its `kind`.
  const logging: Stage = {
    kind: 'logging',
    name: settings.label,
    execute: (ctx, next) => next(ctx),
  };
  Policy.builder('p').use(logging);
  resilientFetch(Policy.builder<Response>('http').build(), { throwOnStatus: settings.strict });
  new RedisRateLimiterStore({ client, key: 'k', storeTimeout: settings.wait });
}
