// Do back-to-back runs agree? `node .bench-build/benchmarks/agree.js [--runs N] [--tolerance F]
// [FILE...]` reads the last N default runs in benchmarks/results/runs/ (or the JSON files given)
// and, for every headline ratio (the targets that are ratios), prints each run's value and how
// far the farthest one lies from their mean. Exit code 1 when one lies farther than the
// tolerance (default 0.10: every run within +/-10% of the mean), 2 when there are too few runs.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';

interface RunTarget {
  readonly id: string;
  readonly description: string;
  readonly value: number | null;
  readonly spread?: { readonly min: number; readonly max: number };
}

interface RunJson {
  readonly generatedAt: string;
  readonly run: { readonly mode: string; readonly filter: readonly string[] };
  readonly targets: readonly RunTarget[];
}

const USAGE = `usage: agree.js [--runs N] [--tolerance F] [FILE...]
  --runs       how many of the latest default runs in benchmarks/results/runs/ (default 3)
  --tolerance  largest allowed distance from the runs' mean, as a fraction (default 0.10)`;

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '3' },
    tolerance: { type: 'string', default: '0.10' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const count = Number(args.runs);
const tolerance = Number(args.tolerance);
if (!Number.isInteger(count) || count < 2 || !(tolerance > 0)) {
  console.error(`--runs must be an integer >= 2 and --tolerance a fraction > 0\n\n${USAGE}`);
  process.exit(2);
}

const runsDir = join('benchmarks', 'results', 'runs');
let files = positionals;
if (files.length === 0) {
  let names: string[] = [];
  try {
    names = readdirSync(runsDir).filter((f) => /^run-.*-default\.json$/.test(f));
  } catch {
    // No run yet: reported below.
  }
  files = names
    .sort()
    .slice(-count)
    .map((f) => join(runsDir, f));
}
if (files.length < 2) {
  console.error(
    `need at least 2 runs to compare, found ${files.length} in ${runsDir}: run \`npm run bench\` ` +
      `${count} times first.`,
  );
  process.exit(2);
}

const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as RunJson);
const partial = runs.filter((r) => r.run.mode !== 'default' || r.run.filter.length > 0);
if (partial.length > 0) {
  console.error('note: some runs are quick or filtered; their figures are not comparable.');
}

const headline = runs[0]!.targets.filter((t) => t.spread !== undefined).map((t) => t.id);
const rows: string[][] = [];
let disagree = 0;
for (const id of headline) {
  const values = runs.map((r) => r.targets.find((t) => t.id === id)?.value ?? null);
  const description = runs[0]!.targets.find((t) => t.id === id)!.description;
  if (values.some((v) => v === null)) {
    rows.push([description, ...values.map((v) => (v === null ? 'not run' : fmt(v))), '', 'n/a']);
    continue;
  }
  const nums = values as number[];
  const mean = nums.reduce((a, b) => a + b, 0) / nums.length;
  const farthest = Math.max(...nums.map((v) => Math.abs(v - mean) / mean));
  const ok = farthest <= tolerance;
  if (!ok) disagree++;
  rows.push([
    description,
    ...nums.map(fmt),
    `±${(farthest * 100).toFixed(1)}%`,
    ok ? 'agree' : 'DISAGREE',
  ]);
}

const header = ['headline ratio', ...runs.map((_, i) => `run ${i + 1}`), 'farthest', ''];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: readonly string[]) =>
  cells
    .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
    .join('  ')
    .trimEnd();
console.log(files.map((f, i) => `run ${i + 1}: ${basename(f)}`).join('\n'));
console.log(
  ['', line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n'),
);
console.log(
  `\nfarthest: the largest distance of one run's value from the ${runs.length} runs' mean.`,
);
console.log(
  disagree === 0
    ? `All ${headline.length} headline ratios agree within ±${tolerance * 100}%.`
    : `${disagree} of ${headline.length} headline ratios differ by more than ±${tolerance * 100}%.`,
);
if (disagree > 0) process.exitCode = 1;

function fmt(v: number): string {
  return `${v < 10 ? v.toFixed(2) : v.toFixed(1)}x`;
}
