import {
  kindOf,
  numberGauge,
  type KindDescriptor,
  type OptionValues,
  type StageDescriptor,
} from '../descriptor.js';
import { Retry, RETRY_OPTIONS } from './Retry.js';
import { RetryStage } from './stage.js';

/**
 * @internal The retry kind as a policy needs it. Its description reads, e.g., `up to 5 attempts,
 * delay 500 ms, backoff x2, max delay 10000 ms, jitter 0.2, on all errors` (a backoff type other
 * than exponential, and a `maxRetryAfter` other than `maxDelay`, are named too).
 */
export const RETRY_STAGE: StageDescriptor<Retry> = {
  kind: 'retry',
  label: 'Retry',
  numbersAttempts: true,
  Primitive: Retry,
  step: (retry, env, name) => new RetryStage(RETRY_STAGE, retry, env, name),
  describe: (r) =>
    `up to ${r.maxAttempts} attempt${r.maxAttempts === 1 ? '' : 's'}, ${
      r.delaysByFunction ? 'delay by function' : r.delay ? `delay ${r.delay} ms` : 'no delay'
    }${r.backoffType !== 'exponential' ? `, ${r.backoffType}` : ''}${
      r.backoff !== 1 ? `, backoff x${r.backoff}` : ''
    }${r.maxDelay !== undefined ? `, max delay ${r.maxDelay} ms` : ''}${
      r.jitter ? `, jitter ${r.jitter}` : ''
    }${
      // maxRetryAfter defaults to maxDelay: it differs only when set, so it is a number then.
      r.maxRetryAfter !== r.maxDelay ? `, max retry-after ${r.maxRetryAfter} ms` : ''
    }, on ${r.retriesAllErrors ? 'all' : 'matching'} errors${
      r.judgesResults ? ' and matching results' : ''
    }${r.budget !== undefined ? `, budget ratio ${r.budget.ratio}` : ''}`,
  state: (retry) => {
    const budget = retry.budget;
    return budget === undefined
      ? { maxAttempts: retry.maxAttempts }
      : { maxAttempts: retry.maxAttempts, budgetTokens: budget.tokens, budgetRatio: budget.ratio };
  },
};

// How waits grow: by `backoff` (exponential), by another `backoffType`, or by decorrelated
// jitter. `backoff: 1` and `backoffType: 'exponential'` go with any of them.
const GROWTH: OptionValues = { option: 'backoff', except: [1] };
const TYPE: OptionValues = { option: 'backoffType', except: ['exponential'] };
const DECORRELATED: OptionValues = { option: 'jitter', only: ['decorrelated'] };

/** @internal The whole retry kind: the stage part, its configuration and gauges. */
export const RETRY: KindDescriptor<Retry> = /* @__PURE__ */ kindOf(RETRY_STAGE, {
  configKey: 'retry',
  configOptions: RETRY_OPTIONS,
  // Three ways for waits to grow, one at a time.
  exclusive: [
    [GROWTH, TYPE],
    [GROWTH, DECORRELATED],
    [TYPE, DECORRELATED],
  ],
  references: { budget: 'retry-budget' },
  gauges: [
    /* @__PURE__ */ numberGauge(
      'bulwark.retry.budget.tokens',
      '{retry}',
      'Retries the retry budget of a retry stage holds now.',
      'budgetTokens',
    ),
  ],
});
