import {
  kindOf,
  type GaugeDescriptor,
  type KindDescriptor,
  type StageDescriptor,
} from '../descriptor.js';
import { Chaos, CHAOS_OPTIONS } from './Chaos.js';
import { ChaosStage } from './stage.js';

const percent = (rate: number): string => `${+(rate * 100).toFixed(2)}%`;

/**
 * @internal The chaos kind as a policy needs it. Its description reads, e.g., `faults 30%,
 * latency 10% x 1000 ms, seed 42` or `off`.
 */
export const CHAOS_STAGE: StageDescriptor<Chaos<unknown>> = {
  kind: 'chaos',
  label: 'Chaos',
  Primitive: Chaos,
  step: (chaos, env, name) => new ChaosStage(CHAOS_STAGE, chaos, env, name),
  describe: (c) => {
    const parts: string[] = [];
    if (c.faultRate > 0) parts.push(`faults ${percent(c.faultRate)}`);
    if (c.latencyRate > 0) parts.push(`latency ${percent(c.latencyRate)} x ${c.latencyMs} ms`);
    if (c.resultRate > 0) parts.push(`results ${percent(c.resultRate)}`);
    if (parts.length === 0) parts.push('nothing to inject');
    if (c.seed !== undefined) parts.push(`seed ${c.seed}`);
    return !c.switchedOn
      ? 'off'
      : `${parts.join(', ')}${c.perCall !== undefined ? ', when enabled' : ''}`;
  },
  state: (chaos) => ({
    enabled: chaos.switchedOn,
    faults: chaos.faults,
    delays: chaos.delays,
    results: chaos.results,
  }),
};

/** @internal 1 while a chaos stage may inject (switched on, or decided per call), else 0. */
const ENABLED: GaugeDescriptor = {
  name: 'bulwark.chaos.enabled',
  unit: '1',
  description: 'Whether a chaos stage may inject faults: 1 when switched on, 0 when off.',
  read: (state) => (typeof state.enabled === 'boolean' ? +state.enabled : undefined),
};

/**
 * @internal The whole chaos kind. Configuration builds it enabled only in a registry made with
 * `chaos: true`.
 */
export const CHAOS: KindDescriptor<Chaos<unknown>> = /* @__PURE__ */ kindOf(CHAOS_STAGE, {
  configKey: 'chaos',
  configOptions: CHAOS_OPTIONS,
  // Its counters go on (see `Chaos.takeOver`).
  adopt: (next, old) => next.takeOver(old),
  optIn: {
    flag: 'chaos',
    active: (options) => options.enabled !== false,
  },
  gauges: [ENABLED],
});
