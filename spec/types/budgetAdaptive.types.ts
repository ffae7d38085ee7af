// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile.
import { Policy } from '../../src/pipeline/Policy.js';
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
}
