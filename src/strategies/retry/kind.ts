import { instanceOf, type KindDescriptor } from '../descriptor.js';
import { Retry, RETRY_OPTIONS } from './Retry.js';
import { RetryStage } from './stage.js';

/**
 * @internal The retry kind. Its description reads, e.g., `up to 5 attempts, delay 500 ms,
 * backoff x2, max delay 10000 ms, jitter 0.2, on all errors`.
 */
export const RETRY: KindDescriptor<Retry> = {
  kind: 'retry',
  label: 'Retry',
  configKey: 'retry',
  configOptions: RETRY_OPTIONS,
  numbersAttempts: true,
  create: (options) => new Retry(options),
  isInstance: /* @__PURE__ */ instanceOf(Retry),
  step: (retry, env, name) => new RetryStage(RETRY, retry, env, name),
  describe: (r) =>
    `up to ${r.maxAttempts} attempt${r.maxAttempts === 1 ? '' : 's'}, ${
      r.delay ? `delay ${r.delay} ms` : 'no delay'
    }${r.backoff !== 1 ? `, backoff x${r.backoff}` : ''}${
      r.maxDelay !== undefined ? `, max delay ${r.maxDelay} ms` : ''
    }${r.jitter ? `, jitter ${r.jitter}` : ''}, on ${r.retriesAllErrors ? 'all' : 'matching'} errors${
      r.judgesResults ? ' and matching results' : ''
    }`,
  state: (retry) => ({ maxAttempts: retry.maxAttempts }),
};
