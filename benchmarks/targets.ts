// The performance targets, as data. A target whose inputs were not measured (filtered
// out, or bulwark not built) is reported as not run, never as passed. The targets that are ratios
// are the run's headline figures: each is the median over rounds of the ratio taken round by
// round, reported with its lowest and highest round.
import { measuredOf, ratio, speedupSpread, type Results, type Spread } from './results-model.js';

export interface TargetResult {
  readonly id: string;
  readonly description: string;
  /** The measured value, or null when the target's scenarios did not run. */
  readonly value: number | null;
  readonly display: string;
  readonly pass: boolean | null;
  /** For a ratio: its lowest and highest round, and every round's value. */
  readonly spread?: { readonly min: number; readonly max: number; readonly perRound: number[] };
}

interface Target {
  readonly id: string;
  readonly description: string;
  readonly value: (r: Results) => number | Spread | undefined;
  readonly ok: (value: number) => boolean;
  readonly display: (value: number) => string;
}

const times = (v: number) => `${v.toFixed(1)}x`;
const ratioToBare = (id: string) => (r: Results) => {
  const ours = measuredOf(r, id, 'bulwark');
  const floor = measuredOf(r, 'bare', 'bare');
  return ours && floor ? ratio(ours, floor) : undefined;
};

const STAGES = ['fallback', 'bulkhead', 'retry', 'circuit-breaker', 'timeout'] as const;
const REFUSALS = [
  ['open-circuit', 'open-circuit refusal'],
  ['bulkhead-full', 'full-bulkhead refusal'],
] as const;

/** How much faster than cockatiel's same policy every single stage must be. */
const STAGE_LEAD = 1.2;

/** The mixed run's bound: no shape costs more than this times its solo figure. */
export const MIXED_LIMIT = 1.3;

const TARGETS: readonly Target[] = [
  {
    id: 'pipeline-vs-cockatiel',
    description: "full pipeline >= 50x faster than cockatiel's wrap(...)",
    value: (r) => speedupSpread(r, 'pipeline', 'cockatiel'),
    ok: (v) => v >= 50,
    display: times,
  },
  {
    id: 'pipeline-vs-opossum',
    description: "full pipeline >= 2.5x faster than opossum's fire()",
    value: (r) => speedupSpread(r, 'pipeline', 'opossum'),
    ok: (v) => v >= 2.5,
    display: times,
  },
  {
    id: 'pipeline-vs-bare',
    description: 'full pipeline <= 5x the bare call',
    value: ratioToBare('pipeline'),
    ok: (v) => v <= 5,
    display: times,
  },
  ...STAGES.map((stage): Target => ({
    id: `${stage}-vs-cockatiel`,
    description: `${stage} stage >= ${STAGE_LEAD}x faster than cockatiel's (cockatiel ns / bulwark ns)`,
    value: (r) => speedupSpread(r, stage, 'cockatiel'),
    ok: (v) => v >= STAGE_LEAD,
    display: (v) => `${v.toFixed(2)}x`,
  })),
  {
    id: 'timeout-vs-bare',
    description: 'timeout stage <= 5x the bare call',
    value: ratioToBare('timeout'),
    ok: (v) => v <= 5,
    display: times,
  },
  ...REFUSALS.flatMap(([scenario, name]) =>
    (['cockatiel', 'opossum'] as const).map((peer): Target => ({
      id: `${scenario}-vs-${peer}`,
      description: `${name} at least as fast as ${peer}'s (${peer} ns / bulwark ns >= 1)`,
      value: (r) => speedupSpread(r, scenario, peer),
      ok: (v) => v >= 1,
      display: (v) => `${v.toFixed(2)}x`,
    })),
  ),
  {
    id: 'mixed-vs-solo',
    description: `mixed run: every shape <= ${MIXED_LIMIT}x its solo figure (the worst shape)`,
    value: (r) =>
      r.mixed && r.mixed.length > 0 ? Math.max(...r.mixed.map((m) => m.ratio)) : undefined,
    ok: (v) => v <= MIXED_LIMIT,
    display: (v) => `${v.toFixed(2)}x`,
  },
  {
    id: 'heap-growth',
    description: 'heap growth after 1,000,000 full-pipeline calls < 1 MB',
    value: (r) =>
      r.growth.bulwark?.calls === 1_000_000 ? r.growth.bulwark.growthBytes : undefined,
    ok: (v) => v < 1_000_000,
    display: (v) => `${Math.round(v).toLocaleString('en-US')} bytes`,
  },
  {
    id: 'idle-timers',
    description: 'idle policies hold no timers',
    value: (r) => r.idle.bulwark?.timersHeld,
    ok: (v) => v === 0,
    display: (v) => `${v} timers held`,
  },
];

export function evaluateTargets(results: Results): TargetResult[] {
  return TARGETS.map((t) => {
    const measured = t.value(results);
    if (measured === undefined) {
      return { id: t.id, description: t.description, value: null, display: 'not run', pass: null };
    }
    const value = typeof measured === 'number' ? measured : measured.median;
    const spread =
      typeof measured === 'number'
        ? undefined
        : { min: measured.min, max: measured.max, perRound: [...measured.perRound] };
    return {
      id: t.id,
      description: t.description,
      value,
      display:
        t.display(value) +
        (spread && spread.perRound.length > 1
          ? ` (${spread.perRound.length} rounds: ${t.display(spread.min)} to ${t.display(spread.max)})`
          : ''),
      pass: t.ok(value),
      ...(spread ? { spread } : {}),
    };
  });
}
