import { noop } from '../internal/signals.js';
import {
  InMemoryBulkheadStore,
  type BulkheadStore,
  type BulkheadStoreConfig,
  type BulkheadTicket,
  type Duration,
  positiveDuration,
} from '../index.js';
import { RedisStore } from './core.js';
import { Outstanding, type RedisCommand } from './link.js';
import type { RedisStoreOptions } from './options.js';
import { LEASES, type LeaseOp, type LeasePlace } from './scripts/leases.js';

/** Options of a {@link RedisBulkheadStore}. */
export interface RedisBulkheadStoreOptions extends RedisStoreOptions {
  /**
   * How long a slot stays taken without word from its holder. A holder renews its leases every
   * `leaseTtl / 3` while its calls run, so only a process that stops answering (crashed, frozen,
   * cut off) loses its slots, which come back to everyone within `leaseTtl`; a renewal puts back
   * the leases Redis no longer has (after a restart) for the calls still running. At least 50 ms.
   * @defaultValue `'30s'`
   */
  readonly leaseTtl?: Duration | undefined;
}

const DEFAULT_LEASE_TTL_MS = 30_000;
const MIN_LEASE_TTL_MS = 50;

/**
 * A concurrency limit in Redis, shared by every {@link Bulkhead} (in any process) whose store
 * has the same `prefix` and `key`: at most `maxConcurrent` calls run at once across all of them.
 *
 * Each slot is a lease in a sorted set, scored by its expiry on the Redis server's clock; taking
 * a slot first drops expired leases, then adds one if fewer than `maxConcurrent` remain (one
 * atomic Lua script). The store renews the leases of its running calls every `leaseTtl / 3` (one
 * timer per store, only while calls run: a process whose calls have all settled exits at once;
 * a call on a slot of the local limit gets a lease from the first renewal Redis answers), so a
 * crashed holder's slots come back within `leaseTtl` and a live one never loses its own: a
 * renewal puts back, whatever the limit, any lease Redis no longer has (a restart, a flush, or
 * expiry while the process was paused or cut off), so Redis counts every call that runs, and
 * admits nobody while more than `maxConcurrent` do. It does not put back a lease whose call has
 * ended: the release of a lease a renewal named is recorded in Redis for `leaseTtl`, so that
 * renewal, should a cluster client retry it after the release, does not take the slot again
 * (unless it runs once the record is gone: lapsed after `leaseTtl`, or lost in a restart).
 * While Redis is away the renewals go on (one out at a time, not waiting out the back-off that
 * calls skip Redis for, which may be longer than `leaseTtl`), and the first to reach it again
 * takes the leases back. The key expires `leaseTtl` after the last lease was taken or renewed.
 *
 * Acquiring and releasing a slot cost one round trip each, and `acquire` and `execute` are
 * decided by Redis. The bulkhead's `availableSlots` reports the last known shared count (from the
 * last answer, with the slots this process is taking or asking for, and, while nobody is queued
 * here, one slot owed to each other process with callers queued); `tryAcquire` decides on
 * it without waiting for Redis, which takes the lease in the background (see
 * {@link RedisBulkheadStore.tryAcquireKnown}), and when that count is full sends for a fresh
 * one in the background (at most every `min(100 ms, leaseTtl / 4)`), so slots freed elsewhere
 * are seen; while Redis is away it decides as `onStoreError` says, and sends one probe after
 * each back-off.
 *
 * Callers queued for a slot are served first in first out across the processes: a process with
 * callers queued stands in a line in Redis (how long its first queued caller has waited, sent
 * with each of its commands; its place lapses four polls after its last word, so a crashed
 * process's place does not hold anyone up for long), Redis grants a free slot only to a caller
 * with fewer processes ahead of it in that line than slots free (to a caller from a process with
 * nobody queued, only once every process in the line could be served), and a slot whose call
 * ends goes straight to a caller queued in this process only while no caller elsewhere has
 * waited longer, and is freed in Redis otherwise (a slot Redis grants to the callers queued here
 * goes to the first of them). Callers queued here ask Redis again every
 * `min(100 ms, leaseTtl / 4)`, four times as often while the first of them has waited longest
 * of all and others wait elsewhere too.
 *
 * When Redis cannot answer within `storeTimeout`, the call is decided as `onStoreError` says
 * (`'local'`: an in-process limit of `maxConcurrent / instances`, rounded down, at least 1,
 * which counts this process's calls still running on Redis leases; `'fail-open'`: admitted;
 * `'fail-closed'`: rejected with `StoreUnavailableError`, as are the callers queued here), and
 * calls skip Redis for a short back-off before one call tries it again. The first command that
 * reaches Redis after that takes leases, whatever the limit, for the calls still running here
 * that Redis does not count (on local slots, or on leases a restart lost), so one process never
 * runs more than `maxConcurrent` calls at once across an outage.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { Bulkhead } from 'bulwark';
 * import { RedisBulkheadStore } from 'bulwark/redis';
 *
 * const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const pool = new Bulkhead({
 *   maxConcurrent: 50,
 *   store: new RedisBulkheadStore({ client, key: 'legacy-db', leaseTtl: '30s', instances: 5 }),
 * });
 * const rows = await pool.execute(() => legacyDb.query(sql));
 * ```
 */
