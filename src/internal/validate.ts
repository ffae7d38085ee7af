// One set of helpers for every option check, so every message has the same shape,
// "`maxAttempts` must be an integer >= 1, got 0", and every error is an OptionTypeError or an
// OptionRangeError carrying `option`, `expected` and `received`.
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { fail, show, toMs } from './duration.js';
import { OptionTypeError, classOf, clip } from '../optionErrors.js';

export { show };

/**
 * A filter choosing errors: an array of error classes (`instanceof`) or a predicate. A class list
 * never throws: an error that `instanceof` cannot inspect (a Proxy whose `getPrototypeOf` trap
 * throws) matches no class. An error class with a protected or private constructor (such as
 * `ResilienceError`), which no construct signature admits, is taken by its `prototype`.
 */
export type ErrorFilter =
  | ReadonlyArray<(abstract new (...args: never[]) => unknown) | { readonly prototype: Error }>
  | ((error: unknown) => boolean);

/**
 * Throws unless `options` is undefined or a plain object, and, for the first own key not in
 * `known`, a TypeError naming it (see {@link unknownOption}). Returns it as a record.
 */
export function optionsObject(
  options: unknown,
  what: string,
  known: readonly string[],
): Record<string, unknown> {
  if (options === undefined) return {};
  // `show` tells a plain object (`an object`) from null, a primitive, a function, an array, and one
  // that throws when looked at (a revoked Proxy), which `Array.isArray` would throw on.
  if (show(options) != 'an object') {
    fail(
      TypeError,
      'options',
      'an object',
      options,
      `${what} options must be an object, got ${show(options)}`,
    );
  }
  const unknown = unknownOption(options as object, what, known);
  if (unknown) throw unknown;
  return options as Record<string, unknown>;
}

/**
 * Checks every own key of `options` against `known`. For the first that is not one of them,
 * returns the error to throw (or reject with): a TypeError whose `option` is the key under
 * `path` (`options.sigal` for `execute`'s), naming the key it resembles
 * (``what: unknown option `sigal` (did you mean `signal`?)``); `undefined` when every key is
 * known.
 */
export function unknownOption(
  options: object,
  what: string,
  known: readonly string[],
  path = '',
): TypeError | undefined {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      return new OptionTypeError(
        path + key,
        'a known option',
        (options as Record<string, unknown>)[key],
        { message: `${what}: unknown option \`${clip(key)}\`${didYouMean(key, known)}` },
      );
    }
  }
  return undefined;
}

/**
 * `` (did you mean `x`?)`` for the candidate nearest to `word`, or `''` when none is near enough:
 * the one way every message suggests a name. `spell` writes the candidate found as the message
 * should name it (one of several spellings of a name).
 */
export function didYouMean(
  word: string,
  candidates: readonly string[],
  spell?: (candidate: string) => string,
): string {
  const hint = closest(word, candidates);
  return hint ? ` (did you mean \`${spell ? spell(hint) : hint}\`?)` : '';
}

/** The candidate nearest to `word` by edit distance, if any is near enough to be a typo. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(3, ((word.length / 3) | 0) + 1);
  const a = word.toLowerCase();
  for (const candidate of candidates) {
    // Levenshtein distance, one row at a time.
    const b = candidate.toLowerCase();
    // Their distance is at least the difference of their lengths: a word far longer than every
    // candidate (a huge key) is compared with none, its hint skipped, not worked out over it.
    if (Math.abs(a.length - b.length) >= bestDistance) continue;
    let prev = [...Array(b.length + 1).keys()];
    for (let i = 0; i < a.length; i++) {
      const row = [i + 1];
      for (let j = 0; j < b.length; j++) {
        row.push(Math.min(prev[j + 1]! + 1, row[j]! + 1, prev[j]! + +(a[i] !== b[j])));
      }
      prev = row;
    }
    if (prev[b.length]! < bestDistance) {
      bestDistance = prev[b.length]!;
      best = candidate;
    }
  }
  return best;
}

/**
 * The one test behind every helper below: `fallback` for undefined, else `value` when `ok`
 * accepts it; otherwise a RangeError when the check is a numeric `range` and the value a number
 * (the right type out of range), a TypeError for anything else, saying what it `must` be.
 */
export function checkOption<F>(
  value: unknown,
  option: string,
  ok: (value: never) => unknown,
  must: string,
  fallback: F,
  range?: boolean,
): F {
  if (value === undefined) return fallback;
  if (!ok(value as never)) {
    fail(range && typeof value == 'number' ? RangeError : TypeError, option, must, value);
  }
  return value as F;
}

