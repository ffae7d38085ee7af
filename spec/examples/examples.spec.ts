// Smoke tests of the examples: they are compiled with scripts/build-examples.mjs into a fresh
// folder and each runs in a child process against the built package (dist/), as
// `npm run example` runs them. Counts that depend on timing are checked loosely; what the flaky
// server does for each product is seeded, so those outcomes are checked exactly.
import { expect } from 'chai';
import { execFile, execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

// npm scripts and mocha run from the repository root. The examples import `bulwark` by the
// package's self-reference, which resolves only inside the repository, so they are built there.
const root = process.cwd();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /**
   * The most the example's event loop fell behind within any 250 ms, in ms: how much a busy
   * machine delayed the example's calls (its server runs in the same process) past what their
   * 200 ms timeouts allow for.
   */
  lagMs: number;
}

/**
 * Loaded before an example (`--import`): ticks every 10 ms without keeping the process alive,
 * and at exit writes the worst total lateness of those ticks within any 250 ms (ticks late by
 * more than the timers' usual jitter of a few ms), counted from the
 * example's first line of output (each example prints it once its start-up, loading modules and
 * fetch, is over and before any timing matters).
 */
const LAG_PROBE = `import { writeFileSync } from 'node:fs';
const samples = [];
let started = false;
const write = process.stdout.write;
process.stdout.write = function (...args) {
  started = true;
  return write.apply(this, args);
};
let expected = performance.now() + 10;
setInterval(() => {
  const now = performance.now();
  if (started && now - expected > 5) samples.push([now, now - expected]);
  expected = now + 10;
}, 10).unref();
process.on('exit', () => {
  let worst = 0;
  let sum = 0;
  let from = 0;
  for (const [at, late] of samples) {
    sum += late;
    while (at - samples[from][0] > 250) sum -= samples[from++][1];
    worst = Math.max(worst, sum);
  }
  writeFileSync(process.env.BULWARK_EXAMPLE_LAG_FILE, String(worst));
});
`;

/**
 * Lag below which the examples' timing holds as on an idle machine: a slow answer (80 ms)
 * delayed by less than this still beats its 200 ms timeout with room to spare.
 */
const CALM_LAG_MS = 80;

function runExample(outdir: string, file: string, args: readonly string[] = []): Promise<Run> {
  const probe = join(outdir, 'lag-probe.mjs');
  const lagFile = join(outdir, 'lag.txt');
  writeFileSync(probe, LAG_PROBE);
  rmSync(lagFile, { force: true });
  return new Promise((resolve) => {
    const argv = ['--import', pathToFileURL(probe).href, file, ...args];
    const env = { ...process.env, BULWARK_EXAMPLE_LAG_FILE: lagFile };
    execFile(
      process.execPath,
      argv,
      { cwd: root, env, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        const lagMs = existsSync(lagFile) ? Number(readFileSync(lagFile, 'utf8')) : Infinity;
        resolve({ code, stdout, stderr, lagMs });
      },
    );
  });
}

/** The lines of `output` from the one that starts with `from` up to the one with `to`. */
function section(output: string, from: string, to: string): string {
  const start = output.indexOf(from);
  const end = output.indexOf(to, start);
  return output.slice(start, end < 0 ? undefined : end);
}

/** How many lines of `text` match `pattern`. */
function countLines(text: string, pattern: RegExp): number {
  return text.split('\n').filter((l) => pattern.test(l)).length;
}

/** The number after `label ` in the line that starts with `prefix`. */
function count(output: string, prefix: string, label: string): number {
  const line = output.split('\n').find((l) => l.startsWith(prefix)) ?? '';
  const match = new RegExp(`(\\d+) ${label}|${label} (\\d+)`).exec(line);
  return Number(match?.[1] ?? match?.[2] ?? NaN);
}

