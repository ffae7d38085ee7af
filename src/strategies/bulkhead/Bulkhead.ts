import { BulkheadFullError } from '../../errors.js';
import type { SignalWork } from '../../internal/resolved.js';
import { refusalFrom, rejectedSoon } from '../../internal/refusal.js';
import type { Clock } from '../../internal/clock.js';
import { fail, show, type Duration } from '../../internal/duration.js';
import {
  NEVER_ABORTED,
  noop,
  isThenable,
  abortable,
  refusedCall,
  badSignal,
  refuseSignal,
} from '../../internal/signals.js';
import {
  unboundError,
  clockOption,
  durationOption,
  integerOption,
  optionsObject,
} from '../../internal/validate.js';
import { systemClock } from '../../internal/clock.js';
import { SlotQueue, type SlotWaiter } from '../../internal/slotQueue.js';
import { setReadonly } from '../../internal/readonly.js';
import { storeOption } from '../../internal/store.js';
import { InMemoryBulkheadStore, type BulkheadStore, type BulkheadTicket } from './store.js';
// Types only: a bulkhead with a fixed limit carries none of the adaptive limit's code.
import type { AdaptiveLimit, AdaptiveSlots } from './AdaptiveLimit.js';
import { listenAbort, unlistenAbort } from '../../internal/abortListeners.js';
import { sampleBy } from './sample.js';
import { ownLimits } from './ownLimits.js';

/** Options of a {@link Bulkhead}. */
export interface BulkheadOptions {
  /**
   * Calls allowed at once: an integer >= 1.
   * @defaultValue `10`
   */
  readonly maxConcurrent?: number | undefined;
  /**
   * The concurrency limit: a number is the same as `maxConcurrent` (give one or the other); an
   * {@link AdaptiveLimit} moves the limit with the latency and failures of the calls, and
   * `maxConcurrent` then reads the limit as it is now. (Configuration gives the
   * AdaptiveLimit's options: `limit: { algorithm: gradient2, max: 200 }`.)
   * @defaultValue `maxConcurrent`
   */
  readonly limit?: number | AdaptiveLimit | undefined;
  /**
   * Callers allowed to wait, first in first out, for a slot: an integer >= 0. `0` rejects at
   * once when every slot is taken (fail fast).
   * @defaultValue `0`
   */
  readonly maxQueue?: number | undefined;
  /**
   * Longest a queued caller waits for a slot before it is rejected with
   * {@link BulkheadFullError}. `0` never queues; `Infinity` is the same as leaving it out.
   * Any other value needs `maxQueue` > 0: without a queue it is a `TypeError`.
   * @defaultValue none (a queued caller waits until a slot frees or its signal aborts)
   */
  readonly maxWait?: Duration | undefined;
  /** Source of time. @defaultValue {@link systemClock} */
  readonly clock?: Clock | undefined;
  /**
   * Where the count of slots in use lives; share one backend between processes to share one
   * limit.
   * @defaultValue a new {@link InMemoryBulkheadStore}
   */
  readonly store?: BulkheadStore | undefined;
}

/** @internal Every option key the constructor accepts. */
export const BULKHEAD_OPTIONS = Object.freeze([
  'maxConcurrent',
  'limit',
  'maxQueue',
  'maxWait',
  'clock',
  'store',
]);
const STORE_METHODS = Object.freeze(['configure', 'tryAcquire', 'acquire', 'release', 'inUse']);

/** @internal The calls running beneath a stacked wrapper (the decorators' `Work`): see `hold`. */
export interface FollowedWork {
  readonly running: number;
  drained: (() => void) | undefined;
}

/**
 * The queue of a bulkhead taken over by another (see `Bulkhead.takeOver`): never empty and never
 * serving, so the checks of an empty queue its fast paths (`takeSlot`, `giveSlot`) make anyway
 * send it to the slow ones, which ask the bulkhead that took over. One of the same class as every
 * bulkhead's queue, so that code stays on one hidden class; made at the first take-over (loading
 * the module does nothing).
 */
let handedOver: SlotQueue<BulkheadTicket> | undefined;

/**
 * Where every bulkhead taken over on the way to one live bulkhead points (see `Bulkhead.takeOver`):
 * one cell for them all, turned to the next one when that one is taken over in turn, so that a
 * redirect is one step however many reloads came after it, and the bulkheads between the first
 * and the last are referenced by nothing of the chain (they are collected once nothing else holds
 * them).
 */
interface Redirect {
  to: Bulkhead;
}

/**
 * The wrapped `resolve` of a queued caller moved to another bulkhead's queue (see `takeOver`): the
 * bulkhead it queued in first, whether it asked by hand, and its own `resolve`, so that a caller
 * moved again is wrapped once, not once per move.
 */
const movedWaiters = new WeakMap<
  (ticket: BulkheadTicket) => void,
  readonly [origin: Bulkhead, manual: boolean, resolve: (ticket: BulkheadTicket) => void]
>();

