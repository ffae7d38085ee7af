// The benchmark runner: `node .bench-build/benchmarks/run.js [--quick] [--filter NAME] [--out DIR]
// [--strict] [--record]`, or `--scenarios` for the service scenarios (benchmarks/service/). Prints a table, writes the run's JSON and SVG to an untracked folder
// (the clone stays clean), and exits by itself. Only `--record` touches the tracked baseline.
import { setMaxListeners } from 'node:events';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { measure, type Measured, type RoundPlan, type Task } from './measure.js';
import { heapGrowth, idleInstances } from './memory.js';
import { mixedRun, type MixedPlan, type MixedRow } from './mixed.js';
import { renderJson, renderText, type RunInfo } from './report.js';
import type { Results, Row } from './results-model.js';
import { SCENARIOS, type Library, type Subject, type Suite } from './scenarios/types.js';
import { renderSvg } from './svg.js';
import { evaluateTargets } from './targets.js';

/** Where runs go (git ignores it) and where the recorded baseline lives (tracked). */
const RUNS_DIR = join('benchmarks', 'results', 'runs');
const BASELINE_DIR = join('benchmarks', 'results');

const USAGE = `usage: run.js [--quick] [--filter NAME[,NAME]] [--rounds N] [--round-time MS] [--out DIR]
              [--strict] [--record]
  --quick    few short rounds, memory of bulwark only (about 45 s); default: the full run (about 3.5 minutes)
  --filter   run only scenarios whose id, group or library contains NAME (ids: ${SCENARIOS.map((s) => s.id).join(', ')};
             groups: ${[...new Set(SCENARIOS.flatMap((s) => s.group ?? []))].join(', ')}; memory; mixed: bulwark's shapes
             measured alone and all alive in one process); the bare call of the same
             mode and a scenario's baseline always run, as the ratios need them
  --rounds   how many interleaved rounds (default 21, quick 5); more rounds, steadier ratios
  --round-time  time per task per round, in ms (default 120, quick 60)
  --out      directory for the run: latest.json, latest.svg and a dated copy of the JSON
             (default ${RUNS_DIR}, which git ignores)
  --strict   exit with code 1 when a measured target is missed
  --record   also make this run the recorded baseline, ${BASELINE_DIR}/baseline.json and
             baseline.svg (tracked; a full, unfiltered run only)
  --scenarios  instead, a service calling a degrading downstream through each library's policy
             (outage, slow, flapping, overload; under 2 minutes, --quick about 20 s per library);
             --filter then names libraries (none, bulwark, cockatiel, opossum), phases, or
             consecutive (consecutive-failure breakers instead of failure-rate ones). Writes
             scenarios-latest.json and scenarios-<phase>.svg to --out`;

interface Plan extends RoundPlan {
  readonly calls: number;
  readonly instances: number;
  /** Libraries whose memory is measured; a million cockatiel calls alone take over 10 s. */
  readonly memory: readonly Library[];
  /** The mixed run's rounds: each shape solo, and all of them in one process. */
  readonly mixed: MixedPlan;
}

// Many short rounds rather than a few long ones: a ratio is read within each round, so more
// rounds give its median more rounds to outvote a disturbed one (docs/PERFORMANCE.md says how the
// agreement of back-to-back runs was checked).
const PLANS: Record<'default' | 'quick', Plan> = {
  default: {
    rounds: 21,
    timeMs: 120,
    warmupMs: 20,
    calls: 1_000_000,
    instances: 100_000,
    memory: ['bulwark', 'cockatiel', 'opossum'],
    mixed: { rounds: 7, timeMs: 80, warmupMs: 20 },
  },
  quick: {
    rounds: 5,
    timeMs: 60,
    warmupMs: 25,
    calls: 1_000_000,
    instances: 100_000,
    memory: ['bulwark'],
    mixed: { rounds: 5, timeMs: 40, warmupMs: 20 },
  },
};

