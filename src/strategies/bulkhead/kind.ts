import { fail, isOptionError, OptionRangeError, OptionTypeError } from '../../optionErrors.js';
import { kindOf, numberGauge, type KindDescriptor, type StageDescriptor } from '../descriptor.js';
import { AdaptiveLimit } from './AdaptiveLimit.js';
import { Bulkhead, BULKHEAD_OPTIONS, isAdaptiveLimit } from './Bulkhead.js';
import { BulkheadStage } from './stage.js';

/**
 * @internal The bulkhead kind as a policy needs it. Its description reads, e.g., `10 concurrent
 * calls, no queue` or `10 concurrent calls, queue 100, max wait 2000 ms`.
 */
export const BULKHEAD_STAGE: StageDescriptor<Bulkhead> = {
  kind: 'bulkhead',
  label: 'Bulkhead',
  Primitive: Bulkhead,
  step: (bulkhead, env, name) => new BulkheadStage(BULKHEAD_STAGE, bulkhead, env, name),
  describe: ({ maxConcurrent: max, maxQueue: queue, maxWaitMs: wait, adaptiveLimit: a }) =>
    `${
      a === undefined
        ? `${max} concurrent call${max === 1 ? '' : 's'}`
        : `adaptive limit (${a.algorithm}, ${a.min}..${a.max})`
    }, ${
      queue === 0 || wait === 0
        ? 'no queue'
        : `queue ${queue}${wait === Infinity ? '' : `, max wait ${wait} ms`}`
    }`,
  state: (bulkhead) => ({
    availableSlots: bulkhead.availableSlots,
    maxConcurrent: bulkhead.maxConcurrent,
    queued: bulkhead.queued,
    orphaned: bulkhead.orphaned,
  }),
  rejection: 'bulkhead',
  keyable: true,
  refusing: (bulkhead) => bulkhead.availableSlots === 0,
  refuseKeyed: refuseSharedLimit,
};

// An AdaptiveLimit is one limit, for one bulkhead: every bulkhead made per key would claim it.
// (Known as the option check knows it. Any other value gets that check's own message.)
function refuseSharedLimit({ limit }: Record<string, unknown>): void {
  if (isAdaptiveLimit(limit)) {
    fail(
      TypeError,
      'limit',
      'a number with `key`: an AdaptiveLimit is one limit for one Bulkhead',
      limit,
    );
  }
}

/** @internal The whole bulkhead kind: the stage part, its configuration and gauges. */
export const BULKHEAD: KindDescriptor<Bulkhead> = /* @__PURE__ */ kindOf(BULKHEAD_STAGE, {
  configKey: 'bulkhead',
  configOptions: BULKHEAD_OPTIONS,
  exclusive: [
    // One setting: a fixed number of calls, or a limit (adaptive or a number).
    [{ option: 'maxConcurrent' }, { option: 'limit' }],
    // No queue, so no wait in it.
    [{ option: 'maxQueue', only: [0] }, { option: 'maxWait' }],
  ],
  fromConfig: adaptiveFromConfig,
  // Its calls, running and queued, go to the new one; the limit it keeps first: taking over
  // serves the moved queue at once, under that limit.
  adopt: (next, old) => {
    if (old.adaptiveLimit !== undefined) next.adaptiveLimit?.adopt(old.adaptiveLimit);
    next.takeOver(old);
  },
  // No `maxConcurrent` default here: the bulkhead's own is 10, and one here would clash with a
  // configured `limit`.
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
      'bulwark.bulkhead.limit',
      '{call}',
      'Calls a bulkhead admits at once now (moves under an adaptive limit).',
      'maxConcurrent',
    ),
    /* @__PURE__ */ numberGauge(
      'bulwark.bulkhead.orphaned',
      '{call}',
      'Calls already answered (timed out or aborted) whose work still runs and holds a bulkhead slot.',
      'orphaned',
    ),
  ],
});

// Configuration gives an adaptive limit as its options (`limit: { algorithm: gradient2 }`).
function adaptiveFromConfig(options: Record<string, unknown>): void {
  const value = options.limit;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  // An error filter is code, as a breaker's `recordOn` is (refused there by the registry).
  if ('recordOn' in value) {
    throw new OptionTypeError(
      'limit.recordOn',
      'an option a configuration can set',
      value.recordOn,
      {
        message:
          'the option `limit.recordOn` cannot come from configuration (it is code, not data); ' +
          'build that policy with Policy.builder() and register it',
      },
    );
  }
  try {
    options.limit = new AdaptiveLimit(value);
  } catch (error) {
    // Named as the configuration writes it: `limit.max`.
    // Stryker disable next-line all: never true: AdaptiveLimit's constructor throws only option errors, each naming an option of its own (the options object was checked above)
    if (!isOptionError(error) || error.option === 'options') throw error;
    const Class = error instanceof RangeError ? OptionRangeError : OptionTypeError;
    // Stryker disable next-line ObjectLiteral: every option error of AdaptiveLimit has the standard message, which the default message of the new name equals
    throw new Class(`limit.${error.option}`, error.expected, error.received, {
      message: error.message.replace(`\`${error.option}\``, `\`limit.${error.option}\``),
    });
  }
}
