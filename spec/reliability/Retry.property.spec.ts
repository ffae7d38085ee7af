// Properties of Retry's waits: every wait lies within the formula's jitter bounds and never
// exceeds maxDelay, whatever `random` returns, and the next attempt starts exactly when it ends.
import { expect } from 'chai';
import fc from 'fast-check';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { ManualClock } from '../support/clock.js';
import { fcParams, settle } from './support.js';

interface Config {
  readonly maxAttempts: number;
  readonly delayMs: number;
  readonly backoff: number;
  readonly maxDelayMs: number | undefined;
  readonly jitter: number;
}

const configArb: fc.Arbitrary<Config> = fc.record({
  maxAttempts: fc.integer({ min: 2, max: 7 }),
  delayMs: fc.oneof(
    fc.integer({ min: 1, max: 10_000 }),
    fc.double({ min: 0.5, max: 50, noNaN: true }),
  ),
  backoff: fc.oneof(fc.constant(1), fc.double({ min: 1, max: 4, noNaN: true })),
  maxDelayMs: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
  jitter: fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
});

// Mostly proper uniform values in [0, 1); sometimes a faulty `random` outside that range.
const randomsArb = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(0, 0.5, 0.9999999999) },
    { weight: 1, arbitrary: fc.constantFrom(-3, 1, 1.5, 7) },
  ),
  { minLength: 6, maxLength: 6 },
);

const RELATIVE = 1e-9;

describe('Retry (properties)', () => {
  it('waits within delay * backoff^n * (1 ± jitter), capped at maxDelay, before each retry', async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(configArb, randomsArb, async (config, randoms) => {
        const clock = new ManualClock(0);
        let draws = 0;
        const options: Record<string, unknown> = {
          maxAttempts: config.maxAttempts,
          delay: config.delayMs,
          backoff: config.backoff,
          jitter: config.jitter,
          random: () => randoms[draws++ % randoms.length] as number,
          clock,
        };
        if (config.maxDelayMs !== undefined) options.maxDelay = config.maxDelayMs;
        const retry = new Retry(options);
        const attemptsAt: number[] = [];
        const failure = new Error('always');
        const waits: number[] = [];
        const result = settle(
          retry.runAttempts(
            () => {
              attemptsAt.push(clock.now());
              return Promise.reject(failure);
            },
            undefined,
            (info) => waits.push(info.delayMs),
          ),
        );
        // Timers fire one by one, each at its own time; a zero wait sets no timer at all.
        await clock.advance(1e12);
        expect(attemptsAt.length, 'attempts').to.equal(config.maxAttempts);
        expect(result.status).to.equal('rejected');
        expect(result.reason).to.equal(failure);
        // The waits announced are the ones slept on the clock, and the next attempt starts then.
        expect(clock.delays).to.deep.equal(waits.filter((w) => w > 0));
        attemptsAt.slice(1).forEach((t, i) => {
          const slack = RELATIVE * Math.max(1, t);
          expect(t - (attemptsAt[i] as number)).to.be.closeTo(waits[i] as number, slack);
        });
        expect(waits.length).to.equal(config.maxAttempts - 1);
        waits.forEach((wait, n) => {
          const base = config.delayMs * config.backoff ** n;
          let low = base * (1 - config.jitter);
          let high = base * (1 + config.jitter);
          if (config.maxDelayMs !== undefined) {
            low = Math.min(low, config.maxDelayMs);
            high = Math.min(high, config.maxDelayMs);
          }
          const slack = RELATIVE * Math.max(1, high);
          expect(wait, `wait ${n}`).to.be.at.least(Math.max(0, low - slack));
          expect(wait, `wait ${n}`).to.be.at.most(high + slack);
          if (config.maxDelayMs !== undefined) {
            expect(wait, `wait ${n} <= maxDelay`).to.be.at.most(config.maxDelayMs);
          }
          // delayFor(n) states the wait that was used (its random draw was the n-th one).
          const r = randoms[n % randoms.length] as number;
          const inRange = r >= 0 && r < 1;
          if (inRange) {
            let exact = base + (r * 2 - 1) * config.jitter * base;
            if (config.maxDelayMs !== undefined) exact = Math.min(exact, config.maxDelayMs);
            expect(wait, `wait ${n} by the formula`).to.be.closeTo(exact, slack);
          }
        });
      }),
      fcParams(),
    );
  });
});

// Runs a retry that always fails with `error(n)` (n: 1-based attempt) and returns the waits it
// announced, checking that they are the waits slept on the clock.
async function waitsOf(options: Record<string, unknown>, error: (n: number) => unknown) {
  const clock = new ManualClock(0);
  const retry = new Retry({ ...options, clock });
  const waits: number[] = [];
  let n = 0;
  const result = settle(
    retry.runAttempts(
      () => Promise.reject(error(++n)),
      undefined,
      (info) => waits.push(info.delayMs),
    ),
  );
  await clock.advance(1e12);
  expect(result.status).to.equal('rejected');
  expect(n, 'attempts').to.equal(options.maxAttempts);
  expect(clock.delays).to.deep.equal(waits.filter((w) => w > 0));
  return waits;
}

