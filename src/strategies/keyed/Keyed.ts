import type { Clock } from '../../internal/clock.js';
import { fail, type Duration } from '../../internal/duration.js';
import { setReadonly } from '../../internal/readonly.js';
import {
  clockOption,
  integerOption,
  optionsObject,
  positiveDuration,
  show,
  syncAnswer,
  syncFunctionOption,
} from '../../internal/validate.js';

/** Options of a {@link Keyed} holder. */
export interface KeyedOptions<P = unknown> {
  /**
   * Most instances kept: an integer >= 1. Past it, the least recently used instance at rest is
   * dropped; when none of the least recently used is at rest, the least recently used one that
   * is not in use (see {@link Keyed}) is dropped all the same, losing what it held. Only
   * instances in use are never dropped: while they fill the holder, it keeps more than `maxKeys`
   * (by about their number) and drops the surplus as they come out of use.
   * @defaultValue `1000`
   */
  readonly maxKeys?: number | undefined;
  /**
   * An instance at rest that no call used for this long is dropped (found and dropped on the
   * holder's next use; no timer). A finite duration > 0, as every duration but `maxWait`: for
   * instances that only `maxKeys` pushes out, give a long one (`'30d'`).
   * @defaultValue `'10m'`
   */
  readonly idleTimeout?: Duration | undefined;
  /** Source of time for `idleTimeout`. @defaultValue {@link systemClock} */
  readonly clock?: Clock | undefined;
  /**
   * Whether an instance is at rest, so that dropping it and making a new one later changes
   * nothing a caller could see. Circuit breakers, rate limiters and bulkheads are known: a
   * breaker while its circuit is CLOSED, or HALF_OPEN for `idleTimeout`, and nobody waits,
   * a limiter while its bucket is full and nobody waits, a bulkhead while it holds no slot and
   * nobody waits. Any other instance is at rest unless this says otherwise. It must answer at
   * once: an async function is refused, and an instance it answers a promise for (or throws for)
   * is not at rest. Only instances at rest go for `idleTimeout`, and they go first for `maxKeys`;
   * one that is not at rest still goes for `maxKeys` when it is the least recently used and not in
   * use (see {@link Keyed}).
   * @defaultValue the check of the instance's kind
   */
  readonly resting?: ((instance: P) => boolean) | undefined;
}

/**
 * The method by which a circuit breaker or rate limiter tells a holder whether it is at rest (a
 * bulkhead, at rest exactly when not in use, has only {@link IN_USE}). A namespaced name, which
 * no method of a user's own class has by accident, and a string (not a symbol), which keeps those
 * classes free of side effects for bundlers; an instance of another copy of the package has it
 * too.
 */
const AT_REST = 'bulwark.atRest';
/**
 * The method by which a circuit breaker, rate limiter or bulkhead tells a holder that it is in
 * use, and so never to be dropped: a call waits on it or holds a slot, or its circuit is ISOLATED.
 */
const IN_USE = 'bulwark.inUse';

/**
 * Whether an instance says it is in use by its own `'bulwark.inUse'()`: one whose answer throws
 * is.
 */
function instanceInUse(instance: unknown): boolean {
  try {
    const inUse = (instance as { [IN_USE]?: unknown } | null | undefined)?.[IN_USE];
    return typeof inUse === 'function' && inUse.call(instance) !== false;
  } catch {
    // A check that throws cannot vouch for the instance: keep it.
    return true;
  }
}

/** Every option key the constructor accepts. */
const KEYED_OPTIONS: readonly string[] = Object.freeze([
  'maxKeys',
  'idleTimeout',
  'clock',
  'resting',
]);

/** @internal The options a keyed stage takes besides its kind's own. */
export const KEYED_STAGE_OPTIONS: readonly string[] = Object.freeze([
  'key',
  'maxKeys',
  'idleTimeout',
]);

const DEFAULT_MAX_KEYS = 1000;
const DEFAULT_IDLE_MS = 600_000;
/** How many instances not at rest one insertion looks past when it must drop one. */
const SCAN = 32;

/** @internal One key's instance and what the holder knows of its use. */
export interface KeyedEntry<P> {
  readonly key: string;
  readonly value: P;
  /**
   * Clock time of the last use: `get`, the end of a call (a call that starts on an existing entry
   * only holds it), or a check that found it busy.
   */
  used: number;
  /** Calls of a policy running on this instance now (from admission until their outcome). */
  holds: number;
}

