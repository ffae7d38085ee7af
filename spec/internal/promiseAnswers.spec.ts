// A plain (not `async`) function that returns a promise, where bulwark uses the answer at once: a
// keyed stage's `key` (a cache lookup), a retry's `delay` (a remote backoff hint), a chaos
// `fault.error` or `enabled`, a breaker's `recordOn`, a fallback's `on`. No check at construction
// can see it. Each call it answers fails with a TypeError naming the option, and the promise's
// own rejection is handled: before, that rejection went unhandled (which ends a Node process), a
// breaker counted every error, and a fallback or a chaos switch read the promise as a no.
import { expect } from 'chai';
import { isOptionTypeError } from '../../src/optionErrors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { usePolicy } from '../../src/decorators/index.js';
import { Chaos } from '../../src/strategies/chaos/Chaos.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Keyed } from '../../src/strategies/keyed/Keyed.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { ManualClock } from '../support/clock.js';
import { rejectionOf, thrownBy } from '../support/promises.js';

type Answer = () => unknown;

const work = (): Promise<string> => Promise.resolve('real');
const failing = (): Promise<never> => Promise.reject(new Error('work failed'));

// Each way in: a title, the option, what it must return, and a call through it whose function
// gives `answer`'s promise.
const cases: Array<[string, string, string, (answer: Answer) => Promise<unknown>]> = [
  [
    'a keyed bulkhead stage',
    'key',
    'a string',
    (answer) =>
      Policy.builder('db')
        .bulkhead({ key: answer as never, maxConcurrent: 5 })
        .build()
        .execute(work),
  ],
  [
    'a keyed breaker stage',
    'key',
    'a string',
    (answer) =>
      Policy.builder('db')
        .circuitBreaker({ key: answer as never })
        .build()
        .execute(work),
  ],
  [
    'a retry stage',
    'delay',
    'a duration',
    (answer) =>
      Policy.builder('r')
        .retry({ maxAttempts: 3, delay: answer as never })
        .build()
        .execute(failing),
  ],
  [
    'a Retry',
    'delay',
    'a duration',
    (answer) => new Retry({ maxAttempts: 3, delay: answer as never }).execute(failing),
  ],
  [
    'a Retry with jitter',
    'random',
    'a number',
    (answer) =>
      new Retry({
        maxAttempts: 3,
        delay: 10,
        jitter: 0.5,
        random: answer as never,
        clock: new ManualClock(),
      }).execute(failing),
  ],
  [
    'a chaos stage',
    'fault.error',
    'what to throw',
    (answer) =>
      Policy.builder('drill')
        .chaos({ fault: { rate: 1, error: answer as never } })
        .build()
        .execute(work),
  ],
  [
    'a Chaos',
    'fault.error',
    'what to throw',
    (answer) => new Chaos({ fault: { rate: 1, error: answer as never } }).execute(work),
  ],
  [
    'a chaos stage',
    'enabled',
    'a boolean',
    (answer) =>
      Policy.builder('drill')
        .chaos({ fault: { rate: 1 }, enabled: answer as never })
        .build()
        .execute(work),
  ],
  [
    'a Chaos',
    'enabled',
    'a boolean',
    (answer) => new Chaos({ fault: { rate: 1 }, enabled: answer as never }).execute(work),
  ],
  [
    'a CircuitBreaker',
    'recordOn',
    'a boolean',
    (answer) => new CircuitBreaker({ recordOn: answer as never }).execute(failing),
  ],
  [
    'a breaker stage',
    'recordOn',
    'a boolean',
    (answer) =>
      Policy.builder('b')
        .circuitBreaker({ recordOn: answer as never })
        .build()
        .execute(failing),
  ],
  [
    'a fallback stage',
    'on',
    'a boolean',
    (answer) =>
      Policy.builder('f')
        .fallback({ value: 'fallback', on: answer as never })
        .build()
        .execute(failing),
  ],
];

