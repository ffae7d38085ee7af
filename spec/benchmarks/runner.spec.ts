// A smoke test of the benchmark runner: it runs, filtered and quick, in a child process and
// writes its results where it is told. Timings are not judged here; `npm run bench` does that.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The spec build compiles benchmarks/ next to spec/, so the runner sits two folders up.
const runner = fileURLToPath(new URL('../../benchmarks/run.js', import.meta.url));
const agree = fileURLToPath(new URL('../../benchmarks/agree.js', import.meta.url));

interface Scenario {
  id: string;
  library: string;
  nsPerCall?: number;
  skipped?: string;
}

function run(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  script = runner,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      { timeout: 120_000, env },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('benchmark runner', function () {
  this.timeout(150_000);
  let out: string;

  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'bulwark-bench-'));
  });

  afterEach(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('runs a filtered quick benchmark, exits by itself and writes JSON and SVG to --out', async () => {
    const { code, stderr } = await run(['--quick', '--filter', 'bare', '--out', out]);
    expect(code, stderr).to.equal(0);

    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as {
      scenarios: Scenario[];
      targets: { pass: boolean | null }[];
    };
    const bare = json.scenarios.find((s) => s.id === 'bare' && s.library === 'bare');
    expect(bare?.nsPerCall).to.be.a('number').greaterThan(0);
    expect(json.scenarios.map((s) => s.library)).to.satisfy((libs: string[]) =>
      libs.every((l) => l === 'bare'),
    );
    // Targets whose scenarios were filtered out are reported as not run, never as met.
    expect(json.targets).to.not.be.empty;
    expect(json.targets.every((t) => t.pass === null)).to.equal(true);
    expect(readFileSync(join(out, 'latest.svg'), 'utf8')).to.match(
      /^<svg [^>]*>[\s\S]*<\/svg>\s*$/,
    );
  });

  it('reports a headline ratio as its median over rounds with its lowest and highest round', async () => {
    const { code, stdout, stderr } = await run(['--quick', '--filter', 'fallback', '--out', out]);
    expect(code, stderr).to.equal(0);

    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as {
      run: { rounds: number };
      targets: {
        id: string;
        value: number | null;
        spread?: { min: number; max: number; perRound: number[] };
      }[];
    };
    const target = json.targets.find((t) => t.id === 'fallback-vs-cockatiel');
    const spread = target?.spread;
    expect(spread?.perRound).to.have.length(json.run.rounds);
    const sorted = [...spread!.perRound].sort((a, b) => a - b);
    expect(target?.value).to.equal(sorted[sorted.length >> 1]); // an odd number of rounds
    expect(spread?.min).to.equal(sorted[0]);
    expect(spread?.max).to.equal(sorted[sorted.length - 1]);
    expect(stdout).to.match(
      new RegExp(
        `fallback stage .*: [\\d.]+x \\(${json.run.rounds} rounds: [\\d.]+x to [\\d.]+x\\)`,
      ),
    );
    // Every run also leaves a dated copy, for comparing back-to-back runs.
    expect(readdirSync(out).filter((f) => /^run-.*-quick\.json$/.test(f))).to.have.length(1);
  });

  it('runs the mixed run: each bulwark shape alone and all of them alive in one process', async () => {
    const args = ['--quick', '--filter', 'mixed', '--rounds', '1', '--round-time', '5'];
    const { code, stdout, stderr } = await run([...args, '--out', out]);
    expect(code, stderr).to.equal(0);

    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as {
      mixed: { id: string; soloNs: number; mixedNs: number; ratio: number }[];
      targets: { id: string; value: number | null; pass: boolean | null }[];
    };
    const ids = json.mixed.map((m) => m.id);
    // The six single stages, the full pipeline and shapes of several stages.
    expect(ids).to.include.members([
      'fallback',
      'rate-limiter',
      'bulkhead',
      'retry',
      'circuit-breaker',
      'timeout',
      'pipeline',
    ]);
    expect(ids.length).to.be.greaterThan(7);
    for (const m of json.mixed) {
      expect(m.soloNs, m.id).to.be.greaterThan(0);
      expect(m.ratio, m.id).to.be.closeTo(m.mixedNs / m.soloNs, 1e-9);
    }
    const target = json.targets.find((t) => t.id === 'mixed-vs-solo');
    expect(target?.value).to.equal(Math.max(...json.mixed.map((m) => m.ratio)));
    expect(target?.pass).to.equal(target!.value! <= 1.3);
    expect(stdout).to.match(/^mixed run \(bulwark\) +solo ns +mixed ns +mixed\/solo$/m);
  });

  it('refuses to record a quick or filtered run as the baseline, before measuring anything', async () => {
    for (const args of [['--quick'], ['--filter', 'bare']]) {
      const { code, stderr } = await run([...args, '--record', '--out', out]);
      expect(code).to.equal(2);
      expect(stderr).to.match(/^--record takes a full run/);
      expect(readdirSync(out)).to.deep.equal([]);
    }
  });

  it('refuses a number of rounds or a round time that is not a positive integer', async () => {
    for (const [option, value] of [
      ['--rounds', '0'],
      ['--round-time', '1.5'],
    ] as const) {
      const { code, stderr } = await run(['--quick', option, value, '--out', out]);
      expect(code).to.equal(2);
      expect(stderr).to.include(`${option} must be an integer >= 1, got "${value}"`);
    }
  });

  it('bench:agree passes runs whose headline ratios lie within ±10% of their mean, and only those', async () => {
    const write = (name: string, value: number) => {
      const file = join(out, name);
      const target = { id: 'pipeline-vs-bare', description: 'full pipeline <= 8x the bare call' };
      writeFileSync(
        file,
        JSON.stringify({
          generatedAt: '2026-12-06T00:00:00.000Z',
          run: { mode: 'default', filter: [] },
          targets: [
            { ...target, value, spread: { min: value, max: value, perRound: [value] } },
            { id: 'idle-timers', description: 'idle policies hold no timers', value: 0 },
          ],
        }),
      );
      return file;
    };
    const close = [write('a.json', 9), write('b.json', 10), write('c.json', 11)];
    const ok = await run(close, process.env, agree);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(
      /full pipeline <= 8x the bare call +9\.00x +10\.0x +11\.0x +±10\.0% +agree/,
    );
    expect(ok.stdout).to.include('All 1 headline ratios agree within ±10%.');

    const far = [write('d.json', 8), write('e.json', 10), write('f.json', 12)];
    const bad = await run(far, process.env, agree);
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.match(/±20\.0% +DISAGREE/);
  });

  it('skips the Redis scenarios with one line and a JSON record when there is no redis-server', async () => {
    const { code, stderr } = await run(
      ['--quick', '--filter', 'rate-limiter-acquire-redis', '--out', out],
      { ...process.env, REDIS_SERVER: join(out, 'no-redis-server-here') },
    );
    expect(code, stderr).to.equal(0);
    expect(stderr).to.match(
      /^distributed scenarios skipped \(rate-limiter-acquire-redis\): no redis-server/m,
    );

    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as {
      scenarios: Scenario[];
      run: { skipped: { module: string; scenarios?: string[]; reason: string }[] };
    };
    const redis = json.scenarios.find((s) => s.id === 'rate-limiter-acquire-redis');
    expect(redis?.skipped).to.match(/no redis-server/);
    expect(redis?.nsPerCall).to.equal(undefined);
    // Its baseline still runs, as it would next to a measured Redis row.
    const local = json.scenarios.find((s) => s.id === 'rate-limiter-acquire');
    expect(local?.nsPerCall).to.be.a('number').greaterThan(0);
    expect(json.run.skipped).to.deep.include({
      module: 'bulwark-redis',
      library: 'bulwark',
      scenarios: ['rate-limiter-acquire-redis'],
      reason: redis?.skipped,
    });
  });
});
