// Process lifetime, end to end against the built package (dist/, made by `npm run build`): plain
// scripts, as ES modules and as CommonJS, whose only pending work is one kind of wait. A timer a
// caller waits on keeps the process alive like any setTimeout, so each script prints its result
// and exits 0; and once every call has settled no timer is left, so a script exits at once.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.cwd();
const esmEntry = resolve(root, 'dist/esm/index.js');
const cjsEntry = resolve(root, 'dist/cjs/index.cjs');
const NAMES = 'Retry, RateLimiter, Bulkhead, Fallback, TimeLimiter, Policy, CircuitBreaker';

/** Each script's body: an async function body whose return value the script prints. */
const WAITS: ReadonlyArray<{ kind: string; body: string; prints: unknown }> = [
  {
    kind: 'a Retry delay',
    body: `
      let n = 0;
      const flaky = () => (++n < 3 ? Promise.reject(new Error('flaky')) : 'ok after ' + n);
      return new Retry({ maxAttempts: 3, delay: 100 }).execute(flaky);`,
    prints: 'ok after 3',
  },
  {
    kind: 'a RateLimiter maxWait',
    body: `
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 10, maxWait: '1s' });
      await limiter.acquire();
      return limiter.execute(() => 'served after a wait');`,
    prints: 'served after a wait',
  },
  {
    kind: 'a Bulkhead queue wait',
    body: `
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWait: 100 });
      bulkhead.execute(() => new Promise(() => {})).catch(() => {});
      return bulkhead.execute(() => 'not run').catch((error) => error.name);`,
    prints: 'BulkheadFullError',
  },
  {
    kind: 'a Fallback over a TimeLimiter whose thunk never settles',
    body: `
      const limiter = new TimeLimiter({ timeout: 100 });
      const fallback = new Fallback({ value: 'fallback' });
      return fallback.execute(() => limiter.execute(() => new Promise(() => {})));`,
    prints: 'fallback',
  },
  {
    kind: 'a policy (token wait, bulkhead queue, deadline, retry delay)',
    body: `
      const policy = Policy.builder('script')
        .rateLimiter({ maxTokens: 1, refillRate: 10, maxWait: '1s' })
        .bulkhead({ maxConcurrent: 1, maxQueue: 5, maxWait: '1s' })
        .retry({ maxAttempts: 2, delay: 50 })
        .timeout(100)
        .build();
      // Attempt 1 only ends at the deadline (it honours its signal); attempt 2 answers.
      const first = policy.execute((ctx) =>
        ctx.attempt === 1
          ? new Promise((_, reject) =>
              ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
            )
          : 'first on attempt ' + ctx.attempt,
      );
      const second = policy.execute(() => 'second');
      return Promise.all([first, second]);`,
    prints: ['first on attempt 2', 'second'],
  },
];

// Every kind of wait, an hour long, each ended by its work settling or by the caller's abort.
const SETTLED_BODY = `
  const controller = new AbortController();
  const signal = controller.signal;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const never = () => new Promise(() => {});
  const limiter = new RateLimiter({ maxTokens: 1, refillRate: 0.001, maxWait: '1h' });
  await limiter.acquire();
  const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWait: '1h' });
  const policy = Policy.builder('settled')
    .fallback({ value: 'fallback' })
    .retry({ maxAttempts: 2, delay: '1h' })
    .timeout('1h')
    .build();
  const calls = [
    limiter.acquire(1, signal),
    bulkhead.execute(() => finished),
    bulkhead.execute(() => 'queued'),
    new Retry({ maxAttempts: 2, delay: '1h' }).execute(() => Promise.reject(new Error('x')), signal),
    new TimeLimiter({ timeout: '1h' }).execute(() => finished),
    new TimeLimiter({ timeout: '1h' }).execute(never, signal),
    policy.execute(() => finished),
    policy.execute(() => Promise.reject(new Error('again')), { signal }),
    policy.execute(never, { signal }),
  ].map((call) => call.then(() => 'ok', () => 'failed'));
  finish();
  controller.abort(new Error('caller left'));
  const outcomes = await Promise.all(calls);
  const lastCall = performance.now();
  // What keeps the process alive once the last call settled: no timer of bulwark's.
  const timersLeft = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  process.on('exit', () => {
    console.log(JSON.stringify({ lastCallToExitMs: performance.now() - lastCall, timersLeft }));
  });
  return outcomes.length;`;

type Format = 'esm' | 'cjs';

function script(format: Format, body: string): string {
  const run = `(async () => {${body}\n})()`;
  if (format === 'esm') {
    return [
      `import { ${NAMES} } from ${JSON.stringify(pathToFileURL(esmEntry).href)};`,
      `const result = await ${run};`,
      'console.log(JSON.stringify(result));',
    ].join('\n');
  }
  return [
    `const { ${NAMES} } = require(${JSON.stringify(cjsEntry)});`,
    `${run}.then((result) => console.log(JSON.stringify(result)));`,
  ].join('\n');
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
}

function runScript(dir: string, name: string, format: Format, body: string): Promise<Run> {
  const file = join(dir, `${name}.${format === 'esm' ? 'mjs' : 'cjs'}`);
  writeFileSync(file, script(format, body));
  const started = performance.now();
  return new Promise((done) => {
    const child = execFile(process.execPath, [file], { timeout: 20_000 }, (_, stdout, stderr) =>
      done({ code: child.exitCode, stdout, stderr, wallMs: performance.now() - started }),
    );
  });
}

const lines = (stdout: string): string[] => stdout.trim().split('\n').filter(Boolean);

describe('Process lifetime (the built package in child processes)', () => {
  let dir: string;

  before(() => {
    if (!existsSync(esmEntry) || !existsSync(cjsEntry)) {
      throw new Error('dist/ is missing: run `npm run build` before this spec');
    }
    dir = mkdtempSync(join(tmpdir(), 'bulwark-lifetime-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const format of ['esm', 'cjs'] as const) {
    describe(format === 'esm' ? 'an ES module' : 'a CommonJS script', () => {
      WAITS.forEach(({ kind, body, prints }, i) => {
        it(`stays alive through ${kind} as its only pending work, prints its result and exits 0`, async function () {
          this.timeout(30_000);
          const run = await runScript(dir, `wait-${i}`, format, body);
          expect(run.stderr, 'stderr').to.equal('');
          expect(run.code, 'exit code').to.equal(0);
          expect(lines(run.stdout).map((l) => JSON.parse(l) as unknown)).to.deep.equal([prints]);
        });
      });

      it('leaves no timer once every call has settled, and exits, after every kind of hour-long wait', async function () {
        this.timeout(30_000);
        const run = await runScript(dir, 'settled', format, SETTLED_BODY);
        expect(run.stderr, 'stderr').to.equal('');
        expect(run.code, 'exit code').to.equal(0);
        const [count, exit] = lines(run.stdout).map((l) => JSON.parse(l) as unknown);
        expect(count, 'calls settled').to.equal(9);
        // Counted in the child, not timed: how long the exit takes on a busy machine says
        // nothing of what was left behind.
        expect(exit, 'timers keeping the process alive').to.include({ timersLeft: 0 });
        // From the parent: start-up, the work and the exit, with no hour-long wait in between.
        expect(run.wallMs, 'spawn to exit').to.be.below(10_000);
      });
    });
  }
});
