// The bulkhead stage and the caller's signal: a pass listens to it only where the abort would
// otherwise reach nobody (a wait in the queue), and an abort still ends every wait at once.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { OperationTimeoutError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import type { BulkheadStore, BulkheadTicket } from '../../../src/strategies/bulkhead/store.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, flush, settle, type Deferred } from '../../support/promises.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** A store that always asks its backend: each `acquire` answers when the spec says. */
function remoteStore(): BulkheadStore & {
  asked: Deferred<false | BulkheadTicket>[];
  released: unknown[];
} {
  const asked: Deferred<false | BulkheadTicket>[] = [];
  const released: unknown[] = [];
  return {
    asked,
    released,
    configure() {},
    tryAcquire: () => false,
    acquire() {
      const answer = deferred<false | BulkheadTicket>();
      asked.push(answer);
      return answer.promise;
    },
    release(ticket) {
      released.push(ticket);
    },
    inUse: () => 0,
  };
}

/** A stage that answers its caller at once and lets the steps inside run on. */
const answersFirst = {
  kind: 'answers-first',
  execute<T>(ctx: ExecutionContext, next: (ctx: ExecutionContext) => Promise<T>): Promise<T> {
    next(ctx).catch(() => undefined);
    return Promise.resolve('early' as T);
  },
};

describe('Bulkhead stage: the caller signal', () => {
  it('adds no listener to the caller signal while a remote store decides, and leaves none after the granted call', async () => {
    const store = remoteStore();
    const policy = Policy.builder<string>('remote')
      .use(answersFirst)
      .bulkhead(new Bulkhead({ maxConcurrent: 1, store }))
      .build();
    const controller = new AbortController();
    const work = deferred<string>();
    const ran: AbortSignal[] = [];
    const call = policy.execute(
      (ctx) => {
        ran.push(ctx.signal);
        return work.promise;
      },
      { signal: controller.signal },
    );
    // The caller has its answer; the pass still waits for the store's, listening to nothing.
    expect(await call).to.equal('early');
    expect(store.asked).to.have.length(1);
    expect(listeners(controller.signal), 'listeners while the store decides').to.equal(0);
    store.asked[0]!.resolve('lease-1');
    await flush();
    expect(ran).to.deep.equal([controller.signal]);
    expect(listeners(controller.signal), 'listeners while the work runs').to.equal(0);
    work.resolve('done');
    await flush();
    expect(store.released).to.deep.equal(['lease-1']);
    expect(listeners(controller.signal), 'listeners after the call').to.equal(0);
  });

  it('answers a caller who aborts while a remote store decides at once, and gives back a slot granted after', async () => {
    const store = remoteStore();
    const policy = Policy.builder<string>('remote')
      .bulkhead(new Bulkhead({ maxConcurrent: 1, store }))
      .build();
    const controller = new AbortController();
    let ran = 0;
    const call = settle(
      policy.execute(
        () => {
          ran++;
          return 'ran';
        },
        { signal: controller.signal },
      ),
    );
    await flush();
    const reason = new Error('left');
    controller.abort(reason);
    await flush();
    expect(call).to.deep.equal({ status: 'rejected', reason });
    store.asked[0]!.resolve('lease-1');
    await flush();
    expect(ran).to.equal(0);
    expect(store.released).to.deep.equal(['lease-1']);
    expect(listeners(controller.signal)).to.equal(0);
  });

  it('takes a caller out of the queue at once when it aborts there, behind a remote store', async () => {
    const store = remoteStore();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
    const policy = Policy.builder<string>('remote').bulkhead(bulkhead).build();
    const controller = new AbortController();
    const call = settle(policy.execute(() => 'ran', { signal: controller.signal }));
    store.asked[0]!.resolve(false);
    await flush();
    expect(bulkhead.queued).to.equal(1);
    const reason = new Error('left');
    controller.abort(reason);
    expect(bulkhead.queued).to.equal(0);
    await flush();
    expect(call).to.deep.equal({ status: 'rejected', reason });
    expect(listeners(controller.signal)).to.equal(0);
  });

  it('takes a caller out of the in-memory queue at once when it aborts there', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const policy = Policy.builder<string>('local').bulkhead(bulkhead).build();
    const work = deferred<string>();
    const first = policy.execute(() => work.promise);
    const controller = new AbortController();
    const call = settle(policy.execute(() => 'ran', { signal: controller.signal }));
    expect(bulkhead.queued).to.equal(1);
    const reason = new Error('left');
    controller.abort(reason);
    expect(bulkhead.queued).to.equal(0);
    await flush();
    expect(call).to.deep.equal({ status: 'rejected', reason });
    expect(listeners(controller.signal)).to.equal(0);
    work.resolve('done');
    expect(await first).to.equal('done');
    expect(bulkhead.availableSlots).to.equal(1);
  });

  it('ends the wait for a remote store at a cooperative deadline outside, without waiting for the store', async () => {
    const clock = new ManualClock();
    const store = remoteStore();
    const policy = Policy.builder<string>('remote')
      .timeout({ timeout: 100, mode: 'cooperative', clock })
      .bulkhead(new Bulkhead({ maxConcurrent: 1, store, clock }))
      .build();
    let ran = 0;
    const call = settle(
      policy.execute(() => {
        ran++;
        return 'ran';
      }),
    );
    await flush();
    expect(store.asked).to.have.length(1);
    await clock.advance(100);
    await flush();
    expect(call.status).to.equal('rejected');
    expect(call.reason).to.be.instanceOf(OperationTimeoutError);
    store.asked[0]!.resolve('lease-1');
    await flush();
    expect(ran).to.equal(0);
    expect(store.released).to.deep.equal(['lease-1']);
  });
});
