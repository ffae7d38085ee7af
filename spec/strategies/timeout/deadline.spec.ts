// ctx.deadline and ctx.remaining, retries that never wait past the enclosing deadline, and the
// cooperative time limiter that lets the work settle after aborting its signal.
import { expect } from 'chai';
import { OperationTimeoutError } from '../../../src/errors.js';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { TimeLimiter } from '../../../src/strategies/timeout/TimeLimiter.js';
import { ManualClock } from '../../support/clock.js';
import { settle } from '../../support/promises.js';

describe('Deadlines in the context', () => {
  it('reads Infinity outside any timeout', async () => {
    const seen: number[] = [];
    await Policy.builder()
      .retry({ maxAttempts: 1 })
      .build()
      .execute((ctx: ExecutionContext) => {
        seen.push(ctx.deadline, ctx.remaining);
      });
    expect(seen).to.deep.equal([Infinity, Infinity]);
  });

  it('reads the earliest enclosing deadline on the clock, and what is left of it', async () => {
    const clock = new ManualClock(1000);
    const seen: Array<[number, number]> = [];
    const probe = (ctx: ExecutionContext) =>
      new Promise<void>((resolve) => {
        seen.push([ctx.deadline, ctx.remaining]);
        clock.setTimeout(() => {
          seen.push([ctx.deadline, ctx.remaining]);
          resolve();
        }, 100);
      });
    const innerFirst = Policy.builder()
      .clock(clock)
      .timeout({ timeout: 1000, clock })
      .timeout({ timeout: 300, clock })
      .build();
    const call = settle(innerFirst.execute(probe));
    await clock.advance(100);
    expect(call.status).to.equal('fulfilled');
    expect(seen).to.deep.equal([
      [1300, 300],
      [1300, 200],
    ]);
    seen.length = 0;
    const outerFirst = Policy.builder()
      .clock(clock)
      .timeout({ timeout: 200, clock })
      .timeout({ timeout: 500, clock })
      .build();
    const second = settle(outerFirst.execute(probe));
    await clock.advance(100);
    expect(second.status).to.equal('fulfilled');
    expect(seen).to.deep.equal([
      [1300, 200],
      [1300, 100],
    ]);
  });
});

describe('Retry under a deadline', () => {
  it('returns the last outcome at once instead of a wait that ends at or after the deadline', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('api')
      .clock(clock)
      .timeout({ timeout: 250, clock })
      .retry({ maxAttempts: 10, delay: 100, clock })
      .build();
    const events: unknown[] = [];
    policy.on('retry', (e) => events.push(e));
    policy.on('timeout', (e) => events.push(e));
    const errors = [new Error('one'), new Error('two'), new Error('three')];
    const starts: number[] = [];
    const call = settle(
      policy.execute((ctx) => {
        starts.push(clock.now());
        return Promise.reject(errors[ctx.attempt - 1]);
      }),
    );
    await clock.advance(200);
    expect(call).to.deep.include({ status: 'rejected', reason: errors[2] });
    expect(starts).to.deep.equal([0, 100, 200]);
    expect(events).to.deep.equal([
      { policy: 'api', stage: 'retry', attempt: 1, delayMs: 100, error: errors[0] },
      { policy: 'api', stage: 'retry', attempt: 2, delayMs: 100, error: errors[1] },
      {
        policy: 'api',
        stage: 'retry',
        attempt: 3,
        delayMs: 100,
        error: errors[2],
        skipped: 'deadline',
      },
    ]);
    // Three `retry` events, the skipped one too: three counted.
    expect(policy.metrics().retries).to.equal(3);
    expect(clock.pending()).to.equal(0);
  });

  it('returns a result retryOnResult rejected, and skips a wait that ends exactly at the deadline', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<string>()
      .clock(clock)
      .timeout({ timeout: 100, clock })
      .retry({ maxAttempts: 3, delay: 100, retryOnResult: (r: string) => r === 'busy', clock })
      .build();
    const call = settle(policy.execute(() => 'busy'));
    await clock.advance(0);
    expect(call).to.deep.include({ status: 'fulfilled', value: 'busy' });
  });

  it('waits as usual when the deadline is inside the retry (per attempt)', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder()
      .clock(clock)
      .retry({ maxAttempts: 3, delay: 500, clock })
      .timeout({ timeout: 100, clock })
      .build();
    let n = 0;
    const call = settle(policy.execute(() => (++n < 3 ? Promise.reject(new Error('x')) : 'ok')));
    await clock.advance(1000);
    expect(call).to.deep.include({ status: 'fulfilled', value: 'ok' });
    expect(n).to.equal(3);
  });
});

describe('TimeLimiter mode: cooperative', () => {
  it('refuses an unknown mode, naming it', () => {
    expect(() => new TimeLimiter({ mode: 'polite' as never })).to.throw(
      TypeError,
      /`mode`.*'aggressive', 'cooperative'.*"polite"/,
    );
    expect(new TimeLimiter().mode).to.equal('aggressive');
  });

  it('aborts the signal at the deadline and passes on the value of work that resolves after', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<string>('coop')
      .clock(clock)
      .timeout({ timeout: 100, mode: 'cooperative', clock })
      .build();
    const timeouts: unknown[] = [];
    policy.on('timeout', (e) => timeouts.push(e));
    let reason: unknown;
    const call = settle(
      policy.execute(
        (ctx) =>
          new Promise<string>((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              reason = ctx.signal.reason;
              clock.setTimeout(() => resolve('late but whole'), 50);
            });
          }),
      ),
    );
    await clock.advance(100);
    expect(reason).to.be.instanceOf(OperationTimeoutError);
    expect(timeouts).to.deep.equal([{ policy: 'coop', stage: 'timeout', timeoutMs: 100 }]);
    expect(call.status).to.equal('pending');
    await clock.advance(50);
    expect(call).to.deep.include({ status: 'fulfilled', value: 'late but whole' });
    expect(policy.metrics().timeouts).to.equal(1);
  });

  it("passes on the work's own error, as fetch rejects with the signal's reason", async () => {
    const clock = new ManualClock();
    const limiter = new TimeLimiter({ timeout: 100, mode: 'cooperative', clock });
    const call = settle(
      limiter.execute(
        (signal) =>
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason as Error)),
          ),
      ),
    );
    await clock.advance(100);
    expect(call.status).to.equal('rejected');
    expect((call as { reason: unknown }).reason).to.be.instanceOf(OperationTimeoutError);
    const own = new Error('cleanup failed');
    const second = settle(
      limiter.execute(
        (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(own))),
      ),
    );
    await clock.advance(100);
    expect(second).to.deep.include({ status: 'rejected', reason: own });
    expect(clock.pending()).to.equal(0);
  });

  it('aggressive mode still answers at the deadline', async () => {
    const clock = new ManualClock();
    const limiter = new TimeLimiter({ timeout: 100, clock });
    const call = settle(limiter.execute(() => new Promise(() => {})));
    await clock.advance(100);
    expect(call.status).to.equal('rejected');
    expect((call as { reason: unknown }).reason).to.be.instanceOf(OperationTimeoutError);
  });
});
