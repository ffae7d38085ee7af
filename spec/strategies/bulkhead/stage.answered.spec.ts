// The bulkhead stage when a step inside answers before the work it wraps has settled: the slot
// follows that work, the same whichever way the pass holds it (recorded on the execution's root,
// for the first pass reached with it, or in a context of the pass's own otherwise).
import { expect } from 'chai';
import { Policy } from '../../../src/pipeline/Policy.js';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import type { Stage } from '../../../src/pipeline/Stage.js';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import type { BulkheadStore, BulkheadTicket } from '../../../src/strategies/bulkhead/store.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, flush, settle, type Deferred } from '../../support/promises.js';

/** Passes the call on as it is (the bulkhead inside it is then not reached with the root). */
const through: Stage = { kind: 'through', execute: (ctx, next) => next(ctx) };

/**
 * Starts the work and answers at once without waiting for it (as a stale-while-revalidate stage
 * does), keeping `next` so that more work can be started under the same pass later.
 */
function answersFirst(starts: Array<() => void>): Stage {
  return {
    kind: 'answers-first',
    execute<T>(ctx: ExecutionContext, next: (ctx: ExecutionContext) => Promise<T>): Promise<T> {
      const start = (): void => void next(ctx).catch(() => undefined);
      start();
      starts.push(start);
      return Promise.resolve('early' as T);
    },
  };
}

describe('Bulkhead stage: work started under a pass that has answered', () => {
  for (const onRoot of [true, false]) {
    const where = onRoot ? 'the slot on the root' : 'a slot in a context of its own';

    /** A policy whose bulkhead (one slot) holds its slot as `where` says, and its calls' work. */
    function setUp(): {
      bulkhead: Bulkhead;
      policy: Policy<string>;
      starts: Array<() => void>;
      works: Array<Deferred<string>>;
    } {
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      const starts: Array<() => void> = [];
      const builder = Policy.builder<string>('p');
      const policy = (onRoot ? builder : builder.use(through))
        .bulkhead(bulkhead)
        .use(answersFirst(starts))
        .build();
      return { bulkhead, policy, starts, works: [] };
    }

    it(`keeps ${where} until work started after the answer has settled too`, async () => {
      const { bulkhead, policy, starts, works } = setUp();
      const fn = (): Promise<string> => (works[works.length] = deferred<string>()).promise;
      expect(await policy.execute(fn)).to.equal('early');
      (starts[0] as () => void)();
      expect(works).to.have.length(2);
      expect([bulkhead.availableSlots, bulkhead.orphaned]).to.deep.equal([0, 1]);
      (works[0] as Deferred<string>).resolve('first');
      await flush();
      expect([bulkhead.availableSlots, bulkhead.orphaned], 'the later work runs').to.deep.equal([
        0, 1,
      ]);
      (works[1] as Deferred<string>).resolve('second');
      await flush();
      expect([bulkhead.availableSlots, bulkhead.orphaned]).to.deep.equal([1, 0]);
    });

    it(`gives ${where} back once, whatever work starts under the pass afterwards`, async () => {
      const { bulkhead, policy, starts, works } = setUp();
      const fn = (): Promise<string> => (works[works.length] = deferred<string>()).promise;
      expect(await policy.execute(fn)).to.equal('early');
      (works[0] as Deferred<string>).resolve('first');
      await flush();
      expect([bulkhead.availableSlots, bulkhead.orphaned]).to.deep.equal([1, 0]);
      // Started once the slot is back: no longer the pass's work, and no slot to give back.
      (starts[0] as () => void)();
      expect(bulkhead.tryAcquire(), 'the slot, taken by another caller').to.equal(true);
      (works[1] as Deferred<string>).resolve('second');
      await flush();
      expect([bulkhead.availableSlots, bulkhead.orphaned]).to.deep.equal([0, 0]);
      bulkhead.release();
      expect(bulkhead.availableSlots).to.equal(1);
    });
  }

  it('records on the root only the slot of the pass reached with it, not one of concurrent passes', async () => {
    // The first attempt of a hedge outside holds a named slot, the second a `true` one: nothing
    // inside answers early, so the second is not remembered at all.
    const clock = new ManualClock();
    const tickets: BulkheadTicket[] = ['first', true];
    const released: unknown[] = [];
    const store: BulkheadStore = {
      configure() {},
      tryAcquire: () => tickets.shift() ?? false,
      acquire: () => false,
      release: (ticket) => void released.push(ticket),
      inUse: () => 0,
    };
    const policy = Policy.builder<string>('p')
      .clock(clock)
      .hedge({ maxHedges: 1, delay: 10, clock })
      .bulkhead(new Bulkhead({ maxConcurrent: 2, store }))
      .build();
    const works: Array<Deferred<string>> = [];
    const call = settle(policy.execute(() => (works[works.length] = deferred<string>()).promise));
    await clock.advance(10);
    expect(works).to.have.length(2);
    (works[1] as Deferred<string>).resolve('second');
    await flush();
    expect(call.value).to.equal('second');
    expect(released, 'the second attempt gives back its own ticket').to.deep.equal([true]);
    (works[0] as Deferred<string>).resolve('first');
    await flush();
    expect(released).to.deep.equal([true, 'first']);
  });
});
