import { toMs } from '../../internal/duration.js';
import { kindOf, type KindDescriptor, type StageDescriptor } from '../descriptor.js';
import { TIME_LIMITER_OPTIONS, TimeLimiter } from './TimeLimiter.js';
import { TimeoutStage } from './stage.js';

/**
 * @internal The timeout kind (its primitive is a TimeLimiter). Configuration and `health()` spell
 * its section `time-limiter`, as they always have; `timeout` is accepted there too.
 */
export const TIMEOUT_STAGE: StageDescriptor<TimeLimiter> = {
  kind: 'timeout',
  label: 'TimeLimiter',
  Primitive: TimeLimiter,
  step: (limiter, env, name) => new TimeoutStage(TIMEOUT_STAGE, limiter, env, name),
  describe: (limiter) => `${limiter.timeoutMs} ms${limiter.cooperativeMode ? ', cooperative' : ''}`,
  state: (limiter) => ({ timeoutMs: limiter.timeoutMs }),
};

/** @internal The whole timeout kind: the stage part, its configuration and gauges. */
export const TIMEOUT: KindDescriptor<TimeLimiter> = /* @__PURE__ */ kindOf(TIMEOUT_STAGE, {
  configKey: 'time-limiter',
  aliases: ['timeout'],
  configOptions: TIME_LIMITER_OPTIONS,
  // Stryker disable next-line ObjectLiteral: the limiter's own default is the same 30 s
  defaults: { timeout: 30_000 },
  shorthand: {
    what: 'a duration',
    options(value) {
      try {
        // Stryker disable next-line StringLiteral: only the message of an error dropped below names it
        toMs(value, 'timeout');
      } catch {
        // A number is read (and refused with its own message) by the limiter itself.
        if (typeof value === 'string') return undefined;
      }
      return { timeout: value };
    },
  },
});
