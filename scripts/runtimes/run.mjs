// Runs the runtime exercise (spec/runtimes/) against the PACKED package in every runtime of the
// matrix: Node 20 (the running node), Node 22 and 24, Bun, Deno, and headless Chromium (the ESM
// build loaded unbundled through an import map from a 127.0.0.1 server, and as an esbuild
// bundle); and in workerd, Cloudflare Workers' runtime, a worker of its own (worker.mjs, bundled
// by esbuild) called with overlapping requests (workerd.mjs), whose checks differ from the
// others'. Needs a build (`npm run build`). A runtime that is not installed is skipped with a
// loud warning, or fails the run when CI is set (`CI=true`); `npm run runtimes:install` installs
// them. KEEP_RUNTIME_PROJECT=1 keeps the consumer project it builds, for a closer look.
import { build } from 'esbuild';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumBinary, commandRuntimes, runtimesDir, workerdBinary } from './runtimes.mjs';
import { driveWorker, workerdConfig } from '../../spec/runtimes/workerd.mjs';

const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const exerciseDir = join(root, 'spec', 'runtimes');
const inCI = /^(1|true|yes)$/i.test(process.env.CI ?? '');
const PASSED = /^runtime exercise: (\d+) checks passed$/;
const LIMIT_MS = 30_000;
const MATRIX = ['node20', 'node22', 'node24', 'bun', 'deno', 'chromium', 'workerd'];
const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript' };

// The browser flags: no GPU, no sandbox (containers), and nothing that reaches the network.
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

if (!existsSync(join(root, 'dist', 'esm', 'index.js'))) {
  console.error('runtime matrix: no build in dist/; run `npm run build` first');
  process.exit(1);
}

const started = performance.now();
const temp = mkdtempSync(join(tmpdir(), 'bulwark-runtimes-'));
const project = join(temp, 'project');
const results = []; // { name, version, ok, detail, checks, ms }
const skipped = []; // { name, why }

try {
  await prepareProject();
  const runs = [];
  for (const runtime of commandRuntimes()) {
    if (runtime.binary) runs.push(runCommand(runtime));
    else skipped.push({ name: runtime.name, why: runtime.missing ?? 'not installed' });
  }
  runs.push(runChromium(), runWorkerd());
  await Promise.all(runs);
} finally {
  if (process.env.KEEP_RUNTIME_PROJECT) console.log(`runtime matrix: project kept in ${project}`);
  else rmSync(temp, { recursive: true, force: true });
}
report();

