// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile.
import { Policy } from '../../src/pipeline/Policy.js';
import { stages } from '../../src/pipeline/stages.js';
import { AdaptiveLimit } from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';

export function budgetAdaptiveTypeSpecs(): void {
  const budget = new RetryBudget({ ratio: 0.1, window: '5s' });
  const policy = Policy.builder('p').retry({ maxAttempts: 3, budget }).build();
  policy.on('retry', (e) => {
    const skipped: 'deadline' | 'budget' | undefined = e.skipped;
    void skipped;
  });
  // @ts-expect-error a budget is a RetryBudget, not its options
  Policy.builder('q').retry({ budget: { ratio: 0.1 } });

  new Bulkhead({ limit: 10 });
  new Bulkhead({ limit: new AdaptiveLimit({ algorithm: 'aimd', max: 100 }) });
  // @ts-expect-error in code, an adaptive limit is an AdaptiveLimit, not its options
  new Bulkhead({ limit: { algorithm: 'aimd' } });
  // @ts-expect-error only the two algorithms
  new AdaptiveLimit({ algorithm: 'vegas' });
  // Each algorithm's own option, and only with it.
  new AdaptiveLimit({ algorithm: 'aimd', backoffRatio: 0.5, tolerance: 2 });
  new AdaptiveLimit({ algorithm: 'gradient2', smoothing: 0.5 });
  new AdaptiveLimit({ smoothing: 0.5, min: 2 });
  const algorithm = 'aimd' as 'aimd' | 'gradient2';
  new AdaptiveLimit({ algorithm, max: 50 });
  // @ts-expect-error `backoffRatio` is for 'aimd' only
  new AdaptiveLimit({ algorithm: 'gradient2', backoffRatio: 0.5 });
  // @ts-expect-error `backoffRatio` is for 'aimd' only, and 'gradient2' is the default
  new AdaptiveLimit({ backoffRatio: 0.5 });
  // @ts-expect-error `smoothing` is for 'gradient2' only
  new AdaptiveLimit({ algorithm: 'aimd', smoothing: 0.5 });

  // `maxKeys` and `idleTimeout` need `key`, for every kind that takes one.
  const key = (ctx: { data: ReadonlyMap<string, unknown> }) => String(ctx.data.get('user'));
  Policy.builder('k').bulkhead({ key, maxKeys: 5, maxConcurrent: 2 });
  // @ts-expect-error `maxKeys` without `key`
  Policy.builder('k').bulkhead({ maxKeys: 5, maxConcurrent: 2 });
  // @ts-expect-error `idleTimeout` without `key`
  Policy.builder('k').rateLimiter({ idleTimeout: '1m', maxTokens: 5 });
  // @ts-expect-error `maxKeys` without `key`
  Policy.builder('k').circuitBreaker({ maxKeys: 5, failureThreshold: 2 });
  // @ts-expect-error `maxKeys` without `key`
  stages.bulkhead({ maxKeys: 5 });
  stages.bulkhead({ maxConcurrent: 2 });
  new Bulkhead({ maxConcurrent: 2 });
}