/**
 * An entry in the holder's order of use: a doubly linked list, so that marking one as used, or
 * dropping one, takes constant time, and walking from the least recently used meets no gaps. (A
 * Map's insertion order would do it by deleting and re-inserting, but each deletion leaves a gap
 * that every walk from the start crosses until the Map is rehashed: a burst of busy entries made
 * each insertion cross all of them.)
 */
interface Entry<P> extends KeyedEntry<P> {
  /** The entry used just before this one, and just after it (undefined at either end). */
  prev: Entry<P> | undefined;
  next: Entry<P> | undefined;
}

/**
 * One instance per key, made on first use by `factory`, with bounded memory: at most `maxKeys`
 * instances but those in use, and none at rest unused for `idleTimeout`.
 *
 * An instance that holds some state (a circuit OPEN, or HALF_OPEN for less than `idleTimeout`, a
 * bucket not yet refilled) is not at rest: `idleTimeout` never drops it, since dropping it would
 * forgive what it holds, and `maxKeys` drops it only when none of the least recently used
 * instances is at rest. An instance in use is never dropped: a call of a policy running on it (a
 * half-open probe, a slot, a queue wait), a call waiting on it, a bulkhead slot held, or a circuit
 * ISOLATED by hand. Instances in use are as many as the calls in flight (and the isolated
 * circuits), so a flood of new keys, each failing once, leaves at most `maxKeys` instances
 * besides them. A key that comes back after its instance was dropped gets a new one, as the
 * factory makes it (a closed circuit, a full bucket).
 *
 * No timer is used: idle instances are found on the holder's next use (`get`, `size`, `keys`),
 * from the least recently used, in amortised constant time per use.
 *
 * @typeParam P - the instances (`CircuitBreaker`, `RateLimiter`, `Bulkhead`, or anything)
 * @example
 * ```ts
 * const breakers = new Keyed((host) => new CircuitBreaker({ failureThreshold: 5 }), {
 *   maxKeys: 500,
 *   idleTimeout: '15m',
 * });
 * const body = await breakers.get(new URL(url).host).execute(() => fetch(url));
 * ```
 */
export class Keyed<P> {
  /** Most instances kept, but those in use. */
  declare readonly maxKeys: number;
  /** Milliseconds after which an unused instance at rest is dropped. */
  declare readonly idleTimeoutMs: number;
  readonly #factory: (key: string) => P;
  readonly #clock: Clock;
  readonly #resting: ((instance: P) => boolean) | undefined;
  /** The entries by key. */
  readonly #entries = new Map<string, Entry<P>>();
  /** The least and the most recently used entry: the ends of the order of use. */
  #first: Entry<P> | undefined = undefined;
  #last: Entry<P> | undefined = undefined;
  /** No entry can be idle before this clock time: until then, a use skips the sweep. */
  // Stryker disable next-line UnaryOperator: the first entry sets it, and a sweep of none finds none
  #nextSweep = -Infinity;
  #dropped: ReadonlyArray<(entry: KeyedEntry<P>) => void> = [];
  /** Instances not at rest dropped to keep within `maxKeys`. */
  #droppedBusy = 0;
  /**
   * A sweep or a shrink is walking the order of use: asking instances whether they are at rest
   * runs their code (a circuit's state read moves it to HALF_OPEN and tells its listeners), which
   * may use this holder again. Such a use then neither sweeps nor shrinks.
   */
  #walking = false;
  /**
   * Counts the changes to the order of use made by the holder's methods (`get`, `delete`, the end
   * of a call), not by a walk: a walk that finds it changed across an instance's answer starts
   * again from the least recently used, as the entries it was about to visit may have moved or
   * gone.
   */
  #changes = 0;

  /**
   * @param factory - makes the instance of a key: `(key) => new CircuitBreaker(options)`
   * @throws TypeError when `factory` is not a function, or for an unknown or ill-typed option
   * @throws RangeError when `maxKeys` is not an integer >= 1 or `idleTimeout` is not a finite
   *   duration > 0
   */
  constructor(factory: (key: string) => P, options?: KeyedOptions<P>) {
    if (typeof factory !== 'function') fail(TypeError, 'factory', 'a function', factory);
    const o = optionsObject(options, 'Keyed', KEYED_OPTIONS);
    setReadonly<Keyed<P>>(this, readKeyedOptions(o));
    this.#clock = clockOption(o.clock);
    this.#resting = syncFunctionOption(o.resting, 'resting', 'a boolean') as
      ((instance: P) => boolean) | undefined;
    this.#factory = factory;
  }

