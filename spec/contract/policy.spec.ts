// The policy, event and metrics rules of docs/CONTRACT.md (R-POL-*, R-EVT-*, R-MET-*).
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import {
  Bulkhead,
  BulkheadFullError,
  CircuitBreaker,
  CircuitOpenError,
  Fallback,
  OperationTimeoutError,
  Policy,
  RateLimiter,
  RateLimitExceededError,
  Retry,
  RetryBudget,
  TimeLimiter,
  type ExecutionContext,
  type Stage,
} from 'bulwark';
import { inspect } from 'node:util';
import { flush, never, otherCopy, rejectionOf, settle } from './support.js';
import { deferred } from '../support/promises.js';

class Boom extends Error {}

interface Price {
  readonly id: string;
  readonly amount: number;
}

/** The pricing policy of the builder example, on a hand-made clock. */
function pricing(clock = new ManualClock(1_000)) {
  return Policy.builder<Price>('pricing')
    .clock(clock)
    .fallback({ method: (_error, ctx) => ({ id: String(ctx.data.get('id')), amount: 0 }) })
    .rateLimiter({ maxTokens: 100, refillRate: 50, clock })
    .bulkhead({ maxConcurrent: 10, clock })
    .retry({ maxAttempts: 3, delay: '200ms', backoff: 2, jitter: 0.2, random: () => 0.5, clock })
    .circuitBreaker({ failureThreshold: 5, recoveryTimeout: '30s', clock })
    .timeout({ timeout: '3s', clock })
    .build();
}

