import { expect } from 'chai';
import sinon from 'sinon';
import { RejectedResultError } from '../../../src/errors.js';
import { Fallback } from '../../../src/strategies/fallback/Fallback.js';
import { deferred, flush, rejectionOf } from '../../support/promises.js';

class ConnectionError extends Error {}
class ResetError extends ConnectionError {}

describe('Fallback', () => {
  it('resolves with the result of fn when it succeeds, without recovering', async () => {
    const method = sinon.spy(() => 'fallback');
    expect(await new Fallback({ method }).execute(async () => 'live')).to.equal('live');
    expect(method.callCount).to.equal(0);
  });

  it('passes fn a signal that never aborts when the caller gave none', async () => {
    let received: AbortSignal | undefined;
    await new Fallback({ value: 0 }).execute((signal) => {
      received = signal;
      return 1;
    });
    expect(received).to.be.instanceOf(AbortSignal);
    expect(received?.aborted).to.equal(false);
  });

  it('passes fn the caller signal when one is given', async () => {
    const controller = new AbortController();
    let received: AbortSignal | undefined;
    await new Fallback({ value: 0 }).execute((signal) => {
      received = signal;
    }, controller.signal);
    expect(received).to.equal(controller.signal);
  });

  it('resolves with the value (the same object) when fn rejects', async () => {
    const degraded = { status: 'degraded' };
    const fallback = new Fallback({ value: degraded });
    expect(await fallback.execute(() => Promise.reject(new Error('down')))).to.equal(degraded);
  });

  it('resolves with undefined for { value: undefined }', async () => {
    const fallback = new Fallback({ value: undefined });
    const result = await fallback.execute<string>(() => Promise.reject(new Error('down')));
    expect(result).to.equal(undefined);
  });

  it('recovers from a synchronous throw in fn and always returns a promise', async () => {
    const promise = new Fallback({ value: 'safe' }).execute(() => {
      throw new Error('sync');
    });
    expect(promise).to.be.instanceOf(Promise);
    expect(await promise).to.equal('safe');
  });

  it('calls a sync method with the error alone', async () => {
    const failure = new Error('down');
    const method = sinon.spy((error: unknown) => `recovered from ${(error as Error).message}`);
    const fallback = new Fallback({ method });
    expect(await fallback.execute(() => Promise.reject(failure))).to.equal('recovered from down');
    expect(method.callCount).to.equal(1);
    expect(method.firstCall.args).to.deep.equal([failure]);
    expect(method.firstCall.args[0]).to.equal(failure);
  });

  it('awaits an async method', async () => {
    const fallback = new Fallback({
      method: async () => {
        await Promise.resolve();
        return 42;
      },
    });
    expect(await fallback.execute(() => Promise.reject(new Error('x')))).to.equal(42);
  });

  it('rejects with what the method throws or rejects with', async () => {
    const thrown = new Error('method threw');
    const rejected = new Error('method rejected');
    const throwing = new Fallback({
      method: (): number => {
        throw thrown;
      },
    });
    const rejecting = new Fallback({ method: () => Promise.reject<number>(rejected) });
    expect(await rejectionOf(throwing.execute(() => Promise.reject(new Error('x'))))).to.equal(
      thrown,
    );
    expect(await rejectionOf(rejecting.execute(() => Promise.reject(new Error('x'))))).to.equal(
      rejected,
    );
  });

  it('recovers from non-Error throwables by default', async () => {
    const method = sinon.spy((_error: unknown) => 'ok');
    const fallback = new Fallback({ method });
    for (const thrown of ['a string', undefined, null]) {
      expect(await fallback.execute(() => Promise.reject(thrown))).to.equal('ok');
    }
    expect(method.args.map((args) => args[0])).to.deep.equal(['a string', undefined, null]);
  });

  describe('on', () => {
    it('recovers from listed classes and their subclasses only', async () => {
      const fallback = new Fallback({ value: 'cached', on: [ConnectionError] });
      expect(await fallback.execute(() => Promise.reject(new ConnectionError('x')))).to.equal(
        'cached',
      );
      expect(await fallback.execute(() => Promise.reject(new ResetError('x')))).to.equal('cached');
      const bug = new TypeError('bug');
      expect(await rejectionOf(fallback.execute(() => Promise.reject(bug)))).to.equal(bug);
    });

    it('recovers from the errors a predicate accepts and passes the others unchanged', async () => {
      const fallback = new Fallback({
        value: 0,
        on: (error) => (error as { status?: number }).status === 503,
      });
      expect(await fallback.execute(() => Promise.reject({ status: 503 }))).to.equal(0);
      const notFound = { status: 404 };
      expect(await rejectionOf(fallback.execute(() => Promise.reject(notFound)))).to.equal(
        notFound,
      );
    });

    it('never calls the method for an error it does not handle', async () => {
      const method = sinon.spy(() => 'x');
      const fallback = new Fallback({ method, on: [ConnectionError] });
      await rejectionOf(fallback.execute(() => Promise.reject(new Error('other'))));
      expect(method.callCount).to.equal(0);
    });
  });

  describe('onResult', () => {
    it('replaces a result it rejects with the value and keeps the others', async () => {
      const fallback = new Fallback({ value: 'cached', onResult: (r: string) => r === 'bad' });
      expect(await fallback.execute(() => 'bad')).to.equal('cached');
      expect(await fallback.execute(async () => 'good')).to.equal('good');
    });

    it('gives the method a RejectedResultError holding the result', async () => {
      const response = { status: 503 };
      const method = sinon.spy((error: unknown) =>
        error instanceof RejectedResultError
          ? `was ${(error.result as typeof response).status}`
          : 'x',
      );
      const fallback = new Fallback({ method, onResult: (r: typeof response) => r.status >= 500 });
      expect(await fallback.execute(() => response)).to.equal('was 503');
      const error = method.firstCall.args[0] as RejectedResultError<typeof response>;
      expect(error).to.be.instanceOf(Error);
      expect(error.name).to.equal('RejectedResultError');
      expect(error.code).to.equal('REJECTED_RESULT');
      expect(error.result).to.equal(response);
      expect(method.firstCall.args).to.have.length(1);
    });

    it('judges results only: errors still go through `on`', async () => {
      const onResult = sinon.spy(() => true);
      const fallback = new Fallback({ value: 0, on: [ConnectionError], onResult });
      const other = new Error('other');
      expect(await rejectionOf(fallback.execute(() => Promise.reject(other)))).to.equal(other);
      expect(await fallback.execute(() => Promise.reject(new ResetError()))).to.equal(0);
      expect(onResult.callCount).to.equal(0);
      expect(await fallback.execute(() => 5, new AbortController().signal)).to.equal(0);
      expect(onResult.callCount).to.equal(1);
    });

    it('rejects with what the predicate throws', async () => {
      const broke = new Error('predicate broke');
      const fallback = new Fallback({
        value: 0,
        onResult: () => {
          throw broke;
        },
      });
      expect(await rejectionOf(fallback.execute(() => 1))).to.equal(broke);
      expect(await rejectionOf(fallback.execute(() => 1, new AbortController().signal))).to.equal(
        broke,
      );
    });

    it('judges nothing for a caller who aborted before the result came', async () => {
      const onResult = sinon.spy(() => true);
      const method = sinon.spy(() => 'fallback');
      const controller = new AbortController();
      const work = deferred<string>();
      const call = new Fallback({ method, onResult }).execute(
        () => work.promise,
        controller.signal,
      );
      const reason = new Error('left');
      controller.abort(reason);
      work.resolve('late');
      expect(await rejectionOf(call)).to.equal(reason);
      await flush();
      expect(onResult.callCount + method.callCount).to.equal(0);
    });

    it('is described, and refused when not a function', () => {
      expect(new Fallback({ value: 0, onResult: () => false }).describe()).to.equal(
        'fixed value on all errors and matching results',
      );
      expect(() => new Fallback({ value: 0, onResult: 'status >= 500' as never })).to.throw(
        TypeError,
        '`onResult` must be a function, got "status >= 500"',
      );
    });
  });

  describe('abort', () => {
    it('rejects at once with the reason of an already-aborted signal, calling nothing', async () => {
      const controller = new AbortController();
      const reason = new Error('gone');
      controller.abort(reason);
      const fn = sinon.spy(() => 1);
      const method = sinon.spy(() => 2);
      const error = await rejectionOf(new Fallback({ method }).execute(fn, controller.signal));
      expect(error).to.equal(reason);
      expect(fn.callCount).to.equal(0);
      expect(method.callCount).to.equal(0);
    });

    it('rejects with the abort reason instead of a substitute when the caller aborts', async () => {
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      const method = sinon.spy(() => 'substitute');
      const promise = new Fallback({ method }).execute(
        (signal) =>
          new Promise<string>((_, reject) => {
            signal.addEventListener('abort', () => reject(new Error('aborted inside fn')));
          }),
        controller.signal,
      );
      controller.abort(reason);
      expect(await rejectionOf(promise)).to.equal(reason);
      await new Promise((resolve) => setImmediate(resolve));
      expect(method.callCount).to.equal(0);
    });

    it('rejects at once on abort even when fn ignores its signal', async () => {
      const controller = new AbortController();
      const reason = new Error('stop');
      let fail: (error: unknown) => void = () => {};
      const method = sinon.spy(() => 'substitute');
      const promise = new Fallback({ method }).execute(
        () =>
          new Promise<string>((_, reject) => {
            fail = reject;
          }),
        controller.signal,
      );
      controller.abort(reason);
      expect(await rejectionOf(promise)).to.equal(reason);
      fail(new Error('late'));
      await new Promise((resolve) => setImmediate(resolve));
      expect(method.callCount).to.equal(0);
    });

    it('still recovers when the caller gave a signal that did not abort', async () => {
      const controller = new AbortController();
      const fallback = new Fallback({ value: 'v' });
      expect(
        await fallback.execute(() => Promise.reject(new Error('x')), controller.signal),
      ).to.equal('v');
    });
  });

  describe('handles and recover', () => {
    it('handles exactly the errors `on` matches', () => {
      const fallback = new Fallback({ value: 1, on: [ConnectionError] });
      expect(fallback.handles(new ResetError())).to.equal(true);
      expect(fallback.handles(new Error())).to.equal(false);
      expect(new Fallback({ value: 1 }).handles('anything')).to.equal(true);
    });

    it('calls the method with the error followed by the given arguments', async () => {
      const failure = new Error('down');
      const method = sinon.spy((error: unknown, id: string, ctx: object) => ({ error, id, ctx }));
      const fallback = new Fallback({ method });
      const ctx = { data: new Map() };
      const result = await fallback.recover(failure, ['p-1', ctx]);
      expect(method.firstCall.args).to.deep.equal([failure, 'p-1', ctx]);
      expect(result).to.deep.equal({ error: failure, id: 'p-1', ctx });
    });

    it('returns the value whatever the arguments', () => {
      const value = ['fallback'];
      expect(new Fallback({ value }).recover(new Error(), ['a', 'b'])).to.equal(value);
    });

    it('lets a synchronous throw from the method propagate', () => {
      const thrown = new Error('method threw');
      const fallback = new Fallback({
        method: () => {
          throw thrown;
        },
      });
      expect(() => fallback.recover(new Error('x'), [])).to.throw(thrown);
    });
  });

  describe('describe', () => {
    it('summarises how it recovers and from which errors', () => {
      function cachedPrice(): number {
        return 0;
      }
      expect(new Fallback({ value: null }).describe()).to.equal('fixed value on all errors');
      expect(new Fallback({ method: cachedPrice, on: [ConnectionError] }).describe()).to.equal(
        'method cachedPrice on matching errors',
      );
    });
  });
});

