// A Redis bulkhead while Redis goes away and comes back, on a scripted adapter and fake time (and
// once against a real redis-server, restarted):
// 'fail-closed' rejects the callers already queued, and 'local' keeps one process's calls within
// maxConcurrent across both switches (its calls on Redis leases count against the local limit;
// its calls on local slots get leases once Redis answers again, before it admits anyone).
import { expect } from 'chai';
import sinon from 'sinon';
import { BulkheadFullError, StoreUnavailableError } from '../../src/errors.js';
import {
  AdaptiveLimit,
  type AdaptiveLimitOptions,
} from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import type { StoreErrorMode } from '../../src/redis/options.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import {
  deferred,
  describeRedis,
  eventually,
  rejectionOf,
  sleep,
  type TestClient,
} from './harness.js';
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

/**
 * A Redis that answers the lease script at once while `up` (leaving the calls unanswered while
 * not), keeping the leases with their expiry on the (fake) clock.
 */
class SimulatedRedis extends ScriptedAdapter {
  up = true;
  /** Script calls made, answered or not. */
  sent = 0;
  /** Lease id -> when it expires. */
  readonly leases = new Map<string, number>();

  /** Leases alive now. */
  count(): number {
    const now = Date.now();
    for (const [id, expiry] of this.leases) if (expiry <= now) this.leases.delete(id);
    return this.leases.size;
  }