describe('contract: Policy and the builder', () => {
  it("R-POL-1: `Policy.builder<Price>('pricing')`: name optional; default 'policy'", () => {
    expect(Policy.builder('pricing').build().name).to.equal('pricing');
    expect(Policy.builder().build().name).to.equal('policy');
  });

  it('R-POL-1: the builder example (fallback, rate limiter, bulkhead, retry, breaker, timeout) builds and runs', async () => {
    const clock = new ManualClock(1_000);
    const policy = pricing(clock);
    expect(
      await policy.execute(() => ({ id: 'A1', amount: 9 }), { data: { id: 'A1' } }),
    ).to.deep.equal({
      id: 'A1',
      amount: 9,
    });
    const failing = settle(
      policy.execute(() => Promise.reject(new Boom()), { data: { id: 'B2' } }),
    );
    await clock.advance(1_000);
    expect(failing.value).to.deep.equal({ id: 'B2', amount: 0 });
  });

  it('R-POL-2: Order: the first stage declared is the outermost (it runs first)', async () => {
    const order: string[] = [];
    const tracer = (kind: string): Stage => ({
      kind,
      async execute(ctx, next) {
        order.push(`${kind}:in`);
        try {
          return await next(ctx);
        } finally {
          order.push(`${kind}:out`);
        }
      },
    });
    const policy = Policy.builder().use(tracer('a')).use(tracer('b')).use(tracer('c')).build();
    await policy.execute(() => order.push('fn'));
    expect(order).to.deep.equal(['a:in', 'b:in', 'c:in', 'fn', 'c:out', 'b:out', 'a:out']);
    // Built-ins too: a fallback declared first catches what the retry inside it gives up on.
    let calls = 0;
    const outer = Policy.builder().fallback({ value: 'fb' }).retry({ maxAttempts: 2 }).build();
    expect(
      await outer.execute(() => {
        calls++;
        throw new Boom();
      }),
    ).to.equal('fb');
    expect(calls).to.equal(2);
    calls = 0;
    const inner = Policy.builder().retry({ maxAttempts: 2 }).fallback({ value: 'fb' }).build();
    expect(
      await inner.execute(() => {
        calls++;
        throw new Boom();
      }),
    ).to.equal('fb');
    expect(calls).to.equal(1);
  });

  it('R-POL-5: `build()` returns an immutable `Policy`', () => {
    const policy = Policy.builder('p').retry({}).build();
    expect(policy).to.be.instanceOf(Policy);
    expect(Object.isFrozen(policy)).to.equal(true);
    expect(Object.isFrozen(policy.stages)).to.equal(true);
    expect(() => {
      (policy as { name: string }).name = 'q';
    }).to.throw(TypeError);
    expect(() => (policy.stages as unknown as unknown[]).push({})).to.throw(TypeError);
  });

  it('R-POL-5: the builder cannot be changed after `build()`: calling any builder method after `build()` throws an `Error`', () => {
    const builder = Policy.builder('done');
    builder.build();
    const calls: Array<() => unknown> = [
      () => builder.fallback({ value: 1 }),
      () => builder.rateLimiter({}),
      () => builder.bulkhead({}),
      () => builder.retry({}),
      () => builder.circuitBreaker({}),
      () => builder.timeout('1s'),
      () => builder.use({ kind: 'x', execute: (ctx, next) => next(ctx) }),
      () => builder.clock(new ManualClock(1_000)),
      () => builder.build(),
    ];
    for (const call of calls) expect(call).to.throw(Error);
  });

  it('R-POL-3: Every builder method validates its options at once', () => {
    const builder = Policy.builder();
    expect(() => builder.rateLimiter({ maxTokens: 0 })).to.throw(RangeError, '`maxTokens`');
    expect(() => builder.bulkhead({ maxConcurrent: -1 })).to.throw(RangeError, '`maxConcurrent`');
    expect(() => builder.retry({ maxAttempts: 0 })).to.throw(RangeError, '`maxAttempts`');
    expect(() => builder.circuitBreaker({ failureThreshold: 0 })).to.throw(RangeError);
    expect(() => builder.timeout('5 sec')).to.throw(TypeError, '`timeout`');
    expect(() => builder.fallback({} as never)).to.throw(TypeError);
    expect(() => builder.use({} as never)).to.throw(TypeError);
    expect(() => builder.use(null as never)).to.throw(TypeError);
    // The failed calls added nothing: the builder still builds.
    expect(builder.build().stages).to.deep.equal([]);
  });

  it('R-POL-3: Builder: every builder method accepts options (including `clock`)', async () => {
    const clock = new ManualClock(1_000);
    let calls = 0;
    const policy = Policy.builder()
      .clock(clock)
      .rateLimiter({ maxTokens: 1, refillRate: 1, maxWait: '1s', clock })
      .bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWait: '10s', clock })
      .retry({ maxAttempts: 2, delay: '500ms', clock })
      .circuitBreaker({ failureThreshold: 3, recoveryTimeout: '1s', clock })
      .timeout({ timeout: '2s', clock })
      .build();
    const call = settle(
      policy.execute(() => {
        calls++;
        return never();
      }),
    );
    await clock.advance(2_000);
    expect(calls).to.equal(1);
    await clock.advance(500);
    expect(calls).to.equal(2);
    await clock.advance(2_000);
    expect(call.reason).to.be.instanceOf(OperationTimeoutError);
  });

  it('R-POL-3: Builder: a stage method but `fallback` may leave its options out, taking the defaults', () => {
    const policy = Policy.builder()
      .rateLimiter()
      .bulkhead()
      .retry()
      .circuitBreaker()
      .timeout()
      .hedge()
      .chaos(undefined, 'faults')
      .build();
    expect(policy.stages.map((s) => s.kind)).to.deep.equal([
      'rate-limiter',
      'bulkhead',
      'retry',
      'circuit-breaker',
      'timeout',
      'hedge',
      'chaos',
    ]);
    expect(policy.describe()).to.include('up to 3 attempts').and.include('timeout: 30000 ms');
    expect(() => Policy.builder().fallback(undefined as never)).to.throw(TypeError, 'Fallback');
  });

  it('R-POL-3: Builder: every builder method accepts a primitive instance of its kind', () => {
    const policy = Policy.builder()
      .fallback(new Fallback({ value: 1 }))
      .rateLimiter(new RateLimiter())
      .bulkhead(new Bulkhead())
      .retry(new Retry())
      .circuitBreaker(new CircuitBreaker())
      .timeout(new TimeLimiter())
      .build();
    expect(policy.stages.map((s) => s.kind)).to.deep.equal([
      'fallback',
      'rate-limiter',
      'bulkhead',
      'retry',
      'circuit-breaker',
      'timeout',
    ]);
  });

  it('R-POL-3: a builder method given an instance of another kind throws a TypeError (it is neither options nor its kind)', () => {
    expect(() => Policy.builder().retry(new Bulkhead() as never)).to.throw(TypeError);
    expect(() => Policy.builder().circuitBreaker(new RateLimiter() as never)).to.throw(TypeError);
    expect(() => Policy.builder().bulkhead(new CircuitBreaker() as never)).to.throw(TypeError);
    expect(() => Policy.builder().rateLimiter(new Retry() as never)).to.throw(TypeError);
    expect(() => Policy.builder().timeout(new Retry() as never)).to.throw(TypeError);
    expect(() => Policy.builder().fallback(new TimeLimiter() as never)).to.throw(TypeError);
  });

  it("R-POL-3: `.timeout('3s')`: Duration, options, or instance", async () => {
    const clock = new ManualClock(1_000);
    const byDuration = Policy.builder('d').clock(clock).timeout('3s').build();
    const byNumber = Policy.builder('n').timeout(3_000).build();
    const byOptions = Policy.builder('o').timeout({ timeout: '3s', clock }).build();
    const byInstance = Policy.builder('i')
      .timeout(new TimeLimiter({ timeout: 3_000, clock }))
      .build();
    expect(byNumber.metrics().stages[0]).to.include({ kind: 'timeout', timeoutMs: 3_000 });
    expect(byDuration.metrics().stages[0]).to.include({ kind: 'timeout', timeoutMs: 3_000 });
    for (const policy of [byOptions, byInstance]) {
      const call = settle(policy.execute(() => never()));
      await clock.advance(3_000);
      expect((call.reason as Error).message).to.equal(`${policy.name} exceeded timeout of 3.0s`);
    }
  });

  it('R-POL-4: a primitive instance passed to the builder is shared, not copied', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock });
    const limiter = new RateLimiter({ maxTokens: 5, clock });
    const one = Policy.builder('one').rateLimiter(limiter).circuitBreaker(breaker).build();
    const two = Policy.builder('two').rateLimiter(limiter).circuitBreaker(breaker).build();
    await rejectionOf(one.execute(() => Promise.reject(new Boom())));
    await rejectionOf(two.execute(() => Promise.reject(new Boom())));
    expect(breaker.state).to.equal('open');
    expect(await rejectionOf(one.execute(() => 1))).to.be.instanceOf(CircuitOpenError);
    // Each of the three executions took a token from the one limiter.
    expect(limiter.availableTokens).to.equal(2);
  });

  it('R-POL-6: `execute` options: `signal?: AbortSignal`, `data?: Record<string, unknown> | Map`', async () => {
    const policy = Policy.builder().build();
    const seen: Array<Map<string, unknown>> = [];
    await policy.execute((ctx) => seen.push(ctx.data), { data: { id: 'A1', n: 2 } });
    const map = new Map<string, unknown>([['id', 'B2']]);
    await policy.execute((ctx) => seen.push(ctx.data), { data: map });
    await policy.execute((ctx) => seen.push(ctx.data));
    expect(seen[0]).to.be.instanceOf(Map);
    expect([...(seen[0] as Map<string, unknown>)]).to.deep.equal([
      ['id', 'A1'],
      ['n', 2],
    ]);
    expect((seen[1] as Map<string, unknown>).get('id')).to.equal('B2');
    expect(seen[2]).to.be.instanceOf(Map);
    expect(seen[2]?.size).to.equal(0);
    const controller = new AbortController();
    const call = settle(policy.execute(() => never(), { signal: controller.signal }));
    controller.abort('stop');
    await flush();
    expect(call.reason).to.equal('stop');
  });

  it('R-POL-7: `ExecutionContext` (what `fn` and each stage receive): `policyName`, `signal`, `attempt`, `startedAt` (clock ms), `data` (a `Map<string, unknown>`)', async () => {
    const clock = new ManualClock(5_000);
    const seen: ExecutionContext[] = [];
    const spy: Stage = {
      kind: 'spy',
      execute(ctx, next) {
        seen.push(ctx);
        return next(ctx);
      },
    };
    const policy = Policy.builder('ctx').clock(clock).use(spy).build();
    await policy.execute(
      (ctx) => {
        seen.push(ctx);
      },
      { data: { k: 'v' } },
    );
    expect(seen).to.have.length(2);
    for (const ctx of seen) {
      expect(ctx.policyName).to.equal('ctx');
      expect(ctx.signal).to.be.instanceOf(AbortSignal);
      expect(ctx.attempt).to.equal(1);
      expect(ctx.startedAt).to.equal(5_000);
      expect(ctx.data).to.be.instanceOf(Map);
      expect(ctx.data.get('k')).to.equal('v');
    }
  });

  it('R-POL-7: `startedAt` is the clock time at `execute` for a thunk that declares the context and reads it first after an await, in a policy that measures no time', async () => {
    const clock = new ManualClock(1_000);
    for (const policy of [
      Policy.builder('plain').clock(clock).build(),
      Policy.builder('fallback').clock(clock).fallback({ value: 0 }).build(),
      Policy.builder('bulkhead').clock(clock).bulkhead({ maxConcurrent: 2 }).build(),
    ]) {
      const started = clock.now();
      const later = deferred<void>();
      const read = policy.execute(async (ctx) => {
        await later.promise;
        return ctx.startedAt;
      });
      await clock.advance(250);
      later.resolve();
      expect(await read, policy.name).to.equal(started);
    }
  });

  it('R-POL-7: `startedAt` is the clock time at `execute` for a custom stage that reads it after an await, whatever the thunk', async () => {
    const clock = new ManualClock(2_000);
    const seen: number[] = [];
    const late: Stage = {
      kind: 'late',
      async execute(ctx, next) {
        const result = await next(ctx);
        seen.push(ctx.startedAt);
        return result;
      },
    };
    const policy = Policy.builder('custom').clock(clock).use(late).build();
    const later = deferred<void>();
    const call = policy.execute(() => later.promise);
    await clock.advance(400);
    later.resolve();
    await call;
    expect(seen).to.deep.equal([2_000]);
  });

  it('R-POL-7: with a timeout, `startedAt` is the clock time at `execute` even for a thunk that reaches the context only through `arguments`, after an await', async () => {
    const clock = new ManualClock(3_000);
    const policy = Policy.builder('timed').clock(clock).timeout({ timeout: '10s', clock }).build();
    const later = deferred<void>();
    const read = policy.execute(async function () {
      // eslint-disable-next-line prefer-rest-params -- a thunk that declares no parameter
      const ctx = arguments[0] as ExecutionContext;
      await later.promise;
      return ctx.startedAt;
    });
    await clock.advance(700);
    later.resolve();
    expect(await read).to.equal(3_000);
  });

  it('R-POL-7: with nothing that can see the start, `startedAt` is read at its first use (a thunk reaching the context only through `arguments`), then stays', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('lazy').clock(clock).bulkhead({ maxConcurrent: 2 }).build();
    const later = deferred<void>();
    const read = policy.execute(async function () {
      // eslint-disable-next-line prefer-rest-params -- a thunk that declares no parameter
      const ctx = arguments[0] as ExecutionContext;
      await later.promise;
      const first = ctx.startedAt;
      await clock.advance(50);
      return [first, ctx.startedAt];
    });
    await clock.advance(300);
    later.resolve();
    expect(await read).to.deep.equal([1_300, 1_300]);
  });

  it('R-POL-7: a policy of fallback, retry, count breaker, bulkhead or rate limiter reads no clock on the happy path for a thunk that takes no context, with no duration listener', async () => {
    const clock = new ManualClock(1_000);
    const limiterClock = new ManualClock(1_000);
    const policies: Array<Policy<unknown, unknown>> = [
      Policy.builder('fallback').clock(clock).fallback({ value: 0 }).build(),
      Policy.builder('retry').clock(clock).retry({ maxAttempts: 3, delay: 0, clock }).build(),
      Policy.builder('breaker').clock(clock).circuitBreaker({ failureThreshold: 5, clock }).build(),
      Policy.builder('bulkhead').clock(clock).bulkhead({ maxConcurrent: 2, clock }).build(),
      // The limiter measures its refill on its own clock: the policy's is never read.
      Policy.builder('limiter')
        .clock(clock)
        .rateLimiter({ maxTokens: 100, refillRate: 10, clock: limiterClock })
        .build(),
      Policy.builder('all')
        .clock(clock)
        .fallback({ method: (error: unknown) => String(error) })
        .bulkhead({ maxConcurrent: 2, clock })
        .retry({ maxAttempts: 3, delay: 0, clock })
        .circuitBreaker({ failureThreshold: 5, clock })
        .build(),
    ];
    // A listener of anything but durations costs no clock read either.
    policies[0]?.on('rejected', () => {});
    for (const policy of policies) {
      expect(await policy.execute(() => Promise.resolve('async')), policy.name).to.equal('async');
      expect(await policy.execute(() => 'sync'), policy.name).to.equal('sync');
    }
    // A wrapped function never receives the context, whatever its parameters.
    const wrapped = policies[3]?.wrap(async (a: number, b: number) => a + b);
    expect(await wrapped?.(1, 2)).to.equal(3);
    expect(clock.reads).to.equal(0);
    expect(limiterClock.reads).to.equal(2);
  });

  it('R-POL-7: the clock is read at `execute` once a thunk declares the context, a fallback method takes it, or a success/failure listener waits for durations', async () => {
    const clock = new ManualClock(1_000);
    const plain = Policy.builder('plain').clock(clock).bulkhead({ maxConcurrent: 2 }).build();
    await plain.execute((_ctx) => 1);
    expect(clock.reads, 'a thunk with a parameter').to.equal(1);
    const method = Policy.builder('method')
      .clock(clock)
      .fallback({ method: (_error: unknown, ctx: ExecutionContext) => ctx.startedAt })
      .build();
    const failing = deferred<never>();
    const recovered = method.execute(() => failing.promise);
    await clock.advance(100);
    failing.reject(new Boom());
    expect(await recovered, 'a fallback method given the context').to.equal(1_000);
    expect(clock.reads).to.equal(2);
    const durations: number[] = [];
    plain.on('success', ({ durationMs }) => durations.push(durationMs));
    const later = deferred<number>();
    const timed = plain.execute(() => later.promise);
    await clock.advance(40);
    later.resolve(2);
    await timed;
    expect(durations).to.deep.equal([40]);
  });

  it('R-POL-7: a stage that measures time from the start on the policy clock reads it at `execute`, once: a slow-call breaker times calls from `startedAt`', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('slow')
      .clock(clock)
      .circuitBreaker({
        failureRateThreshold: 0.5,
        slowCallDuration: '100ms',
        slowCallRateThreshold: 0.5,
        minimumCalls: 2,
        clock,
      })
      .build();
    const later = deferred<void>();
    const read = policy.execute(async function () {
      // eslint-disable-next-line prefer-rest-params -- a thunk that declares no parameter
      const ctx = arguments[0] as ExecutionContext;
      await later.promise;
      return ctx.startedAt;
    });
    await clock.advance(150);
    later.resolve();
    expect(await read).to.equal(1_000);
    // One read at `execute` (the breaker borrows it), one when the call ends.
    expect(clock.reads).to.equal(2);
    await policy.execute(() => clock.advance(150));
    expect(policy.metrics().stages[0]).to.include({ state: 'open' });
  });

  it('R-POL-7: a duration listener subscribed while a call runs hears a duration of 0 for that call (its start was never read), never NaN', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('mid').clock(clock).retry({ maxAttempts: 2, delay: 0 }).build();
    const ok = deferred<number>();
    const failing = deferred<never>();
    const first = policy.execute(() => ok.promise);
    const second = settle(policy.execute(() => failing.promise));
    await clock.advance(100);
    const seen: Array<[string, number]> = [];
    policy.on('success', ({ durationMs }) => seen.push(['success', durationMs]));
    policy.on('failure', ({ durationMs }) => seen.push(['failure', durationMs]));
    ok.resolve(1);
    failing.reject(new Boom());
    await first;
    await flush();
    expect(second.reason).to.be.instanceOf(Boom);
    expect(seen).to.deep.equal([
      ['success', 0],
      ['failure', 0],
    ]);
  });

  it("R-POL-7: `signal` aborts on the caller's abort", async () => {
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const call = settle(
      Policy.builder()
        .build()
        .execute(
          (ctx) => {
            signal = ctx.signal;
            return never();
          },
          { signal: controller.signal },
        ),
    );
    expect(signal?.aborted).to.equal(false);
    controller.abort('bye');
    await flush();
    expect(signal?.aborted).to.equal(true);
    expect(signal?.reason).to.equal('bye');
    expect(call.reason).to.equal('bye');
  });

  it('R-POL-7: `signal` aborts on any enclosing timeout', async () => {
    const clock = new ManualClock(1_000);
    let signal: AbortSignal | undefined;
    const policy = Policy.builder()
      .clock(clock)
      .timeout({ timeout: '1s', clock })
      .retry({ maxAttempts: 1 })
      .build();
    settle(
      policy.execute((ctx) => {
        signal = ctx.signal;
        return never();
      }),
    );
    await clock.advance(1_000);
    expect(signal?.aborted).to.equal(true);
    expect(signal?.reason).to.be.instanceOf(OperationTimeoutError);
  });

  it('R-POL-7: `attempt` (1-based, set by the innermost retry)', async () => {
    const attempts: number[] = [];
    const policy = Policy.builder().retry({ maxAttempts: 2 }).retry({ maxAttempts: 3 }).build();
    await rejectionOf(
      policy.execute((ctx) => {
        attempts.push(ctx.attempt);
        throw new Boom();
      }),
    );
    expect(attempts).to.deep.equal([1, 2, 3, 1, 2, 3]);
  });

  it('R-POL-8: `Stage` contract: `{ kind, execute(ctx, next) }`; `.use(customStage)` adds any object implementing Stage', async () => {
    const doubling: Stage = {
      kind: 'doubling',
      async execute<T>(ctx: ExecutionContext, next: (ctx: ExecutionContext) => Promise<T>) {
        const value = await next(ctx);
        return ((value as number) * 2) as T;
      },
    };
    const policy = Policy.builder().use(doubling).build();
    expect(await policy.execute(() => 21)).to.equal(42);
    expect(policy.stages).to.deep.equal([{ kind: 'doubling', name: 'doubling' }]);
  });

  describe("R-POL-8: `next` takes any context-shaped object; what it lacks comes from the stage's context", () => {
    /** A stage that calls `next` with `make(ctx)` instead of its own context. */
    function passing(make: (ctx: ExecutionContext) => ExecutionContext): Stage {
      return { kind: 'passing', execute: (ctx, next) => next(make(ctx)) };
    }

    it('a spread `{ ...ctx }` (the getters it drops are read from the context received)', async () => {
      const clock = new ManualClock(5_000);
      const tagging = passing((ctx) => ({ ...ctx, policyName: `${ctx.policyName}:tagged` }));
      const policy = Policy.builder('svc')
        .clock(clock)
        .use(tagging)
        .retry({ maxAttempts: 3, delay: 0, clock })
        .timeout({ timeout: '1s', clock })
        .build();
      const seen: Array<[string, number, unknown, number, boolean, number]> = [];
      const value = await policy.execute(
        (ctx) => {
          seen.push([
            ctx.policyName,
            ctx.attempt,
            ctx.data.get('id'),
            ctx.startedAt,
            ctx.signal instanceof AbortSignal,
            ctx.deadline,
          ]);
          if (ctx.attempt === 1) throw new Boom();
          return 'ok';
        },
        { data: { id: 7 } },
      );
      expect(value).to.equal('ok');
      expect(seen).to.deep.equal([
        ['svc:tagged', 1, 7, 5_000, true, 6_000],
        ['svc:tagged', 2, 7, 5_000, true, 6_000],
      ]);

      // The caller's abort reaches the work through the signal the spread dropped.
      const controller = new AbortController();
      let signal: AbortSignal | undefined;
      const call = settle(
        Policy.builder('svc')
          .use(tagging)
          .build()
          .execute(
            (ctx) => {
              signal = ctx.signal;
              return never();
            },
            { signal: controller.signal },
          ),
      );
      controller.abort('gone');
      await flush();
      expect(call.reason).to.equal('gone');
      expect(signal?.aborted).to.equal(true);
      expect(signal?.reason).to.equal('gone');
    });

    it('`Object.assign({}, ctx, changes)`', async () => {
      const policy = Policy.builder('svc')
        .use(passing((ctx) => Object.assign({}, ctx, { attempt: 7 })))
        .retry({ maxAttempts: 2, delay: 0 })
        .build();
      const seen: Array<[string, number, unknown, boolean]> = [];
      await policy.execute(
        (ctx) => {
          seen.push([ctx.policyName, ctx.attempt, ctx.data.get('id'), ctx.signal.aborted]);
          return 'ok';
        },
        { data: new Map([['id', 'A1']]) },
      );
      // The retry inside numbers the attempts; its context reads the rest through the copy.
      expect(seen).to.deep.equal([['svc', 1, 'A1', false]]);
      const outer = Policy.builder('svc')
        .use(passing((ctx) => Object.assign({}, ctx, { attempt: 7 })))
        .build();
      expect(
        await outer.execute((ctx) => [ctx.policyName, ctx.attempt, ctx.data.size]),
      ).to.deep.equal(['svc', 7, 0]);
    });

    it('`Object.create(ctx)` and a Proxy of it, in every position around the built-in stages', async () => {
      const makers: Array<[string, (ctx: ExecutionContext) => ExecutionContext]> = [
        [
          'Object.create',
          (ctx) => Object.create(ctx, { attempt: { value: 9 } }) as ExecutionContext,
        ],
        ['Proxy', (ctx) => new Proxy(ctx, {})],
      ];
      for (const [how, make] of makers) {
        const shapes = [
          Policy.builder('svc').use(passing(make)),
          Policy.builder('svc').use(passing(make)).timeout('1s'),
          Policy.builder('svc').use(passing(make)).retry({ maxAttempts: 2, delay: 0 }),
          Policy.builder('svc').timeout('1s').use(passing(make)),
          Policy.builder('svc').retry({ maxAttempts: 2, delay: 0 }).use(passing(make)),
        ];
        for (const builder of shapes) {
          const policy = builder.build();
          const seen = await policy.execute(
            (ctx) => [ctx.policyName, ctx.data.get('id'), ctx.signal.aborted, ctx.remaining > 0],
            { data: { id: how } },
          );
          expect(seen, `${how}: ${policy.describe()}`).to.deep.equal(['svc', how, false, true]);
        }
      }
      // An own field of the derived object is what the work sees.
      const outer = Policy.builder('svc').use(passing(makers[0]![1])).build();
      expect(await outer.execute((ctx) => ctx.attempt)).to.equal(9);
    });

    it('an object made by hand: every field it gives is what the work sees', async () => {
      const controller = new AbortController();
      const data = new Map<string, unknown>([['k', 1]]);
      const made: ExecutionContext = {
        policyName: 'made',
        signal: controller.signal,
        attempt: 3,
        startedAt: 42,
        data,
        deadline: 100,
        remaining: 58,
      };
      const policy = Policy.builder('svc')
        .use(passing(() => made))
        .build();
      const seen = await policy.execute((ctx) => pick(ctx));
      expect(seen).to.deep.equal(made);
      expect(seen.data).to.equal(data);
      expect(seen.signal).to.equal(controller.signal);
      // Partly made: the rest is the received context's.
      const partial = Policy.builder('svc')
        .use(passing(() => ({ policyName: 'part' }) as ExecutionContext))
        .build();
      const got = await partial.execute((ctx) => pick(ctx), { data: { id: 1 } });
      expect(got.policyName).to.equal('part');
      expect(got.attempt).to.equal(1);
      expect(got.data.get('id')).to.equal(1);
      expect(got.signal.aborted).to.equal(false);
      expect(got.deadline).to.equal(Infinity);
      expect(got.remaining).to.equal(Infinity);
      expect(got.startedAt).to.be.a('number');
    });
  });

  it('R-POL-9: `policy.name`, `policy.stages` (read-only list of `{ kind, name }`)', () => {
    const policy = pricing();
    expect(policy.name).to.equal('pricing');
    expect(policy.stages).to.deep.equal([
      { kind: 'fallback', name: 'fallback' },
      { kind: 'rate-limiter', name: 'rate-limiter' },
      { kind: 'bulkhead', name: 'bulkhead' },
      { kind: 'retry', name: 'retry' },
      { kind: 'circuit-breaker', name: 'circuit-breaker' },
      { kind: 'timeout', name: 'timeout' },
    ]);
  });

  it('R-POL-9: `JSON.stringify(policy)` (its `toJSON()`) and `console.log(policy)` show its name and stages only', () => {
    const policy = Policy.builder('pricing')
      .retry({ maxAttempts: 2 })
      .bulkhead({ maxConcurrent: 2 }, 'pool')
      .build();
    const settings = {
      name: 'pricing',
      stages: [
        { kind: 'retry', name: 'retry' },
        { kind: 'bulkhead', name: 'pool' },
      ],
    };
    expect(policy.toJSON()).to.deep.equal(settings);
    // A JSON logger given `{ policy }`: the pipeline links back to itself, which threw.
    expect(JSON.parse(JSON.stringify({ policy }))).to.deep.equal({ policy: settings });
    expect(inspect(policy, { depth: Infinity, breakLength: Infinity })).to.equal(
      "Policy { name: 'pricing', stages: [ { kind: 'retry', name: 'retry' }, { kind: 'bulkhead', name: 'pool' } ] }",
    );
    // Nested as deep as a logger goes, it keeps its name.
    expect(inspect({ a: { policy } }, { depth: 1 })).to.equal('{ a: { policy: [Policy] } }');
    // The other build (here, the ESM one) names its class so too.
    const empty = otherCopy.Policy.builder().build();
    expect(inspect(empty)).to.equal("Policy { name: 'policy', stages: [] }");
    expect(JSON.stringify(empty)).to.equal('{"name":"policy","stages":[]}');
  });

  it('R-POL-9: `policy.describe()` (one line per stage, outermost first)', () => {
    const lines = pricing().describe().split('\n');
    expect(lines).to.have.length(6);
    const kinds = ['fallback', 'rate-limiter', 'bulkhead', 'retry', 'circuit-breaker', 'timeout'];
    lines.forEach((line, i) => expect(line).to.include(kinds[i] as string));
    expect(lines[1]).to.include('100');
  });

  it('R-POL-10: `policy.wrap(fn)`: same parameters, returns a Promise', async () => {
    const policy = Policy.builder().retry({ maxAttempts: 2 }).build();
    function fetchPrice(this: { base: number } | void, id: string, qty: number): number {
      return (this ? this.base : 0) + id.length * qty;
    }
    const guarded = policy.wrap(fetchPrice);
    expect(guarded.name).to.equal('fetchPrice');
    expect(guarded.length).to.equal(2);
    const result = guarded.call({ base: 100 }, 'abc', 2);
    expect(result).to.be.instanceOf(Promise);
    expect(await result).to.equal(106);
    const sync = policy.wrap((): number => {
      throw new Boom();
    });
    expect(await rejectionOf(sync())).to.be.instanceOf(Boom);
  });

  it('R-POL-11: Caller abort: `policy.execute` rejects promptly with `signal.reason`; inner stages keep their slots until the work they wrap settles', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    const policy = Policy.builder().bulkhead(bulkhead).build();
    const controller = new AbortController();
    let finish!: () => void;
    const call = settle(
      policy.execute(() => new Promise<void>((r) => (finish = r)), { signal: controller.signal }),
    );
    await flush();
    controller.abort('caller');
    await flush();
    expect(call.reason).to.equal('caller');
    expect(bulkhead.availableSlots).to.equal(0);
    finish();
    await flush();
    expect(bulkhead.availableSlots).to.equal(1);
  });

  it('R-POL-11: An `execute` whose signal is already aborted rejects at once with its reason and counts in `calls` and `failures`', async () => {
    const policy = Policy.builder().build();
    const controller = new AbortController();
    controller.abort('early');
    let called = false;
    const error = await rejectionOf(
      policy.execute(
        () => {
          called = true;
        },
        { signal: controller.signal },
      ),
    );
    expect(error).to.equal('early');
    expect(called).to.equal(false);
    expect(policy.metrics()).to.include({ calls: 1, failures: 1, successes: 0 });
  });
});

