import type { Clock } from '../index.js';
import { storeKeyName, type StoreKind } from './keys.js';
import { RedisLink } from './link.js';
import { resolveStoreOptions, viewOptions, type ResolvedStoreOptions } from './options.js';

/**
 * @internal What every Redis store is built on: its checked options, its main Redis key, its
 * line to Redis, and how it decides a call while Redis cannot answer, as `onStoreError` says:
 * with an in-process store of its own (`'local'`, type `L`), by letting the call through
 * (`'fail-open'`), or by refusing it with `StoreUnavailableError` (`'fail-closed'`). Every store
 * operation that can go without Redis decides here, so the three modes mean the same everywhere.
 */
export class StoreCore<L> {
  /** The common options, checked; `raw` holds the options as given (for a store's own ones). */
  readonly options: ResolvedStoreOptions;
  /** The store's main Redis key (see {@link storeKeyName}). */
  readonly redisKey: string;
  readonly link: RedisLink;
  readonly #store: string;
  #local: L | undefined = undefined;

  /**
   * Checks `options` (or takes a per-key view's, already checked) for the store named `store`,
   * whose keys are of `kind`, and the unknown keys against `extraKeys` too.
   * @throws TypeError for a missing `client` or `key`, an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options: unknown, store: string, kind: StoreKind, extraKeys?: readonly string[]) {
    const { common, member } = resolveStoreOptions(options, store, extraKeys);
    this.options = common;
    this.redisKey = storeKeyName(common.prefix, kind, common.key, member);
    this.link = new RedisLink(common, this.redisKey);
    this.#store = store;
  }

  /** The options argument of the per-key view of `key` (a store's `forKey`). */
  view<O>(key: string): O {
    return viewOptions(this.options, key);
  }

  /**
   * Uses the primitive's clock, once (a store serves one `primitive`), and with `'local'` makes
   * the in-process store, a `Local` configured with `share(instances)`: the primitive's settings,
   * its limits divided among the `instances` that share the key.
   * @throws Error when the store already serves a `primitive`
   */
  configure<C>(
    clock: Clock,
    primitive: string,
    Local: new () => L & { configure(config: C): void },
    share: (instances: number) => C,
  ): void {
    this.link.bind(clock, this.#store, primitive);
    if (this.link.mode !== 'local') return;
    const local = new Local();
    local.configure(share(this.options.instances));
    this.#local = local;
  }

  /** The in-process store (`'local'` only, once configured). */
  get local(): L | undefined {
    return this.#local;
  }

  /** The in-process store while calls skip Redis (`'local'` only), else `undefined`. */
  get localWhileAway(): L | undefined {
    const local = this.#local;
    return local !== undefined && this.link.bypassing ? local : undefined;
  }

  /**
   * The answer without Redis: `viaLocal(local)` with `'local'`, `open` with `'fail-open'`, a
   * rejection with the link's `StoreUnavailableError` with `'fail-closed'`.
   */
  decide<T>(viaLocal: (local: L) => T, open: T): T | Promise<never> {
    const local = this.#local;
    if (local !== undefined) return viaLocal(local);
    if (this.link.mode === 'fail-open') return open;
    return Promise.reject(this.link.unavailable());
  }

  /**
   * The synchronous answer while calls skip Redis (a store's `tryReserve`/`tryAcquire`): as
   * {@link StoreCore.decide}, but `closed` instead of a rejection with `'fail-closed'`.
   */
  decideNow<T>(viaLocal: (local: L) => T, open: T, closed: T): T {
    const local = this.#local;
    if (local !== undefined) return viaLocal(local);
    return this.link.mode === 'fail-open' ? open : closed;
  }
}

/**
 * What every Redis store has: its Redis key, its health and its per-key views (and, inside, its
 * `StoreCore`). `L` is the in-process store that decides with `onStoreError: 'local'`; `V` is the
 * store class whose instances `forKey` returns (the package's own, also for a subclass).
 */
export abstract class RedisStore<L, V> {
  /**
   * The store's main Redis key: `<prefix><kind>:{<key>}`, or `<prefix><kind>:<key>:{<view key>}`
   * for a per-key view (`forKey`), where `<kind>` is `rl` (rate limiter), `cb` (circuit
   * breaker), `bh` (bulkhead) or `rb` (retry budget).
   */
  readonly redisKey: string;
  readonly #core: StoreCore<L>;

  /** @internal See {@link StoreCore}'s constructor. */
  protected constructor(
    options: unknown,
    store: string,
    kind: StoreKind,
    extraKeys?: readonly string[],
  ) {
    this.#core = new StoreCore(options, store, kind, extraKeys);
    this.redisKey = this.#core.redisKey;
  }

  /** @internal The store's core, for the store classes (an accessor: no field to print). */
  protected get core(): StoreCore<L> {
    return this.#core;
  }

  /**
   * False from a failed call of this store until one of its calls reaches Redis again, and while
   * calls skip Redis after a failure of any store on the same client. While false, the store's
   * calls decide as `onStoreError` says, but for one call (the probe) after each back-off. On a
   * cluster client, a store whose node is down stays false, and keeps deciding without Redis,
   * when others reach their nodes.
   */
  get redisAvailable(): boolean {
    return this.core.link.up;
  }

  /**
   * A per-key view of this store: a new, unconfigured store of the same bulwark store class (a
   * subclass's own members are not on it) with this store's
   * options (its `client`, `prefix`, `storeTimeout`, `onStoreError`, `instances`, and its own
   * options such as `leaseTtl`) whose state belongs to `key` alone, for one primitive per user,
   * tenant or host. Views share the client and what it learns of the server's health; each holds
   * only its own settings and, with `'local'`, its own fallback. Views with the same `key` (in
   * any process) share one state; each call returns a new view, to give to one primitive. A
   * view's `forKey` gives the view of another key of the same store.
   *
   * @throws TypeError when `key` is not a string (`''` is a key of its own)
   * @example
   * ```ts
   * const users = new RedisRateLimiterStore({ client, key: 'api' });
   * const limiterOf = (user: string) =>
   *   new RateLimiter({ maxTokens: 20, refillRate: 5, store: users.forKey(user) });
   * ```
   */
  forKey(key: string): V {
    // The view is made by the package's own store class, not by a subclass of it: a subclass's
    // constructor takes options of its own (`super({ client, key: ... })`), and would turn the
    // view's options into a key of its making, merging every key's view into one state.
    let own = this.constructor as { prototype: object } & (new (options: unknown) => V);
    while (Object.getPrototypeOf(own.prototype) !== RedisStore.prototype) {
      own = Object.getPrototypeOf(own) as typeof own;
    }
    return new own(this.core.view(key));
  }
}
