// metrics() counts what happened, whoever listens for it.
import { expect } from 'chai';
import { Policy } from '../../src/pipeline/Policy.js';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { InMemoryBulkheadStore } from '../../src/strategies/bulkhead/store.js';
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
    // A skipped retry is a retry event too, and counted as one.
    expect(await retries(false)).to.deep.equal([2, 3, 1]);
    expect(await retries(true)).to.deep.equal([2, 3, 1]);
  });

  it('reports a stage whose custom store throws as last known, or by kind and name alone', async () => {
    const store = new InMemoryBulkheadStore();
    const inUse = store.inUse.bind(store);
    let failing = true;
    store.inUse = () => {
      if (failing) throw new Error('inUse: connection is closed');
      return inUse();
    };
    const policy = Policy.builder('pool')
      .retry({ maxAttempts: 1 })
      .bulkhead(new Bulkhead({ maxConcurrent: 2, store }))
      .build();
    // Never read yet: the stage's kind and name alone, nothing undefined or NaN; the other
    // stages and the counters as ever.
    const first = policy.metrics();
    expect(first.stages[1]).to.deep.equal({ kind: 'bulkhead', name: 'bulkhead' });
    expect(first.stages[0]).to.include({ kind: 'retry', name: 'retry' });
    expect(first).to.include({ calls: 0, failures: 0 });
    failing = false;
    let release = (): void => {};
    const call = policy.execute(() => new Promise<void>((resolve) => (release = resolve)));
    const known = policy.metrics().stages[1];
    expect(known).to.deep.equal({
      kind: 'bulkhead',
      name: 'bulkhead',
      availableSlots: 1,
      maxConcurrent: 2,
      queued: 0,
      orphaned: 0,
    });
    // The store fails again: the last state read, not a throw.
    failing = true;
    const stale = policy.metrics().stages[1] as Record<string, unknown>;
    expect(stale).to.deep.equal(known);
    // Each snapshot its own object: what a reader does to one is not in the next.
    stale.availableSlots = 99;
    (known as Record<string, unknown>).queued = 99;
    expect(policy.metrics().stages[1]).to.include({ availableSlots: 1, queued: 0 });
    failing = false;
    release();
    await call;
    expect(policy.metrics().stages[1]).to.include({ availableSlots: 2 });
  });
});
