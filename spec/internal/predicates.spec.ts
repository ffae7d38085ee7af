// A predicate's answer is read as a boolean: an async one (as p-retry's `shouldRetry` may be)
// answered a promise, always true, so `retryOn: async (e) => e.status >= 500` retried a 404.
import { expect } from 'chai';
import { isOptionTypeError } from '../../src/optionErrors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Fallback } from '../../src/strategies/fallback/Fallback.js';
import { Hedge } from '../../src/strategies/hedge/Hedge.js';
import { Chaos } from '../../src/strategies/chaos/Chaos.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { rejectionOf, thrownBy } from '../support/promises.js';

const notFound = (): Error => Object.assign(new Error('404'), { status: 404 });

describe('predicate options answer synchronously', () => {
  const makers: Array<[string, (predicate: unknown) => unknown]> = [
    ['retryOn', (p) => new Retry({ retryOn: p as never })],
    ['retryOnResult', (p) => new Retry({ retryOnResult: p as never })],
    ['recordOn', (p) => new CircuitBreaker({ recordOn: p as never })],
    ['recordOnResult', (p) => new CircuitBreaker({ recordOnResult: p as never })],
    ['on', (p) => new Fallback({ value: 1, on: p as never })],
    ['onResult', (p) => new Fallback({ value: 1, onResult: p as never })],
    ['on', (p) => new Hedge({ on: p as never })],
    ['retryOn', (p) => Policy.builder().retry({ retryOn: p as never })],
  ];

  it('an async function is refused at construction with an option error naming the option', () => {
    const asyncFn = async (): Promise<boolean> => false;
    async function* asyncGenerator(): AsyncGenerator<boolean> {
      yield false;
    }
    for (const [option, make] of makers) {
      for (const predicate of [asyncFn, asyncGenerator]) {
        const error = thrownBy(() => make(predicate));
        expect(isOptionTypeError(error), option).to.equal(true);
        expect(error)
          .to.be.instanceOf(TypeError)
          .and.include({
            option,
            received: predicate,
            message: `\`${option}\` must return a boolean synchronously; an async function returns a promise`,
          });
      }
    }
    // A plain function, a method and a bound function are accepted.
    for (const [, make] of makers) {
      expect(() => make(() => true)).not.to.throw();
      expect(() =>
        make(
          function named() {
            return true;
          }.bind(null),
        ),
      ).not.to.throw();
    }
  });

  it('a promise answered at call time rejects the call with an option error naming the option', async () => {
    const isRetryable = (e: unknown): Promise<boolean> =>
      Promise.resolve((e as { status: number }).status >= 500);
    let attempts = 0;
    const retried = new Retry({ maxAttempts: 3, delay: 0, retryOn: isRetryable as never });
    const error = await rejectionOf(
      retried.execute(() => {
        attempts++;
        throw notFound();
      }),
    );
    expect(attempts).to.equal(1);
    expect(isOptionTypeError(error)).to.equal(true);
    expect(error).to.include({
      option: 'retryOn',
      message: '`retryOn` must return a boolean synchronously, got a promise',
    });
    expect((error as { received: unknown }).received).to.be.instanceOf(Promise);

    const byResult = new Retry({
      maxAttempts: 3,
      delay: 0,
      retryOnResult: (() => Promise.resolve(false)) as never,
    });
    expect(await rejectionOf(byResult.execute(() => 'x'))).to.include({ option: 'retryOnResult' });

    const fallback = new Fallback({ value: 'fb', on: isRetryable as never });
    expect(await rejectionOf(fallback.execute(() => Promise.reject(notFound())))).to.include({
      option: 'on',
    });
    const onResult = new Fallback({
      value: 'fb',
      onResult: (() => Promise.resolve(true)) as never,
    });
    expect(await rejectionOf(onResult.execute(() => 'x'))).to.include({ option: 'onResult' });

    const breaker = new CircuitBreaker({ recordOnResult: (() => Promise.resolve(false)) as never });
    expect(await rejectionOf(breaker.execute(() => 'x'))).to.include({ option: 'recordOnResult' });

    // A thenable that is not a Promise is one too. In a policy, a fallback's `on` that answers
    // a promise (which rejects: that rejection is handled) fails the call with the TypeError
    // naming it, in place of the one from `retryOn` inside.
    const policy = Policy.builder()
      .fallback({
        value: 'fb',
        on: (() => Promise.reject(new Error('flag service down'))) as never,
      })
      .retry({ maxAttempts: 2, delay: 0, retryOn: (() => ({ then() {} })) as never })
      .build();
    const thenable = await rejectionOf(policy.execute(() => Promise.reject(notFound())));
    expect(thenable).to.include({ option: 'on' });
    const inner = Policy.builder()
      .retry({ maxAttempts: 2, delay: 0, retryOn: (() => ({ then() {} })) as never })
      .build();
    expect(await rejectionOf(inner.execute(() => Promise.reject(notFound())))).to.include({
      option: 'retryOn',
    });
    await new Promise((resolve) => setImmediate(resolve));
  });

  it("an error filter's promise answer fails the call with the error it was judging as the option error's cause", async () => {
    const judged = notFound();
    const answersAPromise = ((): Promise<boolean> => Promise.resolve(true)) as never;
    const fails = (): Promise<never> => Promise.reject(judged);
    const refusals = [
      await rejectionOf(new Retry({ retryOn: answersAPromise }).execute(fails)),
      await rejectionOf(new CircuitBreaker({ recordOn: answersAPromise }).execute(fails)),
      await rejectionOf(new Fallback({ value: 1, on: answersAPromise }).execute(fails)),
      await rejectionOf(
        Policy.builder().retry({ retryOn: answersAPromise }).build().execute(fails),
      ),
      await rejectionOf(
        Policy.builder().fallback({ value: 1, on: answersAPromise }).build().execute(fails),
      ),
    ];
    for (const error of refusals) {
      expect(isOptionTypeError(error), String(error)).to.equal(true);
      expect((error as Error).cause).to.equal(judged);
    }
    // A result predicate judged a value, no failure: its error has no cause.
    const byResult = await rejectionOf(
      new Retry({ retryOnResult: answersAPromise }).execute(() => 'x'),
    );
    expect(isOptionTypeError(byResult)).to.equal(true);
    expect(byResult).not.to.have.property('cause');
  });

  it('a synchronous answer keeps working, truthy or falsy', async () => {
    let attempts = 0;
    const retry = new Retry({
      maxAttempts: 3,
      delay: 0,
      retryOn: (e) => (e as { status: number }).status >= 500,
    });
    await rejectionOf(
      retry.execute(() => {
        attempts++;
        throw notFound();
      }),
    );
    expect(attempts).to.equal(1);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recordOn: () => false });
    await rejectionOf(breaker.execute(() => Promise.reject(notFound())));
    expect(breaker.state).to.equal('closed');
  });
});

describe('functions whose answer is used at once refuse async functions', () => {
  const asyncFn = async (): Promise<string> => 'a';
  const cases: Array<[string, string, () => unknown]> = [
    ['enabled', 'a boolean', () => new Chaos({ fault: { rate: 1 }, enabled: asyncFn as never })],
    ['key', 'a string', () => Policy.builder().circuitBreaker({ key: asyncFn as never })],
    ['delay', 'a duration', () => new Retry({ delay: asyncFn as never })],
  ];

  it('refuses each at construction, naming the option and what it must return', () => {
    for (const [option, returns, make] of cases) {
      const error = thrownBy(make);
      expect(isOptionTypeError(error), option).to.equal(true);
      expect(error).to.include({
        option,
        received: asyncFn,
        message: `\`${option}\` must return ${returns} synchronously; an async function returns a promise`,
      });
    }
  });

  it('names a promise a function answered as a promise', async () => {
    const retry = new Retry({ maxAttempts: 2, delay: () => Promise.resolve(10) as never });
    const error = await rejectionOf(
      retry.execute(() => {
        throw new Error('boom');
      }),
    );
    expect((error as Error).message).to.equal(
      '`delay` must return a duration synchronously, got a promise',
    );
  });
});
