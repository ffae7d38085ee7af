// The hedge, what a caller can tell apart: the standalone `execute` (bad input, a signal, results
// that are and are not promises, each call's own delay), the outcome `on` sees, the attempts and
// timers left when the call is answered otherwise (the caller, a deadline, a custom stage), and
// each attempt's context as the stages inside it see it.
import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import type { ExecutionContext } from '../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RootContext } from '../../src/internal/context.js';
import {
  Hedge,
  HedgeRun,
  type HedgeAttempt,
  type HedgeOutcome,
  type HedgeSink,
} from '../../src/strategies/hedge/Hedge.js';
import { ManualClock } from '../support/clock.js';
import { deferred, flush, rejectionOf, settle, type Deferred } from '../support/promises.js';

/** A thunk whose calls stay pending until the spec settles them, one deferred per attempt. */
function controlled(): {
  thunk: (ctx: ExecutionContext) => Promise<string>;
  calls: { ctx: ExecutionContext; call: Deferred<string> }[];
} {
  const calls: { ctx: ExecutionContext; call: Deferred<string> }[] = [];
  return {
    calls,
    thunk: (ctx) => {
      const call = deferred<string>();
      calls.push({ ctx, call });
      return call.promise;
    },
  };
}

describe('Hedge standalone: execute', () => {
  it('refuses a non-function and an aborted signal without running anything', async () => {
    const hedge = new Hedge({ delay: 0 });
    const error = await rejectionOf(hedge.execute(5 as never));
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.equal('`fn` must be a function, got 5');
    const controller = new AbortController();
    controller.abort('gone');
    let ran = 0;
    expect(await rejectionOf(hedge.execute(() => ran++, controller.signal))).to.equal('gone');
    expect(ran).to.equal(0);
    expect(hedge.running).to.equal(0);
  });

  it('answers with a plain value at once: with delay 0 no other attempt starts', async () => {
    const hedge = new Hedge({ maxHedges: 2, delay: 0 });
    const attempts: number[] = [];
    expect(
      await hedge.execute((_signal, attempt) => {
        attempts.push(attempt);
        return 'sync';
      }),
    ).to.equal('sync');
    expect(attempts).to.deep.equal([1]);
  });

  it("answers with a promise's value, and rejects with the last error when every attempt rejects", async () => {
    const hedge = new Hedge({ maxHedges: 1, delay: 0 });
    expect(await hedge.execute(() => Promise.resolve('async'))).to.equal('async');
    const errors = [new Error('one'), new Error('two')];
    const error = await rejectionOf(
      hedge.execute((_signal, attempt) => Promise.reject(errors[attempt - 1] as Error)),
    );
    expect(error).to.equal(errors[1]);
    expect(hedge.running).to.equal(0);
  });

  it("times each call's delay from its own start on the hedge's clock", async () => {
    const clock = new ManualClock(1000);
    const hedge = new Hedge({ delay: 10, clock });
    const started: string[] = [];
    const never = new Promise<string>(() => {});
    const call = (name: string) =>
      settle(
        hedge.execute((_signal, attempt) => {
          started.push(`${name}${attempt}`);
          return never;
        }),
      );
    call('a');
    await clock.advance(5);
    call('b');
    await clock.advance(5);
    expect(started).to.deep.equal(['a1', 'b1', 'a2']);
    await clock.advance(4);
    expect(started).to.have.length(3);
    await clock.advance(1);
    expect(started).to.deep.equal(['a1', 'b1', 'a2', 'b2']);
  });

  it("ends the pending delay's timer when the caller aborts", async () => {
    const clock = new ManualClock();
    const hedge = new Hedge({ maxHedges: 2, delay: 100, clock });
    const controller = new AbortController();
    const result = settle(hedge.execute(() => new Promise(() => {}), controller.signal));
    expect(clock.pending()).to.equal(1);
    controller.abort('stop');
    await flush();
    expect(result).to.deep.include({ status: 'rejected', reason: 'stop' });
    expect(clock.pending()).to.equal(0);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });

  it('counts a win only for a hedged attempt, and each hedged attempt once', async () => {
    const clock = new ManualClock();
    const hedge = new Hedge({ maxHedges: 2, delay: 10, clock });
    expect(await hedge.execute(() => 'first')).to.equal('first');
    expect([hedge.wins, hedge.hedges]).to.deep.equal([0, 0]);
    const slow = deferred<string>();
    const result = settle(
      hedge.execute((_s, attempt) => (attempt === 1 ? slow.promise : 'hedged')),
    );
    await clock.advance(10);
    expect(result).to.deep.include({ status: 'fulfilled', value: 'hedged' });
    slow.resolve('late');
    await flush();
    expect([hedge.wins, hedge.hedges, hedge.running]).to.deep.equal([1, 1, 0]);
  });
});