const uniformsArb = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
  minLength: 8,
  maxLength: 8,
});

// Polly's decorrelated jitter v2 growth function.
const growth = (t: number): number => (t <= 0 ? 0 : 2 ** t * Math.tanh(Math.sqrt(4 * t)));

describe('Retry backoff kinds (properties)', () => {
  it('constant, linear and exponential waits lie within their formula, with a fraction or full jitter, capped at maxDelay', async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('constant', 'linear', 'exponential'),
        fc.oneof(fc.constant<'full'>('full'), fc.double({ min: 0, max: 1, noNaN: true })),
        fc.integer({ min: 1, max: 10_000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
        fc.integer({ min: 2, max: 7 }),
        uniformsArb,
        async (backoffType, jitter, delayMs, backoff, maxDelay, maxAttempts, randoms) => {
          let draws = 0;
          const options: Record<string, unknown> = {
            maxAttempts,
            delay: delayMs,
            backoffType,
            jitter,
            random: () => randoms[draws++ % randoms.length] as number,
          };
          if (backoffType === 'exponential') options.backoff = backoff;
          if (maxDelay !== undefined) options.maxDelay = maxDelay;
          const waits = await waitsOf(options, () => new Error('down'));
          expect(waits.length).to.equal(maxAttempts - 1);
          waits.forEach((wait, n) => {
            const base =
              backoffType === 'constant'
                ? delayMs
                : backoffType === 'linear'
                  ? delayMs * (n + 1)
                  : delayMs * backoff ** n;
            let low = jitter === 'full' ? 0 : base * (1 - jitter);
            let high = jitter === 'full' ? base : base * (1 + jitter);
            if (maxDelay !== undefined) {
              low = Math.min(low, maxDelay);
              high = Math.min(high, maxDelay);
            }
            const slack = RELATIVE * Math.max(1, high);
            expect(wait, `wait ${n}`).to.be.at.least(low - slack);
            expect(wait, `wait ${n}`).to.be.at.most(high + slack);
          });
        },
      ),
      fcParams(),
    );
  });

  it('decorrelated waits are >= 0, grow smoothly within Polly v2 bounds, and add up without clustering', async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10_000 }),
        fc.option(fc.integer({ min: 0, max: 50_000 }), { nil: undefined }),
        fc.integer({ min: 2, max: 9 }),
        uniformsArb,
        async (delayMs, maxDelay, maxAttempts, randoms) => {
          let draws = 0;
          const options: Record<string, unknown> = {
            maxAttempts,
            delay: delayMs,
            jitter: 'decorrelated',
            random: () => randoms[draws++ % randoms.length] as number,
          };
          if (maxDelay !== undefined) options.maxDelay = maxDelay;
          const waits = await waitsOf(options, () => new Error('down'));
          const scale = delayMs / 1.4;
          let total = 0;
          waits.forEach((wait, n) => {
            const slack = RELATIVE * Math.max(1, scale * growth(n + 1));
            expect(wait, `wait ${n} >= 0`).to.be.at.least(0);
            // Retry n draws t in [n, n + 1); the one before drew in [n - 1, n).
            expect(wait, `wait ${n}`).to.be.at.most(
              scale * (growth(n + 1) - growth(n - 1)) + slack,
            );
            if (maxDelay !== undefined) {
              expect(wait, `wait ${n} <= maxDelay`).to.be.at.most(maxDelay);
            } else {
              total += wait;
              // The waits so far add up to f(t) * delay / 1.4 with t in [n, n + 1).
              expect(total, `total after wait ${n}`).to.be.at.least(scale * growth(n) - slack);
              expect(total, `total after wait ${n}`).to.be.at.most(scale * growth(n + 1) + slack);
            }
          });
        },
      ),
      fcParams(),
    );
  });

  it("waits at least an outcome's retryAfterMs, capped by maxRetryAfter (default maxDelay)", async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5_000 }),
        fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 40_000 }),
            fc.constantFrom(undefined, -1, Infinity, NaN, '5000'),
          ),
          { minLength: 4, maxLength: 4 },
        ),
        async (delayMs, maxDelay, maxRetryAfter, asks) => {
          const options: Record<string, unknown> = { maxAttempts: 5, delay: delayMs };
          if (maxDelay !== undefined) options.maxDelay = maxDelay;
          if (maxRetryAfter !== undefined) options.maxRetryAfter = maxRetryAfter;
          const waits = await waitsOf(options, (n) =>
            Object.assign(new Error('busy'), { retryAfterMs: asks[n - 1] }),
          );
          const cap = maxRetryAfter ?? maxDelay ?? Infinity;
          const own = Math.min(delayMs, maxDelay ?? Infinity);
          waits.forEach((wait, i) => {
            const ask = asks[i];
            const honoured =
              typeof ask === 'number' && ask >= 0 && ask < Infinity ? Math.min(ask, cap) : 0;
            expect(wait, `wait ${i}`).to.equal(Math.max(own, honoured));
          });
        },
      ),
      fcParams(),
    );
  });
});
