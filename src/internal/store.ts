import { fail } from './duration.js';
import { refuse } from './snapshot.js';
import { show } from '../optionErrors.js';

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

// What only the in-memory stores can do: give a snapshot (`toJSON()`) and take one back
// (`initialState`). A shared store keeps its state itself, so a primitive over one refuses both.
const WHY = 'needs the in-memory store: a shared store keeps its state itself';

/**
 * @internal Throws unless `store` is the in-memory store `Memory`, for a snapshot given as
 * `initialState` (an error naming `initialState`).
 */
export function storeTakesSnapshot<M extends object>(
  store: object,
  Memory: new () => M,
  initialState: unknown,
): asserts store is M {
  if (!(store instanceof Memory)) {
    refuse(
      `${WHY}, got ${show(initialState)}`,
      'no `initialState` with a `store` of its own',
      initialState,
    );
  }
}

/**
 * @internal Throws unless `store` is the in-memory store `Memory`, for `toJSON()` of `label`
 * (`'CircuitBreaker'`).
 */
export function storeGivesSnapshot<M extends object>(
  store: object,
  Memory: new () => M,
  label: string,
): asserts store is M {
  if (!(store instanceof Memory)) throw new TypeError(`${label}.toJSON() ${WHY}`);
}
