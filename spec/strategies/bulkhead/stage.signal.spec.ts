// The bulkhead stage and the caller's signal: a pass waiting for a slot (a remote store deciding,
// or the queue) leaves at the caller's abort, so every stage outside gives back what it holds for
// the call then, and a slot granted after the abort goes back.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { CircuitOpenError, OperationTimeoutError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
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
  it('listens to the caller signal while a remote store decides, and leaves no listener after the granted call', async () => {
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
    // The caller has its answer; the pass still waits for the store's, ready to leave at an abort.
    expect(await call).to.equal('early');
    expect(store.asked).to.have.length(1);
    expect(listeners(controller.signal), 'listeners while the store decides').to.equal(1);
    store.asked[0]!.resolve('lease-1');
    await flush();
    expect(ran).to.deep.equal([controller.signal]);
    expect(listeners(controller.signal), 'listeners while the work runs').to.equal(0);
    work.resolve('done');
    await flush();
    expect(store.released).to.deep.equal(['lease-1']);
    expect(listeners(controller.signal), 'listeners after the call').to.equal(0);
  });

  it('gives back the slot of a bulkhead outside at the caller abort while a remote store decides, though the store never answers', async () => {
    const store = remoteStore();
    const outer = new Bulkhead({ maxConcurrent: 1, maxQueue: 0 });
    const policy = Policy.builder<string>('remote')
      .bulkhead(outer)
      .bulkhead(new Bulkhead({ maxConcurrent: 1, store }))
      .build();
    const controller = new AbortController();
    const call = settle(policy.execute(() => 'ran', { signal: controller.signal }));
    await flush();
    expect(store.asked).to.have.length(1);
    expect(outer.availableSlots).to.equal(0);
    const reason = new Error('left');
    controller.abort(reason);
    await flush();
    expect(call).to.deep.equal({ status: 'rejected', reason });
    // The pass inside left at the abort: the outer slot is free, not held by a call answered.
    expect([outer.availableSlots, outer.orphaned]).to.deep.equal([1, 0]);
    const second = settle(policy.execute(() => 'second'));
    await flush();
    expect(second.status, 'the next call passes the outer bulkhead').to.equal('pending');
    expect(store.asked).to.have.length(2);
    store.asked[1]!.resolve('lease-2');
    await flush();
    expect(second).to.deep.equal({ status: 'fulfilled', value: 'second' });
    expect(store.released).to.deep.equal(['lease-2']);
    expect([outer.availableSlots, outer.orphaned]).to.deep.equal([1, 0]);
  });

  it("frees a breaker's half-open probe at the caller abort while a remote store decides, though the store never answers", async () => {
    const clock = new ManualClock();
    const store = remoteStore();
    const breaker = new CircuitBreaker<string>({
      failureThreshold: 1,
      recoveryTimeout: 20,
      halfOpenMaxCalls: 1,
      clock,
    });
    const policy = Policy.builder<string>('remote')
      .circuitBreaker(breaker)
      .bulkhead(new Bulkhead({ maxConcurrent: 10, store, clock }))
      .build();
    const failing = settle(
      policy.execute(() => {
        throw new Error('boom');
      }),
    );
    store.asked[0]!.resolve('lease-1');
    await flush();
    expect(failing.status).to.equal('rejected');
    await clock.advance(20);
    const controller = new AbortController();
    const probe = settle(policy.execute(() => 'probe', { signal: controller.signal }));
    await flush();
    expect(store.asked).to.have.length(2);
    const reason = new Error('left');
    controller.abort(reason);
    await flush();
    expect(probe).to.deep.equal({ status: 'rejected', reason });
    // The probe was called off: the next call is the probe, not refused as the circuit is open.
    const next = settle(policy.execute(() => 'next'));
    await flush();
    expect(next.reason).to.not.be.instanceOf(CircuitOpenError);
    expect(store.asked).to.have.length(3);
    store.asked[2]!.resolve('lease-3');
    await flush();
    expect(next).to.deep.equal({ status: 'fulfilled', value: 'next' });
    expect(breaker.state).to.equal('closed');
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
