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
    let shown: object;
    try {
      shown = fields(this);
    } catch {
      // An object the constructor did not make (a test double on the prototype), or a store that
      // throws: logging it never throws, and shows the class alone.
      shown = {};
    }
    return Object.assign(new View(), shown);
  };
}

/**
 * @internal Gives every instance of a class its inspect `view`: a method of the class's
 * prototype, set once, by the first instance made (so no own property per instance, and no
 * class member under a computed key, which would keep the class in bundles that never use it).
 * A subclass's own view, if it has one, still wins.
 */
export function inspectableClass(prototype: object, view: (this: never) => object): void {
  const holder = prototype as { [INSPECT]?: unknown };
  if (holder[INSPECT] !== undefined) return;
  try {
    holder[INSPECT] = function (this: object): object {
      const shown = (view as (this: object) => object).call(this);
      // An instance of a subclass of the user's is shown under that class's name.
      try {
        const own: unknown =
          Object.getPrototypeOf(this) === prototype
            ? ''
            : (this.constructor as { name?: unknown }).name;
        if (typeof own == 'string' && own)
          Object.setPrototypeOf(shown, viewClass(own).prototype as object);
      } catch {
        // A constructor that cannot be read: the class's own name.
      }
      return shown;
    };
  } catch {
    // A frozen class (SES `harden`): its instances get Node's own view.
  }
}
