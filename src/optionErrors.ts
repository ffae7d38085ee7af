// The errors of an invalid option, as data. A module of its own, with no imports, so that every
// validation helper can throw them without pulling in anything else.

// A brand in the global symbol registry (as in errors.ts) lets the guards recognise errors made by
// another copy of the package. Its value is the error's name.
const BRAND: unique symbol = Symbol.for('bulwark.OptionError') as never;

/**
 * @internal A text as a message shows it: as it is up to `max` characters; else its first `max`
 * and how long it is (`xxxx… (102400 characters)`), so that a huge value makes no huge message.
 * `quote` writes the part shown as a JSON string (`"xxxx"… (102400 characters)`).
 */
export function clip(text: string, max = 100, quote = false): string {
  if (text.length <= max) return quote ? JSON.stringify(text) : text;
  // Not cut between the two halves of a surrogate pair.
  const shown = text.slice(0, max - +/[\uD800-\uDBFF]/.test(text[max - 1]!));
  return `${quote ? JSON.stringify(shown) : shown}… (${text.length} characters)`;
}

/**
 * Shows a received value in an error message: strings quoted, functions by name, objects and
 * arrays by kind, `-0` and bigints as written; a hostile one that throws when looked at (a revoked
 * Proxy, a function whose `name` getter throws) as `an object that cannot be read`. A text longer
 * than 100 characters (a string, a name, a bigint's digits) shows its first 100 and its length:
 * `"1111…"… (102400 characters)`.
 */
// Kept in the declarations (no internal tag, which `stripInternal` would act on): `validate.ts`
// re-exports it, and a declaration file cannot re-export a name that was stripped.
export function show(value: unknown): string {
  try {
    return typeof value == 'string'
      ? clip(value, 100, true)
      : typeof value == 'function'
        ? `function ${clip(`${value.name || '(anonymous)'}`)}`
        : Array.isArray(value)
          ? 'an array'
          : value && typeof value == 'object'
            ? typeof (value as { then?: unknown }).then == 'function'
              ? 'a promise'
              : 'an object'
            : Object.is(value, -0)
              ? '-0'
              : // null, undefined, booleans, numbers, symbols, and bigints with their suffix
                clip(String(value) + (typeof value == 'bigint' ? 'n' : ''));
  } catch {
    return 'an object that cannot be read';
  }
}

/**
 * @internal A value the caller handed over (an option's `received`, a rejected `result`) as an
 * error's JSON writes it: never whole when it may be large or hold secrets (a client with its
 * password, a whole application configuration). A finite number, a boolean or `null` as it is; a
 * string cut as a message cuts it (`xxxx… (102400 characters)`); a plain object by its keys, cut
 * the same way (`an object with keys a, b`); any other object by its class (`an instance of
 * Redis`); anything else as a message shows it (`an array`, `5n`, `NaN`, `function f`).
 */
export function bounded(value: unknown): unknown {
  if (typeof value == 'string') return clip(value);
  if (value === null || typeof value == 'boolean' || Number.isFinite(value)) return value;
  const shown = show(value);
  if (shown != 'an object') return shown;
  try {
    const name = classOf(value as object);
    if (name !== undefined) return `an instance of ${clip(name)}`;
    const keys = Object.keys(value as object);
    return keys[0] === undefined ? shown : `an object with keys ${clip(keys.join(', '))}`;
  } catch {
    return 'an object that cannot be read';
  }
}

/**
 * @internal The name of the class `value` is an instance of: that of the first prototype in its
 * chain whose `constructor` (a function) owns it (a mixin may overwrite `constructor`: ioredis's
 * `Redis.prototype` has EventEmitter's), else the first `constructor` name met (an object made on
 * a copy of a prototype, as another version's class) that reads as a class name (an identifier of
 * at most 100 characters), at most 10 levels up (a Proxy's prototype
 * may be the Proxy itself); undefined for a plain object, or one whose classes have no name but
 * `Object`. A name that says what the object is and holds none of its values. Throws what a
 * hostile object throws.
 */
export function classOf(value: object): string | undefined {
  type Proto = { constructor?: { name?: unknown; prototype?: unknown } } | null;
  let proto = Object.getPrototypeOf(value) as Proto;
  let first: string | undefined;
  for (let depth = 0; proto && proto != Object.prototype && depth < 10; depth++) {
    const owner = proto.constructor;
    const name = owner?.name;
    if (typeof name == 'string' && name && name != 'Object') {
      if (owner.prototype === proto && typeof owner == 'function') return name;
      // Not its own: taken only if it reads as a class name (any object may say anything here).
      if (/^[A-Za-z_$][\w$]{0,99}$/.test(name)) first ??= name;
    }
    proto = Object.getPrototypeOf(proto) as Proto;
  }
  return first;
}

