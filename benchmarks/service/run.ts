// `npm run bench -- --scenarios [--quick] [--filter LIBRARY[,LIBRARY]] [--out DIR]`: what a
// policy is for rather than what it costs. A service (service.ts, one process per library) calls
// a simulated downstream (downstream.ts, in this process) through an equivalent policy in each
// library (policies.ts) while the downstream degrades in phases, under a bounded open-loop load
// (load.ts). Prints a table per phase and writes the JSON and one SVG chart per phase to the
// runs folder (ignored by git). All traffic stays on 127.0.0.1; the run is bounded in time.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { arch, cpus, loadavg, platform, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { now } from './clock.js';
import {
  startDownstream,
  type Downstream,
  type DownstreamOptions,
  type Health,
} from './downstream.js';
import { drive, type Sample } from './load.js';
import { LIBRARIES, type Library } from './libraries.js';
import { BREAKER_MODES, CONFIG, type BreakerMode, type BreakerState } from './policies.js';
import type { AttemptCounts, FromService, ServiceTrace, ToService } from './service.js';
import { renderGroupedBars } from '../svg.js';

export interface ScenarioOptions {
  readonly quick: boolean;
  /**
   * Libraries ('none' is the service without a policy) and phases to run, by part of their name
   * (no library named: all of them; no phase named: all of them), and `consecutive` for the
   * consecutive-failure breakers instead of the failure-rate ones (see BreakerMode).
   */
  readonly filter: readonly string[];
  readonly outDir: string;
}

/** The downstream: 5 ms of latency, then 4 workers of 20 ms each: 200 requests/s at most. */
const DOWNSTREAM: DownstreamOptions = { latencyMs: 5, slowFactor: 20, slots: 4, workMs: 20 };
const CAPACITY_PER_SEC = (DOWNSTREAM.slots * 1000) / DOWNSTREAM.workMs;
/** The normal load: half the downstream's capacity. */
const RATE = 100;
const OVERLOAD_RATE = 300;
const CLIENT_TIMEOUT_MS = 2000;
/** The clients' latency objective: an answer from the downstream later than this is not goodput. */
const SLO_MS = 500;
const MAX_IN_FLIGHT = 1000;

export const PHASE_IDS = ['outage', 'slow', 'flapping', 'overload'] as const;
type PhaseId = (typeof PHASE_IDS)[number];
/** The words `--filter` takes with `--scenarios`: libraries, phases, and a breaker mode. */
export const FILTER_WORDS: readonly string[] = [
  ...LIBRARIES,
  ...PHASE_IDS,
  ...BREAKER_MODES.filter((m) => m !== 'rate'),
];

interface PhaseDef {
  readonly id: PhaseId;
  readonly title: string;
  readonly description: string;
  readonly rate: number;
  /** The downstream's health from the phase start, each step lasting `ms`. */
  readonly steps: readonly { readonly health: Health; readonly ms: number }[];
}

function phases(quick: boolean): PhaseDef[] {
  const s = (ms: number, quickMs: number) => (quick ? quickMs : ms);
  const flipMs = s(600, 300);
  const flips = quick ? 4 : 8;
  return [
    {
      id: 'outage',
      title: 'full outage, then recovery',
      description: `the downstream answers 503 at once for ${s(3000, 1000)} ms, then is healthy again for ${s(3000, 1200)} ms`,
      rate: RATE,
      steps: [
        { health: 'down', ms: s(3000, 1000) },
        { health: 'up', ms: s(3000, 1200) },
      ],
    },
    {
      id: 'slow',
      title: `slow downstream (latency x${DOWNSTREAM.slowFactor})`,
      description: `network latency ${DOWNSTREAM.latencyMs * DOWNSTREAM.slowFactor} ms on average instead of ${DOWNSTREAM.latencyMs} ms, against a ${CONFIG.timeoutMs} ms timeout`,
      rate: RATE,
      steps: [{ health: 'slow', ms: s(4000, 1000) }],
    },
    {
      id: 'flapping',
      title: 'flapping downstream',
      description: `down and up in turn, ${flipMs} ms each`,
      rate: RATE,
      steps: Array.from({ length: flips }, (_, i) => ({
        health: i % 2 === 0 ? ('down' as const) : ('up' as const),
        ms: flipMs,
      })),
    },
    {
      id: 'overload',
      title: `overload (${OVERLOAD_RATE}/s against a capacity of ${CAPACITY_PER_SEC}/s)`,
      description: `arrivals at ${OVERLOAD_RATE}/s, ${OVERLOAD_RATE / CAPACITY_PER_SEC}x what the healthy downstream can serve`,
      rate: OVERLOAD_RATE,
      steps: [{ health: 'up', ms: s(4000, 1000) }],
    },
  ];
}