/**
 * Limits how many calls run at once. A call that finds every slot taken is rejected at once with
 * {@link BulkheadFullError} (fail fast), or, with `maxQueue > 0`, waits
 * first in first out for a slot, up to `maxWait`. A released slot goes straight to the next
 * waiter, so a newcomer can never take it first. A slot is held until the work it wraps settles,
 * even when the caller stopped waiting for it: such calls are counted as {@link Bulkhead.orphaned}.
 *
 * With a store that decides remotely, `tryAcquire` decides on the last known shared count (a
 * store without that ability answers `false`), `availableSlots` reports that count, `acquire`
 * and `execute` always ask the store, and queued callers are served by this process's releases
 * and when the store reports slots freed elsewhere.
 *
 * A bulkhead that a `PolicyRegistry` reload replaced (new options) answers through the one that
 * replaced it: every call through it takes its slot there, its callers queued at the reload wait
 * there (each refused at the deadline of the `maxWait` it queued under), and `availableSlots`,
 * `queued` and `orphaned` are the new one's; its settings (`maxConcurrent`, `maxQueue`,
 * `maxWaitMs`, `adaptiveLimit`) stay the ones it was built with (`registry.bulkhead(name)` gives
 * the new one).
 *
 * @example
 * ```ts
 * const db = new Bulkhead({ maxConcurrent: 20, maxQueue: 100, maxWait: '2s' });
 * const rows = await db.execute((signal) => pool.query(sql, { signal }));
 *
 * // or by hand
 * await db.acquire();
 * try {
 *   await slowQuery();
 * } finally {
 *   db.release();
 * }
 * ```
 */
export class Bulkhead {
  /**
   * Calls allowed at once: with an {@link AdaptiveLimit}, the limit as it is now (an own
   * enumerable getter then, so it is listed with the other settings).
   */
  declare readonly maxConcurrent: number;
  /** The adaptive limit, if the bulkhead has one. */
  declare readonly adaptiveLimit: AdaptiveLimit | undefined;
  /** Callers allowed to wait for a slot. */
  declare readonly maxQueue: number;
  /** Longest a queued caller waits, in milliseconds (`Infinity`: no limit). */
  declare readonly maxWaitMs: number;
  readonly #adaptive: AdaptiveSlots | undefined;
  readonly #store: BulkheadStore;
  // The store given counts slots of other processes too (it has `subscribe`): see `'bulwark.inUse'`.
  readonly #sharedCount: boolean;
  // The store's say on handing a freed slot straight to a caller queued here (`handOff`).
  readonly #handOff: (() => boolean) | undefined;
  /** The store is the in-memory one: its `tryAcquire` answering `false` means every slot is taken. */
  readonly #local: boolean;
  // Callers waiting for a slot, first in first out, each rejected when its own `maxWait` runs out
  // (callers moved in by `takeOver` keep the one they queued under). `n` is 1 for a caller of
  // `acquire` (its slot is released by hand), 0 for `execute` or a policy. `handedOver` once
  // taken over.
  #queue: SlotQueue<BulkheadTicket>;
  // Tickets of the slots taken by hand (`acquire`, `tryAcquire`), for `release()`. Slots held by
  // `execute` and by policies are held by their ticket and never appear here, so a stray
  // `release()` cannot free them.
  readonly #manual: BulkheadTicket[] = [];
  // Calls answered (rejected, timed out, aborted) whose work still runs in a slot.
  #orphaned = 0;
  // A remote `acquire` asked on behalf of the queue is in flight.
  #polling = false;
  // Remote `acquire`s asked (for the queue, or for a caller not queued yet) whose answers this
  // bulkhead has not taken yet.
  #asking = 0;
  // The store woke the queue while one of those was out (see `#wake`): asked again once a
  // refusal is taken.
  #wakeOwed = false;
  // Taken over on a reload (see `takeOver`): its `to` is the live bulkhead that answers for this
  // one, the last of the chain.
  #redirect: Redirect | undefined = undefined;
  // Live: the cells of the bulkheads it answers for (see `Redirect`), turned to the one that
  // takes this one over.
  #heirs: Redirect[] | undefined = undefined;
  // The tickets of the slots granted through this one since it was taken over, each with the
  // bulkhead that granted it (the others were this one's store's, taken before).
  #lent: Map<BulkheadTicket, Bulkhead> | undefined = undefined;
  /**
   * The store says slots may have been freed: the queue asks it for one. A wake that comes while
   * an `acquire` is out (the queue's poll, or a caller's own ask, not queued yet) is not lost: the
   * store may have answered that `acquire` already, with its refusal on the way here, and may have
   * spent on this wake the next ask it would have made for the queue (a shared store's poll), so
   * the queue asks again as that refusal is taken (see `#refused`), or it would never ask again.
   */
  readonly #wake = (): void => {
    // Taken over: its queue moved, and its store serves nobody any more.
    if (this.#redirect !== undefined) return;
    this.#wakeOwed = this.#asking !== 0;
    while (!this.#polling && this.#queue.size !== 0) {
      let answer: ReturnType<BulkheadStore['acquire']>;
      try {
        answer = this.#store.acquire();
      } catch (error) {
        this.#refuseQueued(error);
        return;
      }
      if (answer === false) return;
      if (!isThenable(answer)) {
        this.#serve(answer);
        continue;
      }
      this.#polling = true;
      this.#asking++;
      // This ask sees the slots the wake was for.
      this.#wakeOwed = false;
      // Taken as a promise: a store's thenable that calls back twice is answered once, and one
      // whose `then` throws is a rejection, so neither leaves the count of asks out wrong.
      Promise.resolve(answer).then(
        (ticket) => {
          this.#polling = false;
          this.#asking--;
          if (ticket === false) {
            this.#refused();
            return;
          }
          this.#serve(ticket);
          this.#wake();
        },
        (error: unknown) => {
          this.#polling = false;
          this.#asking--;
          this.#refuseQueued(error);
        },
      );
    }
  };