describe('Hedge options', () => {
  it('names the option and the value in every refusal, with one message', () => {
    const must = "`delay` must be a finite duration >= 0 such as 250ms or 2s, or 'on-failure', got";
    const cases: [unknown, ErrorConstructor, string][] = [
      [5, TypeError, 'Hedge options must be an object, got 5'],
      [{ delay: '-1' }, TypeError, `${must} "-1"`],
      [{ delay: 'soon' }, TypeError, `${must} "soon"`],
      [{ delay: -2 }, RangeError, `${must} -2`],
      [{ delay: Infinity }, RangeError, `${must} Infinity`],
      [{ delay: NaN }, RangeError, `${must} NaN`],
      [
        { delay: '9'.repeat(400) + 'd' },
        RangeError,
        `${must} "${'9'.repeat(100)}"… (401 characters)`,
      ],
      [{ delay: {} }, TypeError, `${must} an object`],
      [{ delay: true }, TypeError, `${must} true`],
    ];
    for (const [options, type, message] of cases) {
      const refusal = (() => {
        try {
          new Hedge(options as never);
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(refusal, JSON.stringify(options)).to.be.instanceOf(type);
      expect((refusal as Error).message, JSON.stringify(options)).to.equal(message);
    }
  });
});

describe('Hedge: what `on` sees and the events', () => {
  it('gives `on` each outcome with its attempt number', async () => {
    const seen: HedgeOutcome[] = [];
    const error = new Error('no');
    const hedge = new Hedge({
      maxHedges: 2,
      delay: 0,
      on: (outcome) => {
        seen.push(outcome);
        return outcome.attempt < 3;
      },
    });
    const { thunk, calls } = controlled();
    const result = settle(hedge.execute((signal, attempt) => thunk({ signal, attempt } as never)));
    calls[0]?.call.resolve('one');
    await flush();
    calls[1]?.call.reject(error);
    await flush();
    calls[2]?.call.resolve('three');
    await flush();
    expect(result).to.deep.include({ status: 'fulfilled', value: 'three' });
    expect(seen).to.deep.equal([
      { ok: true, result: 'one', attempt: 1 },
      { ok: false, error, attempt: 2 },
      { ok: true, result: 'three', attempt: 3 },
    ]);
  });

  it("with delay 0 reports each attempt after the first as a hedge for reason 'delay'", async () => {
    const policy = Policy.builder('p').hedge({ maxHedges: 1, delay: 0 }).build();
    const events: unknown[] = [];
    policy.on('hedge', (e) => events.push(e));
    const { thunk, calls } = controlled();
    const result = settle(policy.execute(thunk));
    calls[0]?.call.resolve('a');
    await flush();
    expect(result).to.deep.include({ status: 'fulfilled', value: 'a' });
    expect(events).to.deep.equal([{ policy: 'p', stage: 'hedge', attempt: 2, reason: 'delay' }]);
  });
});

describe('Hedge: timers and attempts once the call is answered otherwise', () => {
  it('with delay 0, a first attempt failing at once starts no attempt beyond the last and sets no timer', async () => {
    const clock = new ManualClock(0, { forbidTimers: 'no timer expected' });
    const hedge = new Hedge({ maxHedges: 2, delay: 0, clock });
    const attempts: number[] = [];
    const result = settle(
      hedge.execute((_s, attempt) => {
        attempts.push(attempt);
        if (attempt === 1) throw new Error('at once');
        return new Promise<string>(() => {});
      }),
    );
    await clock.advance(1000);
    expect(attempts).to.deep.equal([1, 2, 3]);
    expect(result.status).to.equal('pending');
    expect(clock.reads).to.equal(0);
  });

  it('sets no delay once a custom stage outside has answered the caller', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<string>('p')
      .use({
        kind: 'early',
        execute: <T>(ctx: ExecutionContext, next: (ctx: ExecutionContext) => Promise<T>) => {
          next(ctx).catch(() => {});
          return Promise.resolve('early' as T);
        },
      })
      .hedge({ maxHedges: 2, delay: 100, clock })
      .build();
    const { thunk, calls } = controlled();
    expect(await policy.execute(thunk)).to.equal('early');
    expect(clock.pending()).to.equal(0);
    // A failure still starts the next attempt (in the next turn), but no delay after it.
    calls[0]?.call.reject(new Error('first'));
    await clock.advance(0);
    expect(calls).to.have.length(2);
    expect(clock.pending()).to.equal(0);
    await clock.advance(1000);
    expect(calls).to.have.length(2);
  });

  it("after the caller's abort, an attempt's failure starts no other attempt", async () => {
    const policy = Policy.builder('p').hedge({ maxHedges: 2, delay: 'on-failure' }).build();
    const { thunk, calls } = controlled();
    const controller = new AbortController();
    const result = settle(policy.execute(thunk, { signal: controller.signal }));
    controller.abort('gone');
    calls[0]?.call.reject(new Error('failed after the abort'));
    await flush();
    expect(result).to.deep.include({ status: 'rejected', reason: 'gone' });
    expect(calls).to.have.length(1);
    expect(policy.metrics().stages[0]).to.deep.include({ running: 0, hedges: 0 });
  });

  it("an attempt that succeeds after an enclosing deadline passed goes out as the deadline's failure", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock });
    const policy = Policy.builder('p')
      .timeout({ timeout: 50, clock })
      .circuitBreaker(breaker)
      .hedge({ maxHedges: 1, delay: 'on-failure', clock })
      .build();
    const { thunk, calls } = controlled();
    const result = settle(policy.execute(thunk));
    await clock.advance(50);
    expect((result.reason as Error).name).to.equal('OperationTimeoutError');
    expect(breaker.metrics.failedCalls).to.equal(0);
    calls[0]?.call.resolve('late');
    await flush();
    // The breaker inside the deadline hears of a failure, not of the late success.
    expect(breaker.metrics.failedCalls).to.equal(1);
    expect(breaker.state).to.equal('open');
  });

  it("a delay that ends after an enclosing deadline passed starts nothing, and goes out as the deadline's failure", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 5, clock });
    const policy = Policy.builder('p')
      .retry({ maxAttempts: 3, delay: 0, clock })
      .timeout({ timeout: 50, clock })
      .circuitBreaker(breaker)
      .hedge({ maxHedges: 1, delay: 80, clock })
      .build();
    const { thunk, calls } = controlled();
    settle(policy.execute(thunk));
    await clock.advance(50);
    // The deadline passed; the retry started its second attempt.
    expect(calls.map((c) => c.ctx.attempt)).to.deep.equal([1, 1]);
    expect(breaker.metrics.failedCalls).to.equal(0);
    await clock.advance(30);
    // The first call's delay ended under an aborted context: no hedge, one failure recorded.
    expect(calls.map((c) => c.ctx.attempt)).to.deep.equal([1, 1]);
    expect(breaker.metrics.failedCalls).to.equal(1);
  });
});

