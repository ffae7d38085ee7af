import { kindOf, type KindDescriptor, type StageDescriptor } from '../descriptor.js';
import { RetryBudget, RETRY_BUDGET_OPTIONS } from './RetryBudget.js';

/** @internal A retry budget's live state, in `health()` and in its retries' stage state. */
const budgetState = (budget: RetryBudget): Record<string, unknown> => ({
  tokens: budget.tokens,
  ratio: budget.ratio,
  minPerSecond: budget.minPerSecond,
  refused: budget.refused,
});

/**
 * @internal The retry budget: shared state that retries draw on, not a stage. Configuration
 * makes named budgets (`retry-budget:`) that a retry names as its `budget`.
 */
const RETRY_BUDGET_STAGE: StageDescriptor<RetryBudget> = {
  kind: 'retry-budget',
  // Stryker disable next-line StringLiteral: nothing reads the label of a kind that is no stage (it names a stage's options in `stages.*`)
  label: 'RetryBudget',
  Primitive: RetryBudget,
  step: () => {
    throw new TypeError("a RetryBudget is not a stage: give it to a retry's `budget` option");
  },
  describe: (b) => `ratio ${b.ratio}, min ${b.minPerSecond}/s, window ${b.windowMs} ms`,
  state: budgetState,
};

/** @internal The whole retry-budget kind: named shared budgets from configuration. */
export const RETRY_BUDGET: KindDescriptor<RetryBudget> = /* @__PURE__ */ kindOf(
  RETRY_BUDGET_STAGE,
  {
    configKey: 'retry-budget',
    configOptions: RETRY_BUDGET_OPTIONS,
    stateOnly: true,
    // Its spending in the window, and its refusals, go on under the new settings.
    adopt: (next, old) => next.takeOver(old),
  },
);
