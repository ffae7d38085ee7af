// How a primitive exposes what a caller may read but not change. The class declares each member
// `declare readonly name: T` (no field of its own, so nothing is defined before these run) with
// its doc comment, and its constructor defines them all at once here. None has a setter or is
// writable: an assignment from JavaScript throws a TypeError in strict mode, is ignored
// otherwise, and never changes the primitive. A read is an ordinary property load. Each stays
// configurable, so a subclass that declares a field of the same name (as class fields are
// defined, not assigned) still constructs.

/**
 * @internal Makes each key of `values` an own read-only data property of `target` (its settings,
 * fixed at construction): enumerable, as class fields are (listed by `console.log`,
 * `Object.keys`, a spread and `JSON.stringify`), not writable, configurable (a subclass's own
 * field of that name redefines it).
 */
export function setReadonly<T>(target: T, values: Partial<T>): void {
  for (const key in values) {
    Object.defineProperty(target, key, {
      value: values[key],
      enumerable: true,
      configurable: true,
    });
  }
}