/** The scenario modules (scenarios/<module>.ts), each supplying one library's subjects. */
const MODULES: readonly { readonly module: string; readonly library: Library }[] = [
  { module: 'bare', library: 'bare' },
  { module: 'bulwark', library: 'bulwark' },
  { module: 'bulwark-otel', library: 'bulwark' },
  { module: 'bulwark-redis', library: 'bulwark' },
  { module: 'cockatiel', library: 'cockatiel' },
  { module: 'opossum', library: 'opossum' },
];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    filter: { type: 'string', multiple: true, default: [] },
    out: { type: 'string', default: RUNS_DIR },
    rounds: { type: 'string' },
    'round-time': { type: 'string' },
    strict: { type: 'boolean', default: false },
    record: { type: 'boolean', default: false },
    scenarios: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

if (args.scenarios) {
  if (args.record) {
    console.error(`--record records the per-call run only.\n\n${USAGE}`);
    process.exit(2);
  }
  // The scenarios are a run of their own (benchmarks/service/): a service under load while its
  // downstream degrades, rather than the cost of a call.
  const { FILTER_WORDS, runScenarios } = await import('./service/run.js');
  const filter = args.filter.flatMap((f) => f.toLowerCase().split(',')).filter(Boolean);
  const unknown = filter.filter((f) => !FILTER_WORDS.some((n) => n.includes(f)));
  if (filter.length > 0 && unknown.length === filter.length) {
    console.error(
      `--filter ${filter.join(',')} matches no library or phase of the scenarios (${FILTER_WORDS.join(', ')})\n\n${USAGE}`,
    );
    process.exit(2);
  }
  await runScenarios({
    quick: args.quick,
    filter,
    outDir: resolve(args.out),
  });
  process.exit(0);
}

if (args.record && (args.quick || args.filter.length > 0)) {
  console.error(`--record takes a full run: drop --quick and --filter.\n\n${USAGE}`);
  process.exit(2);
}

const started = performance.now();
const mode = args.quick ? 'quick' : 'default';
const plan: Plan = {
  ...PLANS[mode],
  ...(args.rounds === undefined ? {} : { rounds: positiveInteger('--rounds', args.rounds) }),
  ...(args['round-time'] === undefined
    ? {}
    : { timeMs: positiveInteger('--round-time', args['round-time']) }),
};

function positiveInteger(option: string, text: string): number {
  const n = Number(text);
  if (Number.isInteger(n) && n >= 1) return n;
  console.error(`${option} must be an integer >= 1, got ${JSON.stringify(text)}\n\n${USAGE}`);
  process.exit(2);
}
const filter = args.filter.flatMap((f) => f.toLowerCase().split(',')).filter(Boolean);
const matches = (...names: string[]) =>
  filter.length === 0 || filter.some((f) => names.some((n) => n.includes(f)));

// cockatiel adds an abort listener per call in flight to one shared signal; Node's warning about
// that says nothing about speed and would only clutter the output.
setMaxListeners(Infinity);

// bulwark is loaded like the others, but a build that does not export the policy API (or an
// entry point such as bulwark/redis) yet only skips those rows; the rest still runs.
const suites: (Suite & { readonly module: string })[] = [];
const skipped: RunInfo['skipped'][number][] = [];
for (const { module, library } of MODULES) {
  try {
    const { suite } = (await import(`./scenarios/${module}.js`)) as { suite: Suite };
    suites.push({ ...suite, module });
  } catch (error) {
    if (library !== 'bulwark') throw error;
    const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    // bulwark-otel and bulwark-redis build on bulwark: one line says why all three are out.
    if (!skipped.some((k) => k.reason === reason)) {
      console.error(`${module} skipped: ${reason}. Run \`npm run build\` once it is exported.`);
    }
    skipped.push({ module, library, reason });
  }
}

