import { expect } from 'chai';
import sinon from 'sinon';
import { BulkheadFullError, isBulkheadFullError } from '../../../src/errors.js';
import type { Clock } from '../../../src/internal/clock.js';
import { NEVER_ABORTED } from '../../../src/internal/signals.js';
import { ownTimers } from '../../../src/internal/timerMode.js';
import { AdaptiveLimit } from '../../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import { BULKHEAD } from '../../../src/strategies/bulkhead/kind.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import {
  InMemoryBulkheadStore,
  type BulkheadStore,
  type BulkheadStoreConfig,
} from '../../../src/strategies/bulkhead/store.js';
import { deferred, flush, rejectionOf, settle } from '../../support/promises.js';

describe('Bulkhead', () => {
  let clock: sinon.SinonFakeTimers;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });

  afterEach(() => {
    clock.restore();
  });

  describe('slots', () => {
    it('has its defaults: 10 concurrent calls, no queue, no wait limit', () => {
      const bulkhead = new Bulkhead();
      expect(bulkhead.maxConcurrent).to.equal(10);
      expect(bulkhead.maxQueue).to.equal(0);
      expect(bulkhead.maxWaitMs).to.equal(Infinity);
      expect(bulkhead.availableSlots).to.equal(10);
      expect(bulkhead.queued).to.equal(0);
    });

    it('fails fast at capacity with `Bulkhead at capacity (10 concurrent calls)`', async () => {
      const bulkhead = new Bulkhead();
      for (let i = 0; i < 10; i++) await bulkhead.acquire();
      expect(bulkhead.availableSlots).to.equal(0);
      const error = await rejectionOf(bulkhead.acquire());
      expect(error).to.be.instanceOf(BulkheadFullError);
      expect(isBulkheadFullError(error)).to.equal(true);
      expect(error).to.include({
        message: 'Bulkhead at capacity (10 concurrent calls)',
        name: 'BulkheadFullError',
        code: 'BULKHEAD_FULL',
        maxConcurrent: 10,
        maxQueue: 0,
      });
      expect(bulkhead.queued).to.equal(0);
    });

    it('takes slots with tryAcquire until full and gives them back with release', () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 2 });
      expect(bulkhead.tryAcquire()).to.equal(true);
      expect(bulkhead.tryAcquire()).to.equal(true);
      expect(bulkhead.tryAcquire()).to.equal(false);
      expect(bulkhead.availableSlots).to.equal(0);
      bulkhead.release();
      expect(bulkhead.availableSlots).to.equal(1);
      expect(bulkhead.tryAcquire()).to.equal(true);
    });

    it('throws on a release without a held slot and never rises above maxConcurrent', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 2 });
      expect(() => bulkhead.release()).to.throw(Error, 'without a held slot');
      await bulkhead.acquire();
      expect(bulkhead.tryAcquire()).to.equal(true);
      bulkhead.release();
      bulkhead.release();
      expect(() => bulkhead.release()).to.throw(Error, 'without a held slot');
      expect(bulkhead.availableSlots).to.equal(2);
      expect(bulkhead.tryAcquire()).to.equal(true);
      expect(bulkhead.tryAcquire()).to.equal(true);
      expect(bulkhead.tryAcquire()).to.equal(false);
    });

    it('sets no timer and reads no clock on the fail-fast path', async () => {
      const now = sinon.spy(() => 0);
      const bulkhead = new Bulkhead({
        maxConcurrent: 1,
        clock: { now, setTimeout: () => expect.fail('no timer'), clearTimeout: () => {} },
      });
      await bulkhead.execute(() => 1);
      expect(bulkhead.tryAcquire()).to.equal(true);
      expect(await rejectionOf(bulkhead.acquire())).to.be.instanceOf(BulkheadFullError);
      expect(now.called).to.equal(false);
    });
  });

  describe('queue', () => {
    it('queues callers FIFO and hands each released slot to the next one', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 3 });
      await bulkhead.acquire();
      const order: string[] = [];
      const a = settle(bulkhead.acquire().then(() => order.push('a')));
      const b = settle(bulkhead.acquire().then(() => order.push('b')));
      const c = settle(bulkhead.acquire().then(() => order.push('c')));
      expect(bulkhead.queued).to.equal(3);
      bulkhead.release();
      await flush();
      expect([a.status, b.status, c.status]).to.deep.equal(['fulfilled', 'pending', 'pending']);
      expect(bulkhead.availableSlots, 'the slot went to a, not back to the pool').to.equal(0);
      bulkhead.release();
      bulkhead.release();
      await flush();
      expect(order).to.deep.equal(['a', 'b', 'c']);
      expect(bulkhead.queued).to.equal(0);
      bulkhead.release();
      expect(bulkhead.availableSlots).to.equal(1);
    });

    it("serves and times out its queued callers when the store's queue-emptied hook throws", async () => {
      class Throwing extends InMemoryBulkheadStore {
        'bulwark.queueEmptied'(): void {
          throw new Error('hook failed');
        }
      }
      const bulkhead = new Bulkhead({
        maxConcurrent: 1,
        maxQueue: 2,
        maxWait: 100,
        store: new Throwing(),
      });
      await bulkhead.acquire();
      const served = settle(bulkhead.acquire());
      bulkhead.release();
      await flush();
      expect(served.status).to.equal('fulfilled');
      const late = settle(bulkhead.acquire());
      await clock.tickAsync(100);
      expect(late.reason).to.be.instanceOf(BulkheadFullError);
      expect(bulkhead.queued).to.equal(0);
    });

    it('rejects with BulkheadFullError at once when the queue is full too', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 1 });
      await bulkhead.acquire();
      await bulkhead.acquire();
      const queued = settle(bulkhead.acquire());
      const error = await rejectionOf(bulkhead.acquire());
      expect(error).to.be.instanceOf(BulkheadFullError);
      expect(error).to.include({
        message: 'Bulkhead at capacity (2 concurrent calls)',
        maxConcurrent: 2,
        maxQueue: 1,
      });
      expect(queued.status).to.equal('pending');
      expect(bulkhead.queued).to.equal(1);
    });

    it('leaves no window in which a newcomer takes a released slot from the queue', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
      expect(bulkhead.tryAcquire()).to.equal(true);
      const waiting = settle(bulkhead.acquire());
      bulkhead.release();
      expect(bulkhead.tryAcquire(), 'released straight to the waiter').to.equal(false);
      const newcomer = settle(bulkhead.acquire());
      expect(bulkhead.queued, 'the newcomer queues for the next slot').to.equal(1);
      await flush();
      expect(waiting.status).to.equal('fulfilled');
      expect(newcomer.status).to.equal('pending');
      bulkhead.release();
      await flush();
      expect(newcomer.status).to.equal('fulfilled');
    });

    it('sends newcomers behind queued callers', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2 });
      await bulkhead.acquire();
      const order: string[] = [];
      void bulkhead.acquire().then(() => order.push('first'));
      bulkhead.release();
      // The slot is promised to `first`; a newcomer queues behind.
      void bulkhead.acquire().then(() => order.push('second'));
      expect(bulkhead.queued).to.equal(1);
      await flush();
      bulkhead.release();
      await flush();
      expect(order).to.deep.equal(['first', 'second']);
    });

    it('rejects a queued caller with BulkheadFullError when maxWait runs out', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, maxWait: '1s' });
      await bulkhead.acquire();
      const a = settle(bulkhead.acquire());
      await clock.tickAsync(500);
      const b = settle(bulkhead.acquire());
      // (A timer each where each caller keeps its own.)
      expect(clock.countTimers(), 'one timer for the whole queue').to.equal(ownTimers ? 2 : 1);
      await clock.tickAsync(499);
      expect(a.status).to.equal('pending');
      await clock.tickAsync(1);
      expect(a.status).to.equal('rejected');
      expect(a.reason).to.be.instanceOf(BulkheadFullError);
      expect(a.reason).to.include({ maxConcurrent: 1, maxQueue: 2 });
      expect(bulkhead.queued).to.equal(1);
      await clock.tickAsync(499);
      expect(b.status).to.equal('pending');
      await clock.tickAsync(1);
      expect(b.status).to.equal('rejected');
      expect(bulkhead.queued).to.equal(0);
      expect(clock.countTimers()).to.equal(0);
      expect(bulkhead.availableSlots).to.equal(0);
    });

    it('clears its timer once the queue is served before maxWait runs out', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, maxWait: 1000 });
      await bulkhead.acquire();
      const a = settle(bulkhead.acquire());
      const b = settle(bulkhead.acquire());
      await clock.tickAsync(300);
      bulkhead.release();
      await clock.tickAsync(300);
      expect(a.status).to.equal('fulfilled');
      expect(clock.countTimers()).to.equal(1);
      bulkhead.release();
      await flush();
      expect(b.status).to.equal('fulfilled');
      expect(clock.countTimers()).to.equal(0);
    });

    it('never queues with maxWait 0', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 5, maxWait: 0 });
      await bulkhead.acquire();
      expect(await rejectionOf(bulkhead.acquire())).to.be.instanceOf(BulkheadFullError);
      expect(bulkhead.queued).to.equal(0);
      expect(clock.countTimers()).to.equal(0);
    });

    it('waits without limit when maxWait is Infinity', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWait: Infinity });
      await bulkhead.acquire();
      const waiting = settle(bulkhead.acquire());
      // (Where each caller keeps its own timer, one that only keeps its request alive.)
      expect(clock.countTimers()).to.equal(ownTimers ? 1 : 0);
      await clock.tickAsync(86_400_000);
      expect(waiting.status).to.equal('pending');
      bulkhead.release();
      await flush();
      expect(waiting.status).to.equal('fulfilled');
    });
  });

  describe('abort', () => {
    it('rejects at once with the reason and takes no slot when the signal is already aborted', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      const reason = new Error('gone');
      expect(await rejectionOf(bulkhead.acquire(AbortSignal.abort(reason)))).to.equal(reason);
      expect(bulkhead.availableSlots).to.equal(1);
    });

    it('takes an aborted caller out of the queue at once and serves the next one', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 3, maxWait: '10s' });
      await bulkhead.acquire();
      const controller = new AbortController();
      const remove = sinon.spy(controller.signal, 'removeEventListener');
      const a = settle(bulkhead.acquire());
      const b = settle(bulkhead.acquire(controller.signal));
      const c = settle(bulkhead.acquire());
      controller.abort('left');
      expect(bulkhead.queued, 'synchronously').to.equal(2);
      expect(remove.calledWith('abort')).to.equal(true);
      await flush();
      expect(b).to.deep.include({ status: 'rejected', reason: 'left' });
      bulkhead.release();
      await flush();
      expect(a.status).to.equal('fulfilled');
      bulkhead.release();
      await flush();
      expect(c.status).to.equal('fulfilled');
      bulkhead.release();
      expect(bulkhead.availableSlots).to.equal(1);
      expect(clock.countTimers()).to.equal(0);
    });

    it('passes the slot to the next waiter when the head of the queue aborts', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2 });
      await bulkhead.acquire();
      const controller = new AbortController();
      const head = settle(bulkhead.acquire(controller.signal));
      const next = settle(bulkhead.acquire());
      controller.abort();
      expect(bulkhead.queued).to.equal(1);
      bulkhead.release();
      await flush();
      expect(head.status).to.equal('rejected');
      expect((head.reason as Error).name).to.equal('AbortError');
      expect(next.status).to.equal('fulfilled');
      expect(bulkhead.availableSlots).to.equal(0);
    });

    it('clears the maxWait timer when the last queued caller aborts', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWait: '5s' });
      await bulkhead.acquire();
      const controller = new AbortController();
      const waiting = settle(bulkhead.acquire(controller.signal));
      expect(clock.countTimers()).to.equal(1);
      controller.abort();
      // (A caller's own timer is cleared in its own call, once its promise settled.)
      if (ownTimers) await flush();
      expect(clock.countTimers()).to.equal(0);
      await flush();
      expect(waiting.status).to.equal('rejected');
    });
  });

  describe('execute', () => {
    it('runs fn in a slot with a signal that never aborts and releases it on success', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      const seen: number[] = [];
      const result = await bulkhead.execute(async (signal) => {
        seen.push(bulkhead.availableSlots);
        return signal === NEVER_ABORTED ? 'ok' : 'wrong';
      });
      expect(result).to.equal('ok');
      expect(seen).to.deep.equal([0]);
      expect(bulkhead.availableSlots).to.equal(1);
    });

    it("passes the caller's signal to fn", async () => {
      const bulkhead = new Bulkhead();
      const controller = new AbortController();
      let seen: AbortSignal | undefined;
      await bulkhead.execute((signal) => {
        seen = signal;
      }, controller.signal);
      expect(seen).to.equal(controller.signal);
    });

    it('releases the slot when fn rejects, and rethrows the error unchanged', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      const boom = new Error('boom');
      expect(await rejectionOf(bulkhead.execute(() => Promise.reject(boom)))).to.equal(boom);
      expect(bulkhead.availableSlots).to.equal(1);
    });

    it('turns a synchronous throw into a rejection and releases the slot', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      const boom = new Error('sync');
      let result: Promise<unknown> | undefined;
      expect(() => {
        result = bulkhead.execute(() => {
          throw boom;
        });
      }).not.to.throw();
      expect(bulkhead.availableSlots).to.equal(1);
      expect(await rejectionOf(result as Promise<unknown>)).to.equal(boom);
    });

    it('releases at once after a synchronous value and accepts any thenable', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      expect(await bulkhead.execute(() => 42)).to.equal(42);
      expect(bulkhead.availableSlots).to.equal(1);
      const thenable: PromiseLike<string> = {
        then: (onFulfilled) => Promise.resolve('then').then(onFulfilled),
      };
      expect(await bulkhead.execute(() => thenable)).to.equal('then');
      expect(bulkhead.availableSlots).to.equal(1);
    });

    it('rejects with BulkheadFullError without calling fn when full', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      const gate = deferred<void>();
      const running = bulkhead.execute(() => gate.promise);
      const fn = sinon.spy();
      expect(await rejectionOf(bulkhead.execute(fn))).to.be.instanceOf(BulkheadFullError);
      expect(fn.called).to.equal(false);
      gate.resolve();
      await running;
      expect(bulkhead.availableSlots).to.equal(1);
    });

    it('rejects at once without calling fn when the signal is already aborted', async () => {
      const bulkhead = new Bulkhead();
      const fn = sinon.spy();
      const reason = new Error('stop');
      expect(await rejectionOf(bulkhead.execute(fn, AbortSignal.abort(reason)))).to.equal(reason);
      expect(fn.called).to.equal(false);
      expect(bulkhead.availableSlots).to.equal(10);
    });

    it('rejects promptly when the caller aborts but holds the slot until fn settles', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1 });
      const gate = deferred<string>();
      const controller = new AbortController();
      const run = settle(bulkhead.execute(() => gate.promise, controller.signal));
      controller.abort('cancelled');
      await flush();
      expect(run).to.deep.include({ status: 'rejected', reason: 'cancelled' });
      expect(bulkhead.availableSlots, 'the work still runs').to.equal(0);
      gate.resolve('late');
      await flush();
      expect(bulkhead.availableSlots).to.equal(1);
    });

    it('rejects with the reason when the caller aborts while fn starts, holds the slot until its work settles, and teaches an adaptive limit nothing', async () => {
      const limit = new AdaptiveLimit({ algorithm: 'aimd', initial: 4, window: 1, minSamples: 1 });
      const sample = sinon.spy(limit, 'sample');
      const bulkhead = new Bulkhead({ limit });
      const gate = deferred<string>();
      const controller = new AbortController();
      const run = settle(
        bulkhead.execute(() => {
          controller.abort('left');
          return gate.promise;
        }, controller.signal),
      );
      await flush();
      expect(run).to.deep.include({ status: 'rejected', reason: 'left' });
      expect([bulkhead.availableSlots, bulkhead.orphaned], 'the work still runs').to.deep.equal([
        3, 1,
      ]);
      gate.resolve('late');
      await flush();
      expect([bulkhead.availableSlots, bulkhead.orphaned]).to.deep.equal([4, 0]);
      expect(sample.called, 'called off: no sample').to.equal(false);
    });

    for (const answer of ['returns', 'throws'] as const) {
      it(`rejects with the reason when the caller aborts while fn ${answer} synchronously`, async () => {
        const bulkhead = new Bulkhead({ maxConcurrent: 1 });
        const controller = new AbortController();
        const run = settle(
          bulkhead.execute(() => {
            controller.abort('left');
            if (answer === 'throws') throw new Error('boom');
            return 'value';
          }, controller.signal),
        );
        await flush();
        expect(run).to.deep.include({ status: 'rejected', reason: 'left' });
        expect([bulkhead.availableSlots, bulkhead.orphaned]).to.deep.equal([1, 0]);
      });
    }

    it('waits in the queue for a slot, then runs fn', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
      const gate = deferred<void>();
      const first = bulkhead.execute(() => gate.promise);
      const fn = sinon.spy(() => 'second');
      const second = settle(bulkhead.execute(fn));
      await flush();
      expect(fn.called).to.equal(false);
      gate.resolve();
      await first;
      await flush();
      expect(second).to.deep.include({ status: 'fulfilled', value: 'second' });
      expect(bulkhead.availableSlots).to.equal(1);
    });

    it('never calls fn when the caller aborts while queued, and leaves no timer', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWait: '1m' });
      const gate = deferred<void>();
      const first = bulkhead.execute(() => gate.promise);
      const controller = new AbortController();
      const fn = sinon.spy();
      const second = settle(bulkhead.execute(fn, controller.signal));
      await clock.tickAsync(100);
      controller.abort('no');
      await flush();
      expect(second).to.deep.include({ status: 'rejected', reason: 'no' });
      gate.resolve();
      await first;
      expect(fn.called).to.equal(false);
      expect(bulkhead.availableSlots).to.equal(1);
      expect(clock.countTimers()).to.equal(0);
    });

    it('gives the slot back when the caller aborts between being handed it and running', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
      await bulkhead.acquire();
      const controller = new AbortController();
      const fn = sinon.spy();
      const run = settle(bulkhead.execute(fn, controller.signal));
      bulkhead.release();
      controller.abort('late');
      await flush();
      expect(run).to.deep.include({ status: 'rejected', reason: 'late' });
      expect(fn.called).to.equal(false);
      expect(bulkhead.availableSlots).to.equal(1);
    });
  });

  describe('describe', () => {
    it('summarises the settings on one line', () => {
      expect(BULKHEAD.describe(new Bulkhead())).to.equal('10 concurrent calls, no queue');
      expect(BULKHEAD.describe(new Bulkhead({ maxConcurrent: 1, maxQueue: 5 }))).to.equal(
        '1 concurrent call, queue 5',
      );
      expect(BULKHEAD.describe(new Bulkhead({ maxQueue: 5, maxWait: '2s' }))).to.equal(
        '10 concurrent calls, queue 5, max wait 2000 ms',
      );
    });
  });

  describe('store', () => {
    it('hands the resolved settings to the store once', () => {
      const store = new InMemoryBulkheadStore();
      const configure = sinon.spy(store, 'configure');
      const fake: Clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} };
      new Bulkhead({ maxConcurrent: 3, clock: fake, store });
      expect(configure.calledOnce).to.equal(true);
      expect(configure.firstCall.args[0]).to.deep.equal({ maxConcurrent: 3, clock: fake });
    });

    it('lets the in-memory store hand a freed slot on only while no more are in use than its limit', () => {
      const store = new InMemoryBulkheadStore();
      store.configure({
        maxConcurrent: 2,
        clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} },
      });
      expect(store.tryAcquire() && store.tryAcquire()).to.equal(true);
      expect(store.handOff()).to.equal(true);
      // Slots a reload carried over from a bulkhead with a higher limit.
      store.hold(2);
      expect([store.inUse(), store.tryAcquire(), store.handOff()]).to.deep.equal([4, false, false]);
      store.release();
      store.release();
      expect([store.inUse(), store.handOff()]).to.deep.equal([2, true]);
    });

    it('refuses to serve two bulkheads from one in-memory store', () => {
      const store = new InMemoryBulkheadStore();
      new Bulkhead({ store });
      expect(() => new Bulkhead({ store })).to.throw(Error, 'already serves a Bulkhead');
    });

    it('keeps tryAcquire false while callers are queued, even when the store has a free slot', async () => {
      // A store shared with others, whose slots can free up without this bulkhead hearing of it.
      let used = 1;
      const store: BulkheadStore = {
        configure() {},
        tryAcquire: () => used < 1 && ++used > 0,
        acquire: () => used < 1 && ++used > 0,
        release: () => {
          used--;
        },
        inUse: () => used,
      };
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
      const waiting = settle(bulkhead.acquire());
      used = 0;
      expect(bulkhead.tryAcquire(), 'the queued caller comes first').to.equal(false);
      expect(used).to.equal(0);
      await flush();
      expect(waiting.status).to.equal('pending');
    });

    it('gives the store back the very ticket of the slot that ends, also after a handover', async () => {
      // A store that names its slots: each release must name the slot its call held.
      const free = ['a', 'b'];
      const released: string[] = [];
      const store: BulkheadStore = {
        configure() {},
        tryAcquire: () => free.shift() ?? false,
        acquire: () => free.shift() ?? false,
        release: (ticket) => {
          released.push(ticket as string);
          free.push(ticket as string);
        },
        inUse: () => 2 - free.length,
      };
      const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 1, store });
      const first = deferred<void>();
      const second = deferred<void>();
      const third = deferred<void>();
      const runs = [first, second, third].map((d) => settle(bulkhead.execute(() => d.promise)));
      expect(bulkhead.queued).to.equal(1);
      // 'b' ends first; its slot goes to the queued third call, which ends last.
      second.resolve();
      await flush();
      expect(released).to.deep.equal([]);
      first.resolve();
      await flush();
      expect(released).to.deep.equal(['a']);
      third.resolve();
      await flush();
      expect(released).to.deep.equal(['a', 'b']);
      for (const run of runs) expect(run.status).to.equal('fulfilled');
    });

    it('hands a freed slot on when the store’s handOff throws, and the call keeps its own answer', async () => {
      // A store that cannot say whether a freed slot may pass to a queued caller.
      class NoSay extends InMemoryBulkheadStore {
        override handOff(): boolean {
          throw new Error('store down');
        }
      }
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, store: new NoSay() });
      const policy = Policy.builder('p').bulkhead(bulkhead).build();
      const first = deferred<string>();
      const second = deferred<string>();
      const runs = [
        settle(bulkhead.execute(() => first.promise)),
        settle(policy.execute(() => second.promise)),
        settle(bulkhead.execute(() => 'third')),
      ];
      expect(bulkhead.queued).to.equal(2);
      first.resolve('first');
      await flush();
      second.resolve('second');
      await flush();
      expect(runs.map((run) => run.value)).to.deep.equal(['first', 'second', 'third']);
      expect([bulkhead.availableSlots, bulkhead.queued]).to.deep.equal([1, 0]);
    });

    describe('answering asynchronously', () => {
      // Stands for a store shared with other processes: `elsewhere` slots are held by them.
      class RemoteStore implements BulkheadStore {
        max = 0;
        used = 0;
        onFree: (() => void) | undefined;
        releases = 0;
        configure(config: BulkheadStoreConfig): void {
          this.max = config.maxConcurrent;
        }
        tryAcquire(): boolean {
          return false;
        }
        acquire(): Promise<boolean> {
          return new Promise((resolve) =>
            setTimeout(() => {
              const free = this.used < this.max;
              if (free) this.used++;
              resolve(free);
            }, 10),
          );
        }
        release(): Promise<void> {
          this.used--;
          this.releases++;
          return Promise.reject(new Error('store down'));
        }
        inUse(): number {
          return this.used;
        }
        subscribe(onFree: () => void): void {
          this.onFree = onFree;
        }
        freeElsewhere(): void {
          this.used--;
          this.onFree?.();
        }
      }

      it('decides through the store, tryAcquire says no, and a release error is ignored', async () => {
        const store = new RemoteStore();
        const bulkhead = new Bulkhead({ maxConcurrent: 1, store });
        expect(bulkhead.tryAcquire()).to.equal(false);
        const run = settle(bulkhead.execute(() => 'ok'));
        await clock.tickAsync(10);
        expect(run).to.deep.include({ status: 'fulfilled', value: 'ok' });
        expect(store.releases).to.equal(1);
        expect(bulkhead.availableSlots).to.equal(1);
      });

      it('queues when the shared slots are taken and is served when one frees elsewhere', async () => {
        const store = new RemoteStore();
        const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
        store.used = 1;
        const waiting = settle(bulkhead.acquire());
        await clock.tickAsync(10);
        expect(bulkhead.queued).to.equal(1);
        store.freeElsewhere();
        await clock.tickAsync(10);
        expect(waiting.status).to.equal('fulfilled');
        expect(bulkhead.queued).to.equal(0);
        expect(store.used).to.equal(1);
        bulkhead.release();
        expect(store.used).to.equal(0);
      });

      it('gives back a slot granted as the caller aborts, in the turn between the grant and the answer, or hands it to acquire', async () => {
        // A store whose answer is ready at once: the abort comes in a microtask queued after it.
        const released: unknown[] = [];
        let used = 0;
        const store: BulkheadStore = {
          configure() {},
          tryAcquire: () => false,
          acquire: () => Promise.resolve(++used <= 3 && `slot${used}`),
          release: (ticket) => {
            used--;
            released.push(ticket);
          },
          inUse: () => used,
        };
        const bulkhead = new Bulkhead({ maxConcurrent: 3, store });
        const policy = Policy.builder('p').bulkhead(bulkhead).build();
        const caller = new AbortController();
        const runs = [
          settle(bulkhead.execute(() => 'ran', caller.signal)),
          settle(bulkhead.acquire(caller.signal)),
          settle(policy.execute(() => 'ran', { signal: caller.signal })),
        ];
        queueMicrotask(() => caller.abort(new Error('gone')));
        await flush();
        // The slot of `acquire`, granted before the abort, is the caller's to release; the calls'
        // go back.
        expect(runs.map((run) => run.status)).to.deep.equal(['rejected', 'fulfilled', 'rejected']);
        expect(released).to.have.members(['slot1', 'slot3']);
        bulkhead.release();
        expect(released).to.have.members(['slot1', 'slot2', 'slot3']);
        expect(used).to.equal(0);
      });

      it('rejects promptly on abort and gives back a slot granted after the caller left', async () => {
        const store = new RemoteStore();
        const bulkhead = new Bulkhead({ maxConcurrent: 1, store });
        const controller = new AbortController();
        const run = settle(bulkhead.acquire(controller.signal));
        controller.abort('bye');
        await flush();
        expect(run).to.deep.include({ status: 'rejected', reason: 'bye' });
        await clock.tickAsync(10);
        expect(store.used).to.equal(0);
        expect(() => bulkhead.release()).to.throw(Error);
      });

      it('rejects a caller whose signal aborts inside the store’s acquire, and gives the slot back', async () => {
        // A store whose `acquire` aborts the caller before it returns its (asynchronous) answer.
        const callers: AbortController[] = [];
        const released: unknown[] = [];
        let used = 0;
        const store: BulkheadStore = {
          configure() {},
          tryAcquire: () => false,
          acquire: () => {
            callers.shift()?.abort(new Error('gone'));
            return Promise.resolve(`slot${++used}`);
          },
          release: (ticket) => {
            used--;
            released.push(ticket);
          },
          inUse: () => used,
        };
        const bulkhead = new Bulkhead({ maxConcurrent: 3, store });
        const policy = Policy.builder('p').bulkhead(bulkhead).build();
        const ran: string[] = [];
        const signals = [0, 1, 2].map(() => {
          const caller = new AbortController();
          callers.push(caller);
          return caller.signal;
        });
        const runs = [
          settle(bulkhead.execute(() => ran.push('execute'), signals[0])),
          settle(bulkhead.acquire(signals[1])),
          settle(policy.execute(() => ran.push('policy'), { signal: signals[2] })),
        ];
        await flush();
        expect(runs.map((run) => (run.reason as Error | undefined)?.message)).to.deep.equal([
          'gone',
          'gone',
          'gone',
        ]);
        expect(ran).to.deep.equal([]);
        expect(released).to.have.members(['slot1', 'slot2', 'slot3']);
        expect(used).to.equal(0);
        expect(() => bulkhead.release()).to.throw(Error);
      });
    });
  });

  describe('take-over', () => {
    // X, Y, Z: one slot each, held by x1 and y1, with x2 and y2 queued. Z takes Y over, then Y
    // is asked to take X over: Y answers through Z, so Z takes X over too, with y2 queued already.
    function chain(xWaitMs?: number) {
      const ends = new Map<string, () => void>();
      const started: string[] = [];
      const call = (bulkhead: Bulkhead, name: string) =>
        settle(
          bulkhead.execute(() => {
            started.push(name);
            return new Promise<string>((resolve) => ends.set(name, () => resolve(name)));
          }),
        );
      const x = new Bulkhead({ maxConcurrent: 1, maxQueue: 5, maxWait: xWaitMs });
      const y = new Bulkhead({ maxConcurrent: 1, maxQueue: 5 });
      const z = new Bulkhead({ maxConcurrent: 1, maxQueue: 5 });
      const runs = {
        x1: call(x, 'x1'),
        x2: call(x, 'x2'),
        y1: call(y, 'y1'),
        y2: call(y, 'y2'),
      };
      z.takeOver(y);
      y.takeOver(x);
      const end = async (...names: string[]): Promise<void> => {
        for (const name of names) ends.get(name)!();
        await flush();
      };
      return { z, runs, started, end };
    }

    it('queues the callers moved in behind those waiting there already, first in first out', async () => {
      const { z, runs, started, end } = chain();
      expect(z.queued).to.equal(2);
      await end('x1', 'y1');
      expect(started).to.deep.equal(['x1', 'y1', 'y2']);
      await end('y2');
      expect(started).to.deep.equal(['x1', 'y1', 'y2', 'x2']);
      await end('x2');
      expect(Object.values(runs).map((run) => run.value)).to.deep.equal(['x1', 'x2', 'y1', 'y2']);
      expect([z.queued, z.availableSlots]).to.deep.equal([0, 1]);
    });

    it('refuses a caller moved in at its own deadline, sooner than those waiting before it', async () => {
      const { z, runs, started, end } = chain(100);
      await clock.tickAsync(100);
      expect(runs.x2.reason).to.be.instanceOf(BulkheadFullError);
      expect([runs.y2.status, z.queued]).to.deep.equal(['pending', 1]);
      await end('x1', 'y1');
      expect(started).to.deep.equal(['x1', 'y1', 'y2']);
      await end('y2');
      expect([z.queued, z.availableSlots]).to.deep.equal([0, 1]);
    });
  });
});

