// Per-key views of the Redis retry budget store (`store.forKey(key)`): a budget per host or
// tenant, each under its own Redis key, all on the store's client and its health.
import { expect } from 'chai';
import { RedisRetryBudgetStore } from '../../src/redis/RedisRetryBudgetStore.js';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';
import { describeRedis } from './harness.js';

function budgetOn(store: RedisRetryBudgetStore): RetryBudget {
  return new RetryBudget({ ratio: 1, minPerSecond: 0, window: 10_000, store });
}

/** The retries a budget allows now, taken. */
function drain(budget: RetryBudget): number {
  let allowed = 0;
  while (budget.tryWithdraw()) allowed++;
  return allowed;
}

describeRedis(
  'Per-key views of RedisRetryBudgetStore',
  function (env) {
    it('give each key its own budget under its own Redis key, shared by that key in every process', async function () {
      const family = env.uniqueKey();
      const [a, b] = await Promise.all([env.connect(), env.connect()]);
      const inA = new RedisRetryBudgetStore({ client: a.client, key: family });
      const inB = new RedisRetryBudgetStore({ client: b.client, key: family });
      const aliceA = inA.forKey('alice');
      const aliceB = inB.forKey('alice');
      const bobB = inB.forKey('bob');
      expect(aliceA.redisKey).to.equal(`bulwark:rb:${family}:{alice}`);
      expect(aliceB.redisKey).to.equal(aliceA.redisKey);
      expect(bobB.redisKey).to.equal(`bulwark:rb:${family}:{bob}`);
      const [alice1, alice2, bob] = [budgetOn(aliceA), budgetOn(aliceB), budgetOn(bobB)];
      for (let i = 0; i < 3; i++) alice1.deposit();
      bob.deposit();
      await aliceA.refresh();
      await aliceB.refresh();
      await bobB.refresh();
      // Alice's three first attempts, seen in B; Bob's one is his own.
      expect(alice2.tokens).to.equal(3);
      expect(bob.tokens).to.equal(1);
      expect(drain(alice2)).to.equal(3);
      await aliceB.refresh();
      await aliceA.refresh();
      expect(alice1.tryWithdraw()).to.equal(false);
      // Each view's counts live under its own key; the store's own key is untouched.
      expect(await env.admin.command('EXISTS', aliceA.redisKey)).to.equal(1);
      expect(await env.admin.command('EXISTS', bobB.redisKey)).to.equal(1);
      expect(await env.admin.command('EXISTS', inA.redisKey)).to.equal(0);
    });

    it("keep the '' key's budget apart from every other key's", async function () {
      const { client } = await env.connect();
      const store = new RedisRetryBudgetStore({ client, key: env.uniqueKey() });
      const empty = store.forKey('');
      const percent = store.forKey('%');
      expect(empty.redisKey).to.not.equal(percent.redisKey);
      expect(empty.redisKey).to.not.equal(store.redisKey);
      const [e, p] = [budgetOn(empty), budgetOn(percent)];
      e.deposit();
      e.deposit();
      await empty.refresh();
      await percent.refresh();
      expect(e.tokens).to.equal(2);
      expect(p.tokens).to.equal(0);
      expect(await env.admin.command('EXISTS', empty.redisKey)).to.equal(1);
      // A view's forKey gives the view of another key of the same store.
      expect(empty.forKey('%').redisKey).to.equal(percent.redisKey);
    });

    it('are stores of their own on the shared client: one budget each, and what one view learns of the server the others know', async function () {
      const connection = await env.connect();
      const store = new RedisRetryBudgetStore({
        client: connection.client,
        key: env.uniqueKey(),
        onStoreError: 'fail-closed',
      });
      const alice = store.forKey('alice');
      const bob = store.forKey('bob');
      // The store and each view serve a budget each.
      const budgets = [budgetOn(store), budgetOn(alice), budgetOn(bob)];
      expect(() => budgetOn(alice)).to.throw(Error, /already serves a RetryBudget/);
      budgets[2]?.deposit();
      await bob.refresh();
      expect(bob.redisAvailable).to.equal(true);
      connection.crash();
      budgets[1]?.deposit();
      await alice.refresh();
      expect(alice.redisAvailable).to.equal(false);
      // Bob's view has not asked Redis since, yet knows it is away, and decides without it.
      expect(bob.redisAvailable).to.equal(false);
      expect(budgets[2]?.tryWithdraw()).to.equal(false);
      expect(store.redisAvailable).to.equal(false);
    });
  },
  { cluster: true },
);
