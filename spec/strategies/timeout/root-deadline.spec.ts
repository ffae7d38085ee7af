import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import sinon from 'sinon';
import { OperationTimeoutError } from '../../../src/errors.js';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../../src/pipeline/Policy.js';

// A timeout reached with the execution's own context, with nothing but the work inside it, keeps
// its deadline on that context: these pin what the work and the stages outside it each see.
describe('timeout: the deadline of the innermost timeout', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  it('gives work that first reads its signal after the deadline an aborted one, and keeps its deadline', async () => {
    const policy = Policy.builder('p').timeout(100).build();
    let ctx: ExecutionContext | undefined;
    const result = policy
      .execute((c) => {
        ctx = c;
        return new Promise(() => {});
      })
      .catch((e: unknown) => e);
    await clock.tickAsync(100);
    expect(await result).to.be.instanceOf(OperationTimeoutError);
    const signal = (ctx as ExecutionContext).signal;
    expect(signal.aborted).to.equal(true);
    expect(signal.reason).to.be.instanceOf(OperationTimeoutError);
    expect((ctx as ExecutionContext).deadline).to.equal(100);
    expect((ctx as ExecutionContext).remaining).to.equal(0);
    expect(clock.countTimers()).to.equal(0);
  });

  it('aborts a signal read in time at the deadline, and counts the time left to it', async () => {
    const policy = Policy.builder('p').timeout(100).build();
    let signal: AbortSignal | undefined;
    let remaining = -1;
    const result = policy
      .execute(async (ctx) => {
        signal = ctx.signal;
        await new Promise((r) => setTimeout(r, 30));
        remaining = ctx.remaining;
        return new Promise(() => {});
      })
      .catch((e: unknown) => e);
    await clock.tickAsync(99);
    expect(remaining).to.equal(70);
    expect((signal as AbortSignal).aborted).to.equal(false);
    await clock.tickAsync(1);
    expect((signal as AbortSignal).aborted).to.equal(true);
    expect(await result).to.equal((signal as AbortSignal).reason);
  });

  it("hands a fallback's method outside the timeout the caller's signal and no deadline", async () => {
    const caller = new AbortController();
    let seen:
      { aborted: boolean; signal: AbortSignal; deadline: number; remaining: number } | undefined;
    const policy = Policy.builder('p')
      .fallback({
        method: (_error, ctx) => {
          seen = {
            aborted: ctx.signal.aborted,
            signal: ctx.signal,
            deadline: ctx.deadline,
            remaining: ctx.remaining,
          };
          return 'fallback';
        },
      })
      .timeout(100)
      .build();
    const result = policy.execute((_ctx) => new Promise(() => {}), { signal: caller.signal });
    await clock.tickAsync(100);
    expect(await result).to.equal('fallback');
    expect(seen).to.deep.equal({
      aborted: false,
      signal: caller.signal,
      deadline: Infinity,
      remaining: Infinity,
    });
  });

  it('gives each attempt of a retry outside the timeout a deadline of its own', async () => {
    const policy = Policy.builder('p')
      .retry({ maxAttempts: 2, delay: '10ms' })
      .timeout(100)
      .build();
    const attempts: Array<{ deadline: number; aborted: boolean }> = [];
    const signals: AbortSignal[] = [];
    const result = policy.execute((ctx) => {
      attempts.push({ deadline: ctx.deadline, aborted: ctx.signal.aborted });
      signals.push(ctx.signal);
      return ctx.attempt === 1 ? new Promise(() => {}) : Promise.resolve('second');
    });
    await clock.tickAsync(110);
    expect(await result).to.equal('second');
    expect(attempts).to.deep.equal([
      { deadline: 100, aborted: false },
      { deadline: 210, aborted: false },
    ]);
    expect(signals.map((s) => s.aborted)).to.deep.equal([true, false]);
    expect(clock.countTimers()).to.equal(0);
  });

  it("ends the deadline at the caller's abort: the work's signal aborts with its reason, and nothing is left behind", async () => {
    const caller = new AbortController();
    const policy = Policy.builder('p').timeout(100).build();
    let signal: AbortSignal | undefined;
    const result = policy
      .execute(
        (ctx) => {
          signal = ctx.signal;
          return new Promise(() => {});
        },
        { signal: caller.signal },
      )
      .catch((e: unknown) => e);
    await clock.tickAsync(10);
    const reason = new Error('gone');
    caller.abort(reason);
    expect(await result).to.equal(reason);
    expect((signal as AbortSignal).reason).to.equal(reason);
    expect(getEventListeners(caller.signal, 'abort')).to.have.length(0);
    expect(clock.countTimers()).to.equal(0);
    expect(policy.metrics().timeouts).to.equal(0);
  });

  it("stops listening to the caller's signal once the call settles, whichever way", async () => {
    const caller = new AbortController();
    const policy = Policy.builder('p').timeout(100).build();
    expect(await policy.execute(async (_ctx) => 'ok', { signal: caller.signal })).to.equal('ok');
    const late = policy
      .execute((_ctx) => new Promise(() => {}), { signal: caller.signal })
      .catch((e: unknown) => e);
    await clock.tickAsync(100);
    expect(await late).to.be.instanceOf(OperationTimeoutError);
    expect(getEventListeners(caller.signal, 'abort')).to.have.length(0);
    expect(clock.countTimers()).to.equal(0);
  });

  it('in cooperative mode aborts the signal at the deadline and passes on the late outcome', async () => {
    const policy = Policy.builder('p').timeout({ timeout: 100, mode: 'cooperative' }).build();
    let signal: AbortSignal | undefined;
    const result = policy.execute(async (ctx) => {
      signal = ctx.signal;
      await new Promise((r) => setTimeout(r, 150));
      return 'late';
    });
    await clock.tickAsync(100);
    expect((signal as AbortSignal).aborted).to.equal(true);
    expect(policy.metrics().timeouts).to.equal(1);
    await clock.tickAsync(50);
    expect(await result).to.equal('late');
    expect(clock.countTimers()).to.equal(0);
  });

  it('counts a timeout as a failure of a circuit breaker outside it, not as a cancelled call', async () => {
    const policy = Policy.builder('p').circuitBreaker({ failureThreshold: 1 }).timeout(100).build();
    const result = policy.execute(() => new Promise(() => {})).catch((e: unknown) => e);
    await clock.tickAsync(100);
    expect(await result).to.be.instanceOf(OperationTimeoutError);
    expect((policy.metrics().stages[0] as unknown as { state: string }).state).to.equal('open');
  });
});
