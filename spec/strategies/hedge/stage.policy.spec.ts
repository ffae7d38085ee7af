// The hedge stage, white-box through a policy: when further attempts start (on time, at once, on
// failure), which outcome answers, how the losers are stopped, and what counts each attempt.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { BulkheadFullError } from '../../../src/errors.js';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../../src/registry/PolicyRegistry.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Hedge } from '../../../src/strategies/hedge/Hedge.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, flush, rejectionOf, settle, type Deferred } from '../../support/promises.js';

/** A thunk whose calls stay pending until the spec settles them, one deferred per attempt. */
function controlled<T>(): {
  thunk: (ctx: ExecutionContext) => Promise<T>;
  calls: { attempt: number; signal: AbortSignal; call: Deferred<T> }[];
} {
  const calls: { attempt: number; signal: AbortSignal; call: Deferred<T> }[] = [];
  return {
    calls,
    thunk: (ctx) => {
      const call = deferred<T>();
      calls.push({ attempt: ctx.attempt, signal: ctx.signal, call });
      return call.promise;
    },
  };
}

describe('Hedge stage', () => {
  it('starts another attempt after the delay; the first result answers and the loser is aborted', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<string>('p').hedge({ delay: 100, clock }).build();
    const hedges: unknown[] = [];
    policy.on('hedge', (e) => hedges.push(e));
    const { thunk, calls } = controlled<string>();
    const result = settle(policy.execute(thunk));
    await clock.advance(99);
    expect(calls.map((c) => c.attempt)).to.deep.equal([1]);
    await clock.advance(1);
    expect(calls.map((c) => c.attempt)).to.deep.equal([1, 2]);
    expect(hedges).to.deep.equal([{ policy: 'p', stage: 'hedge', attempt: 2, reason: 'delay' }]);
    expect(policy.metrics().stages[0]).to.deep.include({ running: 2, hedges: 1, wins: 0 });
    calls[1]?.call.resolve('second');
    await flush();
    expect(result).to.deep.include({ status: 'fulfilled', value: 'second' });
    expect(calls[0]?.signal.aborted).to.equal(true);
    expect((calls[0]?.signal.reason as Error).name).to.equal('AbortError');
    expect(calls[1]?.signal.aborted).to.equal(false);
    // The loser's late outcome changes nothing, and counts it as settled.
    calls[0]?.call.reject(calls[0].signal.reason);
    await flush();
    expect(policy.metrics()).to.deep.include({ calls: 1, successes: 1, failures: 0 });
    expect(policy.metrics().stages[0]).to.deep.equal({
      kind: 'hedge',
      name: 'hedge',
      maxHedges: 1,
      delayMs: 100,
      running: 0,
      hedges: 1,
      wins: 1,
    });
    expect(clock.pending()).to.equal(0);
  });

  it('starts no hedge, and leaves no timer, when the first attempt answers in time', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<number>('p').hedge({ delay: '1s', clock }).build();
    const { thunk, calls } = controlled<number>();
    const result = settle(policy.execute(thunk));
    await clock.advance(500);
    expect(clock.pending()).to.equal(1);
    calls[0]?.call.resolve(7);
    await flush();
    expect(result).to.deep.include({ status: 'fulfilled', value: 7 });
    expect(clock.pending()).to.equal(0);
    await clock.advance(1000);
    expect(calls).to.have.length(1);
  });

  it('with delay 0 starts every attempt at once, numbered 1 to 1 + maxHedges', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p').hedge({ maxHedges: 2, delay: 0, clock }).build();
    const { thunk, calls } = controlled<string>();
    const result = settle(policy.execute(thunk));
    expect(calls.map((c) => c.attempt)).to.deep.equal([1, 2, 3]);
    expect(clock.pending()).to.equal(0);
    calls[2]?.call.resolve('third');
    await flush();
    expect(result).to.deep.include({ status: 'fulfilled', value: 'third' });
    expect(calls.map((c) => c.signal.aborted)).to.deep.equal([true, true, false]);
  });

  it("with 'on-failure' starts the next attempt only when one fails, and sets no timer", async () => {
    const clock = new ManualClock(0, { forbidTimers: 'no timer expected' });
    const policy = Policy.builder('p').hedge({ maxHedges: 2, delay: 'on-failure', clock }).build();
    const hedges: unknown[] = [];
    policy.on('hedge', (e) => hedges.push(e));
    const { thunk, calls } = controlled<string>();
    const result = settle(policy.execute(thunk));
    await clock.advance(10_000);
    expect(calls).to.have.length(1);
    calls[0]?.call.reject(new Error('one'));
    await flush();
    expect(calls, 'the next attempt waits for the next turn').to.have.length(1);
    await clock.advance(0);
    expect(calls).to.have.length(2);
    expect(hedges).to.deep.equal([{ policy: 'p', stage: 'hedge', attempt: 2, reason: 'failure' }]);
    // A hedged attempt sets no delay either: the third starts only when another one fails.
    await clock.advance(10_000);
    expect(calls).to.have.length(2);
    calls[1]?.call.reject(new Error('two'));
    await clock.advance(0);
    expect(calls.map((c) => c.attempt)).to.deep.equal([1, 2, 3]);
    calls[2]?.call.resolve('three');
    await flush();
    expect(result).to.deep.include({ status: 'fulfilled', value: 'three' });
    expect(policy.describe()).to.equal('1. hedge: up to 2 hedged attempts, on failure');
  });

  it('reads a delay of -0 as 0', () => {
    expect(Object.is(new Hedge({ delay: -0 }).delayMs, 0)).to.equal(true);
  });

  it("reads an 'on-failure' delay as Infinity: never on time (null in JSON, as every Infinity)", async () => {
    const hedge = new Hedge({ delay: 'on-failure' });
    expect(hedge.delayMs).to.equal(Infinity);
    expect(JSON.parse(JSON.stringify(hedge))).to.deep.equal({ maxHedges: 1, delayMs: null });
    const policy = Policy.builder('p').hedge(hedge).build();
    expect(policy.metrics().stages[0]).to.deep.include({ kind: 'hedge', delayMs: Infinity });
    expect(policy.describe()).to.equal('1. hedge: up to 1 hedged attempt, on failure');
    const registry = PolicyRegistry.fromConfig({
      hedge: { lazy: { 'max-hedges': 2, delay: 'on-failure' } },
      policies: { reads: [{ hedge: 'lazy' }] },
    });
    expect(registry.hedge('lazy').delayMs).to.equal(Infinity);
    const health = registry.health();
    expect(health.primitives.hedge['lazy']).to.deep.include({ maxHedges: 2, delayMs: null });
    expect(health.policies['reads']?.stages[0]).to.deep.include({ delayMs: null });
    expect(JSON.parse(JSON.stringify(health))).to.deep.equal(health);
  });

  it('refuses -1 and every other negative delay, as any negative duration', () => {
    const must = "`delay` must be a finite duration >= 0 such as 250ms or 2s, or 'on-failure', got";
    for (const delay of [-1, -0.5, -2000, -Infinity]) {
      expect(() => new Hedge({ delay }), String(delay)).to.throw(
        RangeError,
        `${must} ${String(delay)}`,
      );
      expect(() => Policy.builder('p').hedge({ delay }), String(delay)).to.throw(
        RangeError,
        `${must} ${String(delay)}`,
      );
    }
    expect(() =>
      PolicyRegistry.fromConfig({ policies: { reads: [{ hedge: { delay: -1 } }] } }),
    ).to.throw(RangeError, `resilience.policies.reads[0].hedge.delay: ${must} -1`);
  });

  it('starts the next attempt in the next turn when one fails before the delay, then keeps the delay for the one after', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p').hedge({ maxHedges: 2, delay: 100, clock }).build();
    const { thunk, calls } = controlled<string>();
    settle(policy.execute(thunk));
    await clock.advance(30);
    calls[0]?.call.reject(new Error('fast failure'));
    await clock.advance(0);
    expect(calls.map((c) => c.attempt)).to.deep.equal([1, 2]);
    await clock.advance(99);
    expect(calls).to.have.length(2);
    await clock.advance(1);
    expect(calls.map((c) => c.attempt)).to.deep.equal([1, 2, 3]);
    expect(clock.pending()).to.equal(0);
    calls[1]?.call.resolve('x');
    calls[2]?.call.resolve('y');
    await flush();
  });

  it('when every attempt fails, rejects with the last error that arrived', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p').hedge({ maxHedges: 2, delay: 0, clock }).build();
    const { thunk, calls } = controlled<string>();
    const result = settle(policy.execute(thunk));
    const errors = [new Error('a'), new Error('b'), new Error('c')];
    calls[2]?.call.reject(errors[2]);
    calls[0]?.call.reject(errors[0]);
    await flush();
    expect(result.status).to.equal('pending');
    calls[1]?.call.reject(errors[1]);
    await flush();
    expect(result).to.deep.include({ status: 'rejected', reason: errors[1] });
    expect(policy.metrics()).to.deep.include({ calls: 1, failures: 1 });
  });

  it('`on` decides which outcomes may answer: a rejected result waits for the others', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<number>('p')
      .hedge({
        maxHedges: 1,
        delay: 0,
        clock,
        on: (o) => (o.ok ? o.result < 0 : !(o.error instanceof TypeError)),
      })
      .build();
    const { thunk, calls } = controlled<number>();
    const first = settle(policy.execute(thunk));
    calls[0]?.call.resolve(-1);
    await flush();
    expect(first.status).to.equal('pending');
    calls[1]?.call.resolve(5);
    await flush();
    expect(first).to.deep.include({ status: 'fulfilled', value: 5 });
    // An error `on` accepts answers at once, as a failure.
    const second = settle(policy.execute(thunk));
    const accepted = new TypeError('not found');
    calls[2]?.call.reject(accepted);
    await flush();
    expect(second).to.deep.include({ status: 'rejected', reason: accepted });
    expect(calls[3]?.signal.aborted).to.equal(true);
    // No attempt acceptable: the last outcome that arrived, here a result.
    const third = settle(policy.execute(thunk));
    calls[4]?.call.reject(new Error('x'));
    calls[5]?.call.resolve(-7);
    await flush();
    expect(third).to.deep.include({ status: 'fulfilled', value: -7 });
  });

  it('a predicate that throws fails the call with what it threw and aborts the others', async () => {
    const oops = new Error('predicate');
    const policy = Policy.builder('p')
      .hedge({
        delay: 0,
        on: () => {
          throw oops;
        },
      })
      .build();
    const { thunk, calls } = controlled<string>();
    const result = settle(policy.execute(thunk));
    calls[0]?.call.resolve('x');
    await flush();
    expect(result).to.deep.include({ status: 'rejected', reason: oops });
    expect(calls[1]?.signal.aborted).to.equal(true);
  });

  it("rejects at once with the caller's reason, aborts every attempt and leaves no timer", async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p').hedge({ maxHedges: 3, delay: 100, clock }).build();
    const { thunk, calls } = controlled<string>();
    const controller = new AbortController();
    const result = settle(policy.execute(thunk, { signal: controller.signal }));
    await clock.advance(100);
    expect(calls).to.have.length(2);
    const reason = new Error('caller left');
    controller.abort(reason);
    await flush();
    expect(result).to.deep.include({ status: 'rejected', reason });
    expect(calls.map((c) => c.signal.reason)).to.deep.equal([reason, reason]);
    expect(clock.pending()).to.equal(0);
    await clock.advance(1000);
    expect(calls).to.have.length(2);
  });

  it('an inner bulkhead counts each attempt and keeps a loser\u2019s slot until its work settles', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p')
      .hedge({ maxHedges: 2, delay: 100, clock })
      .bulkhead({ maxConcurrent: 2 })
      .build();
    const { thunk, calls } = controlled<string>();
    const result = settle(policy.execute(thunk));
    await clock.advance(100);
    const bulkhead = () => policy.metrics().stages[1] as Record<string, unknown>;
    expect(bulkhead()).to.deep.include({ availableSlots: 0 });
    // The third attempt is refused by the full bulkhead: not acceptable, and nothing is left.
    await clock.advance(100);
    expect(policy.metrics().rejections.bulkhead).to.equal(1);
    expect(calls).to.have.length(2);
    calls[0]?.call.resolve('first');
    await flush();
    expect(result).to.deep.include({ status: 'fulfilled', value: 'first' });
    // The loser was answered for but still runs: its slot is held, counted as orphaned.
    expect(bulkhead()).to.deep.include({ availableSlots: 1, orphaned: 1 });
    calls[1]?.call.reject(calls[1].signal.reason);
    await flush();
    expect(bulkhead()).to.deep.include({ availableSlots: 2, orphaned: 0 });
  });

  it('an outer bulkhead holds one slot for the whole call until the last attempt settles', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p')
      .bulkhead({ maxConcurrent: 1 })
      .hedge({ maxHedges: 1, delay: 0, clock })
      .build();
    const { thunk, calls } = controlled<string>();
    const result = settle(policy.execute(thunk));
    expect(calls).to.have.length(2);
    calls[1]?.call.resolve('b');
    await flush();
    expect(result).to.deep.include({ status: 'fulfilled', value: 'b' });
    expect(policy.metrics().stages[0]).to.deep.include({ availableSlots: 0, orphaned: 1 });
    calls[0]?.call.reject(new Error('aborted'));
    await flush();
    expect(policy.metrics().stages[0]).to.deep.include({ availableSlots: 1, orphaned: 0 });
  });

  it('a refusal inside counts as a failure: BulkheadFullError when every attempt is refused', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p')
      .hedge({ maxHedges: 1, delay: 0, clock })
      .bulkhead({ maxConcurrent: 1 })
      .build();
    const blocker = deferred<string>();
    const blocked = settle(policy.execute(() => blocker.promise));
    // One attempt of the first call holds the only slot; its second attempt was refused.
    const error = await rejectionOf(policy.execute(() => 'x'));
    expect(error).to.be.instanceOf(BulkheadFullError);
    blocker.resolve('done');
    await flush();
    expect(blocked).to.deep.include({ status: 'fulfilled', value: 'done' });
  });

  it('aborts every loser, also when an inner step answers for one synchronously at its abort', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p')
      .hedge({ maxHedges: 2, delay: 0, clock })
      .timeout({ timeout: 1000, clock })
      .build();
    const { thunk, calls } = controlled<string>();
    const result = settle(policy.execute(thunk));
    // Each attempt's deadline signal is linked to the attempt's own (the thunk read it).
    calls[2]?.call.resolve('third');
    await flush();
    expect(result).to.deep.include({ status: 'fulfilled', value: 'third' });
    expect(calls.map((c) => c.signal.aborted)).to.deep.equal([true, true, false]);
    expect(policy.metrics().stages[0]).to.deep.include({ running: 0 });
    expect(clock.pending()).to.equal(0);
  });

  it('an inner circuit breaker does not record a losing attempt, aborted by the hedge, as a failure', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock });
    const policy = Policy.builder('p')
      .hedge({ maxHedges: 1, delay: 0, clock })
      .circuitBreaker(breaker)
      .build();
    const { thunk, calls } = controlled<string>();
    const result = settle(policy.execute(thunk));
    calls[1]?.call.resolve('fast');
    await flush();
    expect(result).to.deep.include({ status: 'fulfilled', value: 'fast' });
    // The loser rejects with its abort reason, as fetch does.
    calls[0]?.call.reject(calls[0].signal.reason);
    await flush();
    expect(breaker.state).to.equal('closed');
    expect(breaker.metrics.failedCalls).to.equal(0);
  });

  it('inside a retry, each retry attempt is hedged anew; an inner timeout bounds each attempt', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p')
      .clock(clock)
      .retry({ maxAttempts: 2, delay: 0, clock })
      .hedge({ maxHedges: 1, delay: 50, clock })
      .timeout({ timeout: 80, clock })
      .build();
    const attempts: number[] = [];
    const result = settle(
      policy.execute((ctx) => {
        attempts.push(ctx.attempt);
        return new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)),
        );
      }),
    );
    await clock.advance(50);
    expect(attempts).to.deep.equal([1, 2]);
    // Both hedged attempts time out (at 80 and 130); then the retry runs the hedge again.
    await clock.advance(80);
    expect(attempts).to.deep.equal([1, 2, 1]);
    await clock.advance(200);
    expect(result.status).to.equal('rejected');
    expect((result.reason as Error).name).to.equal('OperationTimeoutError');
    expect(attempts).to.deep.equal([1, 2, 1, 2]);
    expect(clock.pending()).to.equal(0);
  });

  it('describes itself and refuses bad options naming the option', () => {
    expect(Policy.builder().hedge().build().describe()).to.equal(
      '1. hedge: up to 1 hedged attempt, after 2000 ms',
    );
    expect(
      Policy.builder()
        .hedge({ maxHedges: 3, delay: 0, on: () => true })
        .build()
        .describe(),
    ).to.equal('1. hedge: up to 3 hedged attempts, all at once, on matching outcomes');
    expect(() => new Hedge({ maxHedges: 0 })).to.throw(
      RangeError,
      '`maxHedges` must be an integer >= 1, got 0',
    );
    expect(() => new Hedge({ delay: -5 })).to.throw(
      RangeError,
      "`delay` must be a finite duration >= 0 such as 250ms or 2s, or 'on-failure', got -5",
    );
    expect(() => new Hedge({ delay: 'soon' })).to.throw(
      TypeError,
      `\`delay\` must be a finite duration >= 0 such as 250ms or 2s, or 'on-failure', got "soon"`,
    );
    expect(() => new Hedge({ on: 3 as never })).to.throw(TypeError, '`on` must be a function');
    expect(() => new Hedge({ maxHedge: 2 } as never)).to.throw(
      TypeError,
      'Hedge: unknown option `maxHedge` (did you mean `maxHedges`?)',
    );
  });
});

