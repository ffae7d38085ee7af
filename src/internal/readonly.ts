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

/**
 * @internal Makes each key of `getters` an own read-only accessor of `target`: a live value (a
 * counter) that its function reads from the primitive's private state at each read, with the
 * primitive as `this`. Not enumerable, as a class getter is not. Each getter is one function for
 * every instance of the class (a static private method), never a closure made per instance: an
 * accessor of its own would give every instance a hidden class of its own, and the code the
 * instances share would go polymorphic over them.
 */
export function setLive<T>(
  target: T,
  getters: { readonly [K in keyof T]?: (this: T) => T[K] },
): void {
  for (const key in getters) {
    Object.defineProperty(target, key, { get: getters[key] as () => unknown, configurable: true });
  }
}
