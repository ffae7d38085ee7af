// Regression specs for custom stores whose client throws synchronously ("connection is closed"):
// `policy.execute` and the primitives' async entry points must answer with a rejection carrying
// the store's error, counted as a failure, as when the store rejects; the steps outside the one
// whose store threw see the failure go out (a slot taken outside comes back).
import { expect } from 'chai';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { AdaptiveLimit } from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { InMemoryBulkheadStore } from '../../src/strategies/bulkhead/store.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { InMemoryCircuitBreakerStore } from '../../src/strategies/circuit-breaker/store.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { InMemoryRateLimiterStore } from '../../src/strategies/rate-limiter/store.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';
import { InMemoryRetryBudgetStore } from '../../src/strategies/retry-budget/store.js';
import { ManualClock } from '../support/clock.js';
import { deferred, flush, settle } from './support.js';

function withRecord(record: () => never): InMemoryCircuitBreakerStore {
  const store = new InMemoryCircuitBreakerStore();
  store.record = record;
  return store;
}

const closed = (what: string) => (): never => {
  throw new Error(`${what}: connection is closed`);
};

/** Calls `run`, which must not throw; answers its settled promise after a flush. */
async function settledCall(run: () => Promise<unknown>) {
  let promise: Promise<unknown> | undefined;
  expect(() => {
    promise = run();
  }, 'no synchronous throw').not.to.throw();
  const settled = settle(promise as Promise<unknown>);
  await flush();
  return settled;
}

function counts(policy: Policy<unknown, unknown>) {
  const { calls, successes, failures } = policy.metrics();
  return { calls, successes, failures };
}

