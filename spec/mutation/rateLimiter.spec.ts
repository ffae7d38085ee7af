// The rate limiter's queue seen from its callers: when each waiter is served after one in the
// middle gives up, what `fn` receives after waiting, and the figures it reports.
import { expect } from 'chai';
import { RateLimitExceededError } from '../../src/errors.js';
import { NEVER_ABORTED } from '../../src/internal/signals.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { ManualClock } from '../support/clock.js';
import { rejectionOf } from '../support/promises.js';

/** Records the clock time at which each named promise settles. */
function timed(
  clock: ManualClock,
  done: Record<string, number>,
  name: string,
  p: Promise<unknown>,
) {
  p.then(
    () => (done[name] = clock.now()),
    () => (done[name] = -clock.now()),
  );
}

describe('RateLimiter: the queue seen from its callers', () => {
  it('a waiter that aborts mid-queue hands its turn on: those behind and a newcomer are served sooner', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: '10s', clock });
    expect(limiter.tryAcquire()).to.equal(true);
    const done: Record<string, number> = {};
    const leaving = new AbortController();
    timed(clock, done, 'a', limiter.acquire());
    timed(clock, done, 'b', limiter.acquire(1, leaving.signal));
    timed(clock, done, 'c', limiter.acquire());
    expect(limiter.queued).to.equal(3);
    await clock.advance(500);
    leaving.abort(new Error('left'));
    await clock.advance(0);
    expect(done.b, 'b rejected at once').to.equal(-500);
    expect(limiter.queued).to.equal(2);
    timed(clock, done, 'd', limiter.acquire());
    await clock.advance(10_000);
    expect(done).to.deep.equal({ a: 1000, b: -500, c: 2000, d: 3000 });
    expect(limiter.queued).to.equal(0);
  });

  it('a waiter that aborts gives back tokens for several permits', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 4, refillRate: 2, maxWait: '10s', clock });
    expect(limiter.tryAcquire(4)).to.equal(true);
    const done: Record<string, number> = {};
    const leaving = new AbortController();
    timed(clock, done, 'three', limiter.acquire(3, leaving.signal));
    timed(clock, done, 'one', limiter.acquire(1));
    leaving.abort(new Error('left'));
    timed(clock, done, 'two', limiter.acquire(2));
    await clock.advance(10_000);
    // At 2 tokens per second, as if the three were never asked for: 1 token after 500 ms, 2 more
    // after 1500 ms.
    expect(done).to.deep.equal({ three: -0, one: 500, two: 1500 });
  });

  it('passes fn the caller’s own signal after a wait for a token, or a signal that never aborts', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 10, maxWait: '1s', clock });
    expect(limiter.tryAcquire()).to.equal(true);
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    const withSignal = limiter.execute((signal) => {
      seen.push(signal);
      return 'with';
    }, controller.signal);
    const without = limiter.execute((signal) => {
      seen.push(signal);
      return 'without';
    });
    await clock.advance(200);
    expect(await withSignal).to.equal('with');
    expect(await without).to.equal('without');
    expect(seen[0]).to.equal(controller.signal);
    expect(seen[1]).to.equal(NEVER_ABORTED);
  });

  it('never calls fn for a caller that gave up while waiting, and rejects with its reason', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 10, maxWait: '1s', clock });
    expect(limiter.tryAcquire()).to.equal(true);
    const controller = new AbortController();
    const reason = new Error('left');
    let calls = 0;
    const call = limiter.execute(() => ++calls, controller.signal);
    controller.abort(reason);
    expect(await rejectionOf(call)).to.equal(reason);
    await clock.advance(1000);
    expect(calls).to.equal(0);
    expect(limiter.availableTokens, 'the token went back').to.equal(1);
  });

  it('refuses a wait longer than maxWait with the time until the tokens would be there', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 2, refillRate: 4, maxWait: 300, clock });
    expect(limiter.tryAcquire(2)).to.equal(true);
    const first = limiter.acquire();
    const error = await rejectionOf(limiter.acquire(2));
    expect(error).to.be.instanceOf(RateLimitExceededError);
    expect((error as RateLimitExceededError).retryAfterMs).to.equal(750);
    await clock.advance(250);
    await first;
  });

  it('reports the tokens it holds, 0 while callers wait, never more than maxTokens', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 3, refillRate: 2, maxWait: '10s', clock });
    expect(limiter.availableTokens).to.equal(3);
    expect(limiter.tryAcquire(2.5)).to.equal(true);
    expect(limiter.availableTokens).to.equal(0.5);
    const waiting = limiter.acquire(2);
    expect(limiter.availableTokens).to.equal(0);
    await clock.advance(750);
    await waiting;
    expect(limiter.availableTokens).to.equal(0);
    await clock.advance(60_000);
    expect(limiter.availableTokens).to.equal(3);
  });

  it('refuses a bad number of permits, naming it, as a throw or a rejection', async () => {
    const limiter = new RateLimiter({ maxTokens: 3 });
    expect(() => limiter.tryAcquire(0)).to.throw(
      RangeError,
      '`permits` must be a finite number > 0, got 0',
    );
    expect(() => limiter.tryAcquire(Infinity)).to.throw(RangeError, 'a finite number > 0');
    expect(() => limiter.tryAcquire(NaN)).to.throw(RangeError, 'a finite number > 0');
    expect(() => limiter.tryAcquire('1' as never)).to.throw(TypeError, 'a finite number > 0');
    expect(() => limiter.tryAcquire(4)).to.throw(
      RangeError,
      '`permits` must be at most `maxTokens` (3) or it can never be served, got 4',
    );
    expect(limiter.tryAcquire(3)).to.equal(true);
    const error = await rejectionOf(limiter.acquire(-1));
    expect(error).to.be.instanceOf(RangeError);
    expect((error as Error).message).to.equal('`permits` must be a finite number > 0, got -1');
  });
});
