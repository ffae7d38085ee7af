// An outcome with a finite `retryAfterMs` is waited on for at least that long on the retry's
// clock, even when the clock's timers fire early (Node's do, by up to a millisecond against
// `performance.now()`): a wait that woke early is set again for the rest, so the next attempt
// does not meet the same empty bucket or open circuit.
import { expect } from 'chai';
import { RateLimitExceededError } from '../../../src/errors.js';
import type { Clock } from '../../../src/internal/clock.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { RateLimiter } from '../../../src/strategies/rate-limiter/RateLimiter.js';
import { Retry } from '../../../src/strategies/retry/Retry.js';
import { ManualClock } from '../../support/clock.js';
import { settle } from '../../support/promises.js';

/**
 * A ManualClock whose timers of 1 ms or more fire `early` ms before they are due, as Node's may
 * against `performance.now()` (a shorter one fires on time).
 */
class EarlyClock implements Clock {
  readonly inner = new ManualClock();
  readonly delays: number[] = [];
  readonly early: number;
  constructor(early: number) {
    this.early = early;
  }
  now(): number {
    return this.inner.now();
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.delays.push(ms);
    return this.inner.setTimeout(fn, ms >= 1 ? ms - this.early : ms);
  }
  clearTimeout(handle: unknown): void {
    this.inner.clearTimeout(handle);
  }
}

describe("Retry wait for an outcome's retryAfterMs on a clock whose timers fire early", () => {
  it('starts the next attempt no sooner than retryAfterMs after the wait began', async () => {
    const clock = new EarlyClock(0.75);
    const retry = new Retry({ maxAttempts: 2, delay: 0, clock });
    const starts: number[] = [];
    const result = settle(
      retry.execute(async (_signal, n) => {
        starts.push(clock.now());
        if (n === 1) throw new RateLimitExceededError(5.5);
        return 'ok';
      }),
    );
    await clock.inner.advance(100);
    expect(result).to.deep.equal({ status: 'fulfilled', value: 'ok' });
    expect(starts[1]! - starts[0]!).to.be.at.least(5.5);
    // The first timer (5.5 ms) fired 0.75 ms early; the rest was waited again.
    expect(clock.delays[0]).to.equal(5.5);
    expect(clock.delays[1]).to.be.closeTo(0.75, 1e-9);
    expect(clock.inner.pending()).to.equal(0);
  });

  it('lets a policy retry meet a refilled bucket, not the refusal again', async () => {
    const clock = new EarlyClock(0.9);
    // Intervals whose rates are exact in binary, so the bucket's own arithmetic is exact too.
    for (const interval of [5, 8, 10, 16, 20, 25, 40, 50]) {
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1000 / interval, clock });
      limiter.tryAcquire(); // the bucket is empty now
      const policy = Policy.builder('p')
        .retry({ maxAttempts: 2, delay: 1, clock })
        .rateLimiter(limiter)
        .build();
      const result = settle(policy.execute(async () => 'ok'));
      await clock.inner.advance(100);
      expect(result, `a token every ${interval} ms`).to.deep.equal({
        status: 'fulfilled',
        value: 'ok',
      });
    }
  });

  it('still waits once, for exactly the delay, on a clock whose timers are on time', async () => {
    const clock = new EarlyClock(0);
    const retry = new Retry({ maxAttempts: 2, delay: 0, clock });
    const result = settle(
      retry.execute(async (_signal, n) => {
        if (n === 1) throw new RateLimitExceededError(5.5);
        return 'ok';
      }),
    );
    await clock.inner.advance(100);
    expect(result).to.deep.equal({ status: 'fulfilled', value: 'ok' });
    expect(clock.delays).to.deep.equal([5.5]);
  });

  it('still rejects at once with the reason when the signal aborts during the rest of a wait', async () => {
    const clock = new EarlyClock(0.5);
    const retry = new Retry({ maxAttempts: 2, delay: 0, clock });
    const controller = new AbortController();
    const result = settle(
      retry.execute(async () => {
        throw new RateLimitExceededError(10);
      }, controller.signal),
    );
    await clock.inner.advance(9.7); // the 10 ms timer fired at 9.5; the rest (0.5 ms) is pending
    expect(clock.inner.pending()).to.equal(1);
    const reason = new Error('gave up');
    controller.abort(reason);
    await Promise.resolve();
    expect(result).to.deep.equal({ status: 'rejected', reason });
    expect(clock.inner.pending()).to.equal(0);
  });

  it('ends the wait when its timer fires on a clock that stands still', async () => {
    const timers: Array<() => void> = [];
    const still: Clock = {
      now: () => 0,
      setTimeout: (fn) => timers.push(fn),
      clearTimeout: () => undefined,
    };
    const retry = new Retry({ maxAttempts: 2, delay: 0, clock: still });
    const result = settle(
      retry.execute(async (_signal, n) => {
        if (n === 1) throw new RateLimitExceededError(5);
        return 'ok';
      }),
    );
    for (let i = 0; i < 5 && timers.length === 0; i++) await Promise.resolve();
    expect(timers).to.have.length(1);
    timers.shift()!();
    for (let i = 0; i < 5 && result.status === 'pending'; i++) await Promise.resolve();
    expect(result).to.deep.equal({ status: 'fulfilled', value: 'ok' });
    expect(timers).to.have.length(0);
  });
});

