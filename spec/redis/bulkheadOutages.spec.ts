// A Redis bulkhead while Redis goes away and comes back, on a scripted adapter and fake time:
// 'fail-closed' rejects the callers already queued, and 'local' keeps one process's calls within
// maxConcurrent across both switches (its calls on Redis leases count against the local limit;
// its calls on local slots get leases once Redis answers again, before it admits anyone).
import { expect } from 'chai';
import sinon from 'sinon';
import { StoreUnavailableError } from '../../src/errors.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import type { StoreErrorMode } from '../../src/redis/options.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { flush, ScriptedAdapter } from './scripted.js';

const STORE_TIMEOUT = 100;
// The back-off after a failure: 4 x storeTimeout.
const BACK_OFF = 400;

/** Calls that run until the spec ends them, counting how many run at once. */
class Calls {
  running = 0;
  maxRunning = 0;
  readonly #ends: (() => void)[] = [];
  readonly outcomes: Promise<unknown>[] = [];

  start(bulkhead: Bulkhead): void {
    this.outcomes.push(
      bulkhead
        .execute(
          () =>
            new Promise<void>((resolve) => {
              this.running++;
              this.maxRunning = Math.max(this.maxRunning, this.running);
              this.#ends.push(() => {
                this.running--;
                resolve();
              });
            }),
        )
        .then(
          () => 'done',
          (error: unknown) => error,
        ),
    );
  }

  /** Ends the oldest running call. */
  endOne(): void {
    const end = this.#ends.shift();
    if (end === undefined) throw new Error('no call running');
    end();
  }
}

