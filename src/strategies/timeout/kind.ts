import { toMs } from '../../internal/duration.js';
import { instanceOf, type KindDescriptor } from '../descriptor.js';
import { TIME_LIMITER_OPTIONS, TimeLimiter } from './TimeLimiter.js';
import { TimeoutStage } from './stage.js';

/**
 * @internal The timeout kind (its primitive is a TimeLimiter). Configuration and `health()` spell
 * its section `time-limiter`, as they always have; `timeout` is accepted there too.
 */
export const TIMEOUT: KindDescriptor<TimeLimiter> = {
  kind: 'timeout',
  label: 'TimeLimiter',
  configKey: 'time-limiter',
  aliases: ['timeout'],
  configOptions: TIME_LIMITER_OPTIONS,
  defaults: { timeout: 30_000 },
  shorthand: {
    what: 'a duration',
    options(value) {
      try {
        toMs(value, 'timeout');
      } catch {
        // A number is read (and refused with its own message) by the limiter itself.
        if (typeof value === 'string') return undefined;
      }
      return { timeout: value };
    },
  },
  create: (options) => new TimeLimiter(options),
  isInstance: /* @__PURE__ */ instanceOf(TimeLimiter),
  step: (limiter, env, name) => new TimeoutStage(TIMEOUT, limiter, env, name),
  describe: (limiter) => `${limiter.timeoutMs} ms`,
  state: (limiter) => ({ timeoutMs: limiter.timeoutMs }),
};
