import type { Clock } from '../../internal/clock.js';

/**
 * A bulkhead's resolved settings, handed once to its store by {@link BulkheadStore.configure}.
 */
export interface BulkheadStoreConfig {
  /** Slots in use at once, across everyone sharing the store. */
  readonly maxConcurrent: number;
  /** The bulkhead's clock (a remote store may use it to renew leases, or its server's time). */
  readonly clock: Clock;
}

/**
 * What a store hands out for a slot it grants: `true`, or a value naming that slot (a lease id,
 * an object), which the bulkhead hands back to {@link BulkheadStore.release} when the call
 * holding that very slot ends.
 */
export type BulkheadTicket = true | string | object;

/**
 * Where a {@link Bulkhead} counts its slots in use. The bulkhead keeps its own FIFO queue of
 * waiting callers, its count of the slots it holds, and hands a released slot straight to its
 * next waiter without going through the store; the store only answers "is a slot free?" and
 * takes back slots nobody here is waiting for. The default is {@link InMemoryBulkheadStore}.
 *
 * A store may name each slot by the ticket it grants (a store shared between processes keeps,
 * for example, one expiring lease per slot, renewed while its call runs), so only a holder that
 * stops answering loses its slots, and a release frees the finishing call's own slot. Its waiting callers are woken by this process's releases, and by
 * {@link BulkheadStore.subscribe} when slots are freed elsewhere.
 *
 * Methods that may need a round trip answer with a value or a promise; the bulkhead takes the
 * synchronous path, without creating a promise, whenever the value is not one. A store serves
 * one bulkhead.
 *
 * @example
 * ```ts
 * const pool = new Bulkhead({ maxConcurrent: 10, store: new InMemoryBulkheadStore() });
 * ```
 */
