// Plain regression specs for bugs the reliability suite found, each the shrunk failing case.
import { expect } from 'chai';
import { build } from 'esbuild';
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as sinon from 'sinon';
import { CircuitOpenError, OperationTimeoutError } from '../../src/errors.js';
import { NEVER_ABORTED } from '../../src/internal/signals.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { InMemoryCircuitBreakerStore } from '../../src/strategies/circuit-breaker/store.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { InMemoryRateLimiterStore } from '../../src/strategies/rate-limiter/store.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';
import type { Stage } from '../../src/pipeline/Stage.js';
import { ManualClock } from '../support/clock.js';
import { deferred, flush, settle } from './support.js';
import { BulkheadFullError } from '../../src/errors.js';
import {
  InMemoryBulkheadStore,
  type BulkheadStore,
  type BulkheadStoreConfig,
  type BulkheadTicket,
} from '../../src/strategies/bulkhead/store.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { instrument } from '../../src/otel/index.js';
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';

class Ignored extends Error {}

const neverListeners = () => getEventListeners(NEVER_ABORTED, 'abort').length;

describe('Regressions', () => {
  describe('CircuitBreaker', () => {
    // Found by the model check: a probe admitted in one HALF_OPEN period that ended (here with an
    // error recordOn ignores) in a later period gave back a slot it did not hold there, so a
    // third probe was admitted with halfOpenMaxCalls 2.
    it('does not let a probe from an earlier half-open period free a slot in the next one', async () => {
      const clock = new ManualClock(0);
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        recoveryTimeout: 100,
        halfOpenMaxCalls: 2,
        recordOn: (e) => !(e instanceof Ignored),
        clock,
      });
      await breaker.execute(() => Promise.reject(new Error('trip'))).catch(() => undefined);
      await clock.advance(100);
      const first = deferred<string>();
      const second = deferred<string>();
      settle(breaker.execute(() => first.promise));
      settle(breaker.execute(() => second.promise));
      first.reject(new Error('probe failed')); // re-opens
      await flush();
      await clock.advance(100);
      const third = deferred<string>();
      settle(breaker.execute(() => third.promise));
      settle(breaker.execute(() => deferred<string>().promise));
      second.reject(new Ignored('from the last period'));
      await flush();
      let called = false;
      const extra = settle(
        breaker.execute(() => {
          called = true;
          return 'extra';
        }),
      );
      await flush();
      expect(called, 'a third probe was admitted').to.equal(false);
      expect(extra.reason).to.be.instanceOf(CircuitOpenError);
      expect((extra.reason as CircuitOpenError).state).to.equal('half-open');
    });

    // The same through a policy: the stage calls beforeCall/onFailure/onCancel, so the breaker
    // needs the ticket beforeCall returns to know which calls hold a probe slot.
    it('does not let a call admitted while closed free a probe slot through a policy', async () => {
      const clock = new ManualClock(0);
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        recoveryTimeout: 100,
        recordOn: (e) => !(e instanceof Ignored),
        clock,
      });
      const policy = Policy.builder('p').clock(clock).circuitBreaker(breaker).build();
      const stale = deferred<string>();
      const cancelled = new AbortController();
      const staleRun = settle(policy.execute(() => stale.promise));
      const cancelledRun = settle(
        policy.execute(() => deferred<string>().promise, { signal: cancelled.signal }),
      );
      await policy.execute(() => Promise.reject(new Error('trip'))).catch(() => undefined);
      await clock.advance(100);
      const probe = deferred<string>();
      settle(policy.execute(() => probe.promise)); // the one probe
      stale.reject(new Ignored('admitted while closed'));
      cancelled.abort(new Error('caller gave up'));
      await flush();
      expect(staleRun.status).to.equal('rejected');
      expect(cancelledRun.status).to.equal('rejected');
      let called = false;
      const extra = settle(
        policy.execute(() => {
          called = true;
          return 'extra';
        }),
      );
      await flush();
      expect(called, 'a second probe was admitted').to.equal(false);
      expect(extra.reason).to.be.instanceOf(CircuitOpenError);
    });
  });

  describe('Retry', () => {
    // Found by the property: a custom `random` returning 7 made a wait 14 times the formula's.
    it('keeps every wait within ±jitter even when a custom random returns values outside [0, 1]', () => {
      for (const r of [7, 1.5, -3, NaN, Infinity, -Infinity]) {
        const retry = new Retry({ delay: 100, jitter: 0.5, random: () => r });
        const wait = retry.delayFor(0);
        expect(wait, `random() = ${r}`).to.be.within(50, 150);
      }
    });

    it('does not listen to the shared never-aborting signal while it waits', async () => {
      const clock = new ManualClock(0);
      const retry = new Retry({ maxAttempts: 2, delay: 1000, clock });
      const runs = Array.from({ length: 20 }, () =>
        settle(retry.runAttempts(() => Promise.reject(new Error('x')), { signal: NEVER_ABORTED })),
      );
      await flush();
      expect(neverListeners()).to.equal(0);
      await clock.advance(1000);
      for (const run of runs) expect(run.status).to.equal('rejected');
    });
  });

  describe('Queues and the shared never-aborting signal', () => {
    // Found by the chaos spec (MaxListenersExceededWarning): a policy called without a signal
    // hands its stages NEVER_ABORTED, and every queued caller added a listener to that one object.
    it('queued Bulkhead callers do not listen to NEVER_ABORTED', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 20 });
      const gate = deferred<void>();
      const runs = Array.from({ length: 20 }, () =>
        settle(bulkhead.acquire(NEVER_ABORTED).then(() => gate.promise)),
      );
      await flush();
      expect(bulkhead.queued).to.equal(19);
      expect(neverListeners()).to.equal(0);
      for (let i = 0; i < 20; i++) bulkhead.release();
      gate.resolve();
      await flush();
      for (const run of runs) expect(run.status).to.equal('fulfilled');
    });

    it('waiting RateLimiter callers do not listen to NEVER_ABORTED', async () => {
      const clock = new ManualClock(0);
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1000, maxWait: '1s', clock });
      const runs = Array.from({ length: 20 }, () => settle(limiter.acquire(1, NEVER_ABORTED)));
      await flush();
      expect(limiter.queued).to.equal(19);
      expect(neverListeners()).to.equal(0);
      await clock.advance(100);
      for (const run of runs) expect(run.status).to.equal('fulfilled');
    });

    it('a policy without a caller signal adds no listener to NEVER_ABORTED while retries wait', async () => {
      const clock = new ManualClock(0);
      const policy = Policy.builder('never')
        .clock(clock)
        .bulkhead({ maxConcurrent: 2, maxQueue: 20, clock })
        .retry({ maxAttempts: 2, delay: 1000, clock })
        .build();
      const runs = Array.from({ length: 12 }, () =>
        settle(policy.execute(() => Promise.reject(new Error('x')))),
      );
      await flush();
      expect(neverListeners(), 'listeners on NEVER_ABORTED').to.equal(0);
      await clock.advance(60_000);
      for (const run of runs) expect(run.status).to.equal('rejected');
    });
  });

  describe('PolicyBuilder', () => {
    // Found by the hostile matrix: a builder method built its primitive (which configures the
    // store it was given) before checking the stage name, so a call that failed on the name
    // still used up the shared store.
    it('a call that fails on its name does not take the store it was given', () => {
      const breakerStore = new InMemoryCircuitBreakerStore();
      const limiterStore = new InMemoryRateLimiterStore();
      const builder = Policy.builder('b');
      expect(() => builder.circuitBreaker({ store: breakerStore }, 42 as never)).to.throw(
        TypeError,
        /`name`/,
      );
      expect(() => builder.rateLimiter({ store: limiterStore }, 42 as never)).to.throw(
        TypeError,
        /`name`/,
      );
      expect(() => new CircuitBreaker({ store: breakerStore })).to.not.throw();
      expect(() => new RateLimiter({ store: limiterStore })).to.not.throw();
    });
  });

  describe('Hardening: waits, options and names', () => {
    describe('retries yield to the event loop', () => {
      let clock: sinon.SinonFakeTimers;
      beforeEach(() => {
        clock = sinon.useFakeTimers({
          toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'],
        });
      });
      afterEach(() => clock.restore());

      // Found by the hostile tester: zero-delay retries ran back to back in microtasks, so the
      // deadline timer never got a turn and the call ran a million attempts (forever with
      // Number.MAX_SAFE_INTEGER) before it could time out.
      it('a zero-delay retry over a thunk that fails at once ends at the enclosing deadline', async function () {
        this.timeout(20_000);
        let attempts = 0;
        const policy = Policy.builder('hot').timeout(50).retry({ maxAttempts: 1e6 }).build();
        const call = settle(
          policy.execute(() => {
            attempts++;
            return Promise.reject(new Error('fails at once'));
          }),
        );
        await clock.tickAsync(50);
        await flush();
        expect(call.status).to.equal('rejected');
        expect(call.reason).to.be.instanceOf(OperationTimeoutError);
        expect(attempts, 'attempts before the deadline').to.be.below(1e5);
        const after = attempts;
        await flush();
        await flush();
        expect(attempts, 'no attempt after the deadline').to.equal(after);
      });

      it("a zero-delay retry lets the caller's abort land, in a policy and in the Retry primitive", async function () {
        this.timeout(20_000);
        for (const via of ['policy', 'primitive'] as const) {
          let attempts = 0;
          const fail = () => {
            attempts++;
            return Promise.reject(new Error('fails at once'));
          };
          const controller = new AbortController();
          const reason = new Error('caller left');
          setTimeout(() => controller.abort(reason), 10);
          const signal = controller.signal;
          const call = settle(
            via === 'policy'
              ? Policy.builder('hot').retry({ maxAttempts: 1e6 }).build().execute(fail, { signal })
              : new Retry({ maxAttempts: 1e6 }).execute(fail, signal),
          );
          await clock.tickAsync(10);
          await flush();
          expect(call.status, via).to.equal('rejected');
          expect(call.reason, via).to.equal(reason);
          const after = attempts;
          expect(after, `${via}: attempts before the abort`).to.be.below(1e5);
          await flush();
          await flush();
          expect(attempts, `${via}: no attempt after the abort`).to.equal(after);
        }
      });
    });

    // A deadline whose caller aborted served nobody, yet its timer would have kept the process
    // alive until it passed (an hour here) while the thunk hung.
    it("a caller's abort drops the deadline of its call, leaving no timer behind", async () => {
      const clock = new ManualClock(0);
      const limiter = new TimeLimiter({ timeout: '1h', clock });
      const policy = Policy.builder('dropped').timeout(limiter).build();
      const controller = new AbortController();
      const reason = new Error('caller left');
      const call = settle(
        policy.execute(() => new Promise(() => {}), { signal: controller.signal }),
      );
      const alone = settle(limiter.execute(() => new Promise(() => {}), controller.signal));
      expect(clock.pending()).to.equal(1);
      controller.abort(reason);
      await flush();
      expect(call.reason).to.equal(reason);
      expect(alone.reason).to.equal(reason);
      expect(limiter.deadlineQueue.size).to.equal(0);
      expect(clock.pending(), 'timers left').to.equal(0);
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
    });

    // Found by the hostile tester: the retry stage passed an aborted call's result outward as
    // its error when `retryOnResult` was set, so outer stages saw a value as the failure.
    it('a retry stage whose context was aborted rejects with the abort reason, not the thunk result', async () => {
      const seen: unknown[] = [];
      const observer: Stage = {
        kind: 'observer',
        execute: (ctx, next) =>
          next(ctx).catch((error: unknown) => {
            seen.push(error);
            throw error;
          }),
      };
      const policy = Policy.builder('aborted')
        .use(observer)
        .retry({ maxAttempts: 3, retryOnResult: (r) => r === 'bad' })
        .build();
      const controller = new AbortController();
      const work = deferred<string>();
      const call = settle(policy.execute(() => work.promise, { signal: controller.signal }));
      const reason = new Error('caller left');
      controller.abort(reason);
      work.resolve('bad');
      await flush();
      expect(call.reason).to.equal(reason);
      expect(seen).to.deep.equal([reason]);
    });

    // Found by a first-time user: the limiter was accepted and then failed every call with a
    // RangeError about `permits`.
    it('a RateLimiter whose bucket could never serve a call (maxTokens 0.5) is refused by its constructor', () => {
      expect(() => new RateLimiter({ maxTokens: 0.5 })).to.throw(
        RangeError,
        '`maxTokens` must be a number >= 1, got 0.5',
      );
      expect(() => Policy.builder().rateLimiter({ maxTokens: 0.5 })).to.throw(
        RangeError,
        '`maxTokens` must be a number >= 1, got 0.5',
      );
    });

    // Found by the hostile tester: bad execute options threw synchronously after the call was
    // counted (calls > successes + failures, and no event).
    it('policy.execute never throws on bad options: it rejects with a TypeError, counted as a failure', async () => {
      const hostile = {
        get data(): never {
          throw new Error('no data for you');
        },
      };
      const revoked = Proxy.revocable({}, {});
      revoked.revoke();
      const throwing = (error: unknown): object => ({
        get data(): never {
          throw error;
        },
      });
      const cases: Array<[string, unknown, RegExp]> = [
        [
          'data: null',
          { data: null },
          /^execute: `options.data` must be an object or a Map, got null/,
        ],
        ['data: 5', { data: 5 }, /^execute: `options.data` must be an object or a Map, got 5/],
        [
          'a data getter that throws',
          hostile,
          /^execute: `options` could not be read: no data for you/,
        ],
        [
          'signal: {}',
          { signal: {} },
          /^execute: `options.signal` must be an AbortSignal, got an object/,
        ],
        [
          'signal: null',
          { signal: null },
          /^execute: `options.signal` must be an AbortSignal, got null/,
        ],
        ['options: null', null, /^execute: `options` must be an object, got null/],
        ['a revoked proxy', revoked.proxy, /^execute: `options` could not be read/],
        [
          'a getter that throws an Error whose message is a Symbol',
          throwing(Object.assign(new Error(), { message: Symbol('no message') })),
          /^execute: `options` could not be read: Symbol\(no message\)$/,
        ],
        [
          'a getter that throws an Error whose message cannot be made a string',
          throwing(Object.assign(new Error(), { message: { toString: () => [] } })),
          /^execute: `options` could not be read: an unreadable error$/,
        ],
      ];
      const policy = Policy.builder('options').timeout(1000).build();
      const failures: unknown[] = [];
      policy.on('failure', ({ error }) => failures.push(error));
      const thunk = sinon.spy(() => 'ran');
      for (const [what, options, message] of cases) {
        let result: Promise<unknown> | undefined;
        expect(() => {
          result = policy.execute(thunk, options as never);
        }, what).not.to.throw();
        expect(result, what).to.be.instanceOf(Promise);
        const error = await (result as Promise<unknown>).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, what).to.be.instanceOf(TypeError);
        expect((error as Error).message, what).to.match(message);
        expect(failures[failures.length - 1], what).to.equal(error);
      }
      expect(thunk.called).to.equal(false);
      const metrics = policy.metrics();
      expect(metrics.calls).to.equal(cases.length);
      expect(metrics.failures).to.equal(cases.length);
      expect(metrics.calls).to.equal(metrics.successes + metrics.failures);
      expect(failures).to.have.length(cases.length);
      // Good options still work, an AbortSignal and a Map or plain object as data.
      const ok = await policy.execute((ctx) => ctx.data.get('id'), {
        signal: new AbortController().signal,
        data: new Map([['id', 7]]),
      });
      expect(ok).to.equal(7);
    });

    // Found in a minified browser bundle, which printed `Ze: Rate limit exceeded`: names came
    // from the class names, which minifiers rename.
    it('error names survive minification (string literals, not class names)', async function () {
      this.timeout(20_000);
      const dir = mkdtempSync(join(tmpdir(), 'bulwark-minified-'));
      try {
        const outfile = join(dir, 'bundle.mjs');
        await build({
          stdin: {
            contents: [
              "export * from './src/errors.ts';",
              "export { RateLimiter } from './src/strategies/rate-limiter/RateLimiter.ts';",
            ].join('\n'),
            resolveDir: process.cwd(),
            loader: 'ts',
          },
          bundle: true,
          minify: true,
          format: 'esm',
          platform: 'neutral',
          outfile,
          logLevel: 'silent',
        });
        const m = (await import(
          pathToFileURL(outfile).href
        )) as typeof import('../../src/errors.js');
        const errors: Array<[Error, string]> = [
          [new m.RateLimitExceededError(10), 'RateLimitExceededError'],
          [new m.BulkheadFullError(1, 0), 'BulkheadFullError'],
          [new m.OperationTimeoutError(10), 'OperationTimeoutError'],
          [new m.CircuitOpenError('open', 10), 'CircuitOpenError'],
          [new m.StoreUnavailableError(), 'StoreUnavailableError'],
        ];
        // The bundle really was minified: the classes lost their names.
        expect(m.RateLimitExceededError.name).to.not.equal('RateLimitExceededError');
        for (const [error, name] of errors) {
          expect(error.name).to.equal(name);
          expect(String(error).startsWith(`${name}: `), String(error)).to.equal(true);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

/** An in-memory bulkhead store that, like Redis, decides every `acquire` asynchronously. */
class AsyncBulkheadStore implements BulkheadStore {
  readonly memory = new InMemoryBulkheadStore();
  #clock: ManualClock;
  constructor(clock: ManualClock) {
    this.#clock = clock;
  }
  configure(config: BulkheadStoreConfig): void {
    this.memory.configure(config);
  }
  tryAcquire(): false {
    return false;
  }
  acquire(): Promise<false | BulkheadTicket> {
    return new Promise((resolve) =>
      this.#clock.setTimeout(() => resolve(this.memory.acquire()), 1),
    );
  }
  release(): void {
    this.memory.release();
  }
  inUse(): number {
    return this.memory.inUse();
  }
}

/** A small deterministic PRNG (mulberry32), so the storm is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Regressions: bulkhead slots follow their calls', () => {
  // A caller that aborted while an asynchronous store was deciding was queued after the store
  // said "no slot"; the next free slot went to it and was never released.
  for (const via of ['Bulkhead.execute', 'a policy'] as const) {
    it(`gives back every slot after 2,000 calls with random aborts on an asynchronous store (${via})`, async () => {
      const clock = new ManualClock(0);
      const store = new AsyncBulkheadStore(clock);
      const bulkhead = new Bulkhead({ maxConcurrent: 5, maxQueue: 10_000, clock, store });
      const policy = Policy.builder('storm').clock(clock).bulkhead(bulkhead).build();
      const random = prng(42);
      const runs = Array.from({ length: 2000 }, () => {
        const controller = new AbortController();
        if (random() < 0.5) clock.setTimeout(() => controller.abort(), Math.floor(random() * 40));
        const work = () =>
          new Promise<string>((resolve) =>
            clock.setTimeout(() => resolve('done'), 1 + Math.floor(random() * 5)),
          );
        return settle(
          via === 'a policy'
            ? policy.execute(work, { signal: controller.signal })
            : bulkhead.execute(work, controller.signal),
        );
      });
      for (let i = 0; i < 200 && runs.some((r) => r.status === 'pending'); i++) {
        await clock.advance(50);
      }
      for (const run of runs) expect(run.status).to.not.equal('pending');
      expect(runs.filter((r) => r.status === 'rejected').length).to.be.greaterThan(0);
      expect(store.inUse(), 'slots held in the store').to.equal(0);
      expect(bulkhead.availableSlots).to.equal(5);
      expect(bulkhead.queued).to.equal(0);
      expect(bulkhead.orphaned).to.equal(0);
    });
  }

  // With an asynchronous store and no caller signal, every call in flight listened to the shared
  // never-aborting signal (1,000 calls: 1,000 listeners and a MaxListenersExceededWarning).
  it('adds no listener to the never-aborting signal while asynchronous stores decide', async () => {
    const clock = new ManualClock(0);
    const bulkhead = new Bulkhead({
      maxConcurrent: 1000,
      maxQueue: 10,
      clock,
      store: new AsyncBulkheadStore(clock),
    });
    const policy = Policy.builder('quiet').clock(clock).bulkhead(bulkhead).build();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const runs = Array.from({ length: 1000 }, () => settle(policy.execute(() => 'ok')));
      await flush();
      expect(neverListeners(), 'listeners on NEVER_ABORTED').to.equal(0);
      await clock.advance(1);
      await flush();
      for (const run of runs) expect(run.status).to.equal('fulfilled');
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => w.name)).to.not.include('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  // A stray release() freed the slot a policy call held: two calls ran at once on
  // maxConcurrent 1, and the policy's own release then threw inside the engine.
  it('refuses a stray release() while a policy call holds the only slot, and changes nothing', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    const policy = Policy.builder('stray').bulkhead(bulkhead).build();
    const gate = deferred<string>();
    const first = settle(policy.execute(() => gate.promise));
    expect(bulkhead.availableSlots).to.equal(0);
    expect(() => bulkhead.release()).to.throw(Error, /without a held slot/);
    expect(bulkhead.availableSlots).to.equal(0);
    let ran = false;
    const second = settle(
      policy.execute(() => {
        ran = true;
        return 'second';
      }),
    );
    await flush();
    expect(ran, 'a second call ran beside the first').to.equal(false);
    expect(second.reason).to.be.instanceOf(BulkheadFullError);
    gate.resolve('first');
    await flush();
    expect(first.value).to.equal('first');
    expect(bulkhead.availableSlots).to.equal(1);
    expect(await policy.execute(() => 'again')).to.equal('again');
  });

  // Reading `then` of the thunk's result threw out of execute() synchronously, and the slot was
  // never given back.
  for (const [what, make] of [
    [
      'a `then` getter that throws',
      (e: Error) =>
        ({
          get then() {
            throw e;
          },
        }) as unknown,
    ],
    [
      'a hostile Proxy',
      (e: Error) =>
        new Proxy(
          {},
          {
            get() {
              throw e;
            },
            has() {
              throw e;
            },
          },
        ) as unknown,
    ],
  ] as const) {
    it(`Bulkhead.execute rejects, and gives its slot back, when the thunk returns ${what}`, async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      const hostile = new Error('hostile');
      let returned: Promise<unknown> | undefined;
      expect(() => {
        returned = bulkhead.execute(() => make(hostile));
      }).to.not.throw();
      const outcome = settle(returned as Promise<unknown>);
      await flush();
      expect(outcome.reason).to.equal(hostile);
      expect(bulkhead.availableSlots).to.equal(1);
      expect(await bulkhead.execute(() => 'next')).to.equal('next');
    });
  }

  // A timeout inside a bulkhead gave the slot back at the deadline while the work still ran, so
  // a slow dependency saw unbounded concurrency.
  it('holds a slot until the work settles when an inner timeout answered first, showing it as orphaned', async () => {
    const clock = new ManualClock(0);
    const registry = new PolicyRegistry();
    const bulkhead = new Bulkhead({ maxConcurrent: 2, clock });
    const policy = Policy.builder('slow-db')
      .clock(clock)
      .bulkhead(bulkhead)
      .timeout({ timeout: 100, clock })
      .build();
    registry.register(policy);
    const finishers: Array<() => void> = [];
    let running = 0;
    let most = 0;
    const work = () =>
      new Promise<string>((resolve) => {
        running++;
        most = Math.max(most, running);
        finishers.push(() => {
          running--;
          resolve('late');
        });
      });
    const calls = [settle(policy.execute(work)), settle(policy.execute(work))];
    await clock.advance(100);
    for (const call of calls) expect(call.reason).to.be.instanceOf(OperationTimeoutError);
    expect(bulkhead.orphaned).to.equal(2);
    expect(policy.metrics().stages[0]).to.include({ availableSlots: 0, orphaned: 2 });
    const health = registry.health().policies['slow-db'];
    expect(health?.stages[0]).to.include({ orphaned: 2 });
    const third = settle(policy.execute(work));
    await flush();
    expect(third.reason).to.be.instanceOf(BulkheadFullError);
    expect(most, 'calls of the work at once').to.equal(2);
    for (const finish of finishers.splice(0)) finish();
    await flush();
    expect(bulkhead.orphaned).to.equal(0);
    expect(bulkhead.availableSlots).to.equal(2);
  });

  it('reports orphaned calls through the bulwark.bulkhead.orphaned gauge', async () => {
    class Reader extends MetricReader {
      protected override async onForceFlush(): Promise<void> {}
      protected override async onShutdown(): Promise<void> {}
    }
    const reader = new Reader();
    const provider = new MeterProvider({ readers: [reader] });
    const clock = new ManualClock(0);
    const policy = Policy.builder('gauged')
      .clock(clock)
      .bulkhead({ maxConcurrent: 3, clock })
      .timeout({ timeout: 100, clock })
      .build();
    const remove = instrument(policy, { meter: provider.getMeter('regressions') });
    const orphaned = async (): Promise<number | undefined> => {
      const { resourceMetrics } = await reader.collect();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const m of scope.metrics) {
          if (m.descriptor.name === 'bulwark.bulkhead.orphaned') {
            return (m.dataPoints[0] as DataPoint<number> | undefined)?.value;
          }
        }
      }
      return undefined;
    };
    try {
      const work = deferred<string>();
      const calls = [
        settle(policy.execute(() => work.promise)),
        settle(policy.execute(() => work.promise)),
      ];
      expect(await orphaned()).to.equal(0);
      await clock.advance(100);
      for (const call of calls) expect(call.reason).to.be.instanceOf(OperationTimeoutError);
      expect(await orphaned()).to.equal(2);
      work.resolve('late');
      await flush();
      expect(await orphaned()).to.equal(0);
    } finally {
      remove();
      await provider.shutdown();
    }
  });

  it('holds the slot of an aborted call until its work settles, showing it as orphaned', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    const policy = Policy.builder('aborted').bulkhead(bulkhead).build();
    const gate = deferred<string>();
    const controller = new AbortController();
    const call = settle(policy.execute(() => gate.promise, { signal: controller.signal }));
    controller.abort(new Error('gone'));
    await flush();
    expect(call.status).to.equal('rejected');
    expect(bulkhead.orphaned).to.equal(1);
    expect(policy.metrics().stages[0]).to.include({ availableSlots: 0, orphaned: 1 });
    gate.resolve('late');
    await flush();
    expect(bulkhead.orphaned).to.equal(0);
    expect(bulkhead.availableSlots).to.equal(1);
  });

  it('gives the slot back at the deadline when the work honours ctx.signal', async () => {
    const clock = new ManualClock(0);
    const bulkhead = new Bulkhead({ maxConcurrent: 1, clock });
    const policy = Policy.builder('polite')
      .clock(clock)
      .bulkhead(bulkhead)
      .retry({ maxAttempts: 2, delay: 10, clock })
      .timeout({ timeout: 100, clock })
      .build();
    const call = settle(
      policy.execute(
        (ctx) =>
          new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
          ),
      ),
    );
    await clock.advance(100);
    expect(bulkhead.orphaned).to.equal(0);
    await clock.advance(10);
    await clock.advance(100);
    expect(call.reason).to.be.instanceOf(OperationTimeoutError);
    expect(bulkhead.orphaned).to.equal(0);
    expect(bulkhead.availableSlots).to.equal(1);
  });
});

describe('the never-aborting signal under callees that listen on ctx.signal', () => {
  it('keeps no listener when thunks hand ctx.signal to fetch or listen on it themselves', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const policy = Policy.builder('plain').retry({ maxAttempts: 2 }).build();
      for (let i = 0; i < 20; i++) {
        const body = await policy.execute(async (ctx) => {
          const response = await fetch(`http://127.0.0.1:${port}/`, { signal: ctx.signal });
          return response.text();
        });
        expect(body).to.equal('ok');
      }
      await Promise.all(
        Array.from({ length: 50 }, () =>
          policy.execute((ctx) => ctx.signal.addEventListener('abort', () => undefined)),
        ),
      );
      expect(getEventListeners(NEVER_ABORTED, 'abort')).to.have.length(0);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).to.deep.equal([]);
    } finally {
      process.off('warning', onWarning);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
