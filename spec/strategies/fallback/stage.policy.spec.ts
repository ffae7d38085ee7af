// The fallback stage, white-box through a policy: which failures it replaces, what it counts and
// reports, and what it leaves alone (successes, caller aborts, a method that throws).
import { expect } from 'chai';
import { Policy } from '../../../src/pipeline/Policy.js';
import { RejectedResultError } from '../../../src/errors.js';
import { deferred, flush, rejectionOf, settle } from '../../support/promises.js';

class Handled extends Error {}

describe('Fallback stage', () => {
  it('replaces a handled failure, counting and reporting it once the value is known', async () => {
    const substitute = deferred<string>();
    const policy = Policy.builder<string>('orders')
      .fallback({ on: [Handled], method: () => substitute.promise })
      .build();
    const events: unknown[] = [];
    policy.on('fallback', (e) => events.push(e));
    const error = new Handled('x');
    const call = settle(policy.execute(() => Promise.reject(error)));
    await flush();
    expect(policy.metrics().fallbacks, 'not before the value is known').to.equal(0);
    substitute.resolve('cached');
    await flush();
    expect(call).to.deep.include({ status: 'fulfilled', value: 'cached' });
    expect(policy.metrics().fallbacks).to.equal(1);
    expect(events).to.deep.equal([{ policy: 'orders', stage: 'fallback', error }]);
  });

  it('passes the context to the method, after the error', async () => {
    const seen: unknown[] = [];
    const policy = Policy.builder<string>('orders')
      .fallback({
        method: (error: unknown, ctx: { policyName: string }) => {
          seen.push(error, ctx.policyName);
          return 'v';
        },
      })
      .build();
    const error = new Error('e');
    expect(await policy.execute(() => Promise.reject(error))).to.equal('v');
    expect(seen).to.deep.equal([error, 'orders']);
  });

  it('lets successes and errors it does not handle through unchanged', async () => {
    const policy = Policy.builder<string>('p')
      .fallback({ on: [Handled], value: 'v' })
      .build();
    expect(await policy.execute(() => 'ok')).to.equal('ok');
    const other = new Error('other');
    expect(await rejectionOf(policy.execute(() => Promise.reject(other)))).to.equal(other);
    expect(policy.metrics().fallbacks).to.equal(0);
  });

  it('passes on another error the method throws or rejects with, having counted and reported the failure it took over', async () => {
    const thrown = new Error('method threw');
    const sync = Policy.builder<string>('p')
      .fallback({
        method: () => {
          throw thrown;
        },
      })
      .build();
    const rejected = new Error('method rejected');
    const async = Policy.builder<string>('p')
      .fallback({ method: () => Promise.reject(rejected) })
      .build();
    const seen: string[] = [];
    for (const policy of [sync, async]) {
      policy.on('fallback', (e) => seen.push(`fallback ${(e.error as Error).message}`));
      policy.on('failure', (e) => seen.push(`failure ${(e.error as Error).message}`));
    }
    const first = new Error('primary, sync');
    const second = new Error('primary, async');
    expect(await rejectionOf(sync.execute(() => Promise.reject(first)))).to.equal(thrown);
    expect(await rejectionOf(async.execute(() => Promise.reject(second)))).to.equal(rejected);
    expect(seen).to.deep.equal([
      'fallback primary, sync',
      'failure method threw',
      'fallback primary, async',
      'failure method rejected',
    ]);
    expect([sync.metrics(), async.metrics()].map((m) => [m.fallbacks, m.failures])).to.deep.equal([
      [1, 1],
      [1, 1],
    ]);
  });

  it('counts no fallback for a method that declines, throwing or rejecting with the error it was given', async () => {
    const declined: unknown[] = [];
    for (const method of [
      (error: unknown) => {
        throw error;
      },
      (error: unknown) => Promise.reject(error),
    ]) {
      const policy = Policy.builder<string>('p').fallback({ method }).build();
      policy.on('fallback', (e) => declined.push(e));
      const error = new Error('primary');
      expect(await rejectionOf(policy.execute(() => Promise.reject(error)))).to.equal(error);
      expect(policy.metrics()).to.include({ fallbacks: 0, failures: 1 });
    }
    expect(declined).to.deep.equal([]);
  });

  it('treats a filter that throws as not handling the error', async () => {
    const policy = Policy.builder<string>('p')
      .fallback({
        on: () => {
          throw new Error('filter broke');
        },
        value: 'v',
      })
      .build();
    const error = new Error('original');
    expect(await rejectionOf(policy.execute(() => Promise.reject(error)))).to.equal(error);
  });

  it('supplies nothing to a caller who aborted', async () => {
    let asked = false;
    const policy = Policy.builder<string>('p')
      .fallback({
        method: () => {
          asked = true;
          return 'v';
        },
      })
      .build();
    const controller = new AbortController();
    const reason = new Error('left');
    const work = deferred<string>();
    const call = policy.execute(() => work.promise, { signal: controller.signal });
    controller.abort(reason);
    expect(await rejectionOf(call)).to.equal(reason);
    work.reject(new Error('late'));
    await flush();
    expect(asked).to.equal(false);
    expect(policy.metrics().fallbacks).to.equal(0);
  });

  describe('onResult', () => {
    it('replaces a rejected result, counted and reported as a fallback, a success for the policy', async () => {
      const policy = Policy.builder<{ status: number }>('http')
        .fallback({
          method: (error: unknown, ctx: { policyName: string }) => ({
            status: error instanceof RejectedResultError ? 299 : 0,
            from: ctx.policyName,
          }),
          onResult: (response) => response.status >= 500,
        })
        .build();
      const fallbacks: Array<{ error: unknown }> = [];
      const successes: Array<{ fallback: boolean }> = [];
      policy.on('fallback', (e) => fallbacks.push(e));
      policy.on('success', (e) => successes.push(e));
      const failed = { status: 503 };
      expect(await policy.execute(() => failed)).to.deep.equal({ status: 299, from: 'http' });
      expect(await policy.execute(() => ({ status: 200 }))).to.deep.equal({ status: 200 });
      expect(fallbacks).to.have.length(1);
      expect(fallbacks[0]?.error).to.be.instanceOf(RejectedResultError);
      expect((fallbacks[0]?.error as RejectedResultError).result).to.equal(failed);
      expect(successes.map((e) => e.fallback)).to.deep.equal([true, false]);
      expect(policy.metrics()).to.include({ calls: 2, successes: 2, failures: 0, fallbacks: 1 });
    });

    it('replaces the last result a retry inside it gave up on', async () => {
      let calls = 0;
      const policy = Policy.builder<number>('p')
        .fallback({ value: -1, onResult: (n) => n >= 500 })
        .retry({ maxAttempts: 3, retryOnResult: (n: number) => n >= 500 })
        .build();
      expect(await policy.execute(() => 500 + calls++)).to.equal(-1);
      expect(calls).to.equal(3);
      expect(policy.metrics()).to.include({ retries: 2, fallbacks: 1 });
    });

    it('fails the call with what a throwing predicate threw, replacing nothing', async () => {
      const broke = new Error('predicate broke');
      const policy = Policy.builder<number>('p')
        .fallback({
          value: 0,
          onResult: () => {
            throw broke;
          },
        })
        .build();
      expect(await rejectionOf(policy.execute(() => 1))).to.equal(broke);
      expect(policy.metrics()).to.include({ failures: 1, fallbacks: 0 });
    });

    it('judges no result of a caller who aborted', async () => {
      let judged = 0;
      const policy = Policy.builder<string>('p')
        .fallback({
          value: 'v',
          onResult: () => {
            judged++;
            return true;
          },
        })
        .build();
      const controller = new AbortController();
      const reason = new Error('left');
      const work = deferred<string>();
      const call = policy.execute(() => work.promise, { signal: controller.signal });
      controller.abort(reason);
      expect(await rejectionOf(call)).to.equal(reason);
      work.resolve('late');
      await flush();
      expect(judged).to.equal(0);
      expect(policy.metrics().fallbacks).to.equal(0);
    });

    it("types the predicate's argument by the policy's result type", () => {
      const typed = Policy.builder<{ status: number }>('t')
        .fallback({ value: { status: 0 }, onResult: (reply) => reply.status > 499 })
        .build();
      // @ts-expect-error a number has no `status`
      Policy.builder<number>('t').fallback({ value: 0, onResult: (n) => n.status > 499 });
      expect(typed.describe()).to.contain('fixed value on all errors and matching results');
    });

    it('keeps results unjudged without onResult', async () => {
      const policy = Policy.builder<string>('p').fallback({ value: 'v' }).build();
      expect(await policy.execute(() => 'anything')).to.equal('anything');
      expect(policy.metrics().fallbacks).to.equal(0);
    });
  });
});