describe('contract: policy events', () => {
  it('R-EVT-1: `policy.on(event, listener)` returns an unsubscribe function', async () => {
    const policy = Policy.builder().build();
    const seen: unknown[] = [];
    const off = policy.on('success', (e) => seen.push(e));
    await policy.execute(() => 1);
    off();
    await policy.execute(() => 1);
    expect(seen).to.have.length(1);
  });

  it('R-EVT-2, R-EVT-3: `success {durationMs}` and `failure {error, durationMs}` carry `policy`', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('ev').clock(clock).build();
    const seen: Array<[string, Record<string, unknown>]> = [];
    policy.on('success', (e) => seen.push(['success', e]));
    policy.on('failure', (e) => seen.push(['failure', e]));
    const ok = settle(policy.execute(() => new Promise((r) => clock.setTimeout(() => r(1), 40))));
    await clock.advance(40);
    expect(ok.value).to.equal(1);
    const boom = new Boom();
    await rejectionOf(policy.execute(() => Promise.reject(boom)));
    expect(seen[0]).to.deep.equal(['success', { policy: 'ev', durationMs: 40, fallback: false }]);
    expect(seen[1]?.[0]).to.equal('failure');
    expect(seen[1]?.[1]).to.deep.include({ policy: 'ev', error: boom, durationMs: 0 });
  });

  it('R-EVT-3: a call that began before any duration listener, its start never read, reports the time since listening began, with `partial: true`', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('late').clock(clock).build();
    const ok = deferred<number>();
    const bad = deferred<number>();
    const boom = new Boom();
    const running = [policy.execute(() => ok.promise), settle(policy.execute(() => bad.promise))];
    await clock.advance(100);
    const seen: Array<Record<string, unknown>> = [];
    const offSuccess = policy.on('success', (e) => seen.push(e));
    const offFailure = policy.on('failure', (e) => seen.push(e));
    await clock.advance(30);
    ok.resolve(1);
    bad.reject(boom);
    await Promise.all(running);
    // A call that starts while someone listens is timed from its start.
    const timed = deferred<number>();
    const next = policy.execute(() => timed.promise);
    await clock.advance(20);
    timed.resolve(2);
    await next;
    expect(seen).to.deep.equal([
      { policy: 'late', durationMs: 30, fallback: false, partial: true },
      { policy: 'late', error: boom, durationMs: 30, partial: true },
      { policy: 'late', durationMs: 20, fallback: false },
    ]);
    // Listening again later: timed from then.
    seen.length = 0;
    offSuccess();
    offFailure();
    const unheard = deferred<number>();
    const failing = settle(policy.execute(() => unheard.promise));
    await clock.advance(10);
    policy.on('failure', (e) => seen.push(e));
    await clock.advance(5);
    unheard.reject(boom);
    await failing;
    expect(seen).to.deep.equal([{ policy: 'late', error: boom, durationMs: 5, partial: true }]);
  });

  it("R-EVT-2, R-EVT-5: `retry {attempt, delayMs, error?, result?}` with `stage: 'retry'`; `attempt` is the attempt that just failed (1-based) and `delayMs` the wait before the next one; the event fires when the wait begins", async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('r')
      .clock(clock)
      .retry({ maxAttempts: 3, delay: 100, backoff: 2, clock })
      .build();
    const seen: Array<Record<string, unknown>> = [];
    let calls = 0;
    policy.on('retry', (e) => seen.push({ ...e, at: clock.now(), calls }));
    const errors = [new Boom('1'), new Boom('2'), new Boom('3')];
    const call = settle(policy.execute(() => Promise.reject(errors[calls++])));
    await clock.advance(1_000);
    expect(call.reason).to.equal(errors[2]);
    expect(seen).to.deep.equal([
      {
        policy: 'r',
        stage: 'retry',
        attempt: 1,
        delayMs: 100,
        error: errors[0],
        at: 1_000,
        calls: 1,
      },
      {
        policy: 'r',
        stage: 'retry',
        attempt: 2,
        delayMs: 200,
        error: errors[1],
        at: 1_100,
        calls: 2,
      },
    ]);
    const byResult = Policy.builder('rr')
      .retry({ maxAttempts: 2, retryOnResult: (r: number) => r < 0 })
      .build();
    const results: unknown[] = [];
    byResult.on('retry', (e) => results.push(e));
    let n = -1;
    expect(await byResult.execute(() => n++)).to.equal(0);
    expect(results).to.deep.equal([
      { policy: 'rr', stage: 'retry', attempt: 1, delayMs: 0, result: -1 },
    ]);
  });

  it("R-EVT-2, R-EVT-6: `rejected {reason: 'rate-limit' | 'bulkhead' | 'circuit-open', error}` with the stage's kind", async () => {
    const limiter = new RateLimiter({ maxTokens: 1 });
    limiter.tryAcquire();
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    bulkhead.tryAcquire();
    const breaker = new CircuitBreaker();
    breaker.isolate();
    const seen: Array<Record<string, unknown>> = [];
    for (const [name, builder] of [
      ['rl', Policy.builder('rl').rateLimiter(limiter)],
      ['bh', Policy.builder('bh').bulkhead(bulkhead)],
      ['cb', Policy.builder('cb').circuitBreaker(breaker)],
    ] as const) {
      const policy = builder.build();
      policy.on('rejected', (e) => seen.push(e));
      const error = await rejectionOf(policy.execute(() => 1));
      expect(seen.at(-1)?.error, name).to.equal(error);
    }
    expect(seen.map(({ policy, stage, reason }) => ({ policy, stage, reason }))).to.deep.equal([
      { policy: 'rl', stage: 'rate-limiter', reason: 'rate-limit' },
      { policy: 'bh', stage: 'bulkhead', reason: 'bulkhead' },
      { policy: 'cb', stage: 'circuit-breaker', reason: 'circuit-open' },
    ]);
    expect(seen[0]?.error).to.be.instanceOf(RateLimitExceededError);
    expect(seen[1]?.error).to.be.instanceOf(BulkheadFullError);
    expect(seen[2]?.error).to.be.instanceOf(CircuitOpenError);
  });

  it("R-EVT-9: a custom stage's own refusal or timeout is reported under its kind and counted; what came out of its `next` is not its own", async () => {
    const errors = [
      new RateLimitExceededError(10),
      new BulkheadFullError(1, 0),
      new CircuitOpenError('open', 10),
      new OperationTimeoutError(75),
    ];
    let i = 0;
    const own: Stage = {
      kind: 'guard',
      execute: () => Promise.reject(errors[i++]),
    };
    const limiter = new RateLimiter({ maxTokens: 1 });
    limiter.tryAcquire();
    const passing: Stage = { kind: 'pass', execute: (ctx, next) => next(ctx) };
    const policy = Policy.builder('p').use(own).build();
    const inner = Policy.builder('q').use(passing).rateLimiter(limiter).build();
    const work = Policy.builder('w').use(passing).build();
    const seen: Array<Record<string, unknown>> = [];
    for (const p of [policy, inner, work]) {
      p.on('rejected', (e) => seen.push({ ...e }));
      p.on('timeout', (e) => seen.push({ ...e }));
    }
    for (const error of errors) expect(await rejectionOf(policy.execute(() => 1))).to.equal(error);
    const refused = await rejectionOf(inner.execute(() => 1));
    // The work's own refusal is a user error: reported by nobody.
    const mine = new CircuitOpenError('open', 1);
    expect(await rejectionOf(work.execute(() => Promise.reject(mine)))).to.equal(mine);
    expect(seen).to.deep.equal([
      { policy: 'p', stage: 'guard', reason: 'rate-limit', error: errors[0] },
      { policy: 'p', stage: 'guard', reason: 'bulkhead', error: errors[1] },
      { policy: 'p', stage: 'guard', reason: 'circuit-open', error: errors[2] },
      { policy: 'p', stage: 'guard', timeoutMs: 75 },
      { policy: 'q', stage: 'rate-limiter', reason: 'rate-limit', error: refused },
    ]);
    expect(policy.metrics()).to.deep.include({
      rejections: { rateLimit: 1, bulkhead: 1, circuitOpen: 1 },
      timeouts: 1,
    });
    expect(inner.metrics().rejections).to.deep.equal({ rateLimit: 1, bulkhead: 0, circuitOpen: 0 });
    expect(work.metrics().rejections).to.deep.equal({ rateLimit: 0, bulkhead: 0, circuitOpen: 0 });
  });

  it("R-EVT-2, R-EVT-7: `timeout {timeoutMs}` with `stage: 'timeout'`; `fallback {error}` with `stage: 'fallback'`", async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('tf')
      .clock(clock)
      .fallback({ value: 'fb' })
      .timeout({ timeout: 250, clock })
      .build();
    const seen: Array<[string, Record<string, unknown>]> = [];
    policy.on('timeout', (e) => seen.push(['timeout', e]));
    policy.on('fallback', (e) => seen.push(['fallback', e]));
    const call = settle(policy.execute(() => never()));
    await clock.advance(250);
    expect(call.value).to.equal('fb');
    expect(seen[0]).to.deep.equal(['timeout', { policy: 'tf', stage: 'timeout', timeoutMs: 250 }]);
    expect(seen[1]?.[0]).to.equal('fallback');
    expect(seen[1]?.[1]).to.include({ policy: 'tf', stage: 'fallback' });
    expect(seen[1]?.[1].error).to.be.instanceOf(OperationTimeoutError);
  });

  it("R-EVT-2, R-EVT-8: `circuit-state {from, to}` with `stage: 'circuit-breaker'`", async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('cs')
      .clock(clock)
      .circuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock })
      .build();
    const seen: unknown[] = [];
    policy.on('circuit-state', (e) => seen.push(e));
    await rejectionOf(policy.execute(() => Promise.reject(new Boom())));
    await clock.advance(100);
    await policy.execute(() => 1);
    expect(seen).to.deep.equal([
      { policy: 'cs', stage: 'circuit-breaker', from: 'closed', to: 'open' },
      { policy: 'cs', stage: 'circuit-breaker', from: 'open', to: 'half-open' },
      { policy: 'cs', stage: 'circuit-breaker', from: 'half-open', to: 'closed' },
    ]);
  });

  it('R-LIFE-3: A listener that throws never breaks the call', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder()
      .clock(clock)
      .fallback({ value: 'fb' })
      .retry({ maxAttempts: 2 })
      .timeout({ timeout: 10, clock })
      .build();
    for (const event of ['success', 'failure', 'retry', 'timeout', 'fallback'] as const) {
      policy.on(event, () => {
        throw new Error(`listener of ${event}`);
      });
    }
    expect(await policy.execute(() => 'ok')).to.equal('ok');
    const call = settle(policy.execute(() => never()));
    await clock.advance(20);
    expect(call.value).to.equal('fb');
  });
});

