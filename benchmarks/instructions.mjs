// Instructions per call, counted by valgrind's callgrind: a measure of the per-call path that a
// busy machine does not disturb (see docs/PERFORMANCE.md, "Instruction counts"). Run by hand:
//
//   npm run build && node benchmarks/instructions.mjs
//   node benchmarks/instructions.mjs --filter bulkhead,pipeline --libs bulwark,cockatiel
//   node benchmarks/instructions.mjs --dist /tmp/other/dist --libs bulwark   # another build
//   node benchmarks/instructions.mjs --annotate timeout:async     # where one shape's go
//   node benchmarks/instructions.mjs --cpu --base /tmp/before/dist   # CPU ns/call, two builds
//
// Each measurement runs this file under callgrind twice, as a child that warms one shape up
// (WARMUP calls, so that the optimising compiler has done its work: the JIT stays on) and then
// makes N, resp. 2N, more calls of it, awaited one at a time. (Ir(2N) - Ir(N)) / N is the
// instruction count of one call: start-up, compilation and the warm-up cancel out. Node runs
// with `--single-threaded` (V8 compiles and collects on the main thread): with its background
// threads the count of a run wandered by 10% and more; without them, by about 1%.
// cockatiel's timeout and pipeline (10 µs and more a call) make a tenth of the calls.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const WARMUP = 200_000;

/** The policies measured, by shape; each library gives its equivalent where it has one. */
const shapes = {
  bare: { bare: () => ({ execute: (fn) => fn() }) },
  empty: {
    bulwark: ({ Policy }) => Policy.builder('empty').build(),
    cockatiel: (c) => c.noop,
  },
  fallback: {
    bulwark: ({ Policy }) => Policy.builder('fallback').fallback({ value: 0 }).build(),
    cockatiel: (c) => c.fallback(c.handleAll, 0),
  },
  bulkhead: {
    bulwark: ({ Policy }) => Policy.builder('bulkhead').bulkhead({ maxConcurrent: 1000 }).build(),
    cockatiel: (c) => c.bulkhead(1000),
  },
  retry: {
    bulwark: ({ Policy }) => Policy.builder('retry').retry({ maxAttempts: 3 }).build(),
    // cockatiel counts retries, bulwark attempts.
    cockatiel: (c) => c.retry(c.handleAll, { maxAttempts: 2 }),
  },
  'circuit-breaker': {
    bulwark: ({ Policy }) => Policy.builder('breaker').circuitBreaker({}).build(),
    cockatiel: (c) =>
      c.circuitBreaker(c.handleAll, {
        halfOpenAfter: 30_000,
        breaker: new c.ConsecutiveBreaker(5),
      }),
  },
  timeout: {
    bulwark: ({ Policy }) => Policy.builder('timeout').timeout('1s').build(),
    cockatiel: (c) => c.timeout(1000, c.TimeoutStrategy.Cooperative),
  },
  // README's example, with enough tokens that the rate limiter grants every call.
  pipeline: {
    bulwark: ({ Policy }) =>
      Policy.builder('pricing')
        .fallback({ value: null })
        .rateLimiter({ maxTokens: 1e9, refillRate: 1e9 })
        .bulkhead({ maxConcurrent: 10 })
        .retry({ maxAttempts: 3, delay: '200ms', backoff: 2, jitter: 0.2, maxDelay: '2s' })
        .circuitBreaker({ failureThreshold: 5, recoveryTimeout: '30s' })
        .timeout('3s')
        .build(),
    cockatiel: (c) =>
      c.wrap(
        c.fallback(c.handleAll, null),
        c.bulkhead(10),
        c.retry(c.handleAll, { maxAttempts: 2, backoff: new c.ExponentialBackoff() }),
        c.circuitBreaker(c.handleAll, {
          halfOpenAfter: 30_000,
          breaker: new c.ConsecutiveBreaker(5),
        }),
        c.timeout(3000, c.TimeoutStrategy.Cooperative),
      ),
  },
};

/** One library's policy for `shape` calling `fn`, as `() => Promise`. */
async function subject(lib, shape, fn, dist) {
  const make = shapes[shape][lib];
  if (lib === 'bare') return () => fn();
  if (lib === 'opossum') {
    const { default: CircuitBreaker } = await import('opossum');
    const breaker = new CircuitBreaker(fn, { timeout: shape === 'pipeline' ? 3000 : false });
    return () => breaker.fire();
  }
  const module =
    lib === 'bulwark'
      ? await import(pathToFileURL(join(dist, 'esm/index.js')).href)
      : await import('cockatiel');
  const policy = make(module);
  return () => policy.execute(fn);
}

