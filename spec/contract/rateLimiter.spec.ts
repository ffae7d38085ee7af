// The rate limiter rules of docs/CONTRACT.md (R-RL-*).
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import { RateLimiter, RateLimitExceededError } from 'bulwark';
import { flush, rejectionOf, settle, thrownBy } from './support.js';

describe('contract: RateLimiter', () => {
  it('R-RL-1: `maxTokens` defaults to 10: bucket capacity (burst); the bucket starts full', () => {
    const limiter = new RateLimiter({ clock: new ManualClock(1_000) });
    expect(limiter.availableTokens).to.equal(10);
    let taken = 0;
    while (limiter.tryAcquire()) taken++;
    expect(taken).to.equal(10);
    expect(limiter.availableTokens).to.equal(0);
  });

  it('R-RL-2: `refillRate` defaults to 10: tokens added per second, up to `maxTokens`', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({ clock });
    while (limiter.tryAcquire());
    await clock.advance(100);
    expect(limiter.availableTokens).to.be.closeTo(1, 1e-9);
    await clock.advance(400);
    expect(limiter.availableTokens).to.be.closeTo(5, 1e-9);
    await clock.advance(60_000);
    expect(limiter.availableTokens).to.equal(10);
    const slow = new RateLimiter({ maxTokens: 4, refillRate: 0.5, clock });
    while (slow.tryAcquire());
    await clock.advance(2_000);
    expect(slow.availableTokens).to.be.closeTo(1, 1e-9);
  });

  it('R-RL-2: Refill is lazy (computed from a monotonic clock on each acquire; no background timer)', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1, clock });
    limiter.tryAcquire(2);
    await clock.advance(1_000);
    expect(limiter.tryAcquire()).to.equal(true);
    await rejectionOf(limiter.acquire());
    expect(clock.delays).to.deep.equal([]);
  });

  it('R-RL-3: `maxWait` defaults to 0: reject at once when empty', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({ clock });
    while (limiter.tryAcquire());
    const error = await rejectionOf(limiter.acquire());
    expect(error).to.be.instanceOf(RateLimitExceededError);
    expect(clock.delays).to.deep.equal([]);
  });

  it('R-RL-4: `acquire` rejects `RateLimitExceededError` when fewer than `permits` tokens are available and none will be within `maxWait`; `retryAfterMs` is the ms until enough tokens', async () => {
    const limiter = new RateLimiter({
      maxTokens: 10,
      refillRate: 10,
      clock: new ManualClock(1_000),
    });
    limiter.tryAcquire(8);
    await limiter.acquire(2);
    const one = (await rejectionOf(limiter.acquire())) as RateLimitExceededError;
    expect(one.retryAfterMs).to.equal(100);
    const five = (await rejectionOf(limiter.acquire(5))) as RateLimitExceededError;
    expect(five.retryAfterMs).to.equal(500);
  });

  it('R-RL-3: `maxWait` > 0: wait FIFO up to this long for a token', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: '5s', clock });
    await limiter.acquire();
    const order: string[] = [];
    const a = settle(limiter.acquire().then(() => order.push(`a@${clock.now()}`)));
    const b = settle(limiter.acquire().then(() => order.push(`b@${clock.now()}`)));
    await clock.advance(999);
    expect([a.status, b.status]).to.deep.equal(['pending', 'pending']);
    await clock.advance(1_001);
    expect(order).to.deep.equal(['a@2000', 'b@3000']);
  });

  it('R-RL-4: RateLimiter with `maxWait`: when no token can arrive within `maxWait`, it rejects at once (with `retryAfterMs`) instead of waiting in vain', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: 500, clock });
    limiter.tryAcquire();
    const outcome = settle(limiter.acquire());
    await flush();
    expect(outcome.status).to.equal('rejected');
    expect(outcome.reason).to.be.instanceOf(RateLimitExceededError);
    expect((outcome.reason as RateLimitExceededError).retryAfterMs).to.equal(1_000);
    expect(clock.now()).to.equal(1_000);
  });

  it('R-RL-5: RateLimiter waiting is FIFO: tokens owed to callers already queued count before a newcomer’s', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1, maxWait: '3s', clock });
    limiter.tryAcquire(2);
    const order: string[] = [];
    const first = limiter.acquire(2).then(() => order.push(`A@${clock.now()}`));
    const second = limiter.acquire(1).then(() => order.push(`B@${clock.now()}`));
    // A newcomer does not jump the line, even once a token has arrived.
    await clock.advance(1_000);
    expect(limiter.tryAcquire()).to.equal(false);
    // Its 2 tokens would come after the 3 owed to A and B: 4 s away, beyond maxWait.
    const late = (await rejectionOf(limiter.acquire(2))) as RateLimitExceededError;
    expect(late).to.be.instanceOf(RateLimitExceededError);
    expect(late.retryAfterMs).to.equal(4_000);
    await clock.advance(3_000);
    await Promise.all([first, second]);
    expect(order).to.deep.equal(['A@2000', 'B@3000']);
  });

  it('R-RL-6: `permits > maxTokens` can never be served and throws `RangeError` from `tryAcquire`', () => {
    const limiter = new RateLimiter({ maxTokens: 10 });
    const error = thrownBy(() => limiter.tryAcquire(11));
    expect(error).to.be.instanceOf(RangeError);
    expect(error.message).to.include('`permits`');
    expect(error.message).to.include('got 11');
    expect(limiter.availableTokens).to.equal(10);
  });

  it('R-RL-6: `permits > maxTokens` throws `RangeError` from `acquire` (reported as its rejection)', async () => {
    const limiter = new RateLimiter({ maxTokens: 10, maxWait: Infinity });
    const error = await rejectionOf(limiter.acquire(11));
    expect(error).to.be.instanceOf(RangeError);
    expect((error as Error).message).to.include('got 11');
    expect(limiter.queued).to.equal(0);
  });

  it('R-RL-7: `acquire(permits = 1, signal?)` and `tryAcquire(permits = 1)` take one token by default', async () => {
    const limiter = new RateLimiter({ maxTokens: 3, clock: new ManualClock(1_000) });
    expect(limiter.tryAcquire()).to.equal(true);
    await limiter.acquire();
    expect(limiter.availableTokens).to.equal(1);
    expect(limiter.tryAcquire(2)).to.equal(false);
    expect(limiter.availableTokens).to.equal(1);
  });

  it('R-RL-8: `acquire(permits, signal)`: a waiting caller whose signal aborts rejects with its reason', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: '10s', clock });
    limiter.tryAcquire();
    const controller = new AbortController();
    const waiting = settle(limiter.acquire(1, controller.signal));
    const reason = new Error('gone');
    controller.abort(reason);
    await flush();
    expect(waiting.reason).to.equal(reason);
    expect(limiter.queued).to.equal(0);
  });

  it('R-RL-7: `execute(fn, signal?)` takes one token, then runs fn; refused calls never run fn', async () => {
    const limiter = new RateLimiter({ maxTokens: 1, clock: new ManualClock(1_000) });
    expect(await limiter.execute(() => 'ran')).to.equal('ran');
    let called = false;
    const error = await rejectionOf(
      limiter.execute(() => {
        called = true;
      }),
    );
    expect(error).to.be.instanceOf(RateLimitExceededError);
    expect(called).to.equal(false);
  });

  it('R-RL-7: `availableTokens` (getter) stays within [0, maxTokens]', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1000, clock });
    expect(limiter.availableTokens).to.equal(2);
    await clock.advance(10_000);
    expect(limiter.availableTokens).to.equal(2);
    limiter.tryAcquire(2);
    expect(limiter.availableTokens).to.equal(0);
  });
});
