import { expect } from 'chai';
import sinon from 'sinon';
import { usePolicy } from '../../src/decorators/index.js';
import { isCircuitOpenError } from '../../src/errors.js';
import { isOptionTypeError } from '../../src/optionErrors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { settle } from '../support/promises.js';

/** Stands for `fetch(url, { signal })`: rejects with the signal's reason when it aborts. */
function downstream() {
  const seen = { calls: 0 };
  const call = (signal: AbortSignal): Promise<string> => {
    seen.calls++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve('ok'), 50);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  };
  return { seen, call };
}

function guarded() {
  return Policy.builder('downstream')
    .retry({ maxAttempts: 3, delay: 10, retryOn: (e) => !isCircuitOpenError(e) })
    .circuitBreaker({ failureThreshold: 2, recoveryTimeout: '30s' })
    .timeout('2s')
    .build();
}

describe("wrappers given the caller's signal (`signal` option)", () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  async function hangUps(get: (signal: AbortSignal) => Promise<unknown>, n: number) {
    const outcomes = [];
    for (let i = 0; i < n; i++) {
      const request = new AbortController();
      const outcome = settle(get(request.signal));
      await clock.tickAsync(10);
      request.abort(new Error(`hang-up ${i}`));
      await clock.tickAsync(100);
      outcomes.push((outcome.reason as Error).message);
    }
    return outcomes;
  }

  it('policy.wrap: a call whose caller hung up is neither retried nor recorded by the breaker', async () => {
    const policy = guarded();
    const { seen, call } = downstream();
    const get = policy.wrap(call, { signal: (signal) => signal });
    expect(await hangUps(get, 3)).to.deep.equal(['hang-up 0', 'hang-up 1', 'hang-up 2']);
    expect(seen.calls).to.equal(3);
    expect(policy.metrics().retries).to.equal(0);
    expect((policy.metrics().stages[1] as unknown as { state: string }).state).to.equal('closed');
    const healthy = settle(get(new AbortController().signal));
    await clock.tickAsync(50);
    expect(healthy.value).to.equal('ok');
  });

  it('usePolicy: the same, as a decorator picking the signal from the arguments', async () => {
    const policy = guarded();
    const { seen, call } = downstream();
    class Handler {
      @usePolicy(policy, { signal: (req: { signal: AbortSignal }) => req.signal })
      async get(req: { signal: AbortSignal }, _id: string): Promise<string> {
        return call(req.signal);
      }
    }
    const handler = new Handler();
    expect(await hangUps((signal) => handler.get({ signal }, 'p'), 3)).to.deep.equal([
      'hang-up 0',
      'hang-up 1',
      'hang-up 2',
    ]);
    expect(seen.calls).to.equal(3);
    expect(policy.metrics().retries).to.equal(0);
    expect((policy.metrics().stages[1] as unknown as { state: string }).state).to.equal('closed');
  });

  it('passes a picker the call’s arguments and `this`; `undefined` runs without a signal', async () => {
    const policy = Policy.builder('p').build();
    const picked: unknown[] = [];
    const wrapped = policy.wrap(
      function (this: { base: number }, a: number, b: number) {
        return this.base + a + b;
      },
      {
        signal(this: unknown, a, b) {
          picked.push(this, a, b);
          return undefined;
        },
      },
    );
    const self = { base: 100 };
    expect(await wrapped.call(self, 2, 3)).to.equal(105);
    expect(picked).to.deep.equal([self, 2, 3]);
  });

  it('usePolicy: passes a picker the call’s `this` too, so a method can pick its own signal', async () => {
    const policy = Policy.builder('p').build();
    let calls = 0;
    class Session {
      readonly ac = new AbortController();
      @usePolicy(policy, {
        signal(this: Session) {
          return this.ac.signal;
        },
      })
      async get(): Promise<string> {
        calls++;
        return 'ok';
      }
    }
    const session = new Session();
    expect(await session.get()).to.equal('ok');
    session.ac.abort(new Error('closed'));
    expect(((await session.get().catch((e: unknown) => e)) as Error).message).to.equal('closed');
    expect(calls).to.equal(1);
  });

  it('rejects the call with what a picker throws, or with a TypeError for what is no signal', async () => {
    const policy = Policy.builder('p').build();
    const boom = new Error('boom');
    const throwing = policy.wrap(() => 1, {
      signal: () => {
        throw boom;
      },
    });
    expect((await throwing().catch((e: unknown) => e)) as Error).to.equal(boom);
    const wrong = policy.wrap(() => 1, { signal: () => 'nope' as unknown as AbortSignal });
    const error = (await wrong().catch((e: unknown) => e)) as TypeError;
    expect(error).to.be.instanceOf(TypeError);
    expect(error.message).to.include('options.signal');
  });

  for (const [what, make] of [
    [
      'policy.wrap',
      (options: unknown) =>
        Policy.builder('p')
          .build()
          .wrap(() => 1, options as never),
    ],
    ['usePolicy', (options: unknown) => usePolicy(Policy.builder('p').build(), options as never)],
  ] as const) {
    it(`${what}: refuses bad options where the wrapper is made, naming it, the option and the value`, () => {
      const refusal = (options: unknown): unknown => {
        try {
          make(options);
        } catch (error) {
          return error;
        }
        throw new Error('expected the options to be refused');
      };
      // One wording, the core's with the wrapper's name: `what: \`option\` must be ..., got value`.
      expect(refusal({ signal: 5 })).to.include({
        option: 'signal',
        received: 5,
        message: `${what}: \`signal\` must be a function returning an AbortSignal, got 5`,
      });
      expect(() => make({ signal: new AbortController().signal })).to.throw(
        TypeError,
        `${what}: \`signal\` must be a function returning an AbortSignal, got an object`,
      );
      expect(refusal('signal')).to.include({
        option: 'options',
        received: 'signal',
        message: `${what}: \`options\` must be an object, got "signal"`,
      });
      // Only an object: an array or a revoked Proxy is refused, naming the wrapper.
      expect(() => make([])).to.throw(
        TypeError,
        `${what}: \`options\` must be an object, got an array`,
      );
      const revoked = Proxy.revocable({}, {});
      revoked.revoke();
      expect(() => make(revoked.proxy)).to.throw(
        TypeError,
        `${what}: \`options\` must be an object, got an object that cannot be read`,
      );
      for (const bad of [{ signal: 5 }, 'signal', [], revoked.proxy]) {
        expect(isOptionTypeError(refusal(bad))).to.equal(true);
      }
      // A misspelt option would leave the caller's signal out: refused, naming the one meant.
      expect(() => make({ sigal: () => undefined })).to.throw(
        TypeError,
        `${what}: unknown option \`sigal\` (did you mean \`signal\`?)`,
      );
      expect(() => make({ Signal: () => undefined })).to.throw(
        TypeError,
        'unknown option `Signal`',
      );
      expect(() => make(undefined)).not.to.throw();
      expect(() => make({ signal: undefined })).not.to.throw();
    });
  }
});
