// The mixed run: what a bulwark policy costs when it is one of many shapes alive in a process.
// V8 specialises the shared code of the engine for the shapes it has seen; a process that runs
// one policy shape keeps that code monomorphic, an application with many does not. Each shape is
// measured twice, in child processes: solo (the only shape ever built in its process) and mixed
// (all shapes built and called, interleaved, in one process before and between its timings).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Measured } from './measure.js';
import type { MixedRequest } from './mixed-child.js';

/** The single stages and the full pipeline, then shapes of several stages. */
export const MIXED_SHAPES: readonly { readonly id: string; readonly title: string }[] = [
  { id: 'fallback', title: 'fallback' },
  { id: 'rate-limiter', title: 'rate limiter' },
  { id: 'bulkhead', title: 'bulkhead' },
  { id: 'retry', title: 'retry' },
  { id: 'circuit-breaker', title: 'circuit breaker' },
  { id: 'timeout', title: 'timeout' },
  { id: 'pipeline', title: 'full pipeline' },
  { id: 'retry+timeout', title: 'retry + timeout' },
  { id: 'breaker+timeout', title: 'breaker + timeout' },
  { id: 'fallback+retry', title: 'fallback + retry' },
  { id: 'bulkhead+breaker+timeout', title: 'bulkhead + breaker + timeout' },
  { id: 'limiter+bulkhead', title: 'rate limiter + bulkhead' },
];

export interface MixedRow {
  readonly id: string;
  readonly title: string;
  readonly soloNs: number;
  readonly mixedNs: number;
  /** mixed / solo: how much a shape loses to the others alive next to it. */
  readonly ratio: number;
  /** Each pass's figures, in run order; passes far apart say the machine was disturbed. */
  readonly passes: { readonly soloNs: readonly number[]; readonly mixedNs: readonly number[] };
}

export interface MixedPlan {
  readonly rounds: number;
  readonly timeMs: number;
  readonly warmupMs: number;
}

const child = fileURLToPath(new URL('./mixed-child.js', import.meta.url));

function runChild(request: MixedRequest): Promise<Record<string, Measured>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [child, JSON.stringify(request)],
      { timeout: 300_000, maxBuffer: 1 << 22 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`mixed run failed: ${stderr.trim() || error.message}`));
          return;
        }
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, Measured>);
      },
    );
  });
}

/**
 * Two passes in mirrored order (mixed, then each shape alone; then each shape alone, then mixed),
 * each with half the rounds: the machine's slow drift touches both sides of a ratio alike, and a
 * disturbed process weighs half. A figure is the mean of its two passes' medians.
 */
export async function mixedRun(
  plan: MixedPlan,
  progress: (line: string) => void,
): Promise<MixedRow[]> {
  const ids = MIXED_SHAPES.map((s) => s.id);
  const half = { ...plan, rounds: Math.max(1, Math.ceil(plan.rounds / 2)) };
  const mixed: Record<string, Measured>[] = [];
  const solo: Record<string, Measured>[] = [{}, {}];
  const together = async (pass: number) => {
    progress(`mixed: all shapes in one process (pass ${pass + 1}/2)`);
    mixed.push(await runChild({ alive: ids, measure: ids, ...half }));
  };
  const alone = async (pass: number) => {
    for (const id of ids) {
      progress(`mixed: ${id} alone (pass ${pass + 1}/2)`);
      Object.assign(solo[pass]!, await runChild({ alive: [id], measure: [id], ...half }));
    }
  };
  await together(0);
  await alone(0);
  await alone(1);
  await together(1);
  const mean = (runs: readonly Record<string, Measured>[], id: string) =>
    runs.reduce((sum, r) => sum + r[id]!.nsPerCall, 0) / runs.length;
  return MIXED_SHAPES.map(({ id, title }) => {
    const mixedNs = mean(mixed, id);
    const soloNs = mean(solo, id);
    return {
      id,
      title,
      soloNs,
      mixedNs,
      ratio: mixedNs / soloNs,
      passes: {
        soloNs: solo.map((r) => r[id]!.nsPerCall),
        mixedNs: mixed.map((r) => r[id]!.nsPerCall),
      },
    };
  });
}
