// `WeakRef` and `FinalizationRegistry` where the host has them. Some have neither: Cloudflare
// Workers without the `enable_weak_ref` compatibility flag (on by default from compatibility
// date 2025-05-05). There a target is held strongly, and nothing is told of collections: what
// would go when its object is collected goes when it is released or settles instead.

/** What bulwark reads of a `WeakRef`. */
export interface Ref<T> {
  deref(): T | undefined;
}

/** A `WeakRef` to `target`, or where the host has none, a reference holding it strongly. */
export function weakRef<T extends object>(target: T): Ref<T> {
  return typeof WeakRef === 'function' ? new WeakRef(target) : { deref: () => target };
}

/** A `FinalizationRegistry` running `cleanup`, or `null` where the host has none. */
export function finalizers<H>(cleanup: (held: H) => void): FinalizationRegistry<H> | null {
  return typeof FinalizationRegistry === 'function' ? new FinalizationRegistry(cleanup) : null;
}
