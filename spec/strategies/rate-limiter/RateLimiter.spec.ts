import { expect } from 'chai';
import sinon from 'sinon';
import { RateLimitExceededError, isRateLimitExceededError } from '../../../src/errors.js';
import type { Clock } from '../../../src/internal/clock.js';
import { NEVER_ABORTED } from '../../../src/internal/signals.js';
import { ownTimers } from '../../../src/internal/timerMode.js';
import { RateLimiter } from '../../../src/strategies/rate-limiter/RateLimiter.js';
import { RATE_LIMITER } from '../../../src/strategies/rate-limiter/kind.js';
import {
  InMemoryRateLimiterStore,
  type RateLimiterStore,
  type RateLimiterStoreConfig,
} from '../../../src/strategies/rate-limiter/store.js';
import { flush, rejectionOf, settle, thrownBy } from '../../support/promises.js';

describe('RateLimiter', () => {
  let clock: sinon.SinonFakeTimers;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });

  afterEach(() => {
    clock.restore();
  });

  describe('token bucket', () => {
    it('starts full with its defaults: 10 tokens, refilled at 10 per second, no waiting', () => {
      const limiter = new RateLimiter();
      expect(limiter.maxTokens).to.equal(10);
      expect(limiter.refillRate).to.equal(10);
      expect(limiter.maxWaitMs).to.equal(0);
      expect(limiter.availableTokens).to.equal(10);
      for (let i = 0; i < 10; i++) expect(limiter.tryAcquire(), `call ${i}`).to.equal(true);
      expect(limiter.tryAcquire()).to.equal(false);
    });

    it('is full at first use however long after construction it is first used', () => {
      const limiter = new RateLimiter({ maxTokens: 5, refillRate: 2 });
      clock.tick(3_600_000);
      expect(limiter.availableTokens).to.equal(5);
    });

    it('refills 5 tokens at 2 per second to exactly 1 token 500 ms after draining', async () => {
      const limiter = new RateLimiter({ maxTokens: 5, refillRate: 2 });
      for (let i = 0; i < 5; i++) await limiter.acquire();
      expect(limiter.availableTokens).to.equal(0);
      clock.tick(499);
      expect(limiter.tryAcquire()).to.equal(false);
      clock.tick(1);
      expect(limiter.availableTokens).to.equal(1);
      await limiter.acquire();
      expect(limiter.availableTokens).to.equal(0);
    });

    it('reports fractional tokens while refilling', () => {
      const limiter = new RateLimiter({ maxTokens: 5, refillRate: 2 });
      expect(limiter.tryAcquire(5)).to.equal(true);
      clock.tick(100);
      expect(limiter.availableTokens).to.be.closeTo(0.2, 1e-12);
    });

    it('rejects a burst beyond the bucket with RateLimitExceededError and the ms until a token', async () => {
      const limiter = new RateLimiter({ maxTokens: 5, refillRate: 2 });
      for (let i = 0; i < 5; i++) await limiter.acquire();
      const error = await rejectionOf(limiter.acquire());
      expect(error).to.be.instanceOf(RateLimitExceededError);
      expect(isRateLimitExceededError(error)).to.equal(true);
      expect(error).to.include({
        message: 'Rate limit exceeded',
        code: 'RATE_LIMITED',
        name: 'RateLimitExceededError',
        retryAfterMs: 500,
      });
      clock.tick(200);
      expect(await rejectionOf(limiter.acquire())).to.have.property('retryAfterMs', 300);
    });

    it('counts every permit asked for in retryAfterMs', async () => {
      const limiter = new RateLimiter({ maxTokens: 5, refillRate: 2 });
      expect(limiter.tryAcquire(4)).to.equal(true);
      expect(await rejectionOf(limiter.acquire(3))).to.have.property('retryAfterMs', 1000);
      expect(limiter.availableTokens, 'a refused call takes nothing').to.equal(1);
    });

    it('never holds more than maxTokens after a long idle', () => {
      const limiter = new RateLimiter({ maxTokens: 3, refillRate: 1000 });
      expect(limiter.tryAcquire(2)).to.equal(true);
      clock.tick(86_400_000);
      expect(limiter.availableTokens).to.equal(3);
      expect(limiter.tryAcquire(3)).to.equal(true);
      expect(limiter.tryAcquire(0.001)).to.equal(false);
    });

    it('takes several permits at once, and none when too few are left', () => {
      const limiter = new RateLimiter({ maxTokens: 5, refillRate: 1 });
      expect(limiter.tryAcquire(3)).to.equal(true);
      expect(limiter.tryAcquire(3)).to.equal(false);
      expect(limiter.availableTokens).to.equal(2);
      expect(limiter.tryAcquire(2)).to.equal(true);
      expect(limiter.availableTokens).to.equal(0);
    });

    it('accepts fractional permits', () => {
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1 });
      expect(limiter.tryAcquire(0.5)).to.equal(true);
      expect(limiter.tryAcquire(0.5)).to.equal(true);
      expect(limiter.tryAcquire(0.5)).to.equal(false);
    });

    it('sets no timer and reads the clock lazily when nobody waits', async () => {
      const now = sinon.spy(() => 0);
      const limiter = new RateLimiter({
        maxTokens: 2,
        refillRate: 1,
        clock: { now, setTimeout: () => expect.fail('no timer'), clearTimeout: () => {} },
      });
      expect(now.callCount, 'construction reads no time').to.equal(0);
      await limiter.acquire();
      expect(now.callCount).to.equal(1);
      expect(limiter.tryAcquire()).to.equal(true);
      expect(await rejectionOf(limiter.acquire())).to.be.instanceOf(RateLimitExceededError);
      expect(clock.countTimers()).to.equal(0);
    });

    it('follows an injected clock', () => {
      let t = 1_000_000;
      const limiter = new RateLimiter({
        maxTokens: 1,
        refillRate: 4,
        clock: { now: () => t, setTimeout: () => 0, clearTimeout: () => {} },
      });
      expect(limiter.tryAcquire()).to.equal(true);
      t += 249;
      expect(limiter.tryAcquire()).to.equal(false);
      t += 1;
      expect(limiter.tryAcquire()).to.equal(true);
    });
  });

  describe('permits', () => {
    it('throws RangeError from tryAcquire and rejects with it from acquire when permits > maxTokens', async () => {
      const limiter = new RateLimiter({ maxTokens: 5, refillRate: 1, maxWait: Infinity });
      expect(() => limiter.tryAcquire(6)).to.throw(RangeError, '`permits` must be at most');
      const error = await rejectionOf(limiter.acquire(6));
      expect(error).to.be.instanceOf(RangeError);
      expect((error as Error).message)
        .to.include('(5)')
        .and.include('got 6');
      expect(limiter.availableTokens).to.equal(5);
      expect(clock.countTimers()).to.equal(0);
    });

    it('rejects permits that are not finite numbers > 0', async () => {
      const limiter = new RateLimiter();
      for (const bad of [0, -1, NaN, Infinity, -0]) {
        expect(() => limiter.tryAcquire(bad), String(bad)).to.throw(RangeError, '`permits`');
        expect(await rejectionOf(limiter.acquire(bad)), String(bad)).to.be.instanceOf(RangeError);
      }
      for (const bad of ['1', null, {}]) {
        expect(() => limiter.tryAcquire(bad as never)).to.throw(TypeError, '`permits`');
        expect(await rejectionOf(limiter.acquire(bad as never))).to.be.instanceOf(TypeError);
      }
      expect(limiter.availableTokens).to.equal(10);
    });

    it('names the permits given, as every option error names its value', async () => {
      const limiter = new RateLimiter();
      const cases: Array<[unknown, string]> = [
        [null, 'null'],
        [NaN, 'NaN'],
        ['2', '"2"'],
        [true, 'true'],
        [{}, 'an object'],
      ];
      for (const [given, shown] of cases) {
        const message = `\`permits\` must be a finite number > 0, got ${shown}`;
        const thrown = thrownBy(() => limiter.tryAcquire(given as number));
        const rejected = await rejectionOf(limiter.acquire(given as number));
        for (const error of [thrown, rejected]) {
          expect(error, shown).to.have.property('message', message);
          expect(error, shown).to.include({ option: 'permits' });
          expect(Object.is((error as { received: unknown }).received, given), shown).to.equal(true);
        }
      }
      expect(limiter.availableTokens).to.equal(10);
    });

    it('refuses at construction a bucket that could never serve one call (maxTokens < 1)', () => {
      for (const maxTokens of [0.5, 0.999]) {
        expect(() => new RateLimiter({ maxTokens, refillRate: 1 }), String(maxTokens)).to.throw(
          RangeError,
          `\`maxTokens\` must be a number >= 1, got ${maxTokens}`,
        );
      }
      expect(new RateLimiter({ maxTokens: 1.5 }).tryAcquire()).to.equal(true);
    });
  });

  describe('waiting (maxWait)', () => {
    it('never reads a token that is still missing as arrived, however fast the refill', () => {
      const frozen: Clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined };
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 2e9, clock: frozen });
      expect([limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire()]).to.deep.equal([
        true,
        false,
        false,
      ]);
    });

    it('reads a wait a float hair off a whole millisecond as that millisecond', async () => {
      // Fractional refills (0.044 + 0.688 tokens) leave the bucket a hair off the tokens a whole
      // number of milliseconds brings: 3 permits here arrive in 268 ms, not 268.0000000000007.
      const atBound = new RateLimiter({ maxTokens: 6, refillRate: 1, maxWait: 268 });
      expect(atBound.tryAcquire(2)).to.equal(true);
      await clock.tickAsync(44);
      await atBound.acquire(1);
      await clock.tickAsync(688);
      expect(atBound.tryAcquire(1)).to.equal(true);
      const granted = settle(atBound.acquire(3));
      await clock.tickAsync(267);
      expect(granted.status).to.equal('pending');
      await clock.tickAsync(1);
      expect(granted.status).to.equal('fulfilled');
      // A grant due at 1000 ms (575 ms after 425) comes at 1000, not at 1001.
      const limiter = new RateLimiter({ maxTokens: 4, refillRate: 1, maxWait: 576 });
      const start = performance.now();
      expect(limiter.tryAcquire(1)).to.equal(true);
      await clock.tickAsync(425);
      const due = settle(limiter.acquire(4));
      await clock.tickAsync(574);
      expect(due.status).to.equal('pending');
      await clock.tickAsync(1);
      expect([due.status, performance.now() - start]).to.deep.equal(['fulfilled', 1000]);
    });

    it('serves waiters in FIFO order, each exactly when its tokens have arrived', async () => {
      const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1, maxWait: '10s' });
      expect(limiter.tryAcquire(2)).to.equal(true);
      const order: string[] = [];
      const a = settle(limiter.acquire(2).then(() => order.push('a')));
      const b = settle(limiter.acquire(1).then(() => order.push('b')));
      const c = settle(limiter.acquire(2).then(() => order.push('c')));
      expect(limiter.queued).to.equal(3);
      // (A timer each where each caller keeps its own.)
      expect(clock.countTimers(), 'one timer serves the whole line').to.equal(ownTimers ? 3 : 1);

      await clock.tickAsync(1999);
      expect([a.status, b.status, c.status]).to.deep.equal(['pending', 'pending', 'pending']);
      await clock.tickAsync(1);
      expect(a.status).to.equal('fulfilled');
      await clock.tickAsync(999);
      expect(b.status).to.equal('pending');
      await clock.tickAsync(1);
      expect(b.status).to.equal('fulfilled');
      await clock.tickAsync(1999);
      expect(c.status).to.equal('pending');
      await clock.tickAsync(1);
      expect(c.status).to.equal('fulfilled');
      expect(order).to.deep.equal(['a', 'b', 'c']);
      expect(limiter.queued).to.equal(0);
      expect(clock.countTimers()).to.equal(0);
    });

    it('counts tokens owed to earlier waiters before a newcomer takes any', async () => {
      const limiter = new RateLimiter({ maxTokens: 5, refillRate: 1, maxWait: Infinity });
      expect(limiter.tryAcquire(5)).to.equal(true);
      const big = settle(limiter.acquire(3));
      await clock.tickAsync(1000);
      // A token has arrived, but it is owed to the caller already waiting.
      expect(limiter.availableTokens).to.equal(0);
      expect(limiter.tryAcquire()).to.equal(false);
      const small = settle(limiter.acquire(1));
      await clock.tickAsync(1999);
      expect(big.status).to.equal('pending');
      await clock.tickAsync(1);
      expect(big.status).to.equal('fulfilled');
      expect(small.status).to.equal('pending');
      await clock.tickAsync(1000);
      expect(small.status).to.equal('fulfilled');
    });

    it('waits exactly maxWait when that is when the tokens arrive', async () => {
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: 1000 });
      expect(limiter.tryAcquire()).to.equal(true);
      const first = settle(limiter.acquire());
      await clock.tickAsync(999);
      expect(first.status).to.equal('pending');
      await clock.tickAsync(1);
      expect(first.status).to.equal('fulfilled');
    });

    it('rejects at once, with retryAfterMs counting owed tokens, a waiter that maxWait could not serve', async () => {
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: '1s' });
      expect(limiter.tryAcquire()).to.equal(true);
      const first = settle(limiter.acquire());
      const second = settle(limiter.acquire());
      await flush();
      expect(second.status, 'no waiting in vain').to.equal('rejected');
      expect(second.reason).to.be.instanceOf(RateLimitExceededError);
      expect(second.reason).to.have.property('retryAfterMs', 2000);
      expect(limiter.queued).to.equal(1);
      await clock.tickAsync(1000);
      expect(first.status).to.equal('fulfilled');
    });

    it('does not let tryAcquire or execute jump the line', async () => {
      const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1, maxWait: '5s' });
      expect(limiter.tryAcquire(2)).to.equal(true);
      const waiting = settle(limiter.acquire());
      await clock.tickAsync(500);
      expect(limiter.tryAcquire(0.5)).to.equal(false);
      const fn = sinon.spy(() => 'ran');
      const run = settle(limiter.execute(fn));
      await flush();
      expect(fn.called).to.equal(false);
      await clock.tickAsync(500);
      expect(waiting.status).to.equal('fulfilled');
      expect(fn.called).to.equal(false);
      await clock.tickAsync(1000);
      expect(run).to.deep.include({ status: 'fulfilled', value: 'ran' });
    });

    it('never serves a waiter before its tokens are there when the wait is a fraction of a ms', async () => {
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 3, maxWait: '1s' });
      expect(limiter.tryAcquire()).to.equal(true);
      const waiting = settle(limiter.acquire());
      await clock.tickAsync(333);
      expect(waiting.status, '1 token at 3/s takes 333.3 ms').to.equal('pending');
      await clock.tickAsync(1);
      expect(waiting.status).to.equal('fulfilled');
    });

    it('keeps tryAcquire false until a waiter whose time has come is served', () => {
      // A hand-made clock whose timers run only when told: time passes, the timer is late.
      let t = 0;
      const timers: Array<() => void> = [];
      const limiter = new RateLimiter({
        maxTokens: 1,
        refillRate: 1,
        maxWait: Infinity,
        clock: { now: () => t, setTimeout: (fn) => timers.push(fn), clearTimeout: () => {} },
      });
      expect(limiter.tryAcquire()).to.equal(true);
      void limiter.acquire();
      t = 5000;
      expect(limiter.availableTokens).to.equal(1);
      expect(limiter.tryAcquire(), 'the queued caller goes first').to.equal(false);
      expect(timers).to.have.length(1);
      timers[0]?.();
      expect(limiter.queued).to.equal(0);
      expect(limiter.tryAcquire()).to.equal(true);
    });

    it('waits as long as it takes with maxWait Infinity', async () => {
      const limiter = new RateLimiter({ maxTokens: 10, refillRate: 0.01, maxWait: Infinity });
      expect(limiter.tryAcquire(10)).to.equal(true);
      const all = settle(limiter.acquire(10));
      await clock.tickAsync(999_999);
      expect(all.status).to.equal('pending');
      await clock.tickAsync(1);
      expect(all.status).to.equal('fulfilled');
    });

    it('takes the tokens of a queued caller only once its wait is over', async () => {
      const limiter = new RateLimiter({ maxTokens: 3, refillRate: 1, maxWait: Infinity });
      expect(limiter.tryAcquire(3)).to.equal(true);
      const waiting = settle(limiter.acquire(2));
      await clock.tickAsync(2000);
      expect(waiting.status).to.equal('fulfilled');
      expect(limiter.availableTokens).to.equal(0);
      await clock.tickAsync(1000);
      expect(limiter.availableTokens).to.equal(1);
    });
  });

  describe('abort', () => {
    it('rejects at once with the reason and takes nothing when the signal is already aborted', async () => {
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1 });
      const reason = new Error('gone');
      const error = await rejectionOf(limiter.acquire(1, AbortSignal.abort(reason)));
      expect(error).to.equal(reason);
      expect(limiter.availableTokens).to.equal(1);
    });

    it('refunds the tokens of an aborted waiter and moves later waiters up in order', async () => {
      const limiter = new RateLimiter({ maxTokens: 3, refillRate: 1, maxWait: Infinity });
      expect(limiter.tryAcquire(3)).to.equal(true);
      const order: string[] = [];
      const controller = new AbortController();
      const a = settle(limiter.acquire(2, controller.signal).then(() => order.push('a')));
      const b = settle(limiter.acquire(1).then(() => order.push('b')));
      const c = settle(limiter.acquire(1).then(() => order.push('c')));
      await clock.tickAsync(500);
      const reason = new Error('caller left');
      controller.abort(reason);
      await flush();
      expect(a).to.deep.include({ status: 'rejected', reason });
      expect(limiter.queued, 'leaves the line at once').to.equal(2);
      // A newcomer after the abort still goes behind b and c.
      const d = settle(limiter.acquire(1).then(() => order.push('d')));

      await clock.tickAsync(499);
      expect(b.status).to.equal('pending');
      await clock.tickAsync(1);
      expect(b.status, 'a refund of 2 tokens moves b up by 2 s').to.equal('fulfilled');
      await clock.tickAsync(999);
      expect(c.status).to.equal('pending');
      await clock.tickAsync(1);
      expect(c.status).to.equal('fulfilled');
      await clock.tickAsync(999);
      expect(d.status, 'd waits for tokens of its own').to.equal('pending');
      await clock.tickAsync(1);
      expect(d.status).to.equal('fulfilled');
      expect(order).to.deep.equal(['b', 'c', 'd']);
      expect(clock.countTimers()).to.equal(0);
    });

    it('moves only the waiters behind an aborted waiter in the middle of the line', async () => {
      const limiter = new RateLimiter({ maxTokens: 3, refillRate: 1, maxWait: Infinity });
      expect(limiter.tryAcquire(3)).to.equal(true);
      const controller = new AbortController();
      const a = settle(limiter.acquire(1));
      const b = settle(limiter.acquire(2, controller.signal));
      const c = settle(limiter.acquire(1));
      controller.abort();
      await flush();
      expect(b.status).to.equal('rejected');
      expect((b.reason as Error).name).to.equal('AbortError');
      await clock.tickAsync(999);
      expect(a.status).to.equal('pending');
      await clock.tickAsync(1);
      expect(a.status).to.equal('fulfilled');
      expect(c.status).to.equal('pending');
      await clock.tickAsync(1000);
      expect(c.status).to.equal('fulfilled');
    });

    it('refunds the last waiter without making the bucket hold more than it would have', async () => {
      const limiter = new RateLimiter({ maxTokens: 3, refillRate: 1, maxWait: Infinity });
      expect(limiter.tryAcquire(3)).to.equal(true);
      const controller = new AbortController();
      const waiting = settle(limiter.acquire(2, controller.signal));
      await clock.tickAsync(500);
      controller.abort();
      await flush();
      expect(waiting.status).to.equal('rejected');
      expect(limiter.availableTokens).to.equal(0.5);
      expect(clock.countTimers()).to.equal(0);
      await clock.tickAsync(3_600_000);
      expect(limiter.availableTokens).to.equal(3);
    });

    it('serves at once a waiter whose tokens a refund makes available now', async () => {
      const limiter = new RateLimiter({ maxTokens: 3, refillRate: 1, maxWait: Infinity });
      expect(limiter.tryAcquire(3)).to.equal(true);
      const controller = new AbortController();
      settle(limiter.acquire(3, controller.signal));
      const small = settle(limiter.acquire(1));
      await clock.tickAsync(1000);
      controller.abort();
      await flush();
      expect(small.status).to.equal('fulfilled');
      expect(limiter.availableTokens).to.equal(0);
      expect(clock.countTimers()).to.equal(0);
    });

    it('removes its abort listener once a waiter is served', async () => {
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: Infinity });
      expect(limiter.tryAcquire()).to.equal(true);
      const controller = new AbortController();
      const remove = sinon.spy(controller.signal, 'removeEventListener');
      const waiting = settle(limiter.acquire(1, controller.signal));
      await clock.tickAsync(1000);
      expect(waiting.status).to.equal('fulfilled');
      expect(remove.calledWith('abort')).to.equal(true);
      controller.abort();
      expect(limiter.availableTokens, 'a late abort refunds nothing').to.equal(0);
    });
  });

  describe('execute', () => {
    it('takes a token, then runs fn with a signal that never aborts and resolves with its result', async () => {
      const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1 });
      const fn = sinon.spy((signal: AbortSignal) => (signal === NEVER_ABORTED ? 'ok' : 'wrong'));
      expect(await limiter.execute(fn)).to.equal('ok');
      expect(limiter.availableTokens).to.equal(1);
    });

    it("passes the caller's signal to fn", async () => {
      const limiter = new RateLimiter();
      const controller = new AbortController();
      let seen: AbortSignal | undefined;
      await limiter.execute((signal) => {
        seen = signal;
      }, controller.signal);
      expect(seen).to.equal(controller.signal);
    });

    it('rejects with RateLimitExceededError without calling fn when no token is left', async () => {
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1 });
      await limiter.execute(() => 1);
      const fn = sinon.spy();
      const error = await rejectionOf(limiter.execute(fn));
      expect(error).to.be.instanceOf(RateLimitExceededError);
      expect(fn.called).to.equal(false);
    });

    it('rethrows errors of fn unchanged, including a synchronous throw', async () => {
      const limiter = new RateLimiter();
      const boom = new Error('boom');
      expect(await rejectionOf(limiter.execute(() => Promise.reject(boom)))).to.equal(boom);
      let result: Promise<unknown> | undefined;
      expect(() => {
        result = limiter.execute(() => {
          throw boom;
        });
      }).not.to.throw();
      expect(await rejectionOf(result as Promise<unknown>)).to.equal(boom);
    });

    it('rejects at once without calling fn when the signal is already aborted', async () => {
      const limiter = new RateLimiter();
      const reason = new Error('stop');
      const fn = sinon.spy();
      expect(await rejectionOf(limiter.execute(fn, AbortSignal.abort(reason)))).to.equal(reason);
      expect(fn.called).to.equal(false);
      expect(limiter.availableTokens).to.equal(10);
    });

    it("rejects promptly with the reason when the caller's signal aborts during fn", async () => {
      const limiter = new RateLimiter();
      const controller = new AbortController();
      const run = settle(limiter.execute(() => new Promise(() => {}), controller.signal));
      await flush();
      controller.abort('cancelled');
      await flush();
      expect(run).to.deep.include({ status: 'rejected', reason: 'cancelled' });
    });

    it('waits in line for a token when maxWait allows, then runs fn', async () => {
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 2, maxWait: '1s' });
      await limiter.execute(() => 1);
      const fn = sinon.spy(() => 'late');
      const run = settle(limiter.execute(fn));
      await clock.tickAsync(499);
      expect(fn.called).to.equal(false);
      await clock.tickAsync(1);
      expect(run).to.deep.include({ status: 'fulfilled', value: 'late' });
    });

    it('stops waiting and never calls fn when the caller aborts in line', async () => {
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: Infinity });
      expect(limiter.tryAcquire()).to.equal(true);
      const controller = new AbortController();
      const fn = sinon.spy();
      const run = settle(limiter.execute(fn, controller.signal));
      await clock.tickAsync(100);
      controller.abort('no');
      await clock.tickAsync(5000);
      expect(run).to.deep.include({ status: 'rejected', reason: 'no' });
      expect(fn.called).to.equal(false);
      expect(clock.countTimers()).to.equal(0);
    });

    it('does not call fn when the caller aborts just as its wait ends', async () => {
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: Infinity });
      expect(limiter.tryAcquire()).to.equal(true);
      const controller = new AbortController();
      const fn = sinon.spy();
      const run = settle(limiter.execute(fn, controller.signal));
      await flush();
      clock.tick(1000); // serves the waiter; its continuation has not run yet
      controller.abort('just too late');
      await flush();
      expect(run).to.deep.include({ status: 'rejected', reason: 'just too late' });
      expect(fn.called).to.equal(false);
    });
  });

  describe('describe', () => {
    it('summarises the settings on one line', () => {
      expect(RATE_LIMITER.describe(new RateLimiter())).to.equal('10 tokens, refill 10/s, no wait');
      expect(
        RATE_LIMITER.describe(new RateLimiter({ maxTokens: 1, refillRate: 0.5, maxWait: '2s' })),
      ).to.equal('1 token, refill 0.5/s, max wait 2000 ms');
      expect(RATE_LIMITER.describe(new RateLimiter({ maxWait: Infinity }))).to.equal(
        '10 tokens, refill 10/s, waits as long as needed',
      );
    });
  });

  describe('store', () => {
    it('hands the resolved settings to the store once', () => {
      const store = new InMemoryRateLimiterStore();
      const configure = sinon.spy(store, 'configure');
      let now = 7;
      const timers: Array<[() => void, number]> = [];
      const fake: Clock = {
        now: () => now,
        setTimeout: (fn, ms) => timers.push([fn, ms]),
        clearTimeout: () => {},
      };
      new RateLimiter({ maxTokens: 4, refillRate: 3, clock: fake, store });
      expect(configure.calledOnce).to.equal(true);
      const config = configure.firstCall.args[0];
      expect(config).to.include({ maxTokens: 4, refillRate: 3 });
      // The store reads the limiter's clock (through a facade that lets a policy lend it a
      // reading it already took).
      expect(config.clock.now()).to.equal(7);
      now = 11;
      expect(config.clock.now()).to.equal(11);
      config.clock.setTimeout(() => {}, 5);
      expect(timers.map(([, ms]) => ms)).to.deep.equal([5]);
    });

    it('refuses to serve two limiters from one in-memory store', () => {
      const store = new InMemoryRateLimiterStore();
      new RateLimiter({ store });
      expect(() => new RateLimiter({ store })).to.throw(Error, 'already serves a RateLimiter');
    });

    describe('answering asynchronously', () => {
      class RemoteStore implements RateLimiterStore {
        readonly local = new InMemoryRateLimiterStore();
        refunded = 0;
        configure(config: RateLimiterStoreConfig): void {
          this.local.configure(config);
        }
        tryReserve(): boolean {
          return false;
        }
        reserve(permits: number, maxWaitMs: number): Promise<number> {
          const answer = this.local.reserve(permits, maxWaitMs);
          return new Promise((resolve) => setTimeout(() => resolve(answer), 10));
        }
        refund(permits: number): Promise<void> {
          this.refunded += permits;
          this.local.refund(permits);
          return Promise.reject(new Error('store down'));
        }
        available(): number {
          return this.local.available();
        }
      }

      it('decides acquire and execute through the store, and tryAcquire says no', async () => {
        const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, store: new RemoteStore() });
        expect(limiter.tryAcquire()).to.equal(false);
        const first = settle(limiter.execute(() => 'done'));
        const second = settle(limiter.acquire());
        await clock.tickAsync(10);
        expect(first).to.deep.include({ status: 'fulfilled', value: 'done' });
        expect(second.status).to.equal('rejected');
        expect(second.reason).to.have.property('retryAfterMs', 1000);
      });

      it('queues on a remote wait and serves the caller when it is over', async () => {
        const limiter = new RateLimiter({
          maxTokens: 1,
          refillRate: 1,
          maxWait: Infinity,
          store: new RemoteStore(),
        });
        const first = settle(limiter.acquire());
        await clock.tickAsync(10);
        expect(first.status).to.equal('fulfilled');
        // Asked at 10 ms with 0.01 tokens: the store answers at 20 ms with a 990 ms wait.
        const second = settle(limiter.acquire());
        await clock.tickAsync(10);
        expect(limiter.queued).to.equal(1);
        await clock.tickAsync(989);
        expect(second.status).to.equal('pending');
        await clock.tickAsync(1);
        expect(second.status).to.equal('fulfilled');
      });

      it('rejects promptly on abort and refunds a grant that arrives later, ignoring refund errors', async () => {
        const store = new RemoteStore();
        const limiter = new RateLimiter({ store });
        const controller = new AbortController();
        const run = settle(limiter.acquire(1, controller.signal));
        controller.abort('bye');
        await flush();
        expect(run).to.deep.include({ status: 'rejected', reason: 'bye' });
        await clock.tickAsync(10);
        expect(store.refunded).to.equal(1);
        expect(limiter.availableTokens).to.equal(10);
      });
    });
  });
});