export interface BulkheadStore {
  /** Receives the bulkhead's resolved settings, once, from the bulkhead's constructor. */
  configure(config: BulkheadStoreConfig): void;
  /**
   * Takes a slot now if one is free: its ticket (`true` when slots need no name). A store that
   * cannot decide synchronously (a remote one) returns `false`, and the bulkhead falls back to
   * {@link BulkheadStore.acquire}.
   */
  tryAcquire(): false | BulkheadTicket;
  /**
   * Optional: takes a slot now if the count the store knows has one free, for the bulkhead's
   * public `tryAcquire` alone, without a round trip: its ticket, or `false`. A store shared
   * between processes answers from the last known shared count and takes the slot in its
   * backend in the background; its ticket then frees exactly what the backend took (nothing when
   * it refused: the call ran beyond the limit, by at most what was taken elsewhere since the
   * store's last answer). Without it, `tryAcquire` asks {@link BulkheadStore.tryAcquire}.
   * `acquire`, `execute` and policies never call it.
   */
  tryAcquireKnown?(): false | BulkheadTicket;
  /**
   * Takes a slot if one is free (its ticket); `false` when all `maxConcurrent` are in use. A
   * rejection (or a throw) refuses the call with that error: the caller asking, or, when the
   * bulkhead asks for its queue, every queued caller.
   */
  acquire(): false | BulkheadTicket | Promise<false | BulkheadTicket>;
  /**
   * Gives back the slot `ticket` names, as `tryAcquire` or `acquire` returned it: exactly that
   * slot, whichever others this process holds.
   */
  release(ticket: BulkheadTicket): void | Promise<void>;
  /** Slots in use. A remote store returns the last count it knows, without a round trip. */
  inUse(): number;
  /**
   * @internal Optional: the most slots the store grants now, when that may be fewer than
   * `maxConcurrent` (a shared store deciding by an in-process share of the limit while its
   * backend is away). The bulkhead's `availableSlots` reports the room under it.
   */
  'bulwark.limit'?(): number;
  /**
   * @internal Optional, for a store with `subscribe` whose `inUse()` is the last count it knows:
   * bounds the slots it grants by `limit()` too (an adaptive limit as it is now, read at each
   * decision), wherever it bounds anything (in its backend, or by a local limit while that is
   * away; a fallback that admits every call, as `'fail-open'` does, bounds nothing), and
   * asks its backend for the callers queued here as it does under `maxConcurrent` alone. A
   * bulkhead under an adaptive limit then leaves every decision to the store, rather than
   * refusing on a count that may be stale, which would never ask the backend again.
   */
  'bulwark.limitTo'?(limit: () => number): void;
  /**
   * Optional: registers `onFree`, to be called when slots may have been freed by someone else
   * (another process). The bulkhead then asks {@link BulkheadStore.acquire} again for its
   * waiting callers; called while an `acquire` is out, it is not lost: the bulkhead asks again
   * as a refusal to that `acquire` is taken. An in-process store has no need of it.
   * `queuedSince` tells, whenever the store asks, since when (on the bulkhead's clock) the first
   * caller queued in this bulkhead has waited, or `undefined` when nobody waits here: a store
   * shared between processes can so put the callers queued in every process in one line.
   * (`acquire` asked while callers wait here is asked for the first of them.)
   */
  subscribe?(onFree: () => void, queuedSince?: () => number | undefined): void;
  /**
   * Optional, for a store that may count more slots in use than `maxConcurrent`, or that serves
   * callers queued in other processes too: whether a slot whose call ended may go straight to a
   * caller queued here. Asked synchronously, only when a caller is queued; not for a slot the
   * store's `acquire` granted while callers were queued, which goes to the first of them. A shared store answers
   * `false` while more slots are taken than `maxConcurrent` (as after an outage, when every
   * process counts its running calls in again), and while a caller queued in another process
   * has waited longer than the first one here: the bulkhead then gives the slot to `release`,
   * and the queued callers are served as the store frees slots (through `subscribe`). Without
   * it, a freed slot always goes to the next queued caller, so the excess only drains as fast as
   * nobody is queued. One that throws is taken as absent: the slot goes to the next queued
   * caller.
   */
  handOff?(): boolean;
  /**
   * @internal Optional, for a store with `subscribe`: called at once, each time the bulkhead's
   * queue becomes empty (its last queued caller was served, or left: its wait ran out, its signal
   * aborted, or the store refused every queued caller), so a store shared between processes
   * knows when this one has nobody queued any more without looking.
   */
  'bulwark.queueEmptied'?(): void;
}

/**
 * The default {@link BulkheadStore}: a counter of slots in use, in this process's memory.
 *
 * @example
 * ```ts
 * const pool = new Bulkhead({ maxConcurrent: 10, store: new InMemoryBulkheadStore() });
 * ```
 */
export class InMemoryBulkheadStore implements BulkheadStore {
  #max = -1;
  #inUse = 0;

  /**
   * @throws Error when the store already serves another bulkhead
   */
  configure(config: BulkheadStoreConfig): void {
    if (this.#max !== -1) {
      throw new Error(
        'This InMemoryBulkheadStore already serves a Bulkhead; give each bulkhead its own store, or share the bulkhead',
      );
    }
    this.#max = config.maxConcurrent;
  }

  tryAcquire(): boolean {
    if (this.#inUse >= this.#max) return false;
    this.#inUse++;
    return true;
  }

  acquire(): boolean {
    return this.tryAcquire();
  }

  release(): void {
    if (this.#inUse > 0) this.#inUse--;
  }

  /**
   * {@link BulkheadStore.handOff}: a slot whose call ended goes straight to a queued caller unless
   * more are in use than `maxConcurrent` (a registry reload lowered the limit while those calls
   * ran): it is released then.
   */
  handOff(): boolean {
    return this.#inUse <= this.#max;
  }

  /** @internal Counts `n` more slots in use, past `maxConcurrent` if need be (see `takeOver`). */
  hold(n: number): void {
    this.#inUse += n;
  }

  inUse(): number {
    return this.#inUse;
  }
}