const offered = SCENARIOS.flatMap((scenario) =>
  suites.flatMap((suite) => {
    const entry = suite.subjects[scenario.id];
    return entry === undefined ? [] : [{ scenario, library: suite.library, suite, entry }];
  }),
);
const wanted = offered.filter((o) => matches(o.scenario.id, o.scenario.group ?? '', o.library));
const modes = new Set(wanted.map((o) => o.scenario.mode));
// The bare call of the same mode always runs: every ratio is taken against it. So does the
// baseline of a wanted scenario, for its own ratio.
const baselines = new Set(
  wanted.flatMap((o) => (o.scenario.baseline ? [`${o.library}/${o.scenario.baseline.id}`] : [])),
);
const selected = offered.filter(
  (o) =>
    wanted.includes(o) ||
    (o.library === 'bare' && modes.has(o.scenario.mode)) ||
    baselines.has(`${o.library}/${o.scenario.id}`),
);
// Memory is measured on each library's full pipeline, from the module named after the library.
const memoryOf = suites
  .filter((s) => s.module === s.library)
  .map((s) => s.library)
  .filter((library) => plan.memory.includes(library) && matches('memory', library));
const wantsMixed = matches('mixed', 'bulwark');
if (selected.length === 0 && memoryOf.length === 0 && !wantsMixed) {
  console.error(`no scenario matches --filter ${filter.join(',')}\n\n${USAGE}`);
  process.exit(2);
}

const tty = process.stderr.isTTY;
const progress = (line: string, done: boolean) => {
  if (tty) process.stderr.write(`\r\x1b[K${line}${done ? '\n' : ''}`);
  else if (done) process.stderr.write(`${line}\n`);
};
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;

// A suite whose subjects share a server or a connection sets it up, once, and only when one of
// them was selected; when it cannot, its scenarios are skipped and the run goes on.
const opened: Suite[] = [];
const skipReasons = new Map<Suite, string>();
const subjects: Subject[] = [];
let measured: Map<string, Measured>;
const failed = new Map<string, string>();
try {
  for (const suite of suites) {
    const mine = selected.filter((o) => o.suite === suite && typeof o.entry === 'function');
    if (suite.open === undefined || mine.length === 0) continue;
    opened.push(suite);
    const reason = await suite.open();
    if (reason === undefined) continue;
    skipReasons.set(suite, reason);
    const ids = mine.map((o) => o.scenario.id);
    const groups = [...new Set(mine.map((o) => o.scenario.group ?? o.scenario.id))];
    skipped.push({ module: suite.module, library: suite.library, scenarios: ids, reason });
    console.error(`${groups.join(', ')} scenarios skipped (${ids.join(', ')}): ${reason}.`);
  }

  const runnable = selected.filter(
    ({ entry, suite }) => typeof entry === 'function' && !skipReasons.has(suite),
  );
  // Subjects are made just before their phase: a store made early could start background work
  // (a renewal, a refresh) that the other phase leaves unanswered.
  const makeTasks = (remote: boolean): Task[] =>
    runnable
      .filter(({ scenario }) => (scenario.remote === true) === remote)
      .map(({ scenario, library, entry }) => {
        const subject = (entry as () => Subject)();
        subjects.push(subject);
        return { key: `${library}/${scenario.id}`, scenario, subject };
      });

  console.error(
    `bulwark benchmark (${mode}): ${runnable.length} tasks x ${plan.rounds} rounds of ${plan.timeMs} ms, ` +
      `memory of ${memoryOf.join(', ') || 'none'}; node ${process.version}, ${cpus().length} cpus`,
  );
  // Scenarios that wait on a server are measured in rounds of their own: the in-process tasks
  // resolve through microtasks alone and hold the event loop for whole rounds, so a server's
  // answer (or a store's background renewal) would sit unread and time out meanwhile.
  const report = (label: string) => (round: number, done: number, total: number, key: string) =>
    done < total
      ? progress(
          `${label}round ${round}/${plan.rounds}  ${done}/${total}  ${key}  (${elapsed()})`,
          false,
        )
      : progress(`${label}round ${round}/${plan.rounds} done  (${elapsed()})`, true);
  const local = makeTasks(false);
  measured =
    local.length === 0
      ? new Map<string, Measured>()
      : await measure(local, plan, report(''), failed);
  const remote = makeTasks(true);
  if (remote.length > 0) {
    for (const [key, m] of await measure(remote, plan, report('distributed: '), failed)) {
      measured.set(key, m);
    }
  }
  for (const [key, reason] of failed) {
    console.error(`${key} failed and was dropped from the run: ${reason}`);
  }
} finally {
  // Servers and connections would keep the process alive, and a failed run must not leave a
  // server behind.
  for (const s of subjects) s.dispose?.();
  for (const suite of opened) await suite.close?.();
}