describe('Hedge stage, listeners and timers', () => {
  it("leaves no listener on the caller's signal and no timer after many calls", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    for (const delay of [0, 50, 'on-failure'] as const) {
      const policy = Policy.builder('p').hedge({ maxHedges: 2, delay, clock }).build();
      for (let i = 0; i < 500; i++) {
        const call = settle(
          policy.execute(
            (ctx) => {
              // Reading the signal links the attempt's own to the caller's.
              void ctx.signal;
              return ctx.attempt === 1 ? Promise.reject(new Error('first')) : 'ok';
            },
            { signal: controller.signal },
          ),
        );
        await clock.advance(0);
        expect(call.status).to.equal('fulfilled');
      }
      expect(getEventListeners(controller.signal, 'abort'), String(delay)).to.have.length(0);
      expect(clock.pending(), String(delay)).to.equal(0);
    }
  });
});

describe('Hedge standalone', () => {
  it('runs fn with a signal and an attempt number per attempt, answering with the first result', async () => {
    const clock = new ManualClock();
    const hedge = new Hedge({ delay: 10, clock });
    const seen: [number, AbortSignal][] = [];
    const slow = deferred<string>();
    const result = settle(
      hedge.execute((signal, attempt) => {
        seen.push([attempt, signal]);
        return attempt === 1 ? slow.promise : 'fast';
      }),
    );
    await clock.advance(10);
    expect(result).to.deep.include({ status: 'fulfilled', value: 'fast' });
    expect(seen.map(([a]) => a)).to.deep.equal([1, 2]);
    expect(seen[0]?.[1].aborted).to.equal(true);
    expect(hedge.wins).to.equal(1);
  });

  it("rejects at once with the caller's reason, even when the work ignores its signal", async () => {
    const hedge = new Hedge({ delay: 'on-failure' });
    const controller = new AbortController();
    const result = settle(hedge.execute(() => new Promise(() => {}), controller.signal));
    controller.abort('stop');
    await flush();
    expect(result).to.deep.include({ status: 'rejected', reason: 'stop' });
  });
});

