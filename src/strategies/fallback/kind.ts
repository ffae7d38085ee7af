import { kindOf, type KindDescriptor, type StageDescriptor } from '../descriptor.js';
import { Fallback, FALLBACK_OPTIONS } from './Fallback.js';
import { FallbackStage } from './stage.js';

/** @internal The fallback kind: no shared instances, no state. */
export const FALLBACK_STAGE: StageDescriptor<Fallback<unknown>> = {
  kind: 'fallback',
  label: 'Fallback',
  Primitive: Fallback,
  step: (fallback, env, name) => new FallbackStage(FALLBACK_STAGE, fallback, env, name),
  describe: (fallback) => fallback.describe(),
  state: () => ({}),
};

/** @internal The whole fallback kind: the stage part, its configuration and gauges. */
export const FALLBACK: KindDescriptor<Fallback<unknown>> = /* @__PURE__ */ kindOf(FALLBACK_STAGE, {
  inline: { requires: 'value', example: '`fallback: { value: null }`' },
  configOptions: FALLBACK_OPTIONS,
});
