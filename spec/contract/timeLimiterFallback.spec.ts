// The time limiter, fallback, every-primitive and clock rules of docs/CONTRACT.md (R-TL-*, R-FB-*,
// R-PRIM-*, R-CLOCK-*).
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import sinon from 'sinon';
import {
  Bulkhead,
  CircuitBreaker,
  Fallback,
  Hedge,
  OperationTimeoutError,
  Policy,
  RateLimiter,
  Retry,
  systemClock,
  TimeLimiter,
  type Clock,
} from 'bulwark';
import { flush, never, rejectionOf, settle } from './support.js';

class Expected extends Error {}
class Other extends Error {}

describe('contract: TimeLimiter', () => {
  it('R-TL-1: `{ timeout: Duration (default 30s), name?: string }`', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new TimeLimiter({ clock });
    expect(limiter.timeoutMs).to.equal(30_000);
    const call = settle(limiter.execute(() => never()));
    await clock.advance(29_999);
    expect(call.status).to.equal('pending');
    await clock.advance(1);
    expect(call.status).to.equal('rejected');
    expect((call.reason as Error).message).to.equal('operation exceeded timeout of 30.0s');
    const named = new TimeLimiter({ timeout: '250ms', name: 'inventory', clock });
    const out = settle(
      named.execute(async function fetchStock() {
        return never();
      }),
    );
    await clock.advance(250);
    expect((out.reason as Error).message).to.equal('inventory exceeded timeout of 0.25s');
  });

  it('R-TL-2: `execute(fn, signal?)` passes `fn` a signal that aborts at the deadline', async () => {
    const clock = new ManualClock(1_000);
    let signal: AbortSignal | undefined;
    const call = settle(
      new TimeLimiter({ timeout: '1.5s', clock }).execute((s) => {
        signal = s;
        return never();
      }),
    );
    await clock.advance(1_499);
    expect(signal?.aborted).to.equal(false);
    await clock.advance(1);
    expect(signal?.aborted).to.equal(true);
    expect(signal?.reason).to.be.instanceOf(OperationTimeoutError);
    expect(call.reason).to.be.instanceOf(OperationTimeoutError);
    expect((call.reason as Error).message).to.equal('operation exceeded timeout of 1.5s');
  });

  it("R-TL-2: ...and when the caller's signal aborts", async () => {
    const clock = new ManualClock(1_000);
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const call = settle(
      new TimeLimiter({ timeout: '5s', clock }).execute((s) => {
        signal = s;
        return never();
      }, controller.signal),
    );
    const reason = new Error('caller');
    controller.abort(reason);
    await flush();
    expect(signal?.aborted).to.equal(true);
    expect(signal?.reason).to.equal(reason);
    expect(call.reason).to.equal(reason);
  });

  it('R-TL-3: rejects at the deadline with `OperationTimeoutError` whether or not `fn` honours the signal', async () => {
    const clock = new ManualClock(1_000);
    const ignoring = settle(new TimeLimiter({ timeout: 100, clock }).execute(() => never()));
    const honouring = settle(
      new TimeLimiter({ timeout: 100, clock }).execute(
        (signal) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      ),
    );
    await clock.advance(100);
    expect(ignoring.reason).to.be.instanceOf(OperationTimeoutError);
    expect(honouring.reason).to.be.instanceOf(OperationTimeoutError);
    expect((ignoring.reason as OperationTimeoutError).timeoutMs).to.equal(100);
  });

  it('R-TL-3: a result before the deadline is returned as is', async () => {
    expect(await new TimeLimiter({ timeout: '1s' }).execute(() => 42)).to.equal(42);
  });

  it('R-ERR-5: Timeout messages print seconds with at least one decimal: `5.0s`, `1.5s`, `0.25s`', () => {
    expect(new OperationTimeoutError(5_000, 'a').message).to.equal('a exceeded timeout of 5.0s');
    expect(new OperationTimeoutError(1_500, 'a').message).to.equal('a exceeded timeout of 1.5s');
    expect(new OperationTimeoutError(250, 'a').message).to.equal('a exceeded timeout of 0.25s');
    expect(new OperationTimeoutError(60_000, 'a').message).to.equal('a exceeded timeout of 60.0s');
    expect(new OperationTimeoutError(100).message).to.equal('operation exceeded timeout of 0.1s');
  });

  it('R-TL-6, R-LIFE-1, R-LIFE-2: Its deadline keeps the process alive while a call waits on it, and none is left once every call has settled', async function () {
    this.timeout(15_000);
    const script = [
      "import { TimeLimiter } from 'bulwark';",
      "await new TimeLimiter({ timeout: '1h' }).execute(() => 'done');",
      'const short = new TimeLimiter({ timeout: 100 });',
      'const error = await short.execute(() => new Promise(() => {})).catch((e) => e);',
      "console.log('finished', error.name);",
    ].join('\n');
    const started = performance.now();
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { cwd: process.cwd(), timeout: 10_000 },
        (error, out) => (error === null ? resolve(out) : reject(error)),
      ),
    );
    expect(stdout.trim()).to.equal('finished OperationTimeoutError');
    expect(performance.now() - started).to.be.below(10_000);
  });

  it("R-TL-7: `mode: 'cooperative'` aborts the signal at the deadline, then passes on fn's own outcome", async () => {
    const clock = new ManualClock();
    const limiter = new TimeLimiter({ timeout: 100, mode: 'cooperative', clock });
    let reason: unknown;
    const value = settle(
      limiter.execute(
        (signal) =>
          new Promise((resolve) =>
            signal.addEventListener('abort', () => {
              reason = signal.reason;
              resolve('finished anyway');
            }),
          ),
      ),
    );
    await clock.advance(100);
    expect(reason).to.be.instanceOf(OperationTimeoutError);
    expect(value).to.deep.include({ status: 'fulfilled', value: 'finished anyway' });
    const own = new Error('gave up');
    const error = settle(
      limiter.execute(
        (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(own))),
      ),
    );
    await clock.advance(100);
    expect(error).to.deep.include({ status: 'rejected', reason: own });
  });

  it('R-TL-8: ctx.deadline and ctx.remaining: the earliest enclosing deadline, Infinity outside', async () => {
    const clock = new ManualClock(500);
    const seen: number[] = [];
    const probe = (ctx: { deadline: number; remaining: number }) => {
      seen.push(ctx.deadline, ctx.remaining);
    };
    await Policy.builder().clock(clock).build().execute(probe);
    await Policy.builder()
      .clock(clock)
      .timeout({ timeout: 300, clock })
      .timeout({ timeout: 900, clock })
      .build()
      .execute(probe);
    expect(seen).to.deep.equal([Infinity, Infinity, 800, 300]);
  });
});