async function child([lib, shape, kind, count, dist, warmup, cpu]) {
  const fn = kind === 'sync' ? () => 1 : async () => 1;
  const call = await subject(lib, shape, fn, dist);
  for (let i = 0; i < Number(warmup); i++) await call();
  const n = Number(count);
  if (cpu === undefined) {
    for (let i = 0; i < n; i++) await call();
    process.exit(0);
  }
  // CPU time per call, best of 5 rounds of n calls.
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) await call();
    const used = process.cpuUsage(start);
    best = Math.min(best, ((used.user + used.system) * 1000) / n);
  }
  process.stdout.write(`${best}\n`);
  process.exit(0);
}

/**
 * `--cpu`: the same shapes timed natively, CPU ns per call (`process.cpuUsage`, best of 5 rounds
 * in a process), this build and `--base`'s alternated in processes of their own, 5 times each;
 * prints each build's best.
 */
async function cpuTimes(opts) {
  const dists = [opts.base, opts.dist].filter((d) => d !== undefined);
  console.log(['shape', 'thunk', ...dists].join('\t'));
  for (const shape of Object.keys(shapes)) {
    if (opts.filter && !opts.filter.some((f) => shape.includes(f))) continue;
    const lib = shape === 'bare' ? 'bare' : 'bulwark';
    for (const kind of opts.kinds) {
      const best = dists.map(() => Infinity);
      for (let i = 0; i < 5; i++) {
        for (const [d, dist] of dists.entries()) {
          const args = [lib, shape, kind, String(opts.n), dist, String(WARMUP), 'cpu'];
          const { stdout } = await run(process.execPath, [
            fileURLToPath(import.meta.url),
            '--child',
            ...args,
          ]);
          best[d] = Math.min(best[d], Number(stdout));
        }
      }
      console.log([shape, kind, ...best.map((ns) => ns.toFixed(1))].join('\t'));
    }
  }
}

function options(argv) {
  const opts = {
    dist: join(here, '..', 'dist'),
    n: 200_000,
    libs: ['bare', 'bulwark', 'cockatiel', 'opossum'],
    filter: undefined,
    kinds: ['sync', 'async'],
    annotate: undefined,
    jobs: 1,
    cpu: false,
    base: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--dist') opts.dist = resolve(value);
    else if (flag === '--n') opts.n = Number(value);
    else if (flag === '--libs') opts.libs = value.split(',');
    else if (flag === '--filter') opts.filter = value.split(',');
    else if (flag === '--kinds') opts.kinds = value.split(',');
    else if (flag === '--annotate') opts.annotate = value;
    else if (flag === '--jobs') opts.jobs = Number(value);
    else if (flag === '--base') opts.base = resolve(value);
    else if (flag === '--cpu') {
      opts.cpu = true;
      continue;
    } else throw new Error(`unknown option ${flag}`);
    i++;
  }
  return opts;
}

const run = promisify(execFile);

/** Runs one child under callgrind; returns its output file. */
async function callgrind(dir, tag, args, extra = []) {
  const out = join(dir, `${tag}.cg`);
  // The child's pid names V8's perf map (valgrind runs node in its own process).
  const pidFile = `${out}.pid`;
  await run(
    'valgrind',
    [
      '--tool=callgrind',
      '--dump-instr=no',
      // JIT code is written and rewritten at run time.
      '--smc-check=all-non-file',
      `--callgrind-out-file=${out}`,
      `--log-file=${pidFile}.%p`,
      process.execPath,
      '--single-threaded',
      ...extra,
      fileURLToPath(import.meta.url),
      '--child',
      ...args,
    ],
    // In the scratch directory: V8 writes its code log (isolate-*.log) where it runs.
    { maxBuffer: 64 << 20, cwd: dir },
  );
  return out;
}

function totalIr(file) {
  const match = /^(?:summary|totals):\s*(\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!match) throw new Error(`no total in ${file}`);
  return Number(match[1]);
}

/** Instructions per call of one shape: (Ir(2N) - Ir(N)) / N. */
async function perCall(dir, lib, shape, kind, opts) {
  const slow = lib === 'cockatiel' && (shape === 'timeout' || shape === 'pipeline');
  const n = slow ? opts.n / 10 : opts.n;
  const warmup = String(slow ? WARMUP / 10 : WARMUP);
  const args = [lib, shape, kind];
  const tag = `${lib}-${shape}-${kind}`;
  const [one, two] = await Promise.all([
    callgrind(dir, `${tag}-1`, [...args, String(n), opts.dist, warmup]),
    callgrind(dir, `${tag}-2`, [...args, String(2 * n), opts.dist, warmup]),
  ]);
  return (totalIr(two) - totalIr(one)) / n;
}

/**
 * Where one shape's instructions go: callgrind with JS frames named (from V8's perf map), both
 * runs' functions differenced, the top ones per call.
 */
