import { instanceOf, numberGauge, type KindDescriptor } from '../descriptor.js';
import { Bulkhead, BULKHEAD_OPTIONS } from './Bulkhead.js';
import { BulkheadStage } from './stage.js';

/** @internal The bulkhead kind. */
export const BULKHEAD: KindDescriptor<Bulkhead> = {
  kind: 'bulkhead',
  label: 'Bulkhead',
  configKey: 'bulkhead',
  configOptions: BULKHEAD_OPTIONS,
  defaults: { maxConcurrent: 10 },
  create: (options) => new Bulkhead(options),
  isInstance: /* @__PURE__ */ instanceOf(Bulkhead),
  step: (bulkhead, env, name) => new BulkheadStage(BULKHEAD, bulkhead, env, name),
  describe: (bulkhead) => bulkhead.describe(),
  state: (bulkhead) => ({
    availableSlots: bulkhead.availableSlots,
    maxConcurrent: bulkhead.maxConcurrent,
    queued: bulkhead.queued,
    orphaned: bulkhead.orphaned,
  }),
  rejection: 'bulkhead',
  gauges: [
    /* @__PURE__ */ numberGauge(
      'bulwark.bulkhead.available',
      '{slot}',
      'Bulkhead slots free for new calls.',
      'availableSlots',
    ),
    /* @__PURE__ */ numberGauge(
      'bulwark.bulkhead.queued',
      '{call}',
      'Calls waiting in a bulkhead queue for a slot.',
      'queued',
    ),
    /* @__PURE__ */ numberGauge(
      'bulwark.bulkhead.orphaned',
      '{call}',
      'Calls already answered (timed out or aborted) whose work still runs and holds a bulkhead slot.',
      'orphaned',
    ),
  ],
};
