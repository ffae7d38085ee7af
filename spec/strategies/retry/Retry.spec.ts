import { expect } from 'chai';
import sinon from 'sinon';
import type { Clock } from '../../../src/internal/clock.js';
import type { RetryInfo } from '../../../src/strategies/retry/Retry.js';
import { RETRY } from '../../../src/strategies/retry/kind.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { Retry } from '../../../src/strategies/retry/Retry.js';
import { rejectionOf, settle } from '../../support/promises.js';

// A clock whose timers must never be used.
function timerlessClock(): Clock & { setTimeout: sinon.SinonSpy } {
  return { now: () => 0, setTimeout: sinon.spy(() => 0), clearTimeout: () => {} };
}

class ConnectionError extends Error {}
class ResetError extends ConnectionError {}

describe('Retry', () => {
  it('resolves with the first result without retrying', async () => {
    const fn = sinon.spy(async () => 'ok');
    expect(await new Retry().execute(fn)).to.equal('ok');
    expect(fn.callCount).to.equal(1);
  });

  it('passes a signal and the 1-based attempt number to fn', async () => {
    const seen: Array<[AbortSignal, number]> = [];
    const retry = new Retry({ maxAttempts: 3 });
    const result = await retry.execute((signal, attempt) => {
      seen.push([signal, attempt]);
      if (attempt < 3) throw new Error('again');
      return attempt;
    });
    expect(result).to.equal(3);
    expect(seen.map(([, n]) => n)).to.deep.equal([1, 2, 3]);
    for (const [signal] of seen) {
      expect(signal).to.be.instanceOf(AbortSignal);
      expect(signal.aborted).to.equal(false);
    }
  });

  it('passes the caller signal to fn when one is given', async () => {
    const controller = new AbortController();
    let received: AbortSignal | undefined;
    await new Retry().execute((signal) => {
      received = signal;
    }, controller.signal);
    expect(received).to.equal(controller.signal);
  });

  it('retries a failing operation until it succeeds', async () => {
    let calls = 0;
    const result = await new Retry({ maxAttempts: 4 }).execute(async () => {
      calls++;
      if (calls < 3) throw new ConnectionError('down');
      return 'up';
    });
    expect(result).to.equal('up');
    expect(calls).to.equal(3);
  });

  it('makes 3 attempts by default and rethrows the last error as the same object', async () => {
    const errors = [new Error('1'), new Error('2'), new Error('3')];
    let calls = 0;
    const error = await rejectionOf(
      new Retry().execute(() => {
        throw errors[calls++];
      }),
    );
    expect(calls).to.equal(3);
    expect(error).to.equal(errors[2]);
  });

  it('never retries with maxAttempts 1', async () => {
    const failure = new Error('once');
    const fn = sinon.spy(async () => {
      throw failure;
    });
    expect(await rejectionOf(new Retry({ maxAttempts: 1 }).execute(fn))).to.equal(failure);
    expect(fn.callCount).to.equal(1);
  });

  it('turns a synchronous throw from fn into a rejection and retries it', async () => {
    let calls = 0;
    const promise = new Retry({ maxAttempts: 2 }).execute(() => {
      calls++;
      throw new Error('sync');
    });
    expect(promise).to.be.instanceOf(Promise);
    expect(((await rejectionOf(promise)) as Error).message).to.equal('sync');
    expect(calls).to.equal(2);
  });

  it('retries non-Error throwables and rethrows them unchanged', async () => {
    for (const thrown of ['a string', undefined, null, 42]) {
      let calls = 0;
      const error = await rejectionOf(
        new Retry({ maxAttempts: 3 }).execute(() => {
          calls++;
          return Promise.reject(thrown);
        }),
      );
      expect(error, String(thrown)).to.equal(thrown);
      expect(calls, String(thrown)).to.equal(3);
    }
  });

  it('accepts a plain value or a foreign thenable from fn', async () => {
    const retry = new Retry();
    expect(await retry.execute(() => 7)).to.equal(7);
    const thenable = {
      then(resolve: (value: string) => void) {
        resolve('t');
      },
    } as PromiseLike<string>;
    expect(await retry.execute(() => thenable)).to.equal('t');
  });

  it('goes straight to the next attempt without any timer when delay is 0', async () => {
    const clock = timerlessClock();
    let calls = 0;
    await rejectionOf(
      new Retry({ maxAttempts: 4, clock }).execute(() => {
        calls++;
        throw new Error('x');
      }),
    );
    expect(calls).to.equal(4);
    expect(clock.setTimeout.callCount).to.equal(0);
  });

  describe('waits', () => {
    let clock: sinon.SinonFakeTimers;
    beforeEach(() => {
      clock = sinon.useFakeTimers();
    });
    afterEach(() => {
      clock.restore();
    });

    it('waits 500, 1000, 2000 and 4000 ms with delay 500, backoff 2 and maxDelay 10s', async () => {
      const times: number[] = [];
      const last = new Error('last');
      const retry = new Retry({ maxAttempts: 5, delay: '500ms', backoff: 2, maxDelay: '10s' });
      const outcome = settle(
        retry.execute(() => {
          times.push(clock.now);
          throw times.length === 5 ? last : new Error('again');
        }),
      );
      await clock.tickAsync(0);
      expect(times).to.deep.equal([0]);
      let expected = 1;
      for (const at of [500, 1500, 3500, 7500]) {
        await clock.tickAsync(at - 1 - clock.now);
        expect(times.length, `1 ms before ${at} ms`).to.equal(expected);
        await clock.tickAsync(1);
        expected++;
        expect(times.length, `at ${at} ms`).to.equal(expected);
        expect(times[expected - 1]).to.equal(at);
      }
      expect(times).to.deep.equal([0, 500, 1500, 3500, 7500]);
      expect(outcome.status).to.equal('rejected');
      expect(outcome.reason).to.equal(last);
      expect(clock.countTimers()).to.equal(0);
    });

    it('caps each wait at maxDelay', async () => {
      const retry = new Retry({ maxAttempts: 5, delay: '4s', backoff: 2, maxDelay: '10s' });
      expect([0, 1, 2, 3].map((n) => retry.delayFor(n))).to.deep.equal([4000, 8000, 10000, 10000]);
      const times: number[] = [];
      const outcome = settle(
        retry.execute(() => {
          times.push(clock.now);
          throw new Error('x');
        }),
      );
      await clock.tickAsync(40_000);
      expect(times).to.deep.equal([0, 4000, 12000, 22000, 32000]);
      expect(outcome.status).to.equal('rejected');
    });

    it('keeps the wait constant with the default backoff of 1', async () => {
      const retry = new Retry({ maxAttempts: 4, delay: 250 });
      const times: number[] = [];
      settle(
        retry.execute(() => {
          times.push(clock.now);
          throw new Error('x');
        }),
      );
      await clock.tickAsync(1000);
      expect(times).to.deep.equal([0, 250, 500, 750]);
    });

    it('resolves as soon as a retried attempt succeeds, leaving no timer behind', async () => {
      let calls = 0;
      const outcome = settle(
        new Retry({ delay: '1s' }).execute(() => {
          calls++;
          if (calls === 1) throw new Error('first');
          return 'second';
        }),
      );
      await clock.tickAsync(999);
      expect(outcome.status).to.equal('pending');
      await clock.tickAsync(1);
      expect(outcome).to.deep.equal({ status: 'fulfilled', value: 'second' });
      expect(clock.countTimers()).to.equal(0);
    });
  });

  describe('jitter', () => {
    it('gives w * (1 - jitter) when random() is 0 and w * (1 + jitter) when it is 1', () => {
      const low = new Retry({ delay: 1000, backoff: 2, jitter: 0.2, random: () => 0 });
      const high = new Retry({ delay: 1000, backoff: 2, jitter: 0.2, random: () => 1 });
      const mid = new Retry({ delay: 1000, backoff: 2, jitter: 0.2, random: () => 0.5 });
      expect(low.delayFor(0)).to.be.closeTo(800, 1e-9);
      expect(low.delayFor(2)).to.be.closeTo(3200, 1e-9);
      expect(high.delayFor(0)).to.be.closeTo(1200, 1e-9);
      expect(high.delayFor(2)).to.be.closeTo(4800, 1e-9);
      expect(mid.delayFor(1)).to.equal(2000);
    });

    it('applies the cap after jitter', () => {
      const high = new Retry({ delay: '10s', maxDelay: '10s', jitter: 0.5, random: () => 1 });
      const low = new Retry({ delay: '10s', maxDelay: '10s', jitter: 0.5, random: () => 0 });
      expect(high.delayFor(0)).to.equal(10_000);
      expect(low.delayFor(0)).to.equal(5000);
    });

    it('stays within ±jitter of the wait with the default Math.random', () => {
      const retry = new Retry({ delay: 1000, jitter: 0.3 });
      const waits = Array.from({ length: 200 }, () => retry.delayFor(0));
      for (const w of waits) expect(w).to.be.within(700, 1300);
      expect(new Set(waits).size).to.be.greaterThan(1);
    });

    it('draws one random number per wait and none without jitter', () => {
      const random = sinon.spy(() => 0.25);
      new Retry({ delay: 100, jitter: 0.1, random }).delayFor(0);
      expect(random.callCount).to.equal(1);
      const unused = sinon.spy(() => 0.25);
      expect(new Retry({ delay: 100, random: unused }).delayFor(3)).to.equal(100);
      expect(unused.callCount).to.equal(0);
    });

    it('keeps a wait of 0 when delay is 0, whatever the jitter', () => {
      expect(new Retry({ jitter: 1, random: () => 1, backoff: 3 }).delayFor(4)).to.equal(0);
    });

    it('never returns a negative wait, even from a random outside [0, 1)', () => {
      expect(new Retry({ delay: 100, jitter: 1, random: () => -5 }).delayFor(0)).to.equal(0);
    });
  });

  describe('delayFor', () => {
    it('never exceeds the longest timer a host supports, even for a huge backoff', () => {
      const retry = new Retry({ delay: '1d', backoff: 10, jitter: 1, random: () => 0.5 });
      expect(retry.delayFor(400)).to.equal(2_147_483_647);
      expect(new Retry({ delay: '1d', backoff: 10 }).delayFor(2000)).to.equal(2_147_483_647);
    });

    it('rejects a retry number that is not an integer >= 0', () => {
      const retry = new Retry({ delay: 100 });
      for (const bad of [-1, 0.5, NaN, Infinity]) {
        expect(() => retry.delayFor(bad), String(bad)).to.throw(RangeError, '`n` must be');
      }
      expect(() => retry.delayFor(-1)).to.throw(RangeError, 'got -1');
    });
  });

  describe('retryOn', () => {
    it('surfaces an error of an unlisted class after one attempt', async () => {
      const bug = new TypeError('bug');
      const fn = sinon.spy(async () => {
        throw bug;
      });
      const retry = new Retry({ maxAttempts: 4, retryOn: [ConnectionError] });
      expect(await rejectionOf(retry.execute(fn))).to.equal(bug);
      expect(fn.callCount).to.equal(1);
    });

    it('retries a listed class (and its subclasses) up to maxAttempts', async () => {
      const retry = new Retry({ maxAttempts: 4, retryOn: [ConnectionError] });
      const fn = sinon.spy(async () => {
        throw new ResetError('reset');
      });
      expect(await rejectionOf(retry.execute(fn))).to.be.instanceOf(ResetError);
      expect(fn.callCount).to.equal(4);
    });

    it('stops retrying as soon as an unlisted error appears', async () => {
      const retry = new Retry({ maxAttempts: 5, retryOn: [ConnectionError] });
      const bug = new RangeError('bug');
      let calls = 0;
      const error = await rejectionOf(
        retry.execute(() => {
          calls++;
          throw calls < 2 ? new ConnectionError('down') : bug;
        }),
      );
      expect(error).to.equal(bug);
      expect(calls).to.equal(2);
    });

    it('retries the errors a predicate accepts and nothing else', async () => {
      const retry = new Retry({
        maxAttempts: 3,
        retryOn: (error) => (error as { status?: number }).status === 503,
      });
      const busy = sinon.spy(() => Promise.reject({ status: 503 }));
      const missing = sinon.spy(() => Promise.reject({ status: 404 }));
      await rejectionOf(retry.execute(busy));
      await rejectionOf(retry.execute(missing));
      expect(busy.callCount).to.equal(3);
      expect(missing.callCount).to.equal(1);
    });

    it('rejects with what a retryOn predicate throws', async () => {
      const broken = new Error('predicate broke');
      const retry = new Retry({
        retryOn: () => {
          throw broken;
        },
      });
      expect(await rejectionOf(retry.execute(() => Promise.reject(new Error('x'))))).to.equal(
        broken,
      );
    });
    it('rejects with an error that a class list cannot inspect (a hostile Proxy), untried again', async () => {
      const fail = (): never => {
        throw new Error('hostile');
      };
      const hostile = new Proxy({}, { get: fail, getPrototypeOf: fail, has: fail });
      const thunk = sinon.spy(() => Promise.reject(hostile));
      const retry = new Retry({ maxAttempts: 3, retryOn: [TypeError, RangeError] });
      // Wrapped: resolving with the Proxy itself would read its `then`.
      const caught = (e: unknown) => [e];
      expect((await retry.execute(thunk).catch(caught))[0]).to.equal(hostile);
      expect(thunk.callCount).to.equal(1);
      const policy = Policy.builder('p')
        .retry({ maxAttempts: 3, retryOn: [TypeError] })
        .build();
      expect((await policy.execute(thunk).catch(caught))[0]).to.equal(hostile);
      expect(thunk.callCount).to.equal(2);
    });
  });

  describe('retryOnResult', () => {
    it('retries while it returns true and resolves with the first accepted result', async () => {
      const results = [503, 503, 200];
      let calls = 0;
      const retry = new Retry({
        maxAttempts: 5,
        retryOnResult: (status?: number) => status !== undefined && status >= 500,
      });
      expect(await retry.execute(async () => results[calls++])).to.equal(200);
      expect(calls).to.equal(3);
    });

    it('returns the last result after the last attempt', async () => {
      let calls = 0;
      const retry = new Retry({ maxAttempts: 3, retryOnResult: () => true });
      expect(await retry.execute(() => ++calls)).to.equal(3);
      expect(calls).to.equal(3);
    });

    it('does not consult it after the last attempt', async () => {
      const retryOnResult = sinon.spy(() => true);
      await new Retry({ maxAttempts: 2, retryOnResult }).execute(() => 'r');
      expect(retryOnResult.callCount).to.equal(1);
    });

    it('mixes with error retries in one attempt budget', async () => {
      const outcomes: Array<() => unknown> = [
        () => {
          throw new Error('e');
        },
        () => 'bad',
        () => 'good',
      ];
      let calls = 0;
      const retry = new Retry({ maxAttempts: 3, retryOnResult: (r) => r === 'bad' });
      expect(await retry.execute(() => outcomes[calls++]?.())).to.equal('good');
      expect(calls).to.equal(3);
    });

    it('waits before retrying a result like before retrying an error', async () => {
      const clock = sinon.useFakeTimers();
      try {
        const times: number[] = [];
        const retry = new Retry({ maxAttempts: 3, delay: 300, retryOnResult: (r) => r === 'no' });
        const outcome = settle(
          retry.execute(() => {
            times.push(clock.now);
            return 'no';
          }),
        );
        await clock.tickAsync(1000);
        expect(times).to.deep.equal([0, 300, 600]);
        expect(outcome).to.deep.equal({ status: 'fulfilled', value: 'no' });
      } finally {
        clock.restore();
      }
    });
  });

  describe('abort', () => {
    let clock: sinon.SinonFakeTimers;
    beforeEach(() => {
      clock = sinon.useFakeTimers();
    });
    afterEach(() => {
      clock.restore();
    });

    it('rejects at once with the reason of an already-aborted signal without calling fn', async () => {
      const controller = new AbortController();
      const reason = new Error('gone');
      controller.abort(reason);
      const fn = sinon.spy(() => 1);
      expect(await rejectionOf(new Retry().execute(fn, controller.signal))).to.equal(reason);
      expect(fn.callCount).to.equal(0);
    });

    it('rejects at once during a wait, makes no further attempt and leaves no timer', async () => {
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      const fn = sinon.spy(async () => {
        throw new Error('fail');
      });
      const outcome = settle(
        new Retry({ maxAttempts: 5, delay: '1s' }).execute(fn, controller.signal),
      );
      await clock.tickAsync(400);
      expect(fn.callCount).to.equal(1);
      expect(clock.countTimers()).to.equal(1);
      controller.abort(reason);
      await clock.tickAsync(0);
      expect(outcome).to.deep.equal({ status: 'rejected', reason });
      expect(clock.countTimers()).to.equal(0);
      await clock.tickAsync(10_000);
      expect(fn.callCount).to.equal(1);
    });

    it('rejects with the default AbortError when aborted without a reason', async () => {
      const controller = new AbortController();
      const outcome = settle(
        new Retry({ delay: 100 }).execute(() => Promise.reject(new Error('x')), controller.signal),
      );
      await clock.tickAsync(50);
      controller.abort();
      await clock.tickAsync(0);
      expect(outcome.status).to.equal('rejected');
      expect((outcome.reason as Error).name).to.equal('AbortError');
      expect(outcome.reason).to.equal(controller.signal.reason);
    });

    it('rejects at once when aborted during an attempt, even if fn ignores the signal', async () => {
      const controller = new AbortController();
      const reason = new Error('stop');
      let fail: (error: unknown) => void = () => {};
      const fn = sinon.spy(
        () =>
          new Promise<never>((_, reject) => {
            fail = reject;
          }),
      );
      const outcome = settle(new Retry({ maxAttempts: 3 }).execute(fn, controller.signal));
      await clock.tickAsync(0);
      controller.abort(reason);
      await clock.tickAsync(0);
      expect(outcome).to.deep.equal({ status: 'rejected', reason });
      fail(new Error('late failure'));
      await clock.tickAsync(1000);
      expect(fn.callCount).to.equal(1);
    });

    it('never retries an attempt that failed because the caller aborted', async () => {
      const controller = new AbortController();
      const reason = new Error('stop');
      const fn = sinon.spy(
        (signal: AbortSignal) =>
          new Promise<never>((_, reject) => {
            signal.addEventListener('abort', () => reject(new Error('aborted inside fn')));
          }),
      );
      const outcome = settle(new Retry({ maxAttempts: 3 }).execute(fn, controller.signal));
      controller.abort(reason);
      await clock.tickAsync(100);
      expect(outcome).to.deep.equal({ status: 'rejected', reason });
      expect(fn.callCount).to.equal(1);
    });

    it('leaves nothing behind when the signal aborts after the call settled', async () => {
      const controller = new AbortController();
      expect(await new Retry({ delay: 100 }).execute(() => 'done', controller.signal)).to.equal(
        'done',
      );
      controller.abort(new Error('later'));
      await clock.tickAsync(1000);
      expect(clock.countTimers()).to.equal(0);
    });
  });

  describe('run', () => {
    it('does not read source.signal when the first attempt succeeds', async () => {
      const source = {
        get signal(): AbortSignal {
          throw new Error('signal read on the happy path');
        },
      };
      const retry = new Retry({ maxAttempts: 3, retryOnResult: () => false });
      expect(await retry.runAttempts(async () => 'fast', source)).to.equal('fast');
    });

    it('reads source.signal after a failure and stops when it is aborted', async () => {
      const controller = new AbortController();
      const reason = new Error('outer timeout');
      const read = sinon.spy(() => controller.signal);
      const source = {
        get signal(): AbortSignal {
          return read();
        },
      };
      let calls = 0;
      const error = await rejectionOf(
        new Retry({ maxAttempts: 3 }).runAttempts(async () => {
          calls++;
          controller.abort(reason);
          throw new Error('attempt failed');
        }, source),
      );
      expect(error).to.equal(reason);
      expect(calls).to.equal(1);
      expect(read.callCount).to.be.greaterThan(0);
    });

    it('rejects with the abort reason when aborted, even for an error retryOn does not match', async () => {
      const controller = new AbortController();
      const reason = new Error('outer timeout');
      const retry = new Retry({ maxAttempts: 3, retryOn: [ConnectionError] });
      const error = await rejectionOf(
        retry.runAttempts(async () => {
          controller.abort(reason);
          throw new TypeError('not retryable');
        }, controller),
      );
      expect(error).to.equal(reason);
    });

    it('rejects with the abort reason when a later attempt fails after an abort', async () => {
      const controller = new AbortController();
      const reason = new Error('outer timeout');
      const error = await rejectionOf(
        new Retry({ maxAttempts: 2 }).runAttempts(async (n) => {
          if (n === 2) controller.abort(reason);
          throw new ConnectionError(`attempt ${n}`);
        }, controller),
      );
      expect(error).to.equal(reason);
    });

    it('does not retry a rejected result once the signal is aborted', async () => {
      const controller = new AbortController();
      const reason = new Error('outer timeout');
      const onRetry = sinon.spy();
      let calls = 0;
      const error = await rejectionOf(
        new Retry({ maxAttempts: 3, retryOnResult: () => true }).runAttempts(
          async () => {
            calls++;
            controller.abort(reason);
            return 'retry me';
          },
          controller,
          onRetry,
        ),
      );
      expect(error).to.equal(reason);
      expect(calls).to.equal(1);
      expect(onRetry.callCount).to.equal(0);
    });

    it('calls attempt with 1-based numbers and turns its synchronous throw into a rejection', async () => {
      const numbers: number[] = [];
      const error = await rejectionOf(
        new Retry({ maxAttempts: 3 }).runAttempts((n) => {
          numbers.push(n);
          throw new Error(`sync ${n}`);
        }, undefined),
      );
      expect(numbers).to.deep.equal([1, 2, 3]);
      expect((error as Error).message).to.equal('sync 3');
    });

    it('reports each retry with the failed attempt, the wait and the error only', async () => {
      const infos: RetryInfo[] = [];
      const errors = [new Error('a'), new Error('b'), new Error('c')];
      const retry = new Retry({ maxAttempts: 3, delay: 10, backoff: 3, clock: instantClock() });
      await rejectionOf(
        retry.runAttempts(
          (n) => Promise.reject(errors[n - 1]),
          undefined,
          (info) => infos.push(info),
        ),
      );
      expect(infos).to.deep.equal([
        { attempt: 1, delayMs: 10, error: errors[0] },
        { attempt: 2, delayMs: 30, error: errors[1] },
      ]);
      for (const info of infos) expect(info).not.to.have.property('result');
    });

    it('reports a result retry with the result only, even an undefined error is kept apart', async () => {
      const infos: RetryInfo[] = [];
      const retry = new Retry({ maxAttempts: 3, retryOnResult: (r) => r !== 'ok' });
      const outcomes = [() => Promise.reject(undefined), () => Promise.resolve('meh')];
      const result = await retry.runAttempts(
        (n) => outcomes[n - 1]?.() ?? Promise.resolve('ok'),
        undefined,
        (info) => infos.push(info),
      );
      expect(result).to.equal('ok');
      expect(infos).to.have.length(2);
      expect(infos[0]).to.have.property('error', undefined);
      expect(infos[0]).not.to.have.property('result');
      expect(infos[1]).to.deep.equal({ attempt: 2, delayMs: 0, result: 'meh' });
      expect(infos[1]).not.to.have.property('error');
    });

    it('reports the retry when its wait begins', async () => {
      const clock = sinon.useFakeTimers();
      try {
        const at: number[] = [];
        const outcome = settle(
          new Retry({ maxAttempts: 2, delay: 500 }).runAttempts(
            (n) => (n === 1 ? Promise.reject(new Error('x')) : Promise.resolve('y')),
            undefined,
            () => at.push(clock.now),
          ),
        );
        await clock.tickAsync(0);
        expect(at).to.deep.equal([0]);
        expect(outcome.status).to.equal('pending');
        await clock.tickAsync(500);
        expect(outcome).to.deep.equal({ status: 'fulfilled', value: 'y' });
      } finally {
        clock.restore();
      }
    });

    it('ignores an onRetry listener that throws', async () => {
      let calls = 0;
      const result = await new Retry({ maxAttempts: 3 }).runAttempts(
        async () => {
          if (++calls < 3) throw new Error('x');
          return 'fine';
        },
        undefined,
        () => {
          throw new Error('listener broke');
        },
      );
      expect(result).to.equal('fine');
      expect(calls).to.equal(3);
    });

    it('ignores an onRetry listener whose promise rejects, leaving no unhandled rejection', async () => {
      const saved = process.listeners('unhandledRejection');
      process.removeAllListeners('unhandledRejection');
      const unhandled: unknown[] = [];
      const record = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', record);
      try {
        let calls = 0;
        const listeners = [
          () => Promise.reject(new Error('listener rejected')),
          () => ({
            get then(): never {
              throw new Error('hostile thenable');
            },
          }),
        ];
        for (const onRetry of listeners) {
          calls = 0;
          const result = await new Retry({ maxAttempts: 3 }).runAttempts(
            async () => {
              if (++calls < 3) throw new Error('x');
              return 'fine';
            },
            undefined,
            onRetry as never,
          );
          expect(result).to.equal('fine');
          expect(calls).to.equal(3);
        }
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setImmediate(r));
      } finally {
        process.removeListener('unhandledRejection', record);
        for (const listener of saved) process.on('unhandledRejection', listener);
      }
      expect(unhandled).to.deep.equal([]);
    });
  });
});