describe('custom stores that throw synchronously', () => {
  describe('through a policy', () => {
    it('rejects a bulkhead call with what tryAcquire threw, counted as a failure', async () => {
      const store = new InMemoryBulkheadStore();
      store.tryAcquire = closed('tryAcquire');
      const policy = Policy.builder('b').bulkhead(new Bulkhead({ store })).build();
      let ran = false;
      const call = await settledCall(() => policy.execute(() => (ran = true)));
      expect((call.reason as Error).message).to.equal('tryAcquire: connection is closed');
      expect(ran).to.equal(false);
      expect(counts(policy)).to.deep.equal({ calls: 1, successes: 0, failures: 1 });
      expect(policy.metrics().rejections.bulkhead).to.equal(0);
    });

    it('rejects a rate-limited call with what tryReserve or reserve threw', async () => {
      const store = new InMemoryRateLimiterStore();
      store.tryReserve = closed('tryReserve');
      const policy = Policy.builder('r').rateLimiter(new RateLimiter({ store })).build();
      const call = await settledCall(() => policy.execute(() => 'ran'));
      expect((call.reason as Error).message).to.equal('tryReserve: connection is closed');
      expect(counts(policy)).to.deep.equal({ calls: 1, successes: 0, failures: 1 });
      expect(policy.metrics().rejections.rateLimit).to.equal(0);

      // The slow path: no token now, and the store's reserve throws.
      const slow = new InMemoryRateLimiterStore();
      slow.tryReserve = () => false;
      slow.reserve = closed('reserve');
      const waiting = Policy.builder('w')
        .rateLimiter(new RateLimiter({ store: slow, maxWait: 1_000 }))
        .build();
      const late = await settledCall(() => waiting.execute(() => 'ran'));
      expect((late.reason as Error).message).to.equal('reserve: connection is closed');
      expect(counts(waiting)).to.deep.equal({ calls: 1, successes: 0, failures: 1 });
    });

    it('rejects a retried call with what the budget store threw on deposit', async () => {
      const store = new InMemoryRetryBudgetStore();
      store.deposit = closed('deposit');
      const policy = Policy.builder('d')
        .retry({ budget: new RetryBudget({ store }) })
        .build();
      let ran = false;
      const call = await settledCall(() => policy.execute(() => (ran = true)));
      expect((call.reason as Error).message).to.equal('deposit: connection is closed');
      expect(ran).to.equal(false);
      expect(counts(policy)).to.deep.equal({ calls: 1, successes: 0, failures: 1 });
    });

    it('gives back a slot taken outside the step whose store threw', async () => {
      const store = new InMemoryRateLimiterStore();
      store.tryReserve = closed('tryReserve');
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      const policy = Policy.builder('outer')
        .bulkhead(bulkhead)
        .rateLimiter(new RateLimiter({ store }))
        .build();
      const call = await settledCall(() => policy.execute(() => 'ran'));
      expect((call.reason as Error).message).to.equal('tryReserve: connection is closed');
      expect(bulkhead.availableSlots, 'the slot came back').to.equal(1);
    });

    it('fails a later attempt whose store throws, without an unhandled rejection', async () => {
      const clock = new ManualClock(0);
      const store = new InMemoryBulkheadStore();
      const tryAcquire = store.tryAcquire.bind(store);
      let asked = 0;
      store.tryAcquire = () => (++asked === 1 ? tryAcquire() : closed('tryAcquire')());
      const policy = Policy.builder('again')
        .clock(clock)
        .retry({ maxAttempts: 2, delay: 10, jitter: 0 })
        .bulkhead(new Bulkhead({ store }))
        .build();
      const call = settle(
        policy.execute(() => {
          throw new Error('first attempt fails');
        }),
      );
      await clock.advance(10);
      await flush();
      expect(asked).to.equal(2);
      expect((call.reason as Error).message).to.equal('tryAcquire: connection is closed');
      expect(counts(policy)).to.deep.equal({ calls: 1, successes: 0, failures: 1 });
    });
  });

  describe('on the way out', () => {
    it('keeps the outcome of a call whose breaker store throws on record', async () => {
      const store = new InMemoryCircuitBreakerStore();
      store.record = closed('record');
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      const policy = Policy.builder('record')
        .bulkhead(bulkhead)
        .circuitBreaker(new CircuitBreaker({ store }))
        .build();
      const ok = await settledCall(() => policy.execute(() => Promise.resolve('value')));
      expect(ok.value).to.equal('value');
      const failed = await settledCall(() =>
        policy.execute(() => Promise.reject(new Error('dependency'))),
      );
      expect((failed.reason as Error).message).to.equal('dependency');
      expect(counts(policy)).to.deep.equal({ calls: 2, successes: 1, failures: 1 });
      expect(bulkhead.availableSlots, 'the slot came back').to.equal(1);
      const breaker = new CircuitBreaker({ store: withRecord(closed('record')) });
      expect(await breaker.execute(() => Promise.resolve('alone'))).to.equal('alone');
    });

    it('gives a slot back when the store under an adaptive limit throws on inUse', async () => {
      const store = new InMemoryBulkheadStore();
      const inUse = store.inUse.bind(store);
      let failing = false;
      store.inUse = () => (failing ? closed('inUse')() : inUse());
      const bulkhead = new Bulkhead({ store, limit: new AdaptiveLimit({ min: 1, max: 4 }) });
      const policy = Policy.builder('adaptive').bulkhead(bulkhead).build();
      const work = deferred<string>();
      const call = await settledCall(() => policy.execute(() => work.promise));
      failing = true;
      work.resolve('value');
      await flush();
      failing = false;
      expect(call.value).to.equal('value');
      expect(counts(policy)).to.deep.equal({ calls: 1, successes: 1, failures: 0 });
      expect(inUse(), 'the slot came back').to.equal(0);
    });
  });

  describe('through the primitives', () => {
    it('Bulkhead.execute rejects with what tryAcquire threw', async () => {
      const store = new InMemoryBulkheadStore();
      store.tryAcquire = closed('tryAcquire');
      const bulkhead = new Bulkhead({ store });
      const call = await settledCall(() => bulkhead.execute(() => 'ran'));
      expect((call.reason as Error).message).to.equal('tryAcquire: connection is closed');
    });

    it('RateLimiter.execute and acquire reject with what the store threw', async () => {
      const store = new InMemoryRateLimiterStore();
      store.tryReserve = closed('tryReserve');
      store.reserve = closed('reserve');
      const limiter = new RateLimiter({ store });
      const run = await settledCall(() => limiter.execute(() => 'ran'));
      expect((run.reason as Error).message).to.equal('tryReserve: connection is closed');
      const take = await settledCall(() => limiter.acquire());
      expect((take.reason as Error).message).to.equal('reserve: connection is closed');
    });

    it('Retry.execute rejects with what the budget store threw on deposit', async () => {
      const store = new InMemoryRetryBudgetStore();
      store.deposit = closed('deposit');
      const retry = new Retry({ budget: new RetryBudget({ store }) });
      let ran = false;
      const call = await settledCall(() => retry.execute(() => (ran = true)));
      expect((call.reason as Error).message).to.equal('deposit: connection is closed');
      expect(ran).to.equal(false);
    });
  });
});