async function annotate(dir, lib, shape, kind, opts) {
  const profile = async (count) => {
    const file = await callgrind(
      dir,
      `annotate-${count}`,
      [lib, shape, kind, String(count), opts.dist, String(WARMUP)],
      ['--perf-basic-prof', '--interpreted-frames-native-stack'],
    );
    const log = readdirSync(dir).find((f) => f.startsWith(`annotate-${count}.cg.pid.`));
    const map = `/tmp/perf-${log.slice(log.lastIndexOf('.') + 1)}.map`;
    const symbols = perfMap(map);
    rmSync(map);
    return byFunction(file, symbols);
  };
  const [one, two] = await Promise.all([profile(opts.n), profile(2 * opts.n)]);
  const rows = [...two].map(([name, ir]) => [name, (ir - (one.get(name) ?? 0)) / opts.n]);
  rows.sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, ir]) => sum + ir, 0);
  // Start-up differs a little from run to run (OpenSSL, the snapshot): what shows up below as
  // less in the longer run is that noise, and about as much of it inflates rows above.
  const noise = rows.reduce((sum, [, ir]) => (ir < 0 ? sum - ir : sum), 0);
  console.log(
    `${lib} ${shape} (${kind}): ${total.toFixed(0)} Ir/call (start-up noise about ${noise.toFixed(0)}); top functions:`,
  );
  for (const [name, ir] of rows.slice(0, 40)) {
    if (ir < 1) break;
    console.log(
      `${ir.toFixed(1).padStart(8)}  ${name.replace(/file:\/\/\S*\/(?=[^/]+\.m?js)/, '')}`,
    );
  }
}

/** V8's perf map: [start, end, name], sorted by start. */
function perfMap(file) {
  const rows = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (m) {
      const start = parseInt(m[1], 16);
      rows.push([start, start + parseInt(m[2], 16), m[3]]);
    }
  }
  return rows.sort((a, b) => a[0] - b[0]);
}

function lookup(symbols, address) {
  let lo = 0;
  let hi = symbols.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [start, end, name] = symbols[mid];
    if (address < start) hi = mid - 1;
    else if (address >= end) lo = mid + 1;
    else return name;
  }
  return undefined;
}

/**
 * Self cost per function from a callgrind file (its `fn=` blocks, cost lines following them;
 * calls' inclusive costs skipped). Functions callgrind could not name (JIT code: `0x...`) are
 * named from the perf map.
 */
function byFunction(file, symbols) {
  const names = new Map();
  const costs = new Map();
  let current;
  let skipNext = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    // Names are given once, by the first `fn=` or `cfn=` line that mentions the function.
    const named = /^c?fn=\((\d+)\) (.*)$/.exec(line);
    if (named) names.set(named[1], named[2]);
    if (line.startsWith('fn=')) {
      const m = /^fn=\((\d+)\)/.exec(line);
      // Recursion levels (`name'2`) count as their function.
      let name = names.get(m[1]).replace(/'\d+$/, '');
      const hex = /^0x([0-9a-f]+)$/.exec(name);
      if (hex) name = lookup(symbols, parseInt(hex[1], 16)) ?? 'JIT code (unnamed)';
      current = name;
    } else if (line.startsWith('calls=')) {
      skipNext = true;
    } else if (/^[+-]?\d/.test(line) && current !== undefined) {
      if (skipNext) {
        skipNext = false;
        continue;
      }
      const parts = line.trim().split(/\s+/);
      const ir = Number(parts[1] ?? 0);
      costs.set(current, (costs.get(current) ?? 0) + ir);
    }
  }
  return costs;
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return child(argv.slice(1));
  const opts = options(argv);
  if (opts.cpu) return cpuTimes(opts);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ir-'));
  try {
    if (opts.annotate !== undefined) {
      const [shape, kind = 'async', lib = 'bulwark'] = opts.annotate.split(':');
      await annotate(dir, lib, shape, kind, opts);
      return;
    }
    console.log(`Ir per call (N = ${opts.n}, after ${WARMUP} warm-up calls), ${opts.dist}`);
    console.log(['shape', 'thunk', ...opts.libs].join('\t'));
    const rows = [];
    for (const shape of Object.keys(shapes)) {
      if (opts.filter && !opts.filter.some((f) => shape.includes(f))) continue;
      for (const kind of opts.kinds) {
        const cells = opts.libs.map((lib) => {
          const has =
            lib === 'bare'
              ? shape === 'bare'
              : lib === 'opossum'
                ? shape === 'circuit-breaker' || shape === 'pipeline'
                : shapes[shape][lib] !== undefined;
          return has ? { lib, shape, kind, ir: undefined } : undefined;
        });
        rows.push({ shape, kind, cells });
      }
    }
    // A pool of `--jobs` measurements at a time (each runs its two children side by side).
    const queue = rows.flatMap((row) => row.cells.filter((cell) => cell !== undefined));
    const worker = async () => {
      for (let cell = queue.shift(); cell !== undefined; cell = queue.shift()) {
        cell.ir = await perCall(dir, cell.lib, cell.shape, cell.kind, opts);
      }
    };
    await Promise.all(Array.from({ length: opts.jobs }, worker));
    for (const { shape, kind, cells } of rows) {
      console.log([shape, kind, ...cells.map((c) => (c ? c.ir.toFixed(0) : ''))].join('\t'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
