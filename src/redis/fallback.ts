import type { RedisLink } from './link.js';

/**
 * @internal How a Redis store decides a call while Redis cannot answer, as `onStoreError` says:
 * with an in-process store of its own (`'local'`), by letting the call through (`'fail-open'`),
 * or by refusing it with `StoreUnavailableError` (`'fail-closed'`). Every store operation that
 * can go without Redis decides here, so the three modes mean the same everywhere.
 */
export class StoreFallback<L> {
  readonly #link: RedisLink;
  #local: L | undefined = undefined;

  constructor(link: RedisLink) {
    this.#link = link;
  }

  /** The in-process store (`'local'` only, once configured). */
  get local(): L | undefined {
    return this.#local;
  }

  /** Makes the in-process store with `create`, when the mode is `'local'`. */
  configure(create: () => L): void {
    if (this.#link.mode === 'local') this.#local = create();
  }

  /**
   * The answer without Redis: `viaLocal(local)` with `'local'`, `open` with `'fail-open'`, a
   * rejection with the link's `StoreUnavailableError` with `'fail-closed'`.
   */
  decide<T>(viaLocal: (local: L) => T, open: T): T | Promise<never> {
    const local = this.#local;
    if (local !== undefined) return viaLocal(local);
    if (this.#link.mode === 'fail-open') return open;
    return Promise.reject(this.#link.unavailable());
  }

  /**
   * The synchronous answer while calls skip Redis (a store's `tryReserve`/`tryAcquire`): as
   * {@link StoreFallback.decide}, but `closed` instead of a rejection with `'fail-closed'`.
   */
  decideNow<T>(viaLocal: (local: L) => T, open: T, closed: T): T {
    const local = this.#local;
    if (local !== undefined) return viaLocal(local);
    return this.#link.mode === 'fail-open' ? open : closed;
  }
}
