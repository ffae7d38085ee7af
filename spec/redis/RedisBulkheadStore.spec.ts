import { expect } from 'chai';
import { BulkheadFullError } from '../../src/errors.js';
import { Bulkhead, type BulkheadOptions } from '../../src/strategies/bulkhead/Bulkhead.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { ManualClock } from '../support/clock.js';
import {
  deferred,
  describeRedis,
  PATIENT,
  eventually,
  rejectionOf,
  sleep,
  type RedisEnv,
  type TestClient,
} from './harness.js';

async function bulkheadFor(
  env: RedisEnv,
  key: string,
  options: Omit<BulkheadOptions, 'store'> & { leaseTtl?: number },
  connection?: TestClient,
): Promise<{ bulkhead: Bulkhead; store: RedisBulkheadStore; connection: TestClient }> {
  const { leaseTtl, ...rest } = options;
  const c = connection ?? (await env.connect());
  const store = new RedisBulkheadStore({
    client: c.client,
    key,
    storeTimeout: PATIENT,
    ...(leaseTtl === undefined ? {} : { leaseTtl }),
  });
  return { bulkhead: new Bulkhead({ ...rest, store }), store, connection: c };
}

/** Starts a call that holds its slot until `release` is called. */
function hold(bulkhead: Bulkhead): {
  started: Promise<void>;
  release: () => void;
  done: Promise<unknown>;
} {
  const gate = deferred();
  const started = deferred();
  const done = bulkhead.execute(async () => {
    started.resolve();
    await gate.promise;
  });
  return { started: started.promise, release: () => gate.resolve(), done };
}

describeRedis(
  'RedisBulkheadStore',
  function (env) {
    it('limits concurrent calls across instances', async function () {
      const key = env.uniqueKey();
      const a = await bulkheadFor(env, key, { maxConcurrent: 3 });
      const b = await bulkheadFor(env, key, { maxConcurrent: 3 });
      const calls = [hold(a.bulkhead), hold(a.bulkhead), hold(b.bulkhead)];
      await Promise.all(calls.map((c) => c.started));
      for (const instance of [a, b]) {
        const error = await rejectionOf(instance.bulkhead.execute(() => 'x'));
        expect(error).to.be.instanceOf(BulkheadFullError);
      }
      expect(b.bulkhead.availableSlots).to.equal(0);
      expect(await env.admin.command('ZCARD', `bulwark:bh:{${key}}`)).to.equal(3);
      calls[0]?.release();
      await calls[0]?.done;
      // The release goes to Redis in the background, on A's connection.
      await eventually(async () => (await env.admin.command('ZCARD', `bulwark:bh:{${key}}`)) === 2);
      expect(await b.bulkhead.execute(() => 'now')).to.equal('now');
      for (const call of calls) call.release();
      await Promise.all(calls.map((c) => c.done));
      await eventually(
        async () => (await env.admin.command('EXISTS', `bulwark:bh:{${key}}`)) === 0,
      );
    });

    it('serves a caller queued here when a slot is freed in another process', async function () {
      const key = env.uniqueKey();
      const a = await bulkheadFor(env, key, { maxConcurrent: 1 });
      // B polls on a clock of its own, which only the spec moves.
      const clockB = new ManualClock();
      const b = await bulkheadFor(env, key, { maxConcurrent: 1, maxQueue: 1, clock: clockB });
      const held = hold(a.bulkhead);
      await held.started;
      let served = false;
      const queued = b.bulkhead.execute(() => {
        served = true;
        return 'served';
      });
      // Refused by Redis, the caller waits, and B asks again every 100 ms while it has callers
      // waiting.
      await eventually(() => clockB.delays.includes(100), 2000, "B's poll timer");
      expect(b.bulkhead.queued).to.equal(1);
      held.release();
      await held.done;
      await eventually(
        async () => (await env.admin.command('EXISTS', `bulwark:bh:{${key}}`)) === 0,
        2000,
        "A's release",
      );
      // The slot is free in Redis, but nothing tells B until it asks again.
      await sleep(30);
      expect(served).to.equal(false);
      await clockB.advance(100);
      expect(await queued).to.equal('served');
    });

    it("gives a crashed holder's slots back once its leases expire", async function () {
      const key = env.uniqueKey();
      const crashed = await bulkheadFor(env, key, { maxConcurrent: 2, leaseTtl: 300 });
      const survivor = await bulkheadFor(env, key, {
        maxConcurrent: 2,
        leaseTtl: 300,
        maxQueue: 1,
      });
      const calls = [hold(crashed.bulkhead), hold(crashed.bulkhead)];
      await Promise.all(calls.map((c) => c.started));
      // The holder's connection drops without releasing anything (its calls never end).
      crashed.connection.crash();
      const crashedAt = performance.now();
      expect(await survivor.store.acquire()).to.equal(false);
      // Queued, it is served once the leases have expired.
      const result = await survivor.bulkhead.execute(() => performance.now() - crashedAt);
      // The leases were last renewed at most leaseTtl / 3 before the crash.
      expect(result).to.be.within(150, 700);
      // The crashed store counts its leases as gone once they must have expired (it keeps
      // renewing while its calls run, to take them back should its connection return).
      await eventually(() => crashed.store.leases === 0, 1000, 'dropping the lost leases');
      for (const call of calls) call.release();
      await Promise.all(calls.map((call) => call.done));
    });

    it('keeps the slot of a holder that still runs by renewing its lease', async function () {
      const key = env.uniqueKey();
      const a = await bulkheadFor(env, key, { maxConcurrent: 1, leaseTtl: 300 });
      const b = await bulkheadFor(env, key, { maxConcurrent: 1, leaseTtl: 300 });
      const held = hold(a.bulkhead);
      await held.started;
      // Three lease lifetimes: the lease lives on because A renews it every 100 ms.
      for (let i = 0; i < 3; i++) {
        await sleep(300);
        expect(await rejectionOf(b.bulkhead.execute(() => 'x'))).to.be.instanceOf(
          BulkheadFullError,
        );
      }
      held.release();
      await held.done;
      await eventually(
        async () => (await env.admin.command('EXISTS', `bulwark:bh:{${key}}`)) === 0,
      );
      expect(await b.bulkhead.execute(() => 'mine')).to.equal('mine');
      expect(a.store.leases).to.equal(0);
    });

    it('lets the lease set expire leaseTtl after the last lease was taken or renewed', async function () {
      const key = env.uniqueKey();
      const a = await bulkheadFor(env, key, { maxConcurrent: 2, leaseTtl: 2000 });
      const held = hold(a.bulkhead);
      await held.started;
      const pttl = Number(await env.admin.command('PTTL', `bulwark:bh:{${key}}`));
      expect(pttl).to.be.within(1500, 2000);
      held.release();
      await held.done;
    });
  },
  { cluster: true },
);
