// Rules of docs/CONTRACT.md about one execution of a policy: bad execute arguments (R-VAL-5), a
// caller's abort under a fallback (R-FB-4), where a timeout bounds (R-POL-12), the `attempt` event
// (R-EVT-4, also for attempts cut off) and retries that yield to the event loop (R-RETRY-4).
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import {
  Bulkhead,
  Chaos,
  CircuitBreaker,
  Fallback,
  Hedge,
  isOperationTimeoutError,
  isOptionError,
  isOptionTypeError,
  Policy,
  PolicyRegistry,
  RateLimiter,
  Retry,
  TimeLimiter,
} from 'bulwark';

import { never, rejectionOf, settle } from './support.js';

class Boom extends Error {}

describe('contract: executions', () => {
  it('R-VAL-5: `policy.execute` never throws synchronously: bad arguments reject its promise with a TypeError, counted as a call and a failure', async () => {
    const policy = Policy.builder('p').retry({ maxAttempts: 2 }).build();
    const failures: unknown[] = [];
    policy.on('failure', ({ error }) => failures.push(error));
    let notAFunction: Promise<unknown> | undefined;
    let badOptions: Promise<unknown> | undefined;
    expect(() => {
      notAFunction = policy.execute(5 as never);
      badOptions = policy.execute(() => 1, { signal: 'soon' } as never);
    }).not.to.throw();
    const first = await rejectionOf(notAFunction as Promise<unknown>);
    const second = await rejectionOf(badOptions as Promise<unknown>);
    expect(first).to.be.instanceOf(TypeError);
    expect((first as Error).message).to.match(/`fn`/);
    expect(second).to.be.instanceOf(TypeError);
    expect((second as Error).message).to.match(/signal/);
    expect(policy.metrics()).to.include({ calls: 2, failures: 2, successes: 0 });
    expect(failures).to.deep.equal([first, second]);
  });

  it('R-VAL-5: `execute` called without its policy rejects with a TypeError that says so, counted nowhere; `wrap` throws it', async () => {
    const policy = Policy.builder('p').build();
    const handle = PolicyRegistry.fromConfig({
      policies: { q: [{ 'time-limiter': '1s' }] },
    }).policy('q');
    const failures: unknown[] = [];
    policy.on('failure', ({ error }) => failures.push(error));
    const message = 'execute: must be called on a Policy (`policy.execute(fn)`), got this = ';
    for (const target of [policy, handle]) {
      const { execute, wrap } = target;
      let answers: Array<Promise<unknown>> = [];
      expect(() => {
        answers = [
          execute(() => 1),
          Promise.resolve(() => 1).then(execute),
          execute.call(null, () => 1),
          execute.call({}, () => 1),
        ];
      }).not.to.throw();
      const errors = (await Promise.all(answers.map(rejectionOf))) as Error[];
      expect(errors.map((e) => [e.constructor, e.message])).to.deep.equal([
        [TypeError, `${message}undefined`],
        [TypeError, `${message}undefined`],
        [TypeError, `${message}null`],
        [TypeError, `${message}an object`],
      ]);
      // A plain TypeError: no option is at fault.
      expect(errors.some((e) => isOptionError(e))).to.equal(false);
      expect(() => wrap(() => 1)).to.throw(
        TypeError,
        'wrap: must be called on a Policy (`policy.wrap(fn)`), got this = undefined',
      );
    }
    expect(policy.metrics()).to.include({ calls: 0, failures: 0 });
    expect(handle.metrics()).to.include({ calls: 0, failures: 0 });
    expect(failures).to.deep.equal([]);
  });

  it("R-VAL-5: a primitive's `execute` called without it rejects with a TypeError that says so", async () => {
    const primitives: Array<[string, { execute: (fn: () => number) => Promise<unknown> }]> = [
      ['Retry', new Retry()],
      ['RateLimiter', new RateLimiter({ maxTokens: 1, refillRate: 1 })],
      ['TimeLimiter', new TimeLimiter({ timeout: '1s' })],
      ['Hedge', new Hedge()],
      ['Chaos', new Chaos()],
      ['CircuitBreaker', new CircuitBreaker()],
      ['Bulkhead', new Bulkhead({ maxConcurrent: 1 })],
      ['Fallback', new Fallback({ value: 0 })],
    ];
    for (const [name, primitive] of primitives) {
      const { execute } = primitive;
      let answer: Promise<unknown> | undefined;
      expect(() => (answer = execute(() => 1)), name).not.to.throw();
      const error = (await rejectionOf(answer as Promise<unknown>)) as Error;
      const instance = name[0]!.toLowerCase() + name.slice(1);
      expect([error.constructor, error.message]).to.deep.equal([
        TypeError,
        `execute: must be called on a ${name} (\`${instance}.execute(fn)\`), got this = undefined`,
      ]);
    }
  });

  it('R-VAL-5: bad execute options are option errors naming `options`, `options.signal` or `options.data` and the value', async () => {
    const policy = Policy.builder('p').build();
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const cases: Array<[unknown, string, unknown, string]> = [
      [5, 'options', 5, 'execute: `options` must be an object, got 5'],
      [null, 'options', null, 'execute: `options` must be an object, got null'],
      [
        { signal: 'soon' },
        'options.signal',
        'soon',
        'execute: `options.signal` must be an AbortSignal, got "soon"',
      ],
      [
        { signal: {} },
        'options.signal',
        {},
        'execute: `options.signal` must be an AbortSignal, got an object',
      ],
      [{ data: 7 }, 'options.data', 7, 'execute: `options.data` must be an object or a Map, got 7'],
      [proxy, 'options', proxy, 'execute: `options` could not be read: '],
    ];
    for (const [options, option, received, message] of cases) {
      const error = await rejectionOf(policy.execute(() => 1, options as never));
      expect(isOptionTypeError(error), message).to.equal(true);
      expect(error).to.be.instanceOf(TypeError).and.include({ name: 'TypeError', option });
      expect((error as { received: unknown }).received).to.deep.equal(received);
      expect((error as Error).message.startsWith(message), (error as Error).message).to.equal(true);
    }
    // A getter that throws: the error is the cause.
    const boom = new Boom('no data for you');
    const hostile = {
      get data(): never {
        throw boom;
      },
    };
    const unreadable = await rejectionOf(policy.execute(() => 1, hostile as never));
    expect(unreadable).to.include({
      option: 'options',
      received: hostile,
      cause: boom,
      message: 'execute: `options` could not be read: no data for you',
    });
  });

  it('R-VAL-5: an unknown execute option, with neither `signal` nor `data` set, is an option error naming the key and the option it resembles', async () => {
    const policy = Policy.builder('p').timeout('5s').build();
    const controller = new AbortController();
    const cases: Array<[Record<string, unknown>, string, unknown, string]> = [
      [
        { singal: controller.signal },
        'options.singal',
        controller.signal,
        'execute: unknown option `singal` (did you mean `signal`?)',
      ],
      [
        { dat: { id: 1 } },
        'options.dat',
        { id: 1 },
        'execute: unknown option `dat` (did you mean `data`?)',
      ],
      [
        { signal: undefined, timeout: 5 },
        'options.timeout',
        5,
        'execute: unknown option `timeout`',
      ],
    ];
    let calls = 0;
    for (const [options, option, received, message] of cases) {
      const error = await rejectionOf(policy.execute(() => ++calls, options as never));
      expect(isOptionTypeError(error), message).to.equal(true);
      expect(error).to.be.instanceOf(TypeError).and.include({ name: 'TypeError', option, message });
      expect((error as { received: unknown }).received).to.deep.equal(received);
    }
    expect(calls).to.equal(0);
    expect(policy.metrics()).to.include({ calls: 3, failures: 3 });
    // The known keys alone, set or not, are fine.
    expect(await policy.execute(() => 'ok', {})).to.equal('ok');
    expect(await policy.execute(() => 'ok', { signal: undefined, data: undefined })).to.equal('ok');
    expect(await policy.execute((ctx) => ctx.data.get('id'), { data: { id: 2 } })).to.equal(2);
  });

  it('R-VAL-5: an AbortSignal given as execute options (as a primitive takes it) is refused, saying to pass `{ signal }`; any other object is read for what it sets', async () => {
    const policy = Policy.builder('p').build();
    const signal = new AbortController().signal;
    let calls = 0;
    const error = await rejectionOf(policy.execute(() => ++calls, signal as never));
    expect(isOptionTypeError(error)).to.equal(true);
    expect(error).to.include({
      option: 'options',
      received: signal,
      message:
        'execute: `options` must be an options object, got an AbortSignal: pass `{ signal }`',
    });
    expect(calls).to.equal(0);
    // A class instance whose unset fields are not own keys sets nothing: the call runs.
    class CallOptions {
      declare signal?: AbortSignal;
    }
    expect(await policy.execute(() => ++calls, new CallOptions())).to.equal(1);
    expect(() => policy.wrap(() => 1, signal as never)).to.throw(
      TypeError,
      'policy.wrap: `options` must be an options object, got an AbortSignal: pass `{ signal: () => signal }`',
    );
  });

  it("R-FB-4: a caller's abort is never replaced by a fallback value", async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('p')
      .clock(clock)
      .fallback({ value: 'fallback' })
      .bulkhead({ maxConcurrent: 1, clock })
      .timeout({ timeout: '1s', clock })
      .build();
    const controller = new AbortController();
    const call = settle(policy.execute(() => never(), { signal: controller.signal }));
    await clock.advance(100);
    const reason = new Boom('caller gave up');
    controller.abort(reason);
    await clock.advance(0);
    expect(call.status).to.equal('rejected');
    expect(call.reason).to.equal(reason);
    // An error the fallback does handle still gets its value, so the fallback was in the way.
    expect(await policy.execute(() => Promise.reject(new Boom()))).to.equal('fallback');
  });

  it('R-POL-12: a timeout declared inside `retry` limits each attempt', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('p')
      .clock(clock)
      .retry({ maxAttempts: 3, delay: 0, clock })
      .timeout({ timeout: '1s', clock })
      .build();
    let calls = 0;
    const call = settle(
      policy.execute(() => {
        calls++;
        return never();
      }),
    );
    await clock.advance(2_999);
    expect(call.status).to.equal('pending');
    expect(calls).to.equal(3);
    await clock.advance(1);
    expect(call.status).to.equal('rejected');
    expect(isOperationTimeoutError(call.reason)).to.equal(true);
  });

  it('R-POL-12: a timeout declared outside `retry` limits the whole execution, waits included', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('p')
      .clock(clock)
      .timeout({ timeout: '1s', clock })
      .retry({ maxAttempts: 3, delay: '600ms', clock })
      .build();
    const starts: number[] = [];
    const call = settle(
      policy.execute(() => {
        starts.push(clock.now());
        // Each attempt fails after 300 ms.
        return new Promise((_, reject) => clock.setTimeout(() => reject(new Boom()), 300));
      }),
    );
    await clock.advance(999);
    expect(call.status).to.equal('pending');
    await clock.advance(1);
    expect(call.status).to.equal('rejected');
    expect(isOperationTimeoutError(call.reason)).to.equal(true);
    // Attempts at 0 ms and 900 ms (after a 300 ms attempt and a 600 ms wait); no third.
    await clock.advance(1_000);
    expect(starts).to.deep.equal([1_000, 1_900]);
  });

  it('R-EVT-4: `attempt {attempt, durationMs, error?}` when each attempt ends', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('p').clock(clock).retry({ maxAttempts: 2, clock }).build();
    const seen: Array<Record<string, unknown>> = [];
    policy.on('attempt', (event) => seen.push({ ...event }));
    const boom = new Boom();
    let calls = 0;
    const call = settle(
      policy.execute(
        () =>
          new Promise((resolve, reject) =>
            clock.setTimeout(() => (++calls === 1 ? reject(boom) : resolve('ok')), 30),
          ),
      ),
    );
    // Each attempt starts in a later macrotask than the last one ended: advance step by step.
    for (let i = 0; i < 5 && call.status === 'pending'; i++) await clock.advance(30);
    expect(call.value).to.equal('ok');
    expect(seen).to.deep.equal([
      { policy: 'p', attempt: 1, durationMs: 30, error: boom },
      { policy: 'p', attempt: 2, durationMs: 30 },
    ]);
  });

  it("R-EVT-4: an attempt the policy stops waiting for (a deadline, the caller's abort) ends then, with the error that ended it, once", async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('p').clock(clock).timeout({ timeout: 100, clock }).build();
    const seen: Array<Record<string, unknown>> = [];
    policy.on('attempt', (event) => seen.push({ ...event, at: clock.now() }));
    const late = (): Promise<string> =>
      new Promise((resolve) => clock.setTimeout(() => resolve('late'), 300));
    const timedOut = settle(policy.execute(late));
    await clock.advance(100);
    expect(isOperationTimeoutError(timedOut.reason)).to.equal(true);
    expect(seen).to.deep.equal([
      { policy: 'p', attempt: 1, durationMs: 100, error: timedOut.reason, at: 1_100 },
    ]);
    const controller = new AbortController();
    const reason = new Boom('gave up');
    const aborted = settle(policy.execute(late, { signal: controller.signal }));
    await clock.advance(40);
    controller.abort(reason);
    await clock.advance(0);
    expect(aborted.reason).to.equal(reason);
    // The work of both settles later: nothing more is reported.
    await clock.advance(1_000);
    expect(seen.slice(1)).to.deep.equal([
      { policy: 'p', attempt: 1, durationMs: 40, error: reason, at: 1_140 },
    ]);
  });

  it('R-RETRY-4: a retry never runs its next attempt in the same macrotask, so a caller can abort even with `delay: 0`', async () => {
    const attempts = 1_000_000;
    const controller = new AbortController();
    const reason = new Boom('caller gave up');
    let calls = 0;
    const failing = (): Promise<never> => {
      calls++;
      return Promise.reject(new Boom());
    };
    // The abort comes in the next macrotask: retries that ran in microtasks would all be spent.
    setImmediate(() => controller.abort(reason));
    const policy = Policy.builder('p').retry({ maxAttempts: attempts, delay: 0 }).build();
    expect(await rejectionOf(policy.execute(failing, { signal: controller.signal }))).to.equal(
      reason,
    );
    expect(calls).to.be.lessThan(100);

    const second = new AbortController();
    let standaloneCalls = 0;
    setImmediate(() => second.abort(reason));
    const retry = new Retry({ maxAttempts: attempts, delay: 0 });
    const outcome = await rejectionOf(
      retry.execute(() => {
        standaloneCalls++;
        return Promise.reject(new Boom());
      }, second.signal),
    );
    expect(outcome).to.equal(reason);
    expect(standaloneCalls).to.be.lessThan(100);
  });
});