describe('Hedge, timers and clock reads', () => {
  it('clears its delay timer when an outer deadline answers the call, though the attempts ignore their signal', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p')
      .timeout({ timeout: 100, clock })
      .hedge({ maxHedges: 2, delay: 1000, clock })
      .build();
    const { calls, thunk } = controlled<string>();
    const result = settle(policy.execute(thunk));
    await clock.advance(100);
    expect(result.status).to.equal('rejected');
    expect((result.reason as Error).name).to.equal('OperationTimeoutError');
    expect(clock.pending()).to.equal(0);
    // No attempt starts later, and the late outcome changes nothing.
    await clock.advance(5000);
    expect(calls).to.have.length(1);
    calls[0]?.call.resolve('late');
    await flush();
    expect(policy.metrics().stages[1]).to.deep.include({ running: 0, hedges: 0 });
    expect(clock.pending()).to.equal(0);
  });

  it('does not read its clock when no delay applies (delay 0, or on failure only)', async () => {
    for (const delay of [0, 'on-failure'] as const) {
      const clock = new ManualClock();
      const hedge = new Hedge({ maxHedges: 2, delay, clock });
      const failFirst = (_signal: AbortSignal, attempt: number): string => {
        if (attempt < 3) throw new Error(`attempt ${attempt}`);
        return 'third';
      };
      expect(await hedge.execute(failFirst), String(delay)).to.equal('third');
      const policy = Policy.builder('p').hedge({ maxHedges: 2, delay, clock }).build();
      expect(await policy.execute((ctx) => failFirst(ctx.signal, ctx.attempt))).to.equal('third');
      expect(clock.reads, String(delay)).to.equal(0);
    }
  });

  it("makes a loser's abort reason only when its signal is read: an AbortError saying why", async () => {
    const Original = globalThis.DOMException;
    let made = 0;
    globalThis.DOMException = class extends Original {
      constructor(message?: string, name?: string) {
        super(message, name);
        made++;
      }
    };
    try {
      const policy = Policy.builder('p').hedge({ maxHedges: 3, delay: 0 }).build();
      const slow = deferred<string>();
      // Three losers that never look at their signal.
      const result = await policy.execute((ctx) => (ctx.attempt === 4 ? 'fourth' : slow.promise));
      expect(result).to.equal('fourth');
      expect(made).to.equal(0);
      // Of two losers, the one whose signal is read sees one reason, the same on every read.
      const signals: AbortSignal[] = [];
      const winner = deferred<string>();
      const second = settle(
        policy.execute((ctx) => {
          if (ctx.attempt === 1) signals.push(ctx.signal);
          return ctx.attempt === 2 ? winner.promise : slow.promise;
        }),
      );
      winner.resolve('second');
      await flush();
      expect(second).to.deep.include({ status: 'fulfilled', value: 'second' });
      expect(signals[0]?.aborted).to.equal(true);
      const reason = signals[0]?.reason as DOMException;
      expect(reason).to.be.instanceOf(Original);
      expect(reason.name).to.equal('AbortError');
      expect(reason.message).to.equal('Another hedged attempt answered the call first');
      expect(signals[0]?.reason).to.equal(reason);
      expect(made).to.equal(1);
    } finally {
      globalThis.DOMException = Original;
    }
  });
});
