// Leaks and timers: heap growth over a million calls (in a child process with --expose-gc),
// listeners left on a long-lived caller signal and on the shared never-aborting signal, and a
// child process whose calls all settle after every kind of wait, which must then exit at once.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { getEventListeners, setMaxListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { NEVER_ABORTED } from '../../src/internal/signals.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Fallback } from '../../src/strategies/fallback/Fallback.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

interface ChildResult {
  readonly stdout: string;
  readonly wallMs: number;
}

function runChild(script: string, args: readonly string[] = []): Promise<ChildResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...args, script], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${script} failed: ${error.message}\n${stderr}`));
      else resolve({ stdout, wallMs: performance.now() - started });
    });
  });
}

function lastJsonLine<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] as string) as T;
}

const abortListeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

describe('Leaks and timers', () => {
  it('grows the heap by less than 1 MB over 1,000,000 calls through a full policy', async function () {
    this.timeout(60_000);
    const { stdout } = await runChild(fixture('heap.js'), ['--expose-gc']);
    const result = lastJsonLine<{
      growth: number;
      calls: number;
      ms: number;
      metrics: { calls: number; successes: number };
    }>(stdout);
    if (process.env.RELIABILITY_FIGURES) console.log('heap figures', stdout.trim());
    expect(result.calls).to.equal(1_000_000);
    expect(result.metrics.successes).to.equal(result.metrics.calls);
    expect(result.growth, 'heap growth in bytes').to.be.below(1024 * 1024);
  });

  it('leaves no listener on a long-lived caller signal after 100,000 calls, nor on the shared never-aborting signal', async function () {
    this.timeout(30_000);
    const controller = new AbortController();
    const signal = controller.signal;
    // Hundreds of calls at once legitimately listen to one caller signal.
    setMaxListeners(0, signal);
    const policy = Policy.builder<number>('listeners')
      .fallback({ value: -1 })
      .rateLimiter({ maxTokens: 200, refillRate: 1e6, maxWait: '1s' })
      .bulkhead({ maxConcurrent: 50, maxQueue: 1000 })
      .retry({ maxAttempts: 2, delay: 1 })
      .circuitBreaker({ failureThreshold: 1e6 })
      .timeout('5s')
      .build();
    let n = 0;
    // Every call reads ctx.signal (the timeout's lazy signal, linked to the caller's); every
    // 50th fails once and waits 1 ms before its retry; the bulkhead queues and the limiter
    // makes callers wait, both listening to the caller's signal while they wait.
    const thunk = (ctx: { readonly signal: AbortSignal; readonly attempt: number }) => {
      const i = n++;
      if (ctx.signal.aborted) throw new Error('unexpected abort');
      if (i % 50 === 0 && ctx.attempt === 1) return Promise.reject(new Error('once'));
      return i % 2 === 0 ? i : Promise.resolve(i);
    };
    let peakOnNever = 0;
    let peakOnCaller = 0;
    for (let done = 0; done < 100_000; done += 250) {
      const batch: Array<Promise<number>> = [];
      // Half the batches with the caller's signal, half with none (the shared NEVER_ABORTED).
      const options = (done / 250) % 2 === 0 ? { signal } : undefined;
      for (let i = 0; i < 250; i++) batch.push(policy.execute(thunk, options));
      await new Promise((resolve) => setImmediate(resolve));
      peakOnNever = Math.max(peakOnNever, abortListeners(NEVER_ABORTED));
      peakOnCaller = Math.max(peakOnCaller, abortListeners(signal));
      const values = await Promise.all(batch);
      expect(values.filter((v) => v === -1)).to.deep.equal([]);
    }
    expect(n).to.be.at.least(100_000);
    expect(peakOnCaller, 'listeners while calls wait').to.be.greaterThan(0);
    expect(abortListeners(signal), 'listeners left on the caller signal').to.equal(0);
    // Nobody may listen to the shared signal at all: it never aborts, and listeners from
    // every caller in the process would pile up on that one object.
    expect(peakOnNever, 'listeners on NEVER_ABORTED while calls wait').to.equal(0);
    expect(abortListeners(NEVER_ABORTED)).to.equal(0);
    expect(policy.metrics().successes).to.equal(100_000);
  });

  it('leaves no listener on a caller signal after 2,000 calls through each primitive alone', async () => {
    const signal = new AbortController().signal;
    setMaxListeners(0, signal);
    const retry = new Retry({ maxAttempts: 2 });
    const breaker = new CircuitBreaker();
    const limiter = new RateLimiter({ maxTokens: 1e9, refillRate: 1e9 });
    const bulkhead = new Bulkhead({ maxConcurrent: 10, maxQueue: 2000 });
    const timeLimiter = new TimeLimiter({ timeout: '5s' });
    const fallback = new Fallback({ value: 0 });
    const fn = (s: AbortSignal) => (s.aborted ? -1 : Promise.resolve(1));
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < 2000; i++) {
      calls.push(
        retry.execute(fn, signal),
        breaker.execute(fn, signal),
        limiter.execute(fn, signal),
        bulkhead.execute(fn, signal),
        timeLimiter.execute(fn, signal),
        fallback.execute(fn, signal),
      );
    }
    await Promise.all(calls);
    expect(abortListeners(signal)).to.equal(0);
    expect(abortListeners(NEVER_ABORTED)).to.equal(0);
  });

  it('leaves no timer once every call has settled, and exits, after every kind of hour-long wait', async function () {
    this.timeout(30_000);
    const { stdout, wallMs } = await runChild(fixture('exit.js'));
    const result = lastJsonLine<{ lastCallToExitMs: number; timersLeft: number; settled: number }>(
      stdout,
    );
    if (process.env.RELIABILITY_FIGURES) {
      console.log('exit figures', JSON.stringify({ ...result, wallMs: Math.round(wallMs) }));
    }
    expect(result.settled).to.equal(12);
    // Counted in the child, not timed: how long the exit takes on a busy machine says nothing
    // of what was left behind.
    expect(result.timersLeft, 'timers keeping the process alive').to.equal(0);
    // From the parent: start-up, the work and the exit, with no hour-long wait in between.
    expect(wallMs, 'spawn to exit').to.be.below(5_000);
  });
});