describe("Retry wait for an outcome's retryAfterMs on a clock whose timers fire early again", () => {
  /**
   * A ManualClock whose timers of 0.3 ms or more fire half their delay early, 0.4 ms at most: a
   * timer set again for the rest of a wait fires early once more, as a host's may.
   */
  const twiceEarly = (): Clock & { inner: ManualClock } => {
    const inner = new ManualClock();
    return {
      inner,
      now: () => inner.now(),
      setTimeout: (fn, ms) => inner.setTimeout(fn, ms >= 0.3 ? ms - Math.min(0.4, ms / 2) : ms),
      clearTimeout: (handle) => inner.clearTimeout(handle),
    };
  };

  it('starts the next attempt no sooner than retryAfterMs after the wait began', async () => {
    const clock = twiceEarly();
    const retry = new Retry({ maxAttempts: 2, delay: 0, clock });
    const starts: number[] = [];
    const result = settle(
      retry.execute(async (_signal, n) => {
        starts.push(clock.now());
        if (n === 1) throw new RateLimitExceededError(5.5);
        return 'ok';
      }),
    );
    await clock.inner.advance(100);
    expect(result).to.deep.equal({ status: 'fulfilled', value: 'ok' });
    expect(starts[1]! - starts[0]!).to.be.at.least(5.5);
  });

  it('lets a policy retry meet a refilled bucket, not the refusal again', async () => {
    for (const interval of [5, 8, 10, 16, 20, 25, 40, 50]) {
      const clock = twiceEarly();
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1000 / interval, clock });
      limiter.tryAcquire(); // the bucket is empty now
      const policy = Policy.builder('p')
        .retry({ maxAttempts: 2, delay: 1, clock })
        .rateLimiter(limiter)
        .build();
      const result = settle(policy.execute(async () => 'ok'));
      await clock.inner.advance(100);
      expect(result, `a token every ${interval} ms`).to.deep.equal({
        status: 'fulfilled',
        value: 'ok',
      });
    }
  });
});

describe('Retry wait on a clock whose timers run at once while its time moves', () => {
  it('sets one more timer at most, instead of a timer per turn until the time has passed', async () => {
    let timers = 0;
    const clock: Clock = {
      now: () => performance.now(),
      setTimeout: (fn: () => void) => {
        timers++;
        queueMicrotask(fn);
        return timers;
      },
      clearTimeout: () => {},
    };
    const retry = new Retry({ maxAttempts: 2, delay: '300ms', clock });
    let attempts = 0;
    const began = performance.now();
    const result = await retry.execute(() => {
      if (++attempts === 1) throw new Error('once');
      return 'ok';
    });
    expect(result).to.equal('ok');
    expect(timers).to.be.at.most(2);
    expect(performance.now() - began).to.be.below(250);
  });
});
