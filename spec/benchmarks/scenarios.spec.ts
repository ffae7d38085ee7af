// A smoke test of the service scenarios (`npm run bench -- --scenarios`): a quick run with the
// service alone and behind bulwark's policy, in a child process, with phases of about a second.
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
}

interface Report {
  run: { mode: string; libraries: string[] };
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
      }
      const svg = readFileSync(join(out, `scenarios-${phase.id}.svg`), 'utf8');
      expect(svg).to.match(/^<svg [^>]*>[\s\S]*<\/svg>\s*$/);
      expect(svg).to.include('>bulwark</text>');
    }
    expect(stdout).to.match(/^library +offered +goodput\/s/m);
    expect(readdirSync(out).filter((f) => /^scenarios-.*-quick\.json$/.test(f))).to.have.length(1);
  });

  it('shows the breaker sparing the downstream during the outage, then finding it again', () => {
    const outage = report.phases.find((p) => p.id === 'outage')!;
    const none = outage.rows.find((r) => r.library === 'none')!;
    const bulwark = outage.rows.find((r) => r.library === 'bulwark')!;
    // Without a policy every request during the outage reaches the dead downstream.
    expect(none.downstreamRequestsWhileDown).to.be.greaterThan(50);
    expect(none.detectMs).to.equal(null);
    // With one, a few calls trip the circuit and the rest are answered by the fallback.
    expect(bulwark.downstreamRequestsWhileDown).to.be.below(none.downstreamRequestsWhileDown / 4);
    expect(bulwark.detectMs).to.be.a('number').below(500);
    expect(bulwark.fallbacks).to.be.greaterThan(0);
    expect(bulwark.failed).to.equal(0);
    // The circuit closes again once the downstream is back, within the phase.
    expect(bulwark.recoverMs).to.be.a('number');
    expect(bulwark.goodputPerSec).to.be.greaterThan(0);
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
    expect(stderr).to.include('--filter nothing matches no library');
  });
});
