import { kindOf, numberGauge, type KindDescriptor, type StageDescriptor } from '../descriptor.js';
import { Hedge, HEDGE_OPTIONS } from './Hedge.js';
import { HedgeStage } from './stage.js';

/**
 * @internal The hedge kind as a policy needs it. Its description reads, e.g., `up to 1 hedged
 * attempt, after 2000 ms` or `up to 2 hedged attempts, on failure, on matching outcomes`.
 */
export const HEDGE_STAGE: StageDescriptor<Hedge> = {
  kind: 'hedge',
  label: 'Hedge',
  numbersAttempts: true,
  Primitive: Hedge,
  step: (hedge, env, name) => new HedgeStage(HEDGE_STAGE, hedge, env, name),
  describe: (h) =>
    `up to ${h.maxHedges} hedged attempt${h.maxHedges === 1 ? '' : 's'}, ${
      h.delayMs === Infinity
        ? 'on failure'
        : h.delayMs === 0
          ? 'all at once'
          : `after ${h.delayMs} ms`
    }${h.judgesOutcomes ? ', on matching outcomes' : ''}`,
  state: (hedge) => ({
    maxHedges: hedge.maxHedges,
    delayMs: hedge.delayMs,
    running: hedge.running,
    hedges: hedge.hedges,
    wins: hedge.wins,
  }),
};

/** @internal The whole hedge kind: the stage part, its configuration and gauges. */
export const HEDGE: KindDescriptor<Hedge> = /* @__PURE__ */ kindOf(HEDGE_STAGE, {
  configKey: 'hedge',
  configOptions: HEDGE_OPTIONS,
  // Its hedges and wins go on (see `Hedge.takeOver`).
  adopt: (next, old) => next.takeOver(old),
  gauges: [
    /* @__PURE__ */ numberGauge(
      'bulwark.hedge.running',
      '{attempt}',
      'Attempts running under a hedge stage, hedged ones and first ones alike.',
      'running',
    ),
  ],
});