describe('RateLimiter options validation', () => {
  it('accepts no options, an empty object and every documented option', () => {
    expect(() => new RateLimiter()).not.to.throw();
    expect(() => new RateLimiter({})).not.to.throw();
    const limiter = new RateLimiter({
      maxTokens: 1.5,
      refillRate: 100 / 60,
      maxWait: '1m30s',
      clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} },
      store: new InMemoryRateLimiterStore(),
    });
    expect(limiter.maxTokens).to.equal(1.5);
    expect(limiter.refillRate).to.equal(100 / 60);
    expect(limiter.maxWaitMs).to.equal(90_000);
    expect(new RateLimiter({ maxWait: Infinity }).maxWaitMs).to.equal(Infinity);
    expect(new RateLimiter({ maxWait: 0 }).maxWaitMs).to.equal(0);
  });

  it('rejects options that are not an object', () => {
    for (const bad of [null, 5, 'fast', [], true]) {
      expect(() => new RateLimiter(bad as never), String(bad)).to.throw(
        TypeError,
        'RateLimiter options must be an object',
      );
    }
  });

  it('rejects an unknown option with a TypeError that suggests the near one', () => {
    expect(() => new RateLimiter({ maxTokns: 5 } as never)).to.throw(
      TypeError,
      'RateLimiter: unknown option `maxTokns` (did you mean `maxTokens`?)',
    );
    expect(() => new RateLimiter({ capacity: 5 } as never)).to.throw(
      TypeError,
      'unknown option `capacity`',
    );
  });

  for (const [option, range] of [
    ['maxTokens', '>= 1'],
    ['refillRate', '> 0'],
  ] as const) {
    it(`requires \`${option}\` to be a finite number ${range}`, () => {
      for (const bad of [0, -1, -0.5, NaN, Infinity, -Infinity]) {
        expect(() => new RateLimiter({ [option]: bad }), String(bad))
          .to.throw(RangeError, `\`${option}\` must be a number ${range}, got `)
          .with.property('message')
          .that.includes(Object.is(bad, -0) ? '-0' : String(bad));
      }
      for (const bad of ['10', null, {}, true, 10n]) {
        expect(() => new RateLimiter({ [option]: bad as never }), String(bad)).to.throw(
          TypeError,
          `\`${option}\` must be a number ${range}`,
        );
      }
    });
  }

  it('requires `maxWait` to be a duration, allowing Infinity', () => {
    expect(() => new RateLimiter({ maxWait: -1 })).to.throw(RangeError, '`maxWait`');
    expect(() => new RateLimiter({ maxWait: NaN })).to.throw(RangeError, '`maxWait`');
    expect(() => new RateLimiter({ maxWait: -Infinity })).to.throw(RangeError, '`maxWait`');
    for (const bad of ['5 sec', '', '5', '-1s', 'soon']) {
      expect(() => new RateLimiter({ maxWait: bad }), bad)
        .to.throw(TypeError, '`maxWait`')
        .with.property('message')
        .that.includes(JSON.stringify(bad));
    }
    expect(() => new RateLimiter({ maxWait: null as never })).to.throw(TypeError, '`maxWait`');
    expect(() => new RateLimiter({ maxWait: {} as never })).to.throw(TypeError, '`maxWait`');
  });

  it('requires `clock` to be a Clock', () => {
    for (const bad of [null, {}, Date, { now: () => 0 }]) {
      expect(() => new RateLimiter({ clock: bad as never })).to.throw(TypeError, '`clock`');
    }
  });

  it('requires `store` to be a RateLimiterStore', () => {
    for (const bad of [null, {}, 'redis', { reserve: () => 0 }]) {
      expect(() => new RateLimiter({ store: bad as never })).to.throw(
        TypeError,
        '`store` must be a RateLimiterStore',
      );
    }
  });
});
