// The retry budget at its edges: a balance a hair under one retry, retries that outlive the first
// attempts that paid for them, a clock that goes back, a store used before its budget configures
// it, the messages that name what was wrong, and the kind's descriptor.
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import { instrument } from '../../src/otel/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';
import { RETRY_BUDGET } from '../../src/strategies/retry-budget/kind.js';
import { InMemoryRetryBudgetStore } from '../../src/strategies/retry-budget/store.js';
import { ManualClock } from '../support/clock.js';

/** A pull reader: `collect()` gathers whatever the instruments hold right now. */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

describe('RetryBudget: edges', () => {
  describe('a whole retry, less a rounding error', () => {
    it('pays for a retry when the balance falls short of one by no more than 1e-9', () => {
      const clock = new ManualClock(0);
      // 0.999999999 x 1 first attempt: one retry less exactly the tolerance.
      const budget = new RetryBudget({ ratio: 1 - 1e-9, minPerSecond: 0, clock });
      budget.deposit();
      expect(budget.tryWithdraw()).to.equal(true);
      expect(budget.refused).to.equal(0);
    });

    it('refuses it when the balance falls short by more', () => {
      const clock = new ManualClock(0);
      const budget = new RetryBudget({ ratio: 1 - 2e-9, minPerSecond: 0, clock });
      budget.deposit();
      expect(budget.tryWithdraw()).to.equal(false);
      expect(budget.refused).to.equal(1);
    });
  });

  describe('the sliding window', () => {
    it('holds 0 tokens, never fewer, once the first attempts expire before the retries they paid for', () => {
      const clock = new ManualClock(0);
      const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, window: '10s', clock });
      budget.deposit();
      clock.tick(5_000);
      expect(budget.tryWithdraw()).to.equal(true);
      // The deposit's bucket expires; the retry's does not yet: 1 x 0 - 1 counts as 0.
      clock.tick(5_500);
      expect(budget.tokens).to.equal(0);
      expect(budget.tryWithdraw()).to.equal(false);
    });

    it('holds tokens 0, not -0, from a ratio and a floor of -0 (as a console shows it)', () => {
      const budget = new RetryBudget({ ratio: -0, minPerSecond: -0, clock: new ManualClock(0) });
      expect(Object.is(budget.tokens, 0)).to.equal(true);
    });

    it('keeps counting in the newest bucket when the clock goes back, so the counts expire with it', () => {
      const clock = new ManualClock(5_000);
      const store = new InMemoryRetryBudgetStore();
      new RetryBudget({ ratio: 1, minPerSecond: 0, window: '10s', clock, store });
      store.deposit(1);
      clock.tick(-5_000);
      store.deposit(1);
      expect(store.deposits()).to.equal(2);
      // 10.5 s after the start: the buckets after the 5 s one expire, the 5 s one (both
      // deposits) not before 15 s.
      clock.tick(10_500);
      expect(store.deposits()).to.equal(2);
      clock.tick(5_000);
      expect(store.deposits()).to.equal(0);
    });

    it('empties every bucket after exactly one window without a call', () => {
      const clock = new ManualClock(0);
      const store = new InMemoryRetryBudgetStore();
      new RetryBudget({ ratio: 1, minPerSecond: 0, window: '10s', clock, store });
      for (let t = 0; t < 10; t++) {
        store.deposit(1);
        if (t > 0) expect(store.tryWithdraw()).to.equal(true);
        clock.tick(1_000);
      }
      // At 10 s the first second's bucket has expired.
      expect([store.deposits(), store.withdrawals()]).to.deep.equal([9, 9]);
      clock.tick(10_000);
      expect([store.deposits(), store.withdrawals()]).to.deep.equal([0, 0]);
    });

    it('counts first attempts and retries in the window, as they expire', () => {
      const clock = new ManualClock(0);
      const store = new InMemoryRetryBudgetStore();
      const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, window: '1s', clock, store });
      budget.deposit();
      budget.deposit();
      expect(budget.tryWithdraw()).to.equal(true);
      expect([store.deposits(), store.withdrawals()]).to.deep.equal([2, 1]);
      clock.tick(1_000);
      expect([store.deposits(), store.withdrawals()]).to.deep.equal([0, 0]);
    });
  });

  describe('the in-memory store', () => {
    it('refuses to count before a budget configures it, saying so', () => {
      const store = new InMemoryRetryBudgetStore();
      for (const use of [
        () => store.deposit(1),
        () => store.tryWithdraw(),
        () => store.balance(),
      ]) {
        expect(use).to.throw(Error, 'InMemoryRetryBudgetStore used before configure()');
      }
    });
  });

  describe('validation messages', () => {
    it('names the RetryBudget when its options are not an object', () => {
      expect(() => new RetryBudget(5 as never)).to.throw(
        TypeError,
        'RetryBudget options must be an object, got 5',
      );
    });

    it('refuses a negative minPerSecond, naming it', () => {
      expect(() => new RetryBudget({ minPerSecond: -1 })).to.throw(
        RangeError,
        '`minPerSecond` must be a number >= 0, got -1',
      );
      expect(new RetryBudget({ minPerSecond: 0 }).minPerSecond).to.equal(0);
    });

    it('says what a store must have', () => {
      expect(() => new RetryBudget({ store: { deposit() {} } as never })).to.throw(
        TypeError,
        '`store` must be a RetryBudgetStore with configure(), deposit(), tryWithdraw(), balance()',
      );
    });
  });

  describe('as a metric', () => {
    it('shows the tokens of a retry stage’s budget as the gauge bulwark.retry.budget.tokens', async () => {
      const reader = new TestReader();
      const provider = new MeterProvider({ readers: [reader] });
      try {
        const clock = new ManualClock(0);
        const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 1, window: '2s', clock });
        const policy = Policy.builder('api').retry({ maxAttempts: 2, budget }).build();
        instrument(policy, { meter: provider.getMeter('test') });
        const { resourceMetrics } = await reader.collect();
        const gauge = resourceMetrics.scopeMetrics
          .flatMap((scope) => scope.metrics)
          .find((m) => m.descriptor.name === 'bulwark.retry.budget.tokens');
        expect(gauge?.descriptor).to.include({
          unit: '{retry}',
          description: 'Retries the retry budget of a retry stage holds now.',
        });
        expect(gauge?.dataPoints.map((p) => p.value)).to.deep.equal([2]);
      } finally {
        await provider.shutdown();
      }
    });
  });

  describe('the kind', () => {
    it('describes a budget by its ratio, floor and window', () => {
      const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 5, window: '2s' });
      expect(RETRY_BUDGET.describe(budget)).to.equal('ratio 0.1, min 5/s, window 2000 ms');
    });

    it('makes no stage: a budget is given to a retry', () => {
      expect(() => RETRY_BUDGET.step(new RetryBudget(), {} as never, undefined)).to.throw(
        TypeError,
        "a RetryBudget is not a stage: give it to a retry's `budget` option",
      );
    });
  });
});