export class RedisBulkheadStore
  extends RedisStore<InMemoryBulkheadStore, RedisBulkheadStore>
  implements BulkheadStore
{
  /** How long a lease lasts without renewal, in milliseconds. */
  readonly leaseTtlMs: number;
  readonly #owner = crypto.randomUUID();
  readonly #pollMs: number;
  #seq = 0;
  #maxConcurrent = 0;
  // Under an adaptive limit: the limit as it is now (see 'bulwark.limitTo').
  #limitTo: (() => number) | undefined = undefined;
  // With 'local': the in-process limit while Redis is away (maxConcurrent / instances).
  #localMax = 0;
  // Lease ids this store handed out as tickets whose calls have not released them yet: calls
  // running on Redis leases, counted by the local limit while Redis is away (their lease may
  // have expired meanwhile; they still run).
  readonly #onLease = new Set<string>();
  // Leases (also in #leases) taken for calls that run on slots of the local limit, taken while
  // Redis was away, so Redis counts those calls once it is back: at most one per such call.
  readonly #adopted: string[] = [];
  // Leases being taken for such calls, by an acquire or a renewal in flight.
  readonly #adopting = new Outstanding();
  // This store decided without Redis, or failed to reach it, since its last acquire went there.
  #away = false;
  // Leases held in Redis: id -> time (this store's clock) the lease was last known to be alive.
  readonly #leases = new Map<string, number>();
  // Leases whose calls have ended but whose release did not reach Redis (it was away), and those
  // Redis granted too late for their caller until their release is answered: freed by the
  // store's next command that reaches it, so a blip does not keep their slots taken for
  // leaseTtl. Same values as #leases; dropped once expired in Redis anyway.
  readonly #unreleased = new Map<string, number>();
  #known = 0;
  // Leases tryAcquireKnown is taking that Redis has not answered for yet (not in #known).
  readonly #taking = new Outstanding();
  // Leases `acquire` is asking Redis for, not answered yet (not in #known either).
  readonly #asking = new Outstanding();
  // Slots tryAcquireKnown handed out that hold no lease (refused, or Redis unreachable), still
  // held: while any runs, a released slot is not handed on to a caller queued here (it may be
  // one of them, and would carry the excess on), the queued callers ask Redis instead.
  #untracked = 0;
  #renewTimer: unknown = undefined;
  #renewing = false;
  // When (on this store's clock) it last sent a command naming the leases of calls running here
  // for Redis to add again if gone (a renewal, a retake, an acquire after an outage). A lease
  // known no later may be named by one Redis runs after the lease's release (a cluster client
  // retries a command that met TRYAGAIN, CLUSTERDOWN or MOVED after later ones): its release
  // is a `retire`, which keeps any such command from adding it again.
  #namedAt = -Infinity;
  // When the known count may next be refreshed (see #refresh).
  #refreshAt = 0;
  #pollTimer: unknown = undefined;
  #onFree: (() => void) | undefined = undefined;
  // Since when the first caller queued in the bulkhead has waited (see `subscribe`).
  #queuedSince: (() => number | undefined) | undefined = undefined;
  // How often the store whose queued caller has waited longest asks Redis (see #armPoll).
  readonly #firstPollMs: number;
  // How long this store's place in the line of processes with callers queued lasts in Redis
  // unless one of its commands says more: four polls (a poll waiting for a slow answer renews it
  // as it arrives).
  readonly #placeTtlMs: number;
  // This store stands in the line in Redis, as of its last command.
  #inLine = false;
  // Since when (on this store's clock) the caller first in line in another process has waited,
  // as of the last answer: NaN when none waits.
  #othersSince = NaN;
  // How many other processes stand in the line, as of the last answer: slots owed to their
  // queued callers, which Redis grants none of this store's callers while this one is not in it.
  #owed = 0;
  readonly #onRenewTimer = (): void => {
    this.#renewTimer = undefined;
    this.#renew();
  };
  // A slot of the local limit, which counts this process's calls still running on Redis leases.
  // Its call is renewed too: the first renewal Redis answers takes a lease for it.
  readonly #takeLocal = (local: InMemoryBulkheadStore): false | BulkheadTicket => {
    const used = local.inUse() + this.#onLease.size;
    if (used >= Math.min(this.#localMax, this.#max()) || !local.acquire()) return false;
    this.#armRenewal();
    return LOCAL_SLOT;
  };
  readonly #acquireWithout = (): false | BulkheadTicket | Promise<false | BulkheadTicket> => {
    const core = this.core;
    this.#away = true;
    const answer = core.decide(this.#takeLocal, UNTRACKED_SLOT);
    // Queued callers ask again later (slots may be free, or Redis back, by then).
    if (answer === false || core.link.mode === 'fail-closed') this.#armPoll();
    return answer;
  };
  readonly #onPollTimer = (): void => {
    this.#pollTimer = undefined;
    if (this.#onFree !== undefined) this.#onFree();
    // Nobody waits here any more, and the bulkhead did not say so (one that does not tell,
    // `'bulwark.queueEmptied'`): out of the line.
    if (this.#inLine && this.#queuedSince?.() === undefined) this.#leaveLine();
  };

  /**
   * @throws TypeError for a missing `client` or `key`, an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options: RedisBulkheadStoreOptions) {
    super(options, 'RedisBulkheadStore', 'bh', ['leaseTtl']);
    this.leaseTtlMs = Math.ceil(
      positiveDuration(
        this.core.options.raw.leaseTtl,
        'leaseTtl',
        DEFAULT_LEASE_TTL_MS,
        MIN_LEASE_TTL_MS,
      ),
    );
    this.#pollMs = Math.min(100, this.leaseTtlMs / 4);
    this.#firstPollMs = this.#pollMs / 4;
    this.#placeTtlMs = Math.ceil(4 * this.#pollMs);
  }

  /**
   * Slots this store holds in Redis (leases it renews), as of its last answer: a lease not
   * renewed for `leaseTtl` (Redis away) is not counted until a renewal takes it back.
   */
  get leases(): number {
    return this.#leases.size;
  }

  /** @throws Error when the store already serves another bulkhead */
  configure(config: BulkheadStoreConfig): void {
    this.core.configure(config.clock, 'Bulkhead', InMemoryBulkheadStore, (instances) => ({
      maxConcurrent: (this.#localMax = Math.max(1, Math.floor(config.maxConcurrent / instances))),
      clock: config.clock,
    }));
    this.#maxConcurrent = config.maxConcurrent;
  }

  /**
   * Answers `false` (Redis cannot answer synchronously), so the bulkhead asks
   * {@link RedisBulkheadStore.acquire}. While Redis is away: the local limit's answer with
   * `'local'` (counting this process's calls still running on Redis leases), `true` with
   * `'fail-open'`.
   */
  tryAcquire(): false | BulkheadTicket {
    const core = this.core;
    if (!core.link.bypassing) return false;
    return core.decideNow(this.#takeLocal, UNTRACKED_SLOT, false);
  }

  /**
   * Decides the bulkhead's `tryAcquire` on the last known shared count (see
   * {@link RedisBulkheadStore.inUse}), without waiting for Redis: a slot when one is free there,
   * whose lease Redis takes in the background (one script call, not awaited; its answer becomes
   * the known count). The ticket frees exactly what was taken: the lease Redis granted (also one
   * granted after the slot was released, given back at once), and nothing when Redis refused
   * (others took the free slots, or processes with callers queued joined the line, since this
   * store last heard from Redis; it counts one slot owed to each process in the line it knew
   * of) or could not be
   * reached: the call then runs as an untracked slot, beyond the shared limit by what was taken
   * elsewhere since this store's last answer (before any, no slot is taken as used), and a slot
   * it frees is not handed on to a caller queued here. This store's own acquisitions still out
   * count against the known count. A lease taken is renewed while its call runs. A call the
   * known count refuses sends for the count in the background (a renewal of this store's leases,
   * at most one out, and at most one every `min(100 ms, leaseTtl / 4)`), so slots freed
   * elsewhere are seen by a later call. While Redis is away (after a failed call), it answers as
   * `onStoreError` says (a slot of the local limit with `'local'`, an untracked slot with
   * `'fail-open'`, `false` with `'fail-closed'`); once the back-off is over, one call is the
   * probe whose answer brings the store back: a call the known count admits takes its lease in
   * Redis, any other is answered as `onStoreError` says while the store sends for the count.
   * Whichever command reaches Redis first after an outage takes leases for the calls still
   * running here on local slots, as {@link RedisBulkheadStore.acquire} does.
   */
  tryAcquireKnown(): false | BulkheadTicket {
    const link = this.core.link;
    // The count `availableSlots` reads: this store's own acquisitions and adoptions still out
    // included, and the calls running on local slots that Redis does not count yet.
    const uncounted = this.#uncounted();
    const gate = link.gateKnown(this.#count(uncounted) < this.#max());
    if (gate === 'refuse') {
      // Slots freed elsewhere show in no answer of this store's own: ask Redis for its count.
      this.#refresh();
      return false;
    }
    if (gate !== 'take') {
      // Redis is away: its next answer may come from a server that restarted, or let leases
      // expire, meanwhile.
      this.#away = true;
      // The probe learns the count, and takes the leases of the calls running here, whose
      // answer brings the store back to Redis; meanwhile the call is decided without it.
      if (gate === 'probe') this.#sync(link.clock.now());
      return this.core.decideNow(this.#takeLocal, UNTRACKED_SLOT, false);
    }
    const slot = new KnownSlot(`${this.#owner}:${++this.#seq}`);
    const sentAt = link.clock.now();
    const { free, adopt, again, forced } = this.#carried(uncounted);
    this.#taking.add(1);
    link
      .run(this.#command({ op: 'acquire', id: slot.id, free, adopt: forced }), (late) => {
        if (!Array.isArray(late)) return;
        this.#giveBack(this.#lateCarried(adopt, again), again.length !== 0);
        // Granted after the take gave up waiting: the lease is the slot's after all.
        if (Number(late[0]) === 1) this.#leased(slot);
      })
      .then(
        (reply) => {
          this.#taking.done(1);
          this.#carriedIn(free, adopt, again, sentAt);
          const [granted, inUse] = reply as [unknown, unknown];
          this.#known = Number(inUse);
          this.#learnLine(reply as readonly unknown[]);
          if (Number(granted) === 1) this.#leased(slot);
          else this.#untrack(slot);
        },
        () => {
          this.#taking.done(1);
          this.#adopting.done(adopt.length);
          this.#untrack(slot);
          // Redis may have restarted or let leases expire by its next answer: retake them then.
          this.#away = true;
        },
      )
      .then(undefined, noop);
    return slot;
  }

  /**
   * Takes a lease in Redis: its id is the slot's ticket. While Redis is away, a slot of the local
   * limit (`'local'`), an untracked slot (`'fail-open'`), or a rejection (`'fail-closed'`).
   * Calls still running on slots of the local limit once Redis is back get leases of their own
   * with the same command, taken whatever the limit, so Redis counts them before it admits
   * anyone; each is freed when one of those calls ends.
   */
  acquire(): false | BulkheadTicket | Promise<false | BulkheadTicket> {
    const link = this.core.link;
    if (!link.shouldTry()) return this.#acquireWithout();
    const id = `${this.#owner}:${++this.#seq}`;
    const sentAt = link.clock.now();
    const { free, adopt, again, forced } = this.#carried(this.#uncounted());
    this.#asking.add(1);
    return link
      .run(this.#command({ op: 'acquire', id, free, adopt: forced }), (late) => {
        // Redis granted a slot to a caller that was already answered otherwise: given back now,
        // or, should that fail, with the store's next command that reaches Redis.
        if (!Array.isArray(late)) return;
        const ids = this.#lateCarried(adopt, again);
        if (Number(late[0]) === 1) ids.push(id);
        this.#giveBack(ids, again.length !== 0);
      })
      .then(
        (reply) => {
          this.#asking.done(1);
          this.#carriedIn(free, adopt, again, sentAt);
          const [granted, inUse] = reply as [unknown, unknown];
          this.#known = Number(inUse);
          this.#learnLine(reply as readonly unknown[]);
          // Calls that took local slots while Redis decided are not in its count: the slot is
          // given back if it would take this process past the limit with them.
          const uncounted = this.#uncounted();
          if (Number(granted) === 1 && this.#known + uncounted > this.#max()) {
            this.#giveBack([id]);
            this.#armPoll();
            return false;
          }
          if (Number(granted) === 1) {
            this.#leases.set(id, link.clock.now());
            this.#onLease.add(id);
            this.#armRenewal();
            return id;
          }
          this.#armPoll();
          return false;
        },
        () => {
          this.#asking.done(1);
          this.#adopting.done(adopt.length);
          return this.#acquireWithout();
        },
      );
  }

  /**
   * Frees exactly the slot `ticket` names: that call's lease in Redis, or its slot of the local
   * limit. A lease Redis already dropped (expired while its holder was cut off) and a slot
   * granted without Redis by `'fail-open'` free nothing, so Redis keeps counting every call that
   * still runs. A release that cannot reach Redis is sent again with the store's next command
   * that can (within `leaseTtl`, after which the lease has expired anyway). Once a renewal has
   * named the lease, its release keeps any renewal Redis runs later from adding it again (for
   * `leaseTtl`).
   */
  release(ticket: BulkheadTicket): void | Promise<void> {
    if (ticket instanceof KnownSlot) {
      if (ticket.released) return;
      ticket.released = true;
      if (ticket.untracked) this.#untracked--;
      // Not granted (yet): a lease granted later is given back as it arrives.
      if (!ticket.leased) return;
      ticket = ticket.id;
    }
    if (ticket === LOCAL_SLOT) {
      const local = this.core.local;
      if (local === undefined) return;
      local.release();
      // One call fewer on local slots: one lease taken for them fewer.
      if (this.#adopted.length > local.inUse()) {
        const adopted = this.#adopted.pop() as string;
        return this.#releaseLease(adopted);
      }
      if (!this.#renewable()) this.#stopRenewal();
      return;
    }
    if (typeof ticket !== 'string' || !this.#onLease.delete(ticket)) return;
    return this.#releaseLease(ticket);
  }

  /**
   * Slots in use across all processes, as of the last answer Redis gave this store, with what
   * this store has asked Redis for that Redis has not answered yet (the leases `tryAcquire` is
   * taking, `acquire`'s leases, leases for calls on local slots), the calls running on local
   * slots that Redis does not count yet, and, while nobody is queued here, one slot for each
   * other process standing in the line (owed to its queued callers, which Redis serves before a
   * caller from a process with nobody queued): the count `tryAcquire` decides on. While Redis is away
   * with `'local'`, the calls this process runs (on the local limit's slots and on Redis leases),
   * which the local limit decides on; the bulkhead's `availableSlots` then reports the room under
   * that limit (`maxConcurrent / instances`, rounded down, at least 1).
   */
  inUse(): number {
    return this.#count(this.#uncounted());
  }

  /**
   * @internal The most slots this store grants now: while Redis is away with `'local'`, the local
   * limit (`maxConcurrent / instances`, rounded down, at least 1), the rest being left to the
   * other instances; else `maxConcurrent`. The bulkhead reports as `availableSlots` the room under
   * it (and under an adaptive limit, under the lower of the two).
   */
  'bulwark.limit'(): number {
    return this.core.localWhileAway !== undefined ? this.#localMax : this.#maxConcurrent;
  }

  /**
   * @internal Bounds the slots this store grants by `limit()` too, read at each decision: an
   * adaptive limit as it is now. Redis decides under it (a caller queued here is granted a slot
   * only while fewer than it are taken, and those ahead in the line served; its poll goes on
   * until then, as under `maxConcurrent`), as do the known count (`tryAcquireKnown`) and the
   * local limit while Redis is away (`'local'`; `'fail-open'` admits every call then, as under a
   * fixed limit).
   */
  'bulwark.limitTo'(limit: () => number): void {
    this.#limitTo = limit;
  }

  // The most slots in use under which this store grants one now: `maxConcurrent`, or an adaptive
  // limit below it.
  #max(): number {
    return Math.min(this.#limitTo?.() ?? Infinity, this.#maxConcurrent);
  }

  // `inUse()`, given `#uncounted()`.
  #count(uncounted: number): number {
    const local = this.core.localWhileAway;
    if (local !== undefined) return local.inUse() + this.#onLease.size;
    return (
      this.#known +
      this.#taking.amount +
      this.#asking.amount +
      this.#adopting.amount +
      uncounted +
      // A caller from a process with nobody queued comes after every process in the line (with
      // callers queued here, Redis decides on those ahead: `acquire` asks it).
      (this.#queuedSince?.() === undefined ? this.#owed : 0)
    );
  }

  /**
   * Registers the bulkhead's wake-up, called when slots taken elsewhere may have been freed, and
   * `queuedSince`, which tells since when the first caller queued in the bulkhead has waited: while
   * callers wait here, this store stands in a line in Redis with the other processes that have
   * callers queued, so a slot freed while callers wait goes to the process whose caller has
   * waited longest (see {@link RedisBulkheadStore.handOff}).
   */
  subscribe(onFree: () => void, queuedSince?: () => number | undefined): void {
    this.#onFree = onFree;
    this.#queuedSince = queuedSince;
  }

  /**
   * Whether a slot whose call ended may go straight to a caller queued here: not while a caller
   * queued in another process has waited longer than the first one here (as of Redis's last
   * answer), nor while Redis counts more slots taken than `maxConcurrent` (after an outage, when
   * processes count their running calls in again); the slot is then freed in Redis, where it goes
   * to the process first in line, and the callers queued here ask Redis in turn.
   */
  handOff(): boolean {
    const link = this.core.link;
    if (!link.up) return true;
    // The caller served may be the last one queued here: the bulkhead then says so
    // (`'bulwark.queueEmptied'`), and this store leaves the line.
    if (this.#known <= this.#maxConcurrent && this.#untracked === 0 && !this.#behind()) {
      return true;
    }
    this.#armPoll();
    return false;
  }

  /**
   * @internal The bulkhead's queue has emptied (its last caller was served, by a slot handed on
   * or one Redis granted, or left): this store leaves the line in Redis at once, so the slots
   * freed elsewhere do not wait for it.
   */
  'bulwark.queueEmptied'(): void {
    if (this.#inLine) this.#leaveLine();
  }

  // Whether a caller queued in another process has waited longer than the first one here.
  #behind(): boolean {
    const since = this.#queuedSince?.();
    return since !== undefined && this.#othersSince < since;
  }

  // An answer's count of slots in use and the line (a release's reply).
  #learnCount(reply: readonly unknown[]): void {
    this.#known = Number(reply[1]);
    this.#learnLine(reply);
  }

  // An answer's `wait` (how long the caller first in line in another process has waited, ms) and
  // `others` (how many other processes stand in the line).
  #learnLine(reply: readonly unknown[]): void {
    const waited = Number(reply[2]);
    this.#othersSince = waited >= 0 ? this.core.link.clock.now() - waited : NaN;
    const others = Number(reply[3]);
    this.#owed = others > 0 ? others : 0;
  }

  // This store's place in the line, sent with each command: how long the caller first queued here
  // has waited, or, once nobody waits here, leaving the line; nothing from a store out of it.
  #place(): LeasePlace | undefined {
    const since = this.#queuedSince?.();
    if (since === undefined) {
      if (!this.#inLine) return undefined;
      this.#inLine = false;
      return { owner: this.#owner, waitedMs: -1, ttlMs: this.#placeTtlMs };
    }
    this.#inLine = true;
    const waitedMs = Math.max(0, Math.floor(this.core.link.clock.now() - since));
    return { owner: this.#owner, waitedMs, ttlMs: this.#placeTtlMs };
  }

  // A slot this store freed for a caller elsewhere, as it last knew, is free and nobody elsewhere
  // waits longer (served meanwhile): the callers queued here ask for it now, not at their poll.
  #pollIfOwed(): void {
    const timer = this.#pollTimer;
    if (timer === undefined || this.#known >= this.#max() || this.#behind()) return;
    this.core.link.clock.clearTimeout(timer);
    this.#onPollTimer();
  }

  // Nobody waits here any more: out of the line at once (a renewal of no lease), so the slots
  // freed elsewhere do not wait for this store.
  #leaveLine(): void {
    const link = this.core.link;
    if (!link.up || link.bypassing) return;
    link.send(this.#command({ op: 'renew', ids: NONE }), (reply) => {
      if (Array.isArray(reply)) this.#learnLine(reply);
    });
  }

  // What a command taking a slot carries besides: the leases to free (`free`), leases for the
  // calls running on local slots that Redis does not count (`adopt`), and, after a time without
  // Redis (which may have restarted, or let leases expire, meanwhile), the leases of the calls
  // still running here to take again (`again`); `forced` are those taken whatever the limit.
  // Whichever command reaches Redis first after an outage carries them. `uncounted` is
  // `#uncounted()` now. Carrying nothing, as nearly every command does, allocates nothing.
  #carried(uncounted: number): Carried {
    const free = this.#toFree();
    const adopt = this.#toAdopt(uncounted);
    const again = this.#away ? [...this.#onLease, ...this.#adopted] : NONE;
    this.#away = false;
    this.#adopting.add(adopt.length);
    if (free.length + adopt.length + again.length === 0) return NOTHING_CARRIED;
    if (again.length !== 0) this.#namedAt = this.core.link.clock.now();
    return { free, adopt, again, forced: again.length === 0 ? adopt : [...again, ...adopt] };
  }

  // Redis answered a command sent at `sentAt` that carried `free`, `adopt` and `again` (see
  // #carried). The leases taken again count as known alive from when it was sent, as a
  // renewal's do: a renewal naming them that went out before the answer came leaves them known
  // no later than it named them, so their release is a `retire`.
  #carriedIn(
    free: readonly string[],
    adopt: readonly string[],
    again: readonly string[],
    sentAt: number,
  ): void {
    this.#adopting.done(adopt.length);
    this.#freed(free);
    if (again.length !== 0) this.#retaken(again, sentAt);
    this.#adopt(adopt);
  }

  // Redis answered, after the command gave up on it, one that carried `adopt` and `again`: the
  // leases it took for calls this store no longer counts on, to give back (now, or, should that
  // fail, with the store's next command that reaches Redis).
  #lateCarried(adopt: readonly string[], again: readonly string[]): string[] {
    return [...adopt, ...again.filter((held) => !this.#holds(held))];
  }

  // Redis did not grant the lease of `slot` (tryAcquireKnown): its call runs untracked.
  #untrack(slot: KnownSlot): void {
    if (slot.released || slot.untracked) return;
    slot.untracked = true;
    this.#untracked++;
  }

  // Redis granted the lease of `slot` (tryAcquireKnown): held and renewed while its call runs, or
  // given back at once when the slot was released before the grant arrived.
  #leased(slot: KnownSlot): void {
    if (slot.released) {
      this.#giveBack([slot.id]);
      return;
    }
    slot.leased = true;
    this.#leases.set(slot.id, this.core.link.clock.now());
    this.#onLease.add(slot.id);
    this.#armRenewal();
  }

  // Frees the lease `ticket` in Redis, unless Redis dropped it already.
  #releaseLease(ticket: string): void | Promise<void> {
    const aliveAt = this.#leases.get(ticket);
    this.#leases.delete(ticket);
    if (!this.#renewable()) this.#stopRenewal();
    if (aliveAt === undefined) return;
    const free = this.#toFree();
    const ids = free.length === 0 ? [ticket] : [ticket, ...free];
    // Named by no renewal yet (nearly every call's), nor an unreleased one: a plain release.
    const op = free.length === 0 && aliveAt > this.#namedAt ? 'release' : 'retire';
    return this.core.link.attempt(
      this.#command({ op, ids }),
      (reply) => {
        this.#freed(free);
        if (!Array.isArray(reply)) return;
        this.#learnCount(reply);
        if (this.#inLine) this.#pollIfOwed();
      },
      () => {
        this.#away = true;
        this.#unreleased.set(ticket, aliveAt);
      },
    );
  }

  // Frees in Redis the leases of `ids`, taken for nobody's account: now, or, should that fail,
  // with the store's next command that reaches Redis. `named`: some may be named by a renewal
  // Redis has yet to run (see #namedAt).
  #giveBack(ids: readonly string[], named = false): void {
    if (ids.length === 0) return;
    const now = this.core.link.clock.now();
    for (const id of ids) this.#unreleased.set(id, now);
    const op = named ? 'retire' : 'release';
    this.core.link.send(this.#command({ op, ids }), (reply) => {
      this.#freed(ids);
      if (Array.isArray(reply)) this.#learnCount(reply);
    });
  }

  // Whether the lease `id` stands for a call still running here.
  #holds(id: string): boolean {
    return this.#onLease.has(id) || this.#adopted.includes(id);
  }

  // Redis took again the leases of `ids` (calls running here when it last answered): renewed
  // from now on, and freed at once for the calls that ended while Redis decided.
  #retaken(ids: readonly string[], now: number): void {
    if (ids.length === 0) return;
    let ended = false;
    for (const id of ids) {
      if (this.#holds(id)) {
        this.#leases.set(id, now);
      } else {
        this.#unreleased.set(id, now);
        ended = true;
      }
    }
    this.#armRenewal();
    if (ended) this.#freeUnreleased();
  }

  // Calls running on local slots that Redis does not count, nor is being asked to.
  #uncounted(): number {
    const local = this.core.local;
    return local === undefined ? 0 : local.inUse() - this.#adopted.length - this.#adopting.amount;
  }

  // Ids for leases to take for the calls running on local slots that Redis does not count yet
  // (`missing`, when its caller has worked it out already).
  #toAdopt(missing = this.#uncounted()): readonly string[] {
    if (missing <= 0) return NONE;
    const ids: string[] = [];
    for (let i = 0; i < missing; i++) ids.push(`${this.#owner}:${++this.#seq}`);
    return ids;
  }

  // Redis took the leases of `ids` for calls on local slots: renewed from now on, and freed as
  // those calls end (at once for any whose call ended while Redis was deciding).
  #adopt(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const now = this.core.link.clock.now();
    for (const id of ids) {
      this.#leases.set(id, now);
      this.#adopted.push(id);
    }
    this.#armRenewal();
    const local = this.core.local as InMemoryBulkheadStore;
    while (this.#adopted.length > local.inUse()) {
      void this.#releaseLease(this.#adopted.pop() as string)?.then(noop, noop);
    }
  }

  // A lease Redis no longer holds (expired, lost): a call on a local slot it stood for needs
  // another.
  #lost(id: string): void {
    this.#leases.delete(id);
    const i = this.#adopted.indexOf(id);
    if (i !== -1) this.#adopted.splice(i, 1);
  }

  #command(op: LeaseOp): RedisCommand {
    return LEASES.command({
      key: this.redisKey,
      maxConcurrent: this.#max(),
      leaseTtlMs: this.leaseTtlMs,
      place: this.#place(),
      ...op,
    });
  }

  // Asks Redis again for the callers queued here, every `min(100 ms, leaseTtl / 4)`, or four
  // times as often while callers wait in other processes too and the first one here has waited
  // longest of all: the next slot freed is its, and waits for it.
  #armPoll(): void {
    if (this.#onFree !== undefined && this.#pollTimer === undefined) {
      const since = this.#queuedSince?.();
      const first = since !== undefined && this.#othersSince >= since;
      this.#pollTimer = this.core.link.clock.setTimeout(
        this.#onPollTimer,
        first ? this.#firstPollMs : this.#pollMs,
      );
    }
  }

  // Whether a call runs here: on a lease held in Redis, on one Redis may have dropped meanwhile
  // (expired while this store could not renew it, or lost to a restart), to take again, or on a
  // slot of the local limit, which the next renewal Redis answers takes a lease for.
  #renewable(): boolean {
    return (
      this.#leases.size !== 0 ||
      this.#onLease.size !== 0 ||
      this.#adopted.length !== 0 ||
      (this.core.local?.inUse() ?? 0) !== 0
    );
  }

  // Renews every `leaseTtl / 3` while a call runs here, whether or not Redis answered the last
  // renewal: the first that reaches it again takes back what it no longer has.
  #armRenewal(): void {
    if (this.#renewTimer === undefined && this.#renewable()) {
      this.#renewTimer = this.core.link.clock.setTimeout(
        this.#onRenewTimer,
        Math.floor(this.leaseTtlMs / 3),
      );
    }
  }

  // The leases to free with the next command: those whose release has not reached Redis, bar
  // those expired there since (a few at a time: Lua unpacks at most some thousands of values).
  #toFree(): readonly string[] {
    const unreleased = this.#unreleased;
    if (unreleased.size === 0) return NONE;
    const now = this.core.link.clock.now();
    const free: string[] = [];
    for (const [id, aliveAt] of unreleased) {
      if (now - aliveAt >= this.leaseTtlMs) unreleased.delete(id);
      else if (free.length < MAX_FREE) free.push(id);
    }
    return free;
  }

  // Redis has freed the leases of `free`.
  #freed(free: readonly string[]): void {
    for (const id of free) this.#unreleased.delete(id);
  }

  // Frees in Redis the leases whose release did not reach it, while other calls run (retired, as
  // acquire frees them: a renewal may have named them).
  #freeUnreleased(): void {
    const free = this.#toFree();
    if (free.length === 0) return;
    void this.core.link.attempt(
      this.#command({ op: 'retire', ids: free }),
      () => this.#freed(free),
      noop,
    );
  }

  #stopRenewal(): void {
    if (this.#renewTimer !== undefined) {
      this.core.link.clock.clearTimeout(this.#renewTimer);
      this.#renewTimer = undefined;
    }
  }

  #renew(): void {
    if (!this.#renewable()) return;
    const sentAt = this.core.link.clock.now();
    // A renewal still out: its answer (or failure) says what Redis holds; the leases it carries
    // are not dropped meanwhile, since Redis takes them all back if it answers.
    if (this.#renewing) {
      this.#armRenewal();
      return;
    }
    // Sent during a back-off too (calls skip Redis then, renewals do not): the back-off may be
    // longer than leaseTtl, and one renewal Redis was slow to answer must not cost the leases.
    // At most one is out at a time, so an outage piles up no commands.
    this.#sync(sentAt);
  }

  // The known count refused a `tryAcquireKnown` while Redis is up: asks Redis for its count (a
  // renewal of the leases held, early), so slots freed elsewhere are seen. At most one such
  // command is out at a time, and at most one goes every `min(100 ms, leaseTtl / 4)`, the
  // pacing of the queued callers' polls.
  #refresh(): void {
    if (this.#renewing) return;
    const now = this.core.link.clock.now();
    if (now < this.#refreshAt) return;
    this.#refreshAt = now + this.#pollMs;
    this.#sync(now);
  }

  // Renews the leases held (none, for a command that only learns the count), or, after a time
  // without Redis, takes again those of every call still running here (Redis may have restarted
  // empty, or let some expire), with leases for the calls on local slots. Either way Redis adds
  // again, whatever the limit, any lease it no longer has (a restart it came back from unseen,
  // with a client that queued the command meanwhile): the calls run, so they are counted, and
  // Redis admits nobody while it counts `maxConcurrent` or more. Its answer is the known count.
  // Sent whether or not calls skip Redis for now (a renewal, or a probe the link let through).
  #sync(sentAt: number): void {
    const leases = this.#leases;
    const link = this.core.link;
    const clock = link.clock;
    this.#renewing = true;
    const adopt = this.#toAdopt();
    const retake = this.#away || adopt.length !== 0;
    this.#away = false;
    this.#adopting.add(adopt.length);
    const ids = retake
      ? [...new Set([...leases.keys(), ...this.#onLease, ...this.#adopted])]
      : [...leases.keys()];
    const sent = adopt.length === 0 ? ids : [...ids, ...adopt];
    if (ids.length !== 0) this.#namedAt = sentAt;
    const command = this.#command({ op: retake ? 'retake' : 'renew', ids: sent });
    // Leases Redis took (again) after the renewal gave up on it, for calls not counted on them:
    // given back.
    const onLate = (late: unknown): void => {
      if (Array.isArray(late)) this.#giveBack(this.#lateCarried(adopt, ids), ids.length !== 0);
    };
    link.run(command, ids.length === 0 && adopt.length === 0 ? undefined : onLate).then(
      (reply) => {
        this.#renewing = false;
        this.#adopting.done(adopt.length);
        this.#known = Number((reply as readonly unknown[])[0]);
        this.#learnLine(reply as readonly unknown[]);
        if (retake) {
          this.#retaken(ids, sentAt);
          this.#adopt(adopt);
        } else {
          // Every lease sent is in Redis now, added again if it was gone; those whose calls ended
          // meanwhile are freed by their releases, sent after it.
          for (const id of ids) if (leases.has(id)) leases.set(id, sentAt);
        }
        this.#armRenewal();
        if (this.#unreleased.size !== 0) this.#freeUnreleased();
      },
      () => {
        this.#renewing = false;
        this.#adopting.done(adopt.length);
        this.#away = true;
        this.#dropExpired(clock.now());
        this.#armRenewal();
      },
    );
  }

  // Leases not renewed for leaseTtl have expired in Redis: their release (when their calls end)
  // frees nothing, and the next renewal takes them again (for a call on a local slot, a new one).
  #dropExpired(now: number): void {
    for (const [id, aliveAt] of this.#leases) {
      if (now - aliveAt >= this.leaseTtlMs) this.#lost(id);
    }
  }
}

/**
 * The ticket of a slot `tryAcquireKnown` granted on the last known count: the lease Redis takes
 * for it in the background, once granted, is what its release frees.
 */
class KnownSlot {
  readonly id: string;
  // Redis granted the lease, before the slot was released.
  leased = false;
  released = false;
  // Redis refused the lease, or could not be reached: the call runs beyond the shared count.
  untracked = false;

  constructor(id: string) {
    this.id = id;
  }
}

/** What a command taking a slot carries besides (see `RedisBulkheadStore.#carried`). */
interface Carried {
  readonly free: readonly string[];
  readonly adopt: readonly string[];
  readonly again: readonly string[];
  readonly forced: readonly string[];
}

// Tickets of slots that own nothing in Redis: one of the local limit ('local'), and one granted
// without any limit ('fail-open').
const LOCAL_SLOT: BulkheadTicket = Object.freeze({ slot: 'local' });
const NONE: readonly string[] = Object.freeze([]);
const NOTHING_CARRIED: Carried = Object.freeze({
  free: NONE,
  adopt: NONE,
  again: NONE,
  forced: NONE,
});
// Most leases one command frees besides its own work.
const MAX_FREE = 1000;
const UNTRACKED_SLOT: BulkheadTicket = Object.freeze({ slot: 'fail-open' });