describe('contract: Fallback', () => {
  it('R-FB-2: `{ value }`: resolves with the value on an error', async () => {
    expect(
      await new Fallback({ value: 'cached' }).execute(() => Promise.reject(new Error())),
    ).to.equal('cached');
    expect(await new Fallback({ value: 'cached' }).execute(() => 'fresh')).to.equal('fresh');
  });

  it('R-FB-1: presence of the key counts, so `{ value: undefined }` is valid', async () => {
    const fallback = new Fallback({ value: undefined });
    expect(await fallback.execute(() => Promise.reject(new Error()))).to.equal(undefined);
    expect(
      await Policy.builder()
        .fallback({ value: undefined })
        .build()
        .execute(() => Promise.reject(new Error())),
    ).to.equal(undefined);
  });

  it('R-FB-2: `{ method }`: `method(error, ...args)` may be sync or async', async () => {
    const error = new Error('down');
    let seen: unknown;
    const sync = new Fallback({
      method: (e: unknown) => {
        seen = e;
        return 'sync';
      },
    });
    expect(await sync.execute(() => Promise.reject(error))).to.equal('sync');
    expect(seen).to.equal(error);
    const async = new Fallback({ method: async () => 'async' });
    expect(await async.execute(() => Promise.reject(error))).to.equal('async');
  });

  it('R-FB-1, R-FB-3: `on?: ErrorFilter` (default all errors): other errors propagate unchanged', async () => {
    const fallback = new Fallback({ value: 'fb', on: [Expected] });
    expect(await fallback.execute(() => Promise.reject(new Expected()))).to.equal('fb');
    const other = new Other();
    expect(await rejectionOf(fallback.execute(() => Promise.reject(other)))).to.equal(other);
    const byPredicate = new Fallback({ value: 'fb', on: (e) => e instanceof Other });
    expect(await byPredicate.execute(() => Promise.reject(other))).to.equal('fb');
    expect(await new Fallback({ value: 1 }).execute(() => Promise.reject('a string'))).to.equal(1);
  });

  it('R-FB-7: in a policy a fallback is counted and reported once its method supplied a value or failed with another error; one that rethrows its error declines it', async () => {
    const primary = new Error('upstream 500');
    const cacheMiss = new Error('cache miss');
    const outcomes: Record<string, (error: unknown) => unknown> = {
      supplied: () => 'cached',
      failed: () => Promise.reject(cacheMiss),
      declined: (error) => {
        throw error;
      },
    };
    const seen: Record<string, unknown> = {};
    for (const [name, method] of Object.entries(outcomes)) {
      const policy = Policy.builder(name).fallback({ method }).build();
      const events: unknown[] = [];
      policy.on('fallback', (e) => events.push(e.error));
      const outcome = await policy.execute(() => Promise.reject(primary)).catch((e: unknown) => e);
      const { fallbacks, successes, failures } = policy.metrics();
      seen[name] = { outcome, events, fallbacks, successes, failures };
    }
    expect(seen).to.deep.equal({
      supplied: { outcome: 'cached', events: [primary], fallbacks: 1, successes: 1, failures: 0 },
      failed: { outcome: cacheMiss, events: [primary], fallbacks: 1, successes: 0, failures: 1 },
      declined: { outcome: primary, events: [], fallbacks: 0, successes: 0, failures: 1 },
    });
  });

  it('R-FB-1: neither or both of `value` / `method` throws `TypeError`', () => {
    expect(() => new Fallback({} as never)).to.throw(TypeError);
    expect(() => new Fallback({ value: 1, method: () => 1 } as never)).to.throw(TypeError);
    expect(() => new Fallback({ on: [Expected] } as never)).to.throw(TypeError);
  });

  it('R-FB-2: in a policy it is called as `method(error, ctx)`', async () => {
    const error = new Error('down');
    const calls: unknown[][] = [];
    const policy = Policy.builder('pricing')
      .fallback({
        method: (...args: unknown[]) => {
          calls.push(args);
          return 0;
        },
      })
      .build();
    expect(await policy.execute(() => Promise.reject(error), { data: { id: 'A1' } })).to.equal(0);
    expect(calls).to.have.length(1);
    const [received, ctx] = calls[0] as [
      unknown,
      { policyName: string; data: Map<string, unknown> },
    ];
    expect(calls[0]).to.have.length(2);
    expect(received).to.equal(error);
    expect(ctx.policyName).to.equal('pricing');
    expect(ctx.data.get('id')).to.equal('A1');
  });

  it('R-PRIM-2: Fallback takes no `clock` (it measures no time)', () => {
    expect(() => new Fallback({ value: 1, clock: systemClock } as never)).to.throw(
      TypeError,
      'unknown option `clock`',
    );
    expect(() => Policy.builder().fallback({ value: 1, clock: systemClock } as never)).to.throw(
      TypeError,
    );
  });
});