const rows: Row[] = selected.map(({ scenario, library, suite, entry }) => {
  const m = measured.get(`${library}/${scenario.id}`);
  if (m) return { scenario, library, measured: m };
  const failure = failed.get(`${library}/${scenario.id}`);
  if (failure !== undefined) return { scenario, library, skipped: `failed: ${failure}` };
  const reason = skipReasons.get(suite);
  return reason === undefined
    ? { scenario, library, unavailable: String(entry) }
    : { scenario, library, skipped: reason };
});

const growth: Results['growth'] = {};
const idle: Results['idle'] = {};
for (const library of memoryOf) {
  progress(
    `memory: ${library}, ${plan.calls.toLocaleString('en-US')} calls  (${elapsed()})`,
    false,
  );
  growth[library] = await heapGrowth(library, plan.calls);
  progress(
    `memory: ${library}, ${plan.instances.toLocaleString('en-US')} idle instances  (${elapsed()})`,
    false,
  );
  idle[library] = await idleInstances(library, plan.instances);
  progress(`memory: ${library} done  (${elapsed()})`, true);
}

// The mixed run needs bulwark and takes its own child processes (benchmarks/mixed.ts).
let mixed: MixedRow[] | undefined;
if (suites.some((s) => s.module === 'bulwark') && wantsMixed) {
  // --rounds and --round-time, when given, set the mixed run's rounds too.
  const mixedPlan = {
    ...plan.mixed,
    ...(args.rounds === undefined ? {} : { rounds: plan.rounds }),
    ...(args['round-time'] === undefined ? {} : { timeMs: plan.timeMs }),
  };
  mixed = await mixedRun(mixedPlan, (line) => progress(`${line}  (${elapsed()})`, false));
  progress(`mixed done  (${elapsed()})`, true);
}

const results: Results = { rows, growth, idle, ...(mixed ? { mixed } : {}) };
const targets = evaluateTargets(results);
console.log(renderText(results, targets));

const outDir = resolve(args.out);
mkdirSync(outDir, { recursive: true });
const durationMs = Math.round(performance.now() - started);
const json = renderJson(results, targets, {
  mode,
  filter,
  rounds: plan.rounds,
  timePerTaskMs: plan.timeMs,
  skipped,
  durationMs,
});
const text = `${JSON.stringify(json, null, 2)}\n`;
// The dated copy lets `npm run bench:agree` compare back-to-back runs.
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(join(outDir, `run-${stamp}-${mode}.json`), text);
writeFileSync(join(outDir, 'latest.json'), text);
const cpu = cpus()[0]?.model.trim() ?? 'unknown cpu';
const subtitle = `${new Date().toISOString().slice(0, 10)} · node ${process.version} · ${cpu} x ${cpus().length}`;
writeFileSync(join(outDir, 'latest.svg'), renderSvg(results, subtitle));
console.error(`wrote ${join(outDir, 'latest.json')} and latest.svg in ${elapsed()}`);
if (args.record) {
  const baseline = resolve(BASELINE_DIR);
  copyFileSync(join(outDir, 'latest.json'), join(baseline, 'baseline.json'));
  copyFileSync(join(outDir, 'latest.svg'), join(baseline, 'baseline.svg'));
  console.error(
    `recorded as the baseline: ${join(BASELINE_DIR, 'baseline.json')} and baseline.svg`,
  );
}

if (args.strict && targets.some((t) => t.pass === false)) process.exitCode = 1;
