import { expect } from 'chai';
import { Policy } from '../../src/pipeline/Policy.js';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';
import { RedisRetryBudgetStore } from '../../src/redis/RedisRetryBudgetStore.js';
import type { StoreErrorMode } from '../../src/redis/options.js';
import { describeRedis, sleep, type RedisEnv, type TestClient } from './harness.js';

async function budgetFor(
  env: RedisEnv,
  key: string,
  options: {
    ratio: number;
    minPerSecond: number;
    window?: number;
    onStoreError?: StoreErrorMode;
    storeTimeout?: number;
  },
): Promise<{ budget: RetryBudget; store: RedisRetryBudgetStore; connection: TestClient }> {
  const connection = await env.connect();
  const store = new RedisRetryBudgetStore({
    client: connection.client,
    key,
    storeTimeout: options.storeTimeout ?? 200,
    ...(options.onStoreError === undefined ? {} : { onStoreError: options.onStoreError }),
  });
  const budget = new RetryBudget({
    ratio: options.ratio,
    minPerSecond: options.minPerSecond,
    window: options.window ?? 10_000,
    store,
  });
  return { budget, store, connection };
}

describeRedis(
  'RedisRetryBudgetStore',
  function (env) {
    it('shares one budget between processes with the same key', async function () {
      const key = env.uniqueKey();
      // Redis answers every refresh, however busy the machine: a refresh that timed out would
      // leave each process deciding on its own counts, which is not what this spec is about.
      const options = { ratio: 1, minPerSecond: 0, storeTimeout: 10_000 };
      const a = await budgetFor(env, key, options);
      const b = await budgetFor(env, key, options);
      for (let i = 0; i < 5; i++) a.budget.deposit();
      await a.store.refresh();
      b.budget.deposit();
      await b.store.refresh();
      expect([a.store.redisAvailable, b.store.redisAvailable]).to.deep.equal([true, true]);
      // Six first attempts across both: six retries at B, then none anywhere.
      let allowed = 0;
      while (b.budget.tryWithdraw()) allowed++;
      expect(allowed).to.equal(6);
      await b.store.refresh();
      await a.store.refresh();
      expect(a.budget.tokens).to.equal(0);
      expect(a.budget.tryWithdraw()).to.equal(false);
    });

    it('does not decide on totals answered a whole window ago, which have all expired since', async function () {
      const { budget, store } = await budgetFor(env, env.uniqueKey(), {
        ratio: 0,
        minPerSecond: 10,
        window: 300,
      });
      // The reserve is 10/s x 0.3 s = 3 retries, all taken.
      let allowed = 0;
      while (budget.tryWithdraw()) allowed++;
      expect(allowed).to.equal(3);
      await store.refresh();
      expect(budget.tryWithdraw()).to.equal(false);
      // A quiet spell longer than the window, with no answer from Redis since.
      await sleep(350);
      expect(budget.tryWithdraw()).to.equal(true);
    });

    it('keeps its counts under one hash-tagged key that expires with the window', async function () {
      const key = env.uniqueKey();
      const { budget, store } = await budgetFor(env, key, {
        ratio: 1,
        minPerSecond: 0,
        window: 300,
      });
      expect(store.redisKey).to.equal(`bulwark:rb:{${key}}`);
      budget.deposit();
      await store.refresh();
      expect(budget.tokens).to.equal(1);
      const ttl = Number(await env.admin.command('PTTL', store.redisKey));
      expect(ttl).to.be.within(1, 330);
      // A window later the counts are gone: in the script's answer as in Redis.
      await sleep(400);
      await store.refresh();
      expect(budget.tokens).to.equal(0);
    });

    it('limits a fleet of policies during an outage to the shared budget', async function () {
      const key = env.uniqueKey();
      // Redis answers every refresh, however busy the machine: a refresh that timed out would
      // leave a process deciding on its own counts, outside the shared budget.
      const fleet = await Promise.all(
        [1, 2, 3].map(() =>
          budgetFor(env, key, { ratio: 0.25, minPerSecond: 0, storeTimeout: 10_000 }),
        ),
      );
      const policies = fleet.map(({ budget }, i) =>
        Policy.builder(`p${i}`).retry({ maxAttempts: 3, budget }).build(),
      );
      let requests = 0;
      const down = (): Promise<never> => {
        requests++;
        return Promise.reject(new Error('down'));
      };
      // 40 calls per process, one at a time, each process learning the others' counts as it goes.
      for (let i = 0; i < 40; i++) {
        await Promise.all(policies.map((p) => p.execute(down).catch(() => undefined)));
        await Promise.all(fleet.map(({ store }) => store.refresh()));
      }
      for (const { store } of fleet) expect(store.redisAvailable).to.equal(true);
      // 120 calls: 30 retries in the shared budget (3 x 40 x 2 = 240 retries without one).
      expect(requests).to.be.within(120 + 28, 120 + 32);
    });

    for (const [mode, expected] of [
      ['fail-open', true],
      ['fail-closed', false],
      ['local', true],
    ] as Array<[StoreErrorMode, boolean]>) {
      it(`decides as '${mode}' says while Redis is unreachable`, async function () {
        const { budget, store, connection } = await budgetFor(env, env.uniqueKey(), {
          ratio: 0,
          minPerSecond: 0.1,
          onStoreError: mode,
        });
        connection.crash();
        budget.deposit();
        await store.refresh();
        expect(store.redisAvailable).to.equal(false);
        expect(budget.tryWithdraw()).to.equal(expected);
        // The local budget holds one retry (0.1/s over 10 s); the second is refused.
        if (mode === 'local') expect(budget.tryWithdraw()).to.equal(false);
      });
    }
  },
  { cluster: true },
);
