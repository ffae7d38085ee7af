// The shape of one run's results, shared by the targets, the table, the JSON and the chart.
import type { Measured } from './measure.js';
import type { GrowthResult, IdleResult } from './memory.js';
import type { Library, ScenarioDef } from './scenarios/types.js';

export interface Row {
  readonly scenario: ScenarioDef;
  readonly library: Library;
  /** Absent when the library has no equivalent (`unavailable` says why) or it was skipped. */
  readonly measured?: Measured;
  readonly unavailable?: string;
  /** Why the scenario could not run here (no redis-server, say). */
  readonly skipped?: string;
}

export interface Results {
  readonly rows: readonly Row[];
  readonly growth: Partial<Record<Library, GrowthResult>>;
  readonly idle: Partial<Record<Library, IdleResult>>;
}

export function nsOf(results: Results, scenarioId: string, library: Library): number | undefined {
  return results.rows.find((r) => r.scenario.id === scenarioId && r.library === library)?.measured
    ?.nsPerCall;
}

/** How many times the floor of the same mode (sequential or in flight) a row costs. */
export function xBare(results: Results, row: Row): number | undefined {
  const floor = results.rows.find(
    (r) => r.library === 'bare' && r.scenario.mode === row.scenario.mode,
  )?.measured?.nsPerCall;
  return row.measured && floor ? row.measured.nsPerCall / floor : undefined;
}

/** How many times its baseline (the same library's) a row costs, for a scenario that has one. */
export function xBaseline(results: Results, row: Row): number | undefined {
  const baseline = row.scenario.baseline;
  const base = baseline && nsOf(results, baseline.id, row.library);
  return row.measured && base ? row.measured.nsPerCall / base : undefined;
}

/** The competitor's ns/call divided by bulwark's for the same scenario: above 1, bulwark is faster. */
export function speedup(
  results: Results,
  scenarioId: string,
  competitor: Library,
): number | undefined {
  const ours = nsOf(results, scenarioId, 'bulwark');
  const theirs = nsOf(results, scenarioId, competitor);
  return ours && theirs ? theirs / ours : undefined;
}
