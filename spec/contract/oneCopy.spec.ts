// One copy of the package in Node: an ES module application that imports bulwark and a CommonJS
// dependency that requires it share one copy, so the dependency's primitives work in the app's
// builder, registry and instrumentation, and wrappers of the two stack as one. Run as users run it:
// the packed package installed into a throwaway project (never in the repository), an ESM app and
// a CommonJS package beside it, in a child process (`npm run build` first).
import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = process.cwd();

/** The dependency: a CommonJS package that builds its primitives with `require('bulwark')`. */
const DEPENDENCY = `
const bulwark = require('bulwark');
const { Policy, PolicyRegistry, RateLimiter, CircuitBreaker, Bulkhead, timeLimiter } = bulwark;
const policy = Policy.builder('inventory').retry({ maxAttempts: 2 }).build();
const registry = new PolicyRegistry();
registry.register(Policy.builder('stock').timeout('1s').build());
module.exports = {
  bulwark,
  limiter: new RateLimiter({ maxTokens: 10, refillRate: 5 }),
  breaker: new CircuitBreaker({ failureThreshold: 3 }),
  pool: new Bulkhead({ maxConcurrent: 2 }),
  policy,
  registry,
  // The dependency's call to its API, answered at its deadline (the call itself goes on).
  timed: (call, clock) => timeLimiter({ timeout: 300, clock })(call),
};
`;

/** The application: an ES module importing bulwark and using the dependency's primitives. */
const APP = `
import * as bulwark from 'bulwark';
import { Bulkhead, Policy, PolicyRegistry, bulkhead, circuitBreaker } from 'bulwark';
import { instrument } from 'bulwark/otel';
import { resilientFetch } from 'bulwark/fetch';
import dependency from 'dependency';

const out = { differing: Object.keys(bulwark).filter((k) => bulwark[k] !== dependency.bulwark[k]) };
const attempt = (what, use) => {
  try {
    use();
    out[what] = 'ok';
  } catch (error) {
    out[what] = error.message;
  }
};
attempt('builder', () =>
  Policy.builder('app')
    .rateLimiter(dependency.limiter)
    .bulkhead(dependency.pool)
    .circuitBreaker(dependency.breaker)
    .build(),
);
attempt('register', () => new PolicyRegistry().register(dependency.policy));
attempt('instrument a policy', () => instrument(dependency.policy)());
attempt('instrument a registry', () => instrument(dependency.registry)());
attempt('resilientFetch', () => resilientFetch(dependency.policy));
attempt('circuitBreaker', () => circuitBreaker(dependency.breaker)(async () => 1));

// A manual clock for the dependency's time limiter.
let now = 0;
let handles = 0;
const timers = new Map();
const clock = {
  now: () => now,
  setTimeout: (fn, ms) => (timers.set(++handles, [now + ms, fn]), handles),
  clearTimeout: (handle) => timers.delete(handle),
};
const advance = (ms) => {
  now += ms;
  for (const [handle, [at, fn]] of timers) if (at <= now) timers.delete(handle), fn();
};
const pool = new Bulkhead({ maxConcurrent: 1 });
let end;
const lookUp = bulkhead(pool)(dependency.timed(() => new Promise((resolve) => (end = resolve)), clock));
const answered = lookUp().then(() => 'answered', (error) => error.name);
advance(300);
out.atDeadline = await answered;
out.held = { available: pool.availableSlots, orphaned: pool.orphaned };
end('stock');
await new Promise((resolve) => setImmediate(resolve));
out.afterWork = { available: pool.availableSlots, orphaned: pool.orphaned };
console.log(JSON.stringify(out));
`;

describe('Package: an ESM app and a CommonJS dependency in Node share one copy', function () {
  this.timeout(60_000);
  let work: string;
  let app: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'bulwark-one-copy-'));
    const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const { filename } = (JSON.parse(packed) as { filename: string }[])[0] as { filename: string };
    app = join(work, 'app');
    const modules = join(app, 'node_modules');
    mkdirSync(join(modules, 'bulwark'), { recursive: true });
    execFileSync('tar', [
      '-xzf',
      join(work, filename),
      '-C',
      join(modules, 'bulwark'),
      '--strip-components=1',
    ]);
    mkdirSync(join(modules, '@opentelemetry'));
    symlinkSync(
      realpathSync(join(root, 'node_modules', '@opentelemetry', 'api')),
      join(modules, '@opentelemetry', 'api'),
      'dir',
    );
    const dependency = join(modules, 'dependency');
    mkdirSync(dependency);
    writeFileSync(
      join(dependency, 'package.json'),
      JSON.stringify({ name: 'dependency', version: '1.0.0', main: 'index.js' }),
    );
    writeFileSync(join(dependency, 'index.js'), DEPENDENCY);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }),
    );
    writeFileSync(join(app, 'main.js'), APP);
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  it("R-PKG-2: takes the dependency's primitives, and a bulkhead over its time limiter keeps the slot until the work ends", async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['main.js'], { cwd: app, timeout: 30_000 }, (error, out, err) =>
        error === null ? resolve(out) : reject(new Error(`${error.message}\n${err}`)),
      );
    });
    expect(JSON.parse(stdout)).to.deep.equal({
      differing: [],
      builder: 'ok',
      register: 'ok',
      'instrument a policy': 'ok',
      'instrument a registry': 'ok',
      resilientFetch: 'ok',
      circuitBreaker: 'ok',
      atDeadline: 'OperationTimeoutError',
      // Revision 2: the slot follows the work, the call counted as orphaned meanwhile.
      held: { available: 0, orphaned: 1 },
      afterWork: { available: 1, orphaned: 0 },
    });
  });
});
