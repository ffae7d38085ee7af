import { instanceOf, type KindDescriptor } from '../descriptor.js';
import { Retry, RETRY_OPTIONS } from './Retry.js';
import { RetryStage } from './stage.js';

/** @internal The retry kind. */
export const RETRY: KindDescriptor<Retry> = {
  kind: 'retry',
  label: 'Retry',
  configKey: 'retry',
  configOptions: RETRY_OPTIONS,
  numbersAttempts: true,
  create: (options) => new Retry(options),
  isInstance: /* @__PURE__ */ instanceOf(Retry),
  step: (retry, env, name) => new RetryStage(RETRY, retry, env, name),
  describe: (retry) => retry.describe(),
  state: (retry) => ({ maxAttempts: retry.maxAttempts }),
};
