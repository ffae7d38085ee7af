import { fail } from './duration.js';

/**
 * The `store` option of a primitive: `undefined`, or an object with every method in `methods`
 * (and, when present, each of `optional` a function).
 * @throws OptionTypeError naming the store interface and its methods otherwise
 */
export function storeOption<S>(
  value: unknown,
  type: string,
  methods: readonly string[],
  optional: readonly string[] = [],
): S | undefined {
  const store = value as Record<string, unknown> | null | undefined;
  if (
    store !== undefined &&
    (store === null ||
      typeof store !== 'object' ||
      methods.some((m) => typeof store[m] !== 'function') ||
      optional.some((m) => store[m] !== undefined && typeof store[m] !== 'function'))
  ) {
    fail(TypeError, 'store', `a ${type} with ${methods.join('(), ')}()`, value);
  }
  return store as S | undefined;
}
