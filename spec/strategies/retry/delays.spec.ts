// Waits that listen to the outcome: retryAfterMs (bulwark's own errors, any object), a delay
// function, backoff types, the `retryable: false` mark, and how bad options are refused.
import { expect } from 'chai';
import { CircuitOpenError, RateLimitExceededError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { Retry, type RetryInfo } from '../../../src/strategies/retry/Retry.js';
import { ManualClock } from '../../support/clock.js';
import { settle } from '../../support/promises.js';

// Runs a retry whose attempts fail (or resolve) with `outcomes` in turn, the last one repeating;
// returns the waits it announced and the call's settlement.
async function run(options: Record<string, unknown>, outcomes: Array<() => unknown>) {
  const clock = new ManualClock();
  const retry = new Retry({ maxAttempts: outcomes.length, ...options, clock });
  const infos: RetryInfo[] = [];
  const attempts: number[] = [];
  const result = settle(
    retry.runAttempts(
      async (n) => {
        attempts.push(clock.now());
        return (outcomes[Math.min(n, outcomes.length) - 1] as () => unknown)();
      },
      undefined,
      (info) => infos.push(info),
    ),
  );
  await clock.advance(1e9);
  return { infos, waits: infos.map((i) => i.delayMs), attempts, result, clock };
}

const failWith = (error: unknown) => () => {
  throw error;
};

describe('Retry delays from the outcome', () => {
  it("waits a RateLimitExceededError's and a CircuitOpenError's retryAfterMs when longer than its own", async () => {
    const { waits, attempts, result } = await run({ delay: 100 }, [
      failWith(new RateLimitExceededError(750)),
      failWith(new CircuitOpenError('open', 30)),
      () => 'ok',
    ]);
    expect(waits).to.deep.equal([750, 100]);
    expect(attempts).to.deep.equal([0, 750, 850]);
    expect(result).to.deep.include({ status: 'fulfilled', value: 'ok' });
  });

  it('caps retryAfterMs at maxRetryAfter, which defaults to maxDelay, and ignores Infinity', async () => {
    const isolated = new CircuitOpenError('isolated', Infinity);
    expect(
      (
        await run({ delay: 10, maxRetryAfter: 500 }, [
          failWith(new RateLimitExceededError(9e6)),
          () => 1,
        ])
      ).waits,
    ).to.deep.equal([500]);
    expect(
      (
        await run({ delay: 10, maxDelay: 200 }, [
          failWith(new RateLimitExceededError(9e6)),
          () => 1,
        ])
      ).waits,
    ).to.deep.equal([200]);
    expect((await run({ delay: 10 }, [failWith(isolated), () => 1])).waits).to.deep.equal([10]);
  });

  it('reads retryAfterMs duck-typed from any object, a result too, and ignores getters that throw', async () => {
    const hostile = new Proxy(new Error('proxy'), {
      get() {
        throw new Error('trap');
      },
    });
    const getter = Object.defineProperty(new Error('getter'), 'retryAfterMs', {
      get() {
        throw new Error('boom');
      },
    });
    const { waits, result } = await run(
      { delay: 5, retryOnResult: (r: { busy?: boolean }) => r.busy === true },
      [
        failWith({ retryAfterMs: 40 }),
        failWith(hostile),
        failWith(getter),
        () => ({ busy: true, retryAfterMs: 60 }),
        () => ({ busy: false }),
      ],
    );
    expect(waits).to.deep.equal([40, 5, 5, 60]);
    expect(result).to.deep.include({ status: 'fulfilled' });
  });

  it('takes the wait from a delay function of { attempt, error, result }, capped by maxDelay', async () => {
    const seen: unknown[] = [];
    const boom = new Error('boom');
    const { waits, result } = await run(
      {
        delay: ({
          attempt,
          error,
          result,
        }: {
          attempt: number;
          error: unknown;
          result: unknown;
        }) => {
          seen.push({ attempt, error, result });
          return attempt === 1 ? '2s' : 50_000;
        },
        maxDelay: 10_000,
        retryOnResult: (r: string) => r === 'again',
      },
      [failWith(boom), () => 'again', () => 'done'],
    );
    expect(seen).to.deep.equal([
      { attempt: 1, error: boom, result: undefined },
      { attempt: 2, error: undefined, result: 'again' },
    ]);
    expect(waits).to.deep.equal([2000, 10_000]);
    expect(result).to.deep.include({ status: 'fulfilled', value: 'done' });
  });

  it('rejects with what a delay function throws, and with a RangeError naming delay for a bad value', async () => {
    const thrown = new Error('delay failed');
    const a = await run(
      {
        delay: () => {
          throw thrown;
        },
      },
      [failWith(new Error('x')), () => 1],
    );
    expect(a.result).to.deep.include({ status: 'rejected', reason: thrown });
    expect(a.attempts).to.have.length(1);
    const b = await run({ delay: () => -5 }, [failWith(new Error('x')), () => 1]);
    expect(b.result.status).to.equal('rejected');
    expect((b.result as { reason: Error }).reason).to.be.instanceOf(RangeError);
    expect((b.result as { reason: Error }).reason.message).to.match(/`delay`.*-5/);
    const c = await run({ delay: () => 'soon' }, [failWith(new Error('x')), () => 1]);
    expect((c.result as { reason: Error }).reason).to.be.instanceOf(TypeError);
  });

  it('grows waits by backoffType: constant and linear', async () => {
    const down = failWith(new Error('down'));
    expect(
      (await run({ delay: 100, backoffType: 'constant' }, [down, down, down, down])).waits,
    ).to.deep.equal([100, 100, 100]);
    expect(
      (await run({ delay: 100, backoffType: 'linear' }, [down, down, down, down])).waits,
    ).to.deep.equal([100, 200, 300]);
    expect((await run({ delay: 100, backoff: 3 }, [down, down, down, down])).waits).to.deep.equal([
      100, 300, 900,
    ]);
    expect(new Retry({ delay: 100, backoffType: 'linear' }).delayFor(4)).to.equal(500);
  });

  it('draws a full-jitter wait uniformly in [0, wait)', async () => {
    const down = failWith(new Error('down'));
    const { waits } = await run({ delay: 1000, jitter: 'full', random: () => 0.25 }, [down, down]);
    expect(waits).to.deep.equal([250]);
  });

  it('draws decorrelated waits from one state per execution, Polly v2', async () => {
    const down = failWith(new Error('down'));
    const f = (t: number) => 2 ** t * Math.tanh(Math.sqrt(4 * t));
    const { waits } = await run({ delay: 1400, jitter: 'decorrelated', random: () => 0.5 }, [
      down,
      down,
      down,
    ]);
    expect(waits[0]).to.be.closeTo(1000 * f(0.5), 1e-6);
    expect(waits[1]).to.be.closeTo(1000 * (f(1.5) - f(0.5)), 1e-6);
  });

  it('never retries an error whose own retryable is false, without asking retryOn', async () => {
    let asked = 0;
    const unsendable = Object.assign(new Error('POST 503'), { retryable: false });
    const { attempts, result } = await run({ retryOn: () => (asked++, true) }, [
      failWith(unsendable),
      () => 'never',
    ]);
    expect(attempts).to.have.length(1);
    expect(asked).to.equal(0);
    expect(result).to.deep.include({ status: 'rejected', reason: unsendable });
  });

  it('still retries retryable: true, an inherited or getter retryable, and runs no getter', async () => {
    let ran = 0;
    const viaGetter = Object.defineProperty(new Error('g'), 'retryable', {
      get: () => (ran++, false),
    });
    const inherited = Object.create(Object.assign(new Error('p'), { retryable: false })) as Error;
    for (const error of [
      Object.assign(new Error('t'), { retryable: true }),
      viaGetter,
      inherited,
    ]) {
      const { attempts } = await run({}, [failWith(error), () => 'ok']);
      expect(attempts, String(error)).to.have.length(2);
    }
    expect(ran).to.equal(0);
  });

  it('describes and refuses options, naming the option and value', () => {
    expect(() => new Retry({ backoffType: 'quadratic' as never })).to.throw(
      TypeError,
      /`backoffType`.*'exponential', 'constant', 'linear'.*"quadratic"/,
    );
    expect(() => new Retry({ jitter: 'half' as never })).to.throw(
      TypeError,
      /`jitter`.*'full' or 'decorrelated'.*"half"/,
    );
    expect(() => new Retry({ jitter: 1.5 })).to.throw(RangeError, /`jitter`/);
    expect(() => new Retry({ backoffType: 'linear', backoff: 2 })).to.throw(
      TypeError,
      /`backoff`.*'linear'/,
    );
    expect(() => new Retry({ delay: () => 1, backoff: 2 })).to.throw(
      TypeError,
      /`backoff`.*delay function/,
    );
    expect(() => new Retry({ delay: () => 1, jitter: 0.5 })).to.throw(
      TypeError,
      /`jitter`.*delay function/,
    );
    expect(() => new Retry({ jitter: 'decorrelated', backoffType: 'linear' })).to.throw(
      TypeError,
      /`backoffType`/,
    );
    expect(() => new Retry({ maxRetryAfter: -1 })).to.throw(RangeError, /`maxRetryAfter`/);
    expect(new Retry({ maxDelay: 300 }).maxRetryAfter).to.equal(300);
    expect(new Retry({ jitter: 'full' }).jitter).to.equal('full');
    const policy = Policy.builder()
      .retry({ delay: 100, backoffType: 'linear', jitter: 'full', maxRetryAfter: '1m' })
      .build();
    expect(policy.describe()).to.match(/linear/);
  });

  it('accepts `backoff: 1`, which changes no wait, wherever another `backoff` is refused', async () => {
    for (const [options, waits] of [
      [{ delay: 100, backoffType: 'linear' }, [100, 200, 300]],
      [{ delay: 100, backoffType: 'constant' }, [100, 100, 100]],
      [{ delay: () => 70 }, [70, 70, 70]],
    ] as const) {
      const given = await run({ ...options, backoff: 1 }, Array(4).fill(failWith(new Error('x'))));
      expect(given.waits, JSON.stringify(options)).to.deep.equal(waits);
    }
    const random = () => 0.5;
    const decorrelated = (backoff?: number) =>
      run({ delay: 100, jitter: 'decorrelated', backoff, random }, Array(4).fill(failWith(0)));
    expect((await decorrelated(1)).waits).to.deep.equal((await decorrelated()).waits);
    // Any other value stays refused, saying which value is accepted.
    expect(() => new Retry({ backoffType: 'constant', backoff: 1.5 })).to.throw(
      TypeError,
      "`backoff` must be unset with backoffType 'constant' (or 1), got 1.5",
    );
  });
});
