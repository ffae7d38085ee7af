// A store driven by `tryAcquire` alone (which decides on the count it knows, without waiting for
// Redis) still learns from Redis: a bulkhead whose known count is full sends for a fresh one,
// both stores go back to Redis after an outage's back-off whether or not the known count covers
// the call, and the first command after an outage takes leases for the calls running on local
// slots. On a scripted adapter and fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import type { StoreErrorMode } from '../../src/redis/options.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { flush, ScriptedAdapter } from './scripted.js';

const STORE_TIMEOUT = 100;
// The back-off after a failure: 4 x storeTimeout.
const BACK_OFF = 400;
const offline = (): Error => new Error('The client is offline');

describe('Redis stores driven by tryAcquire alone (on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  function bulkheadOn(
    mode: StoreErrorMode,
    maxConcurrent: number,
    options: { instances?: number; leaseTtl?: string } = {},
  ) {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({
      client: adapter,
      key: 'pool',
      storeTimeout: STORE_TIMEOUT,
      onStoreError: mode,
      ...options,
    });
    return { adapter, store, bulkhead: new Bulkhead({ maxConcurrent, store }) };
  }

  /** The bulkhead learns from a refused take that Redis counts `inUse` slots taken elsewhere. */
  async function learnFull(
    adapter: ScriptedAdapter,
    bulkhead: Bulkhead,
    inUse: number,
  ): Promise<void> {
    expect(bulkhead.tryAcquire()).to.equal(true);
    adapter.answer([0, inUse]);
    await flush();
    bulkhead.release();
    expect(bulkhead.availableSlots).to.equal(0);
  }

  describe('RedisBulkheadStore', function () {
    it('sends for the count when the known count is full, so slots freed elsewhere are seen', async function () {
      const { adapter, bulkhead } = bulkheadOn('local', 2);
      await learnFull(adapter, bulkhead, 2);
      expect(bulkhead.tryAcquire()).to.equal(false);
      // A renewal of no lease: it only learns the count.
      expect(adapter.calls.map((call) => call.args)).to.deep.equal([['renew', '2', '30000']]);
      // Slots were freed elsewhere since.
      adapter.answer([0, []]);
      await flush();
      expect(bulkhead.availableSlots).to.equal(2);
      expect(bulkhead.tryAcquire()).to.equal(true);
      expect(adapter.next().args[0]).to.equal('acquire');
    });

    it('keeps one such command out at most, and sends one every min(100 ms, leaseTtl / 4) at most', async function () {
      const { adapter, bulkhead } = bulkheadOn('local', 2, { leaseTtl: '200ms' });
      await learnFull(adapter, bulkhead, 2);
      expect(bulkhead.tryAcquire()).to.equal(false);
      expect(bulkhead.tryAcquire()).to.equal(false);
      expect(adapter.calls, 'while one is out').to.have.length(1);
      adapter.answer([2, []]);
      await flush();
      // Still full: the next refusals within 50 ms (leaseTtl / 4) send nothing.
      await clock.tickAsync(49);
      expect(bulkhead.tryAcquire()).to.equal(false);
      expect(adapter.calls).to.have.length(0);
      await clock.tickAsync(1);
      expect(bulkhead.tryAcquire()).to.equal(false);
      expect(adapter.calls).to.have.length(1);
    });

    for (const [mode, during] of [
      ['fail-open', true],
      ['fail-closed', false],
      ['local', true],
    ] as const) {
      it(`'${mode}': goes back to Redis after the back-off when the known count is full`, async function () {
        const { adapter, store, bulkhead } = bulkheadOn(mode, 1);
        await learnFull(adapter, bulkhead, 1);
        // An acquire finds Redis away.
        const acquired = bulkhead.acquire().then(
          () => bulkhead.release(),
          () => undefined,
        );
        await flush();
        adapter.next().reject(offline());
        await acquired;
        expect(store.redisAvailable).to.equal(false);
        const answers = [bulkhead.tryAcquire()];
        if (answers[0] !== false) bulkhead.release();
        expect(adapter.calls, 'in the back-off').to.have.length(0);
        await clock.tickAsync(BACK_OFF);
        // The known count is full: the probe sends for the count, and the call is decided as
        // onStoreError says meanwhile.
        answers.push(bulkhead.tryAcquire());
        expect(answers.map((answer) => answer !== false)).to.deep.equal([during, during]);
        if (answers[1] !== false) bulkhead.release();
        expect(adapter.calls, 'the probe').to.have.length(1);
        expect(adapter.calls[0]?.args[0]).to.equal('retake');
        adapter.answer([0, []]);
        await flush();
        expect(store.redisAvailable).to.equal(true);
        expect(bulkhead.tryAcquire()).to.equal(true);
        expect(adapter.next().args[0]).to.equal('acquire');
      });
    }

    it("'local': a take by tryAcquire, first to reach Redis after an outage, takes leases for the calls on local slots", async function () {
      // maxConcurrent 4 over 2 instances: 2 local slots.
      const { adapter, store, bulkhead } = bulkheadOn('local', 4, { instances: 2 });
      const first = bulkhead.acquire();
      await flush();
      adapter.next().reject(offline());
      await first;
      await bulkhead.acquire();
      expect(adapter.calls, 'decided on the local limit').to.have.length(0);
      await clock.tickAsync(BACK_OFF);
      // Redis is back; the known count (nothing in use, 2 calls here) admits a third call.
      expect(bulkhead.tryAcquire()).to.equal(true);
      const take = adapter.next();
      // A lease for this call, and two taken whatever the limit for the calls on local slots.
      const [op, , , slot, count, ...adopted] = take.args;
      expect([op, count, adopted.length]).to.deep.equal(['adopt', '2', 2]);
      take.resolve([1, 3]);
      await flush();
      expect(store.redisAvailable).to.equal(true);
      expect(store.leases).to.equal(3);
      expect(bulkhead.availableSlots).to.equal(1);
      // The call on the slot tryAcquire took ends: its lease is freed.
      bulkhead.release();
      expect(adapter.answer([1, 2])).to.deep.equal(['release', '4', '30000', slot]);
      await flush();
      // A call on a local slot ends: one of the leases taken for them is freed.
      bulkhead.release();
      const release = adapter.answer([1, 1]);
      expect(release.slice(0, 3)).to.deep.equal(['release', '4', '30000']);
      expect(release.slice(3)).to.have.length(1);
      expect(adopted).to.include(release[3]);
      await flush();
      expect(store.leases).to.equal(1);
    });

    it("'local': the probe for a full count takes leases for the calls on local slots", async function () {
      const { adapter, store, bulkhead } = bulkheadOn('local', 2, { instances: 2 });
      await learnFull(adapter, bulkhead, 2);
      expect(bulkhead.tryAcquire()).to.equal(false);
      adapter.next().reject(offline());
      await flush();
      // In the back-off: the one local slot.
      expect(bulkhead.tryAcquire()).to.equal(true);
      await clock.tickAsync(BACK_OFF);
      // The probe (the count is full: the local limit decides this call, and refuses it).
      expect(bulkhead.tryAcquire()).to.equal(false);
      const probe = adapter.next();
      expect(probe.args[0]).to.equal('retake');
      // A lease for the call on the local slot.
      expect(probe.args.slice(3)).to.have.length(1);
      probe.resolve([2, []]);
      await flush();
      expect(store.leases).to.equal(1);
    });
  });

  describe('RedisRateLimiterStore', function () {
    function limiterOn(mode: StoreErrorMode) {
      const adapter = new ScriptedAdapter();
      const store = new RedisRateLimiterStore({
        client: adapter,
        key: 'api',
        storeTimeout: STORE_TIMEOUT,
        onStoreError: mode,
      });
      // One token in 1000 s: none comes back while a spec runs.
      return {
        adapter,
        store,
        limiter: new RateLimiter({ maxTokens: 2, refillRate: 0.001, store }),
      };
    }

    for (const [mode, during] of [
      ['fail-open', true],
      ['fail-closed', false],
    ] as const) {
      it(`'${mode}': goes back to Redis after the back-off when the known count does not cover the call`, async function () {
        const { adapter, store, limiter } = limiterOn(mode);
        expect([limiter.tryAcquire(), limiter.tryAcquire()]).to.deep.equal([true, true]);
        // Another process took a token since: the first take leaves none.
        adapter.answer(['0', '0']);
        // The second take finds Redis away.
        adapter.next().reject(offline());
        await flush();
        expect(store.redisAvailable).to.equal(false);
        expect(limiter.tryAcquire(), 'in the back-off').to.equal(during);
        await clock.tickAsync(BACK_OFF);
        // The known count (none) does not cover a token: the probe reads the count, and the call is decided as onStoreError says meanwhile.
        expect(limiter.tryAcquire()).to.equal(during);
        const probe = adapter.next();
        expect(probe.args.slice(2, 4)).to.deep.equal(['f', '0']);
        expect(limiter.tryAcquire(), 'while the probe is out').to.equal(during);
        probe.resolve(['0', '0']);
        await flush();
        expect(store.redisAvailable).to.equal(true);
        // Decided on the count Redis gave again.
        expect(limiter.tryAcquire()).to.equal(false);
        expect(adapter.calls).to.have.length(0);
      });
    }

    it("'fail-open': keeps probing after each back-off while Redis stays away", async function () {
      const { adapter, store, limiter } = limiterOn('fail-open');
      expect(limiter.tryAcquire()).to.equal(true);
      expect(limiter.tryAcquire()).to.equal(true);
      adapter.answer(['0', '0']);
      adapter.next().reject(offline());
      await flush();
      for (let i = 0; i < 3; i++) {
        await clock.tickAsync(BACK_OFF);
        expect(limiter.tryAcquire()).to.equal(true);
        adapter.next().reject(offline());
        await flush();
        expect(store.redisAvailable).to.equal(false);
      }
    });
  });
});
