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