describe('Fallback validation', () => {
  it('accepts exactly one of value or method', () => {
    expect(() => new Fallback({ value: 0 })).not.to.throw();
    expect(() => new Fallback({ value: null, on: [Error] })).not.to.throw();
    expect(() => new Fallback({ method: () => 0, on: () => true })).not.to.throw();
  });

  it('rejects options with neither value nor method', () => {
    // @ts-expect-error one of value or method is required
    expect(() => new Fallback({})).to.throw(
      TypeError,
      'Fallback takes exactly one of `value` or `method`, got neither',
    );
    // @ts-expect-error one of value or method is required
    expect(() => new Fallback({ on: [Error] })).to.throw(TypeError, 'got neither');
    // @ts-expect-error options are required
    expect(() => new Fallback()).to.throw(TypeError, 'got neither');
  });

  it('rejects options with both value and method, even an undefined value', () => {
    // @ts-expect-error value and method exclude each other
    expect(() => new Fallback({ value: 1, method: () => 1 })).to.throw(
      TypeError,
      'Fallback takes exactly one of `value` or `method`, got both',
    );
    // @ts-expect-error value and method exclude each other
    expect(() => new Fallback({ value: undefined, method: () => 1 })).to.throw(
      TypeError,
      'got both',
    );
  });

  it('rejects a method that is not a function', () => {
    expect(() => new Fallback({ method: 'cachedPrice' as never })).to.throw(
      TypeError,
      '`method` must be a function, got "cachedPrice"',
    );
    expect(() => new Fallback({ method: undefined as never })).to.throw(
      TypeError,
      '`method` must be a function, got undefined',
    );
  });

  it('rejects an on that is neither an array of classes nor a predicate', () => {
    expect(() => new Fallback({ value: 0, on: 'Error' as never })).to.throw(
      TypeError,
      '`on` must be an array of error classes or a predicate, got "Error"',
    );
    expect(() => new Fallback({ value: 0, on: [Error, 1] as never })).to.throw(
      TypeError,
      'at index 1',
    );
  });

  it('rejects unknown options, clock included', () => {
    // @ts-expect-error Fallback takes no clock
    expect(() => new Fallback({ value: 0, clock: {} })).to.throw(
      TypeError,
      'Fallback: unknown option `clock`',
    );
    // @ts-expect-error `fallbackValue` is the PyFly resilience guide's name, not an option here
    expect(() => new Fallback({ value: 0, fallbackValue: 1 })).to.throw(
      TypeError,
      'unknown option `fallbackValue`',
    );
    // @ts-expect-error a typo of method
    expect(() => new Fallback({ methd: () => 0 })).to.throw(
      TypeError,
      'unknown option `methd` (did you mean `method`?)',
    );
  });

  it('rejects options that are not an object', () => {
    expect(() => new Fallback(null as never)).to.throw(TypeError, 'got null');
    expect(() => new Fallback('x' as never)).to.throw(TypeError, 'got "x"');
  });

  it('types the value against the policy result type', () => {
    const numeric: Fallback<number | null> = new Fallback({ value: null });
    const fromMethod: Fallback<{ price: number }> = new Fallback({
      method: async (_error: unknown, id: string) => ({ price: id.length }),
    });
    // @ts-expect-error a string fallback cannot stand in for a number
    const wrong: Fallback<number> = new Fallback({ value: 'zero' });
    expect([numeric, fromMethod, wrong]).to.have.length(3);
  });
});
