// Installs the runtimes of the matrix (Node 22 and 24, Bun, Deno; see runtimes.mjs) from npm
// into a folder outside the repository, when they are not already there at the pinned versions.
// Silent when nothing is missing, so CI can call it on every run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installed, packages, runtimesDir } from './runtimes.mjs';

if (!installed()) {
  console.log(`installing the test runtimes into ${runtimesDir}`);
  mkdirSync(runtimesDir, { recursive: true });
  // A package.json of its own keeps one `npm install` from pruning what an earlier one added.
  const manifest = {
    private: true,
    description: "bulwark's test runtimes",
    dependencies: packages,
  };
  writeFileSync(join(runtimesDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  execFileSync(
    'npm',
    ['install', '--prefix', runtimesDir, '--no-audit', '--no-fund', '--loglevel=error'],
    { stdio: 'inherit' },
  );
  if (!installed()) {
    console.error(`the test runtimes are still missing from ${runtimesDir} after npm install`);
    process.exit(1);
  }
}