/** The fields of {@link OptionTypeError} and {@link OptionRangeError}. */
export interface OptionError extends Error {
  /** `'TypeError'` or `'RangeError'`: it prints as the built-in error it extends. */
  readonly name: 'TypeError' | 'RangeError';
  /**
   * The option at fault: its name (`'maxAttempts'`), or its full path when it came from a
   * configuration (`'resilience.retry.default.max-attempts'`).
   */
  readonly option: string;
  /** What the option must be, as text: `'an integer >= 1'`. */
  readonly expected: string;
  /**
   * The value received, whole. Not enumerable, so that a logger that copies an error's own fields
   * (pino) does not write a large value, or an object with secrets (a client, a whole
   * configuration), whole; the message and the JSON show it bounded.
   */
  readonly received: unknown;
  /**
   * What `JSON.stringify` writes: `name`, `message`, `option`, `expected`, and `received` as far
   * as a message would show it: a finite number, a boolean or `null` as it is, a string cut after
   * 100 characters (`"xxxx… (102400 characters)"`), a plain object by its
   * keys (`"an object with keys database, resilience"`), any other object by its class
   * (`"an instance of Redis"`), anything else as the message shows it (`"5n"`). Not the stack, nor
   * the `cause`.
   */
  toJSON(): OptionErrorJSON;
}

/** What an {@link OptionError}'s `toJSON()` gives. */
export interface OptionErrorJSON {
  readonly name: 'TypeError' | 'RangeError';
  readonly message: string;
  readonly option: string;
  readonly expected: string;
  /** The value received, bounded (see {@link OptionError.toJSON}). */
  readonly received: unknown;
  readonly [field: string]: unknown;
}

/** Options of the option errors' constructors. */
export interface OptionErrorOptions {
  /** The message, when it is not ``\`option\` must be expected, got received``. */
  readonly message?: string | undefined;
  readonly cause?: unknown;
}

/** An {@link OptionError} that is an `instanceof TypeError`. */
export interface OptionTypeError extends TypeError, OptionError {
  readonly name: 'TypeError';
}

/** An {@link OptionError} that is an `instanceof RangeError`. */
export interface OptionRangeError extends RangeError, OptionError {
  readonly name: 'RangeError';
}

type OptionErrorClass<E> = new (
  option: string,
  expected: string,
  received: unknown,
  options?: OptionErrorOptions,
) => E;

// Both classes from one body: they differ only in their base class and name. A class defined as
// a computed property takes the key as its own name, so the constructor is named (which loggers
// read) even though the two share one definition.
const optionError = <E>(
  Base: typeof TypeError,
  name: 'OptionTypeError' | 'OptionRangeError',
): OptionErrorClass<E> =>
  ({
    [name]: class extends Base {
      constructor(
        option: string,
        expected: string,
        received: unknown,
        options?: OptionErrorOptions,
      ) {
        // The options go to Error as they are: it takes `cause` only when the key is there.
        super(
          options?.message ?? `\`${option}\` must be ${expected}, got ${show(received)}`,
          options,
        );
        Object.defineProperty(this, BRAND, { value: name });
        // The printed name stays the built-in one (`RangeError: ...`), as every message promises.
        Object.assign(this, { name: Base.name, option, expected });
        Object.defineProperty(this, 'received', {
          value: received,
          writable: true,
          configurable: true,
        });
      }

      toJSON(): OptionErrorJSON {
        const self = this as unknown as OptionError;
        return {
          name: self.name,
          message: self.message,
          option: self.option,
          expected: self.expected,
          received: bounded(self.received),
          ...(self as object),
        };
      }
    },
  })[name] as never;

/**
 * Thrown for an option of the wrong type, an unknown option, or options that are not an object:
 * ``TypeError: `delay` must be a duration (milliseconds or a string like '5s'), got true``.
 * An `instanceof TypeError`.
 */
export const OptionTypeError = /* @__PURE__ */ optionError<OptionTypeError>(
  TypeError,
  'OptionTypeError',
);

/**
 * Thrown for an option of the right type out of its range:
 * ``RangeError: `maxAttempts` must be an integer >= 1, got 0``. An `instanceof RangeError`.
 */
export const OptionRangeError = /* @__PURE__ */ optionError<OptionRangeError>(
  RangeError,
  'OptionRangeError',
);

const guard =
  <E>(...names: string[]) =>
  (e: unknown): e is E =>
    typeof e === 'object' &&
    e !== null &&
    names.includes((e as { [BRAND]?: string })[BRAND] as string);

/** True for an {@link OptionTypeError} or {@link OptionRangeError}, from any copy of the package. */
export const isOptionError = /* @__PURE__ */ guard<OptionTypeError | OptionRangeError>(
  'OptionTypeError',
  'OptionRangeError',
);
/** True for an {@link OptionTypeError}, from this or another copy of the package. */
export const isOptionTypeError = /* @__PURE__ */ guard<OptionTypeError>('OptionTypeError');
/** True for an {@link OptionRangeError}, from this or another copy of the package. */
export const isOptionRangeError = /* @__PURE__ */ guard<OptionRangeError>('OptionRangeError');

/**
 * Throws the one shape every option message has (for the validation helpers; not in the package's
 * entry):
 * ``RangeError: `maxAttempts` must be an integer >= 1, got 0``, or `message` when given.
 * @param type - `RangeError` for a value of the right type out of range, else `TypeError`
 */
export function fail(
  type: typeof TypeError | typeof RangeError,
  option: string,
  must: string,
  value: unknown,
  message?: string,
): never {
  throw new (type === RangeError ? OptionRangeError : OptionTypeError)(
    option,
    must,
    value,
    // Without `message` the constructor writes the usual one; there is never a `cause`.
    { message },
  );
}