  // The store refused an `acquire` whose caller is in the queue now: the queue asks again if a
  // wake came while it was out (see `#wake`).
  #refused(): void {
    if (this.#wakeOwed) this.#wake();
  }

  // For a shared store (`subscribe`): since when the first caller queued here has waited.
  readonly #queuedSince = (): number | undefined => this.#queue.since();

  /**
   * @throws TypeError for an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options?: BulkheadOptions) {
    const o = optionsObject(options, 'Bulkhead', BULKHEAD_OPTIONS);
    const limit = limitOption(o.limit, o.maxConcurrent);
    const maxConcurrent =
      limit !== undefined
        ? limit.max
        : integerOption(
            o.limit ?? o.maxConcurrent,
            o.limit === undefined ? 'maxConcurrent' : 'limit',
            1,
            10,
          );
    const maxQueue = integerOption(o.maxQueue, 'maxQueue', 0, 0);
    const maxWaitMs = durationOption(o.maxWait, 'maxWait', Infinity, true);
    // A wait set without a queue would be ignored: no caller ever waits. (0 says so, and
    // Infinity is the same as no `maxWait`.)
    if (maxQueue === 0 && maxWaitMs !== 0 && maxWaitMs !== Infinity) {
      fail(
        TypeError,
        'maxWait',
        'set with `maxQueue` > 0',
        o.maxWait,
        `\`maxWait\` needs \`maxQueue\` > 0: without a queue no caller waits, got ${show(o.maxWait)}`,
      );
    }
    // Every setting is an own enumerable property, `maxConcurrent` first, so `console.log`,
    // `Object.keys` and `JSON.stringify` list them all (`maxWaitMs` Infinity is `null` in JSON).
    // Under an adaptive limit it is a getter of the limit as it is now (in the same place),
    // defined as one from the start: a data property redefined as an accessor would turn this
    // bulkhead into a dictionary, and slow down the code every bulkhead shares. One getter for
    // all keeps every adaptive bulkhead on one hidden class.
    if (limit !== undefined) {
      Object.defineProperty(this, 'maxConcurrent', {
        get: adaptiveMaxConcurrent,
        enumerable: true,
        configurable: true,
      });
    }
    setReadonly<Bulkhead>(
      this,
      limit === undefined
        ? { maxConcurrent, adaptiveLimit: limit, maxQueue, maxWaitMs }
        : { adaptiveLimit: limit, maxQueue, maxWaitMs },
    );
    const clock = clockOption(o.clock);
    let store: BulkheadStore =
      storeOption<BulkheadStore>(o.store, 'BulkheadStore', STORE_METHODS, [
        'subscribe',
        'handOff',
        'tryAcquireKnown',
      ]) ?? new InMemoryBulkheadStore();
    this.#handOff = store.handOff?.bind(store);
    const emptied = store['bulwark.queueEmptied']?.bind(store);
    // A store that reports slots freed elsewhere (`subscribe`) counts other processes' slots too.
    this.#sharedCount = typeof store.subscribe === 'function';
    // Under an adaptive limit the store holds slots up to the limit as it is now.
    if (limit !== undefined) store = this.#adaptive = limit.slots(store);
    this.#store = store;
    // Only the in-memory store (not wrapped) answers synchronously, so a full bulkhead can refuse
    // without a promise.
    this.#local = Object.getPrototypeOf(store) === InMemoryBulkheadStore.prototype;
    this.#queue = new SlotQueue<BulkheadTicket>(
      clock,
      (waiter, now) =>
        waiter.reject(
          new BulkheadFullError(this.maxConcurrent, maxQueue, { waitedMs: now - waiter.queuedAt }),
        ),
      emptied,
    );
    store.configure(Object.freeze({ maxConcurrent, clock }));
    if (typeof store.subscribe === 'function') store.subscribe(this.#wake, this.#queuedSince);
  }

  /**
   * Free slots, in `[0, maxConcurrent]`. With a remote store, from the last known shared count.
   */
  get availableSlots(): number {
    if (this.#redirect !== undefined) return this.#redirect.to.availableSlots;
    const max = this.maxConcurrent;
    const store = this.#store;
    // A store that grants fewer slots for now (a shared one deciding without its backend).
    const free = Math.min(store['bulwark.limit']?.() ?? max, max) - store.inUse();
    // Stryker disable next-line EqualityOperator: at free === 0 and free === max both branches answer the same
    return free <= 0 ? 0 : free < max ? free : max;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.#redirect !== undefined ? this.#redirect.to.queued : this.#queue.size;
  }

  /**
   * @internal In use for a `Keyed` holder, which then never drops it, and at rest while not (it
   * has no `'bulwark.atRest'`, so the holder asks once for both): dropping it then loses nothing,
   * as a shared store keeps the counts of the other processes, which the next instance of the key
   * asks for. In use: a caller waits in its queue, or this process holds one of its slots: one
   * taken by hand (`acquire`, `tryAcquire`), one whose call was answered while its work runs
   * (`orphaned`), or, with a store that counts this bulkhead's slots alone (the in-memory one,
   * also under an adaptive limit), any slot. A store shared between processes (one that reports
   * slots freed elsewhere: `subscribe`) counts theirs too, as of its last answer: its count says
   * nothing of this process, whose calls running through a policy are seen by the holder itself.
   */
  'bulwark.inUse'(): boolean {
    if (this.#redirect !== undefined) return this.#redirect.to['bulwark.inUse']();
    if (this.#queue.size !== 0 || this.#manual.length !== 0 || this.#orphaned !== 0) return true;
    return !this.#sharedCount && this.#store.inUse() > 0;
  }

  /**
   * Calls whose caller has been answered (a deadline inside the bulkhead passed, or the caller
   * aborted) while their work still runs and holds its slot. Each slot comes back when its work
   * settles; work that honours its signal ends at the deadline or abort.
   */
  get orphaned(): number {
    return this.#redirect !== undefined ? this.#redirect.to.orphaned : this.#orphaned;
  }

  /**
   * Takes a slot if one is free and nobody is queued for one; never waits. Pair a `true` with
   * {@link Bulkhead.release}.
   *
   * With a remote store (such as `RedisBulkheadStore`) it decides on the last known shared
   * count, as `availableSlots` reports it, without a round trip, and the store takes the slot in
   * the shared limit in the background; `release()` gives back exactly what that took. Processes
   * deciding on counts a round trip old may together run more calls than `maxConcurrent`, by at
   * most what was taken elsewhere since this process's last answer (such a call runs untracked);
   * use `acquire` for a decision by the shared limit itself. A remote store that cannot decide
   * this way answers `false` (use `acquire`).
   */
  tryAcquire(): boolean {
    const ticket = this.takeSlot(true);
    if (ticket === false) return false;
    this.#manual.push(ticket);
    return true;
  }

  /**
   * Takes a slot. Resolves at once when one is free; otherwise queues the caller (FIFO) when
   * the queue has room, or rejects at once with {@link BulkheadFullError}. A queued caller is
   * rejected with {@link BulkheadFullError} when `maxWait` runs out, and with `signal.reason`
   * (leaving the queue at once) when its signal aborts. Pair a resolved acquire with
   * {@link Bulkhead.release}.
   *
   * @param signal - stops waiting when it aborts; an aborted signal rejects at once
   */
  acquire(signal?: AbortSignal): Promise<void> {
    if (badSignal(signal)) return refuseSignal(signal);
    return this.waitSlot(signal, true).then(noop);
  }

  /**
   * Gives back a slot taken by `acquire` or a successful `tryAcquire`. The slot goes straight
   * to the next queued caller, if any. Slots held by `execute` or by a policy are not freed by
   * this method: they come back when their work settles.
   *
   * @throws Error when no slot taken by `acquire` or `tryAcquire` is held; nothing changes then
   */
  release(): void {
    const ticket = this.#manual.pop();
    if (ticket === undefined) {
      // Slots held by execute() or a policy come back when their work settles.
      throw new Error(
        'Bulkhead.release() called without a held slot from acquire() or tryAcquire()',
      );
    }
    this.giveSlot(ticket, true);
  }

  /**
   * Runs `fn` in a slot (see {@link Bulkhead.acquire}) and releases the slot when `fn` settles,
   * whether it resolves, rejects or throws. When the caller's signal aborts, rejects at once
   * with its reason; the slot stays held (counted in {@link Bulkhead.orphaned}) until `fn`
   * settles.
   *
   * @param fn - the operation; it receives the caller's signal (or one that never aborts)
   * @param signal - the caller's signal
   */
  // The work's whole type (see `SignalWork`).
  execute<T = unknown, Fn extends SignalWork<T> = SignalWork<T>>(
    fn: Fn,
    signal?: AbortSignal,
  ): Promise<Awaited<ReturnType<Fn>>>;
  execute<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    if (!(this instanceof Bulkhead))
      return Promise.reject(unboundError('execute', 'Bulkhead', this));
    const refused = refusedCall(fn, signal);
    if (refused !== undefined) return refused;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- a stack frame marker, never called
    return this.hold(fn, signal, Bulkhead.prototype.execute);
  }

  /**
   * @internal Runs `fn` in a slot, as `execute` does once its arguments are checked; a refusal's
   * stack starts at the caller of `boundary`. With `until` (the calls of the original function
   * beneath a stacked wrapper `fn` calls), the slot is held until those have all settled, also
   * when `fn` answered first (a time limiter beneath), the call counting as orphaned meanwhile;
   * the caller's signal then only stops the wait for a slot (what `fn` answers is the answer).
   */
  hold<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    signal: AbortSignal | undefined,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the caller's entry point, any function
    boundary: Function,
    until?: FollowedWork,
  ): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let ticket: false | BulkheadTicket;
    try {
      ticket = this.takeSlot();
    } catch (error) {
      // A custom store that throws: the caller gets a rejection, not a throw.
      return Promise.reject(error);
    }
    if (ticket !== false) return this.#run(fn, signal, ticket, until);
    const refusal = this.refuseNow(boundary);
    if (refusal !== undefined) return rejectedSoon(refusal);
    return this.waitSlot(signal).then((granted) => this.#run(fn, signal, granted, until));
  }

  /**
   * @internal The synchronous admission check for a caller `takeSlot` turned away: the refusal
   * to answer at once, without a promise or a throw, when the store answers synchronously (the
   * in-memory one, whose `false` means every slot is taken) and the queue has no room; else
   * `undefined` (the caller may queue, or a remote store must be asked). The refusal's stack
   * starts at the caller of `boundary` (see `refusalFrom`); `null` leaves it to the caller.
   */
  refuseNow(
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the caller's entry point, any function
    boundary: Function | null | undefined,
  ): BulkheadFullError | undefined {
    if (this.#redirect !== undefined) return this.#redirect.to.refuseNow(boundary);
    if (!this.#local || (this.#queue.size < this.maxQueue && this.maxWaitMs !== 0)) {
      return undefined;
    }
    return refusalFrom(() => new BulkheadFullError(this.maxConcurrent, this.maxQueue), boundary);
  }

  /**
   * @internal True when a fused policy may hold this bulkhead's slots: a fixed limit over the
   * in-memory store, whose answers are synchronous.
   */
  get fusable(): boolean {
    return this.#adaptive === undefined && this.#local;
  }

  /**
   * @internal Takes a slot now, for a caller that holds it by its ticket: the ticket, or `false`
   * when none is free (or the store cannot answer synchronously, or callers are queued).
   * `known` (the public `tryAcquire` alone): a remote store may decide on the count it last
   * knew (`tryAcquireKnown`).
   */
  takeSlot(known?: boolean): false | BulkheadTicket {
    if (this.#queue.size !== 0) {
      const redirect = this.#redirect;
      if (redirect === undefined) return false;
      const to = redirect.to;
      return this.#lend(to.takeSlot(known), to);
    }
    const store = this.#store;
    return known === true && store.tryAcquireKnown !== undefined
      ? store.tryAcquireKnown()
      : store.tryAcquire();
  }

  /**
   * @internal Takes a slot, waiting in the queue as `acquire` does: resolves with its ticket,
   * which the holder hands back to {@link Bulkhead.giveSlot}.
   */
  waitSlot(given?: AbortSignal, manual = false): Promise<BulkheadTicket> {
    const redirect = this.#redirect;
    if (redirect !== undefined) {
      const to = redirect.to;
      return to.waitSlot(given).then((ticket) => this.#grantedThrough(ticket, manual, to));
    }
    const signal = abortable(given);
    if (signal?.aborted) return Promise.reject(signal.reason);
    let answer: ReturnType<BulkheadStore['acquire']> = false;
    try {
      // Behind callers queued already, it queues too (`#granted` of no slot).
      if (this.#queue.size === 0) answer = this.#store.acquire();
    } catch (error) {
      return Promise.reject(error);
    }
    if (!isThenable(answer)) return Promise.resolve(this.#granted(answer, signal, manual));
    this.#asking++;
    const asked = Promise.resolve(answer);
    if (signal === undefined) {
      return asked.then(
        (ticket) => {
          this.#asking--;
          return this.#granted(ticket, signal, manual);
        },
        (error: unknown) => {
          this.#asking--;
          throw error;
        },
      );
    }
    // The caller leaves at its abort, and a slot granted after that goes back. The answer is
    // taken in the turn the store's answer arrives, so no turn falls between a slot granted and
    // the caller holding it, in which an abort would leave that slot to nobody.
    return new Promise<BulkheadTicket>((resolve, reject) => {
      const onAbort = (): void => {
        unlistenAbort(signal, onAbort);
        reject(signal.reason);
      };
      listenAbort(signal, onAbort);
      // Aborted inside the store's `acquire` (its event came before this listener).
      if (signal.aborted) onAbort();
      asked.then(
        (ticket) => {
          this.#asking--;
          unlistenAbort(signal, onAbort);
          if (!signal.aborted) resolve(this.#granted(ticket, signal, manual));
          else if (ticket !== false) this.giveSlot(ticket);
        },
        (error: unknown) => {
          this.#asking--;
          unlistenAbort(signal, onAbort);
          reject(error);
        },
      );
    });
  }

  /**
   * @internal Whether a call under this bulkhead that failed with `error` is a failure to its
   * adaptive limit (the limit's `recordOn` matches it); false: the call is no sample. (A bulkhead
   * a reload replaced has the limit it was built with: configuration gives no `recordOn`, so the
   * old limit and the new one both count every error.)
   */
  counts(error: unknown): boolean {
    return this.adaptiveLimit === undefined || this.adaptiveLimit.counts(error);
  }

  /**
   * The sample of a call that failed with `error`: a failure, or none when the adaptive limit
   * does not count the error. A `signal` already aborted keeps the rule it had (a failure here):
   * the error is then the abort's, not the dependency's.
   */
  #failure(error: unknown, signal: AbortSignal | undefined): false | undefined {
    return this.#counted(error, signal) ? false : undefined;
  }

  // Whether a call that failed with `error` is a sample (see `#failure`).
  #counted(error: unknown, signal: AbortSignal | undefined): boolean {
    return signal?.aborted === true || this.counts(error);
  }

  /**
   * @internal Gives back the slot `ticket` names: to the next queued caller, or to the store.
   * `outcome` says how the call holding it ended (true ok, false failed; undefined: it never ran),
   * for an adaptive limit.
   */
  giveSlot(ticket: BulkheadTicket, outcome?: boolean): void {
    if (this.#queue.size !== 0) {
      this.#handOn(ticket, outcome);
      return;
    }
    this.#adaptive?.ended(ticket, outcome);
    this.#release(ticket);
  }

  /**
   * A slot the store granted for the queue (`#wake`): to the head of the queue, or back if nobody
   * waits any more. The store granted it with the callers queued here in view, so it is not put
   * to the store's `handOff`, the rule for a slot freed by a call that ended here: given back,
   * it would be asked for again at once.
   */
  #serve(ticket: BulkheadTicket): void {
    const waiter = this.#redirect === undefined ? this.#queue.shift() : undefined;
    if (waiter === undefined) this.giveSlot(ticket);
    else this.#handTo(waiter, ticket);
  }

  /** Hands `ticket` to a queued caller. */
  #handTo(waiter: SlotWaiter<BulkheadTicket>, ticket: BulkheadTicket): void {
    // A slot handed to a caller of `acquire` is theirs to `release()` from now on.
    if (waiter.n !== 0) this.#manual.push(ticket);
    waiter.resolve(ticket);
  }

  /**
   * `giveSlot` with callers queued, or taken over: a slot granted through this one goes back to
   * the bulkhead that granted it (if that one was taken over since, it passes the slot on in
   * turn: one step for each time the caller's wait moved, two at most), one of this one's store
   * to the live bulkhead, whose count it is in.
   */
  #handOn(ticket: BulkheadTicket, outcome: boolean | undefined): void {
    const redirect = this.#redirect;
    if (redirect !== undefined) {
      const lent = this.#lent as Map<BulkheadTicket, Bulkhead>;
      const granter = lent.get(ticket);
      if (granter === undefined) {
        redirect.to.takeBack(ticket);
        return;
      }
      lent.delete(ticket);
      granter.giveSlot(ticket, outcome);
      return;
    }
    if (
      (this.#adaptive === undefined || this.#adaptive.ended(ticket, outcome)) &&
      this.#mayHandOff()
    ) {
      this.#handTo(this.#queue.shift()!, ticket);
      return;
    }
    this.#release(ticket);
  }

  /**
   * The store's say on handing a freed slot to a queued caller (`handOff`): yes without one, and
   * when it throws, as a store that cannot say is taken as one without it: the slot passes on
   * (the count the store keeps does not change), rather than failing the call that ended and
   * leaving the queue unserved.
   */
  #mayHandOff(): boolean {
    try {
      return this.#handOff?.() !== false;
    } catch {
      return true;
    }
  }

  /**
   * A slot `granter` granted a caller of this one (taken over); one taken by hand (`acquire`) is
   * released through this one.
   */
  #grantedThrough(ticket: BulkheadTicket, manual: boolean, granter: Bulkhead): BulkheadTicket {
    if (manual) this.#manual.push(ticket);
    return this.#lend(ticket, granter) as BulkheadTicket;
  }

