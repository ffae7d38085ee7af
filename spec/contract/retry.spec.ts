// The retry rules of docs/CONTRACT.md (R-RETRY-*).
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import { Policy, RateLimitExceededError, Retry } from 'bulwark';
import { flush, rejectionOf, settle } from './support.js';

class Transient extends Error {}
class Reset extends Transient {}
class Fatal extends Error {}

/** Runs `retry` over an operation that always fails and returns the waits it made. */
async function waits(options: ConstructorParameters<typeof Retry>[0]): Promise<number[]> {
  const clock = new ManualClock(1_000);
  const retry = new Retry({ ...options, clock });
  const outcome = settle(retry.execute(() => Promise.reject(new Transient())));
  await clock.advance(1_000_000);
  expect(outcome.status).to.equal('rejected');
  return clock.delays;
}

describe('contract: Retry', () => {
  it('R-RETRY-1: `maxAttempts` defaults to 3, total attempts including the first', async () => {
    let calls = 0;
    await rejectionOf(
      new Retry().execute(() => {
        calls++;
        throw new Transient();
      }),
    );
    expect(calls).to.equal(3);
    calls = 0;
    await rejectionOf(
      new Retry({ maxAttempts: 1 }).execute(() => {
        calls++;
        throw new Transient();
      }),
    );
    expect(calls).to.equal(1);
  });

  it('R-RETRY-3: `delay` defaults to 0: with `delay: 0` there is no wait', async () => {
    const clock = new ManualClock(1_000);
    let calls = 0;
    await rejectionOf(
      new Retry({ clock }).execute(() => {
        calls++;
        throw new Transient();
      }),
    );
    expect(calls).to.equal(3);
    expect(clock.delays).to.deep.equal([]);
  });

  it('R-RETRY-2: Wait before retry number `n` (0-based): `w = delay * backoff**n` (`backoff` defaults to 1)', async () => {
    expect(await waits({ maxAttempts: 4, delay: '100ms' })).to.deep.equal([100, 100, 100]);
    expect(await waits({ maxAttempts: 5, delay: 100, backoff: 2 })).to.deep.equal([
      100, 200, 400, 800,
    ]);
    expect(await waits({ maxAttempts: 3, delay: '1s', backoff: 1.5 })).to.deep.equal([
      1_000, 1_500,
    ]);
  });

  it('R-RETRY-2: if maxDelay is set, `w = min(w, maxDelay)`', async () => {
    expect(await waits({ maxAttempts: 5, delay: 100, backoff: 2, maxDelay: 250 })).to.deep.equal([
      100, 200, 250, 250,
    ]);
  });

  it('R-RETRY-2: if jitter > 0, `w += uniform(-jitter, jitter) * w`, with `random` for deterministic jitter', async () => {
    // random() = 0 is the low end of the uniform draw: -jitter; 0.5 is its middle: 0.
    expect(
      await waits({ maxAttempts: 3, delay: 100, backoff: 2, jitter: 0.5, random: () => 0 }),
    ).to.deep.equal([50, 100]);
    expect(
      await waits({ maxAttempts: 3, delay: 100, backoff: 2, jitter: 0.5, random: () => 0.5 }),
    ).to.deep.equal([100, 200]);
    const high = await waits({ maxAttempts: 2, delay: 100, jitter: 0.2, random: () => 0.999999 });
    expect(high[0]).to.be.closeTo(120, 0.001);
  });

  it('R-RETRY-2: jitter is applied before the maxDelay cap', async () => {
    const capped = await waits({
      maxAttempts: 2,
      delay: 100,
      jitter: 0.5,
      maxDelay: 120,
      random: () => 0.999999,
    });
    expect(capped).to.deep.equal([120]);
  });

  it('R-RETRY-2: `jitter` defaults to 0 and `random` to Math.random: waits are exact', async () => {
    const original = Math.random;
    let draws = 0;
    Math.random = () => {
      draws++;
      return 0;
    };
    try {
      expect(await waits({ maxAttempts: 3, delay: 100 })).to.deep.equal([100, 100]);
      expect(draws).to.equal(0);
      expect(await waits({ maxAttempts: 2, delay: 100, jitter: 0.5 })).to.deep.equal([50]);
      expect(draws).to.equal(1);
    } finally {
      Math.random = original;
    }
  });

  it('R-RETRY-7: After the last attempt the last error is rethrown unchanged', async () => {
    const errors = [new Transient('1'), new Transient('2'), new Transient('3')];
    let i = 0;
    const error = await rejectionOf(
      new Retry({ maxAttempts: 3 }).execute(() => Promise.reject(errors[i++])),
    );
    expect(error).to.equal(errors[2]);
  });

  it('R-RETRY-5: `retryOn` defaults to all errors; others propagate at once', async () => {
    let calls = 0;
    const fatal = new Fatal();
    const error = await rejectionOf(
      new Retry({ maxAttempts: 5, retryOn: [Transient] }).execute(() => {
        calls++;
        throw fatal;
      }),
    );
    expect(error).to.equal(fatal);
    expect(calls).to.equal(1);
    calls = 0;
    await rejectionOf(
      new Retry({ maxAttempts: 5 }).execute(() => {
        calls++;
        throw 'not even an Error';
      }),
    );
    expect(calls).to.equal(5);
  });

  it('R-RETRY-5: `ErrorFilter` = an array of error classes (matched with `instanceof`), or a predicate `(error) => boolean`', async () => {
    let calls = 0;
    await rejectionOf(
      new Retry({ maxAttempts: 3, retryOn: [Transient] }).execute(() => {
        calls++;
        throw new Reset();
      }),
    );
    expect(calls).to.equal(3);
    calls = 0;
    const seen: unknown[] = [];
    await rejectionOf(
      new Retry({
        maxAttempts: 3,
        retryOn: (error) => {
          seen.push(error);
          return (error as Error).message === 'again';
        },
      }).execute(() => {
        calls++;
        throw new Error(calls === 1 ? 'again' : 'stop');
      }),
    );
    expect(calls).to.equal(2);
    expect(seen).to.have.length(2);
  });

  it('R-RETRY-6: `retryOnResult`: retry when it returns true; after the last attempt the last result is returned', async () => {
    const results = [503, 503, 200];
    let calls = 0;
    const retry = new Retry({ maxAttempts: 5, retryOnResult: (r?: number) => r === 503 });
    expect(await retry.execute(() => results[calls++])).to.equal(200);
    expect(calls).to.equal(3);
    calls = 0;
    const always = new Retry({ maxAttempts: 3, retryOnResult: () => true });
    expect(await always.execute(() => ++calls)).to.equal(3);
    expect(calls).to.equal(3);
  });

  it('R-RETRY-8: Waits are abortable: an abort during a wait rejects at once and makes no further attempt', async () => {
    const clock = new ManualClock(1_000);
    const controller = new AbortController();
    let calls = 0;
    const outcome = settle(
      new Retry({ maxAttempts: 3, delay: '10s', clock }).execute(() => {
        calls++;
        return Promise.reject(new Transient());
      }, controller.signal),
    );
    await clock.advance(1_000);
    expect(calls).to.equal(1);
    const reason = new Error('stop');
    controller.abort(reason);
    await flush();
    expect(outcome.status).to.equal('rejected');
    expect(outcome.reason).to.equal(reason);
    await clock.advance(60_000);
    expect(calls).to.equal(1);
    expect(clock.pending()).to.equal(0);
  });

  it('R-PRIM-1: `execute(fn, signal?)`: fn receives an AbortSignal and the result is a Promise', async () => {
    let received: unknown;
    const result = new Retry().execute((signal) => {
      received = signal;
      return 7;
    });
    expect(result).to.be.instanceOf(Promise);
    expect(await result).to.equal(7);
    expect(received).to.be.instanceOf(AbortSignal);
  });

  it('R-PRIM-2: takes a `clock` option so time can be faked', async () => {
    expect(await waits({ maxAttempts: 2, delay: '2s' })).to.deep.equal([2_000]);
  });

  it("R-RETRY-9: `backoffType` 'constant' waits `delay`, 'linear' `delay * (n + 1)`; `backoff` only with 'exponential'", async () => {
    expect(await waits({ maxAttempts: 4, delay: 100, backoffType: 'constant' })).to.deep.equal([
      100, 100, 100,
    ]);
    expect(await waits({ maxAttempts: 4, delay: 100, backoffType: 'linear' })).to.deep.equal([
      100, 200, 300,
    ]);
    expect(() => new Retry({ backoffType: 'constant', backoff: 2 })).to.throw(TypeError, /backoff/);
  });

  it("R-RETRY-10: `jitter: 'full'` waits uniform(0, 1) * w; 'decorrelated' follows Polly v2", async () => {
    expect(
      await waits({ maxAttempts: 2, delay: 1000, jitter: 'full', random: () => 0.75 }),
    ).to.deep.equal([750]);
    const f = (t: number) => 2 ** t * Math.tanh(Math.sqrt(4 * t));
    const [first, second] = await waits({
      maxAttempts: 3,
      delay: 1400,
      jitter: 'decorrelated',
      random: () => 0.5,
    });
    expect(first).to.be.closeTo(1000 * f(0.5), 1e-6);
    expect(second).to.be.closeTo(1000 * (f(1.5) - f(0.5)), 1e-6);
  });

  it('R-RETRY-11: waits at least min(retryAfterMs, maxRetryAfter) of an outcome, maxRetryAfter defaulting to maxDelay', async () => {
    const clock = new ManualClock();
    const errors = [new RateLimitExceededError(5_000), new RateLimitExceededError(50_000)];
    const retry = new Retry({ maxAttempts: 3, delay: 10, maxDelay: '20s', clock });
    let n = 0;
    const outcome = settle(retry.execute(() => Promise.reject(errors[n++] ?? new Transient())));
    await clock.advance(1e6);
    expect(outcome.status).to.equal('rejected');
    expect(clock.delays).to.deep.equal([5_000, 20_000]);
  });

  it('R-RETRY-12: `delay` as a function of { attempt, error, result } gives the wait; a bad value rejects naming delay', async () => {
    expect(await waits({ maxAttempts: 3, delay: ({ attempt }) => `${attempt}s` })).to.deep.equal([
      1_000, 2_000,
    ]);
    const bad = new Retry({ delay: () => Number.NaN, clock: new ManualClock() });
    const error = await rejectionOf(bad.execute(() => Promise.reject(new Transient())));
    expect(error).to.be.instanceOf(RangeError);
    expect((error as Error).message).to.match(/`delay`/);
  });

  it('R-RETRY-13: an error with its own `retryable: false` is never retried, retryOn not asked', async () => {
    let calls = 0;
    let asked = 0;
    const error = Object.assign(new Transient(), { retryable: false });
    const retry = new Retry({ retryOn: () => (asked++, true) });
    expect(
      await rejectionOf(
        retry.execute(() => {
          calls++;
          throw error;
        }),
      ),
    ).to.equal(error);
    expect([calls, asked]).to.deep.equal([1, 0]);
  });

  it("R-RETRY-14: in a policy, a wait that would end past the deadline is skipped: last outcome at once, `skipped: 'deadline'`", async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p')
      .clock(clock)
      .timeout({ timeout: 1_000, clock })
      .retry({ maxAttempts: 5, delay: 600, clock })
      .build();
    const skipped: unknown[] = [];
    policy.on('retry', (e) => skipped.push(e.skipped));
    let calls = 0;
    const last = new Transient('last');
    const outcome = settle(
      policy.execute(() => Promise.reject(++calls === 2 ? last : new Transient())),
    );
    await clock.advance(600);
    expect(outcome.status).to.equal('rejected');
    expect(outcome.reason).to.equal(last);
    expect(skipped).to.deep.equal([undefined, 'deadline']);
  });
});
