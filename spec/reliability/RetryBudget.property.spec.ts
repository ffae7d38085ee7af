// Properties of the retry budget's arithmetic over random sequences of first attempts, retries
// and clock moves: a reference model keeps every event with its time and recounts the window
// from scratch; the budget (ten buckets, running totals, lazy expiry) must agree at every step.
import { expect } from 'chai';
import fc from 'fast-check';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';
import { ManualClock } from '../support/clock.js';
import { fcParams } from './support.js';

type Op =
  | { readonly t: 'deposit'; readonly n: number }
  | { readonly t: 'withdraw' }
  | { readonly t: 'advance'; readonly ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('deposit' as const), n: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ t: fc.constant('withdraw' as const) }),
  fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
);

const config = fc.record({
  ratio: fc.oneof(fc.constantFrom(0, 0.1, 0.2, 0.5, 1), fc.double({ min: 0, max: 3, noNaN: true })),
  minPerSecond: fc.oneof(fc.constantFrom(0, 1, 10), fc.double({ min: 0, max: 20, noNaN: true })),
  windowMs: fc.constantFrom(100, 1000, 2500, 10_000),
});

describe('RetryBudget arithmetic (properties)', () => {
  it('agrees with a recount of the window at every step, and never allows more than it holds', () => {
    fc.assert(
      fc.property(
        config,
        fc.array(op, { maxLength: 200 }),
        ({ ratio, minPerSecond, windowMs }, ops) => {
          const clock = new ManualClock(0);
          const budget = new RetryBudget({ ratio, minPerSecond, window: windowMs, clock });
          const bucketMs = windowMs / 10;
          // Events by bucket index; the window is the newest ten buckets.
          const deposits: Array<[number, number]> = [];
          const withdrawals: number[] = [];
          const reserve = (minPerSecond * windowMs) / 1000;
          const inWindow = (bucket: number): boolean =>
            bucket > Math.floor(clock.now() / bucketMs) - 10;
          const count = (): { d: number; w: number } => ({
            d: deposits.filter(([b]) => inWindow(b)).reduce((sum, [, n]) => sum + n, 0),
            w: withdrawals.filter(inWindow).length,
          });
          let refused = 0;
          for (const o of ops) {
            const bucket = Math.floor(clock.now() / bucketMs);
            if (o.t === 'deposit') {
              budget.deposit();
              for (let i = 1; i < o.n; i++) budget.deposit();
              deposits.push([bucket, o.n]);
            } else if (o.t === 'withdraw') {
              const { d, w } = count();
              const held = ratio * d + reserve - w;
              const allowed = budget.tryWithdraw();
              // Whole retries only; a hair of float error either way is not a retry.
              if (held >= 1 + 1e-6) expect(allowed, `held ${held}`).to.equal(true);
              if (held < 1 - 1e-6) expect(allowed, `held ${held}`).to.equal(false);
              if (allowed) {
                withdrawals.push(bucket);
                // The rule itself: a retry goes ahead only while the window's retries, itself
                // included, stay within ratio x first attempts + reserve. (Later, first attempts
                // may leave the window before the retries they paid for.)
                const after = count();
                expect(after.w).to.be.at.most(ratio * after.d + reserve + 1e-6);
              } else refused++;
            } else {
              clock.tick(o.ms);
            }
            const { d, w } = count();
            expect(budget.tokens).to.be.closeTo(Math.max(0, ratio * d + reserve - w), 1e-6);
            expect(budget.refused).to.equal(refused);
          }
        },
      ),
      fcParams(),
    );
  });

  it('lets exactly floor(ratio x n + reserve) retries through after n first attempts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 500 }),
        fc.constantFrom(0, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2),
        fc.integer({ min: 0, max: 5 }),
        (n, ratio, minPerSecond) => {
          const clock = new ManualClock(0);
          const budget = new RetryBudget({ ratio, minPerSecond, window: '1s', clock });
          for (let i = 0; i < n; i++) budget.deposit();
          let allowed = 0;
          while (budget.tryWithdraw()) allowed++;
          expect(allowed).to.equal(Math.floor(ratio * n + minPerSecond + 1e-9));
        },
      ),
      fcParams(),
    );
  });
});
