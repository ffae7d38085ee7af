// What Redis grants after its caller was answered without it goes back even when the clean-up
// sent at once fails: a breaker's probe slot, a rate limiter's tokens. The store's next command
// that reaches Redis sends the clean-up again, until it is moot. Driven through a scripted
// adapter on fake time.
import { expect } from 'chai';
import sinon from 'sinon';
import { systemClock } from '../../src/internal/clock.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { flush, ScriptedAdapter } from './scripted.js';

describe('Redis stores: late clean-ups that fail are sent again (on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  const lost = (): Error => new Error('connect ECONNREFUSED');

  describe('RedisCircuitBreakerStore: a probe slot granted late', function () {
    /** A store whose acquire Redis answers after storeTimeout with a probe slot; its release, failed. */
    async function lateProbe() {
      const adapter = new ScriptedAdapter();
      const store = new RedisCircuitBreakerStore({ client: adapter, key: 'k', storeTimeout: 100 });
      // Probe slots are taken back by Redis after max(recoveryTimeout, 10 s) without word.
      new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, store });
      // The breaker reads the shared state once made.
      while (adapter.calls.length !== 0) adapter.answer('closed');
      await flush();
      const admission = store.acquire() as Promise<{ admitted: boolean }>;
      await clock.tickAsync(100);
      // Decided by the local breaker.
      expect((await admission).admitted).to.equal(true);
      expect(store.redisAvailable).to.equal(false);
      const acquire = adapter.next();
      expect(acquire.args[0]).to.equal('acquire');
      acquire.resolve([1, 'half-open', 1, '0']);
      await flush();
      const release = adapter.next();
      expect(release.args[0]).to.equal('release');
      release.reject(lost());
      await flush();
      expect(adapter.calls).to.have.length(0);
      return { adapter, store };
    }

    it('frees the slot with the next command that reaches Redis', async function () {
      const { adapter, store } = await lateProbe();
      // Past the back-off (4 x storeTimeout), the next call reaches Redis.
      await clock.tickAsync(400);
      const state = store.state();
      adapter.answer('half-open');
      expect(await state).to.equal('half-open');
      await flush();
      const again = adapter.next();
      expect(again.args[0]).to.equal('release');
      again.resolve('half-open');
      await flush();
      // Freed: not sent again.
      const next = store.state();
      adapter.answer('half-open');
      await next;
      await flush();
      expect(adapter.calls).to.have.length(0);
    });

    it('keeps it until Redis answers one of the store calls', async function () {
      const { adapter, store } = await lateProbe();
      await clock.tickAsync(400);
      // The probe fails: nothing is sent besides it.
      const state = store.state();
      adapter.next().reject(lost());
      await state;
      await flush();
      expect(adapter.calls).to.have.length(0);
      await clock.tickAsync(400);
      const answered = store.state();
      adapter.answer('half-open');
      await answered;
      await flush();
      expect(adapter.next().args[0]).to.equal('release');
    });

    it('sends nothing once Redis has taken the slot back itself', async function () {
      const { adapter, store } = await lateProbe();
      await clock.tickAsync(10_000);
      const state = store.state();
      adapter.answer('half-open');
      await state;
      await flush();
      expect(adapter.calls).to.have.length(0);
    });
  });

  describe('RedisRateLimiterStore: tokens granted late', function () {
    /** A store whose reserve of 3 Redis grants after storeTimeout; its refund, failed. */
    async function lateTokens() {
      const adapter = new ScriptedAdapter();
      const store = new RedisRateLimiterStore({ client: adapter, key: 'api', storeTimeout: 100 });
      // An emptied bucket fills in 10 s.
      store.configure({ maxTokens: 10, refillRate: 1, clock: systemClock });
      const wait = store.reserve(3, 0) as Promise<number>;
      await clock.tickAsync(100);
      // Decided by the local bucket.
      expect(await wait).to.equal(0);
      expect(store.redisAvailable).to.equal(false);
      const reserve = adapter.next();
      expect(reserve.args[2]).to.equal('r');
      reserve.resolve(['0', '7']);
      await flush();
      const refund = adapter.next();
      expect(refund.args.slice(2, 4)).to.deep.equal(['f', '3']);
      refund.reject(lost());
      await flush();
      expect(adapter.calls).to.have.length(0);
      return { adapter, store };
    }

    it('gives the tokens back with the next command that reaches Redis', async function () {
      const { adapter, store } = await lateTokens();
      await clock.tickAsync(400);
      const wait = store.reserve(1, 0);
      const reserve = adapter.next();
      expect(reserve.args.slice(2, 4)).to.deep.equal(['r', '1']);
      reserve.resolve(['0', '6']);
      expect(await wait).to.equal(0);
      await flush();
      const again = adapter.next();
      expect(again.args.slice(2, 4)).to.deep.equal(['f', '3']);
      again.resolve(['0', '9']);
      await flush();
      // Given back: not sent again.
      const next = store.reserve(1, 0);
      adapter.answer(['0', '8']);
      await next;
      await flush();
      expect(adapter.calls).to.have.length(0);
    });

    it('sends them again as often as the sending fails', async function () {
      const { adapter, store } = await lateTokens();
      await clock.tickAsync(400);
      const first = store.reserve(1, 0);
      adapter.answer(['0', '6']);
      await first;
      await flush();
      adapter.next().reject(lost());
      await flush();
      const second = store.reserve(1, 0);
      adapter.answer(['0', '5']);
      await second;
      await flush();
      expect(adapter.next().args.slice(2, 4)).to.deep.equal(['f', '3']);
    });

    it('drops them once the bucket would have refilled them, or on an error reply', async function () {
      const { adapter, store } = await lateTokens();
      await clock.tickAsync(10_000);
      const wait = store.reserve(1, 0);
      adapter.answer(['0', '9']);
      await wait;
      await flush();
      expect(adapter.calls).to.have.length(0);
      // A refund Redis refuses with an error reply would be refused again.
      const late = store.reserve(2, 0) as Promise<number>;
      await clock.tickAsync(100);
      await late;
      adapter.answer(['0', '7']);
      await flush();
      adapter.next().reject(new Error('ERR script failed'));
      await flush();
      await clock.tickAsync(400);
      const next = store.reserve(1, 0);
      adapter.answer(['0', '6']);
      await next;
      await flush();
      expect(adapter.calls).to.have.length(0);
    });
  });
});
