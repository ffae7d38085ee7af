// `tryAcquire` on a Redis store, with Redis answering when the spec says: what the ticket frees
// whichever of its release and Redis's answer comes first, and what the count says meanwhile.
// Driven through a scripted adapter on fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import type { StoreErrorMode } from '../../src/redis/options.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { settle } from '../support/promises.js';
import { flush, ScriptedAdapter, type ScriptedCall } from './scripted.js';

describe('tryAcquire on Redis stores (scripted, on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  /** The oldest call, which must be a lease script call of `op`. */
  function nextOf(adapter: ScriptedAdapter, op: string): ScriptedCall {
    const call = adapter.next();
    expect(call.args[0], 'the lease operation').to.equal(op);
    return call;
  }

  describe('Bulkhead', function () {
    function setUp(options: { maxConcurrent?: number; maxQueue?: number } = {}) {
      const adapter = new ScriptedAdapter();
      const store = new RedisBulkheadStore({ client: adapter, key: 'pool', storeTimeout: 100 });
      const bulkhead = new Bulkhead({ maxConcurrent: 2, ...options, store });
      return { adapter, store, bulkhead };
    }

    it('frees the lease Redis granted, and renews it while held', async function () {
      const { adapter, store, bulkhead } = setUp();
      expect(bulkhead.tryAcquire()).to.equal(true);
      const take = nextOf(adapter, 'acquire');
      const id = take.args[3];
      expect(bulkhead.availableSlots, 'counted at once').to.equal(1);
      take.resolve([1, 1]);
      await flush();
      expect(store.leases).to.equal(1);
      expect(bulkhead.availableSlots).to.equal(1);
      // Renewed every leaseTtl / 3 (10 s).
      await clock.tickAsync(10_000);
      const renew = nextOf(adapter, 'renew');
      expect(renew.args.slice(3)).to.deep.equal([id]);
      renew.resolve([1, []]);
      await flush();
      bulkhead.release();
      // Named by a renewal: retired, so that renewal, run late, does not add it again.
      const release = nextOf(adapter, 'retire');
      expect(release.args.slice(3)).to.deep.equal([id]);
      release.resolve([1, 0]);
      await flush();
      expect([store.leases, bulkhead.availableSlots]).to.deep.equal([0, 2]);
      expect(adapter.calls).to.have.length(0);
    });

    it('frees exactly the released slot of several', async function () {
      const { adapter, bulkhead } = setUp();
      expect(bulkhead.tryAcquire() && bulkhead.tryAcquire()).to.equal(true);
      expect(bulkhead.tryAcquire(), 'both known slots taken').to.equal(false);
      const first = nextOf(adapter, 'acquire');
      const second = nextOf(adapter, 'acquire');
      first.resolve([1, 1]);
      second.resolve([1, 2]);
      // The refusal sent for the count (a renewal of no lease, sent before either was granted).
      expect(nextOf(adapter, 'renew').args.slice(3)).to.deep.equal([]);
      await flush();
      // The last slot taken by hand is the one released.
      bulkhead.release();
      expect(nextOf(adapter, 'release').args.slice(3)).to.deep.equal([second.args[3]]);
    });

    it('gives back a lease Redis grants after the slot was released', async function () {
      const { adapter, store, bulkhead } = setUp();
      expect(bulkhead.tryAcquire()).to.equal(true);
      bulkhead.release();
      const take = nextOf(adapter, 'acquire');
      expect(adapter.calls, 'nothing to free yet').to.have.length(0);
      take.resolve([1, 1]);
      await flush();
      expect(nextOf(adapter, 'release').args.slice(3)).to.deep.equal([take.args[3]]);
      expect(store.leases).to.equal(0);
    });

    it('frees nothing when Redis refused the take, the call having run untracked', async function () {
      const { adapter, store, bulkhead } = setUp();
      expect(bulkhead.tryAcquire()).to.equal(true);
      nextOf(adapter, 'acquire').resolve([0, 2]);
      await flush();
      expect(bulkhead.availableSlots, 'the shared count learned').to.equal(0);
      bulkhead.release();
      await flush();
      expect(adapter.calls).to.have.length(0);
      expect(store.leases).to.equal(0);
      expect(bulkhead.tryAcquire(), 'no slot known free').to.equal(false);
    });

    it('keeps a lease granted after the take timed out, and frees it on release', async function () {
      const { adapter, store, bulkhead } = setUp();
      expect(bulkhead.tryAcquire()).to.equal(true);
      const take = nextOf(adapter, 'acquire');
      await clock.tickAsync(100);
      expect(store.redisAvailable).to.equal(false);
      take.resolve([1, 1]);
      await flush();
      expect(store.leases).to.equal(1);
      // Past the back-off, the release reaches Redis.
      await clock.tickAsync(400);
      bulkhead.release();
      expect(nextOf(adapter, 'release').args.slice(3)).to.deep.equal([take.args[3]]);
    });

    it('gives back a lease granted after the take timed out and the slot was released', async function () {
      const { adapter, store, bulkhead } = setUp();
      expect(bulkhead.tryAcquire()).to.equal(true);
      const take = nextOf(adapter, 'acquire');
      await clock.tickAsync(100);
      bulkhead.release();
      await flush();
      expect(adapter.calls).to.have.length(0);
      take.resolve([1, 1]);
      await flush();
      expect(nextOf(adapter, 'release').args.slice(3)).to.deep.equal([take.args[3]]);
      expect(store.leases).to.equal(0);
    });

    it('gives the lease back when the caller queued for the slot aborted before its release', async function () {
      const { adapter, store, bulkhead } = setUp({ maxConcurrent: 1, maxQueue: 1 });
      expect(bulkhead.tryAcquire()).to.equal(true);
      const take = nextOf(adapter, 'acquire');
      const controller = new AbortController();
      const queued = settle(bulkhead.execute(() => 'ran', controller.signal));
      // Redis says the slot is taken (by the take above): the caller queues here.
      nextOf(adapter, 'acquire').resolve([0, 1]);
      await flush();
      expect(bulkhead.queued).to.equal(1);
      controller.abort(new Error('gone'));
      await flush();
      expect(queued.status).to.equal('rejected');
      bulkhead.release();
      take.resolve([1, 1]);
      await flush();
      expect(nextOf(adapter, 'release').args.slice(3)).to.deep.equal([take.args[3]]);
      expect(store.leases).to.equal(0);
    });

    it('hands the slot to a queued caller, whose end frees the lease granted meanwhile', async function () {
      const { adapter, store, bulkhead } = setUp({ maxConcurrent: 1, maxQueue: 1 });
      expect(bulkhead.tryAcquire()).to.equal(true);
      const take = nextOf(adapter, 'acquire');
      let finish: () => void = () => {};
      const queued = settle(
        bulkhead.execute(() => new Promise<string>((resolve) => (finish = () => resolve('ran')))),
      );
      nextOf(adapter, 'acquire').resolve([0, 1]);
      await flush();
      bulkhead.release();
      await flush();
      expect(bulkhead.queued, 'the slot handed on').to.equal(0);
      take.resolve([1, 1]);
      await flush();
      expect(store.leases, 'held by the queued call').to.equal(1);
      finish();
      await flush();
      expect(queued).to.deep.include({ status: 'fulfilled', value: 'ran' });
      expect(nextOf(adapter, 'release').args.slice(3)).to.deep.equal([take.args[3]]);
    });

    for (const [mode, granted] of [
      ['local', true],
      ['fail-open', true],
      ['fail-closed', false],
    ] as const) {
      it(`decides as onStoreError '${mode}' says while Redis is away, sending nothing`, async function () {
        const adapter = new ScriptedAdapter();
        const store = new RedisBulkheadStore({
          client: adapter,
          key: 'pool',
          storeTimeout: 100,
          onStoreError: mode as StoreErrorMode,
        });
        const bulkhead = new Bulkhead({ maxConcurrent: 2, store });
        void settle(bulkhead.acquire());
        await clock.tickAsync(100);
        adapter.calls.length = 0;
        expect(bulkhead.tryAcquire()).to.equal(granted);
        expect(adapter.calls).to.have.length(0);
      });
    }

    it("counts this process's own acquisitions still out against the known count", async function () {
      const { adapter, bulkhead } = setUp();
      const runs = [settle(bulkhead.execute(() => 'a')), settle(bulkhead.execute(() => 'b'))];
      expect(adapter.calls, 'both asking Redis').to.have.length(2);
      expect(bulkhead.tryAcquire(), 'both slots asked for').to.equal(false);
      adapter.answer([1, 1]);
      adapter.answer([1, 2]);
      await flush();
      expect(runs.map((run) => run.value)).to.deep.equal(['a', 'b']);
    });

    it('hands no slot on to a caller queued here while a slot Redis refused still runs', async function () {
      const { adapter, bulkhead } = setUp({ maxConcurrent: 1, maxQueue: 1 });
      expect(bulkhead.tryAcquire()).to.equal(true);
      nextOf(adapter, 'acquire').resolve([0, 1]); // another process holds the only slot
      await flush();
      let ran = 0;
      const queued = settle(bulkhead.execute(() => ran++));
      nextOf(adapter, 'acquire').resolve([0, 1]);
      await flush();
      expect(bulkhead.queued).to.equal(1);
      bulkhead.release(); // the untracked slot: the queued caller asks Redis, not inherits it
      await flush();
      expect(ran).to.equal(0);
      expect(queued.status).to.equal('pending');
    });

    it('brings the store back to Redis once the back-off is over, through tryAcquire alone', async function () {
      const { adapter, store, bulkhead } = setUp();
      expect(bulkhead.tryAcquire()).to.equal(true);
      await clock.tickAsync(100); // the take times out: Redis away
      expect(store.redisAvailable).to.equal(false);
      bulkhead.release();
      await clock.tickAsync(400); // the back-off is over
      adapter.calls.splice(0);
      expect(bulkhead.tryAcquire(), 'admitted on the known count').to.equal(true);
      nextOf(adapter, 'acquire').resolve([1, 1]);
      await flush();
      expect(store.redisAvailable).to.equal(true);
    });
  });

  describe('RateLimiter', function () {
    function setUp(maxTokens = 3) {
      const adapter = new ScriptedAdapter();
      const store = new RedisRateLimiterStore({ client: adapter, key: 'api', storeTimeout: 100 });
      // No refill while the spec runs.
      const limiter = new RateLimiter({ maxTokens, refillRate: 0.001, store });
      return { adapter, store, limiter };
    }

    it('counts the tokens taken since the last answer, until Redis answers for them', async function () {
      const { adapter, limiter } = setUp();
      expect([limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire()]).to.deep.equal([
        true,
        true,
        true,
      ]);
      expect(limiter.tryAcquire(), 'every known token taken').to.equal(false);
      expect(adapter.calls).to.have.length(3);
      // Each take is a reserve that waits for nothing: granted now or refused.
      expect(adapter.calls.map((call) => call.args.slice(2))).to.deep.equal([
        ['r', '1', '0'],
        ['r', '1', '0'],
        ['r', '1', '0'],
      ]);
      // The first answer (others took one meanwhile): 1 left, less the two still unanswered.
      adapter.answer(['0', '1']);
      await flush();
      expect(limiter.availableTokens).to.equal(0);
      adapter.answer(['0', '0']);
      // The third is refused: the fleet admitted one call too many.
      adapter.answer(['-1000000', '0']);
      await flush();
      expect(limiter.availableTokens).to.equal(0);
      expect(limiter.tryAcquire()).to.equal(false);
      expect(adapter.calls).to.have.length(0);
    });

    it('counts nothing taken once every take is answered, whatever fractions were taken', async function () {
      const { adapter, limiter } = setUp(1);
      expect(limiter.tryAcquire(0.1) && limiter.tryAcquire(0.2)).to.equal(true);
      adapter.answer(['0', '0.9']);
      adapter.answer(['0', '0.3']);
      await flush();
      // 0.1 + 0.2 - 0.1 - 0.2 is not 0 in floating point: the count must not keep the residue.
      expect(limiter.tryAcquire(0.3)).to.equal(true);
    });

    it('counts each take off by its own permits when Redis answers it', async function () {
      const { adapter, limiter } = setUp(1);
      expect(limiter.tryAcquire(0.5) && limiter.tryAcquire(0.25)).to.equal(true);
      adapter.answer(['0', '1']); // the take of 0.5, with the shared count
      await flush();
      expect(limiter.availableTokens, '0.25 still being taken').to.equal(0.75);
      adapter.answer(['0', '0.75']);
      await flush();
      expect(limiter.availableTokens).to.equal(0.75);
    });

    it('decides as onStoreError says once a take failed', async function () {
      const { adapter, store, limiter } = setUp(1);
      expect(limiter.tryAcquire()).to.equal(true);
      expect(limiter.availableTokens).to.equal(0);
      await clock.tickAsync(100);
      expect(store.redisAvailable).to.equal(false);
      adapter.calls.length = 0;
      // 'local': the local bucket of 1 token decides, without Redis.
      expect([limiter.tryAcquire(), limiter.tryAcquire()]).to.deep.equal([true, false]);
      expect(adapter.calls).to.have.length(0);
    });

    it("counts this process's own reservations still out against the known count", async function () {
      const { adapter, limiter } = setUp(2);
      const taken = [settle(limiter.acquire()), settle(limiter.acquire())];
      expect(adapter.calls).to.have.length(2);
      expect(limiter.tryAcquire(), 'both known tokens asked for').to.equal(false);
      adapter.answer(['0', '1']);
      adapter.answer(['0', '0']);
      await flush();
      expect(taken.map((t) => t.status)).to.deep.equal(['fulfilled', 'fulfilled']);
    });

    it('counts each reservation out by its own permits, answered in any order', async function () {
      const { adapter, limiter } = setUp(1);
      // Reservations of different sizes still out together: each is counted off by its own.
      const taken = [0.5, 0.25, 0.25].map((permits) => settle(limiter.acquire(permits)));
      const [half, quarter, otherQuarter] = adapter.calls.splice(0) as [
        ScriptedCall,
        ScriptedCall,
        ScriptedCall,
      ];
      expect(limiter.tryAcquire(0.25), 'every token asked for').to.equal(false);
      quarter.resolve(['0', '1']);
      await flush();
      expect(limiter.tryAcquire(0.5), '0.75 still out of a known 1').to.equal(false);
      half.resolve(['-1000', '1']); // a refusal is an answer too
      await flush();
      expect(adapter.calls).to.have.length(0);
      expect(limiter.tryAcquire(0.75), '0.25 still out').to.equal(true);
      otherQuarter.resolve(['0', '1']);
      adapter.answer(['0', '1']); // the take
      await flush();
      expect(taken.map((t) => t.status)).to.deep.equal(['rejected', 'fulfilled', 'fulfilled']);
      expect(limiter.tryAcquire(1), 'nothing out').to.equal(true);
    });

    it('counts nothing reserved once many reservations are answered, whatever their permits', async function () {
      const { adapter, limiter } = setUp(1);
      const sizes = Array.from({ length: 30 }, (_, i) => [0.1, 0.2, 0.3][i % 3] as number);
      const taken = sizes.map((permits) => settle(limiter.acquire(permits)));
      expect(adapter.calls).to.have.length(30);
      // Answered newest first, granted and refused in turn.
      for (let i = adapter.calls.length - 1; i >= 0; i--) {
        (adapter.calls[i] as ScriptedCall).resolve([i % 2 === 0 ? '0' : '-500', '1']);
      }
      adapter.calls.length = 0;
      await flush();
      expect(taken.filter((t) => t.status === 'pending')).to.have.length(0);
      // Floating-point sums of the permits leave no residue once none is out.
      expect(limiter.tryAcquire(1)).to.equal(true);
    });

    it('brings the store back to Redis once the back-off is over, through tryAcquire alone', async function () {
      const { adapter, store, limiter } = setUp();
      expect(limiter.tryAcquire()).to.equal(true);
      await clock.tickAsync(100); // the take times out: Redis away
      expect(store.redisAvailable).to.equal(false);
      await clock.tickAsync(400); // the back-off is over
      adapter.calls.splice(0);
      expect(limiter.tryAcquire(), 'admitted on the known count').to.equal(true);
      expect(adapter.calls, 'the probe').to.have.length(1);
      adapter.answer(['0', '1']);
      await flush();
      expect(store.redisAvailable).to.equal(true);
    });
  });
});
