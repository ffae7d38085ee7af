// The retry budget: its arithmetic over a sliding window of ten buckets, its validation, and how
// retries (policy stages and standalone) draw on one shared budget.
import { expect } from 'chai';
import { Policy } from '../../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../../src/registry/PolicyRegistry.js';
import { Retry } from '../../../src/strategies/retry/Retry.js';
import { RetryBudget } from '../../../src/strategies/retry-budget/RetryBudget.js';
import { InMemoryRetryBudgetStore } from '../../../src/strategies/retry-budget/store.js';
import { ManualClock } from '../../support/clock.js';
import { rejectionOf } from '../../support/promises.js';

const failing = (): Promise<never> => Promise.reject(new Error('down'));

describe('RetryBudget', () => {
  describe('validation', () => {
    it('has the documented defaults', () => {
      const budget = new RetryBudget({ clock: new ManualClock() });
      expect([budget.ratio, budget.minPerSecond, budget.windowMs]).to.deep.equal([0.2, 10, 10_000]);
      // 10 per second over a 10 s window, before any call.
      expect(budget.tokens).to.equal(100);
    });

    it('refuses bad options at construction, naming the option and value', () => {
      expect(() => new RetryBudget({ ratio: -0.1 })).to.throw(
        RangeError,
        '`ratio` must be a number >= 0, got -0.1',
      );
      expect(() => new RetryBudget({ ratio: '0.1' as never })).to.throw(TypeError, '`ratio`');
      expect(() => new RetryBudget({ minPerSecond: Infinity })).to.throw(
        RangeError,
        '`minPerSecond` must be a number >= 0, got Infinity',
      );
      expect(() => new RetryBudget({ window: 0 })).to.throw(RangeError, '`window`');
      expect(() => new RetryBudget({ window: 'soon' })).to.throw(TypeError, '`window`');
      expect(() => new RetryBudget({ ratoi: 1 } as never)).to.throw(
        TypeError,
        'RetryBudget: unknown option `ratoi` (did you mean `ratio`?)',
      );
      expect(() => new RetryBudget({ store: {} as never })).to.throw(TypeError, '`store`');
      expect(() => new Retry({ budget: { ratio: 0.1 } as never })).to.throw(
        TypeError,
        '`budget` must be a RetryBudget',
      );
    });

    it('refuses a store that already serves another budget', () => {
      const store = new InMemoryRetryBudgetStore();
      new RetryBudget({ store });
      expect(() => new RetryBudget({ store })).to.throw(Error, 'already serves a RetryBudget');
    });
  });

  describe('arithmetic', () => {
    it('allows ratio x first attempts + minPerSecond x window seconds, then refuses', () => {
      const clock = new ManualClock(0);
      const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 1, window: '4s', clock });
      for (let i = 0; i < 6; i++) budget.deposit();
      // 0.5 x 6 + 1 x 4 = 7
      expect(budget.tokens).to.equal(7);
      for (let i = 0; i < 7; i++) expect(budget.tryWithdraw(), `retry ${i + 1}`).to.equal(true);
      expect(budget.tryWithdraw()).to.equal(false);
      expect(budget.refused).to.equal(1);
      expect(budget.tokens).to.equal(0);
      // One more first attempt is half a retry: still none.
      budget.deposit();
      expect(budget.tryWithdraw()).to.equal(false);
      budget.deposit();
      expect(budget.tryWithdraw()).to.equal(true);
    });

    it('reports its tokens to a millionth of a retry, without the noise of binary fractions', async () => {
      const clock = new ManualClock(0);
      // 0.2 x 101 is 20.200000000000003 in binary floating point.
      const budget = new RetryBudget({ clock });
      const policy = Policy.builder('api').retry({ maxAttempts: 2, delay: 0, budget }).build();
      for (let i = 0; i < 101; i++) {
        await policy
          .execute(() => {
            throw new Error('down');
          })
          .catch(() => undefined);
      }
      // 0.2 x 101 + 10 x 10 - 101
      expect(budget.tokens).to.equal(19.2);
      expect(policy.metrics().stages[0]).to.deep.include({ budgetTokens: 19.2 });
      const third = new RetryBudget({ ratio: 1 / 3, minPerSecond: 0, clock });
      third.deposit();
      expect(third.tokens).to.equal(0.333333);
      // 0.29 x 100 is 28.999999999999996: 29 retries, each let through, and then none.
      const under = new RetryBudget({ ratio: 0.29, minPerSecond: 0, clock });
      for (let i = 0; i < 100; i++) under.deposit();
      expect(under.tokens).to.equal(29);
      for (let i = 0; i < 28; i++) under.tryWithdraw();
      expect([under.tokens, under.tryWithdraw(), under.tokens]).to.deep.equal([1, true, 0]);
      expect(under.tryWithdraw()).to.equal(false);
    });

    it('forgets counts a whole window old, a tenth of the window at a time, without timers', async () => {
      const clock = new ManualClock(0, { forbidTimers: 'a budget sets no timer' });
      const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, window: 1000, clock });
      budget.deposit(); // bucket [0, 100)
      await clock.advance(500);
      budget.deposit(); // bucket [500, 600)
      expect(budget.tryWithdraw()).to.equal(true); // bucket [500, 600)
      expect(budget.tokens).to.equal(1);
      await clock.advance(499); // t = 999: both deposits still count
      expect(budget.tokens).to.equal(1);
      await clock.advance(1); // t = 1000: the first bucket expires
      expect(budget.tokens).to.equal(0);
      await clock.advance(500); // t = 1500: the deposit and the retry at 500 expire together
      expect(budget.tokens).to.equal(0);
      budget.deposit();
      expect(budget.tokens).to.equal(1);
      await clock.advance(60_000); // far past the window: everything expires at once
      expect(budget.tokens).to.equal(0);
    });
  });

  describe('with retries', () => {
    it('stops a policy retry when exhausted: the last outcome at once, a `retry` event saying so', async () => {
      const clock = new ManualClock();
      const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, window: '10s', clock });
      const policy = Policy.builder('p').retry({ maxAttempts: 3, delay: 0, budget, clock }).build();
      const events: unknown[] = [];
      policy.on('retry', (e) => events.push(e));
      let attempts = 0;
      const error = new Error('down');
      const call = rejectionOf(
        policy.execute(() => {
          attempts++;
          return Promise.reject(error);
        }),
      );
      await clock.advance(0);
      // One retry in the budget (0.1/s x 10 s): attempt 2 runs, attempt 3 is skipped.
      expect(await call).to.equal(error);
      expect(attempts).to.equal(2);
      expect(events).to.deep.equal([
        { policy: 'p', stage: 'retry', attempt: 1, delayMs: 0, error },
        { policy: 'p', stage: 'retry', attempt: 2, delayMs: 0, error, skipped: 'budget' },
      ]);
      expect(policy.metrics().retries, 'the skipped retry too').to.equal(2);
      expect(budget.refused).to.equal(1);
      expect(policy.metrics().stages[0]).to.deep.include({ budgetTokens: 0, budgetRatio: 0 });
      expect(policy.describe()).to.contain('budget ratio 0');
    });

    it('returns a rejected result at once too', async () => {
      const clock = new ManualClock();
      const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, clock });
      const policy = Policy.builder('p')
        .retry({ maxAttempts: 3, retryOnResult: (r: number) => r < 0, budget, clock })
        .build();
      let attempts = 0;
      const result = await policy.execute(() => {
        attempts++;
        return -1;
      });
      expect([result, attempts]).to.deep.equal([-1, 1]);
    });

    it('is shared by any number of retry stages and standalone retries', async () => {
      const clock = new ManualClock();
      const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, clock });
      const a = Policy.builder('a').retry({ maxAttempts: 2, budget, clock }).build();
      const b = Policy.builder('b').retry({ maxAttempts: 2, budget, clock }).build();
      const standalone = new Retry({ maxAttempts: 2, budget, clock });
      const infos: unknown[] = [];
      let served = 0;
      const down = (): Promise<never> => {
        served++;
        return failing();
      };
      // Three first attempts deposit 1.5 retries: one retry happens, among all three.
      const calls = [
        rejectionOf(a.execute(down)),
        rejectionOf(b.execute(down)),
        rejectionOf(standalone.runAttempts(down, undefined, (info) => infos.push(info))),
      ];
      await clock.advance(0);
      await Promise.all(calls);
      expect(served).to.equal(4);
      expect(budget.refused).to.equal(2);
      // Each call has one retry due, made or skipped, and counts it.
      expect(a.metrics().retries + b.metrics().retries + infos.length).to.equal(3);
    });

    it('lets a standalone retry report the skip to its listener', async () => {
      const clock = new ManualClock();
      const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, clock });
      const retry = new Retry({ maxAttempts: 3, budget, clock });
      const infos: unknown[] = [];
      const error = new Error('down');
      expect(
        await rejectionOf(
          retry.runAttempts(
            () => Promise.reject(error),
            undefined,
            (i) => infos.push(i),
          ),
        ),
      ).to.equal(error);
      expect(infos).to.deep.equal([{ attempt: 1, delayMs: 0, error, skipped: 'budget' }]);
      expect(await rejectionOf(retry.execute(failing))).to.be.instanceOf(Error);
      expect(budget.refused).to.equal(2);
    });

    it('is skipped for a wait past the deadline without spending a retry', async () => {
      const clock = new ManualClock();
      const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, clock });
      const policy = Policy.builder('p')
        .timeout(50)
        .retry({ maxAttempts: 2, delay: 100, budget, clock })
        .clock(clock)
        .build();
      const events: unknown[] = [];
      policy.on('retry', (e) => events.push(e));
      const call = rejectionOf(policy.execute(failing));
      await clock.advance(0);
      await call;
      expect(events).to.have.length(1).and.to.have.nested.property('[0].skipped', 'deadline');
      expect(budget.tokens).to.equal(1);
    });
  });

  describe('from configuration', () => {
    it('gives a retry that names a budget the new budget when a reload changes only the budget', () => {
      const config = (ratio: number) => ({
        'retry-budget': { api: { ratio, 'min-per-second': 0 } },
        retry: { fast: { 'max-attempts': 3, budget: 'api' } },
        policies: { one: [{ retry: 'fast' }] },
      });
      const registry = PolicyRegistry.fromConfig(config(0.1));
      const before = registry.retry('fast');
      const unchanged = registry.reload(config(0.1));
      expect(unchanged.changed).to.deep.equal([]);
      expect(registry.retry('fast')).to.equal(before);
      const event = registry.reload(config(0.5));
      expect(event.changed).to.include.members(['retry-budget.api', 'retry.fast']);
      expect(registry.retry('fast').budget).to.equal(registry.retryBudget('api'));
      expect(registry.retryBudget('api').ratio).to.equal(0.5);
    });

    it('reports a retry naming an unknown budget at its path, on reload as on loading', () => {
      const registry = PolicyRegistry.fromConfig({ retry: { fast: { 'max-attempts': 2 } } });
      expect(() =>
        registry.reload({ retry: { fast: { 'max-attempts': 2, budget: 'nope' } } }),
      ).to.throw(TypeError, 'resilience.retry.fast');
      expect(registry.retry('fast').budget).to.equal(undefined);
    });

    it('makes named shared budgets that configured retries name as their `budget`', async () => {
      const clock = new ManualClock();
      const registry = PolicyRegistry.fromConfig(
        {
          'retry-budget': { api: { ratio: 0.1, 'min-per-second': 0, window: '5s' } },
          retry: { fast: { 'max-attempts': 3, budget: 'api' } },
          policies: {
            one: [{ retry: 'fast' }],
            two: [{ retry: { 'max-attempts': 2, budget: 'api' } }],
          },
        },
        { clock },
      );
      const budget = registry.retryBudget('api');
      expect([budget.ratio, budget.minPerSecond, budget.windowMs]).to.deep.equal([0.1, 0, 5000]);
      expect(registry.retry('fast').budget).to.equal(budget);
      await registry.policy('two').execute(() => 1);
      expect(registry.health().primitives['retry-budget']).to.deep.equal({
        api: {
          kind: 'retry-budget',
          name: 'api',
          tokens: 0.1,
          ratio: 0.1,
          minPerSecond: 0,
          refused: 0,
        },
      });
    });

    it('refuses a budget that is not configured, and a budget as a policy stage, with the path', () => {
      expect(() =>
        PolicyRegistry.fromConfig({
          'retry-budget': { api: {} },
          retry: { fast: { budget: 'apj' } },
        }),
      ).to.throw(
        TypeError,
        'resilience.retry.fast.budget: `budget` must name a configured retry-budget (did you mean `api`?)',
      );
      expect(() =>
        PolicyRegistry.fromConfig({ policies: { p: [{ 'retry-budget': 'default' }] } }),
      ).to.throw(TypeError, 'resilience.policies.p[0]: unknown stage kind `retry-budget`');
      expect(() => PolicyRegistry.fromConfig({ 'retry-budget': { api: { ratio: -1 } } })).to.throw(
        RangeError,
        'resilience.retry-budget.api.ratio',
      );
    });
  });
});
