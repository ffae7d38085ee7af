// The retry budget rules of docs/CONTRACT.md (R-RB-*), checked against the built package.
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import { Policy, PolicyRegistry, Retry, RetryBudget } from 'bulwark';
import { rejectionOf } from './support.js';

const down = (): Promise<never> => Promise.reject(new Error('down'));

describe('contract: RetryBudget', () => {
  it('R-RB-1: retries in the window <= ratio x first attempts + minPerSecond x window seconds', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, window: '5s', clock });
    for (let i = 0; i < 10; i++) budget.deposit();
    let allowed = 0;
    while (budget.tryWithdraw()) allowed++;
    expect(allowed).to.equal(7); // 0.2 x 10 + 1 x 5
    // The counts leave the window a whole window later, a tenth at a time.
    await clock.advance(4999);
    expect(budget.tryWithdraw()).to.equal(false);
    await clock.advance(1);
    expect(budget.tokens).to.equal(5);
    expect(clock.pending()).to.equal(0);
  });

  it('R-RB-1: the retries a budget holds are counted to a millionth of a retry', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, clock });
    for (let i = 0; i < 101; i++) budget.deposit();
    expect(budget.tokens).to.equal(20.2); // 0.2 x 101 = 20.200000000000003 in binary
    const registry = new PolicyRegistry({ clock });
    expect(registry.retryBudget('default').tokens).to.equal(100);
  });

  it("R-RB-2: an exhausted budget returns the last outcome at once, with `skipped: 'budget'`", async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, clock });
    const policy = Policy.builder('p').retry({ maxAttempts: 5, budget, clock }).build();
    const events: unknown[] = [];
    policy.on('retry', (e) => events.push(e));
    let attempts = 0;
    const error = new Error('down');
    expect(
      await rejectionOf(
        policy.execute(() => {
          attempts++;
          return Promise.reject(error);
        }),
      ),
    ).to.equal(error);
    expect(attempts).to.equal(1);
    expect(events).to.deep.equal([
      { policy: 'p', stage: 'retry', attempt: 1, delayMs: 0, error, skipped: 'budget' },
    ]);
    // The skipped retry is a `retry` event, counted as every one is.
    expect(policy.metrics().retries).to.equal(1);
    // A standalone Retry on the same exhausted budget: one attempt, its outcome at once.
    let standaloneAttempts = 0;
    const standalone = new Retry({ maxAttempts: 5, budget, clock });
    const standaloneError = await rejectionOf(
      standalone.execute(() => {
        standaloneAttempts++;
        throw error;
      }),
    );
    expect(standaloneError).to.equal(error);
    expect(standaloneAttempts).to.equal(1);
  });

  it('R-RB-2: a retry skipped for the deadline withdraws nothing', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, clock });
    const policy = Policy.builder('p')
      .timeout(10)
      .retry({ maxAttempts: 2, delay: 50, budget })
      .clock(clock)
      .build();
    await rejectionOf(policy.execute(down));
    expect(budget.tokens).to.equal(1);
  });

  it('R-RB-3: one budget serves every retry given it, and shows in their state', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, clock });
    const a = Policy.builder('a').retry({ maxAttempts: 2, budget, clock }).build();
    const b = Policy.builder('b').retry({ maxAttempts: 2, budget, clock }).build();
    let served = 0;
    const counted = (): Promise<never> => {
      served++;
      return down();
    };
    const calls = [a.execute(counted), b.execute(counted)].map((p) => p.catch(() => undefined));
    await clock.advance(0);
    await Promise.all(calls);
    // Two first attempts pay for one retry: three attempts, one retry refused.
    expect(served).to.equal(3);
    expect(budget.refused).to.equal(1);
    expect(a.metrics().retries + b.metrics().retries, 'both retry events').to.equal(2);
    expect(a.metrics().stages[0]).to.deep.include({ budgetTokens: 0, budgetRatio: 0.5 });
  });

  it('R-RB-4: configuration names shared budgets; a retry refers to one; never a stage', () => {
    const registry = PolicyRegistry.fromConfig({
      'retry-budget': { api: { ratio: 0.1 } },
      policies: { p: [{ retry: { budget: 'api' } }] },
    });
    expect(registry.retryBudget('api').ratio).to.equal(0.1);
    expect(registry.health().primitives['retry-budget']).to.have.key('api');
    expect(() => PolicyRegistry.fromConfig({ retry: { r: { budget: 'nope' } } })).to.throw(
      TypeError,
      'resilience.retry.r.budget: `budget` must name a configured retry-budget',
    );
    expect(() =>
      PolicyRegistry.fromConfig({ policies: { p: [{ 'retry-budget': { ratio: 1 } }] } }),
    ).to.throw(TypeError, 'unknown stage kind `retry-budget`');
  });
});