describe('contract: policy metrics', () => {
  it('R-MET-1: `policy.metrics()`: `{ calls, successes, failures, rejections: { rateLimit, bulkhead, circuitOpen }, retries, timeouts, fallbacks, stages }`', () => {
    const metrics = Policy.builder().build().metrics();
    expect(metrics).to.deep.equal({
      calls: 0,
      successes: 0,
      failures: 0,
      rejections: { rateLimit: 0, bulkhead: 0, circuitOpen: 0 },
      retries: 0,
      timeouts: 0,
      fallbacks: 0,
      stages: [],
    });
  });

  it('R-MET-4: `stages`: per-stage live state: circuit state, availableTokens, availableSlots / maxConcurrent, queued', async () => {
    const clock = new ManualClock(1_000);
    const policy = pricing(clock);
    const held = settle(policy.execute(() => never()));
    await flush();
    const [fallback, limiter, bulkhead, retry, breaker, timeout] = policy.metrics().stages;
    expect(fallback).to.include({ kind: 'fallback', name: 'fallback' });
    expect(limiter).to.include({ kind: 'rate-limiter', name: 'rate-limiter', availableTokens: 99 });
    expect(bulkhead).to.include({
      kind: 'bulkhead',
      name: 'bulkhead',
      availableSlots: 9,
      maxConcurrent: 10,
      queued: 0,
    });
    expect(retry).to.include({ kind: 'retry', name: 'retry' });
    expect(breaker).to.deep.equal({
      kind: 'circuit-breaker',
      name: 'circuit-breaker',
      state: 'closed',
      failureRate: 0,
      slowCallRate: 0,
      bufferedCalls: 0,
      failedCalls: 0,
      slowCalls: 0,
    });
    expect(timeout).to.include({ kind: 'timeout', name: 'timeout' });
    await clock.advance(20_000);
    expect(held.status).to.equal('fulfilled');
  });

  it('R-MET-2: `calls` counts executions; `successes` those that resolved (by the thunk or by a fallback); `failures` those that rejected, for any reason', async () => {
    const policy = Policy.builder()
      .fallback({ value: 'fb', on: [Boom] })
      .build();
    await policy.execute(() => 1);
    await policy.execute(() => Promise.reject(new Boom()));
    await rejectionOf(policy.execute(() => Promise.reject(new TypeError())));
    const failures: unknown[] = [];
    policy.on('failure', (e) => failures.push(e.error));
    await rejectionOf(policy.execute(123 as never));
    expect(policy.metrics()).to.include({ calls: 4, successes: 2, failures: 2, fallbacks: 1 });
    expect(failures).to.have.length(1);
    expect(failures[0]).to.be.instanceOf(TypeError);
  });

  it('R-MET-3: `rejections.*`, `retries`, `timeouts` and `fallbacks` count those events as they happen, whether or not an outer stage then handled them', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({ maxTokens: 1, clock });
    limiter.tryAcquire();
    const limited = Policy.builder().fallback({ value: 0 }).rateLimiter(limiter).build();
    expect(await limited.execute(() => 1)).to.equal(0);
    expect(limited.metrics()).to.deep.include({
      calls: 1,
      successes: 1,
      failures: 0,
      fallbacks: 1,
      rejections: { rateLimit: 1, bulkhead: 0, circuitOpen: 0 },
    });

    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    bulkhead.tryAcquire();
    const breaker = new CircuitBreaker();
    breaker.isolate();
    const both = Policy.builder().fallback({ value: 0 }).bulkhead(bulkhead).build();
    await both.execute(() => 1);
    const open = Policy.builder().fallback({ value: 0 }).circuitBreaker(breaker).build();
    await open.execute(() => 1);
    expect(both.metrics().rejections).to.deep.equal({ rateLimit: 0, bulkhead: 1, circuitOpen: 0 });
    expect(open.metrics().rejections).to.deep.equal({ rateLimit: 0, bulkhead: 0, circuitOpen: 1 });

    const timed = Policy.builder()
      .clock(clock)
      .fallback({ value: 'fb' })
      .retry({ maxAttempts: 3, clock })
      .timeout({ timeout: 100, clock })
      .build();
    const call = settle(timed.execute(() => never()));
    await clock.advance(300);
    expect(call.value).to.equal('fb');
    expect(timed.metrics()).to.include({
      calls: 1,
      successes: 1,
      failures: 0,
      retries: 2,
      timeouts: 3,
      fallbacks: 1,
    });
  });

  it("R-MET-3, R-EVT-5: `retries` counts every `retry` event, one with `skipped: 'deadline'` or `'budget'` included", async () => {
    const clock = new ManualClock(1_000);
    const late = Policy.builder()
      .clock(clock)
      .timeout({ timeout: 1_000, clock })
      .retry({ maxAttempts: 5, delay: 400, clock })
      .build();
    const events: unknown[] = [];
    late.on('retry', (e) => events.push(e.skipped));
    const call = settle(late.execute(() => Promise.reject(new Boom())));
    await clock.advance(400);
    await clock.advance(400);
    expect(call.reason).to.be.instanceOf(Boom);
    // Waits end at 400 and 800; the third would end at 1,200, past the deadline at 1,000.
    expect(events).to.deep.equal([undefined, undefined, 'deadline']);
    expect(late.metrics().retries).to.equal(3);

    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, clock });
    const refused = Policy.builder().clock(clock).retry({ maxAttempts: 3, budget, clock }).build();
    const skipped: unknown[] = [];
    refused.on('retry', (e) => skipped.push(e.skipped));
    expect(await rejectionOf(refused.execute(() => Promise.reject(new Boom())))).to.be.instanceOf(
      Boom,
    );
    expect(skipped).to.deep.equal(['budget']);
    expect(refused.metrics().retries).to.equal(1);
  });
});

/** The fields of an execution context, read once. */
function pick(ctx: ExecutionContext): ExecutionContext {
  const { policyName, signal, attempt, startedAt, data, deadline, remaining } = ctx;
  return { policyName, signal, attempt, startedAt, data, deadline, remaining };
}