describe('contract: Standalone primitives', () => {
  const primitives: Array<
    [string, (fn: (s: AbortSignal) => unknown, s?: AbortSignal) => Promise<unknown>]
  > = [
    ['Retry', (fn, s) => new Retry().execute(fn, s)],
    ['CircuitBreaker', (fn, s) => new CircuitBreaker().execute(fn, s)],
    ['RateLimiter', (fn, s) => new RateLimiter().execute(fn, s)],
    ['Bulkhead', (fn, s) => new Bulkhead().execute(fn, s)],
    ['TimeLimiter', (fn, s) => new TimeLimiter().execute(fn, s)],
    ['Fallback', (fn, s) => new Fallback({ value: 0, on: [Expected] }).execute(fn, s)],
  ];

  for (const [name, execute] of primitives) {
    it(`R-PRIM-1: ${name}: \`execute(fn, signal?)\` where \`fn: (signal: AbortSignal) => T | PromiseLike<T>\` and the result is \`Promise<T>\``, async () => {
      let received: unknown;
      const sync = execute((signal) => {
        received = signal;
        return 'sync';
      });
      expect(sync).to.be.instanceOf(Promise);
      expect(await sync).to.equal('sync');
      expect(received).to.be.instanceOf(AbortSignal);
      expect(await execute(async () => 'async')).to.equal('async');
      const thenable: PromiseLike<string> = { then: (resolve) => resolve?.('thenable') as never };
      expect(await execute(() => thenable)).to.equal('thenable');
      const thrown = new Other();
      const rejected = execute(() => {
        throw thrown;
      });
      expect(rejected).to.be.instanceOf(Promise);
      expect(await rejectionOf(rejected)).to.equal(thrown);
    });

    it(`R-PRIM-3: ${name}: an already-aborted signal rejects at once with its reason, without calling fn`, async () => {
      const controller = new AbortController();
      controller.abort(new Error('already'));
      let called = false;
      const error = await rejectionOf(
        execute(() => {
          called = true;
        }, controller.signal),
      );
      expect(error).to.equal(controller.signal.reason);
      expect(called).to.equal(false);
    });

    it(`R-PRIM-3: ${name}: when the caller's signal aborts, execute rejects promptly with \`signal.reason\``, async () => {
      const controller = new AbortController();
      const call = settle(execute(() => never(), controller.signal));
      await flush();
      const reason = { why: 'gone' };
      controller.abort(reason);
      await flush();
      expect(call.status).to.equal('rejected');
      expect(call.reason).to.equal(reason);
    });
  }

  it('R-PRIM-2: All take an optional `clock` (see Clock) so time can be faked in tests', async () => {
    const clock = new ManualClock(1_000);
    const makers: Array<(c: Clock) => unknown> = [
      (c) => new Retry({ clock: c }),
      (c) => new CircuitBreaker({ clock: c }),
      (c) => new RateLimiter({ clock: c }),
      (c) => new Bulkhead({ clock: c }),
      (c) => new TimeLimiter({ clock: c }),
    ];
    for (const make of makers) expect(() => make(clock)).to.not.throw();
  });
});

