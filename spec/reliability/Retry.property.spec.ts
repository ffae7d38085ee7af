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
          retry.run(
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