describe("Hedge: each attempt's context", () => {
  it('an inner retry does not retry an attempt that lost', async () => {
    const policy = Policy.builder('p')
      .hedge({ maxHedges: 1, delay: 0 })
      .retry({ maxAttempts: 3, delay: 0 })
      .build();
    const { thunk, calls } = controlled();
    const result = settle(policy.execute(thunk));
    calls[1]?.call.resolve('second');
    await flush();
    expect(result).to.deep.include({ status: 'fulfilled', value: 'second' });
    calls[0]?.call.reject(new Error('lost, then failed'));
    await flush();
    expect(calls).to.have.length(2);
  });

  it('an inner circuit breaker records the failures of attempts that failed on their own', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 5, clock });
    const policy = Policy.builder('p')
      .hedge({ maxHedges: 1, delay: 0 })
      .circuitBreaker(breaker)
      .build();
    const error = await rejectionOf(policy.execute(() => Promise.reject(new Error('down'))));
    expect((error as Error).message).to.equal('down');
    expect(breaker.metrics.failedCalls).to.equal(2);
  });

  it('has one signal per attempt, aborted with why when read late: the caller\u2019s reason, or another attempt answered', async () => {
    const policy = Policy.builder('p').hedge({ maxHedges: 1, delay: 0 }).build();
    const { thunk, calls } = controlled();
    const controller = new AbortController();
    const reason = new Error('caller left');
    const aborted = settle(policy.execute(thunk, { signal: controller.signal }));
    controller.abort(reason);
    await flush();
    expect(aborted).to.deep.include({ status: 'rejected', reason });
    // Read only now, after the abort.
    expect(calls[0]?.ctx.signal.aborted).to.equal(true);
    expect(calls[0]?.ctx.signal.reason).to.equal(reason);
    const won = settle(policy.execute(thunk));
    calls[3]?.call.resolve('second');
    await flush();
    expect(won).to.deep.include({ status: 'fulfilled', value: 'second' });
    const lost = calls[2]?.ctx as ExecutionContext;
    expect(lost.signal).to.equal(lost.signal);
    expect(lost.signal.aborted).to.equal(true);
    expect((lost.signal.reason as DOMException).message).to.equal(
      'Another hedged attempt answered the call first',
    );
  });

  it('an inner timeout whose signal is read late aborts with the reason the attempt stopped for', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p')
      .hedge({ maxHedges: 1, delay: 0 })
      .timeout({ timeout: 1000, clock })
      .build();
    const { thunk, calls } = controlled();
    const won = settle(policy.execute(thunk));
    calls[1]?.call.resolve('second');
    await flush();
    expect(won.status).to.equal('fulfilled');
    expect((calls[0]?.ctx.signal.reason as DOMException).message).to.equal(
      'Another hedged attempt answered the call first',
    );
    const controller = new AbortController();
    const reason = new Error('caller left');
    settle(policy.execute(thunk, { signal: controller.signal }));
    controller.abort(reason);
    await flush();
    expect(calls[2]?.ctx.signal.reason).to.equal(reason);
    calls.forEach((c) => c.call.resolve('late'));
    await flush();
    expect(clock.pending()).to.equal(0);
  });

  it("leaves no listener on the caller's signal when an attempt reads its signal after settling", async () => {
    const policy = Policy.builder('p').hedge({ maxHedges: 1, delay: 100 }).build();
    const controller = new AbortController();
    const contexts: ExecutionContext[] = [];
    expect(
      await policy.execute(
        (ctx) => {
          contexts.push(ctx);
          return 'ok';
        },
        { signal: controller.signal },
      ),
    ).to.equal('ok');
    expect(contexts[0]?.signal.aborted).to.equal(false);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });
});

