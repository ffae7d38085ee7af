// Callers queued for a shared Redis bulkhead in several processes (here: stores on clients of
// their own) are served in the order they queued across all of them: a process whose calls keep
// ending does not keep the slots for its own queue while callers elsewhere wait longer.
import { expect } from 'chai';
import { BulkheadFullError } from '../../src/errors.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { LEASES, type LeasesParams } from '../../src/redis/scripts/leases.js';
import { ManualClock } from '../support/clock.js';
import {
  deferred,
  describeRedis,
  eventually,
  PATIENT,
  rejectionOf,
  sleep,
  type RedisEnv,
  type TestClient,
} from './harness.js';

type Name = 'a' | 'b' | 'c';

/** Three processes sharing one bulkhead, each with its callers in a loop, on one manual clock. */
class Fleet {
  readonly clock = new ManualClock();
  readonly bulkheads = new Map<Name, Bulkhead>();
  readonly stores = new Map<Name, RedisBulkheadStore>();
  readonly connections = new Map<Name, TestClient>();
  /** Whose calls started, in order. */
  readonly served: Name[] = [];
  /** Calls running, oldest first, each ended by its `end`. */
  readonly running: { readonly name: Name; readonly end: () => void }[] = [];
  readonly #done: Promise<unknown>[] = [];

  async join(
    env: RedisEnv,
    key: string,
    name: Name,
    maxConcurrent: number,
    maxWait?: number,
  ): Promise<void> {
    const connection = await env.connect();
    const store = new RedisBulkheadStore({
      client: connection.client,
      key,
      storeTimeout: PATIENT,
      // Cut off from Redis, a process refuses its callers rather than run them on its own.
      onStoreError: 'fail-closed',
    });
    this.connections.set(name, connection);
    this.stores.set(name, store);
    this.bulkheads.set(
      name,
      new Bulkhead({ maxConcurrent, maxQueue: 10, maxWait, clock: this.clock, store }),
    );
  }

  /** A caller of `name` asks for a slot: it runs until the spec ends it. */
  call(name: Name): void {
    const gate = deferred();
    const bulkhead = this.bulkheads.get(name) as Bulkhead;
    this.#done.push(
      bulkhead
        .execute(() => {
          this.served.push(name);
          this.running.push({ name, end: () => gate.resolve() });
          return gate.promise;
        })
        .catch((error: unknown) => error),
    );
  }

  queued(name: Name): number {
    return (this.bulkheads.get(name) as Bulkhead).queued;
  }

  /**
   * Moves time on by `ms`, in steps of 25 ms, each as long in real time: Redis's answers arrive
   * meanwhile, and the time Redis measures (how long callers have waited, on its own clock)
   * keeps pace with the stores'.
   */
  async pass(ms: number): Promise<void> {
    for (let passed = 0; passed < ms; passed += 25) {
      await this.clock.advance(25);
      await sleep(25);
    }
  }

  /** Moves time on until `count` calls run (each step lets the queued callers' polls go). */
  async untilRunning(count: number): Promise<void> {
    for (let step = 0; step < 80 && this.running.length < count; step++) await this.pass(25);
    expect(this.running.length, 'calls running').to.equal(count);
  }

  /** Ends the oldest call running; its caller comes back at once for another slot. */
  endOldest(): void {
    const call = this.running.shift();
    if (call === undefined) throw new Error('no call running');
    call.end();
    this.call(call.name);
  }

  async close(): Promise<void> {
    for (const call of this.running.splice(0)) call.end();
    await this.pass(400);
  }
}