/** A consumer project: the tarball under node_modules/bulwark, and the exercise beside it. */
async function prepareProject() {
  const bulwark = join(project, 'node_modules', 'bulwark');
  mkdirSync(bulwark, { recursive: true });
  const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', temp], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { filename, version } = JSON.parse(packed)[0];
  execFileSync('tar', ['-xzf', join(temp, filename), '-C', bulwark, '--strip-components=1']);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ private: true, type: 'module', dependencies: { bulwark: version } }),
  );
  for (const file of ['exercise.mjs', 'main.mjs', 'browser.mjs', 'worker.mjs']) {
    copyFileSync(join(exerciseDir, file), join(project, file));
  }
  // The decorators: standard decorator syntax compiled to the plain JS that applies them.
  await build({
    entryPoints: [join(exerciseDir, 'decorated.ts')],
    outfile: join(project, 'decorated.js'),
    format: 'esm',
    target: 'es2022',
    logLevel: 'warning',
  });
  // The browser bundle, as an application would ship it: bundled and minified.
  await build({
    absWorkingDir: project,
    entryPoints: [join(project, 'browser.mjs')],
    outfile: join(project, 'bundle.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'warning',
  });
  const page = (head, src) =>
    `<!doctype html><html><head><meta charset="utf-8">${head}` +
    `<script type="module" src="${src}"></script></head><body></body></html>`;
  const importMap = {
    imports: {
      bulwark: '/node_modules/bulwark/dist/esm/index.js',
      'bulwark/fetch': '/node_modules/bulwark/dist/esm/fetch/index.js',
    },
  };
  writeFileSync(
    join(project, 'unbundled.html'),
    page(`<script type="importmap">${JSON.stringify(importMap)}</script>`, '/browser.mjs'),
  );
  writeFileSync(join(project, 'bundled.html'), page('', '/bundle.js'));
  // The worker, bundled as Wrangler bundles one (the `workerd` and `worker` conditions: the ESM
  // build), in a folder of its own with workerd's configuration (written once the port is known).
  await build({
    absWorkingDir: project,
    entryPoints: [join(project, 'worker.mjs')],
    outfile: join(project, 'workerd', 'worker.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    logLevel: 'warning',
  });
}

/** Judges one run's output: the last line must be the exercise's summary. */
function judge(name, version, lines, ms, failure) {
  const last = lines.filter((l) => l.trim() !== '').at(-1) ?? '';
  const match = PASSED.exec(last);
  const ok = !failure && match !== null;
  const detail = ok ? last : [failure, ...lines.slice(-30)].filter(Boolean).join('\n    ');
  results.push({ name, version, ok, detail, checks: match ? Number(match[1]) : 0, ms });
}

function runCommand({ name, binary, args }) {
  const t0 = performance.now();
  return new Promise((done) => {
    const child = spawn(binary, [...args, 'main.mjs'], {
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NO_COLOR: '1',
        DENO_NO_UPDATE_CHECK: '1',
        DENO_DIR: join(runtimesDir, 'deno-dir'),
      },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      judge(name, '?', [], performance.now() - t0, `could not start ${binary}: ${error.message}`);
      done();
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = out.split('\n');
      const version = /^runtime: (.*)$/m.exec(out)?.[1] ?? '?';
      const failure = signal
        ? `did not exit within ${LIMIT_MS / 1000}s (a timer left alive?)`
        : code === 13
          ? 'exited with code 13: the process ended while a call was still waiting'
          : code !== 0
            ? `exited with code ${code}`
            : undefined;
      judge(name, version, lines, performance.now() - t0, failure);
      done();
    });
  });
}

/** A static file server for the project folder, on 127.0.0.1 only. */
function serve() {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = join(project, path);
    if (!file.startsWith(project)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ready) =>
    server.listen(0, '127.0.0.1', () => ready({ server, port: server.address().port })),
  );
}

async function runChromium() {
  const executablePath = chromiumBinary();
  if (!executablePath) {
    skipped.push({ name: 'chromium', why: 'no /usr/bin/chromium (apt-get install chromium)' });
    return;
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    skipped.push({ name: 'chromium', why: 'playwright-core is not installed (npm ci)' });
    return;
  }
  const t0 = performance.now();
  const { server, port } = await serve();
  const origin = `http://127.0.0.1:${port}`;
  // A fresh profile each run, passed as the user data dir (Playwright's own --user-data-dir).
  const profile = mkdtempSync(join(tmpdir(), 'bulwark-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: LIMIT_MS,
    });
    const version = `Chromium ${context.browser()?.version() ?? '?'}`;
    const offsite = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin)) return route.continue();
      offsite.push(url);
      return route.abort();
    });
    for (const [name, file] of [
      ['chromium (unbundled ESM)', 'unbundled.html'],
      ['chromium (esbuild bundle)', 'bundled.html'],
    ]) {
      const t1 = performance.now();
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
      page.on('console', (msg) => msg.type() === 'error' && errors.push(`console: ${msg.text()}`));
      let lines = [];
      let failure;
      try {
        await page.goto(`${origin}/${file}`);
        await page.waitForFunction(() => globalThis.runtimeExercise !== undefined, undefined, {
          timeout: LIMIT_MS,
        });
        ({ lines } = await page.evaluate(() => globalThis.runtimeExercise));
      } catch (error) {
        failure = error.message.split('\n')[0];
      }
      if (!failure && errors.length > 0) failure = errors.join('\n    ');
      if (!failure && offsite.length > 0) failure = `requests off 127.0.0.1: ${offsite.join(' ')}`;
      judge(name, version, lines, performance.now() - t1, failure);
      await page.close();
    }
  } catch (error) {
    judge('chromium', '?', [], performance.now() - t0, error.message.split('\n')[0]);
  } finally {
    await context?.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** A TCP port free on 127.0.0.1 now. */
function freePort() {
  return new Promise((ready, fail) => {
    const server = createNetServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ready(port));
    });
  });
}

