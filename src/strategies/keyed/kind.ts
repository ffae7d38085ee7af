import { fail } from '../../internal/duration.js';
import { syncFunctionOption } from '../../internal/validate.js';
import type { CheckedConstructor, StageDescriptor } from '../descriptor.js';
import { Keyed, KEYED_STAGE_OPTIONS, readKeyedOptions } from './Keyed.js';
import { KeyedStage, keyedState, type KeyOf } from './stage.js';

/**
 * @internal The descriptor and holder of a keyed stage of `inner`'s kind: one primitive per key,
 * each made from `options` less `key`, `maxKeys` and `idleTimeout`. The options are checked at
 * once (a first primitive is made from them, and kept for `describe`). A `store` must give per-key
 * views (`forKey(key)`, as the Redis stores do): a store serves one primitive, and each key gets
 * its own view of it.
 */
export function keyedStage<P extends object>(
  inner: StageDescriptor<P>,
  options: Record<string, unknown>,
): { descriptor: StageDescriptor<Keyed<P>>; primitive: Keyed<P> } {
  const keyOf = syncFunctionOption(options.key, 'key', 'a string') as KeyOf;
  const { maxKeys, idleTimeoutMs } = readKeyedOptions(options);
  const store = options.store as { forKey?: unknown } | undefined;
  if (store !== undefined && (store === null || typeof store.forKey !== 'function')) {
    fail(
      TypeError,
      'store',
      `a store with per-key views (\`forKey(key)\`) or left out with \`key\` (a store serves one ${inner.label}, and each key gets its own)`,
      options.store,
    );
  }
  inner.refuseKeyed?.(options);
  const own: Record<string, unknown> = {};
  for (const option of Object.keys(options)) {
    if (!KEYED_STAGE_OPTIONS.includes(option) && option !== 'store') own[option] = options[option];
  }
  const Primitive = inner.Primitive as CheckedConstructor<P>;
  const make = (key: string): P =>
    new Primitive(
      store === undefined
        ? own
        : { ...own, store: (store.forKey as (key: string) => unknown).call(store, key) },
    );
  // Made now, so that bad options fail at construction; kept for `describe`. Without the store:
  // a view of it would be configured (and, for Redis, asked) for no key at all.
  const template = new Primitive(own);
  // Each primitive says itself whether it is at rest.
  const keyed = new Keyed<P>(make, {
    maxKeys,
    idleTimeout: idleTimeoutMs,
    clock: own.clock as never,
  });
  const describe = (): string =>
    `per key (at most ${maxKeys} key${maxKeys === 1 ? '' : 's'}, idle ${idleTimeoutMs} ms): ${inner.describe(template)}`;
  const descriptor: StageDescriptor<Keyed<P>> = {
    kind: inner.kind,
    label: inner.label,
    Primitive: Keyed,
    step: (holder, env, name) => new KeyedStage(inner, holder, keyOf, env, name, describe),
    describe,
    state: (holder) => keyedState(inner, holder),
  };
  return { descriptor, primitive: keyed };
}
