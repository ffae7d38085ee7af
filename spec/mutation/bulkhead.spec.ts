// The bulkhead's slots where they change hands: freed by another process and announced through
// the store's subscription, handed to a queued caller who gave up in the same turn, and counted
// while a caller is answered before its work settles.
import { expect } from 'chai';
import { BulkheadFullError } from '../../src/errors.js';
import { NEVER_ABORTED } from '../../src/internal/signals.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import type { BulkheadStore, BulkheadTicket } from '../../src/strategies/bulkhead/store.js';
import { ManualClock } from '../support/clock.js';
import { deferred, flush, rejectionOf } from '../support/promises.js';

/** Slots shared with "another process", which takes and frees them behind the bulkhead's back. */
class SharedSlots implements BulkheadStore {
  max = 0;
  inUseCount = 0;
  onFree: (() => void) | undefined;
  readonly remote: boolean;
  constructor(remote: boolean) {
    this.remote = remote;
  }
  configure(config: { maxConcurrent: number }): void {
    this.max = config.maxConcurrent;
  }
  tryAcquire(): false | BulkheadTicket {
    if (this.remote || this.inUseCount >= this.max) return false;
    this.inUseCount++;
    return true;
  }
  acquire(): false | BulkheadTicket | Promise<false | BulkheadTicket> {
    if (!this.remote) return this.tryAcquire();
    return Promise.resolve().then(() => {
      if (this.inUseCount >= this.max) return false;
      this.inUseCount++;
      return true;
    });
  }
  release(): void {
    this.inUseCount--;
  }
  inUse(): number {
    return this.inUseCount;
  }
  subscribe(onFree: () => void): void {
    this.onFree = onFree;
  }
  /** The other process frees a slot and says so. */
  freeElsewhere(): void {
    this.inUseCount--;
    this.onFree?.();
  }
}

describe('Bulkhead: slots changing hands', () => {
  for (const remote of [false, true]) {
    describe(`a slot freed elsewhere and announced by a ${remote ? 'remote' : 'local'} store`, () => {
      it('goes to the queued caller of acquire(), who holds it until release()', async () => {
        const store = new SharedSlots(remote);
        const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
        store.inUseCount = 1;
        let granted = false;
        const waiting = bulkhead.acquire().then(() => (granted = true));
        await flush();
        expect(bulkhead.queued).to.equal(1);
        store.freeElsewhere();
        await waiting;
        expect(granted).to.equal(true);
        expect(store.inUseCount, 'the slot is held').to.equal(1);
        expect(bulkhead.queued).to.equal(0);
        bulkhead.release();
        expect(store.inUseCount).to.equal(0);
        expect(() => bulkhead.release(), 'only one slot was held').to.throw(Error, 'release()');
      });

      it('goes to a queued execute(), and back to the store when its work settles', async () => {
        const store = new SharedSlots(remote);
        const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
        store.inUseCount = 1;
        const work = deferred<string>();
        const call = bulkhead.execute(() => work.promise);
        await flush();
        store.freeElsewhere();
        await flush();
        expect(store.inUseCount, 'held by the call').to.equal(1);
        work.resolve('done');
        expect(await call).to.equal('done');
        expect(store.inUseCount).to.equal(0);
        expect(() => bulkhead.release(), 'execute’s slot is not the caller’s').to.throw(Error);
      });
    });
  }

  it('a queued caller who gives up in the turn its slot is handed over never starts fn, and the slot goes back', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    expect(bulkhead.tryAcquire()).to.equal(true);
    const controller = new AbortController();
    const reason = new Error('left');
    let calls = 0;
    const call = bulkhead.execute(() => ++calls, controller.signal);
    expect(bulkhead.queued).to.equal(1);
    bulkhead.release();
    controller.abort(reason);
    expect(await rejectionOf(call)).to.equal(reason);
    expect(calls).to.equal(0);
    expect(bulkhead.availableSlots).to.equal(1);
    expect(bulkhead.orphaned).to.equal(0);
  });

  it('passes fn the caller’s own signal, or one that never aborts', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    await bulkhead.execute((signal) => seen.push(signal), controller.signal);
    await bulkhead.execute((signal) => seen.push(signal));
    expect(seen).to.deep.equal([controller.signal, NEVER_ABORTED]);
  });

  it('counts an answered caller’s slot as orphaned until its work settles', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 2 });
    const controller = new AbortController();
    const work = deferred<string>();
    const call = bulkhead.execute(() => work.promise, controller.signal);
    controller.abort(new Error('left'));
    await rejectionOf(call);
    expect(bulkhead.orphaned).to.equal(1);
    expect(bulkhead.availableSlots).to.equal(1);
    work.reject(new Error('late'));
    await flush();
    expect(bulkhead.orphaned).to.equal(0);
    expect(bulkhead.availableSlots).to.equal(2);
  });

  it('rejects a caller when the queue is full, or at once when maxWait is 0, naming the limits', async () => {
    const clock = new ManualClock();
    const full = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, clock });
    expect(full.tryAcquire()).to.equal(true);
    const queued = full.acquire();
    const error = await rejectionOf(full.acquire());
    expect(error).to.be.instanceOf(BulkheadFullError);
    expect(error).to.include({ maxConcurrent: 1, maxQueue: 1 });
    full.release();
    await queued;

    const noWait = new Bulkhead({ maxConcurrent: 1, maxQueue: 5, maxWait: 0, clock });
    expect(noWait.tryAcquire()).to.equal(true);
    expect(await rejectionOf(noWait.acquire())).to.be.instanceOf(BulkheadFullError);
    expect(noWait.queued).to.equal(0);
  });

  it('reports free slots within [0, maxConcurrent] whatever the store counts', () => {
    const store = new SharedSlots(false);
    const bulkhead = new Bulkhead({ maxConcurrent: 3, store });
    store.inUseCount = 5;
    expect(bulkhead.availableSlots).to.equal(0);
    store.inUseCount = -2;
    expect(bulkhead.availableSlots).to.equal(3);
    store.inUseCount = 1;
    expect(bulkhead.availableSlots).to.equal(2);
  });
});
