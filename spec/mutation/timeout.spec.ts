// The timeout's deadline as seen from inside: the context and signal a stage or the work gets
// under one or two deadlines, what a caller's abort leaves behind, and which deadline is
// reported when two of them pass.
import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import { OperationTimeoutError } from '../../src/errors.js';
import type { ExecutionContext } from '../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../src/pipeline/Policy.js';
import type { Stage } from '../../src/pipeline/Stage.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';
import { ManualClock } from '../support/clock.js';
import { deferred, flush, never, rejectionOf } from '../support/promises.js';

function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

describe('Timeout: the deadline from inside', () => {
  describe('a caller that gives up', () => {
    it('ends the deadline with the call: no timer is left once the caller is answered', async () => {
      const clock = new ManualClock();
      const limiter = new TimeLimiter({ timeout: 1000, clock });
      const controller = new AbortController();
      const reason = new Error('caller left');
      const call = limiter.execute(never, controller.signal);
      expect(clock.pending()).to.equal(1);
      controller.abort(reason);
      expect(await rejectionOf(call)).to.equal(reason);
      expect(clock.pending(), 'the deadline timer').to.equal(0);
    });

    for (const readsSignal of [false, true]) {
      it(`in a policy, ends the deadline (the work ${readsSignal ? 'reads' : 'never reads'} its signal)`, async () => {
        const clock = new ManualClock();
        const policy = Policy.builder<string>('p')
          .clock(clock)
          .timeout({ timeout: 1000, clock })
          .build();
        const timeouts: unknown[] = [];
        policy.on('timeout', (e) => timeouts.push(e));
        const controller = new AbortController();
        const reason = new Error('caller left');
        let seen: AbortSignal | undefined;
        const call = policy.execute(
          (ctx) => {
            if (readsSignal) seen = ctx.signal;
            return never();
          },
          { signal: controller.signal },
        );
        expect(clock.pending()).to.equal(1);
        controller.abort(reason);
        expect(await rejectionOf(call)).to.equal(reason);
        if (readsSignal) expect(seen?.reason, 'the work’s signal').to.equal(reason);
        expect(clock.pending(), 'the deadline timer').to.equal(0);
        await clock.advance(2000);
        expect(timeouts, 'no deadline passes for a call already answered').to.deep.equal([]);
        expect(policy.metrics().timeouts).to.equal(0);
      });
    }

    it('leaves no listener on the caller’s signal once the call has settled', async () => {
      const clock = new ManualClock();
      const limiter = new TimeLimiter({ timeout: 1000, clock });
      const controller = new AbortController();
      expect(await limiter.execute(() => 'done', controller.signal)).to.equal('done');
      expect(abortListeners(controller.signal)).to.equal(0);

      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 1000, clock })
        .build();
      let inner: ExecutionContext | undefined;
      const result = await policy.execute(
        (ctx) => {
          inner = ctx;
          void ctx.signal;
          return 'done';
        },
        { signal: controller.signal },
      );
      expect(result).to.equal('done');
      expect(abortListeners(controller.signal), 'after reading the signal').to.equal(0);
      // Read first after the call settled: nothing is linked to the caller any more.
      const late = Policy.builder<string>('q')
        .clock(clock)
        .timeout({ timeout: 1000, clock })
        .build();
      await late.execute(
        (ctx) => {
          inner = ctx;
          return 'done';
        },
        { signal: controller.signal },
      );
      expect(inner?.signal.aborted).to.equal(false);
      expect(abortListeners(controller.signal), 'after a late read').to.equal(0);
    });
  });

  describe('the signal the work reads', () => {
    it('is one signal however often it is read, and it aborts at the deadline', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 100, clock })
        .build();
      const read: AbortSignal[] = [];
      const call = rejectionOf(
        policy.execute((ctx) => {
          read.push(ctx.signal, ctx.signal);
          return never();
        }),
      );
      expect(read[0]).to.equal(read[1]);
      await clock.advance(100);
      expect(await call).to.be.instanceOf(OperationTimeoutError);
      expect(read[0]?.aborted).to.equal(true);
      expect(read[0]?.reason).to.be.instanceOf(OperationTimeoutError);
    });

    it('read first after a cooperative deadline, is already aborted with the timeout error', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 100, clock, mode: 'cooperative' })
        .build();
      const late = deferred<void>();
      let signal: AbortSignal | undefined;
      const call = policy.execute(async (ctx) => {
        await late.promise;
        signal = ctx.signal;
        return 'finished anyway';
      });
      await clock.advance(150);
      late.resolve();
      expect(await call).to.equal('finished anyway');
      expect(signal?.aborted).to.equal(true);
      expect(signal?.reason).to.be.instanceOf(OperationTimeoutError);
    });

    it('under two deadlines, aborts at the earlier one, the outer, with its error', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 100, clock })
        .timeout({ timeout: 200, clock })
        .build();
      let signal: AbortSignal | undefined;
      const call = rejectionOf(
        policy.execute((ctx) => {
          signal = ctx.signal;
          return never();
        }),
      );
      await clock.advance(100);
      const error = await call;
      expect(error).to.be.instanceOf(OperationTimeoutError);
      expect((error as OperationTimeoutError).timeoutMs).to.equal(100);
      expect(signal?.aborted).to.equal(true);
      expect(signal?.reason).to.equal(error);
    });

    it('read first after the outer cooperative deadline, carries the outer deadline’s error', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 100, clock, mode: 'cooperative' })
        .timeout({ timeout: 200, clock, mode: 'cooperative' })
        .build();
      const late = deferred<void>();
      let signal: AbortSignal | undefined;
      const call = policy.execute(async (ctx) => {
        await late.promise;
        signal = ctx.signal;
        return 'finished anyway';
      });
      await clock.advance(150);
      late.resolve();
      expect(await call).to.equal('finished anyway');
      expect(signal?.aborted).to.equal(true);
      expect((signal?.reason as OperationTimeoutError).timeoutMs).to.equal(100);
    });
  });

  describe('two deadlines that both pass', () => {
    for (const readsSignal of [true, false]) {
      it(`reports only the outer one (the work ${readsSignal ? 'reads' : 'never reads'} its signal)`, async () => {
        const clock = new ManualClock();
        const policy = Policy.builder<string>('p')
          .clock(clock)
          .timeout({ timeout: 100, clock })
          .timeout({ timeout: 200, clock })
          .build();
        const timeouts: number[] = [];
        policy.on('timeout', (e) => timeouts.push(e.timeoutMs));
        const call = rejectionOf(
          policy.execute((ctx) => {
            if (readsSignal) void ctx.signal;
            return never();
          }),
        );
        await clock.advance(300);
        expect(((await call) as OperationTimeoutError).timeoutMs).to.equal(100);
        expect(timeouts).to.deep.equal([100]);
        expect(policy.metrics().timeouts).to.equal(1);
        expect(clock.pending()).to.equal(0);
      });
    }
  });

  describe('the context inside a cooperative deadline, once it has passed', () => {
    it('has no time left, never less than none', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 100, clock, mode: 'cooperative' })
        .build();
      const late = deferred<void>();
      const seen: number[] = [];
      const call = policy.execute(async (ctx) => {
        seen.push(ctx.remaining, ctx.deadline);
        await late.promise;
        seen.push(ctx.remaining, ctx.deadline);
        return 'done';
      });
      await clock.advance(250);
      late.resolve();
      expect(await call).to.equal('done');
      expect(seen).to.deep.equal([100, 100, 0, 100]);
    });

    it('is aborted: a fallback inside supplies nothing for the work’s late failure', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 100, clock, mode: 'cooperative' })
        .fallback({ value: 'substitute' })
        .build();
      const late = deferred<string>();
      const failure = new Error('late failure');
      const call = rejectionOf(policy.execute(() => late.promise));
      await clock.advance(150);
      late.reject(failure);
      expect(await call).to.equal(failure);
      expect(policy.metrics().fallbacks).to.equal(0);
    });

    it('is aborted with the timeout error: a retry inside stops and passes it on', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 100, clock, mode: 'cooperative' })
        .retry({ maxAttempts: 3, clock })
        .build();
      const late = deferred<string>();
      let attempts = 0;
      const call = rejectionOf(
        policy.execute(() => {
          attempts++;
          return late.promise;
        }),
      );
      await clock.advance(150);
      late.reject(new Error('late failure'));
      const error = await call;
      expect(error).to.be.instanceOf(OperationTimeoutError);
      expect(attempts).to.equal(1);
      expect(policy.metrics().retries).to.equal(0);
    });
  });

  describe('an aggressive deadline that passed', () => {
    it('ignores the work’s late outcome: it is not counted, nor passed to the stages outside', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .retry({ maxAttempts: 2, clock })
        .timeout({ timeout: 100, clock })
        .build();
      const attempts = [deferred<string>(), deferred<string>()];
      let n = 0;
      const call = rejectionOf(policy.execute(() => attempts[n++]!.promise));
      await clock.advance(100);
      expect(n, 'the retry started attempt 2 after the deadline').to.equal(2);
      attempts[0]!.resolve('late');
      await clock.advance(100);
      expect(await call).to.be.instanceOf(OperationTimeoutError);
      expect(n).to.equal(2);
      expect(policy.metrics()).to.include({ calls: 1, successes: 0, failures: 1, timeouts: 2 });
    });
  });

  describe('in a policy’s description', () => {
    it('shows each deadline and its mode, and names the kind when given another primitive', () => {
      const policy = Policy.builder<string>('p')
        .timeout({ timeout: 100, mode: 'cooperative' })
        .timeout(200)
        .build();
      expect(policy.describe()).to.equal('1. timeout: 100 ms, cooperative\n2. timeout: 200 ms');
      expect(() => Policy.builder('p').timeout(new Bulkhead() as never)).to.throw(
        TypeError,
        '`options` must be TimeLimiter options or a TimeLimiter, got an instance of Bulkhead',
      );
    });
  });
  describe('a caller that gives up while the work goes on', () => {
    it('answers the caller once: the work’s late outcome reaches no stage and no listener', async () => {
      const clock = new ManualClock();
      const bulkhead = new Bulkhead({ maxConcurrent: 2 });
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .bulkhead(bulkhead)
        .timeout({ timeout: 1000, clock })
        .build();
      const outcomes: string[] = [];
      policy.on('success', () => outcomes.push('success'));
      policy.on('failure', () => outcomes.push('failure'));
      const controller = new AbortController();
      const reason = new Error('caller left');
      const work = deferred<string>();
      const call = rejectionOf(policy.execute(() => work.promise, { signal: controller.signal }));
      controller.abort(reason);
      expect(await call).to.equal(reason);
      work.resolve('late');
      await flush();
      expect(outcomes).to.deep.equal(['failure']);
      expect(policy.metrics()).to.include({ calls: 1, successes: 0, failures: 1 });
      expect(bulkhead.availableSlots, 'the slot given back once').to.equal(2);
      expect(bulkhead.orphaned, 'the work counted out once').to.equal(0);
    });
  });

  describe('an inner deadline that passes after an outer cooperative one', () => {
    it('passes on the outer deadline’s error, reporting no timeout of its own', async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 100, clock, mode: 'cooperative' })
        .circuitBreaker({ clock })
        .timeout({ timeout: 200, clock })
        .build();
      const timeouts: number[] = [];
      policy.on('timeout', (e) => timeouts.push(e.timeoutMs));
      const outcomes: string[] = [];
      policy.on('success', () => outcomes.push('success'));
      policy.on('failure', () => outcomes.push('failure'));
      const work = deferred<string>();
      // The work never reads its signal: the inner deadline hears of the outer one only when
      // its own passes.
      const call = rejectionOf(policy.execute(() => work.promise));
      await clock.advance(100);
      expect(timeouts, 'the outer deadline').to.deep.equal([100]);
      await clock.advance(100);
      const error = await call;
      expect(error).to.be.instanceOf(OperationTimeoutError);
      expect((error as OperationTimeoutError).timeoutMs).to.equal(100);
      expect(timeouts).to.deep.equal([100]);
      expect(policy.metrics().timeouts).to.equal(1);
      work.resolve('late');
      await flush();
      expect(outcomes, 'the late value is ignored').to.deep.equal(['failure']);
      expect(policy.metrics()).to.include({ calls: 1, successes: 0, failures: 1 });
      expect(policy.metrics().stages[1], 'the breaker records one outcome').to.include({
        bufferedCalls: 1,
        failedCalls: 1,
      });
    });
  });

  describe('the listeners a deadline leaves on the signals around it', () => {
    it('none on the enclosing deadline’s signal once the inner work has settled', async () => {
      const clock = new ManualClock();
      const outer: AbortSignal[] = [];
      const spy: Stage = {
        kind: 'spy',
        execute(ctx, next) {
          outer.push(ctx.signal);
          return next(ctx);
        },
      };
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 1000, clock })
        .use(spy)
        .retry({ maxAttempts: 3, delay: 0, clock })
        .timeout({ timeout: 100, clock })
        .build();
      let attempts = 0;
      const result = await policy.execute((ctx) => {
        void ctx.signal;
        if (++attempts < 3) throw new Error('again');
        return 'done';
      });
      expect(result).to.equal('done');
      expect(attempts).to.equal(3);
      expect(outer).to.have.length(1);
      expect(abortListeners(outer[0]!), 'one listener per attempt would pile up').to.equal(0);
    });
  });

  describe('the time a deadline starts from', () => {
    it('is the call’s start when the policy shares the clock: no clock read of its own', async () => {
      const clock = new ManualClock();
      const shared = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 1000, clock })
        .build();
      const alone = Policy.builder<string>('p').clock(clock).build();
      let before = clock.reads;
      // A thunk that takes the context makes even a bare policy read the start, once.
      await alone.execute((_ctx) => 'done');
      const reads = clock.reads - before;
      before = clock.reads;
      expect(await shared.execute(() => 'done')).to.equal('done');
      expect(clock.reads - before).to.equal(reads);
    });

    it('is read from the limiter’s own clock when it has one', async () => {
      const clock = new ManualClock(0);
      const own = new ManualClock(5000);
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .timeout({ timeout: 1000, clock: own })
        .build();
      const seen: number[] = [];
      expect(
        await policy.execute((ctx) => {
          seen.push(ctx.deadline);
          return 'done';
        }),
      ).to.equal('done');
      expect(own.reads).to.be.greaterThan(0);
      expect(seen).to.deep.equal([6000]);
    });
  });
});
