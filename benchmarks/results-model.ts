// The shape of one run's results, shared by the targets, the table, the JSON and the chart.
import type { Measured } from './measure.js';
import type { GrowthResult, IdleResult } from './memory.js';
import type { MixedRow } from './mixed.js';
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
  /** The mixed run (bulwark's shapes solo and alive together); absent when it did not run. */
  readonly mixed?: readonly MixedRow[];
}

export function nsOf(results: Results, scenarioId: string, library: Library): number | undefined {
  return measuredOf(results, scenarioId, library)?.nsPerCall;
}

export function measuredOf(
  results: Results,
  scenarioId: string,
  library: Library,
): Measured | undefined {
  return results.rows.find((r) => r.scenario.id === scenarioId && r.library === library)?.measured;
}

/** A ratio read round by round: its median over the rounds, and the lowest and highest round. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** One value per round. */
  readonly perRound: readonly number[];
}

/**
 * `a / b`, round by round. Every round runs every task once, in a fresh shuffled order, so the
 * two figures of one round were taken minutes apart at most; pairing them cancels the machine's
 * slow drift, and the median over rounds ignores a round that a neighbour disturbed. Tasks
 * measured in different rounds (a failed task, say) fall back to the ratio of their medians.
 */
export function ratio(a: Measured, b: Measured): Spread {
  const perRound =
    a.perRoundNs.length === b.perRoundNs.length && a.perRoundNs.length > 0
      ? a.perRoundNs.map((ns, i) => ns / b.perRoundNs[i]!)
      : [a.nsPerCall / b.nsPerCall];
  return {
    median: median(perRound),
    min: Math.min(...perRound),
    max: Math.max(...perRound),
    perRound,
  };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** How many times the floor of the same mode (sequential or in flight) a row costs. */
export function xBare(results: Results, row: Row): number | undefined {
  return xBareSpread(results, row)?.median;
}

export function xBareSpread(results: Results, row: Row): Spread | undefined {
  const floor = results.rows.find(
    (r) => r.library === 'bare' && r.scenario.mode === row.scenario.mode,
  )?.measured;
  return row.measured && floor ? ratio(row.measured, floor) : undefined;
}

/** How many times its baseline (the same library's) a row costs, for a scenario that has one. */
export function xBaseline(results: Results, row: Row): number | undefined {
  const baseline = row.scenario.baseline;
  const base = baseline && measuredOf(results, baseline.id, row.library);
  return row.measured && base ? ratio(row.measured, base).median : undefined;
}

/** The competitor's ns/call divided by bulwark's for the same scenario: above 1, bulwark is faster. */
export function speedup(
  results: Results,
  scenarioId: string,
  competitor: Library,
): number | undefined {
  return speedupSpread(results, scenarioId, competitor)?.median;
}

export function speedupSpread(
  results: Results,
  scenarioId: string,
  competitor: Library,
): Spread | undefined {
  const ours = measuredOf(results, scenarioId, 'bulwark');
  const theirs = measuredOf(results, scenarioId, competitor);
  return ours && theirs ? ratio(theirs, ours) : undefined;
}
