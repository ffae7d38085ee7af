// A smoke test of the service scenarios (`npm run bench -- --scenarios`): a quick run with the
// service alone and behind bulwark's policy, in a child process, with phases of about a second,
// and one of a single phase with the consecutive-failure breaker.
// Figures vary with the machine; only the report's shape and the outage's gross effect (the
// breaker keeps nearly all requests off the dead downstream) are judged.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('../../benchmarks/run.js', import.meta.url));

interface Row {
  library: string;
  offered: number;
  goodputPerSec: number;
  fallbacks: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  downstreamRequests: number;
  downstreamRequestsWhileDown: number;
  detectMs: number | null;
  recoverMs: number | null;
  loopDelayMs: { p50: number; p99: number; max: number };
  cpuMs: number;
  trace: {
    initialState: string;
    opens: number;
    halfOpens: number;
    closes: number;
    share: { closed: number; open: number; 'half-open': number };
    transitions: { atMs: number; to: string }[];
    attempts: number;
    attemptsOk: number;
    attemptsOkLate: number;
    attemptsFailed: number;
    attemptsCancelled: number;
    retries: number;
    fallbacks: { probe: number; circuit: number; bulkhead: number; timeout: number; error: number };
  };
}

interface Report {
  run: { mode: string; breaker: string; libraries: string[] };
  phases: { id: string; rate: number; durationMs: number; rows: Row[] }[];
}

function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [runner, ...args], { timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('benchmark scenarios', function () {
  this.timeout(150_000);
  let out: string;
  let report: Report;
  let stdout: string;

  before(async () => {
    out = mkdtempSync(join(tmpdir(), 'bulwark-scenarios-'));
    const result = await run(['--scenarios', '--quick', '--filter', 'none,bulwark', '--out', out]);
    expect(result.code, result.stderr).to.equal(0);
    stdout = result.stdout;
    report = JSON.parse(readFileSync(join(out, 'scenarios-latest.json'), 'utf8')) as Report;
  });

  after(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('reports every phase for each library asked for, with a table and a chart per phase', () => {
    expect(report.run.mode).to.equal('quick');
    expect(report.run.breaker).to.equal('rate');
    expect(report.run.libraries).to.deep.equal(['none', 'bulwark']);
    expect(report.phases.map((p) => p.id)).to.deep.equal([
      'outage',
      'slow',
      'flapping',
      'overload',
    ]);
    for (const phase of report.phases) {
      expect(
        phase.rows.map((r) => r.library),
        phase.id,
      ).to.deep.equal(['none', 'bulwark']);
      for (const row of phase.rows) {
        const where = `${phase.id}/${row.library}`;
        // The load is bounded: rate x duration requests, each answered, timed out or shed.
        expect(row.offered, where).to.equal(Math.round((phase.rate * phase.durationMs) / 1000));
        expect(row.goodputPerSec, where).to.be.at.least(0);
        expect(row.fallbacks + row.failed, where).to.be.at.most(row.offered);
        expect(row.p99Ms, where).to.be.at.least(row.p50Ms);
        expect(row.downstreamRequests, where).to.be.at.least(row.downstreamRequestsWhileDown);
        expect(row.loopDelayMs.p99, where).to.be.a('number').and.at.least(0);
        expect(row.cpuMs, where).to.be.a('number').and.greaterThan(0);
        // The trace accounts for every fallback answer, and its state shares for the phase.
        const { trace } = row;
        const fallbacks = Object.values(trace.fallbacks).reduce((a, b) => a + b, 0);
        expect(fallbacks, where).to.equal(row.fallbacks);
        const share = trace.share.closed + trace.share.open + trace.share['half-open'];
        expect(share, where).to.be.closeTo(1, 1e-9);
        expect(trace.attemptsOk + trace.attemptsOkLate, where).to.be.at.most(trace.attempts);
        expect(trace.transitions.length, where).to.equal(
          trace.opens + trace.halfOpens + trace.closes,
        );
      }
      const svg = readFileSync(join(out, `scenarios-${phase.id}.svg`), 'utf8');
      expect(svg).to.match(/^<svg [^>]*>[\s\S]*<\/svg>\s*$/);
      expect(svg).to.include('>bulwark</text>');
    }
    expect(stdout).to.match(/^library +offered +goodput\/s/m);
    expect(stdout).to.match(/^trace +start +attempts +ok +ok late/m);
    expect(readdirSync(out).filter((f) => /^scenarios-.*-quick\.json$/.test(f))).to.have.length(1);
  });

  it('shows the breaker sparing the downstream during the outage, then finding it again', () => {
    const outage = report.phases.find((p) => p.id === 'outage')!;
    const none = outage.rows.find((r) => r.library === 'none')!;
    const bulwark = outage.rows.find((r) => r.library === 'bulwark')!;
    // Without a policy every request during the outage reaches the dead downstream.
    expect(none.downstreamRequestsWhileDown).to.be.greaterThan(50);
    expect(none.detectMs).to.equal(null);
    // With one, the circuit opens once half the calls of its last second fail (that second
    // starts full of healthy calls, so about a third of the way into the outage) and the rest are
    // answered by the fallback.
    expect(bulwark.detectMs).to.be.a('number').below(1000);
    expect(bulwark.downstreamRequestsWhileDown).to.be.below(none.downstreamRequestsWhileDown);
    expect(bulwark.fallbacks).to.be.greaterThan(0);
    expect(bulwark.failed).to.equal(0);
    // The circuit closes again once the downstream is back, within the phase.
    expect(bulwark.recoverMs).to.be.a('number');
    expect(bulwark.goodputPerSec).to.be.greaterThan(0);
    // The trace shows the circuit opening, probing and closing, and the service without a policy
    // sending every request.
    const moves = bulwark.trace.transitions.map((t) => t.to);
    expect(moves).to.include.members(['open', 'half-open', 'closed']);
    expect(bulwark.trace.fallbacks.circuit).to.be.greaterThan(0);
    expect(none.trace.attempts).to.equal(none.offered);
    expect(none.trace.transitions).to.deep.equal([]);
  });

  it('runs the phases and the breaker mode a filter names: a consecutive breaker opens sooner', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-scenarios-'));
    try {
      const result = await run([
        '--scenarios',
        '--quick',
        '--filter',
        'none,bulwark,outage,consecutive',
        '--out',
        dir,
      ]);
      expect(result.code, result.stderr).to.equal(0);
      const one = JSON.parse(readFileSync(join(dir, 'scenarios-latest.json'), 'utf8')) as Report;
      expect(one.run.breaker).to.equal('consecutive');
      expect(one.run.libraries).to.deep.equal(['none', 'bulwark']);
      expect(one.phases.map((p) => p.id)).to.deep.equal(['outage']);
      const [none, bulwark] = one.phases[0]!.rows;
      // Five failures in a row at 100 requests/s: the circuit opens within a few dozen ms, and
      // nearly all the outage's requests are spared the dead downstream (a rate breaker, whose
      // window starts with a second of healthy calls, lets through more than a quarter).
      expect(bulwark!.library).to.equal('bulwark');
      expect(bulwark!.trace.opens).to.be.at.least(1);
      expect(bulwark!.downstreamRequestsWhileDown).to.be.below(
        none!.downstreamRequestsWhileDown / 4,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a filter that names no library of the scenarios', async () => {
    const { code, stderr } = await run([
      '--scenarios',
      '--quick',
      '--filter',
      'nothing',
      '--out',
      out,
    ]);
    expect(code).to.equal(2);
    expect(stderr).to.include('--filter nothing matches no library or phase');
  });
});