describe('Bulkhead options validation', () => {
  it('accepts no options, an empty object and every documented option', () => {
    expect(() => new Bulkhead()).not.to.throw();
    expect(() => new Bulkhead({})).not.to.throw();
    const bulkhead = new Bulkhead({
      maxConcurrent: 3,
      maxQueue: 2,
      maxWait: '1.5s',
      clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} },
      store: new InMemoryBulkheadStore(),
    });
    expect(bulkhead.maxConcurrent).to.equal(3);
    expect(bulkhead.maxQueue).to.equal(2);
    expect(bulkhead.maxWaitMs).to.equal(1500);
    expect(new Bulkhead({ maxWait: Infinity }).maxWaitMs).to.equal(Infinity);
  });

  it('rejects options that are not an object', () => {
    for (const bad of [null, 5, 'wide', [], false]) {
      expect(() => new Bulkhead(bad as never), String(bad)).to.throw(
        TypeError,
        'Bulkhead options must be an object',
      );
    }
  });

  it('rejects an unknown option with a TypeError that suggests the near one', () => {
    expect(() => new Bulkhead({ maxConcurent: 5 } as never)).to.throw(
      TypeError,
      'Bulkhead: unknown option `maxConcurent` (did you mean `maxConcurrent`?)',
    );
    expect(() => new Bulkhead({ size: 5 } as never)).to.throw(TypeError, 'unknown option `size`');
  });

  it('requires `maxConcurrent` to be an integer >= 1', () => {
    expect(() => new Bulkhead({ maxConcurrent: 0 })).to.throw(
      RangeError,
      '`maxConcurrent` must be an integer >= 1, got 0',
    );
    for (const bad of [-1, 1.5, NaN, Infinity]) {
      expect(() => new Bulkhead({ maxConcurrent: bad }), String(bad)).to.throw(
        RangeError,
        `\`maxConcurrent\` must be an integer >= 1, got ${bad}`,
      );
    }
    for (const bad of ['10', null, {}, true]) {
      expect(() => new Bulkhead({ maxConcurrent: bad as never }), String(bad)).to.throw(
        TypeError,
        '`maxConcurrent` must be an integer >= 1',
      );
    }
  });

  it('requires `maxQueue` to be an integer >= 0', () => {
    for (const bad of [-1, 0.5, NaN, Infinity]) {
      expect(() => new Bulkhead({ maxQueue: bad }), String(bad)).to.throw(
        RangeError,
        `\`maxQueue\` must be an integer >= 0, got ${bad}`,
      );
    }
    for (const bad of ['1', null, []]) {
      expect(() => new Bulkhead({ maxQueue: bad as never }), String(bad)).to.throw(
        TypeError,
        '`maxQueue` must be an integer >= 0',
      );
    }
  });

  it('requires `maxWait` to be a duration, allowing Infinity', () => {
    expect(() => new Bulkhead({ maxWait: -1 })).to.throw(RangeError, '`maxWait`');
    expect(() => new Bulkhead({ maxWait: NaN })).to.throw(RangeError, '`maxWait`');
    for (const bad of ['5 sec', '', '5', '1 m', 'forever']) {
      expect(() => new Bulkhead({ maxWait: bad }), bad)
        .to.throw(TypeError, '`maxWait`')
        .with.property('message')
        .that.includes(JSON.stringify(bad));
    }
    expect(() => new Bulkhead({ maxWait: true as never })).to.throw(TypeError, '`maxWait`');
  });

  it('requires `clock` to be a Clock', () => {
    for (const bad of [null, {}, 'system', { now: () => 0, setTimeout: () => 0 }]) {
      expect(() => new Bulkhead({ clock: bad as never })).to.throw(TypeError, '`clock`');
    }
  });

  it('requires `store` to be a BulkheadStore', () => {
    const almost = {
      configure() {},
      tryAcquire: () => true,
      acquire: () => true,
      release() {},
      inUse: () => 0,
    };
    expect(() => new Bulkhead({ store: almost })).not.to.throw();
    for (const bad of [null, {}, 'redis', { ...almost, inUse: 0 }, { ...almost, subscribe: 1 }]) {
      expect(() => new Bulkhead({ store: bad as never })).to.throw(
        TypeError,
        '`store` must be a BulkheadStore',
      );
    }
  });
});