export interface PhaseRow {
  readonly library: Library;
  /** Requests the clients sent. */
  readonly offered: number;
  /** Answers that came from the downstream within the latency objective, per second of the phase. */
  readonly goodputPerSec: number;
  readonly downstreamAnswers: number;
  readonly fallbacks: number;
  /** Error statuses, client timeouts and requests not sent for the in-flight bound. */
  readonly failed: number;
  /** Client latency of every answered request (fallbacks and errors too), ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Requests that reached the downstream during the phase (the load the policy left it). */
  readonly downstreamRequests: number;
  /** Of those, the ones that arrived while it was down (outage and flapping phases). */
  readonly downstreamRequestsWhileDown: number;
  /** Outage: from the outage's start to the circuit opening; null when it never opened. */
  readonly detectMs: number | null;
  /** Outage: from the downstream's return to the first answer a client got from it. */
  readonly recoverMs: number | null;
  /** The service's event-loop delay during the phase, ms. */
  readonly loopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** CPU time the service used during the phase, ms. */
  readonly cpuMs: number;
  /** What the policy did during the phase (see PhaseTrace). */
  readonly trace: PhaseTrace;
}

/**
 * What a service's policy did during a phase, from its own events and the attempts it sent (the
 * counts as the service reports them: see AttemptCounts).
 */
export interface PhaseTrace extends AttemptCounts {
  /** The circuit's state when the phase began (closed unless a stall kept it open). */
  readonly initialState: BreakerState;
  /** Times the circuit opened, became half-open (a probe round) and closed. */
  readonly opens: number;
  readonly halfOpens: number;
  readonly closes: number;
  /** Share of the phase the circuit spent in each state, 0..1. */
  readonly share: Readonly<Record<BreakerState, number>>;
  /** The circuit's moves, ms from the phase start. */
  readonly transitions: readonly { readonly atMs: number; readonly to: BreakerState }[];
}

function summarize(
  { initialState, transitions, ...counts }: ServiceTrace,
  start: number,
  end: number,
): PhaseTrace {
  const share: Record<BreakerState, number> = { closed: 0, open: 0, 'half-open': 0 };
  let state = initialState;
  let since = start;
  for (const { at, to } of transitions) {
    const t = Math.min(Math.max(at, start), end);
    share[state] += t - since;
    state = to;
    since = t;
  }
  share[state] += end - since;
  const total = Math.max(1, end - start);
  const count = (to: BreakerState) => transitions.filter((t) => t.to === to).length;
  return {
    initialState,
    opens: count('open'),
    halfOpens: count('half-open'),
    closes: count('closed'),
    share: {
      closed: share.closed / total,
      open: share.open / total,
      'half-open': share['half-open'] / total,
    },
    transitions: transitions.map(({ at, to }) => ({ atMs: Math.round(at - start), to })),
    ...counts,
  };
}

interface Service {
  readonly library: Library;
  readonly child: ChildProcess;
  readonly url: string;
  ask(message: ToService): Promise<FromService>;
}