  /** A slot `granter` granted through this one: it goes back to `granter.giveSlot`. */
  #lend(ticket: false | BulkheadTicket, granter: Bulkhead): false | BulkheadTicket {
    if (ticket !== false) (this.#lent as Map<BulkheadTicket, Bulkhead>).set(ticket, granter);
    return ticket;
  }

  #release(ticket: BulkheadTicket): void {
    try {
      // A remote store's failed release must not become an unhandled rejection.
      // Stryker disable next-line OptionalChaining: without it, a release answering nothing throws a TypeError the catch below swallows
      (this.#store.release(ticket) as Promise<void> | undefined)?.then(noop, noop);
    } catch {
      // The store keeps its own count; a failed release is its to recover.
    }
  }

  /** @internal Counts a call answered while its work still holds a slot (or stops counting it). */
  orphan(delta: number): void {
    if (this.#redirect !== undefined) this.#redirect.to.orphan(delta);
    else this.#orphaned += delta;
  }

  /**
   * @internal Takes the place of `old`, the in-memory bulkhead this one replaces on a reload: the
   * slots its calls hold count against this one's limit until they end, its orphaned calls are
   * counted here, its queued callers wait here, in their order, behind any waiting here already
   * (and ahead of any that come later), each keeping its own deadline (the `maxWait` it queued
   * under), its signal and when it was queued, and from now on `old` is a redirect to this one:
   * every call through it takes its slot here, and its `availableSlots`, `queued` and `orphaned`
   * are this one's. Its settings stay the ones it was built with. Nothing is added to `old`: its
   * fields change, its shape does not.
   *
   * A bulkhead taken over already (by an earlier reload) is a redirect: the live one answering
   * for it stands for it, on either side, so that its callers reach this one (`A -> B`, then `C`
   * taking over `A` or `B`: `A -> C`, `B -> C`); nothing happens when that is this one. Every
   * redirect points at the live bulkhead itself, one step however many reloads came in between,
   * and none holds the bulkheads between (see `Redirect`). (The queue every redirect shares must
   * never be moved: see `handedOver`.)
   */
  takeOver(old: Bulkhead): void {
    if (this.#redirect !== undefined) {
      this.#redirect.to.takeOver(old);
      return;
    }
    const from = old.#redirect === undefined ? old : old.#redirect.to;
    if (from === this) return;
    (this.#store as unknown as InMemoryBulkheadStore).hold(from.#store.inUse());
    this.#orphaned += from.#orphaned;
    from.#orphaned = 0;
    from.#lent = new Map();
    // The cells pointing at `from` point here now, and `from` joins the first of them.
    let heirs = from.#heirs;
    if (heirs === undefined) heirs = [{ to: this }];
    else for (const cell of heirs) cell.to = this;
    from.#heirs = undefined;
    from.#redirect = heirs[0];
    if (this.#heirs === undefined) this.#heirs = heirs;
    else this.#heirs.push(...heirs);
    from.#queue.transferTo(this.#queue, (waiter) => {
      // Granted here, the slot is lent through the bulkhead the caller queued in first: by hand
      // (`acquire()`), its `release()` gives it back. A caller moved before keeps that one.
      const moved = movedWaiters.get(waiter.resolve);
      const [origin, manual, resolve] = moved ?? [from, waiter.n !== 0, waiter.resolve];
      waiter.n = 0;
      const wrapped = (ticket: BulkheadTicket): void =>
        resolve(origin.#grantedThrough(ticket, manual, this));
      movedWaiters.set(wrapped, [origin, manual, resolve]);
      waiter.resolve = wrapped;
    });
    if (handedOver === undefined) {
      handedOver = new SlotQueue<BulkheadTicket>(systemClock, noop);
      handedOver.size = 1;
    }
    from.#queue = handedOver;
    this.#wake();
  }

  /**
   * @internal Gives back a slot of a bulkhead this one took over from (see `takeOver`), which its
   * store granted: to the store here, whose count it is in, and the queue is served if that made
   * room.
   */
  takeBack(ticket: BulkheadTicket): void {
    if (this.#redirect !== undefined) {
      this.#redirect.to.takeBack(ticket);
      return;
    }
    this.#release(ticket);
    this.#wake();
  }

  #run<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    signal: AbortSignal | undefined,
    ticket: BulkheadTicket,
    until: FollowedWork | undefined,
  ): Promise<T> {
    if (signal?.aborted) {
      this.giveSlot(ticket);
      return Promise.reject(signal.reason);
    }
    let work: Promise<T>;
    try {
      const result = fn(signal ?? NEVER_ABORTED);
      // Reading `then` may throw (a getter, a hostile Proxy): a rejection like any other.
      if (!isThenable(result)) {
        if (until === undefined && signal?.aborted) return this.#abortedInFn(ticket, signal);
        this.giveSlot(ticket, true);
        return Promise.resolve(result);
      }
      work = Promise.resolve(result);
    } catch (error) {
      if (until === undefined && signal?.aborted) return this.#abortedInFn(ticket, signal);
      this.giveSlot(ticket, this.#failure(error, signal));
      return Promise.reject(error);
    }
    if (until !== undefined) return this.#follow(work, ticket, until, signal);
    const live = abortable(signal);
    // Without a signal to answer early, the call follows its work; the promise returned is a new
    // one, so a rejection nobody handles is reported.
    if (live === undefined) {
      return work.then(
        (value) => {
          this.giveSlot(ticket, true);
          return value;
        },
        (error: unknown) => {
          this.giveSlot(ticket, this.#failure(error, signal));
          throw error;
        },
      );
    }
    return new Promise<T>((resolve, reject) => {
      let answered = 0;
      const onAbort = (): void => {
        // Once: an abort event dispatched again (by hand, or by a hostile signal) is the same caller.
        unlistenAbort(live, onAbort);
        answered = 1;
        this.orphan(1);
        reject(live.reason);
      };
      listenAbort(live, onAbort);
      // Aborted while `fn` started (its event came before this listener): answered now.
      if (live.aborted) onAbort();
      const settle = (ok: boolean, error?: unknown): void => {
        unlistenAbort(live, onAbort);
        if (answered === 0) {
          this.giveSlot(ticket, ok || this.#failure(error, live));
          return;
        }
        this.orphan(-1);
        // Answered here at the abort: called off by its caller (nothing, to an adaptive limit),
        // or by a deadline, cooperative or not (a failure).
        this.giveSlot(ticket, sampleBy(false, live));
      };
      work.then(
        (value) => {
          settle(true);
          resolve(value);
        },
        (error: unknown) => {
          settle(false, error);
          reject(error);
        },
      );
    });
  }

  /**
   * The caller's signal aborted while `fn` ran synchronously to its answer: the caller is
   * answered with the abort, as at any abort of `execute`, and the call is sampled as one
   * answered at it (called off, or a deadline's failure).
   */
  #abortedInFn(ticket: BulkheadTicket, signal: AbortSignal): Promise<never> {
    this.giveSlot(ticket, sampleBy(false, signal));
    return Promise.reject(signal.reason);
  }

  /**
   * Holds `work`'s slot until `until` has no call running (orphaned if `work` settled first). An
   * adaptive limit learns the call's outcome as `work` answered it, by the rule of a policy's
   * bulkhead stage (see `sampleBy` in `sample.ts`).
   */
  #follow<T>(
    work: Promise<T>,
    ticket: BulkheadTicket,
    until: FollowedWork,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const settle = (ok: boolean, error?: unknown): void => {
      // As the caller is answered: the signal's later fate is not this call's.
      const sample = sampleBy(ok, signal, ok || this.#counted(error, signal));
      if (until.running === 0) {
        this.giveSlot(ticket, sample);
        return;
      }
      this.orphan(1);
      until.drained = () => {
        until.drained = undefined;
        this.orphan(-1);
        this.giveSlot(ticket, sample);
      };
    };
    work.then(
      () => settle(true),
      (error: unknown) => settle(false, error),
    );
    return work;
  }

  /**
   * The store refused to decide for the queue (a shared store that cannot reach its backend and
   * fails closed): every queued caller is rejected with its error, as a caller asking the store
   * now would be, instead of waiting for a slot the store cannot grant.
   */
  #refuseQueued(error: unknown): void {
    for (let waiter; (waiter = this.#queue.shift());) waiter.reject(error);
  }

  /** Queues the caller (FIFO) when the queue has room, or rejects it. */
  #wait(signal: AbortSignal | undefined, manual: boolean): Promise<BulkheadTicket> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queue.size >= this.maxQueue || this.maxWaitMs === 0) {
      return Promise.reject(new BulkheadFullError(this.maxConcurrent, this.maxQueue));
    }
    return this.#queue.push(manual ? 1 : 0, this.maxWaitMs, signal);
  }

  /** The store's answer to a caller of `waitSlot`: its slot, or a place in the queue. */
  #granted(
    ticket: false | BulkheadTicket,
    signal: AbortSignal | undefined,
    manual: boolean,
  ): Promise<BulkheadTicket> | BulkheadTicket {
    if (ticket === false) {
      const queued = this.#wait(signal, manual);
      this.#refused();
      return queued;
    }
    // The caller gave up while a remote store was deciding: it must not keep the slot.
    if (signal?.aborted) {
      this.giveSlot(ticket);
      return Promise.reject(signal.reason);
    }
    // A slot taken by hand (`acquire`) is the caller's to `release()`.
    if (manual) this.#manual.push(ticket);
    return ticket;
  }
}

// `maxConcurrent` of a bulkhead under an adaptive limit: the limit as it is now.
function adaptiveMaxConcurrent(this: Bulkhead): number {
  return this.adaptiveLimit!.limit;
}

/**
 * @internal True for an {@link AdaptiveLimit}, known by its shape (an object with a `slots`
 * method): `instanceof` would bring the class into the bundle of every bulkhead, adaptive or not.
 * One of another copy of the package has that shape too: `limit` then refuses it by name (see
 * `ownLimits`).
 */
export function isAdaptiveLimit(value: unknown): value is AdaptiveLimit {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { slots?: unknown }).slots === 'function'
  );
}

// The `limit` option: an AdaptiveLimit, or undefined for a fixed limit (a number, read as
// `maxConcurrent`).
function limitOption(value: unknown, maxConcurrent: unknown): AdaptiveLimit | undefined {
  if (value === undefined) return undefined;
  const fixed = typeof value === 'number';
  if (!fixed && !isAdaptiveLimit(value)) {
    fail(TypeError, 'limit', 'an integer >= 1 or an AdaptiveLimit', value);
  }
  if (!fixed && !ownLimits.has(value)) {
    // One of another copy (see `ownLimits`).
    const must = 'an integer >= 1 or an AdaptiveLimit of this copy of bulwark';
    fail(TypeError, 'limit', must, value, `\`limit\` must be ${must}, got one of another copy`);
  }
  if (maxConcurrent !== undefined) {
    fail(TypeError, 'limit', 'unset when `maxConcurrent` is given (they are one setting)', value);
  }
  return fixed ? undefined : value;
}
