// How a Redis retry budget sends its counts, through a scripted adapter: one script call at a
// time, and `refresh()` answered while the budget is in constant use.
import { expect } from 'chai';
import { systemClock } from '../../src/internal/clock.js';
import { RedisRetryBudgetStore } from '../../src/redis/RedisRetryBudgetStore.js';
import { flush, ScriptedAdapter } from './scripted.js';

/** Answers the oldest unanswered call with the window's totals; its deposits and retries. */
function answer(adapter: ScriptedAdapter, deposits: number, withdrawals: number): string[] {
  return adapter.answer([String(deposits), String(withdrawals)]).slice(2);
}

describe('RedisRetryBudgetStore sends', function () {
  it('answers refresh() while counts keep coming, once a send carrying them all is answered', async function () {
    const adapter = new ScriptedAdapter();
    const store = new RedisRetryBudgetStore({ client: adapter, key: 'busy', storeTimeout: 1000 });
    store.configure({ ratio: 1, minPerSecond: 0, windowMs: 10_000, clock: systemClock });
    store.deposit(1);
    let refreshed = false;
    const refresh = store.refresh().then(() => (refreshed = true));
    store.deposit(2);
    // One call at a time: the 2 go once the 1 is answered.
    expect(adapter.calls).to.have.length(1);
    expect(answer(adapter, 1, 0)).to.deep.equal(['1', '0']);
    await flush();
    store.deposit(4);
    expect(answer(adapter, 3, 0)).to.deep.equal(['2', '0']);
    await flush();
    // The answer to the send that carried every count made before refresh() answers it, though
    // the budget is in use still (the 4 is out).
    expect(refreshed).to.equal(true);
    await refresh;
    expect(answer(adapter, 7, 0)).to.deep.equal(['4', '0']);
    await flush();
    expect(store.balance()).to.equal(7);
    expect(adapter.calls).to.have.length(0);
  });
});