describe('examples', function () {
  this.timeout(30_000);
  let outdir: string;
  let pricing: Run;
  let config: Run;
  let health: Run;
  let http: Run;
  let reload: Run;

  before(async function () {
    // Building the examples and running five of them one after the other: a few seconds alone,
    // much longer on a busy machine.
    this.timeout(240_000);
    if (!existsSync(join(root, 'dist', 'esm', 'index.js'))) {
      throw new Error('dist/ is missing: the example specs need `npm run build` first');
    }
    mkdirSync(join(root, '.examples-build'), { recursive: true });
    outdir = mkdtempSync(join(root, '.examples-build', 'spec-'));
    execFileSync(process.execPath, ['scripts/build-examples.mjs', relative(root, outdir)], {
      cwd: root,
      stdio: 'pipe',
    });
    // One at a time: the examples time calls against real 200 ms timeouts, and running them side
    // by side on a small machine made those timeouts fire where the examples expect none.
    pricing = await runExample(outdir, join(outdir, 'pricing', 'main.js'));
    config = await runExample(outdir, join(outdir, 'config', 'main.js'));
    health = await runExample(outdir, join(outdir, 'health-server', 'main.js'), ['--once']);
    http = await runExample(outdir, join(outdir, 'http', 'main.js'));
    reload = await runExample(outdir, join(outdir, 'reload', 'main.js'), ['--once']);
    if (process.env.BULWARK_SPEC_FIGURES === '1') {
      const runs = { pricing, config, health, http, reload };
      const lags = Object.entries(runs).map(([name, run]) => `${name} ${run.lagMs.toFixed(0)} ms`);
      console.log(`examples: event loop lag ${lags.join(', ')}`);
    }
  });

  after(() => {
    if (outdir !== undefined) rmSync(outdir, { recursive: true, force: true });
  });

  describe('pricing (the complete example)', () => {
    it('exits by itself with code 0 and nothing on stderr, so its server was closed', () => {
      expect(pricing.code, pricing.stderr).to.equal(0);
      expect(pricing.stderr).to.equal('');
    });

    it('describes the policy in the recommended order, fallback outermost', () => {
      expect(pricing.stdout).to.contain(
        [
          '  1. fallback: method defaultPrice on all errors',
          '  2. rate-limiter: 6 tokens, refill 10/s, no wait',
          '  3. bulkhead: 3 concurrent calls, no queue',
          '  4. timeout:',
        ].join('\n'),
      );
    });

    it('prints live prices for healthy answers', () => {
      if (pricing.lagMs < CALM_LAG_MS) {
        expect(pricing.stdout, `event loop lag ${pricing.lagMs} ms`).to.match(
          /^ {2}sku-101 +live 62\.91 USD$/m,
        );
        const live = pricing.stdout.match(/^ {2}sku-\d+ +live \d+\.\d\d USD$/gm);
        expect(live).to.have.length.above(4);
      } else {
        // A busy machine can hold even a quick answer past its timeout.
        expect(pricing.stdout).to.match(
          /^ {2}sku-101 +(live 62\.91 USD|fallback \(OperationTimeoutError: .*\))$/m,
        );
      }
    });

    it('falls back with the reason for rate-limit, bulkhead, HTTP error and timeout failures', () => {
      const out = pricing.stdout;
      expect(out).to.match(
        /^ {2}sku-1\d\d +fallback \(RateLimitExceededError: Rate limit exceeded\)$/m,
      );
      expect(out).to.match(
        /^ {2}sku-1\d\d +fallback \(BulkheadFullError: Bulkhead at capacity \(3 concurrent calls\)\)$/m,
      );
      expect(out).to.match(
        /^ {2}sku-202 +fallback \(PricingApiError: pricing API answered 503 Service Unavailable\)$/m,
      );
      expect(out).to.match(
        /^ {2}sku-213 +fallback \(OperationTimeoutError: pricing exceeded timeout of 0\.2s\)$/m,
      );
    });

    it('shows the decorator form rejecting and timing out calls through the shared primitives', () => {
      expect(pricing.stdout).to.match(
        /^ {2}sku-304 +fallback \(OperationTimeoutError: getPrice exceeded timeout of 0\.2s\)$/m,
      );
      expect(pricing.stdout).to.match(/^ {2}sku-30[67] +fallback \(BulkheadFullError: /m);
    });

    it('monitors the bulkhead full during a burst and free at the end', () => {
      expect(pricing.stdout).to.match(
        /^ {4}Bulkhead utilisation: 100%\n {4}Available slots: 0\/3$/m,
      );
      expect(pricing.stdout).to.match(
        /^Monitoring resilience state:\n {2}Available tokens: \d+\.\d\n {2}Bulkhead utilisation: 0%\n {2}Available slots: 3\/3$/m,
      );
    });

    it("summarises the policy's metrics: every call answered, each layer counted", () => {
      const out = pricing.stdout;
      const prefix = 'Policy "pricing": ';
      expect(out).to.match(/^Policy "pricing": 16 calls, 16 successes, 0 failures; /m);
      const rateLimit = count(out, prefix, 'rate-limit');
      const bulkhead = count(out, prefix, 'bulkhead');
      expect(rateLimit).to.be.at.least(1);
      expect(bulkhead).to.be.at.least(1);
      // 10 + 6 calls; the bulkhead and rate limiter refused 7 of the burst between them, the
      // server failed one call and left one hanging.
      expect(rateLimit + bulkhead).to.equal(7);
      // What the policy form printed, call by call.
      const policyForm = section(out, 'A catalogue page', 'Another page');
      const timedOut = countLines(policyForm, /^ {2}sku-\d+ +fallback \(OperationTimeoutError: /);
      const fellBack = countLines(policyForm, /^ {2}sku-\d+ +fallback /);
      expect(count(out, prefix, 'timeouts')).to.equal(timedOut);
      expect(count(out, prefix, 'fallbacks')).to.equal(fellBack);
      if (pricing.lagMs < CALM_LAG_MS) {
        // Only the request that never answers timed out.
        expect(timedOut, `event loop lag ${pricing.lagMs} ms`).to.equal(1);
        expect(fellBack).to.equal(9);
      } else {
        // A busy machine held the example up for longer than a slow answer's margin on its
        // timeout, so a slow answer may have timed out too; the never-answering one always did.
        expect(timedOut).to.be.at.least(1);
        expect(fellBack).to.be.at.least(9);
      }
    });
  });

  describe('config (policies from resilience.yaml)', () => {
    it('exits by itself with code 0 and nothing on stderr', () => {
      expect(config.code, config.stderr).to.equal(0);
      expect(config.stderr).to.equal('');
    });

    it("lists the registry's policies and describes each from the YAML", () => {
      const out = config.stdout;
      expect(out).to.contain('policies: pricing, checkout');
      expect(out).to.contain(
        [
          'Policy "pricing":',
          '  1. fallback: fixed value on all errors',
          '  2. rate-limiter "pricing-api": 4 tokens, refill 20/s, no wait',
          '  3. bulkhead "pricing-api": 2 concurrent calls, no queue',
          '  4. timeout:',
        ].join('\n'),
      );
      expect(out).to.contain('  2. retry "default": up to 2 attempts, delay 50 ms, on all errors');
    });

    it('serves live prices and the configured fallback value, with reasons from events', () => {
      const out = config.stdout;
      // A busy machine can hold even a quick answer past its timeout.
      expect(out, `event loop lag ${config.lagMs} ms`).to.match(
        config.lagMs < CALM_LAG_MS
          ? /^ {2}sku-101 +live 62\.91 USD$/m
          : /^ {2}sku-101 +(live 62\.91 USD|fallback \(configured value null\))$/m,
      );
      expect(out).to.match(/^ {2}sku-10\d +fallback \(configured value null\)$/m);
      expect(out).to.match(/^ {4}BulkheadFullError: Bulkhead at capacity \(2 concurrent calls\)$/m);
    });

    it('lets checkout errors reach the caller after its retry', () => {
      const out = config.stdout;
      // sku-201 answers at once; only a busy machine can hold it past its timeout.
      expect(out).to.match(
        config.lagMs < CALM_LAG_MS
          ? /^ {2}sku-201 +live \d+\.\d\d USD$/m
          : /^ {2}sku-201 +(live \d+\.\d\d USD|error \(OperationTimeoutError: )/m,
      );
      expect(out).to.match(/^ {2}sku-202 +error \(PricingApiError: pricing API answered 503 /m);
      expect(out).to.match(
        /^ {2}sku-213 +error \(OperationTimeoutError: checkout price lookup exceeded timeout of 0\.2s\)$/m,
      );
    });

    it("prints each policy's metrics and the shared primitives' state", () => {
      const out = config.stdout;
      expect(out).to.match(/^Policy "pricing": 5 calls, 5 successes, 0 failures; /m);
      const fellBack = countLines(
        section(out, '"pricing": 5 prices', '"checkout"'),
        /^ {2}sku-\d+ +fallback /,
      );
      expect(count(out, 'Policy "pricing": ', 'fallbacks')).to.equal(fellBack);
      const retries = count(out, 'Policy "checkout": ', 'retries');
      const timeouts = count(out, 'Policy "checkout": ', 'timeouts');
      if (config.lagMs < CALM_LAG_MS) {
        expect(fellBack, `event loop lag ${config.lagMs} ms`).to.equal(3);
        expect(out).to.match(/^Policy "checkout": 3 calls, 1 successes, 2 failures; /m);
        expect(retries).to.equal(2);
        expect(timeouts).to.equal(2);
      } else {
        // A busy machine held the example up for longer than a slow answer's margin on its
        // timeout: a slow answer may have timed out too (and been retried, at checkout).
        expect(fellBack).to.be.at.least(3);
        expect(out).to.match(/^Policy "checkout": 3 calls, [01] successes, [23] failures; /m);
        expect(retries).to.be.within(2, 3);
        expect(timeouts).to.be.within(2, 4);
      }
      expect(out).to.match(/^Shared "pricing-api": \d+\.\d\/4 tokens, 2\/2 bulkhead slots free$/m);
    });
  });

  describe('health-server (registry.health() over HTTP)', () => {
    it('serves the snapshot once and exits by itself', () => {
      expect(health.code, health.stderr).to.equal(0);
      expect(health.stdout.split('\n')[0]).to.match(/http:\/\/127\.0\.0\.1:\d+/);
    });

    it('reports the open breaker, the full bulkhead and the policy counters', () => {
      const body = health.stdout.slice(health.stdout.indexOf('\n') + 1);
      const snapshot = JSON.parse(body) as {
        policies: Record<string, { fallbacks: number }>;
        primitives: Record<string, Record<string, Record<string, unknown>>>;
      };
      expect(snapshot.primitives['circuit-breaker']?.['inventory']?.['state']).to.equal('open');
      expect(snapshot.primitives['bulkhead']?.['legacy-db']).to.include({
        availableSlots: 0,
        queued: 1,
      });
      expect(snapshot.policies['pricing']?.fallbacks).to.equal(3);
    });
  });

  describe('http (resilientFetch against a flaky API)', () => {
    /** The line of the call labelled `label`: status, body and the requests the server saw. */
    function callLine(label: string): { status: number; rest: string; requests: number } {
      const line = http.stdout.split('\n').find((l) => l.startsWith(`  ${label} `)) ?? '';
      const match = /^ {2}.+? {2,}(\d{3}) (.*); (\d+) request\(s\)$/.exec(line);
      return {
        status: Number(match?.[1] ?? NaN),
        rest: match?.[2] ?? `(no line for ${label})`,
        requests: Number(match?.[3] ?? NaN),
      };
    }

    it('exits by itself with code 0 and nothing on stderr, so its server was closed', () => {
      expect(http.code, http.stderr).to.equal(0);
      expect(http.stderr).to.equal('');
    });

    it('describes the recommended recipe: fallback, retry, breaker, timeout per attempt', () => {
      expect(http.stdout).to.match(
        /^ {2}1\. fallback: .*\n {2}2\. retry: .*\n {2}3\. circuit-breaker: .*\n {2}4\. timeout: /m,
      );
    });

    it('retries a 503 after its Retry-After wait and a hanging request after its timeout', () => {
      const retried = callLine('GET /users/1 (503, Retry-After: 1)');
      expect(retried).to.include({ status: 200, rest: '{"id":1,"name":"Ada"}' });
      expect(retried.requests).to.be.at.least(2);
      // At least the retry's own delay; a full second where the retry honours Retry-After.
      const gap = /the retry came (\d+\.\d) s after the 503/.exec(http.stdout);
      expect(Number(gap?.[1])).to.be.at.least(0.2);
      const hung = callLine('GET /users/2 (first request hangs)');
      expect(hung).to.include({ status: 200, rest: '{"id":2,"name":"Grace"}' });
      expect(hung.requests).to.be.at.least(2);
      expect(http.stdout).to.contain('the client closed the hanging request at its timeout');
    });

    it('sends a POST once, returning its 503, and retries one with an Idempotency-Key', () => {
      expect(callLine('POST /orders')).to.deep.equal({
        status: 503,
        rest: '{"error":"order service busy"}',
        requests: 1,
      });
      const keyed = callLine('POST /orders with an Idempotency-Key');
      expect(keyed).to.include({ status: 201, rest: '{"order":"order-42"}' });
      expect(keyed.requests).to.be.at.least(2);
    });

    it('opens the breaker during the outage and serves the stale answer without requests', () => {
      const first = callLine('GET /inventory/sku-1 (outage, #1)');
      expect(first.status).to.equal(200);
      expect(first.rest).to.match(/ from the fallback \(HttpStatusError: HTTP status 503 /);
      expect(first.requests).to.equal(3);
      for (const n of [2, 3]) {
        expect(callLine(`GET /inventory/sku-1 (outage, #${n})`)).to.deep.equal({
          status: 200,
          rest: '{"sku":"sku-1","stock":12} from the fallback (CircuitOpenError: Circuit breaker is open)',
          requests: 0,
        });
      }
    });

    it('summarises the metrics and the requests the server saw', () => {
      const out = http.stdout;
      expect(out).to.match(/^Policy "flaky-api": 7 calls, 6 successes, 1 failures; /m);
      const prefix = 'Policy "flaky-api": ';
      expect(count(out, prefix, 'circuit-open')).to.equal(2);
      expect(count(out, prefix, 'fallbacks')).to.equal(3);
      expect(count(out, prefix, 'timeouts')).to.be.at.least(1);
      expect(out).to.match(/^Server saw \d+ requests, 3 of them during the outage /m);
    });
  });

  describe('reload (YAML settings reloaded on SIGHUP)', () => {
    const lines = (): string[] => reload.stdout.split('\n');

    it('exits by itself with code 0 and nothing on stderr', () => {
      expect(reload.code, reload.stderr).to.equal(0);
      expect(reload.stderr).to.equal('');
    });

    it('takes an edited file in, keeping the drained bucket and the open circuit', () => {
      const out = lines();
      expect(out).to.include('5 of 8 quotes served, 3 got the fallback (null)');
      expect(out).to.include('quote-api bucket 0/5 tokens, refill 1/s; inventory circuit open');
      expect(reload.stdout).to.match(
        /^reloaded .*resilience\.yaml: added -; removed -; changed rate-limiter\.quote-api, circuit-breaker\.inventory, policies\.quotes, policies\.stock$/m,
      );
      expect(out).to.include('quote-api bucket 0/10 tokens, refill 50/s; inventory circuit open');
      expect(
        out.filter((l) => /^stock: refused, circuit open for 3\d s more$/.test(l)),
      ).to.have.length(2);
      expect(out).to.include('200 ms later: 8 of 8 quotes served, 0 got the fallback (null)');
    });

    it('refuses a broken file whole, naming the value at fault, and keeps running as it was', () => {
      expect(lines()).to.include(
        'reload refused, the running settings stay: resilience.rate-limiter.quote-api.max-tokens: `max-tokens` must be a number >= 1, got 0',
      );
      expect(reload.stdout.trimEnd().split('\n').at(-1)).to.match(
        /^quote-api bucket \d+\/10 tokens, refill 50\/s; inventory circuit open$/,
      );
    });

    it('as a service: reloads its file on SIGHUP while serving, and stops on SIGINT', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bulwark-reload-spec-'));
      const file = join(dir, 'resilience.yaml');
      copyFileSync(join(root, 'examples', 'reload', 'resilience.yaml'), file);
      const child = spawn(process.execPath, [join(outdir, 'reload', 'main.js'), file], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
      const waiters = new Set<() => void>();
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += String(chunk);
        for (const waiter of waiters) waiter();
      });
      const seen = (pattern: RegExp): Promise<RegExpExecArray> =>
        new Promise((resolve, reject) => {
          const look = (): void => {
            const match = pattern.exec(stdout);
            if (match === null) return;
            waiters.delete(look);
            resolve(match);
          };
          waiters.add(look);
          child.once('exit', () => reject(new Error(`exited first: ${stdout}${stderr}`)));
          look();
        });
      try {
        const [, port] = await seen(/http:\/\/127\.0\.0\.1:(\d+)\/quote/);
        const quote = await fetch(`http://127.0.0.1:${port}/quote?id=abc`);
        expect(await quote.json()).to.deep.equal({ id: 'abc', price: 103 });
        writeFileSync(file, readFileSync(file, 'utf8').replace('max-tokens: 5', 'max-tokens: 7'));
        child.kill('SIGHUP');
        await seen(/changed rate-limiter\.quote-api, policies\.quotes/);
        const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as {
          primitives: Record<string, Record<string, { maxTokens?: number }>>;
        };
        expect(health.primitives['rate-limiter']?.['quote-api']?.maxTokens).to.equal(7);
        const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
        child.kill('SIGINT');
        expect(await exited).to.equal(0);
        expect(stderr).to.equal('');
      } finally {
        child.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