// Fires every timer on the next microtask, so specs about payloads need no time control.
function instantClock(): Clock {
  return {
    now: () => 0,
    setTimeout: (fn) => queueMicrotask(fn),
    clearTimeout: () => {},
  };
}

describe('the Retry kind’s description', () => {
  it('summarises the settings in one line', () => {
    expect(RETRY.describe(new Retry())).to.equal('up to 3 attempts, no delay, on all errors');
    expect(
      RETRY.describe(
        new Retry({
          maxAttempts: 5,
          delay: '500ms',
          backoff: 2,
          maxDelay: '10s',
          jitter: 0.2,
          retryOn: [ConnectionError],
          retryOnResult: () => false,
        }),
      ),
    ).to.equal(
      'up to 5 attempts, delay 500 ms, backoff x2, max delay 10000 ms, jitter 0.2, on matching errors and matching results',
    );
    expect(RETRY.describe(new Retry({ maxAttempts: 1 }))).to.equal(
      'up to 1 attempt, no delay, on all errors',
    );
  });
});

describe('Retry validation', () => {
  it('applies the documented defaults', () => {
    const retry = new Retry();
    expect(retry.maxAttempts).to.equal(3);
    expect(retry.delay).to.equal(0);
    expect(retry.backoff).to.equal(1);
    expect(retry.maxDelay).to.equal(undefined);
    expect(retry.jitter).to.equal(0);
    expect(new Retry({}).maxAttempts).to.equal(3);
  });

  it('reads durations as milliseconds or strings with units', () => {
    const retry = new Retry({ delay: '1.5s', maxDelay: '1m30s' });
    expect(retry.delay).to.equal(1500);
    expect(retry.maxDelay).to.equal(90_000);
    expect(new Retry({ delay: 200 }).delay).to.equal(200);
  });

  it('accepts the boundary values of every range', () => {
    expect(
      () => new Retry({ maxAttempts: 1, backoff: 1, jitter: 0, delay: 0, maxDelay: 0 }),
    ).not.to.throw();
    expect(new Retry({ jitter: 1 }).jitter).to.equal(1);
    expect(new Retry({ maxAttempts: 1 }).maxAttempts).to.equal(1);
  });

  it('rejects a maxAttempts that is not an integer >= 1', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity]) {
      expect(() => new Retry({ maxAttempts: bad }), String(bad)).to.throw(
        RangeError,
        `\`maxAttempts\` must be an integer >= 1, got ${String(bad)}`,
      );
    }
    expect(() => new Retry({ maxAttempts: '3' as never })).to.throw(
      TypeError,
      '`maxAttempts` must be an integer >= 1, got "3"',
    );
  });

  for (const option of ['delay', 'maxDelay'] as const) {
    it(`rejects a ${option} that is not a finite duration`, () => {
      expect(() => new Retry({ [option]: -1 })).to.throw(RangeError, `\`${option}\``);
      expect(() => new Retry({ [option]: -1 })).to.throw(RangeError, 'got -1');
      expect(() => new Retry({ [option]: NaN })).to.throw(RangeError, 'NaN');
      expect(() => new Retry({ [option]: Infinity })).to.throw(RangeError, 'Infinity');
      expect(() => new Retry({ [option]: '5 sec' })).to.throw(TypeError, 'got "5 sec"');
      expect(() => new Retry({ [option]: '5' })).to.throw(TypeError, `\`${option}\``);
      expect(() => new Retry({ [option]: null as never })).to.throw(TypeError, 'got null');
    });
  }

  it('rejects a backoff below 1 or not finite', () => {
    expect(() => new Retry({ backoff: 0.5 })).to.throw(
      RangeError,
      '`backoff` must be a number >= 1, got 0.5',
    );
    expect(() => new Retry({ backoff: 0 })).to.throw(RangeError, 'got 0');
    expect(() => new Retry({ backoff: NaN })).to.throw(RangeError, 'got NaN');
    expect(() => new Retry({ backoff: Infinity })).to.throw(RangeError, 'got Infinity');
    expect(() => new Retry({ backoff: '2' as never })).to.throw(TypeError, '`backoff`');
  });

  it('rejects a jitter outside [0, 1]', () => {
    expect(() => new Retry({ jitter: 1.5 })).to.throw(
      RangeError,
      '`jitter` must be a number in [0, 1], got 1.5',
    );
    expect(() => new Retry({ jitter: -0.1 })).to.throw(RangeError, 'got -0.1');
    expect(() => new Retry({ jitter: NaN })).to.throw(RangeError, 'got NaN');
    expect(() => new Retry({ jitter: Infinity })).to.throw(RangeError, 'got Infinity');
  });

  it("names all three kinds of jitter when refusing a value that is not a number (`true`, as p-retry's `randomize`)", () => {
    for (const [jitter, shown] of [
      [true, 'true'],
      [null, 'null'],
      ['0.2', '"0.2"'],
      [{ type: 'full' }, 'an object'],
    ] as const) {
      expect(() => new Retry({ jitter: jitter as never })).to.throw(
        TypeError,
        `\`jitter\` must be a number in [0, 1], 'full' or 'decorrelated', got ${shown}`,
      );
    }
  });

  it('rejects a retryOn that is neither an array of classes nor a predicate', () => {
    expect(() => new Retry({ retryOn: 'TypeError' as never })).to.throw(
      TypeError,
      '`retryOn` must be an array of error classes or a predicate, got "TypeError"',
    );
    expect(() => new Retry({ retryOn: [TypeError, 'x'] as never })).to.throw(
      TypeError,
      'at index 1',
    );
    expect(() => new Retry({ retryOn: {} as never })).to.throw(TypeError, 'got an object');
  });

  it('rejects a retryOnResult, random or clock of the wrong type', () => {
    expect(() => new Retry({ retryOnResult: true as never })).to.throw(
      TypeError,
      '`retryOnResult` must be a function, got true',
    );
    expect(() => new Retry({ random: 0.5 as never })).to.throw(
      TypeError,
      '`random` must be a function, got 0.5',
    );
    expect(() => new Retry({ clock: {} as never })).to.throw(TypeError, '`clock` must be a Clock');
  });

  it('rejects an unknown option, suggesting the nearest one', () => {
    // @ts-expect-error maxAttempt is not an option
    expect(() => new Retry({ maxAttempt: 3 })).to.throw(
      TypeError,
      'Retry: unknown option `maxAttempt` (did you mean `maxAttempts`?)',
    );
    // @ts-expect-error `exceptions` is the PyFly resilience guide's name, not an option here
    expect(() => new Retry({ exceptions: [] })).to.throw(TypeError, 'unknown option `exceptions`');
  });

  it('rejects options that are not an object', () => {
    expect(() => new Retry(null as never)).to.throw(TypeError, 'got null');
    expect(() => new Retry(3 as never)).to.throw(TypeError, 'got 3');
    expect(() => new Retry([] as never)).to.throw(TypeError, 'got an array');
  });
});