/** An integer >= `min`, or `fallback` when undefined. */
export function integerOption(
  value: unknown,
  option: string,
  min: number,
  fallback: number,
): number {
  return checkOption(
    value,
    option,
    (n) => Number.isInteger(n) && n >= min,
    `an integer >= ${min}`,
    fallback,
    true,
  );
}

/**
 * A finite number in a range, or `fallback` when undefined.
 * @param range - how the range reads in messages, e.g. `'in (0, 1]'` or `'> 0'`
 */
export function numberOption<F extends number | undefined>(
  value: unknown,
  option: string,
  ok: (n: number) => boolean,
  range: string,
  fallback: F,
): number | F {
  return checkOption(
    value,
    option,
    (n: number) => Number.isFinite(n) && ok(n),
    `a number ${range}`,
    fallback,
    true,
  );
}

/** A duration in ms, or `fallback` when undefined. */
export function durationOption<F extends number | undefined>(
  value: unknown,
  option: string,
  fallback: F,
  allowInfinity?: boolean,
): number | F {
  return value === undefined ? fallback : toMs(value, option, allowInfinity);
}

/**
 * A finite duration in ms > 0 (>= `min` when `min` is given), or `fallback` when undefined: a
 * zero-length deadline, window or timeout would mean nothing.
 */
export function positiveDuration<F extends number | undefined>(
  value: unknown,
  option: string,
  fallback: F,
  min = 0,
): number | F {
  if (value === undefined) return fallback;
  const bound = `a duration ${min > 0 ? `>= ${min}ms` : '> 0'}`;
  // A negative number is refused with this bound, not the `>= 0` of durations at large, which
  // would then refuse the 0 it invites.
  if (typeof value === 'number' && value < 0) fail(RangeError, option, bound, value);
  const ms = toMs(value, option);
  if (min > 0 ? ms < min : !(ms > 0)) fail(RangeError, option, bound, value);
  return ms;
}

/** A function, or `fallback` when undefined. */
export function functionOption<F extends ((...args: never[]) => unknown) | undefined>(
  value: unknown,
  option: string,
  fallback: F,
): F | ((...args: never[]) => unknown) {
  return checkOption(value, option, (f) => typeof f == 'function', 'a function', fallback);
}

/**
 * A predicate (`retryOn`, `onResult`, ...), or undefined. Its answer is used as a boolean, so an
 * async function, whose promise would always read as true, is refused; and a call whose answer
 * is a thenable throws a TypeError naming the option, as {@link syncAnswer} does. With
 * `judgesErrors` (an error filter) that TypeError has the error it was judging as its `cause`:
 * the call fails with the TypeError, and the failure would otherwise be reachable nowhere.
 */
export function predicateOption<P>(
  value: unknown,
  option: string,
  judgesErrors = false,
): P | undefined {
  const fn = syncFunctionOption(value, option, 'a boolean') as
    ((input: unknown) => unknown) | undefined;
  return (fn &&
    ((input: unknown) => {
      const answer = fn(input);
      // The usual answer, a boolean, goes out without a look at `then`.
      return typeof answer == 'boolean'
        ? answer
        : syncAnswer(answer, option, 'a boolean', '', judgesErrors ? { cause: input } : undefined);
    })) as P;
}

// The errors `syncAnswer` threw: see `isAsyncAnswerError`.
const asyncAnswerErrors = /* @__PURE__ */ new WeakSet<object>();

/**
 * The answer of a user's function that must answer at once (a predicate, a `key`, a `delay`
 * function, a chaos `fault.error`, ...), as it is; but a thenable (a plain function returning a
 * promise, which no check at construction can see) throws a TypeError naming the option, such as
 * ``TypeError: `key` must return a string synchronously, got a promise``, after a rejection
 * handler is put on it, so that its own rejection is never an unhandled one; the error has an own
 * `retryable: false`, so no retry runs the work again for it. A primitive answer
 * goes out without a look at `then`, and so does one whose `then` cannot be read (a Proxy whose
 * trap throws), for the caller's check to refuse. `what` prefixes the message (`policy.wrap: `).
 * @param returns - what the function must return (`'a boolean'`)
 * @param cause - `{ cause }` for that TypeError: the error an error filter was judging
 */