  /**
   * The instance of `key`, made by the factory if there is none (a key whose instance was dropped
   * gets a new one). Marks it as the most recently used.
   * @throws TypeError when `key` is not a string; what the factory throws
   */
  get(key: string): P {
    return this.#take(key, this.#clock.now(), true).value;
  }

  /**
   * Drops the instance of `key`, whatever it holds (calls running on it finish on it). The key's
   * next use gets a new instance.
   * @returns whether there was one
   */
  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#changes++;
    this.#drop(entry);
    return true;
  }

  /** Instances held now (idle ones found first are dropped). */
  get size(): number {
    this.#sweep(this.#clock.now());
    return this.#entries.size;
  }

  /** The keys held now, least recently used first (idle ones found first are dropped). */
  keys(): string[] {
    this.#sweep(this.#clock.now());
    return Array.from(this.keyedEntries(), (entry) => entry.key);
  }

  /** @internal The entries, least recently used first, without touching any. */
  *keyedEntries(): IterableIterator<KeyedEntry<P>> {
    for (let entry = this.#first; entry !== undefined;) {
      // Read before the entry goes out: whoever walks may drop or move it.
      const next = entry.next;
      yield entry;
      entry = next;
    }
  }

  /** @internal Whether an entry may be dropped now. */
  idleEntries(entry: KeyedEntry<P>): boolean {
    return entry.holds === 0 && this.restingTest(entry.value);
  }

  /**
   * @internal Whether an entry is in use, and so never dropped: a call of a policy holds it, or
   * its instance says so by its own `'bulwark.inUse'()` method (as circuit breakers, rate limiters
   * and bulkheads do; whatever the `resting` option). An instance whose answer throws is kept.
   */
  entryInUse(entry: KeyedEntry<P>): boolean {
    return entry.holds !== 0 || instanceInUse(entry.value);
  }

  /**
   * @internal Instances dropped while not at rest (an OPEN circuit, a bucket not yet refilled)
   * to keep within `maxKeys`, since the holder was made.
   */
  get droppedBusy(): number {
    return this.#droppedBusy;
  }

  /**
   * @internal Whether an instance is at rest: the `resting` option, or the instance's own
   * `'bulwark.atRest'()` method, which circuit breakers and rate limiters have, or, for one that
   * has only `'bulwark.inUse'()` (a bulkhead), that it is not in use: so the holder knows them, of
   * any copy of the package, without carrying their code, and no method of a user's own class
   * answers in their place.
   */
  restingTest(instance: P): boolean {
    try {
      if (this.#resting !== undefined) {
        const answer = this.#resting(instance);
        // A promise (its rejection handled) throws, and keeps the instance as a throw does.
        return typeof answer == 'boolean'
          ? answer
          : syncAnswer(answer, 'resting', 'a boolean') !== false;
      }
      const atRest = (instance as { [AT_REST]?: unknown } | null | undefined)?.[AT_REST];
      if (typeof atRest === 'function') return atRest.call(instance, this.idleTimeoutMs) !== false;
    } catch {
      // A check that throws cannot vouch for the instance: keep it.
      return false;
    }
    return !instanceInUse(instance);
  }

  /**
   * Whether `restingTest` took an instance not in use as at rest (see there): then an instance
   * found not at rest is in use, with no second question.
   */
  #restsWhenUnused(instance: P): boolean {
    if (this.#resting !== undefined) return false;
    try {
      return (
        typeof (instance as { [AT_REST]?: unknown } | null | undefined)?.[AT_REST] !== 'function'
      );
    } catch {
      return false;
    }
  }

  /** @internal The holder's clock. */
  get clock(): Clock {
    return this.#clock;
  }

  /**
   * @internal The entry of `key` for a call that starts on it at `now` (the holder's clock):
   * held (never dropped) until {@link Keyed.releaseKey}. A held entry cannot be dropped, so its use
   * is recorded once, when the call ends: an existing entry is neither moved nor stamped here
   * (a sweep or a full holder that meets it moves it to the recent end as in use, just before
   * the key a full holder makes).
   */
  holdKey(key: string, now: number): KeyedEntry<P> {
    const entry = this.#take(key, now, false);
    entry.holds++;
    return entry;
  }

  /**
   * @internal The call that {@link Keyed.holdKey} counted has its outcome: the entry is the most
   * recently used (unless it was deleted meanwhile), so that the least recently used stays first
   * and idleness counts from the end of its last call.
   */
  releaseKey(entry: KeyedEntry<P>): void {
    entry.holds--;
    const now = this.#clock.now();
    if (this.#entries.get(entry.key) === entry) {
      this.#changes++;
      this.#keep(entry as Entry<P>, now);
    } else entry.used = now;
  }

  /** @internal Calls `listener` with each entry dropped from now on; returns the unsubscribe. */
  onDrop(listener: (entry: KeyedEntry<P>) => void): () => void {
    this.#dropped = [...this.#dropped, listener];
    return () => {
      this.#dropped = this.#dropped.filter((l) => l !== listener);
    };
  }

  /** The entry of `key`, made if there is none; an existing one marked as used at `now` if `use`. */
  #take(key: string, now: number, use: boolean): Entry<P> {
    if (typeof key !== 'string') {
      throw new TypeError(`\`key\` must be a string, got ${show(key)}`);
    }
    // A sweep before `#nextSweep` finds the least recently used entry not due and stops: the
    // bounds below only spare that work.
    // Stryker disable next-line ConditionalExpression: see above
    if (now >= this.#nextSweep) this.#sweep(now);
    const entries = this.#entries;
    let entry = entries.get(key);
    if (entry !== undefined) {
      if (use) {
        this.#changes++;
        this.#keep(entry, now);
      }
      return entry;
    }
    const value = this.#factory(key);
    entry = { key, value, used: now, holds: 0, prev: undefined, next: undefined };
    this.#changes++;
    // Stryker disable next-line ArithmeticOperator: an earlier sweep finds nothing (see above)
    if (entries.size === 0) this.#nextSweep = now + this.idleTimeoutMs;
    entries.set(key, entry);
    this.#append(entry);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: `#shrink` drops no entry unless over
    if (entries.size > this.maxKeys) this.#shrink(entry, now);
    return entry;
  }

  /**
   * Drops the idle instances, least recently used first, up to the first one used recently. Not
   * while a walk is under way (a use of the holder by an instance it asked): the next use sweeps.
   */
  #sweep(now: number): void {
    if (this.#walking) return;
    this.#walking = true;
    try {
      this.#sweepWalk(now);
    } finally {
      this.#walking = false;
    }
  }

  #sweepWalk(now: number): void {
    const idleMs = this.idleTimeoutMs;
    // Only the least recently used entry can be due first: the next sweep waits for it. A busy
    // entry is moved to the recent end as in use, so meeting it again ends the sweep.
    this.#nextSweep = Infinity;
    for (let entry = this.#first; entry !== undefined;) {
      if (now - entry.used < idleMs) {
        // Stryker disable next-line ArithmeticOperator: an earlier sweep finds nothing (see `#take`)
        this.#nextSweep = entry.used + idleMs;
        return;
      }
      const changes = this.#changes;
      const idle = this.idleEntries(entry);
      if (this.#changes !== changes) {
        // The instance used the holder while it answered: the entries may have moved or gone.
        // Its answer stands if it is still there and due (a use of it made it recent), and the
        // walk starts again from the least recently used: one entry due fewer each time, as
        // those made or used meanwhile are not due.
        if (this.#entries.get(entry.key) === entry && now - entry.used >= idleMs) {
          if (idle) this.#drop(entry);
          else this.#keep(entry, now);
        }
        entry = this.#first;
        continue;
      }
      const next = entry.next;
      if (idle) this.#drop(entry);
      else this.#keep(entry, now);
      entry = next;
    }
  }

  /**
   * Drops instances, least recently used first, until at most `maxKeys` are left: those at rest
   * among the least recently used, looking past at most {@link SCAN} that are not; short of them,
   * those of the SCAN that are not in use, least recently used first. Those looked past in use
   * are moved to the recent end, as used now, yet behind `fresh`, the instance just made for a
   * caller, which stays the most recently used; those not in use keep their place, so the least
   * recently used of them goes first, each in its turn. When all SCAN are in use, the holder
   * stays over `maxKeys` for now and the next insertions try again (and drop the surplus). An
   * instance that uses the holder while it answers (see `#walking`) sends the walk back to the
   * least recently used, from what is left of the SCAN; the keys it made go on a later insertion.
   *
   * Amortised constant time per insertion: each one looks past at most SCAN instances not at
   * rest, however many there are (a burst of calls on new keys holds them all), and an instance
   * it drops was paid for by its own insertion.
   */
  #shrink(fresh: Entry<P>, now: number): void {
    if (this.#walking) return;
    this.#walking = true;
    try {
      this.#shrinkWalk(fresh, now);
    } finally {
      this.#walking = false;
    }
  }

  #shrinkWalk(fresh: Entry<P>, now: number): void {
    let budget = SCAN;
    // Each pass walks from the least recently used; an instance that uses the holder while it
    // answers (the entries may have moved or gone) ends it, and the next pass, with what is left
    // of the budget, starts again.
    walk: while (budget !== 0 && this.#entries.get(fresh.key) === fresh) {
      let excess = this.#entries.size - this.maxKeys;
      // `fresh` comes after every entry it may look at, and those moved go just before it: the
      // walk ends at the latest with the one before it now.
      const end = fresh.prev;
      if (excess <= 0 || end === undefined) return;
      // Instances looked past that are not in use: left in place, so they are the first ones.
      let spare = 0;
      for (let entry = this.#first as Entry<P>, done = false; !done && budget !== 0;) {
        done = entry === end;
        const changes = this.#changes;
        const idle = this.idleEntries(entry);
        let inUse = false;
        if (!idle) {
          budget--;
          inUse = this.#restsWhenUnused(entry.value) || this.entryInUse(entry);
        }
        if (this.#changes !== changes) {
          // Every pass costs some of the budget: one that asked an instance at rest too.
          if (idle) budget--;
          continue walk;
        }
        const next = entry.next as Entry<P>;
        if (idle) {
          this.#drop(entry);
          if (--excess === 0) return;
        } else if (inUse) this.#keepBefore(entry, fresh, now);
        else spare++;
        entry = next;
      }
      for (let entry = this.#first as Entry<P>; spare !== 0 && excess !== 0; spare--, excess--) {
        const next = entry.next as Entry<P>;
        this.#droppedBusy++;
        this.#drop(entry);
        entry = next;
      }
      return;
    }
  }

  /**
   * Makes `entry` the most recently used, used at `now`: an entry in use, or one met busy while
   * looking for one to drop.
   */
  #keep(entry: Entry<P>, now: number): void {
    if (entry !== this.#last) {
      this.#unlink(entry);
      this.#append(entry);
    }
    entry.used = now;
  }

  /** Puts `entry`, used at `now`, just before `fresh`, the most recently used. */
  #keepBefore(entry: Entry<P>, fresh: Entry<P>, now: number): void {
    entry.used = now;
    if (entry.next === fresh) return;
    this.#unlink(entry);
    const prev = fresh.prev as Entry<P>;
    entry.prev = prev;
    entry.next = fresh;
    prev.next = entry;
    fresh.prev = entry;
  }

  #drop(entry: Entry<P>): void {
    this.#entries.delete(entry.key);
    this.#unlink(entry);
    for (const listener of this.#dropped) listener(entry);
  }

  /** Puts `entry` (in no order now) at the most recently used end. */
  #append(entry: Entry<P>): void {
    const last = this.#last;
    entry.prev = last;
    entry.next = undefined;
    if (last === undefined) this.#first = entry;
    else last.next = entry;
    this.#last = entry;
  }

  /** Takes `entry` out of the order of use. */
  #unlink(entry: Entry<P>): void {
    const { prev, next } = entry;
    if (prev === undefined) this.#first = next;
    else prev.next = next;
    if (next === undefined) this.#last = prev;
    else next.prev = prev;
    entry.prev = entry.next = undefined;
  }
}

/** @internal `maxKeys` and `idleTimeout`, checked. */
export function readKeyedOptions(o: Record<string, unknown>): {
  maxKeys: number;
  idleTimeoutMs: number;
} {
  const maxKeys = integerOption(o.maxKeys, 'maxKeys', 1, DEFAULT_MAX_KEYS);
  // Finite, as every duration but `maxWait`: `Infinity` is refused by name.
  const idleTimeoutMs = positiveDuration(o.idleTimeout, 'idleTimeout', DEFAULT_IDLE_MS);
  return { maxKeys, idleTimeoutMs };
}