  protected override respond(
    _command: 'evalsha' | 'eval',
    _keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> | undefined {
    this.sent++;
    if (!this.up) return undefined;
    let op = args[0] as string;
    let last = args.length;
    if (op.endsWith('+')) {
      op = op.slice(0, -1);
      last -= 3;
    }
    const max = Number(args[1]);
    const expiry = Date.now() + Number(args[2]);
    const named = args.slice(3, last);
    this.count();
    if (op === 'release' || op === 'retire') {
      for (const id of named) this.leases.delete(id);
      return Promise.resolve([1, this.leases.size, -1, 0]);
    }
    if (op === 'renew' || op === 'retake') {
      const added = named.filter((id) => !this.leases.has(id));
      for (const id of named) this.leases.set(id, expiry);
      return Promise.resolve([this.leases.size, added, -1, 0]);
    }
    const [id, ...rest] = named as [string, ...string[]];
    let free = rest;
    if (op === 'adopt') {
      const k = Number(rest[0]);
      for (const adopted of rest.slice(1, 1 + k)) this.leases.set(adopted, expiry);
      free = rest.slice(1 + k);
    }
    for (const freed of free) this.leases.delete(freed);
    if (this.leases.size < max) {
      this.leases.set(id, expiry);
      return Promise.resolve([1, this.leases.size, -1, 0]);
    }
    return Promise.resolve([0, this.leases.size, -1, 0]);
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

  /** Redis goes silent under a first call, which waits out one storeTimeout and runs locally. */
  async function firstCallLocal(
    adapter: ScriptedAdapter,
    bulkhead: Bulkhead,
    calls: Calls,
  ): Promise<void> {
    calls.start(bulkhead);
    await flush();
    await clock.tickAsync(STORE_TIMEOUT);
    adapter.next();
  }

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

  it("'local' takes again the leases of the calls still running on them when Redis comes back (a restart loses them)", async function () {
    const { adapter, store, bulkhead, calls } = setup('local', 2);
    for (let i = 0; i < 2; i++) {
      calls.start(bulkhead);
      await flush();
      adapter.answer([1, i + 1]);
      await flush();
    }
    expect(store.leases).to.equal(2);
    expect(adapter.calls).to.have.length(0);
    // Redis goes away: the next caller waits (the local limit counts both calls).
    calls.start(bulkhead);
    await flush();
    await clock.tickAsync(STORE_TIMEOUT);
    const stale = adapter.next();
    expect(bulkhead.queued).to.equal(1);
    // Redis is back, empty: the queued caller's next poll takes the running calls' leases again
    // before asking for a slot (and stands in the line of processes with callers queued).
    await clock.tickAsync(BACK_OFF);
    const acquire = adapter.next();
    expect(acquire.args[0]).to.equal('adopt+');
    expect(acquire.args[4]).to.equal('2');
    const retaken = acquire.args.slice(5, -3);
    expect(retaken).to.have.length(2);
    expect(retaken).to.not.include(acquire.args[3]);
    acquire.resolve([0, 2]);
    await flush();
    expect(calls.running).to.equal(2);
    expect(bulkhead.queued).to.equal(1);
    // The stale acquire is answered late (refused): nothing to give back.
    stale.resolve([0, 2]);
    await flush();
    expect(adapter.calls).to.have.length(0);
    // A call ends: its slot goes to the queued caller, and nobody waits here any more: the
    // store leaves the line at once. The next call asks Redis with no more leases to take again.
    calls.endOne();
    await flush();
    expect(calls.running).to.equal(2);
    expect(adapter.calls.map((c) => c.args[0])).to.deep.equal(['renew+']);
    expect(adapter.calls[0]?.args.slice(-2, -1)).to.deep.equal(['-1']);
    calls.start(bulkhead);
    await clock.tickAsync(100);
    expect(adapter.calls.map((c) => c.args[0])).to.deep.equal(['renew+', 'acquire']);
    expect(calls.maxRunning).to.equal(2);
  });

  it('the first renewal after Redis is back takes again the leases of the calls still running, and leases for those on local slots', async function () {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({
      client: adapter,
      key: 'pool',
      storeTimeout: STORE_TIMEOUT,
      leaseTtl: 3000,
    });
    const bulkhead = new Bulkhead({ maxConcurrent: 3, maxQueue: 10, store });
    const calls = new Calls();
    for (let i = 0; i < 2; i++) {
      calls.start(bulkhead);
      await flush();
      adapter.answer([1, i + 1]);
      await flush();
    }
    expect(adapter.calls).to.have.length(0);
    // The renewal at 1 s goes unanswered: Redis is away.
    await clock.tickAsync(1000);
    const lostRenewal = adapter.next();
    expect(lostRenewal.args[0]).to.equal('renew');
    const leaseIds = lostRenewal.args.slice(3);
    await clock.tickAsync(STORE_TIMEOUT);
    // A call arriving now runs on the local limit's last slot (two calls hold leases).
    calls.start(bulkhead);
    await flush();
    expect(calls.running).to.equal(3);
    // The next renewal (at 2.1 s, past the back-off) finds Redis back.
    await clock.tickAsync(1000);
    const retake = adapter.next();
    expect(retake.args[0]).to.equal('retake');
    expect(retake.args.slice(3, 5)).to.deep.equal(leaseIds);
    expect(retake.args).to.have.length(6);
    const adopted = retake.args[5];
    retake.resolve([3, []]);
    await flush();
    expect(store.redisAvailable).to.equal(true);
    expect(store.leases).to.equal(3);
    // Then plain renewals again.
    await clock.tickAsync(1000);
    const renewal = adapter.next();
    expect(renewal.args[0]).to.equal('renew');
    expect([...renewal.args.slice(3)].sort()).to.deep.equal([...leaseIds, adopted].sort());
    renewal.resolve([3, []]);
    // The calls end: each frees its lease.
    calls.endOne();
    calls.endOne();
    calls.endOne();
    await flush();
    const released = adapter.calls.flatMap((c) => c.args.slice(3));
    expect([...released].sort()).to.deep.equal([...leaseIds, adopted].sort());
    expect(calls.maxRunning).to.equal(3);
  });

  it("'local' reports as availableSlots the room its local limit leaves while Redis is away, as tryAcquire decides", async function () {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({
      client: adapter,
      key: 'pool',
      storeTimeout: STORE_TIMEOUT,
      instances: 2,
    });
    // The local limit: floor(3 / 2) = 1 slot.
    const bulkhead = new Bulkhead({ maxConcurrent: 3, store });
    const calls = new Calls();
    // A call on a Redis lease, then Redis goes silent under the next caller, refused locally.
    calls.start(bulkhead);
    await flush();
    adapter.answer([1, 1]);
    await flush();
    calls.start(bulkhead);
    await flush();
    await clock.tickAsync(STORE_TIMEOUT);
    adapter.next();
    expect(calls.running).to.equal(1);
    expect(bulkhead.availableSlots).to.equal(0);
    expect(bulkhead.tryAcquire()).to.equal(false);
    // That call ends: the local limit's one slot is free, and taken.
    calls.endOne();
    await flush();
    adapter.calls.length = 0;
    expect(bulkhead.availableSlots).to.equal(1);
    expect(bulkhead.tryAcquire()).to.equal(true);
    expect(bulkhead.availableSlots).to.equal(0);
    expect(bulkhead.tryAcquire()).to.equal(false);
    expect(await rejectionOf(bulkhead.acquire())).to.be.instanceOf(BulkheadFullError);
    bulkhead.release();
    expect(bulkhead.availableSlots).to.equal(1);
    await Promise.all(calls.outcomes);
  });

  it("'local' under an AdaptiveLimit admits calls while Redis is away, up to the local limit, and reports that room", async function () {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({
      client: adapter,
      key: 'pool',
      storeTimeout: STORE_TIMEOUT,
      instances: 4,
    });
    // The local limit: floor(8 / 4) = 2 slots, below the adaptive limit (4).
    const bulkhead = new Bulkhead({
      limit: new AdaptiveLimit({ min: 1, max: 8, initial: 4 }),
      store,
    });
    const calls = new Calls();
    await firstCallLocal(adapter, bulkhead, calls);
    expect(calls.running).to.equal(1);
    expect(bulkhead.availableSlots).to.equal(1);
    calls.start(bulkhead);
    await flush();
    expect(calls.running).to.equal(2);
    expect(bulkhead.availableSlots).to.equal(0);
    expect(bulkhead.tryAcquire()).to.equal(false);
    expect(await rejectionOf(bulkhead.execute(() => 'past the local limit'))).to.be.instanceOf(
      BulkheadFullError,
    );
    calls.endOne();
    await flush();
    expect(bulkhead.availableSlots).to.equal(1);
    calls.start(bulkhead);
    await flush();
    expect(calls.running).to.equal(2);
    calls.endOne();
    calls.endOne();
    await flush();
    expect(await Promise.all(calls.outcomes)).to.deep.equal(Array(3).fill('done'));
  });

  /** A bulkhead under an adaptive limit over a scripted store, one of `instances` processes. */
  function adaptiveLocal(instances: number, limit: AdaptiveLimitOptions, maxQueue = 0) {
    const adapter = new ScriptedAdapter();
    const store = new RedisBulkheadStore({
      client: adapter,
      key: 'pool',
      storeTimeout: STORE_TIMEOUT,
      instances,
    });
    const bulkhead = new Bulkhead({ limit: new AdaptiveLimit(limit), maxQueue, store });
    return { adapter, bulkhead };
  }

  it("'local' under an AdaptiveLimit whose limit is below the local limit reports the adaptive limit's room while Redis is away", async function () {
    // The local limit (floor(200 / 4) = 50) is far above the adaptive limit (20).
    const { adapter, bulkhead } = adaptiveLocal(4, { min: 1, max: 200, initial: 20 });
    const calls = new Calls();
    await firstCallLocal(adapter, bulkhead, calls);
    for (let i = 0; i < 5; i++) calls.start(bulkhead);
    await flush();
    expect(calls.running).to.equal(6);
    expect(bulkhead.availableSlots).to.equal(14);
    for (let i = 0; i < 6; i++) calls.endOne();
    await flush();
    expect(await Promise.all(calls.outcomes)).to.deep.equal(Array(6).fill('done'));
  });

  it("'local' under an AdaptiveLimit below the local limit admits calls while Redis is away up to the adaptive limit", async function () {
    // The local limit: floor(8 / 2) = 4 slots, above the adaptive limit (2).
    const { adapter, bulkhead } = adaptiveLocal(2, { min: 1, max: 8, initial: 2 }, 1);
    const calls = new Calls();
    await firstCallLocal(adapter, bulkhead, calls);
    calls.start(bulkhead);
    await flush();
    expect(calls.running).to.equal(2);
    expect(bulkhead.availableSlots).to.equal(0);
    expect(bulkhead.tryAcquire()).to.equal(false);
    // A third caller queues, and is served as a call ends here.
    calls.start(bulkhead);
    await flush();
    expect(calls.running).to.equal(2);
    expect(bulkhead.queued).to.equal(1);
    calls.endOne();
    await flush();
    expect(calls.running).to.equal(2);
    calls.endOne();
    calls.endOne();
    await flush();
    expect(await Promise.all(calls.outcomes)).to.deep.equal(Array(3).fill('done'));
  });

  it('keeps renewing through the back-off after a renewal timed out, so the leases outlive a back-off longer than leaseTtl', async function () {
    const redis = new SimulatedRedis();
    // leaseTtl 300 ms (renewals every 100 ms), back-off 400 ms.
    const store = new RedisBulkheadStore({
      client: redis,
      key: 'pool',
      storeTimeout: STORE_TIMEOUT,
      leaseTtl: 300,
    });
    const bulkhead = new Bulkhead({ maxConcurrent: 2, store });
    const calls = new Calls();
    calls.start(bulkhead);
    calls.start(bulkhead);
    await flush();
    expect(redis.count()).to.equal(2);
    // The renewal at 100 ms goes unanswered (Redis stalls) and times out at 200 ms.
    await clock.tickAsync(99);
    redis.up = false;
    await clock.tickAsync(1);
    expect(redis.calls).to.have.length(1);
    await clock.tickAsync(STORE_TIMEOUT);
    expect(store.redisAvailable).to.equal(false);
    redis.up = true;
    // Redis answers again at once, yet the calls skip it until the back-off ends (600 ms): the
    // renewals go on meanwhile, and Redis never stops counting the two calls.
    for (let t = 225; t <= 1200; t += 50) {
      await clock.tickAsync(50);
      expect(redis.count(), `at ${t} ms`).to.equal(2);
    }
    expect(store.redisAvailable).to.equal(true);
    calls.endOne();
    calls.endOne();
    await flush();
    expect(redis.count()).to.equal(0);
    expect(await Promise.all(calls.outcomes)).to.deep.equal(['done', 'done']);
  });

  it("'local' keeps renewing while only calls on local slots run, and takes their leases again after Redis lost them", async function () {
    const redis = new SimulatedRedis();
    const store = new RedisBulkheadStore({
      client: redis,
      key: 'pool',
      storeTimeout: STORE_TIMEOUT,
      leaseTtl: 300,
    });
    const bulkhead = new Bulkhead({ maxConcurrent: 2, store });
    const calls = new Calls();
    // Redis is away: a long call runs on a local slot.
    redis.up = false;
    calls.start(bulkhead);
    await flush();
    await clock.tickAsync(STORE_TIMEOUT);
    expect(calls.running).to.equal(1);
    // Redis is back: a short call runs on a lease, and Redis counts the long call too.
    redis.up = true;
    await clock.tickAsync(1000);
    expect(await bulkhead.execute(() => 'short')).to.equal('short');
    await clock.tickAsync(150);
    expect(redis.count()).to.equal(1);
    // Redis goes away for more than leaseTtl, and comes back empty.
    redis.up = false;
    await clock.tickAsync(800);
    redis.up = true;
    redis.leases.clear();
    // Within a back-off and a renewal, the long call's lease is taken again, and kept.
    await clock.tickAsync(600);
    expect(redis.count()).to.equal(1);
    for (let i = 0; i < 10; i++) {
      await clock.tickAsync(50);
      expect(redis.count()).to.equal(1);
    }
    // The call ends: its lease is freed, and the store stops renewing.
    calls.endOne();
    await flush();
    expect(redis.count()).to.equal(0);
    const sent = redis.sent;
    await clock.tickAsync(1000);
    expect(redis.sent).to.equal(sent);
    expect(await Promise.all(calls.outcomes)).to.deep.equal(['done']);
  });

  it("'local' gives the calls still on local slots leases when Redis comes back, before admitting anyone", async function () {
    const { adapter, store, bulkhead, calls } = setup('local', 2);
    // Redis is away from the start: two calls run on the local limit.
    await firstCallLocal(adapter, bulkhead, calls);
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

  it("'local' gives back a slot Redis grants without counting calls that took local slots meanwhile", async function () {
    const { adapter, bulkhead, calls } = setup('local', 3);
    await firstCallLocal(adapter, bulkhead, calls);
    await clock.tickAsync(BACK_OFF);
    // The probe takes a lease for the local call and asks for a slot...
    calls.start(bulkhead);
    await flush();
    const probe = adapter.next();
    expect(probe.args[0]).to.equal('adopt');
    // ...while two more calls take local slots, the others skipping Redis until it answers.
    calls.start(bulkhead);
    calls.start(bulkhead);
    await flush();
    expect(calls.running).to.equal(3);
    // Redis grants it (counting 2: the adopted lease and the new one), but with the two local
    // calls it counts nothing of, this process would run four: the slot goes back.
    probe.resolve([1, 2]);
    await flush();
    expect(calls.running).to.equal(3);
    expect(bulkhead.queued).to.equal(1);
    const giveBack = adapter.next();
    expect(giveBack.args[0]).to.equal('release');
    expect(giveBack.args.slice(3)).to.deep.equal([probe.args[3]]);
    giveBack.resolve([1, 1]);
    // The queued caller's next poll takes leases for those two before asking again.
    await clock.tickAsync(100);
    const poll = adapter.next();
    expect(poll.args[0]).to.equal('adopt+');
    expect(poll.args[4]).to.equal('2');
    poll.resolve([0, 3]);
    await flush();
    expect(calls.maxRunning).to.equal(3);
  });

  it('frees the slots of ending calls instead of handing them on while Redis counts more than maxConcurrent', async function () {
    const { adapter, bulkhead, calls } = setup('local', 2);
    await firstCallLocal(adapter, bulkhead, calls);
    calls.start(bulkhead);
    await clock.tickAsync(BACK_OFF);
    calls.start(bulkhead);
    await flush();
    // Another process counted a call of its own in again: Redis counts 3 of 2.
    const adopt = adapter.next();
    expect(adopt.args[0]).to.equal('adopt');
    adopt.resolve([0, 3]);
    await flush();
    expect(bulkhead.queued).to.equal(1);
    // A call ends: its slot is freed in Redis, not handed to the caller queued here.
    calls.endOne();
    await flush();
    expect(calls.running).to.equal(1);
    expect(bulkhead.queued).to.equal(1);
    const release = adapter.next();
    expect(release.args[0]).to.equal('release+');
    release.resolve([1, 2]);
    await flush();
    // The queued caller asks Redis in turn: at the cap, refused.
    await clock.tickAsync(100);
    adapter.answer([0, 2]);
    await flush();
    // Back within the cap, an ending call's slot goes straight to the queued caller again.
    calls.endOne();
    await flush();
    expect(calls.running).to.equal(1);
    expect(bulkhead.queued).to.equal(0);
    expect(calls.maxRunning).to.equal(2);
  });

  it("'local' gives back the leases taken for local calls that ended while Redis decided", async function () {
    const { adapter, store, bulkhead, calls } = setup('local', 2);
    await firstCallLocal(adapter, bulkhead, calls);
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
    await firstCallLocal(adapter, bulkhead, calls);
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
    let refuse: unknown = undefined;
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

describeRedis('RedisBulkheadStore across a Redis restart', function (env) {
  this.timeout(10_000);

  async function restart(...clients: TestClient[]): Promise<void> {
    await env.server.start();
    await Promise.all([env.admin, ...clients].map((c) => c.ready()));
  }

  beforeEach(async function () {
    if (!env.server.running) await restart();
  });

  it("'local' runs at most maxConcurrent in one process while Redis is down and once it is back, and Redis counts them all again", async function () {
    const key = env.uniqueKey();
    const zcard = async () => Number(await env.admin.command('ZCARD', `bulwark:bh:{${key}}`));
    const connection = await env.connect();
    const store = new RedisBulkheadStore({
      client: connection.client,
      key,
      storeTimeout: 100,
      leaseTtl: 600,
    });
    const bulkhead = new Bulkhead({ maxConcurrent: 3, store });
    const other = new Bulkhead({
      maxConcurrent: 3,
      store: new RedisBulkheadStore({ client: (await env.connect()).client, key }),
    });
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    const run = (): Promise<unknown> =>
      bulkhead
        .execute(async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await gate.promise;
          running--;
        })
        .catch((error: unknown) => error);
    const onLeases = [run(), run()];
    await eventually(async () => (await zcard()) === 2, 2000, 'two leases');
    await env.server.stop();
    // Down: the local limit (3) counts the two calls on leases, so one more runs, not three.
    const local = run();
    // Both refused (a call let in would wait on the gate, and this spec with it).
    const refused = await Promise.all([run(), run()]);
    for (const error of refused) expect(error).to.be.instanceOf(BulkheadFullError);
    expect(running).to.equal(3);
    // Back, and empty: the leases of all three running calls are taken again (by the next
    // renewal, every leaseTtl / 3), so no process is admitted past the limit.
    await restart(connection);
    await eventually(async () => (await zcard()) === 3, 3000, 'three leases again');
    expect(await rejectionOf(other.execute(() => 'past the cap'))).to.be.instanceOf(
      BulkheadFullError,
    );
    expect(await run()).to.be.instanceOf(BulkheadFullError);
    expect(maxRunning).to.equal(3);
    gate.resolve();
    await Promise.all([...onLeases, local]);
    await eventually(async () => (await zcard()) === 0, 2000, 'every lease released');
    expect(await bulkhead.execute(() => 'after')).to.equal('after');
  });
});

// A process whose calls outlive a Redis restart keeps them counted: its next renewal that reaches
// the restarted (empty) server adds their leases again. No call is made meanwhile, so the renewal
// alone must do it: either it reaches Redis once it is back (a client that queues commands while
// offline, down briefly) or it fails and the store keeps renewing past leaseTtl (a client that
// fails them at once, down longer than leaseTtl).
describeRedis('RedisBulkheadStore renewals across a Redis restart', function (env) {
  this.timeout(15_000);
  const LEASE_TTL = 600;

  beforeEach(async function () {
    if (!env.server.running) await env.server.start();
    await env.admin.ready();
  });

  for (const { offlineQueue, downMs } of [
    { offlineQueue: true, downMs: 300 },
    { offlineQueue: false, downMs: 300 },
    { offlineQueue: false, downMs: 2 * LEASE_TTL },
  ]) {
    it(`takes again the leases of calls still running (client ${offlineQueue ? 'queueing' : 'failing'} offline, down ${downMs} ms)`, async function () {
      const key = env.uniqueKey();
      const zcard = async () => Number(await env.admin.command('ZCARD', `bulwark:bh:{${key}}`));
      const connection = await env.connect({ offlineQueue });
      const store = new RedisBulkheadStore({
        client: connection.client,
        key,
        leaseTtl: LEASE_TTL,
      });
      const bulkhead = new Bulkhead({ maxConcurrent: 2, store });
      const other = new Bulkhead({
        maxConcurrent: 2,
        store: new RedisBulkheadStore({ client: (await env.connect()).client, key }),
      });
      const gate = deferred();
      const held = [bulkhead.execute(() => gate.promise), bulkhead.execute(() => gate.promise)];
      // A failed expectation still ends the calls: their renewals would keep the run alive.
      try {
        await eventually(async () => (await zcard()) === 2, 2000, 'two leases');
        await env.server.stop();
        await sleep(downMs);
        await env.server.start();
        await Promise.all([env.admin.ready(), connection.ready()]);
        // Within about a back-off (1 s) and a renewal period (leaseTtl / 3) of Redis answering
        // again (bounds only: a busy machine may take longer).
        // (Redis may answer the admin's ZCARD before the store has read its own reply.)
        await eventually(
          async () => (await zcard()) === 2 && store.leases === 2,
          4000,
          'both leases taken again',
        );
        // Past leaseTtl, the leases are still held: renewed, not just written back once (then they
        // would be gone for good by now). Read until seen, as a machine too busy to renew in time
        // lets them lapse until its next renewal.
        await sleep(2 * LEASE_TTL);
        await eventually(
          async () => (await zcard()) === 2 && store.leases === 2,
          4000,
          'both leases still held',
        );
        // Nobody else is admitted while they are (again, read until seen: a call admitted during
        // such a lapse ends at once).
        await eventually(
          () =>
            other
              .execute(() => 'past the cap')
              .then(
                () => false,
                (error: unknown) => error instanceof BulkheadFullError,
              ),
          4000,
          'the other process refused',
        );
      } finally {
        gate.resolve();
      }
      await Promise.all(held);
      await eventually(async () => (await zcard()) === 0, 2000, 'both leases released');
    });
  }

  it('takes them again whatever the limit when other processes took the slots meanwhile, and admits nobody until the count is below it', async function () {
    const key = env.uniqueKey();
    const zcard = async () => Number(await env.admin.command('ZCARD', `bulwark:bh:{${key}}`));
    const connectionA = await env.connect();
    const connectionB = await env.connect();
    // Renewals every second: B takes the free slots before A's next one.
    const a = new Bulkhead({
      maxConcurrent: 2,
      store: new RedisBulkheadStore({ client: connectionA.client, key, leaseTtl: 3000 }),
    });
    const b = new Bulkhead({
      maxConcurrent: 2,
      store: new RedisBulkheadStore({ client: connectionB.client, key, leaseTtl: 3000 }),
    });
    const gatesA = [deferred(), deferred()];
    const callsA = gatesA.map((gate) => a.execute(() => gate.promise));
    await eventually(async () => (await zcard()) === 2, 2000, "A's two leases");
    // Right after one of A's renewals (the key's time to live jumps back up), so the restart and
    // B's calls come well before the next.
    const pttl = async () => Number(await env.admin.command('PTTL', `bulwark:bh:{${key}}`));
    let last = await pttl();
    await eventually(
      async () => {
        const now = await pttl();
        const renewed = now > last;
        last = now;
        return renewed;
      },
      2000,
      "one of A's renewals",
    );
    await env.server.stop();
    await env.server.start();
    await Promise.all([env.admin.ready(), connectionA.ready(), connectionB.ready()]);
    const gatesB = [deferred(), deferred()];
    const callsB = gatesB.map((gate) => b.execute(() => gate.promise));
    await eventually(async () => (await zcard()) === 2, 2000, "B's two leases");
    // A's next renewal adds its two running calls back: four counted against a limit of two.
    await eventually(async () => (await zcard()) === 4, 3000, "A's leases taken again");
    const refused = async () => {
      for (const bulkhead of [a, b]) {
        expect(await rejectionOf(bulkhead.execute(() => 'past the cap'))).to.be.instanceOf(
          BulkheadFullError,
        );
      }
    };
    await refused();
    // The excess drains as calls end; nobody is admitted until fewer than two run.
    gatesB[0]?.resolve();
    await callsB[0];
    await eventually(async () => (await zcard()) === 3, 2000, "B's first call released");
    await refused();
    gatesA[0]?.resolve();
    await callsA[0];
    await eventually(async () => (await zcard()) === 2, 2000, "A's first call released");
    await refused();
    gatesB[1]?.resolve();
    await callsB[1];
    await eventually(async () => (await zcard()) === 1, 2000, "B's second call released");
    expect(await b.execute(() => 'admitted')).to.equal('admitted');
    gatesA[1]?.resolve();
    await callsA[1];
    await eventually(async () => (await zcard()) === 0, 2000, 'every lease released');
  });
});