describe('RedisBulkheadStore during an outage (on fake time)', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
  });

  function setup(mode: StoreErrorMode, maxConcurrent: number, options: { maxWait?: number } = {}) {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({
      client: adapter,
      key: 'pool',
      storeTimeout: STORE_TIMEOUT,
      onStoreError: mode,
    });
    const bulkhead = new Bulkhead({ maxConcurrent, maxQueue: 100, ...options, store });
    return { adapter, store, bulkhead, calls: new Calls() };
  }

  for (const maxWait of [8000, undefined]) {
    it(`'fail-closed' rejects the callers queued when Redis goes away within about one storeTimeout (maxWait ${maxWait})`, async function () {
      const { adapter, bulkhead, calls } = setup(
        'fail-closed',
        2,
        maxWait === undefined ? {} : { maxWait },
      );
      // Both slots are taken elsewhere: three callers queue here, polling Redis.
      calls.start(bulkhead);
      await flush();
      adapter.answer([0, 2]);
      await flush();
      calls.start(bulkhead);
      calls.start(bulkhead);
      await flush();
      expect(bulkhead.queued).to.equal(3);
      expect(adapter.calls).to.have.length(0);
      // The next poll goes unanswered: Redis is gone.
      await clock.tickAsync(100);
      expect(adapter.calls).to.have.length(1);
      await clock.tickAsync(STORE_TIMEOUT);
      expect(bulkhead.queued).to.equal(0);
      const outcomes = await Promise.all(calls.outcomes);
      for (const outcome of outcomes) expect(outcome).to.be.instanceOf(StoreUnavailableError);
      expect(calls.maxRunning).to.equal(0);
      // Past maxWait and Redis back: nothing more comes of them.
      adapter.next().resolve([1, 1]);
      await clock.tickAsync(10_000);
      expect(calls.maxRunning).to.equal(0);
    });
  }

  it("'fail-closed' rejects queued callers at their next poll once another store on the client lost Redis", async function () {
    const { adapter, bulkhead, calls } = setup('fail-closed', 1);
    const other = new Bulkhead({
      maxConcurrent: 1,
      store: new RedisBulkheadStore({
        client: adapter,
        key: 'other',
        storeTimeout: STORE_TIMEOUT,
        onStoreError: 'fail-closed',
      }),
    });
    // The other store's call is the one Redis leaves unanswered (it times out at 100 ms).
    const direct = other.execute(() => 'x').catch((error: unknown) => error);
    await clock.tickAsync(50);
    calls.start(bulkhead);
    await flush();
    adapter.calls[1]?.resolve([0, 1]);
    await flush();
    expect(bulkhead.queued).to.equal(1);
    await clock.tickAsync(50);
    expect(await direct).to.be.instanceOf(StoreUnavailableError);
    expect(bulkhead.queued).to.equal(1);
    // The queued caller's poll (at 150 ms) skips Redis and is refused at once.
    await clock.tickAsync(50);
    expect(bulkhead.queued).to.equal(0);
    expect(await calls.outcomes[0]).to.be.instanceOf(StoreUnavailableError);
    expect(adapter.calls).to.have.length(2);
  });

  it("'local' counts the calls still running on Redis leases when Redis goes away", async function () {
    const { adapter, store, bulkhead, calls } = setup('local', 3);
    for (let i = 0; i < 3; i++) {
      calls.start(bulkhead);
      await flush();
      adapter.answer([1, i + 1]);
      await flush();
    }
    expect(calls.running).to.equal(3);
    expect(store.leases).to.equal(3);
    // Redis goes away: the next caller's acquire times out, and is decided by the local limit,
    // which the three calls on leases fill.
    calls.start(bulkhead);
    await flush();
    await clock.tickAsync(STORE_TIMEOUT);
    expect(store.redisAvailable).to.equal(false);
    // Arrivals during the back-off are decided at once, the same way.
    calls.start(bulkhead);
    await clock.tickAsync(250);
    expect(calls.running).to.equal(3);
    expect(bulkhead.queued).to.equal(2);
    expect(bulkhead.availableSlots).to.equal(0);
    // A call on a lease ends: its slot goes to the first caller queued, still three at once.
    calls.endOne();
    await flush();
    expect(calls.running).to.equal(3);
    expect(bulkhead.queued).to.equal(1);
    for (let i = 0; i < 4; i++) {
      calls.endOne();
      await clock.tickAsync(50);
    }
    expect(calls.maxRunning).to.equal(3);
    expect(await Promise.all(calls.outcomes)).to.deep.equal(Array(5).fill('done'));
  });

  it("'local' gives the calls still on local slots leases when Redis comes back, before admitting anyone", async function () {
    const { adapter, store, bulkhead, calls } = setup('local', 2);
    // Redis is away from the start: two calls run on the local limit.
    calls.start(bulkhead);
    await flush();
    await clock.tickAsync(STORE_TIMEOUT);
    adapter.next();
    calls.start(bulkhead);
    await flush();
    expect(calls.running).to.equal(2);
    expect(adapter.calls).to.have.length(0);
    // Past the back-off, the next caller asks Redis, which takes leases for the two local calls
    // with the same command, whatever the limit.
    await clock.tickAsync(BACK_OFF);
    calls.start(bulkhead);
    await flush();
    const acquire = adapter.next();
    expect(acquire.args[0]).to.equal('adopt');
    expect(acquire.args.slice(1, 3)).to.deep.equal(['2', '30000']);
    expect(acquire.args[4]).to.equal('2');
    const adopted = acquire.args.slice(5, 7);
    expect(new Set([acquire.args[3], ...adopted]).size).to.equal(3);
    expect(acquire.args).to.have.length(7);
    // Redis counts them: no slot free.
    acquire.resolve([0, 2]);
    await flush();
    expect(store.redisAvailable).to.equal(true);
    expect(store.leases).to.equal(2);
    expect(calls.running).to.equal(2);
    expect(bulkhead.queued).to.equal(1);
    // A call arriving now is refused by Redis too (the leases are counted there).
    calls.start(bulkhead);
    await flush();
    expect(bulkhead.queued).to.equal(2);
    // Local calls end: their slots go to the queued callers, on the same leases.
    for (let i = 0; i < 2; i++) {
      calls.endOne();
      await flush();
      expect(adapter.calls).to.have.length(0);
      expect(calls.running).to.equal(2);
    }
    expect(bulkhead.queued).to.equal(0);
    // Once nobody waits, each call ending on a local slot frees one of those leases.
    calls.endOne();
    await flush();
    expect(calls.running).to.equal(1);
    const release = adapter.next();
    expect(release.args[0]).to.equal('release');
    expect(adopted).to.include(release.args[3]);
    release.resolve([1, 1]);
    calls.endOne();
    await flush();
    const last = adapter.next();
    expect(last.args.slice(3)).to.deep.equal(adopted.filter((id) => id !== release.args[3]));
    last.resolve([1, 0]);
    await flush();
    expect(store.leases).to.equal(0);
    expect(calls.maxRunning).to.equal(2);
    expect(await Promise.all(calls.outcomes)).to.deep.equal(Array(4).fill('done'));
    // Every slot is back: the next acquire takes no more leases for local calls.
    calls.start(bulkhead);
    await flush();
    expect(adapter.next().args[0]).to.equal('acquire');
  });

  it("'local' gives back the leases taken for local calls that ended while Redis decided", async function () {
    const { adapter, store, bulkhead, calls } = setup('local', 2);
    calls.start(bulkhead);
    await flush();
    await clock.tickAsync(STORE_TIMEOUT);
    adapter.next();
    expect(calls.running).to.equal(1);
    await clock.tickAsync(BACK_OFF);
    const manual = bulkhead.acquire();
    await flush();
    const acquire = adapter.next();
    expect(acquire.args[0]).to.equal('adopt');
    const [adopted] = acquire.args.slice(5);
    calls.endOne();
    await flush();
    acquire.resolve([1, 2]);
    await manual;
    const release = adapter.next();
    expect(release.args.slice(0, 1).concat(release.args.slice(3))).to.deep.equal([
      'release',
      adopted,
    ]);
    release.resolve([1, 1]);
    await flush();
    expect(store.leases).to.equal(1);
    bulkhead.release();
    adapter.answer([1, 0]);
    await flush();
    expect(store.leases).to.equal(0);
    expect(adapter.calls).to.have.length(0);
  });

  it("'local' takes the leases again when Redis does not answer the command taking them", async function () {
    const { adapter, bulkhead, calls } = setup('local', 2);
    calls.start(bulkhead);
    await flush();
    await clock.tickAsync(STORE_TIMEOUT);
    adapter.next();
    await clock.tickAsync(BACK_OFF);
    calls.start(bulkhead);
    await flush();
    const first = adapter.next();
    expect(first.args[0]).to.equal('adopt');
    // Redis stalls: decided locally (one local call, one free local slot).
    await clock.tickAsync(STORE_TIMEOUT);
    expect(calls.running).to.equal(2);
    // The late answer: the leases taken for nobody's account are given back.
    first.resolve([1, 3]);
    await flush();
    const giveBack = adapter.next();
    expect(giveBack.args[0]).to.equal('release');
    expect([...giveBack.args.slice(3)].sort()).to.deep.equal([first.args[3], first.args[5]].sort());
    giveBack.resolve([1, 0]);
    await clock.tickAsync(BACK_OFF);
    calls.start(bulkhead);
    await flush();
    const again = adapter.next();
    expect(again.args[0]).to.equal('adopt');
    expect(again.args[4]).to.equal('2');
    again.resolve([0, 2]);
    await flush();
    expect(bulkhead.queued).to.equal(1);
    expect(calls.maxRunning).to.equal(2);
  });

  it('a bulkhead rejects its queue with the error of a store that refuses to decide for it', async function () {
    let refuse: unknown;
    let asked = 0;
    let wake: () => void = () => {};
    const bulkhead = new Bulkhead({
      maxConcurrent: 1,
      maxQueue: 5,
      store: {
        configure() {},
        tryAcquire: () => false,
        acquire: () => {
          asked++;
          if (refuse !== undefined) throw refuse;
          return false;
        },
        release() {},
        inUse: () => 1,
        subscribe(onFree) {
          wake = onFree;
        },
      },
    });
    const queued = [0, 1].map(() => bulkhead.execute(() => 'x').catch((error: unknown) => error));
    expect(bulkhead.queued).to.equal(2);
    wake();
    expect(bulkhead.queued).to.equal(2);
    refuse = new RangeError('cannot decide');
    wake();
    expect(bulkhead.queued).to.equal(0);
    expect(await Promise.all(queued)).to.deep.equal([refuse, refuse]);
    expect(asked).to.equal(3);
    expect(await bulkhead.execute(() => 'x').catch((error: unknown) => error)).to.equal(refuse);
  });
});