async function runWorkerd() {
  const binary = workerdBinary();
  if (!binary) {
    skipped.push({ name: 'workerd', why: 'not installed' });
    return;
  }
  const t0 = performance.now();
  const dir = join(project, 'workerd');
  const port = await freePort();
  writeFileSync(join(dir, 'config.capnp'), workerdConfig(port));
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  const child = spawn(binary, ['serve', 'config.capnp'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let exited;
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.on('exit', (code, signal) => (exited = `workerd exited (${signal ?? code})`));
  child.on('error', (error) => (exited = `could not start ${binary}: ${error.message}`));
  const lines = [];
  let failure;
  try {
    const base = `http://127.0.0.1:${port}`;
    // Until it serves, within the time limit.
    for (;;) {
      if (exited !== undefined) throw new Error(exited);
      if (performance.now() - t0 > LIMIT_MS)
        throw new Error(`not serving within ${LIMIT_MS / 1000}s`);
      try {
        if ((await fetch(`${base}/host`)).ok) break;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await driveWorker(base, (line) => lines.push(line));
    if (performance.now() - t0 > LIMIT_MS) failure = `took over ${LIMIT_MS / 1000}s`;
  } catch (error) {
    failure = error.message;
  } finally {
    child.kill();
  }
  // What workerd logged (a request cancelled as hung, an uncaught error) goes with a failure.
  const logged = out.split('\n').filter((l) => l.trim() !== '');
  const failed = failure !== undefined || !PASSED.test(lines.at(-1) ?? '');
  judge(
    'workerd',
    version,
    failed ? [...logged, ...lines] : lines,
    performance.now() - t0,
    failure,
  );
}

function report() {
  // Every runtime but workerd runs the same exercise, so each must pass the same number of checks.
  const counts = new Set(results.filter((r) => r.ok && r.name !== 'workerd').map((r) => r.checks));
  if (counts.size > 1) {
    for (const r of results) {
      if (r.ok && r.name !== 'workerd')
        r.detail += ' (a different number of checks from the others)';
    }
  }
  const uneven = counts.size > 1;
  const order = (r) => MATRIX.findIndex((name) => r.name.startsWith(name));
  results.sort((a, b) => order(a) - order(b));
  console.log('runtime matrix (packed build):');
  for (const r of results) {
    const mark = r.ok && !uneven ? 'ok  ' : 'FAIL';
    const time = `${(r.ms / 1000).toFixed(1)}s`.padStart(6);
    console.log(`  ${mark} ${r.name.padEnd(26)} ${r.version.padEnd(24)} ${time}  ${r.detail}`);
  }
  if (skipped.length > 0) {
    const bar = '!'.repeat(78);
    console.error(`\n${bar}`);
    console.error(`!! RUNTIMES SKIPPED${inCI ? ' (CI=true: this FAILS the run)' : ''}:`);
    for (const s of skipped) console.error(`!!   ${s.name}: ${s.why}`);
    console.error('!! install them with: npm run runtimes:install');
    console.error(`${bar}\n`);
  }
  const failed = uneven || results.some((r) => !r.ok) || (inCI && skipped.length > 0);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `runtime matrix: ${results.filter((r) => r.ok).length} passed, ` +
      `${results.filter((r) => !r.ok).length} failed, ${skipped.length} skipped in ${seconds}s`,
  );
  if (failed) process.exitCode = 1;
}
