// Snapshots across processes and round trips: a breaker opened and snapshotted here is restored
// in a new Node process 5 s later (fake wall clock there) and stays open for the rest of its
// recovery time; and, for random histories, toJSON() -> initialState gives a breaker or limiter
// whose toJSON() is the same snapshot.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import sinon from 'sinon';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
} from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { ManualClock } from '../support/clock.js';
import { fcParams } from './support.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/restoreBreaker.js');

function restoreElsewhere(snapshot: string, laterMs: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [fixture, snapshot, String(laterMs)],
      { timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`${error.message}\n${stderr}`));
        else
          resolve(
            stdout
              .trim()
              .split('\n')
              .map((line) => JSON.parse(line) as unknown),
          );
      },
    );
  });
}

describe('Snapshots', () => {
  it('a breaker opened, snapshotted and restored in a new process 5 s later stays open about 25 s more', async function () {
    this.timeout(30_000);
    const wall = sinon.useFakeTimers({ now: Date.UTC(2026, 11, 6, 9), toFake: ['Date'] });
    let saved: string;
    try {
      const breaker = new CircuitBreaker({
        clock: new ManualClock(),
        failureThreshold: 1,
        recoveryTimeout: '30s',
      });
      await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
      saved = JSON.stringify(breaker);
    } finally {
      wall.restore();
    }
    const seen = await restoreElsewhere(saved, 5_000);
    expect(seen).to.deep.equal([
      { state: 'open', retryAfterMs: 25_000 },
      { state: 'open', retryAfterMs: 1_000 },
      { state: 'half-open', retryAfterMs: null },
    ]);
  });

  it('a corrupt snapshot is refused in the new process, with an error naming initialState', async function () {
    this.timeout(30_000);
    const corrupt = JSON.stringify({
      format: 'bulwark.circuit-breaker',
      version: 1,
      takenAt: 0,
      state: 'open',
    });
    const error = await restoreElsewhere(corrupt, 0).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(error)).to.match(/TypeError: `initialState` is corrupt: `openMs`/);
  });

  type Event =
    | { readonly t: 'call'; readonly fail: boolean; readonly slow: boolean }
    | { readonly t: 'advance'; readonly ms: number };
  const eventArb: fc.Arbitrary<Event> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        t: fc.constant('call' as const),
        fail: fc.boolean(),
        slow: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('advance' as const),
        ms: fc.integer({ min: 0, max: 20_000 }),
      }),
    },
  );
  const breakerArb: fc.Arbitrary<CircuitBreakerOptions> = fc
    .record({
      failureThreshold: fc.integer({ min: 1, max: 5 }),
      recoveryTimeout: fc.constantFrom(1_000, 5_000, 30_000),
      windowType: fc.constantFrom('count' as const, 'time' as const),
      windowSize: fc.integer({ min: 1, max: 8 }),
      windowDuration: fc.constantFrom(5_000, 60_000),
      failureRateThreshold: fc.constantFrom(0, 0.3, 0.5, 1),
      minimumCalls: fc.constant(1),
      slowCallDuration: fc.constant(100),
      halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
    })
    // 0 stands for no failureRateThreshold (consecutive mode).
    .map(({ failureRateThreshold: rate, ...rest }) =>
      rate === 0 ? rest : { ...rest, failureRateThreshold: rate },
    );

  it('toJSON -> initialState round-trips a breaker: the restored one gives the same snapshot and metrics', async () => {
    await fc.assert(
      fc.asyncProperty(
        breakerArb,
        fc.array(eventArb, { maxLength: 40 }),
        fc.boolean(),
        async (options, events, isolate) => {
          const wall = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
          try {
            const clock = new ManualClock(7_777);
            const breaker = new CircuitBreaker({ ...options, clock });
            for (const event of events) {
              if (event.t === 'advance') clock.tick(event.ms);
              else {
                await breaker
                  .execute(() => {
                    clock.tick(event.slow ? 100 : 0);
                    return event.fail ? Promise.reject(new Error('x')) : 'ok';
                  })
                  .catch(() => undefined);
              }
            }
            if (isolate) breaker.isolate();
            const snapshot = JSON.parse(JSON.stringify(breaker)) as ReturnType<
              CircuitBreaker['toJSON']
            >;
            // Another process, whose monotonic clock reads something else: a time window keeps
            // its outcomes to a bucket's precision, so this one is a whole number of buckets on.
            const restored = new CircuitBreaker({
              ...options,
              clock: new ManualClock(clock.now() + 1_000_000),
              initialState: snapshot,
            });
            expect(restored.toJSON()).to.deep.equal(snapshot);
            expect(restored.metrics).to.deep.equal(breaker.metrics);
          } finally {
            wall.restore();
          }
        },
      ),
      fcParams({ numRuns: Math.min(300, Number(process.env.FC_RUNS ?? 300)) }),
    );
  });

  it('toJSON -> initialState round-trips a rate limiter', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2.5, 10),
        fc.constantFrom(0.5, 2, 100),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: -2_000, max: -1 })), {
          maxLength: 30,
        }),
        (maxTokens, refillRate, steps) => {
          const wall = sinon.useFakeTimers({ now: 5_000, toFake: ['Date'] });
          try {
            const clock = new ManualClock(11);
            const limiter = new RateLimiter({ clock, maxTokens, refillRate });
            for (const step of steps) {
              if (step < 0) clock.tick(-step);
              else if (step <= maxTokens) limiter.tryAcquire(step);
            }
            const snapshot = JSON.parse(JSON.stringify(limiter)) as ReturnType<
              RateLimiter['toJSON']
            >;
            const restored = new RateLimiter({
              clock: new ManualClock(99),
              maxTokens,
              refillRate,
              initialState: snapshot,
            });
            expect(restored.toJSON()).to.deep.equal(snapshot);
            expect(restored.availableTokens).to.equal(limiter.availableTokens);
          } finally {
            wall.restore();
          }
        },
      ),
      fcParams({ numRuns: Math.min(300, Number(process.env.FC_RUNS ?? 300)) }),
    );
  });
});
