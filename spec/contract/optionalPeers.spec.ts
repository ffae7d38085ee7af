// The adapters' peers are optional: an application without them loads every entry point it can,
// and the one that needs a missing peer fails as an import or a require fails, which the caller
// can catch. Run as users run it: the packed package installed alone into a throwaway project
// (never in the repository, so no peer is found above it), in a child process (`npm run build`
// first).
import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = process.cwd();
const ENTRIES = ['bulwark', 'bulwark/otel', 'bulwark/redis', 'bulwark/fetch'];

/** Loads each entry in turn, catching what fails, then goes on. */
const PROBE_ESM = `
const out = {};
for (const entry of ${JSON.stringify(ENTRIES)}) {
  try {
    await import(entry);
    out[entry] = 'loaded';
  } catch (error) {
    out[entry] = error.code;
  }
}
out.after = typeof (await import('bulwark')).Policy.builder;
console.log(JSON.stringify(out));
`;
const PROBE_CJS = `
const out = {};
for (const entry of ${JSON.stringify(ENTRIES)}) {
  try {
    require(entry);
    out[entry] = 'loaded';
  } catch (error) {
    out[entry] = error.code;
  }
}
out.after = typeof require('bulwark').Policy.builder;
console.log(JSON.stringify(out));
`;

describe('Package: an application without the optional peers', function () {
  this.timeout(60_000);
  let work: string;
  let app: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'bulwark-no-peers-'));
    const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const { filename } = (JSON.parse(packed) as { filename: string }[])[0] as { filename: string };
    app = join(work, 'app');
    const bulwark = join(app, 'node_modules', 'bulwark');
    mkdirSync(bulwark, { recursive: true });
    execFileSync('tar', ['-xzf', join(work, filename), '-C', bulwark, '--strip-components=1']);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }),
    );
    writeFileSync(join(app, 'probe.mjs'), PROBE_ESM);
    writeFileSync(join(app, 'probe.cjs'), PROBE_CJS);
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  /** Runs a file of the project; resolves with its output, or rejects with its exit and stderr. */
  const run = (file: string) =>
    new Promise<string>((resolve, reject) => {
      const env = { ...process.env };
      delete env.NODE_PATH;
      execFile(process.execPath, [file], { cwd: app, env, timeout: 30_000 }, (error, out, err) =>
        error === null ? resolve(out) : reject(new Error(`${error.message}\n${err}`)),
      );
    });

  it('R-PKG-4: a caught `import()` of bulwark/otel without @opentelemetry/api rejects, and the process goes on', async () => {
    expect(JSON.parse(await run('probe.mjs'))).to.deep.equal({
      bulwark: 'loaded',
      'bulwark/otel': 'ERR_MODULE_NOT_FOUND',
      'bulwark/redis': 'loaded',
      'bulwark/fetch': 'loaded',
      after: 'function',
    });
  });

  it('R-PKG-4: a caught `require` of bulwark/otel without @opentelemetry/api throws, and the process goes on', async () => {
    expect(JSON.parse(await run('probe.cjs'))).to.deep.equal({
      bulwark: 'loaded',
      'bulwark/otel': 'MODULE_NOT_FOUND',
      'bulwark/redis': 'loaded',
      'bulwark/fetch': 'loaded',
      after: 'function',
    });
  });
});
