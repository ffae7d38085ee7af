import { expect } from 'chai';
import sinon from 'sinon';
import {
  BulkheadFullError,
  CircuitOpenError,
  OperationTimeoutError,
  RateLimitExceededError,
} from '../../src/errors.js';
import type { ExecutionContext } from '../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../src/pipeline/Policy.js';
import type { Stage } from '../../src/pipeline/Stage.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { never } from '../support/promises.js';

function recorder(kind: string, log: string[]): Stage {
  return {
    kind,
    async execute(ctx, next) {
      log.push(`${kind}:in`);
      try {
        return await next(ctx);
      } finally {
        log.push(`${kind}:out`);
      }
    },
  };
}

describe('Policy', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  describe('builder', () => {
    it('runs stages outermost first, in the order declared', async () => {
      const log: string[] = [];
      const policy = Policy.builder('ordered')
        .use(recorder('a', log))
        .use(recorder('b', log))
        .use(recorder('c', log))
        .build();
      const value = await policy.execute(() => {
        log.push('fn');
        return 42;
      });
      expect(value).to.equal(42);
      expect(log).to.deep.equal(['a:in', 'b:in', 'c:in', 'fn', 'c:out', 'b:out', 'a:out']);
    });

    it('lists its stages and describes them one line per stage', () => {
      const policy = Policy.builder('pricing')
        .fallback({ value: null })
        .rateLimiter({ maxTokens: 100, refillRate: 50 }, 'payment-api')
        .bulkhead({ maxConcurrent: 10 })
        .retry({ maxAttempts: 3, delay: '200ms' })
        .circuitBreaker({ failureThreshold: 5 })
        .timeout('3s')
        .build();
      expect(policy.name).to.equal('pricing');
      expect(policy.stages).to.deep.equal([
        { kind: 'fallback', name: 'fallback' },
        { kind: 'rate-limiter', name: 'payment-api' },
        { kind: 'bulkhead', name: 'bulkhead' },
        { kind: 'retry', name: 'retry' },
        { kind: 'circuit-breaker', name: 'circuit-breaker' },
        { kind: 'timeout', name: 'timeout' },
      ]);
      const lines = policy.describe().split('\n');
      expect(lines).to.have.length(6);
      expect(lines[0]).to.match(/^1\. fallback/);
      expect(lines[1]).to.match(/^2\. rate-limiter "payment-api"/);
      expect(lines[5]).to.match(/^6\. timeout/);
      expect(Object.isFrozen(policy.stages)).to.equal(true);
    });

    it("names the policy 'policy' by default", () => {
      expect(Policy.builder().build().name).to.equal('policy');
    });

    it('freezes the builder once built', () => {
      const builder = Policy.builder('frozen').retry({ maxAttempts: 2 });
      builder.build();
      expect(() => builder.retry({ maxAttempts: 2 })).to.throw(Error, 'already built');
      expect(() => builder.timeout('1s')).to.throw(Error, 'already built');
      expect(() => builder.use({ kind: 'x', execute: (ctx, next) => next(ctx) })).to.throw(Error);
      expect(() => builder.build()).to.throw(Error, 'already built');
    });

    it('validates options at the builder call', () => {
      const builder = Policy.builder('bad');
      expect(() => builder.retry({ maxAttempts: 0 })).to.throw(RangeError, '`maxAttempts`');
      expect(() => builder.timeout('5 sec')).to.throw(TypeError, '"5 sec"');
      expect(() => builder.bulkhead({ maxConcurrent: -1 })).to.throw(RangeError);
      expect(() => builder.use({} as never)).to.throw(TypeError, '`stage`');
      expect(() => Policy.builder(5 as never)).to.throw(TypeError, '`name`');
      expect(() => Policy.builder('')).to.throw(
        TypeError,
        '`name` must be a non-empty string, got ""',
      );
    });

    it('shares a primitive instance passed to two policies', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      const a = Policy.builder('a').circuitBreaker(breaker).build();
      const b = Policy.builder('b').circuitBreaker(breaker).build();
      await a.execute(() => Promise.reject(new Error('down'))).catch(() => {});
      expect(breaker.state).to.equal('open');
      const error = await b.execute(() => 1).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CircuitOpenError);
    });

    it('is immutable once built', () => {
      const policy = Policy.builder('x').build();
      expect(Object.isFrozen(policy)).to.equal(true);
    });
  });

  describe('execute', () => {
    it('passes data, the policy name and the start time to the thunk', async () => {
      clock.tick(1234);
      const policy = Policy.builder('ctx').build();
      let seen: ExecutionContext | undefined;
      await policy.execute(
        (ctx) => {
          seen = ctx;
        },
        { data: { id: 'p-1' } },
      );
      expect(seen?.policyName).to.equal('ctx');
      expect(seen?.data.get('id')).to.equal('p-1');
      expect(seen?.attempt).to.equal(1);
      expect(seen?.startedAt).to.equal(1234);
      expect(seen?.signal.aborted).to.equal(false);
    });

    it('accepts data as a Map', async () => {
      const data = new Map<string, unknown>([['k', 1]]);
      const got = await Policy.builder()
        .build()
        .execute((ctx) => ctx.data.get('k'), { data });
      expect(got).to.equal(1);
    });

    it('turns a synchronous throw or a non-Error throwable into a rejection', async () => {
      const policy = Policy.builder().build();
      expect(
        await policy
          .execute(() => {
            throw 'text';
          })
          .catch((e: unknown) => e),
      ).to.equal('text');
      expect(
        await policy
          .execute(() => Promise.reject(undefined))
          .then(
            () => 'resolved',
            (e: unknown) => e,
          ),
      ).to.equal(undefined);
    });

    it('rejects at once with the reason of an already aborted signal, counting the call', async () => {
      const policy = Policy.builder().retry({ maxAttempts: 3 }).build();
      const fn = sinon.spy(() => 1);
      const reason = new Error('gone');
      expect(
        await policy.execute(fn, { signal: AbortSignal.abort(reason) }).catch((e) => e),
      ).to.equal(reason);
      expect(fn.called).to.equal(false);
      expect(policy.metrics()).to.include({ calls: 1, failures: 1, successes: 0 });
    });

    it('wraps a function keeping its parameters, this and name', async () => {
      const policy = Policy.builder().retry({ maxAttempts: 2 }).build();
      const service = {
        factor: 3,
        calls: 0,
        times(this: { factor: number; calls: number }, n: number) {
          this.calls++;
          if (this.calls === 1) throw new Error('first fails');
          return n * this.factor;
        },
      };
      const wrapped = policy.wrap(service.times);
      expect(wrapped.name).to.equal('times');
      expect(await wrapped.call(service, 5)).to.equal(15);
      expect(service.calls).to.equal(2);
    });

    it('answers a wrapped synchronous function as soon as `execute` answers it', async () => {
      // Microtask turns until the answer is seen: a wrapper that made a promise of a synchronous
      // answer, and waited for it, would answer turns later than `execute` does.
      const turnsUntil = async (answer: Promise<unknown>): Promise<number> => {
        let seen = false;
        void answer.then(() => (seen = true));
        let turns = 0;
        while (!seen) {
          turns++;
          await null;
        }
        return turns;
      };
      const policy = Policy.builder().retry({ maxAttempts: 2 }).build();
      const one = (): number => 1;
      const direct = await turnsUntil(policy.execute(one));
      const wrapped = policy.wrap(one);
      expect(await turnsUntil(wrapped())).to.equal(direct);
      const picked = policy.wrap((signal: AbortSignal) => signal.aborted, { signal: (s) => s });
      expect(await turnsUntil(picked(new AbortController().signal))).to.equal(direct);
      expect(policy.metrics()).to.include({ calls: 3, successes: 3 });
    });
  });

  describe('composition', () => {
    it('lets an outermost fallback catch rate-limit and bulkhead rejections', async () => {
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1 });
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      const errors: unknown[] = [];
      const policy = Policy.builder<string>('fb')
        .fallback({
          method: (error) => {
            errors.push(error);
            return 'fallback';
          },
        })
        .rateLimiter(limiter)
        .bulkhead(bulkhead)
        .build();
      const running = policy.execute(() => never());
      expect(await policy.execute(async () => 'live')).to.equal('fallback');
      expect(errors[0]).to.be.instanceOf(RateLimitExceededError);
      await clock.tickAsync(1000);
      expect(await policy.execute(async () => 'live')).to.equal('fallback');
      expect(errors[1]).to.be.instanceOf(BulkheadFullError);
      void running;
      expect(policy.metrics().rejections).to.deep.equal({
        rateLimit: 1,
        bulkhead: 1,
        circuitOpen: 0,
      });
      expect(policy.metrics().fallbacks).to.equal(2);
    });

    it("reads a context a custom stage made itself, and keeps the execution's stages around it", async () => {
      const controller = new AbortController();
      const data = new Map<string, unknown>([['user', 'ada']]);
      const own: ExecutionContext = {
        policyName: 'renamed',
        signal: controller.signal,
        attempt: 7,
        startedAt: 42,
        deadline: Infinity,
        remaining: Infinity,
        data,
      };
      const handOver: Stage = { kind: 'hand-over', execute: (_ctx, next) => next(own) };
      const seen: unknown[] = [];
      const policy = Policy.builder('adopt').retry({ maxAttempts: 2 }).use(handOver).build();
      let calls = 0;
      const result = await policy.execute((ctx) => {
        calls++;
        seen.push([ctx.policyName, ctx.signal, ctx.attempt, ctx.startedAt, ctx.data.get('user')]);
        if (calls < 2) throw new Error('once');
        return 'done';
      });
      expect(result).to.equal('done');
      // Every call sees the stage's context; the retry around the stage still retries.
      expect(seen).to.deep.equal([
        ['renamed', controller.signal, 7, 42, 'ada'],
        ['renamed', controller.signal, 7, 42, 'ada'],
      ]);
      expect(policy.metrics().retries).to.equal(1);
    });

    it("lets a custom stage's own signal end a queued wait inside it", async () => {
      const controller = new AbortController();
      const handOver: Stage = {
        kind: 'hand-over',
        execute: (ctx, next) =>
          next({
            policyName: ctx.policyName,
            signal: controller.signal,
            attempt: ctx.attempt,
            startedAt: ctx.startedAt,
            deadline: ctx.deadline,
            remaining: ctx.remaining,
            data: ctx.data,
          }),
      };
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
      const policy = Policy.builder('adopt-abort').use(handOver).bulkhead(bulkhead).build();
      const running = policy.execute(() => never());
      const queued = policy.execute(async () => 'late').catch((e: unknown) => e);
      await Promise.resolve();
      expect(bulkhead.queued).to.equal(1);
      const reason = new Error('stage gave up');
      controller.abort(reason);
      expect(await queued).to.equal(reason);
      expect(bulkhead.queued).to.equal(0);
      void running;
    });

    it('limits each attempt with a timeout inside retry', async () => {
      const starts: number[] = [];
      const policy = Policy.builder('per-attempt').retry({ maxAttempts: 3 }).timeout(100).build();
      const result = policy
        .execute((ctx) => {
          starts.push(Date.now());
          return ctx.attempt < 3 ? never() : 'third';
        })
        .catch((e: unknown) => e);
      // A deadline at a time, each expiry (run in the call's context, a reaction later) then
      // asking for the next attempt's turn before time moves on.
      for (const ms of [100, 100, 50]) await clock.tickAsync(ms);
      expect(await result).to.equal('third');
      expect(starts).to.deep.equal([0, 100, 200]);
    });

    it('limits the whole execution with a timeout outside retry, never waiting past it', async () => {
      const starts: number[] = [];
      const policy = Policy.builder('overall')
        .timeout(250)
        .retry({ maxAttempts: 10, delay: 100 })
        .build();
      const settledAt: number[] = [];
      const result = policy
        .execute(() => {
          starts.push(Date.now());
          return Promise.reject(new Error('flaky'));
        })
        .catch((e: unknown) => (settledAt.push(Date.now()), e));
      await clock.tickAsync(1000);
      const error = await result;
      // The wait after the attempt at 200 would end at 300, past the deadline at 250: the last
      // error goes out at once instead of a timeout at 250.
      expect((error as Error).message).to.equal('flaky');
      expect(starts).to.deep.equal([0, 100, 200]);
      expect(settledAt).to.deep.equal([200]);
      expect(clock.countTimers()).to.equal(0);
    });

    it('still times out an attempt that outlives the deadline under a retry', async () => {
      const policy = Policy.builder('overall')
        .timeout(250)
        .retry({ maxAttempts: 10, delay: 100 })
        .build();
      const result = policy
        .execute(() => new Promise((resolve) => setTimeout(resolve, 1000)))
        .catch((e: unknown) => e);
      await clock.tickAsync(1000);
      const error = await result;
      expect(error).to.be.instanceOf(OperationTimeoutError);
      expect((error as Error).message).to.equal('overall exceeded timeout of 0.25s');
    });

    it('numbers attempts 1..n through ctx.attempt', async () => {
      const attempts: number[] = [];
      const policy = Policy.builder().retry({ maxAttempts: 4 }).build();
      await policy
        .execute((ctx) => {
          attempts.push(ctx.attempt);
          throw new Error('again');
        })
        .catch(() => {});
      expect(attempts).to.deep.equal([1, 2, 3, 4]);
    });

    it('aborts ctx.signal at the deadline of an enclosing timeout', async () => {
      const policy = Policy.builder('sig').timeout(50).build();
      let signal: AbortSignal | undefined;
      const result = policy
        .execute((ctx) => {
          signal = ctx.signal;
          return never();
        })
        .catch((e: unknown) => e);
      await clock.tickAsync(50);
      expect(signal?.aborted).to.equal(true);
      expect(signal?.reason).to.be.instanceOf(OperationTimeoutError);
      expect(await result).to.be.instanceOf(OperationTimeoutError);
    });

    it('passes the caller’s abort to ctx.signal inside a timeout', async () => {
      const policy = Policy.builder('sig').timeout(1000).build();
      const controller = new AbortController();
      let signal: AbortSignal | undefined;
      const result = policy
        .execute(
          (ctx) => {
            signal = ctx.signal;
            return never();
          },
          { signal: controller.signal },
        )
        .catch((e: unknown) => e);
      const reason = new Error('user left');
      controller.abort(reason);
      expect(await result).to.equal(reason);
      expect(signal?.reason).to.equal(reason);
      await clock.tickAsync(1000);
    });

    it('rejects at once with the caller’s reason on abort during a retry wait, making no further attempt', async () => {
      const policy = Policy.builder().retry({ maxAttempts: 5, delay: '10s' }).build();
      const controller = new AbortController();
      const fn = sinon.spy(() => Promise.reject(new Error('fail')));
      const result = policy.execute(fn, { signal: controller.signal }).catch((e: unknown) => e);
      await clock.tickAsync(1000);
      const reason = new Error('stop');
      controller.abort(reason);
      expect(await result).to.equal(reason);
      await clock.tickAsync(60_000);
      expect(fn.callCount).to.equal(1);
      expect(clock.countTimers()).to.equal(0);
      expect(policy.metrics()).to.include({ calls: 1, failures: 1 });
    });

    it('rejects at once on abort during a bulkhead queue wait and frees the queue place', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
      const policy = Policy.builder().bulkhead(bulkhead).build();
      let release!: () => void;
      const first = policy.execute(() => new Promise<void>((r) => (release = r)));
      const controller = new AbortController();
      const queued = policy.execute(() => 'queued', { signal: controller.signal });
      expect(bulkhead.queued).to.equal(1);
      const reason = new Error('stop waiting');
      controller.abort(reason);
      expect(await queued.catch((e: unknown) => e)).to.equal(reason);
      expect(bulkhead.queued).to.equal(0);
      release();
      await first;
      expect(bulkhead.availableSlots).to.equal(1);
      expect(clock.countTimers()).to.equal(0);
    });
  });

  describe('events', () => {
    it('emits success and failure with durations', async () => {
      const policy = Policy.builder('ev').build();
      const seen: unknown[] = [];
      policy.on('success', (e) => seen.push(['success', e]));
      policy.on('failure', (e) => seen.push(['failure', e]));
      const slow = policy.execute(() => new Promise((r) => setTimeout(() => r(1), 30)));
      await clock.tickAsync(30);
      await slow;
      const error = new Error('x');
      await policy.execute(() => Promise.reject(error)).catch(() => {});
      expect(seen).to.deep.equal([
        ['success', { policy: 'ev', durationMs: 30, fallback: false }],
        ['failure', { policy: 'ev', error, durationMs: 0 }],
      ]);
    });

    it('emits retry with the failed attempt and the wait, and rejected, timeout and fallback', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '1m' });
      const policy = Policy.builder('ev')
        .fallback({ value: 'fb' })
        .retry({ maxAttempts: 2, delay: 100 })
        .circuitBreaker(breaker)
        .timeout(50)
        .build();
      const events: Array<[string, unknown]> = [];
      for (const name of ['retry', 'rejected', 'timeout', 'fallback', 'circuit-state'] as const) {
        policy.on(name, (payload) => events.push([name, payload]));
      }
      const result = policy.execute(() => never());
      await clock.tickAsync(200);
      expect(await result).to.equal('fb');
      const kinds = events.map(([n]) => n);
      expect(kinds).to.deep.equal(['timeout', 'circuit-state', 'retry', 'rejected', 'fallback']);
      expect(events[0]?.[1]).to.deep.equal({ policy: 'ev', stage: 'timeout', timeoutMs: 50 });
      expect(events[1]?.[1]).to.deep.equal({
        policy: 'ev',
        stage: 'circuit-breaker',
        from: 'closed',
        to: 'open',
      });
      const retry = events[2]?.[1] as { attempt: number; delayMs: number; error: unknown };
      expect(retry).to.include({ policy: 'ev', stage: 'retry', attempt: 1, delayMs: 100 });
      expect(retry.error).to.be.instanceOf(OperationTimeoutError);
      const rejected = events[3]?.[1] as { reason: string; error: unknown };
      expect(rejected).to.include({ reason: 'circuit-open', stage: 'circuit-breaker' });
      expect(rejected.error).to.be.instanceOf(CircuitOpenError);
      expect(events[4]?.[1]).to.deep.include({ policy: 'ev', stage: 'fallback' });
    });

    it('marks a success whose value came from a fallback', async () => {
      const policy = Policy.builder('fb').fallback({ value: 'cached' }).build();
      const seen: boolean[] = [];
      policy.on('success', (e) => seen.push(e.fallback));
      await policy.execute(() => 'live');
      await policy.execute(() => Promise.reject(new Error('down')));
      expect(seen).to.deep.equal([false, true]);
    });

    it('emits attempt for every call of the thunk with its duration and error', async () => {
      const policy = Policy.builder('att').retry({ maxAttempts: 3, delay: 5 }).build();
      const seen: Array<{ attempt: number; durationMs: number; error?: unknown }> = [];
      policy.on('attempt', ({ attempt, durationMs, error }) =>
        seen.push(error === undefined ? { attempt, durationMs } : { attempt, durationMs, error }),
      );
      const boom = new Error('boom');
      const result = policy.execute(
        (ctx) =>
          new Promise((resolve, reject) =>
            setTimeout(() => (ctx.attempt < 3 ? reject(boom) : resolve('ok')), 10 * ctx.attempt),
          ),
      );
      await clock.tickAsync(100);
      expect(await result).to.equal('ok');
      expect(seen).to.deep.equal([
        { attempt: 1, durationMs: 10, error: boom },
        { attempt: 2, durationMs: 20, error: boom },
        { attempt: 3, durationMs: 30 },
      ]);
    });

    it('never lets a throwing listener break a call', async () => {
      const policy = Policy.builder().retry({ maxAttempts: 2 }).build();
      policy.on('retry', () => {
        throw new Error('listener');
      });
      policy.on('success', () => {
        throw new Error('listener');
      });
      let n = 0;
      expect(
        await policy.execute(() => (++n === 1 ? Promise.reject(new Error('x')) : 'ok')),
      ).to.equal('ok');
    });

    it('stops delivering after unsubscribe and stops watching breakers', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      const policy = Policy.builder().circuitBreaker(breaker).build();
      const seen: unknown[] = [];
      const off = policy.on('circuit-state', (e) => seen.push(e));
      off();
      off();
      await policy.execute(() => Promise.reject(new Error('x'))).catch(() => {});
      expect(seen).to.deep.equal([]);
    });

    it('rejects unknown event names', () => {
      const policy = Policy.builder().build();
      expect(() => policy.on('sucess' as never, () => {})).to.throw(TypeError, '`event`');
    });
  });

  describe('metrics', () => {
    it('counts calls, successes, failures, retries, timeouts and fallbacks', async () => {
      const policy = Policy.builder('m')
        .fallback({ value: 0, on: (e) => e instanceof OperationTimeoutError })
        .retry({ maxAttempts: 2 })
        .timeout(10)
        .build();
      await policy.execute(() => 1);
      const slow = policy.execute(() => never());
      for (const ms of [10, 10]) await clock.tickAsync(ms);
      expect(await slow).to.equal(0);
      await policy.execute(() => Promise.reject(new Error('no'))).catch(() => {});
      const m = policy.metrics();
      expect(m).to.deep.include({
        calls: 3,
        successes: 2,
        failures: 1,
        retries: 2,
        timeouts: 2,
        fallbacks: 1,
      });
      expect(m.stages.map((s) => s.kind)).to.deep.equal(['fallback', 'retry', 'timeout']);
    });

    it('reports each stage’s live state', async () => {
      const policy = Policy.builder()
        .rateLimiter({ maxTokens: 5, refillRate: 1 })
        .bulkhead({ maxConcurrent: 2, maxQueue: 3 })
        .circuitBreaker({ failureThreshold: 1 })
        .build();
      const pending = policy.execute(() => never());
      void pending;
      const [limiter, bulkhead, breaker] = policy.metrics().stages;
      expect(limiter).to.include({ kind: 'rate-limiter', availableTokens: 4 });
      expect(bulkhead).to.include({
        kind: 'bulkhead',
        availableSlots: 1,
        maxConcurrent: 2,
        queued: 0,
      });
      expect(breaker).to.include({ kind: 'circuit-breaker', state: 'closed' });
    });
  });
});
