// Retry's waits and refusals at their edges: options that are allowed together, what an
// outcome's retryAfterMs and retryable can and cannot say, waits that overflow, a caller who
// leaves between two attempts, and the retry state a policy carries from wait to wait.
import { expect } from 'chai';
import { OperationTimeoutError } from '../../src/errors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { ManualClock } from '../support/clock.js';
import { rejectionOf, settle } from '../support/promises.js';

const MAX_WAIT_MS = 2_147_483_647;

/** The waits a retry sets before `fn`'s failures run out its attempts. */
async function waitsFor(
  retry: Retry,
  clock: ManualClock,
  outcome: () => unknown,
): Promise<number[]> {
  const call = retry.execute(() => Promise.reject(outcome()));
  const settled = call.then(
    () => undefined,
    () => undefined,
  );
  await clock.advance(10 * MAX_WAIT_MS);
  await settled;
  return clock.delays;
}

describe('Retry: waits and refusals at their edges', () => {
  describe('options', () => {
    it('accepts a delay function with jitter 0 (no jitter), and says the delay is a function', () => {
      const byFunction = new Retry({ delay: () => 10, jitter: 0 });
      expect(byFunction.delaysByFunction).to.equal(true);
      expect(byFunction.delay).to.equal(0);
      expect(new Retry({ delay: 10 }).delaysByFunction).to.equal(false);
      expect(new Retry().delaysByFunction).to.equal(false);
    });

    it('names the option and the rule when refusing a combination', () => {
      expect(() => new Retry({ delay: () => 10, jitter: 0.2 })).to.throw(
        TypeError,
        '`jitter` must be unset with a delay function (or 0), got 0.2',
      );
      expect(() => new Retry({ jitter: 'decorrelated', backoffType: 'linear' })).to.throw(
        TypeError,
        "`backoffType` must be unset with jitter 'decorrelated' (or 'exponential'), got \"linear\"",
      );
      expect(() => new Retry({ jitter: 'decorrelated', backoff: 2 })).to.throw(
        TypeError,
        "`backoff` must be unset with jitter 'decorrelated' (or 1), got 2",
      );
    });

    it('refuses a retry number that is not an integer >= 0, saying so', () => {
      const retry = new Retry({ delay: 100 });
      expect(() => retry.delayFor(-1)).to.throw(RangeError, '`n` must be an integer >= 0, got -1');
      expect(() => retry.delayFor(0.5)).to.throw(RangeError, 'an integer >= 0');
    });
  });

  describe('waits that overflow', () => {
    it('waits nothing with delay 0, however large backoff ** n grows', () => {
      expect(new Retry({ delay: 0, backoff: 10 }).delayFor(400)).to.equal(0);
      expect(new Retry({ delay: 0, jitter: 'decorrelated' }).delayFor(2000)).to.equal(0);
    });

    it('never waits longer than the timer ceiling, jittered or decorrelated', () => {
      expect(new Retry({ delay: 1000, backoff: 10 }).delayFor(400)).to.equal(MAX_WAIT_MS);
      const jittered = new Retry({ delay: 2_000_000_000, jitter: 0.5, random: () => 1 });
      expect(jittered.delayFor(0)).to.equal(MAX_WAIT_MS);
      const decorrelated = new Retry({ delay: 1000, jitter: 'decorrelated', random: () => 0.5 });
      expect(decorrelated.delayFor(2000)).to.equal(MAX_WAIT_MS);
    });

    it('reads a decorrelated wait as the first one drawn: a finite wait from no earlier state', () => {
      const wait = new Retry({ delay: 1000, jitter: 'decorrelated', random: () => 0.5 }).delayFor(
        0,
      );
      expect(wait).to.be.greaterThan(0).and.lessThan(2000);
    });

    it('draws a decorrelated wait below the next retry’s range even when random returns 1', () => {
      const at = (u: number): number =>
        new Retry({ delay: 1000, jitter: 'decorrelated', random: () => u }).delayFor(0);
      expect(at(1)).to.equal(at(0.9999999999999999));
      expect(at(7)).to.equal(at(1));
    });

    it('caps a jittered wait by maxDelay, and only a wait above it', () => {
      const retry = new Retry({ delay: 100, maxDelay: 1000, random: () => 1, jitter: 0.5 });
      expect(retry.delayFor(0)).to.equal(150);
      expect(
        new Retry({ delay: 900, maxDelay: 1000, jitter: 0.5, random: () => 1 }).delayFor(0),
      ).to.equal(1000);
    });

    it('holds a custom random number to [0, 1]', () => {
      const at = (r: number): number =>
        new Retry({ delay: 100, jitter: 0.5, random: () => r }).delayFor(0);
      expect(at(-3)).to.equal(50);
      expect(at(NaN)).to.equal(50);
      expect(at(5)).to.equal(150);
    });
  });

  describe('what an outcome says', () => {
    it('a delay function’s wait below maxDelay is kept as it is', async () => {
      const clock = new ManualClock();
      const retry = new Retry({ maxAttempts: 2, delay: () => 100, maxDelay: 500, clock });
      expect(await waitsFor(retry, clock, () => new Error('x'))).to.deep.equal([100]);
    });

    it('waits an outcome’s retryAfterMs when it is longer, up to maxRetryAfter and no further', async () => {
      const clock = new ManualClock();
      const retry = new Retry({ maxAttempts: 2, delay: 100, maxRetryAfter: 1000, clock });
      const asks = (ms: number) => () =>
        Object.assign(new Error('slow down'), { retryAfterMs: ms });
      expect(await waitsFor(retry, clock, asks(500))).to.deep.equal([500]);
      const capped = new ManualClock();
      const again = new Retry({ maxAttempts: 2, delay: 100, maxRetryAfter: 1000, clock: capped });
      expect(await waitsFor(again, capped, asks(5000))).to.deep.equal([1000]);
    });

    it('reads retryAfterMs from a function thrown as an error, never from a string', async () => {
      const clock = new ManualClock();
      const retry = new Retry({ maxAttempts: 2, delay: 100, clock });
      const thrown = Object.assign(() => undefined, { retryAfterMs: 700 });
      expect(await waitsFor(retry, clock, () => thrown)).to.deep.equal([700]);
      const other = new ManualClock();
      const again = new Retry({ maxAttempts: 2, delay: 100, clock: other });
      const text = Object.assign(new Error('x'), { retryAfterMs: '700' });
      expect(await waitsFor(again, other, () => text)).to.deep.equal([100]);
    });

    it('sets no timer when a retryAfterMs getter throws and the delay is 0', async () => {
      const clock = new ManualClock();
      const retry = new Retry({ maxAttempts: 2, clock });
      const hostile = Object.defineProperty(new Error('x'), 'retryAfterMs', {
        get() {
          throw new Error('no');
        },
      });
      expect(await waitsFor(retry, clock, () => hostile)).to.deep.equal([]);
    });

    it('never retries a function thrown with its own retryable: false', async () => {
      let attempts = 0;
      const thrown = Object.assign(() => undefined, { retryable: false });
      const error = await rejectionOf(
        new Retry({ maxAttempts: 3 }).execute(() => {
          attempts++;
          throw thrown;
        }),
      );
      expect(error).to.equal(thrown);
      expect(attempts).to.equal(1);
    });

    it('retries an error whose retryable cannot be inspected', async () => {
      let attempts = 0;
      const opaque = new Proxy(new Error('opaque'), {
        getOwnPropertyDescriptor() {
          throw new Error('no inspection');
        },
      });
      await rejectionOf(
        new Retry({ maxAttempts: 3 }).execute(() => {
          attempts++;
          throw opaque;
        }),
      );
      expect(attempts).to.equal(3);
    });
  });

  describe('a caller who leaves between two attempts', () => {
    it('gets no further attempt when it aborts before the next turn', async () => {
      const controller = new AbortController();
      const reason = new Error('left');
      let attempts = 0;
      const call = new Retry({ maxAttempts: 3 }).execute(() => {
        attempts++;
        if (attempts === 1) queueMicrotask(() => queueMicrotask(() => controller.abort(reason)));
        return Promise.reject(new Error('failed'));
      }, controller.signal);
      expect(await rejectionOf(call)).to.equal(reason);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(attempts).to.equal(1);
    });

    it('in a policy, counts the call as failed when it aborts during a wait', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .retry({ maxAttempts: 3, delay: 100, clock })
        .build();
      const controller = new AbortController();
      const reason = new Error('left');
      let attempts = 0;
      const call = policy.execute(
        () => {
          attempts++;
          return Promise.reject(new Error('failed'));
        },
        { signal: controller.signal },
      );
      await clock.advance(50);
      controller.abort(reason);
      expect(await rejectionOf(call)).to.equal(reason);
      await clock.advance(1000);
      expect(attempts).to.equal(1);
      expect(policy.metrics()).to.include({ calls: 1, successes: 0, failures: 1 });
    });
    it('in a policy, gives back the bulkhead slot around it when the caller aborts during a wait', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .bulkhead({ maxConcurrent: 1, clock })
        .retry({ maxAttempts: 3, delay: 100, clock })
        .build();
      const controller = new AbortController();
      const reason = new Error('left');
      const call = policy.execute(() => Promise.reject(new Error('failed')), {
        signal: controller.signal,
      });
      await clock.advance(50);
      controller.abort(reason);
      expect(await rejectionOf(call)).to.equal(reason);
      await clock.advance(0);
      expect(await policy.execute(() => 'next')).to.equal('next');
    });
  });

  describe('one statement for the standalone loop and the policy stage', () => {
    it('rejects with the abort reason when a later attempt resolves after an abort, whatever it returned', async () => {
      const controller = new AbortController();
      const reason = new Error('left');
      const retry = new Retry({ maxAttempts: 3, retryOnResult: (r: string) => r === 'again' });
      const error = await rejectionOf(
        retry.runAttempts(async (n) => {
          if (n === 1) return 'again';
          controller.abort(reason);
          return 'fine';
        }, controller),
      );
      expect(error).to.equal(reason);
    });

    it('passes the outcome of a one-attempt retry through as it is, even after an abort', async () => {
      const controller = new AbortController();
      const failure = new Error('failed');
      const error = await rejectionOf(
        new Retry({ maxAttempts: 1 }).runAttempts(async () => {
          controller.abort(new Error('left'));
          throw failure;
        }, controller),
      );
      expect(error).to.equal(failure);
    });
  });

  describe('waits and refusals found by mutation', () => {
    it('waits what a delay function answers when there is no maxDelay', async () => {
      const clock = new ManualClock();
      const retry = new Retry({ maxAttempts: 2, delay: () => 100, clock });
      expect(await waitsFor(retry, clock, () => new Error('x'))).to.deep.equal([100]);
    });

    it('ignores an infinite retryAfterMs, waiting its own delay', async () => {
      const clock = new ManualClock();
      const retry = new Retry({ maxAttempts: 2, delay: 100, clock });
      const outcome = () => Object.assign(new Error('x'), { retryAfterMs: Infinity });
      expect(await waitsFor(retry, clock, outcome)).to.deep.equal([100]);
    });

    it('refuses a budget without both deposit() and tryWithdraw()', () => {
      for (const bad of [null, 5, { deposit() {} }, { tryWithdraw: () => true }]) {
        expect(() => new Retry({ budget: bad as never }), String(bad)).to.throw(
          TypeError,
          '`budget` must be a RetryBudget',
        );
      }
    });

    it('keeps decorrelated waits at the timer ceiling once the growth overflows, wait after wait', async () => {
      const delays: number[] = [];
      const clock = {
        now: () => 0,
        setTimeout: (fn: () => void, ms: number) => {
          delays.push(ms);
          queueMicrotask(fn);
        },
        clearTimeout: () => {},
      };
      // Retry 1024 draws t >= 1024, where 2^t is Infinity: from then on every wait is the ceiling.
      const retry = new Retry({
        maxAttempts: 1030,
        delay: 1,
        jitter: 'decorrelated',
        random: () => 0.5,
        clock,
      });
      await rejectionOf(retry.execute(() => Promise.reject(new Error('x'))));
      expect(delays).to.have.length(1029);
      expect(delays.slice(1020)).to.deep.equal(new Array(9).fill(MAX_WAIT_MS));
    });

    it('in a policy, never skips a retry without a wait for the deadline, even one already reached', async () => {
      // A clock whose timers never fire: the deadline has passed, the timeout has not fired.
      let now = 0;
      const clock = { now: () => now, setTimeout: () => ({}), clearTimeout: () => {} };
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 100, clock })
        .retry({ maxAttempts: 2, clock })
        .build();
      const retries: unknown[] = [];
      policy.on('retry', (e) => retries.push(e));
      const result = await policy.execute((ctx) => {
        if (ctx.attempt === 2) return 'second';
        now = 200;
        return Promise.reject(new Error('first'));
      });
      expect(result).to.equal('second');
      expect(retries).to.have.length(1);
      expect(retries[0]).to.include({ attempt: 1, delayMs: 0 }).and.not.have.property('skipped');
    });
  });

  describe('in a policy', () => {
    it('carries the decorrelated state from wait to wait, as execute does', async () => {
      const draws = [0.3, 0.7, 0.1, 0.9];
      const random = (): number => draws[i++ % draws.length]!;
      let i = 0;
      const standalone = new ManualClock();
      const retry = new Retry({
        maxAttempts: 5,
        delay: 100,
        jitter: 'decorrelated',
        random,
        clock: standalone,
      });
      const expected = await waitsFor(retry, standalone, () => new Error('x'));
      i = 0;
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .retry({ maxAttempts: 5, delay: 100, jitter: 'decorrelated', random, clock })
        .build();
      const call = rejectionOf(policy.execute(() => Promise.reject(new Error('x'))));
      await clock.advance(100_000);
      await call;
      expect(expected).to.have.length(4);
      expect(clock.delays).to.deep.equal(expected);
    });

    it('settles a retried call by the time its waits are over, numbering its attempts 1, 2, 3', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .retry({ maxAttempts: 3, delay: 10, clock })
        .build();
      const attempts: number[] = [];
      const call = settle(
        policy.execute((ctx) => {
          attempts.push(ctx.attempt);
          return ctx.attempt < 3 ? Promise.reject(new Error('x')) : 'ok';
        }),
      );
      await clock.advance(20);
      expect(call).to.deep.equal({ status: 'fulfilled', value: 'ok' });
      expect(attempts).to.deep.equal([1, 2, 3]);
    });

    it('starts a fresh decorrelated state for an inner retry on each attempt of an outer one', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .retry({ maxAttempts: 2, clock })
        .retry({ maxAttempts: 2, delay: 10, jitter: 'decorrelated', random: () => 0.5, clock })
        .build();
      let calls = 0;
      const failure = new Error('down');
      const call = rejectionOf(
        policy.execute(() => {
          calls++;
          return Promise.reject(failure);
        }),
      );
      await clock.advance(1000);
      expect(await call).to.equal(failure);
      expect(calls).to.equal(4);
      expect(clock.delays).to.have.length(2);
    });

    it('reports a retry of a result skipped because its wait would end after the deadline', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 100, clock })
        .retry({ maxAttempts: 3, delay: 200, retryOnResult: (r: string) => r === 'bad', clock })
        .build();
      const retries: unknown[] = [];
      policy.on('retry', (e) => retries.push(e));
      expect(await policy.execute(() => 'bad')).to.equal('bad');
      expect(retries).to.deep.equal([
        {
          policy: 'p',
          stage: 'retry',
          attempt: 1,
          delayMs: 200,
          result: 'bad',
          skipped: 'deadline',
        },
      ]);
    });

    it('inside a cooperative deadline that passed, rejects with the timeout error', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 100, clock, mode: 'cooperative' })
        .retry({ maxAttempts: 3, clock })
        .build();
      let fail: (e: Error) => void = () => undefined;
      const call = rejectionOf(
        policy.execute(() => new Promise<string>((_, reject) => (fail = reject))),
      );
      await clock.advance(150);
      fail(new Error('late'));
      expect(await call).to.be.instanceOf(OperationTimeoutError);
    });
  });

  describe('in a policy’s description', () => {
    it('shows a delay function, and a max retry-after only when it differs from max delay', () => {
      const policy = Policy.builder<string>('p')
        .retry({ maxAttempts: 2, delay: () => 5 })
        .retry({ maxAttempts: 3, delay: 100, maxDelay: 1000, maxRetryAfter: 5000 })
        .retry({ maxAttempts: 4, delay: 100, maxDelay: 1000 })
        .retry({ maxAttempts: 2, delay: 10, maxRetryAfter: 300 })
        .build();
      expect(policy.describe().split('\n')).to.deep.equal([
        '1. retry: up to 2 attempts, delay by function, on all errors',
        '2. retry: up to 3 attempts, delay 100 ms, max delay 1000 ms, max retry-after 5000 ms, on all errors',
        '3. retry: up to 4 attempts, delay 100 ms, max delay 1000 ms, on all errors',
        '4. retry: up to 2 attempts, delay 10 ms, max retry-after 300 ms, on all errors',
      ]);
      expect(policy.metrics().stages.map((s) => s.maxAttempts)).to.deep.equal([2, 3, 4, 2]);
    });
  });
});
