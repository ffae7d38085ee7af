// A renewal names every lease its store holds, and adds again any Redis no longer has (so the
// calls still running are counted after a restart). A cluster client may run one after a later
// command of the same store (it retries a command that met TRYAGAIN, CLUSTERDOWN or MOVED after
// the ones sent since): run after the release of a lease it names, it must not take the slot
// again. The specs run such a command by hand, as the client would have sent it.
import { expect } from 'chai';
import { BulkheadFullError } from '../../src/errors.js';
import { toRedisAdapter } from '../../src/redis/adapter.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { LEASES, type LeaseOp } from '../../src/redis/scripts/leases.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { deferred, describeRedis, eventually, PATIENT, rejectionOf, sleep } from './harness.js';

const LEASE_TTL = 300;

describeRedis(
  'RedisBulkheadStore renewals run after a release',
  function (env) {
    this.timeout(10_000);
    // The gates of the calls held, opened after each spec (one that failed too), so their renewals
    // do not keep the run alive.
    const gates: (() => void)[] = [];
    afterEach(function () {
      for (const open of gates.splice(0)) open();
    });

    async function setUp() {
      const key = env.uniqueKey();
      const store = new RedisBulkheadStore({
        client: (await env.connect()).client,
        key,
        leaseTtl: LEASE_TTL,
        storeTimeout: PATIENT,
      });
      const bulkhead = new Bulkhead({ maxConcurrent: 1, store });
      const other = new Bulkhead({
        maxConcurrent: 1,
        store: new RedisBulkheadStore({
          client: (await env.connect()).client,
          key,
          leaseTtl: LEASE_TTL,
          storeTimeout: PATIENT,
        }),
      });
      const leases = async (): Promise<string[]> =>
        (await env.admin.command('ZRANGE', store.redisKey, '0', '-1')) as string[];
      /** Runs the lease script by hand, as a command of `store` that the client delayed. */
      const late = (op: LeaseOp): Promise<unknown> =>
        LEASES.run(toRedisAdapter(env.admin.client), {
          key: store.redisKey,
          maxConcurrent: 1,
          leaseTtlMs: LEASE_TTL,
          ...op,
        });
      return { store, bulkhead, other, leases, late };
    }

    /** A call on `bulkhead` that holds its slot until `end` is called, past a renewal of its lease. */
    async function holdPastRenewal(
      bulkhead: Bulkhead,
      leases: () => Promise<string[]>,
    ): Promise<{ id: string; end: () => Promise<unknown> }> {
      const gate = deferred();
      gates.push(() => gate.resolve());
      const started = deferred();
      const done = bulkhead.execute(async () => {
        started.resolve();
        await gate.promise;
      });
      await started.promise;
      const [id] = await leases();
      if (id === undefined) throw new Error('no lease');
      // Renewed every leaseTtl / 3: one renewal has named the lease.
      await sleep(LEASE_TTL / 2);
      return {
        id,
        end: () => {
          gate.resolve();
          return done;
        },
      };
    }

    it('a renewal, a retake or an acquire naming a released lease leaves its slot free', async function () {
      const { bulkhead, other, leases, late } = await setUp();
      const held = await holdPastRenewal(bulkhead, leases);
      await held.end();
      await eventually(async () => (await leases()).length === 0, 2000, 'the lease released');
      const renewed = (await late({ op: 'renew', ids: [held.id] })) as [unknown, unknown];
      expect(Number(renewed[0])).to.equal(0);
      expect(renewed[1]).to.deep.equal([]);
      await late({ op: 'retake', ids: [held.id] });
      await late({ op: 'acquire', id: 'elsewhere:1', free: [], adopt: [held.id] });
      // The acquire took its own lease only; given back.
      expect(await leases()).to.deep.equal(['elsewhere:1']);
      await late({ op: 'release', ids: ['elsewhere:1'] });
      expect(await other.execute(() => 'served')).to.equal('served');
    });

    it('a new call after the release holds a lease of its own, which a renewal puts back when lost', async function () {
      const { store, bulkhead, other, leases, late } = await setUp();
      const first = await holdPastRenewal(bulkhead, leases);
      await first.end();
      const second = await holdPastRenewal(bulkhead, leases);
      expect(second.id).to.not.equal(first.id);
      await late({ op: 'renew', ids: [first.id] });
      expect(await leases()).to.deep.equal([second.id]);
      // Redis loses the new call's lease (as in a restart): the store's next renewal puts it back,
      // the call still runs.
      await env.admin.command('ZREM', store.redisKey, second.id);
      await eventually(async () => (await leases()).length === 1, 2000, 'the lease put back');
      expect(await leases()).to.deep.equal([second.id]);
      expect(await rejectionOf(other.execute(() => 'past the cap'))).to.be.instanceOf(
        BulkheadFullError,
      );
      await second.end();
      await eventually(async () => (await leases()).length === 0, 2000, 'the new lease released');
    });

    it('keeps a record of a released lease only if a renewal named it, and for leaseTtl', async function () {
      const { store, bulkhead, leases } = await setUp();
      const records = `${store.redisKey}:r`;
      // A call shorter than leaseTtl / 3: no renewal named its lease, no record.
      expect(await bulkhead.execute(() => 'short')).to.equal('short');
      await eventually(async () => (await leases()).length === 0, 2000, 'the lease released');
      expect(await env.admin.command('EXISTS', records)).to.equal(0);
      const held = await holdPastRenewal(bulkhead, leases);
      await held.end();
      await eventually(async () => (await leases()).length === 0, 2000, 'the lease released');
      expect(await env.admin.command('ZRANGE', records, '0', '-1')).to.deep.equal([held.id]);
      expect(Number(await env.admin.command('PTTL', records))).to.be.within(1, LEASE_TTL);
      await eventually(
        async () => (await env.admin.command('EXISTS', records)) === 0,
        LEASE_TTL + 500,
        'the record gone',
      );
    });
  },
  { cluster: true },
);