describe('Hedge: a call held by its execution', () => {
  /** A hedge of up to 3 more attempts every 100 ms, begun in a call of its own, as a policy runs it. */
  function begun() {
    const clock = new ManualClock();
    const hedge = new Hedge({ maxHedges: 3, delay: 100, clock });
    const root = new RootContext('p', 0, () => undefined, undefined, undefined, clock);
    const attempts: HedgeAttempt[] = [];
    const sink: HedgeSink = {
      inPolicy: true,
      start: (a) => attempts.push(a),
      finish() {},
      hedged() {},
    };
    const run = new HedgeRun(hedge, root, sink);
    run.begin(clock.now());
    return { clock, root, attempts, run };
  }
  it('registers a call with its execution once, however often its delay is set again', async () => {
    const { clock, root, attempts, run } = begun();
    await clock.advance(100); // the delay passes: attempt 2 starts and the delay is set again
    run.settled(attempts[0] as HedgeAttempt, false, new Error('no')); // attempt 3, set again
    await clock.advance(0); // (in the next turn)
    expect(attempts.map((a) => a.attempt)).to.deep.equal([1, 2, 3]);
    expect(root.holder).to.equal(run);
    expect(root.holders ?? []).to.deep.equal([]);
    root.settled = true; // the caller is answered: the pending delay ends
    expect(clock.pending()).to.equal(0);
  });
  it('sets no delay once the caller is answered, also when an attempt fails after', async () => {
    const { clock, root, attempts, run } = begun();
    root.settled = true; // answered by a stage around the hedge: the delay ends
    expect(clock.pending()).to.equal(0);
    run.settled(attempts[0] as HedgeAttempt, false, new Error('no')); // attempt 2 starts
    await clock.advance(0); // (in the next turn)
    expect(attempts.map((a) => a.attempt)).to.deep.equal([1, 2]);
    expect(clock.pending(), 'no delay for a third').to.equal(0);
    expect(root.holders ?? []).to.deep.equal([]);
  });
});
