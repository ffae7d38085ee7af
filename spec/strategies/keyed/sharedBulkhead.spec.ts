// A keyed bulkhead on a store shared between processes: its count of slots in use is everyone's,
// as of the store's last answer, so it says nothing of this process. Such a bulkhead is in use
// only while this process waits on it or holds one of its slots; otherwise dropping it loses
// nothing (the store keeps the count), and `maxKeys` and `idleTimeout` drop it as any other.
import { expect } from 'chai';
import sinon from 'sinon';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { stages } from '../../../src/pipeline/stages.js';
import { AdaptiveLimit } from '../../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import type { BulkheadStore } from '../../../src/strategies/bulkhead/store.js';
import { Keyed } from '../../../src/strategies/keyed/Keyed.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, flush } from '../../support/promises.js';

/**
 * A store shared with other processes, as a remote one is: it answers `acquire` later, and its
 * count is the shared one (`others` slots taken elsewhere, and this view's own).
 */
class SharedStore implements BulkheadStore {
  static others = 0;
  #own = 0;
  #known = 0;
  configure(): void {}
  tryAcquire(): false {
    return false;
  }
  acquire(): Promise<false | true> {
    return Promise.resolve().then(() => {
      this.#known = SharedStore.others + this.#own;
      if (this.#known >= 2) return false;
      this.#own++;
      this.#known++;
      return true;
    });
  }
  release(): void {
    this.#own--;
    // The answer to the release: the count as it is then, other processes' slots still taken.
    this.#known = SharedStore.others + this.#own;
  }
  inUse(): number {
    return this.#known;
  }
  subscribe(): void {}
  forKey(): SharedStore {
    return new SharedStore();
  }
}

const tenant = (ctx: ExecutionContext) => ctx.data.get('t') as string;

describe('Keyed bulkheads on a shared store', () => {
  afterEach(() => {
    SharedStore.others = 0;
  });

  it('drop the bulkhead of a key whose store last counted slots of other processes', async () => {
    const clock = new ManualClock();
    const stage = stages.bulkhead({
      key: tenant,
      maxKeys: 5,
      idleTimeout: 1000,
      maxConcurrent: 2,
      store: new SharedStore(),
      clock,
    });
    const policy = Policy.builder('tenants').use(stage).build();
    // Another process holds a slot of every tenant while this one calls each once.
    SharedStore.others = 1;
    for (let i = 0; i < 20; i++) {
      await policy.execute(() => i, { data: { t: `t-${i}` } });
      clock.tick(1);
    }
    const holder = stage.primitive;
    expect(holder.size, 'nothing held here: maxKeys holds').to.equal(5);
    expect(holder.keys()).to.deep.equal(['t-15', 't-16', 't-17', 't-18', 't-19']);
    expect(holder.droppedBusy, 'dropped as at rest').to.equal(0);
    clock.tick(1000);
    expect(holder.size, 'and idleTimeout drops them').to.equal(0);
  });

  it('drop such a bulkhead under an adaptive limit too: the limit does not make the count its own', async () => {
    const clock = new ManualClock();
    const holder = new Keyed(
      () =>
        new Bulkhead({ limit: new AdaptiveLimit({ initial: 2 }), store: new SharedStore(), clock }),
      { maxKeys: 2, idleTimeout: 1000, clock },
    );
    SharedStore.others = 1;
    for (const key of ['a', 'b', 'c', 'd']) {
      await holder.get(key).execute(() => key);
      clock.tick(1);
    }
    expect(holder.keys()).to.deep.equal(['c', 'd']);
    expect(holder.droppedBusy, 'dropped as at rest').to.equal(0);
    clock.tick(1000);
    expect(holder.size).to.equal(0);
  });

  it('keep the bulkhead of a key while this process waits on it or holds one of its slots', async () => {
    const clock = new ManualClock();
    const store = new SharedStore();
    const keyed = new Keyed(
      () => new Bulkhead({ maxConcurrent: 2, maxQueue: 1, store: store.forKey(), clock }),
      { maxKeys: 1, idleTimeout: 1000, clock },
    );
    SharedStore.others = 1;
    // A slot taken by hand, and a caller queued behind this process's own slot.
    await keyed.get('by-hand').acquire();
    const work = deferred<string>();
    const running = keyed.get('queued').execute(() => work.promise);
    await flush();
    const queued = keyed.get('queued').execute(() => 'second');
    await flush();
    expect(keyed.get('queued').queued).to.equal(1);
    for (let i = 0; i < 5; i++) keyed.get(`other-${i}`);
    clock.tick(2000);
    expect(keyed.keys()).to.have.members(['by-hand', 'queued']);
    expect(keyed.droppedBusy).to.equal(0);
    // The slot given back, the queued caller served by this process's release: both go.
    keyed.get('by-hand').release();
    work.resolve('first');
    SharedStore.others = 0;
    expect(await running).to.equal('first');
    expect(await queued).to.equal('second');
    clock.tick(2000);
    expect(keyed.size).to.equal(0);
  });

  it('keep the bulkhead of a call answered while its work still holds the slot', async () => {
    const clock = new ManualClock();
    const keyed = new Keyed(
      () => new Bulkhead({ maxConcurrent: 2, store: new SharedStore(), clock }),
      { maxKeys: 1, idleTimeout: 1000, clock },
    );
    const caller = new AbortController();
    const work = deferred<string>();
    const call = keyed.get('orphan').execute(() => work.promise, caller.signal);
    await flush();
    caller.abort(new Error('gone'));
    await call.catch(() => undefined);
    expect(keyed.get('orphan').orphaned).to.equal(1);
    keyed.get('other');
    clock.tick(2000);
    expect(keyed.keys()).to.deep.equal(['orphan']);
    work.resolve('late');
    await flush();
    clock.tick(2000);
    expect(keyed.size).to.equal(0);
  });

  it('ask a bulkhead once per look whether it is in use, when making room and when sweeping', () => {
    const clock = new ManualClock();
    const keyed = new Keyed(() => new Bulkhead({ maxConcurrent: 1, clock }), {
      maxKeys: 1,
      idleTimeout: 1000,
      clock,
    });
    const held = keyed.get('held');
    expect(held.tryAcquire()).to.equal(true);
    const asked = sinon.spy(Bulkhead.prototype, 'bulwark.inUse');
    try {
      keyed.get('new'); // over maxKeys: `held` is looked at, in use, kept
      expect(asked.callCount, 'one look at held').to.equal(1);
      expect(keyed.keys()).to.deep.equal(['held', 'new']);
      held.release();
      asked.resetHistory();
      clock.tick(1000);
      expect(keyed.size, 'both idle now').to.equal(0);
      expect(asked.callCount, 'one look at each').to.equal(2);
    } finally {
      asked.restore();
    }
  });
});
