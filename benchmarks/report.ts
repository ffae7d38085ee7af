// Turns one run's results into the printed table and the JSON document.
import { cpus, platform, arch, release } from 'node:os';
import { speedup, xBare, xBaseline, type Results } from './results-model.js';
import { MIXED_LIMIT, type TargetResult } from './targets.js';
import type { Library } from './scenarios/types.js';

const COMPETITORS = ['cockatiel', 'opossum'] as const;
const LIBRARIES: readonly Library[] = ['bulwark', 'cockatiel', 'opossum'];

function formatNs(ns: number): string {
  return ns < 100 ? ns.toFixed(1) : Math.round(ns).toLocaleString('en-US');
}

function formatOps(ns: number): string {
  const ops = 1e9 / ns;
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(1)}M`;
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(0)}k`;
  return ops.toFixed(0);
}

function formatRatio(x: number): string {
  if (x < 10) return x.toFixed(2);
  if (x < 100) return x.toFixed(1);
  return Math.round(x).toLocaleString('en-US');
}

function formatBytes(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (abs >= 1e3) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${Math.round(bytes)} B`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // The first two columns are names (left-aligned); the rest are numbers (right-aligned).
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderText(results: Results, targets: readonly TargetResult[]): string {
  const out: string[] = [];
  const rows = results.rows.map((row) => {
    const m = row.measured;
    if (!m) return [row.scenario.title, row.library, row.skipped ? 'skipped' : 'n/a'];
    const x = xBare(results, row);
    const base = xBaseline(results, row);
    const vs = COMPETITORS.map((c) => {
      if (row.library !== 'bulwark') return '';
      const s = speedup(results, row.scenario.id, c);
      return s === undefined ? '' : `${s.toFixed(1)}x`;
    });
    return [
      row.scenario.title,
      row.library,
      formatNs(m.nsPerCall),
      formatOps(m.nsPerCall),
      x === undefined ? '' : formatRatio(x),
      ...vs,
      base === undefined ? '' : `${formatRatio(base)}x ${row.scenario.baseline!.name}`,
    ];
  });
  if (rows.length > 0) {
    out.push(
      table(
        [
          'scenario',
          'library',
          'ns/call',
          'ops/s',
          'x bare',
          'vs cockatiel',
          'vs opossum',
          'x base',
        ],
        rows,
      ),
      'ns/call: median of per-round medians. Ratios are taken round by round (each round runs every',
      'task once, in a shuffled order) and the median over rounds is shown.',
      "x bare: this row's ns/call / the bare call's (same mode).",
      "vs X: X's ns/call / bulwark's ns/call for the same scenario (above 1: bulwark is faster).",
      ...(rows.some((r) => r[7])
        ? [
            "x base: this row's ns/call / its baseline's, the same library's row it is read against " +
              '(uninstrumented: full pipeline; in memory: the same call with the in-memory store).',
          ]
        : []),
      ...results.rows.flatMap((r) => (r.unavailable ? [`n/a: ${r.unavailable}.`] : [])),
      ...[...new Set(results.rows.flatMap((r) => (r.skipped ? [r.skipped] : [])))].map(
        (reason) => `skipped: ${reason}.`,
      ),
    );
  }

  const memory = LIBRARIES.filter((l) => results.growth[l] || results.idle[l]);
  if (memory.length > 0) {
    const growthCalls = Object.values(results.growth)[0]?.calls ?? 0;
    const idleCount = Object.values(results.idle)[0]?.instances ?? 0;
    const cell = (f: (l: Library) => string | undefined) => memory.map((l) => f(l) ?? '');
    const memRows = [
      [
        `heap growth after ${growthCalls.toLocaleString('en-US')} calls`,
        '',
        ...cell((l) => {
          const g = results.growth[l];
          return g && formatBytes(g.growthBytes);
        }),
      ],
      [
        `heap per idle instance (${idleCount.toLocaleString('en-US')} alive)`,
        '',
        ...cell((l) => {
          const i = results.idle[l];
          return i && formatBytes(i.bytesPerInstance);
        }),
      ],
      [
        `timers held by ${idleCount.toLocaleString('en-US')} idle instances`,
        '',
        ...cell((l) => results.idle[l]?.timersHeld.toLocaleString('en-US')),
      ],
    ].filter((r) => r.slice(2).some((c) => c !== ''));
    out.push(
      '',
      table(['memory (full pipeline)', '', ...memory], memRows),
      'heap growth: heapUsed after GC, after the calls minus before them. Readings wander by some',
      '200 KB from run to run, so values within that (negative ones too) mean no measurable growth.',
    );
  }

  if (results.mixed) {
    out.push(
      '',
      table(
        ['mixed run (bulwark)', '', 'solo ns', 'mixed ns', 'mixed/solo'],
        results.mixed.map((m) => [
          m.title,
          '',
          formatNs(m.soloNs),
          formatNs(m.mixedNs),
          `${m.ratio.toFixed(2)}x${m.ratio > MIXED_LIMIT ? ' over' : ''}`,
        ]),
      ),
      `solo: the shape is the only policy ever built in its process. mixed: all ${results.mixed.length} shapes`,
      'are alive and were called, interleaved, in one process. Each is the mean of two passes in',
      `mirrored order. Target: mixed/solo <= ${MIXED_LIMIT}x for every shape.`,
    );
  }

  out.push('', 'targets (a ratio: median over rounds, then its lowest and highest round)');
  for (const t of targets) {
    const mark = t.pass === null ? 'n/a ' : t.pass ? 'pass' : 'MISS';
    out.push(`  ${mark}  ${t.description}: ${t.display}`);
  }
  const missed = targets.filter((t) => t.pass === false).length;
  const run = targets.filter((t) => t.pass !== null).length;
  out.push(
    `  ${run - missed}/${run} measured targets met` + (missed ? `, ${missed} MISSED` : '') + '.',
  );
  return out.join('\n');
}

export interface RunInfo {
  readonly mode: 'default' | 'quick';
  readonly filter: readonly string[];
  readonly rounds: number;
  readonly timePerTaskMs: number;
  /** Scenario modules that did not load, and scenarios whose suite could not set up. */
  readonly skipped: readonly {
    readonly module: string;
    readonly library: Library;
    /** The scenarios skipped; absent when the whole module was. */
    readonly scenarios?: readonly string[];
    readonly reason: string;
  }[];
  readonly durationMs: number;
}

export function renderJson(
  results: Results,
  targets: readonly TargetResult[],
  info: RunInfo,
): unknown {
  const cpu = cpus();
  return {
    generatedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      v8: process.versions.v8,
      os: `${platform()} ${release()} ${arch()}`,
      cpu: cpu[0]?.model.trim() ?? 'unknown',
      cpus: cpu.length,
    },
    run: info,
    method:
      'tinybench; each sample times one batch of calls (sequential, or all in flight at once) ' +
      'and per-call figures are batch time / batch size. Tasks run in several rounds in a ' +
      'shuffled order; each figure is the median over rounds of that round statistic, and each ' +
      'ratio the median over rounds of the ratio taken within a round.',
    scenarios: results.rows.map((row) => {
      const baseline = row.scenario.baseline;
      const base = {
        id: row.scenario.id,
        title: row.scenario.title,
        mode: row.scenario.mode,
        ...(row.scenario.group ? { group: row.scenario.group } : {}),
        library: row.library,
        ...(baseline ? { baseline: baseline.id } : {}),
      };
      const m = row.measured;
      if (!m) {
        return row.skipped
          ? { ...base, skipped: row.skipped }
          : { ...base, unavailable: row.unavailable };
      }
      return {
        ...base,
        batch: row.scenario.batch,
        nsPerCall: m.nsPerCall,
        opsPerSec: 1e9 / m.nsPerCall,
        meanNsPerCall: m.meanNs,
        p99NsPerCall: m.p99Ns,
        perRoundNsPerCall: m.perRoundNs,
        samples: m.samples,
        xBare: xBare(results, row) ?? null,
        ...(baseline ? { xBaseline: xBaseline(results, row) ?? null } : {}),
        ...(row.library === 'bulwark'
          ? {
              speedupVsCockatiel: speedup(results, row.scenario.id, 'cockatiel') ?? null,
              speedupVsOpossum: speedup(results, row.scenario.id, 'opossum') ?? null,
            }
          : {}),
      };
    }),
    memory: { heapGrowth: results.growth, idleInstances: results.idle },
    ...(results.mixed ? { mixed: results.mixed } : {}),
    targets,
  };
}
