// metrics() counts what happened, whoever listens for it.
import { expect } from 'chai';
import { Policy } from '../../src/pipeline/Policy.js';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';
import { ManualClock } from '../support/clock.js';

describe('Policy metrics', () => {
  it('counts the same retries whether or not anyone listens for them', async () => {
    const retries = async (listen: boolean): Promise<number[]> => {
      const manual = new ManualClock();
      const policies = [
        // Two retries.
        Policy.builder('retried').retry({ maxAttempts: 3, delay: 10, backoff: 1 }),
        // Two retries, then one skipped: its wait would end past the deadline.
        Policy.builder('deadline').timeout(25).retry({ maxAttempts: 4, delay: 10, backoff: 1 }),
        // Refused by an empty budget.
        Policy.builder('budget').retry({
          maxAttempts: 3,
          delay: 10,
          budget: new RetryBudget({ ratio: 0, minPerSecond: 0, clock: manual }),
        }),
      ].map((builder) => builder.clock(manual).build());
      const heard: unknown[] = [];
      if (listen) for (const policy of policies) policy.on('retry', (e) => heard.push(e));
      const calls = policies.map((policy) =>
        policy.execute(() => Promise.reject(new Error('down'))).catch(() => {}),
      );
      for (let i = 0; i < 4; i++) await manual.advance(10);
      await Promise.all(calls);
      expect(heard).to.have.length(listen ? 6 : 0);
      return policies.map((policy) => policy.metrics().retries);
    };
    expect(await retries(false)).to.deep.equal([2, 2, 0]);
    expect(await retries(true)).to.deep.equal([2, 2, 0]);
  });
});
