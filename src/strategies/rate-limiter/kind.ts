import { instanceOf, numberGauge, type KindDescriptor } from '../descriptor.js';
import { RATE_LIMITER_OPTIONS, RateLimiter } from './RateLimiter.js';
import { RateLimiterStage } from './stage.js';

/** @internal The rate limiter kind. */
export const RATE_LIMITER: KindDescriptor<RateLimiter> = {
  kind: 'rate-limiter',
  label: 'RateLimiter',
  configKey: 'rate-limiter',
  configOptions: RATE_LIMITER_OPTIONS,
  defaults: { maxTokens: 10, refillRate: 10 },
  create: (options) => new RateLimiter(options),
  isInstance: /* @__PURE__ */ instanceOf(RateLimiter),
  step: (limiter, env, name) => new RateLimiterStage(RATE_LIMITER, limiter, env, name),
  describe: (limiter) => limiter.describe(),
  state: (limiter) => ({
    availableTokens: limiter.availableTokens,
    maxTokens: limiter.maxTokens,
  }),
  rejection: 'rate-limit',
  gauges: [
    /* @__PURE__ */ numberGauge(
      'bulwark.ratelimiter.tokens',
      '{token}',
      'Tokens available in a rate limiter bucket.',
      'availableTokens',
    ),
  ],
};
