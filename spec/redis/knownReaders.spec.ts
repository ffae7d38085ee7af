// The synchronous readers of a primitive on a Redis store (`availableSlots`, `availableTokens`)
// report the count `tryAcquire` decides on: the last known shared count less everything this
// process has asked Redis for that Redis has not answered yet, so the two never disagree.
// Driven through a scripted adapter on fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { AdaptiveLimit } from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { settle } from '../support/promises.js';
import { flush, ScriptedAdapter } from './scripted.js';

describe('the known readers of Redis stores agree with tryAcquire (scripted, on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  describe('Bulkhead.availableSlots', function () {
    it("counts this process's own acquisitions still out, as tryAcquire does", async function () {
      const adapter = new ScriptedAdapter();
      const store = new RedisBulkheadStore({ client: adapter, key: 'pool', storeTimeout: 100 });
      const bulkhead = new Bulkhead({ maxConcurrent: 2, store });
      const runs = [settle(bulkhead.execute(() => 'a'))];
      expect(adapter.calls).to.have.length(1);
      expect(bulkhead.availableSlots, 'one slot asked for').to.equal(1);
      runs.push(settle(bulkhead.execute(() => 'b')));
      expect(bulkhead.availableSlots, 'both slots asked for').to.equal(0);
      expect(bulkhead.tryAcquire()).to.equal(false);
      adapter.answer([1, 1]);
      await flush();
      // Answered: counted in the known count now, once.
      expect(bulkhead.availableSlots).to.equal(0);
      adapter.answer([1, 2]);
      await flush();
      expect(runs.map((run) => run.value)).to.deep.equal(['a', 'b']);
      // Both ran, and their releases are still out: the last answer counted 2.
      expect(bulkhead.availableSlots).to.equal(0);
      expect(bulkhead.tryAcquire()).to.equal(false);
    });

    it('under an AdaptiveLimit, counts each acquisition out once', async function () {
      const adapter = new ScriptedAdapter();
      const store = new RedisBulkheadStore({ client: adapter, key: 'pool', storeTimeout: 100 });
      const limit = new AdaptiveLimit({ min: 1, initial: 2, max: 2 });
      const bulkhead = new Bulkhead({ limit, store });
      const runs = [settle(bulkhead.execute(() => 'a'))];
      expect(bulkhead.availableSlots).to.equal(1);
      // One slot of two is free: a second caller asks Redis, not the queue.
      runs.push(settle(bulkhead.execute(() => 'b')));
      expect(adapter.calls, 'both asking Redis').to.have.length(2);
      expect(bulkhead.queued).to.equal(0);
      expect(bulkhead.availableSlots).to.equal(0);
      adapter.answer([1, 1]);
      adapter.answer([1, 2]);
      await flush();
      expect(runs.map((run) => run.value)).to.deep.equal(['a', 'b']);
    });
  });

  describe('RateLimiter.availableTokens', function () {
    function setUp(maxTokens: number) {
      const adapter = new ScriptedAdapter();
      const store = new RedisRateLimiterStore({ client: adapter, key: 'api', storeTimeout: 100 });
      // No refill while the spec runs.
      const limiter = new RateLimiter({ maxTokens, refillRate: 0.001, store });
      return { adapter, store, limiter };
    }

    it("counts this process's own reservations still out, as tryAcquire does", async function () {
      const { adapter, limiter } = setUp(2);
      const taken = [settle(limiter.acquire())];
      expect(limiter.availableTokens, 'one token asked for').to.be.closeTo(1, 1e-6);
      expect(limiter.tryAcquire(2)).to.equal(false);
      taken.push(settle(limiter.acquire()));
      expect(limiter.availableTokens, 'both tokens asked for').to.equal(0);
      expect(limiter.tryAcquire()).to.equal(false);
      adapter.answer(['0', '1']);
      await flush();
      expect(limiter.availableTokens, 'one answered, one still out').to.be.closeTo(0, 1e-6);
      adapter.answer(['0', '0']);
      await flush();
      expect(limiter.availableTokens).to.be.closeTo(0, 1e-6);
      expect(taken.map((t) => t.status)).to.deep.equal(['fulfilled', 'fulfilled']);
    });

    it('gives back what a refused reservation had asked for once Redis answers it', async function () {
      const { adapter, limiter } = setUp(1);
      const taken = settle(limiter.acquire(0.5));
      expect(limiter.availableTokens).to.be.closeTo(0.5, 1e-6);
      expect(limiter.tryAcquire(0.5)).to.equal(true);
      expect(limiter.availableTokens).to.equal(0);
      adapter.answer(['-1000', '1']); // the reservation refused (taken elsewhere meanwhile)
      await flush();
      expect(limiter.availableTokens, 'the take still out').to.be.closeTo(0.5, 1e-6);
      adapter.answer(['0', '0.5']); // the take
      await flush();
      expect(taken.status).to.equal('rejected');
      expect(limiter.availableTokens).to.be.closeTo(0.5, 1e-6);
    });
  });
});