describe('a function answering a promise where its answer is used at once', () => {
  let unhandled: unknown[];
  let installed: NodeJS.UnhandledRejectionListener[];
  const collect = (reason: unknown): void => {
    unhandled.push(reason);
  };

  // The set-up's listener throws on an unhandled rejection; here they are collected instead, so
  // that each case can say that it caused none.
  beforeEach(() => {
    unhandled = [];
    installed = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', collect);
  });

  afterEach(() => {
    process.off('unhandledRejection', collect);
    for (const listener of installed) process.on('unhandledRejection', listener);
  });

  // Node reports an unhandled rejection once the microtasks of its turn have run.
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  for (const [title, option, returns, run] of cases) {
    it(`${title}: \`${option}\` fails the call with a TypeError naming it, and its rejection is handled`, async () => {
      const rejected = Promise.reject(new Error('dependency down'));
      const error = await rejectionOf(run(() => rejected));
      await turn();
      expect(unhandled).to.deep.equal([]);
      expect(isOptionTypeError(error), String(error)).to.equal(true);
      expect(error).to.include({
        option,
        received: rejected,
        message: `\`${option}\` must return ${returns} synchronously, got a promise`,
      });
    });
  }

  it('a promise that resolves, true or false, and a thenable are refused the same', async () => {
    for (const [title, option, , run] of cases) {
      for (const answer of [Promise.resolve(true), Promise.resolve(false), { then() {} }]) {
        const error = await rejectionOf(run(() => answer));
        expect(error, title).to.include({ option, received: answer });
      }
    }
  });

  it('a breaker counts the error its recordOn answered a promise for', async () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recordOn: (() => Promise.resolve(false)) as never,
    });
    expect(await rejectionOf(breaker.execute(failing))).to.include({ option: 'recordOn' });
    expect(breaker.state).to.equal('open');
    // By hand, the error is recorded and `onFailure` throws the TypeError.
    const manual = new CircuitBreaker({
      failureThreshold: 1,
      recordOn: (() => Promise.resolve(false)) as never,
    });
    expect(thrownBy(() => manual.onFailure(new Error('work failed')))).to.include({
      option: 'recordOn',
    });
    expect(manual.state).to.equal('open');
  });

  it('the TypeError is not retried: the same function would answer the same way', async () => {
    let runs = 0;
    const policy = Policy.builder('p')
      .retry({ maxAttempts: 10, delay: 0 })
      .circuitBreaker({ failureThreshold: 100, recordOn: (() => Promise.resolve(true)) as never })
      .build();
    const error = await rejectionOf(
      policy.execute(() => {
        runs++;
        return failing();
      }),
    );
    expect(error).to.include({ option: 'recordOn', retryable: false });
    expect(runs).to.equal(1);
    expect(policy.metrics().retries).to.equal(0);
  });

  it('a breaker whose recordOn throws still counts the error and fails the call with what it threw', async () => {
    const thrown = new Error('filter broke');
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recordOn: () => {
        throw thrown;
      },
    });
    expect(await rejectionOf(breaker.execute(failing))).to.equal(thrown);
    expect(breaker.state).to.equal('open');
  });

  it('a fallback stage whose `on` throws still declines the error', async () => {
    const policy = Policy.builder('f')
      .fallback({
        value: 'fallback',
        on: () => {
          throw new Error('filter broke');
        },
      })
      .build();
    expect(((await rejectionOf(policy.execute(failing))) as Error).message).to.equal('work failed');
  });

  it("a wrapper's `signal` picker: the call fails with a TypeError naming it", async () => {
    const policy = Policy.builder('w').build();
    const rejected = Promise.reject(new Error('no signal'));
    const wrapped = policy.wrap((x: number) => x, { signal: (() => rejected) as never });
    const error = await rejectionOf(wrapped(1));
    const decorated = usePolicy(policy, { signal: (() => rejected) as never })(
      async (x: number) => x,
    );
    const viaDecorator = await rejectionOf(decorated(1));
    await turn();
    expect(unhandled).to.deep.equal([]);
    expect(error).to.include({
      option: 'signal',
      received: rejected,
      message: 'policy.wrap: `signal` must return an AbortSignal synchronously, got a promise',
    });
    expect(viaDecorator).to.include({
      option: 'signal',
      message: 'usePolicy: `signal` must return an AbortSignal synchronously, got a promise',
    });
    // An async picker is refused where the wrapper is made.
    const asyncPicker = async (): Promise<undefined> => undefined;
    expect(thrownBy(() => policy.wrap((x: number) => x, { signal: asyncPicker as never })))
      .to.be.instanceOf(TypeError)
      .and.include({
        option: 'signal',
        message:
          'policy.wrap: `signal` must return an AbortSignal synchronously; an async function returns a promise',
      });
    // A picker answering at once works as before.
    const controller = new AbortController();
    expect(await policy.wrap((x: number) => x, { signal: () => controller.signal })(2)).to.equal(2);
  });

  it("a Keyed holder's `resting`: the instance is not at rest, the rejection handled; async is refused", async () => {
    const rejected = Promise.reject(new Error('no answer'));
    const clock = new ManualClock();
    const keyed = new Keyed((key) => ({ key }), {
      idleTimeout: '1s',
      resting: () => rejected as never,
      clock,
    });
    keyed.get('a');
    clock.tick(1000);
    keyed.get('b');
    await turn();
    expect(unhandled).to.deep.equal([]);
    // `a` could not be vouched for: not at rest, as when the check throws, so not dropped idle.
    expect(keyed.keys().sort()).to.deep.equal(['a', 'b']);
    const asyncResting = async (): Promise<boolean> => true;
    expect(thrownBy(() => new Keyed(() => ({}), { resting: asyncResting as never }))).to.include({
      option: 'resting',
      message: '`resting` must return a boolean synchronously; an async function returns a promise',
    });
  });
});
