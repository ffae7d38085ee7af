// A whole policy in the recommended order (fallback, rate limiter, bulkhead, retry, circuit
// breaker, timeout) in front of a dependency that a chaos stage makes fail 30% of the time and
// hang 10% of the time (seeded, on the manual clock), with a second chaos stage adding a full
// outage of 300 ms midway. The guarantees each stage makes must hold:
//
// 1. Fallback: every call settles, and resolves: no error reaches a caller.
// 2. Rate limiter: calls admitted past it <= maxTokens + refillRate x elapsed seconds.
// 3. Bulkhead: the dependency never serves more than maxConcurrent calls at once.
// 4. Retry: no call makes more than maxAttempts attempts.
// 5. Circuit breaker: no attempt reaches the dependency while the circuit is OPEN.
// 6. Timeout: every call settles within maxAttempts x timeout + the retry waits, injected hangs
//    included.
// 7. Accounting: calls = successes, fallbacks = the fallback values returned, and the injected
//    fault rate is close to 30%.
// 8. No timer is left once every call has settled, and the same seed gives the same run.
import { expect } from 'chai';
import type { CircuitState } from '../../../src/strategies/circuit-breaker/CircuitState.js';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { isCircuitOpenError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { ManualClock } from '../../support/clock.js';
import { settle, type Settled } from '../../support/promises.js';

const MAX_TOKENS = 20;
const REFILL_PER_S = 80;
const MAX_CONCURRENT = 6;
const MAX_ATTEMPTS = 3;
const RETRY_DELAY = 50;
const TIMEOUT = 200;
const WORK_MS = 20;
const CALLS = 400;

interface Run {
  readonly results: Settled<string>[];
  readonly durations: number[];
  readonly attempts: Map<number, number>;
  /** In order: each attempt reaching the dependency, and each circuit state change. */
  readonly log: ({ enter: number } | { to: CircuitState })[];
  readonly maxRunning: number;
  readonly elapsedMs: number;
  readonly metrics: ReturnType<Policy['metrics']>;
  readonly pendingTimers: number;
}

async function run(seed: number): Promise<Run> {
  const clock = new ManualClock();
  const log: Run['log'] = [];
  const attempts = new Map<number, number>();
  let running = 0;
  let maxRunning = 0;
  const policy = Policy.builder<string>('checkout')
    .clock(clock)
    .fallback({ value: 'cached' })
    .rateLimiter({ maxTokens: MAX_TOKENS, refillRate: REFILL_PER_S, clock })
    .bulkhead({ maxConcurrent: MAX_CONCURRENT, clock })
    // An open circuit is not retried: the next attempt would only be refused again.
    .retry({
      maxAttempts: MAX_ATTEMPTS,
      delay: RETRY_DELAY,
      retryOn: (error) => !isCircuitOpenError(error),
      clock,
    })
    .circuitBreaker({
      failureRateThreshold: 0.6,
      windowSize: 20,
      recoveryTimeout: '200ms',
      clock,
    })
    .timeout({ timeout: TIMEOUT, clock })
    .chaos({
      fault: { rate: 0.3 },
      latency: { rate: 0.1, delay: '5s' },
      seed,
      clock,
      // Called for every attempt that reaches the dependency: the spec's probe.
      enabled: (call) => {
        const id = call.data.get('id') as number;
        attempts.set(id, (attempts.get(id) ?? 0) + 1);
        log.push({ enter: id });
        return true;
      },
    })
    // A full outage of 300 ms in the middle of the run, which the breaker must catch.
    .chaos({ fault: { rate: 1 }, enabled: () => clock.now() >= 1500 && clock.now() < 1800 })
    .build();
  policy.on('circuit-state', ({ to }) => log.push({ to }));
  const work = (ctx: ExecutionContext): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const timer = clock.setTimeout(() => {
        running--;
        resolve('fresh');
      }, WORK_MS);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clock.clearTimeout(timer);
          running--;
          reject(ctx.signal.reason as Error);
        },
        { once: true },
      );
    });

  const results: Settled<string>[] = [];
  const durations: number[] = [];
  for (let i = 0; i < CALLS; i += 2) {
    for (const id of [i, i + 1]) {
      const start = clock.now();
      const call = policy.execute(work, { data: { id } });
      results.push(settle(call));
      void call.then(() => (durations[id] = clock.now() - start));
    }
    await clock.advance(20);
  }
  const elapsedMs = clock.now();
  await clock.advance(10_000);
  return {
    results,
    durations,
    attempts,
    log,
    maxRunning,
    elapsedMs,
    metrics: policy.metrics(),
    pendingTimers: clock.pending(),
  };
}

describe('A whole policy under 30% injected faults', () => {
  it('meets the guarantees of every stage', async () => {
    const r = await run(2026);
    const { metrics } = r;

    // 1. Every call settled and resolved.
    expect(r.results.filter((s) => s.status !== 'fulfilled')).to.deep.equal([]);
    // 2. Admitted calls within the token bucket's bound.
    const admitted = metrics.calls - metrics.rejections.rateLimit;
    expect(admitted).to.be.at.most(MAX_TOKENS + (REFILL_PER_S * r.elapsedMs) / 1000);
    // 3. Concurrency at the dependency.
    expect(r.maxRunning).to.be.at.most(MAX_CONCURRENT);
    // 4. Attempts per call.
    expect(Math.max(...r.attempts.values())).to.equal(MAX_ATTEMPTS);
    // 5. Nothing reaches the dependency while the circuit is open.
    let state: CircuitState = 'closed' as CircuitState;
    const leaks: number[] = [];
    for (const entry of r.log) {
      if ('to' in entry) state = entry.to;
      else if (state === ('open' as CircuitState)) leaks.push(entry.enter);
    }
    expect(leaks).to.deep.equal([]);
    expect(r.log.filter((e) => 'to' in e && e.to === 'open').length).to.be.greaterThan(0);
    // 6. Bounded duration, injected 5 s hangs included.
    const bound = MAX_ATTEMPTS * TIMEOUT + (MAX_ATTEMPTS - 1) * RETRY_DELAY;
    expect(r.durations.filter((d) => d === undefined)).to.deep.equal([]);
    expect(Math.max(...r.durations)).to.be.at.most(bound);
    expect(metrics.timeouts).to.be.greaterThan(0);
    // 7. Accounting.
    expect(metrics).to.deep.include({ calls: CALLS, successes: CALLS, failures: 0 });
    // Every stage had something to do (with this seed: 62 rate-limited, 51 bulkhead-full and 93
    // circuit-open refusals, 120 retries, 32 timeouts, 221 fallbacks).
    expect(metrics.rejections.rateLimit).to.be.greaterThan(0);
    expect(metrics.rejections.bulkhead).to.be.greaterThan(0);
    expect(metrics.rejections.circuitOpen).to.be.greaterThan(0);
    const cached = r.results.filter((s) => s.value === 'cached').length;
    expect(metrics.fallbacks).to.equal(cached);
    expect(cached).to.be.greaterThan(0);
    expect(metrics.retries).to.be.greaterThan(0);
    const chaos = metrics.stages.find((s) => s.kind === 'chaos') as Record<string, number>;
    const entered = [...r.attempts.values()].reduce((a, b) => a + b, 0);
    expect(chaos.faults! / entered).to.be.within(0.22, 0.38);
    // 8. No timer left; the same seed, the same run.
    expect(r.pendingTimers).to.equal(0);
    const again = await run(2026);
    expect(again.metrics).to.deep.equal(metrics);
    expect(again.log).to.deep.equal(r.log);
  });
});
