// Node's `util.inspect` (and `console.log`) views of the library's objects, made in one place.

/**
 * @internal Node's key for a custom `util.inspect` view (a global symbol: no import of
 * `node:util`, which a browser lacks). Node formats the object the method returns, at the depth
 * it was asked for.
 */
export const INSPECT = /* @__PURE__ */ Symbol.for('nodejs.util.inspect.custom');

/**
 * @internal A class that Node prints as `name` (`Policy { ... }`): it takes the computed key it
 * is defined under as its name, which a minifier leaves alone.
 */
export function viewClass(name: string): new () => object {
  return { [name]: class {} }[name] as new () => object;
}

/**
 * @internal An inspect view method: it shows what `fields` gives for the object, printed under
 * `name` (`Policy { name, stages }`).
 */
export function inspectView<T>(name: string, fields: (self: T) => object): (this: T) => object {
  const View = viewClass(name);
  return function (this: T): object {
    return Object.assign(new View(), fields(this));
  };
}

/**
 * @internal Gives every instance of a class its inspect `view`: a method of the class's
 * prototype, set once, by the first instance made (so no own property per instance, and no
 * class member under a computed key, which would keep the class in bundles that never use it).
 * A subclass's own view, if it has one, still wins.
 */
export function inspectableClass(prototype: object, view: (this: never) => object): void {
  (prototype as { [INSPECT]?: unknown })[INSPECT] ??= view;
}