export function syncAnswer(
  answer: unknown,
  option: string,
  returns: string,
  what = '',
  cause?: { readonly cause: unknown },
): unknown {
  let then: unknown;
  if (typeof answer == 'object' || typeof answer == 'function') {
    try {
      then = (answer as { then?: unknown } | null)?.then;
    } catch {
      // A `then` that cannot be read (a Proxy whose trap throws) makes no promise: the answer
      // goes to the check of what it must be, which refuses it as a value that cannot be read.
    }
  }
  if (typeof then == 'function') {
    // A `then` that throws rejects this promise, which is handled too.
    Promise.resolve(answer).catch(() => {});
    const error = notSync(option, returns, answer, ', got a promise', what, cause);
    // The same function would answer the same way: a retry must not run the work again for it.
    (error as TypeError & { retryable?: boolean }).retryable = false;
    asyncAnswerErrors.add(error);
    throw error;
  }
  return answer;
}

/**
 * True for an error {@link syncAnswer} threw: where a function's throw is taken as an answer (a
 * breaker's `recordOn` that throws counts the error, a fallback stage's `on` that throws declines
 * it), a promise answer still fails the call with this error.
 */
export function isAsyncAnswerError(error: unknown): boolean {
  return asyncAnswerErrors.has(error as object);
}

/**
 * A function whose answer is used at once (`undefined` when unset): an async function (or async
 * generator) is refused, naming the option, since its answer is a promise. `returns` says what
 * it must answer (`'a boolean'`); `what` prefixes that message (`policy.wrap: `).
 */
