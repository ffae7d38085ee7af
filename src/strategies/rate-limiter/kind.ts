import { handOver } from '../../internal/snapshot.js';
import { kindOf, numberGauge, type KindDescriptor, type StageDescriptor } from '../descriptor.js';
import { RATE_LIMITER_OPTIONS, RateLimiter } from './RateLimiter.js';
import { RateLimiterStage } from './stage.js';

/**
 * @internal The rate limiter kind as a policy needs it. Its description reads, e.g., `10 tokens,
 * refill 10/s, no wait` or `100 tokens, refill 50/s, max wait 2000 ms`.
 */
export const RATE_LIMITER_STAGE: StageDescriptor<RateLimiter> = {
  kind: 'rate-limiter',
  label: 'RateLimiter',
  Primitive: RateLimiter,
  step: (limiter, env, name) => new RateLimiterStage(RATE_LIMITER_STAGE, limiter, env, name),
  describe: ({ maxTokens: max, refillRate, maxWaitMs: wait }) =>
    `${max} token${max === 1 ? '' : 's'}, refill ${refillRate}/s, ${
      wait === 0 ? 'no wait' : wait === Infinity ? 'waits as long as needed' : `max wait ${wait} ms`
    }`,
  state: (limiter) => ({
    availableTokens: limiter.availableTokens,
    maxTokens: limiter.maxTokens,
    queued: limiter.queued,
  }),
  rejection: 'rate-limit',
  keyable: true,
  refusing: (limiter) => limiter.availableTokens < 1,
};

/** @internal The whole rate limiter kind: the stage part, its configuration and gauges. */
export const RATE_LIMITER: KindDescriptor<RateLimiter> = /* @__PURE__ */ kindOf(
  RATE_LIMITER_STAGE,
  {
    configKey: 'rate-limiter',
    configOptions: RATE_LIMITER_OPTIONS,
    // Stryker disable next-line ObjectLiteral: the limiter's own defaults are the same 10 and 10/s
    defaults: { maxTokens: 10, refillRate: 10 },
    // Handed over in this process: no time has passed.
    carry: (old) => handOver(old.toJSON()),
    gauges: [
      /* @__PURE__ */ numberGauge(
        'bulwark.ratelimiter.tokens',
        '{token}',
        'Tokens available in a rate limiter bucket.',
        'availableTokens',
      ),
      /* @__PURE__ */ numberGauge(
        'bulwark.ratelimiter.queued',
        '{call}',
        'Callers waiting for rate limiter tokens.',
        'queued',
      ),
    ],
  },
);
