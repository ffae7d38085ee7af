// The fallback stage, white-box through a policy: which failures it replaces, what it counts and
// reports, and what it leaves alone (successes, caller aborts, a method that throws).
import { expect } from 'chai';
import { Policy } from '../../../src/pipeline/Policy.js';
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

  it('passes on what the method throws or rejects with, counting no fallback', async () => {
    const thrown = new Error('method threw');
    const sync = Policy.builder<string>('p')
      .fallback({
        method: () => {
          throw thrown;
        },
      })
      .build();
    expect(await rejectionOf(sync.execute(() => Promise.reject(new Error('x'))))).to.equal(thrown);
    const rejected = new Error('method rejected');
    const async = Policy.builder<string>('p')
      .fallback({ method: () => Promise.reject(rejected) })
      .build();
    expect(await rejectionOf(async.execute(() => Promise.reject(new Error('x'))))).to.equal(
      rejected,
    );
    expect(sync.metrics().fallbacks + async.metrics().fallbacks).to.equal(0);
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
});