async function startService(
  library: Library,
  downstream: string,
  mode: BreakerMode,
): Promise<Service> {
  const script = fileURLToPath(new URL('./service.js', import.meta.url));
  const child = fork(script, [library, downstream, mode], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiters: ((m: FromService) => void)[] = [];
  child.on('message', (m: FromService) => waiters.shift()?.(m));
  const next = () =>
    new Promise<FromService>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${library} service did not answer`)),
        15_000,
      );
      waiters.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  const ready = await next();
  if (ready.type !== 'ready') throw new Error(`${library} service: unexpected ${ready.type}`);
  return {
    library,
    child,
    url: `http://127.0.0.1:${ready.port}/`,
    ask: (message) => {
      const answer = next();
      child.send(message);
      return answer;
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function runPhase(
  phase: PhaseDef,
  service: Service,
  downstream: Downstream,
  agent: Agent,
): Promise<PhaseRow> {
  const durationMs = phase.steps.reduce((sum, step) => sum + step.ms, 0);
  await service.ask({ type: 'mark' });
  const start = now();
  // The health steps, on their own timers; `down` keeps the windows the downstream was down.
  const down: [number, number][] = [];
  const timers: ReturnType<typeof setTimeout>[] = [];
  let offset = 0;
  for (const step of phase.steps) {
    const apply = () => {
      const at = now();
      const last = down[down.length - 1];
      if (last && last[1] === Infinity) last[1] = at;
      if (step.health === 'down') down.push([at, Infinity]);
      downstream.setHealth(step.health);
    };
    if (offset === 0) apply();
    else timers.push(setTimeout(apply, offset));
    offset += step.ms;
  }
  const samples: Sample[] = await drive(agent, {
    url: service.url,
    ratePerSec: phase.rate,
    durationMs,
    timeoutMs: CLIENT_TIMEOUT_MS,
    maxInFlight: MAX_IN_FLIGHT,
  });
  for (const t of timers) clearTimeout(t);
  const end = now();
  const last = down[down.length - 1];
  if (last && last[1] === Infinity) last[1] = end;
  downstream.setHealth('up');
  const stats = await service.ask({ type: 'read' });
  if (stats.type !== 'stats')
    throw new Error(`${service.library} service: unexpected ${stats.type}`);

  const arrivals = downstream.arrivals(service.library).filter((t) => t >= start && t <= end);
  const whileDown = arrivals.filter((t) => down.some(([a, b]) => t >= a && t < b)).length;
  const answered = samples.filter((s) => s.outcome !== 'shed');
  const latencies = answered.map((s) => s.latencyMs).sort((a, b) => a - b);
  const count = (o: Sample['outcome']) => samples.filter((s) => s.outcome === o).length;

  let detectMs: number | null = null;
  let recoverMs: number | null = null;
  if (phase.id === 'outage') {
    const outageStart = down[0]![0];
    const backAt = down[0]![1];
    const open = stats.trace.transitions.find((t) => t.to === 'open' && t.at >= outageStart)?.at;
    detectMs = open === undefined ? null : open - outageStart;
    const firstGood = samples
      .filter((s) => s.outcome === 'downstream' && s.at + s.latencyMs >= backAt)
      .map((s) => s.at + s.latencyMs)
      .sort((a, b) => a - b)[0];
    recoverMs = firstGood === undefined ? null : firstGood - backAt;
  }
  return {
    library: service.library,
    offered: samples.length,
    goodputPerSec:
      (samples.filter((s) => s.outcome === 'downstream' && s.latencyMs <= SLO_MS).length * 1000) /
      durationMs,
    downstreamAnswers: count('downstream'),
    fallbacks: count('fallback'),
    failed: count('error') + count('timeout') + count('shed'),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    downstreamRequests: arrivals.length,
    downstreamRequestsWhileDown: whileDown,
    detectMs,
    recoverMs,
    loopDelayMs: stats.loopDelay,
    cpuMs: stats.cpuMs,
    trace: summarize(stats.trace, start, end),
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const fixed = (n: number, digits = 0) => n.toFixed(digits);
const ms = (n: number | null) => (n === null ? '-' : n < 10 ? n.toFixed(1) : n.toFixed(0));

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export interface ScenarioResults {
  readonly phases: readonly (Omit<PhaseDef, 'steps'> & {
    readonly durationMs: number;
    readonly rows: readonly PhaseRow[];
  })[];
}

export interface ScenarioVerdict {
  readonly phase: PhaseId;
  readonly description: string;
  /** bulwark's figure and the better peer's; null when either did not run. */
  readonly bulwark: number | null;
  readonly peer: number | null;
  readonly pass: boolean | null;
}

/**
 * The scenarios' targets: in every phase bulwark's goodput and p99 at least as good as the better
 * peer's, and during the outage no more requests to the dead downstream. Reported, not enforced.
 */
export function scenarioVerdicts(results: ScenarioResults): ScenarioVerdict[] {
  const verdicts: ScenarioVerdict[] = [];
  for (const phase of results.phases) {
    const ours = phase.rows.find((r) => r.library === 'bulwark');
    const peers = phase.rows.filter((r) => r.library === 'cockatiel' || r.library === 'opossum');
    const check = (
      description: string,
      value: (r: PhaseRow) => number,
      better: 'higher' | 'lower',
    ) => {
      const best =
        peers.length === 0
          ? null
          : (better === 'higher' ? Math.max : Math.min)(...peers.map(value));
      const mine = ours ? value(ours) : null;
      verdicts.push({
        phase: phase.id,
        description,
        bulwark: mine,
        peer: best,
        pass:
          mine === null || best === null ? null : better === 'higher' ? mine >= best : mine <= best,
      });
    };
    check(`${phase.id}: goodput >= the better peer's`, (r) => r.goodputPerSec, 'higher');
    check(`${phase.id}: p99 <= the better peer's`, (r) => r.p99Ms, 'lower');
    if (phase.id === 'outage') {
      check(
        "outage: requests to the dead downstream <= the fewer of the peers'",
        (r) => r.downstreamRequestsWhileDown,
        'lower',
      );
    }
  }
  return verdicts;
}

export function renderScenarioText(results: ScenarioResults): string {
  const out: string[] = [];
  for (const phase of results.phases) {
    out.push(
      `${phase.title}: ${phase.description}; ${phase.rate} requests/s for ${phase.durationMs} ms`,
    );
    const outage = phase.id === 'outage';
    out.push(
      table(
        [
          'library',
          'offered',
          'goodput/s',
          'fallback',
          'failed',
          'p50 ms',
          'p99 ms',
          'downstream',
          ...(phase.id === 'outage' || phase.id === 'flapping' ? ['while down'] : []),
          ...(outage ? ['detect ms', 'recover ms'] : []),
          'loop p99 ms',
          'cpu ms',
        ],
        phase.rows.map((r) => [
          r.library,
          String(r.offered),
          fixed(r.goodputPerSec, 1),
          String(r.fallbacks),
          String(r.failed),
          ms(r.p50Ms),
          ms(r.p99Ms),
          String(r.downstreamRequests),
          ...(phase.id === 'outage' || phase.id === 'flapping'
            ? [String(r.downstreamRequestsWhileDown)]
            : []),
          ...(outage ? [ms(r.detectMs), ms(r.recoverMs)] : []),
          ms(r.loopDelayMs.p99),
          fixed(r.cpuMs),
        ]),
      ),
      '',
      table(
        [
          'trace',
          'start',
          'attempts',
          'ok',
          'ok late',
          'failed',
          'cancelled',
          'retries',
          'opens',
          'probes',
          'closed',
          'open',
          'fb probe',
          'fb circuit',
          'fb bulkhead',
          'fb timeout',
          'fb error',
        ],
        phase.rows.map(({ library, trace: t }) => [
          library,
          t.initialState,
          String(t.attempts),
          String(t.attemptsOk),
          String(t.attemptsOkLate),
          String(t.attemptsFailed),
          String(t.attemptsCancelled),
          String(t.retries),
          String(t.opens),
          String(t.halfOpens),
          `${fixed(t.share.closed * 100)}%`,
          `${fixed(t.share.open * 100)}%`,
          String(t.fallbacks.probe),
          String(t.fallbacks.circuit),
          String(t.fallbacks.bulkhead),
          String(t.fallbacks.timeout),
          String(t.fallbacks.error),
        ]),
      ),
      '',
    );
  }
  out.push(
    `goodput/s: answers from the downstream within ${SLO_MS} ms, per second. fallback: canned answers.`,
    'failed: error statuses and client timeouts. p50/p99: client latency of every answer.',
    'downstream: requests that reached it during the phase (while down: of those, during the',
    "outage windows). detect: outage start to the circuit opening. recover: the downstream's",
    "return to a client's first answer from it. loop p99: the service's event-loop delay; cpu:",
    'the CPU time it used.',
    "trace: start, the circuit's state at the phase start; attempts the service sent the",
    'downstream, and how they ended: ok (within the timeout), ok late (after it: the caller had',
    "given up), failed (error status), cancelled (by the policy's abort); retries;",
    'opens and probes (half-open rounds) of the circuit, the share of the phase it was closed and',
    'open; fb: fallback answers by the last error (refused while a half-open trial call was out,',
    'refused by the open circuit, full bulkhead, timeout, error status).',
    '',
    'targets (one run; reported, not enforced)',
  );
  for (const v of scenarioVerdicts(results)) {
    const mark = v.pass === null ? 'n/a ' : v.pass ? 'pass' : 'MISS';
    const figures =
      v.bulwark === null || v.peer === null
        ? 'not run'
        : `bulwark ${v.bulwark.toFixed(1)}, better peer ${v.peer.toFixed(1)}`;
    out.push(`  ${mark}  ${v.description}: ${figures}`);
  }
  return out.join('\n');
}

export async function runScenarios(options: ScenarioOptions): Promise<void> {
  const started = now();
  const byLibrary = options.filter.filter((f) => LIBRARIES.some((l) => l.includes(f)));
  const byPhase = options.filter.filter((f) => PHASE_IDS.some((p) => p.includes(f)));
  const mode: BreakerMode = options.filter.includes('consecutive') ? 'consecutive' : 'rate';
  if (
    options.filter.length > 0 &&
    byLibrary.length === 0 &&
    byPhase.length === 0 &&
    mode === 'rate'
  ) {
    throw new RangeError(
      `--filter ${options.filter.join(',')} matches no library or phase of the scenarios (${FILTER_WORDS.join(', ')})`,
    );
  }
  const wanted = LIBRARIES.filter(
    (l) => byLibrary.length === 0 || byLibrary.some((f) => l.includes(f)),
  );
  const defs = phases(options.quick).filter(
    (p) => byPhase.length === 0 || byPhase.some((f) => p.id.includes(f)),
  );
  const runMode = options.quick ? 'quick' : 'default';
  const settleMs = options.quick ? 1200 : 2000;
  const downstream = await startDownstream(DOWNSTREAM);
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  const services: Service[] = [];
  const results: { def: PhaseDef; rows: PhaseRow[] }[] = defs.map((def) => ({ def, rows: [] }));
  const total = defs.reduce((n, d) => n + d.steps.reduce((m, s) => m + s.ms, 0) + settleMs, 0);
  console.error(
    `bulwark scenarios (${runMode}, ${mode} breakers): ${wanted.join(', ')}; ${defs.length} phases, about ` +
      `${Math.round((total * wanted.length) / 1000)} s; node ${process.version}, ${cpus().length} cpus, ` +
      `load average ${loadavg()[0]!.toFixed(1)}`,
  );
  try {
    for (const library of wanted) {
      services.push(await startService(library, downstream.url, mode));
    }
    for (const result of results) {
      // Libraries take turns within a phase, in a fresh order each phase, so a disturbance of the
      // machine does not fall on one library's whole run.
      for (const service of shuffle([...services])) {
        // A healthy stretch first: every breaker closes and every connection is warm. A stall of
        // a busy machine can time calls out and open a circuit even then: a few more healthy
        // stretches give it the time to close (a phase that starts with it open says so in its
        // trace).
        downstream.setHealth('up');
        const healthy = (durationMs: number) =>
          drive(agent, {
            url: service.url,
            ratePerSec: RATE,
            durationMs,
            timeoutMs: CLIENT_TIMEOUT_MS,
            maxInFlight: MAX_IN_FLIGHT,
          });
        await healthy(settleMs);
        for (let more = 0; more < 3; more++) {
          const answer = await service.ask({ type: 'state' });
          if (answer.type !== 'state' || answer.state === 'closed') break;
          await healthy(CONFIG.recoveryMs + 200);
        }
        process.stderr.write(`${result.def.id}: ${service.library}\n`);
        result.rows.push(await runPhase(result.def, service, downstream, agent));
      }
      result.rows.sort((a, b) => LIBRARIES.indexOf(a.library) - LIBRARIES.indexOf(b.library));
    }
  } finally {
    for (const s of services) s.child.kill();
    agent.destroy();
    await downstream.close();
  }

  const scenarioResults: ScenarioResults = {
    phases: results.map(({ def, rows }) => ({
      id: def.id,
      title: def.title,
      description: def.description,
      rate: def.rate,
      durationMs: def.steps.reduce((n, s) => n + s.ms, 0),
      rows,
    })),
  };
  console.log(renderScenarioText(scenarioResults));

  const cpu = cpus()[0]?.model.trim() ?? 'unknown';
  const json = {
    generatedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      os: `${platform()} ${release()} ${arch()}`,
      cpu,
      cpus: cpus().length,
      loadAverage: loadavg(),
    },
    run: {
      mode: runMode,
      breaker: mode,
      libraries: wanted,
      durationMs: Math.round(now() - started),
      settleMs,
      clientTimeoutMs: CLIENT_TIMEOUT_MS,
      latencyObjectiveMs: SLO_MS,
      downstream: { ...DOWNSTREAM, capacityPerSec: CAPACITY_PER_SEC },
      policy: CONFIG,
    },
    phases: scenarioResults.phases,
    targets: scenarioVerdicts(scenarioResults),
  };
  mkdirSync(options.outDir, { recursive: true });
  const text = `${JSON.stringify(json, null, 2)}\n`;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(options.outDir, `scenarios-${stamp}-${runMode}.json`), text);
  writeFileSync(join(options.outDir, 'scenarios-latest.json'), text);
  const subtitle = `${new Date().toISOString().slice(0, 10)} · node ${process.version} · ${cpu} x ${cpus().length}`;
  for (const phase of scenarioResults.phases) {
    writeFileSync(
      join(options.outDir, `scenarios-${phase.id}.svg`),
      renderGroupedBars({
        title: `bulwark scenarios: ${phase.title}`,
        subtitle: `${phase.description}; ${phase.rate}/s · ${subtitle}`,
        groups: (
          [
            {
              title: `goodput (answers from the downstream within ${SLO_MS} ms, per s; longer is better)`,
              value: (r) => r.goodputPerSec,
              unit: '/s',
            },
            { title: 'client p50 latency (ms)', value: (r) => r.p50Ms, unit: ' ms' },
            { title: 'client p99 latency (ms)', value: (r) => r.p99Ms, unit: ' ms' },
            {
              title: 'requests that reached the downstream',
              value: (r) => r.downstreamRequests,
              unit: '',
            },
            {
              title: 'service event-loop delay p99 (ms)',
              value: (r) => r.loopDelayMs.p99,
              unit: ' ms',
            },
          ] satisfies { title: string; value: (r: PhaseRow) => number; unit: string }[]
        ).map((g) => ({
          title: g.title,
          bars: phase.rows.map((r) => ({ label: r.library, value: g.value(r), unit: g.unit })),
        })),
        footer:
          'Bars are linear, each group on its own scale. One run; see the JSON for every figure.',
      }),
    );
  }
  console.error(
    `wrote ${join(options.outDir, 'scenarios-latest.json')} and scenarios-<phase>.svg in ${((now() - started) / 1000).toFixed(0)} s`,
  );
}
