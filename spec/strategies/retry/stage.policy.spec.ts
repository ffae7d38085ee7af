// The retry stage, white-box through a policy: numbered attempts, results retried on request,
// waits on the retry clock, and what stops retrying (a caller abort, a decision that throws).
import { expect } from 'chai';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { Retry } from '../../../src/strategies/retry/Retry.js';
import { ManualClock } from '../../support/clock.js';
import { flush, rejectionOf, settle } from '../../support/promises.js';

describe('Retry stage', () => {
  it('numbers each attempt and reports each retry with the error and the wait', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<string>('orders')
      .retry({ maxAttempts: 3, delay: 10, backoff: 1, clock })
      .build();
    const retries: unknown[] = [];
    policy.on('retry', (e) => retries.push(e));
    const attempts: number[] = [];
    const errors = [new Error('one'), new Error('two')];
    const call = settle(
      policy.execute((ctx: ExecutionContext) => {
        attempts.push(ctx.attempt);
        const error = errors[ctx.attempt - 1];
        return error ? Promise.reject(error) : 'third';
      }),
    );
    await clock.advance(9);
    expect(attempts).to.deep.equal([1]);
    await clock.advance(1);
    expect(attempts).to.deep.equal([1, 2]);
    await clock.advance(10);
    expect(call).to.deep.include({ status: 'fulfilled', value: 'third' });
    expect(attempts).to.deep.equal([1, 2, 3]);
    expect(retries).to.deep.equal([
      { policy: 'orders', stage: 'retry', attempt: 1, delayMs: 10, error: errors[0] },
      { policy: 'orders', stage: 'retry', attempt: 2, delayMs: 10, error: errors[1] },
    ]);
    expect(policy.metrics().retries).to.equal(2);
  });

  it('counts a retry in metrics() before its listeners hear of it, a skipped one too', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<string>('orders')
      .timeout({ timeout: 25, clock })
      .retry({ maxAttempts: 4, delay: 10, backoff: 1, clock })
      .build();
    const seen: Array<[number, number, string | undefined]> = [];
    policy.on('retry', (e) => seen.push([e.attempt, policy.metrics().retries, e.skipped]));
    const call = rejectionOf(policy.execute(() => Promise.reject(new Error('down'))));
    await clock.advance(10);
    await clock.advance(10);
    expect((await call) as Error).to.have.property('message', 'down');
    // The third wait would end past the deadline (at 30 ms of 25): skipped, and counted.
    expect(seen).to.deep.equal([
      [1, 1, undefined],
      [2, 2, undefined],
      [3, 3, 'deadline'],
    ]);
    expect(policy.metrics().retries).to.equal(3);
  });

  it('retries a result retryOnResult rejects, reporting the result', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<number>('p')
      .retry({ maxAttempts: 2, delay: 0, clock, retryOnResult: (n: number) => n < 0 })
      .build();
    const retries: unknown[] = [];
    policy.on('retry', (e) => retries.push(e));
    let n = -1;
    expect(await policy.execute(() => n++)).to.equal(0);
    expect(retries).to.deep.equal([
      { policy: 'p', stage: 'retry', attempt: 1, delayMs: 0, result: -1 },
    ]);
  });

  it('stops at once, with the reason, when the caller aborts during a wait', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<string>('p').retry({ maxAttempts: 5, delay: 100, clock }).build();
    const controller = new AbortController();
    let attempts = 0;
    const call = policy.execute(
      () => {
        attempts++;
        return Promise.reject(new Error('fail'));
      },
      { signal: controller.signal },
    );
    await clock.advance(50);
    const reason = new Error('left');
    controller.abort(reason);
    expect(await rejectionOf(call)).to.equal(reason);
    expect(clock.pending(), 'the wait was cleared').to.equal(0);
    await clock.advance(1000);
    expect(attempts).to.equal(1);
  });

  it('does not retry an attempt that failed after its caller aborted', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<string>('p').retry({ maxAttempts: 5, delay: 0, clock }).build();
    const controller = new AbortController();
    let attempts = 0;
    const call = settle(
      policy.execute(
        () => {
          attempts++;
          controller.abort(new Error('left'));
          return Promise.reject(new Error('fail'));
        },
        { signal: controller.signal },
      ),
    );
    await flush();
    await flush();
    expect(call.status).to.equal('rejected');
    expect(attempts).to.equal(1);
    expect(policy.metrics().retries, 'no retry was started').to.equal(0);
  });

  it('passes on what the retry decision throws instead of retrying', async () => {
    const clock = new ManualClock();
    const thrown = new Error('predicate failed');
    const policy = Policy.builder<string>('p')
      .retry({
        maxAttempts: 3,
        clock,
        retryOn: () => {
          throw thrown;
        },
      })
      .build();
    let attempts = 0;
    const error = await rejectionOf(
      policy.execute(() => {
        attempts++;
        return Promise.reject(new Error('fail'));
      }),
    );
    expect(error).to.equal(thrown);
    expect(attempts).to.equal(1);
  });

  it('numbers its own attempts from 1 inside an outer retry', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<string>('p')
      .retry(new Retry({ maxAttempts: 2, delay: 0, clock }), 'outer')
      .retry(new Retry({ maxAttempts: 2, delay: 0, clock }), 'inner')
      .build();
    const attempts: number[] = [];
    const call = settle(
      policy.execute((ctx: ExecutionContext) => {
        attempts.push(ctx.attempt);
        return Promise.reject(new Error('fail'));
      }),
    );
    for (let i = 0; i < 10 && call.status === 'pending'; i++) await clock.advance(0);
    expect(call.status).to.equal('rejected');
    expect(attempts).to.deep.equal([1, 2, 1, 2]);
  });
});