describe('contract: Clock', () => {
  afterEach(() => sinon.restore());

  it('R-CLOCK-1: `interface Clock { now(): number; setTimeout(fn, ms): unknown; clearTimeout(handle): void }`', () => {
    const clock: Clock = new ManualClock(1_000);
    expect(clock.now()).to.be.a('number');
    const handle = clock.setTimeout(() => {}, 5);
    clock.clearTimeout(handle);
  });

  it('R-CLOCK-2: `systemClock` is the default (monotonic `performance.now()`)', async () => {
    const fake = sinon.useFakeTimers();
    const start = systemClock.now();
    expect(start).to.equal(performance.now());
    fake.tick(1_234);
    expect(systemClock.now() - start).to.equal(1_234);
    // The default clock of a primitive is the system clock: fake timers drive it.
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '10s' });
    await rejectionOf(breaker.execute(() => Promise.reject(new Error())));
    fake.tick(9_999);
    expect(breaker.state).to.equal('open');
    fake.tick(1);
    expect(breaker.state).to.equal('half-open');
  });

  it('R-CLOCK-2: `systemClock` timers are ordinary (ref’d) timers', () => {
    let ran = false;
    const handle = systemClock.setTimeout(() => {
      ran = true;
    }, 60_000) as { hasRef(): boolean };
    expect(handle.hasRef()).to.equal(true);
    systemClock.clearTimeout(handle);
    expect(ran).to.equal(false);
  });

  it('R-CLOCK-3: Tests use sinon fake timers or a hand-made clock', async () => {
    const fake = sinon.useFakeTimers();
    const call = settle(new TimeLimiter({ timeout: '2s' }).execute(() => never()));
    await fake.tickAsync(2_000);
    expect(call.reason).to.be.instanceOf(OperationTimeoutError);
  });

  it("R-CLOCK-3: the async tick starts what a deadline starts on time (a retry's wait)", async () => {
    const fake = sinon.useFakeTimers();
    const attempts: number[] = [];
    const policy = Policy.builder('clock3')
      .retry({ maxAttempts: 2, delay: 50 })
      .timeout(100)
      .build();
    const call = settle(
      policy.execute(() => {
        attempts.push(performance.now());
        return never();
      }),
    );
    // The first attempt times out at 100, the retry waits 50: the second attempt starts at 150.
    await fake.tickAsync(200);
    expect(attempts).to.deep.equal([0, 150]);
    await fake.tickAsync(100);
    expect(call.reason).to.be.instanceOf(OperationTimeoutError);
    expect(fake.countTimers()).to.equal(0);
  });

  it("R-CLOCK-3: a hedge's later delays count from when each timer fired, even after a synchronous tick", async () => {
    const fake = sinon.useFakeTimers();
    const starts: number[] = [];
    const hedge = new Hedge({ maxHedges: 2, delay: 100 });
    const call = settle(
      hedge.execute((_signal, attempt) => {
        starts.push(performance.now());
        return attempt === 3 ? 'third' : never();
      }),
    );
    fake.tick(150);
    for (let i = 0; i < 10; i++) await Promise.resolve();
    // The first delay's attempt starts once the tick returned; the second delay ran from 100.
    expect(starts).to.deep.equal([0, 150]);
    await fake.tickAsync(50);
    expect(starts).to.deep.equal([0, 150, 200]);
    expect(call.value).to.equal('third');
  });
});
