// The bulkhead stage, white-box through a policy: refusals counted and reported, a slot that
// follows the work when the caller is answered first, and a slot granted to a caller who left.
import { expect } from 'chai';
import { BulkheadFullError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import type { BulkheadStore } from '../../../src/strategies/bulkhead/store.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, flush, rejectionOf, settle, type Deferred } from '../../support/promises.js';

describe('Bulkhead stage', () => {
  it('counts and reports a refusal when no slot and no queue place is free', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 0 });
    const policy = Policy.builder<string>('orders').bulkhead(bulkhead).build();
    const rejected: unknown[] = [];
    policy.on('rejected', (e) => rejected.push(e));
    const work = deferred<string>();
    const first = policy.execute(() => work.promise);
    const error = await rejectionOf(policy.execute(() => 'second'));
    expect(error).to.be.instanceOf(BulkheadFullError);
    expect(policy.metrics().rejections.bulkhead).to.equal(1);
    expect(rejected).to.deep.equal([
      { policy: 'orders', stage: 'bulkhead', reason: 'bulkhead', error },
    ]);
    work.resolve('done');
    expect(await first).to.equal('done');
    expect(bulkhead.availableSlots).to.equal(1);
  });

  it('holds the slot of a call whose caller aborted until the work settles, counting it orphaned', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    const policy = Policy.builder<string>('p').bulkhead(bulkhead).build();
    const controller = new AbortController();
    const work = deferred<string>();
    const reason = new Error('left');
    const call = policy.execute(() => work.promise, { signal: controller.signal });
    controller.abort(reason);
    expect(await rejectionOf(call)).to.equal(reason);
    expect(bulkhead.orphaned).to.equal(1);
    expect(bulkhead.availableSlots).to.equal(0);
    work.resolve('late');
    await flush();
    expect(bulkhead.orphaned).to.equal(0);
    expect(bulkhead.availableSlots).to.equal(1);
  });

  it('lets the slot follow the work when a deadline inside answers first', async () => {
    const clock = new ManualClock();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, clock });
    const policy = Policy.builder<string>('p')
      .clock(clock)
      .bulkhead(bulkhead)
      .timeout({ timeout: 10, clock })
      .build();
    const work = deferred<string>();
    const call = policy.execute(() => work.promise);
    const settled = rejectionOf(call);
    await clock.advance(10);
    expect(((await settled) as Error).name).to.equal('OperationTimeoutError');
    expect(bulkhead.orphaned, 'answered while the work runs').to.equal(1);
    expect(bulkhead.availableSlots).to.equal(0);
    work.resolve('late');
    await flush();
    expect(bulkhead.orphaned).to.equal(0);
    expect(bulkhead.availableSlots).to.equal(1);
  });

  it('holds one slot until the work of every attempt inside it has settled', async () => {
    const clock = new ManualClock();
    const bulkhead = new Bulkhead({ maxConcurrent: 2, clock });
    const policy = Policy.builder<string>('p')
      .clock(clock)
      .bulkhead(bulkhead)
      .retry({ maxAttempts: 2, delay: 0, clock })
      .timeout({ timeout: 10, clock })
      .build();
    const works = [deferred<string>(), deferred<string>()];
    let calls = 0;
    const settled = rejectionOf(policy.execute(() => (works[calls++] as Deferred<string>).promise));
    await clock.advance(10);
    await clock.advance(10);
    expect(((await settled) as Error).name).to.equal('OperationTimeoutError');
    expect(calls).to.equal(2);
    expect([bulkhead.availableSlots, bulkhead.orphaned]).to.deep.equal([1, 1]);
    (works[1] as Deferred<string>).resolve('late');
    await flush();
    expect(bulkhead.availableSlots, 'the first attempt still runs').to.equal(1);
    (works[0] as Deferred<string>).resolve('late');
    await flush();
    expect([bulkhead.availableSlots, bulkhead.orphaned]).to.deep.equal([2, 0]);
  });

  it("gives each pass of a retry outside its own slot, back when that pass's work settles", async () => {
    const clock = new ManualClock();
    const bulkhead = new Bulkhead({ maxConcurrent: 3, clock });
    const policy = Policy.builder<string>('p')
      .clock(clock)
      .retry({ maxAttempts: 2, delay: 0, clock })
      .bulkhead(bulkhead)
      .timeout({ timeout: 10, clock })
      .build();
    const works = [deferred<string>(), deferred<string>()];
    let calls = 0;
    const settled = rejectionOf(policy.execute(() => (works[calls++] as Deferred<string>).promise));
    await clock.advance(10);
    expect([calls, bulkhead.availableSlots]).to.deep.equal([2, 1]);
    await clock.advance(10);
    expect(((await settled) as Error).name).to.equal('OperationTimeoutError');
    expect([bulkhead.availableSlots, bulkhead.orphaned]).to.deep.equal([1, 2]);
    (works[1] as Deferred<string>).resolve('late');
    await flush();
    expect([bulkhead.availableSlots, bulkhead.orphaned]).to.deep.equal([2, 1]);
    (works[0] as Deferred<string>).resolve('late');
    await flush();
    expect([bulkhead.availableSlots, bulkhead.orphaned]).to.deep.equal([3, 0]);
  });

  it('keeps the slots of nested bulkheads until the work settles, and frees each once', async () => {
    const clock = new ManualClock();
    const outer = new Bulkhead({ maxConcurrent: 1, clock });
    const inner = new Bulkhead({ maxConcurrent: 1, clock });
    const policy = Policy.builder<string>('p')
      .clock(clock)
      .bulkhead(outer)
      .bulkhead(inner)
      .timeout({ timeout: 10, clock })
      .build();
    const work = deferred<string>();
    const settled = rejectionOf(policy.execute(() => work.promise));
    await clock.advance(10);
    expect(((await settled) as Error).name).to.equal('OperationTimeoutError');
    expect([outer.availableSlots, inner.availableSlots]).to.deep.equal([0, 0]);
    expect([outer.orphaned, inner.orphaned]).to.deep.equal([1, 1]);
    work.resolve('late');
    await flush();
    expect([outer.availableSlots, inner.availableSlots]).to.deep.equal([1, 1]);
    expect([outer.orphaned, inner.orphaned]).to.deep.equal([0, 0]);
    expect(await policy.execute(() => 'again')).to.equal('again');
    expect([outer.availableSlots, inner.availableSlots]).to.deep.equal([1, 1]);
  });

  it('gives back at once a slot granted to a queued caller who has just left, without calling its thunk', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const policy = Policy.builder<string>('p').bulkhead(bulkhead).build();
    const controller = new AbortController();
    const reason = new Error('left');
    const work = deferred<string>();
    const first = policy.execute(() => work.promise);
    let called = false;
    const second = policy.execute(
      () => {
        called = true;
        return 'no';
      },
      { signal: controller.signal },
    );
    // The first call's success is reported after its slot went to the second caller, and before
    // that caller hears of it.
    policy.on('success', () => controller.abort(reason));
    work.resolve('done');
    expect(await first).to.equal('done');
    expect(await rejectionOf(second)).to.equal(reason);
    await flush();
    expect(called).to.equal(false);
    expect(bulkhead.availableSlots).to.equal(1);
    expect(bulkhead.orphaned).to.equal(0);
  });

  it('passes on a store failure as it is, not counted or reported as a refusal', async () => {
    const failure = new Error('store down');
    const store: BulkheadStore = {
      configure() {},
      tryAcquire: () => false,
      acquire: () => Promise.reject(failure),
      release() {},
      inUse: () => 0,
    };
    const bulkhead = new Bulkhead({ maxConcurrent: 1, store });
    const policy = Policy.builder<string>('p').bulkhead(bulkhead).build();
    const rejected: unknown[] = [];
    policy.on('rejected', (e) => rejected.push(e));
    expect(await rejectionOf(policy.execute(() => 'no'))).to.equal(failure);
    expect(rejected).to.deep.equal([]);
    expect(policy.metrics().rejections.bulkhead).to.equal(0);
  });

  for (const maxQueue of [0, 1]) {
    it(`does not count a caller who left before reaching it as refused (maxQueue ${maxQueue})`, async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue });
      const gate = deferred<void>();
      const policy = Policy.builder<string>('p')
        .use({ kind: 'gate', execute: (ctx, next) => gate.promise.then(() => next(ctx)) })
        .bulkhead(bulkhead)
        .build();
      const rejected: unknown[] = [];
      policy.on('rejected', (e) => rejected.push(e));
      expect(bulkhead.tryAcquire()).to.equal(true);
      const controller = new AbortController();
      const reason = new Error('left');
      let calls = 0;
      const call = policy.execute(() => `call ${++calls}`, { signal: controller.signal });
      controller.abort(reason);
      expect(await rejectionOf(call)).to.equal(reason);
      gate.resolve();
      await flush();
      expect([calls, rejected.length, policy.metrics().rejections.bulkhead]).to.deep.equal([
        0, 0, 0,
      ]);
      expect([bulkhead.queued, bulkhead.availableSlots]).to.deep.equal([0, 0]);
      bulkhead.release();
      expect(bulkhead.availableSlots).to.equal(1);
    });
  }

  it('counts a call once as orphaned when its caller left before a deadline inside passed', async () => {
    const clock = new ManualClock();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, clock });
    const policy = Policy.builder<string>('p')
      .clock(clock)
      .bulkhead(bulkhead)
      .timeout({ timeout: 10, clock })
      .build();
    const controller = new AbortController();
    const reason = new Error('left');
    const work = deferred<string>();
    const call = policy.execute(() => work.promise, { signal: controller.signal });
    controller.abort(reason);
    expect(await rejectionOf(call)).to.equal(reason);
    expect(bulkhead.orphaned).to.equal(1);
    await clock.advance(10);
    expect([bulkhead.orphaned, bulkhead.availableSlots]).to.deep.equal([1, 0]);
    work.resolve('late');
    await flush();
    expect([bulkhead.orphaned, bulkhead.availableSlots]).to.deep.equal([0, 1]);
  });

  it('gives each of two nested bulkheads back its own named slot, also past a deadline inside', async () => {
    const clock = new ManualClock();
    const named = (prefix: string, released: unknown[]): BulkheadStore => {
      let n = 0;
      return {
        configure() {},
        tryAcquire: () => `${prefix}${++n}`,
        acquire: () => `${prefix}${++n}`,
        release: (ticket) => void released.push(ticket),
        inUse: () => 0,
      };
    };
    const released: unknown[] = [];
    for (const deadline of [false, true]) {
      released.length = 0;
      const builder = Policy.builder<string>('p')
        .clock(clock)
        .bulkhead(new Bulkhead({ maxConcurrent: 2, store: named('outer-', released) }))
        .bulkhead(new Bulkhead({ maxConcurrent: 2, store: named('inner-', released) }));
      const policy = (deadline ? builder.timeout({ timeout: 10, clock }) : builder).build();
      const work = deferred<string>();
      const call = settle(policy.execute(() => work.promise));
      await clock.advance(10);
      work.resolve('done');
      await flush();
      expect(call.status).to.equal(deadline ? 'rejected' : 'fulfilled');
      expect(released, `deadline: ${deadline}`).to.deep.equal(['inner-1', 'outer-1']);
    }
  });

  it('fails the pass of a queued caller who left, as a stage outside sees it', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const seen: unknown[] = [];
    const policy = Policy.builder<string>('p')
      .use({
        kind: 'watch',
        execute: (ctx, next) =>
          next(ctx).then(
            (value) => {
              seen.push(['ok', value]);
              return value;
            },
            (error: unknown) => {
              seen.push(['failed', error]);
              throw error;
            },
          ),
      })
      .bulkhead(bulkhead)
      .build();
    const work = deferred<string>();
    const first = policy.execute(() => work.promise);
    const leaving = new AbortController();
    const reason = new Error('left');
    const second = policy.execute(() => 'no', { signal: leaving.signal });
    leaving.abort(reason);
    expect(await rejectionOf(second)).to.equal(reason);
    work.resolve('done');
    expect(await first).to.equal('done');
    await flush();
    expect(seen).to.deep.equal([
      ['failed', reason],
      ['ok', 'done'],
    ]);
    // Handed a slot in the turn it leaves: the slot goes back, and the pass fails all the same.
    expect(bulkhead.tryAcquire()).to.equal(true);
    const late = new AbortController();
    const third = policy.execute(() => 'no', { signal: late.signal });
    bulkhead.release();
    late.abort(reason);
    expect(await rejectionOf(third)).to.equal(reason);
    await flush();
    expect(seen.slice(2)).to.deep.equal([['failed', reason]]);
    expect(bulkhead.availableSlots).to.equal(1);
    expect(bulkhead.availableSlots).to.equal(1);
  });

  it('gives the store back the very ticket it granted, `true` included', async () => {
    const released: unknown[] = [];
    const store: BulkheadStore = {
      configure() {},
      tryAcquire: () => true,
      acquire: () => true,
      release: (ticket) => void released.push(ticket),
      inUse: () => 0,
    };
    const policy = Policy.builder<string>('p')
      .bulkhead(new Bulkhead({ maxConcurrent: 1, store }))
      .build();
    expect(await policy.execute(() => 'done')).to.equal('done');
    expect(await policy.execute(() => Promise.resolve('later'))).to.equal('later');
    expect(released).to.deep.equal([true, true]);
  });
});