describeRedis(
  'RedisBulkheadStore across processes with callers queued',
  function (env) {
    it('serves the callers queued in every process in the order they queued, also while the slots are freed in one process', async function () {
      const fleet = new Fleet();
      const key = env.uniqueKey();
      for (const name of ['a', 'b', 'c'] as const) await fleet.join(env, key, name, 2);
      // A runs two calls: both slots are its.
      fleet.call('a');
      fleet.call('a');
      await fleet.untilRunning(2);
      // B's caller queues first, then C's, then two more of A's (each has asked Redis a few
      // times by the next one).
      fleet.call('b');
      await eventually(() => fleet.queued('b') === 1);
      await fleet.pass(200);
      fleet.call('c');
      await eventually(() => fleet.queued('c') === 1);
      await fleet.pass(200);
      fleet.call('a');
      fleet.call('a');
      await eventually(() => fleet.queued('a') === 2);
      await fleet.pass(200);
      // Calls end, oldest first, and each caller comes back for another slot at once: every
      // slot freed in A goes to whoever has waited longest, B and C before A's own queue.
      // (Each round lets every process ask Redis once more before the next call ends: a process
      // decides whom a slot ending there goes to on what Redis last told it.)
      for (let round = 0; round < 10; round++) {
        fleet.endOldest();
        await fleet.untilRunning(2);
        await fleet.pass(100);
      }
      // First in first out across the three: A, with four callers in its loop to B's and C's
      // one, has four slots of every six.
      expect(fleet.served.join('')).to.equal('aabcaaaabcaa');
      await fleet.close();
    });

    it('takes a process out of the line once nobody waits there, and one cut off from Redis after a few polls', async function () {
      const fleet = new Fleet();
      const key = env.uniqueKey();
      const line = `bulwark:bh:{${key}}:q`;
      await fleet.join(env, key, 'a', 1);
      await fleet.join(env, key, 'b', 1, 300);
      await fleet.join(env, key, 'c', 1);
      fleet.call('a');
      await fleet.untilRunning(1);
      // B's caller waits, and B stands in the line, until its maxWait runs out.
      fleet.call('b');
      await eventually(() => fleet.queued('b') === 1);
      await fleet.pass(100);
      expect(await env.admin.command('ZCARD', line)).to.equal(1);
      await fleet.pass(300);
      expect(fleet.queued('b')).to.equal(0);
      await eventually(async () => (await env.admin.command('ZCARD', line)) === 0);
      // C's caller waits in turn, then C loses its connection (and its caller): its place in
      // the line lasts a few polls.
      fleet.call('c');
      await eventually(() => fleet.queued('c') === 1);
      await fleet.pass(100);
      expect(await env.admin.command('ZCARD', line)).to.equal(1);
      (fleet.connections.get('c') as TestClient).crash();
      // A's call ends and its caller comes back: the slot waits for C, then goes to A once C's
      // place has lapsed.
      fleet.endOldest();
      await fleet.pass(100);
      expect(fleet.running).to.have.length(0);
      expect(fleet.queued('a')).to.equal(1);
      await fleet.untilRunning(1);
      expect(fleet.running[0]?.name).to.equal('a');
      expect(fleet.served).to.deep.equal(['a', 'a']);
      expect(await env.admin.command('ZCARD', line)).to.equal(0);
      await fleet.close();
    });

    it('keeps a slot freed while callers wait elsewhere for them, from callers of a process with none queued', async function () {
      const fleet = new Fleet();
      const key = env.uniqueKey();
      await fleet.join(env, key, 'a', 2);
      await fleet.join(env, key, 'b', 2);
      // C fails fast: it queues nobody.
      const connection = await env.connect();
      const c = new Bulkhead({
        maxConcurrent: 2,
        clock: fleet.clock,
        store: new RedisBulkheadStore({ client: connection.client, key, storeTimeout: PATIENT }),
      });
      fleet.call('a');
      fleet.call('a');
      await fleet.untilRunning(2);
      fleet.call('b');
      await eventually(() => fleet.queued('b') === 1);
      await fleet.pass(100);
      // One of A's calls ends: its slot is free in Redis until B asks for it again...
      fleet.running.shift()?.end();
      await eventually(async () => (await env.admin.command('ZCARD', `bulwark:bh:{${key}}`)) === 1);
      // ...and C's caller, with nobody queued in C, leaves it to B.
      expect(await rejectionOf(c.execute(() => 'c'))).to.be.instanceOf(BulkheadFullError);
      await fleet.untilRunning(2);
      expect(fleet.served).to.deep.equal(['a', 'a', 'b']);
      await fleet.close();
    });

    it('gives a slot Redis granted for a caller queued here to that caller, while a process ahead in the line is stalled', async function () {
      const fleet = new Fleet();
      const key = env.uniqueKey();
      const line = `bulwark:bh:{${key}}:q`;
      for (const name of ['a', 'b', 'c'] as const) await fleet.join(env, key, name, 3);
      // A runs three calls: every slot is its.
      for (let i = 0; i < 3; i++) fleet.call('a');
      await fleet.untilRunning(3);
      // C's caller queues first, then B's: both stand in the line, C ahead.
      fleet.call('c');
      await eventually(() => fleet.queued('c') === 1);
      await fleet.pass(100);
      fleet.call('b');
      await eventually(() => fleet.queued('b') === 1);
      await fleet.pass(100);
      const members = (await env.admin.command('ZRANGE', line, '0', '-1')) as string[];
      expect(members).to.have.length(2);
      const second = members[1];
      // C stalls, keeping its place for a few polls; then two of A's calls end: B's poll finds
      // more slots free than processes ahead of it, and Redis grants it one.
      (fleet.connections.get('c') as TestClient).crash();
      const sent: LeasesParams[] = [];
      const command = LEASES.command.bind(LEASES);
      const spy = (params: LeasesParams): ReturnType<typeof command> => {
        if (params.place?.owner === second) sent.push(params);
        return command(params);
      };
      LEASES.command = spy;
      try {
        fleet.running.shift()?.end();
        fleet.running.shift()?.end();
        await fleet.untilRunning(2);
        await fleet.pass(100);
      } finally {
        delete (LEASES as { command?: unknown }).command;
      }
      expect(fleet.served).to.deep.equal(['a', 'a', 'a', 'b']);
      // Its grant, and leaving the line once nobody waits there: not the slot given back and
      // asked for again, over and over.
      expect(sent.length, 'scripts B sent').to.be.within(1, 3);
      await fleet.close();
    });

    it('refuses tryAcquire while the only free slot is owed to a caller queued in another process', async function () {
      const fleet = new Fleet();
      const key = env.uniqueKey();
      await fleet.join(env, key, 'a', 1);
      await fleet.join(env, key, 'b', 1);
      const a = fleet.bulkheads.get('a') as Bulkhead;
      // A holds the one slot; B's caller queues and stands in the line.
      await a.acquire();
      let running = 0;
      let peak = 0;
      const gate = deferred();
      const b = (fleet.bulkheads.get('b') as Bulkhead).execute(async () => {
        peak = Math.max(peak, ++running);
        await gate.promise;
        running--;
      });
      await eventually(() => fleet.queued('b') === 1);
      await fleet.pass(100);
      await eventually(
        async () => (await env.admin.command('ZCARD', `bulwark:bh:{${key}}:q`)) === 1,
      );
      // A frees its slot, and knows from Redis's answer that B waits for it.
      a.release();
      await eventually(async () => (await env.admin.command('ZCARD', `bulwark:bh:{${key}}`)) === 0);
      // Its answer arrives (the manual clock stands still: B does not ask Redis meanwhile).
      await sleep(100);
      expect(a.availableSlots).to.equal(0);
      const took = a.tryAcquire();
      if (took) peak = Math.max(peak, ++running);
      expect(took, 'tryAcquire').to.equal(false);
      await fleet.pass(100);
      expect(running).to.equal(1);
      gate.resolve();
      await b;
      expect(peak).to.equal(1);
      await fleet.close();
    });
  },
  { cluster: true },
);