export function syncFunctionOption(
  value: unknown,
  option: string,
  returns: string,
  what = '',
): ((...args: never[]) => unknown) | undefined {
  const fn = functionOption(value, option, undefined);
  if (/^\[object Async/.test({}.toString.call(fn))) {
    throw notSync(option, returns, fn, '; an async function returns a promise', what);
  }
  return fn;
}

/**
 * The error of a function `option` that must return `returns` synchronously and did not (`why`:
 * it answered a promise, or is an async function), its message after `what`.
 */
function notSync(
  option: string,
  returns: string,
  got: unknown,
  why: string,
  what: string,
  cause?: { readonly cause: unknown },
): TypeError {
  return new OptionTypeError(option, `a function returning ${returns} synchronously`, got, {
    message: `${what}\`${option}\` must return ${returns} synchronously${why}`,
    ...cause,
  });
}

/** A string, or `fallback` when undefined. */
export function stringOption<F extends string | undefined>(
  value: unknown,
  option: string,
  fallback: F,
): string | F {
  return checkOption(value, option, (s) => typeof s == 'string', 'a string', fallback);
}

/** A boolean, or `fallback` when undefined. */
export function booleanOption(value: unknown, option: string, fallback: boolean): boolean {
  return checkOption(value, option, (b) => typeof b == 'boolean', 'a boolean', fallback);
}

/**
 * The error for a call's `fn` that is not a function (`execute` rejects with it, `wrap` throws
 * it): ``TypeError: `fn` must be a function, got 42``, an option error naming `fn`.
 */
export function fnError(fn: unknown): TypeError {
  return new OptionTypeError('fn', 'a function', fn);
}

/**
 * The error for a method called without its object (`const run = policy.execute; run(fn)`,
 * `.then(policy.execute)`), named as written rather than as whatever property of `undefined` the
 * method would read first: ``execute: must be called on a Policy (`policy.execute(fn)`), got
 * this = undefined``. `execute` rejects with it, `wrap` throws it.
 */
export function unboundError(method: string, className: string, self: unknown): TypeError {
  const instance = className[0]!.toLowerCase() + className.slice(1);
  return new TypeError(
    `${method}: must be called on a ${className} (\`${instance}.${method}(fn)\`), got this = ${show(self)}`,
  );
}

/**
 * True for a plain object: an object literal's prototype or none. Anything else (an instance of
 * a class, an array) is not read as options or configuration.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return (
    proto === Object.prototype ||
    proto === null ||
    // An object literal of another realm (a `vm` context, an iframe): its prototype is that
    // realm's Object.prototype, the last of its chain, whose constructor is named Object.
    (!Array.isArray(value) &&
      Object.getPrototypeOf(proto) === null &&
      (
        Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as
          { name?: unknown } | undefined
      )?.name === 'Object')
  );
}

/**
 * Shows `value`, given where an instance of `Class` (named `label` in messages) was wanted, for
 * a message: `a Retry of another copy of bulwark` for an instance of another copy of the package
 * (known by its members, under whatever name a bundler or a minifier gave its class, or a
 * subclass's; or by its class's name and most of its members, for a copy of another version, with
 * a member more or less), `an instance of another class named Retry` for another library's class
 * of that name, else as {@link showShape} shows it.
 */
export function showInstead(value: unknown, label: string, Class: { prototype: unknown }): string {
  const shown = showShape(value);
  if (value === null || typeof value !== 'object' || isPlainObject(value)) return shown;
  // A bundler renames `Retry` to `_Retry`, `Retry2` or `Retry$1`.
  const named = shown.replace(/^an instance of _*|\$?\d+$/g, '') === label;
  if (sameMembers(value, Class.prototype as object, named)) {
    return `a ${label} of another copy of bulwark`;
  }
  return named ? `an instance of another class named ${label}` : shown;
}

/**
 * True when a prototype of `value`'s has the same own member names as `proto`, or, when `named`
 * (its class has the name of `proto`'s), at least half of them.
 */
function sameMembers(value: object, proto: object, named: boolean): boolean {
  const want = Object.getOwnPropertyNames(proto);
  const key = (names: string[]): string => names.sort().join();
  for (let p: object | null = value; (p = Object.getPrototypeOf(p) as object | null);) {
    const names = Object.getOwnPropertyNames(p);
    if (key(names) === key(want)) return true;
    if (named && names.filter((n) => want.includes(n)).length * 2 >= want.length) return true;
  }
  return false;
}

/**
 * Shows a value given as options or configuration, in the one wording every message uses for an
 * object that is not plain: `an instance of Map` (its class, as an error's JSON names it: see
 * `classOf`), or, for one of no named class, `an object with a prototype of its own (only plain
 * objects are read)`. Any other value as {@link show} shows it.
 */
export function showShape(value: unknown): string {
  if (!value || typeof value != 'object' || Array.isArray(value) || isPlainObject(value)) {
    return show(value);
  }
  const name = classOf(value);
  return name !== undefined
    ? `an instance of ${name}`
    : 'an object with a prototype of its own (only plain objects are read)';
}

/** One of the listed string literals, or `fallback` when undefined. */
export function oneOfOption<T extends string>(
  value: unknown,
  option: string,
  allowed: readonly T[],
  fallback: T,
): T {
  return checkOption(
    value,
    option,
    (v: T) => allowed.includes(v),
    `one of '${allowed.join("', '")}'`,
    fallback,
  );
}

/** A Clock, or the system clock when undefined. */
export function clockOption(value: unknown, option = 'clock'): Clock {
  return checkOption(
    value,
    option,
    (c: Record<string, unknown> | null) =>
      typeof c == 'object' &&
      c &&
      typeof c.now == 'function' &&
      typeof c.setTimeout == 'function' &&
      typeof c.clearTimeout == 'function',
    'a Clock with now(), setTimeout() and clearTimeout()',
    systemClock,
  );
}

/** Matches an error against a filter; undefined matches everything. */
export type ErrorMatcher = (error: unknown) => boolean;

const MATCH_ALL: ErrorMatcher = () => true;

/** Compiles an ErrorFilter option into one predicate, validating it. */
export function errorFilterOption(value: unknown, option: string): ErrorMatcher {
  if (value === undefined) return MATCH_ALL;
  if (typeof value === 'function') return predicateOption(value, option, true)!;
  const must = 'an array of error classes or a predicate';
  if (!Array.isArray(value)) fail(TypeError, option, must, value);
  const classes = value.slice() as Array<abstract new (...args: never[]) => unknown>;
  classes.forEach((cls, i) => {
    // A class has a prototype object; an arrow function (a predicate put in the list) has none.
    if (typeof cls !== 'function' || typeof cls.prototype !== 'object') {
      fail(
        TypeError,
        option,
        must,
        value,
        `\`${option}\` must be ${must}, got ${show(cls)} at index ${i}`,
      );
    }
  });
  return (error: unknown) =>
    classes.some((cls) => {
      try {
        return error instanceof cls;
      } catch {
        // An error whose prototype cannot be read (a Proxy whose trap throws) is no instance.
        return false;
      }
    });
}

/** True when the filter is the default, which matches everything. */
export function matchesAll(matcher: ErrorMatcher): boolean {
  return matcher === MATCH_ALL;
}
