import { instanceOf, type KindDescriptor } from '../descriptor.js';
import { Fallback, FALLBACK_OPTIONS } from './Fallback.js';
import { FallbackStage } from './stage.js';

/** @internal The fallback kind: no shared instances, no state. */
export const FALLBACK: KindDescriptor<Fallback<unknown>> = {
  kind: 'fallback',
  label: 'Fallback',
  inline: { requires: 'value', example: '`fallback: { value: null }`' },
  configOptions: FALLBACK_OPTIONS,
  create: (options) => new Fallback(options as never),
  isInstance: /* @__PURE__ */ instanceOf(Fallback),
  step: (fallback, env, name) => new FallbackStage(FALLBACK, fallback, env, name),
  describe: (fallback) => fallback.describe(),
  state: () => ({}),
};
