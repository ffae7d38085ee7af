// One set of helpers for every option check, so every message has the same shape:
// "RangeError: `maxAttempts` must be an integer >= 1, got 0".
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { show, toMs } from './duration.js';

export { show };

/**
 * A filter choosing errors: an array of error classes (`instanceof`) or a predicate. A class list
 * never throws: an error that `instanceof` cannot inspect (a Proxy whose `getPrototypeOf` trap
 * throws) matches no class.
 */
export type ErrorFilter =
  ReadonlyArray<abstract new (...args: never[]) => unknown> | ((error: unknown) => boolean);

/** Throws unless `options` is undefined or a plain object, and returns it as a record. */
export function optionsObject(options: unknown, what: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${what} options must be an object, got ${show(options)}`);
  }
  return options as Record<string, unknown>;
}

/** Throws a TypeError for the first own key of `options` that is not in `known`. */
export function knownKeys(
  options: Record<string, unknown>,
  known: readonly string[],
  what: string,
): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const hint = closest(key, known);
      throw new TypeError(
        `${what}: unknown option \`${key}\`${hint === undefined ? '' : ` (did you mean \`${hint}\`?)`}`,
      );
    }
  }
}

/** The candidate nearest to `word` by edit distance, if any is near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
    }
    prev = row;
  }
  return prev[b.length] as number;
}

/** An integer >= `min`, or `fallback` when undefined. */
export function integerOption(
  value: unknown,
  option: string,
  min: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`\`${option}\` must be an integer >= ${min}, got ${show(value)}`);
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`\`${option}\` must be an integer >= ${min}, got ${show(value)}`);
  }
  return value;
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
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`\`${option}\` must be a number ${range}, got ${show(value)}`);
  }
  if (!Number.isFinite(value) || !ok(value)) {
    throw new RangeError(`\`${option}\` must be a number ${range}, got ${show(value)}`);
  }
  return value;
}

/** A duration in ms, or `fallback` when undefined. */
export function durationOption<F extends number | undefined>(
  value: unknown,
  option: string,
  fallback: F,
  allowInfinity = false,
): number | F {
  if (value === undefined) return fallback;
  return toMs(value, option, allowInfinity);
}

/** A function, or `fallback` when undefined. */
export function functionOption<F extends ((...args: never[]) => unknown) | undefined>(
  value: unknown,
  option: string,
  fallback: F,
): F | ((...args: never[]) => unknown) {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') {
    throw new TypeError(`\`${option}\` must be a function, got ${show(value)}`);
  }
  return value as (...args: never[]) => unknown;
}

/** A string, or `fallback` when undefined. */
export function stringOption<F extends string | undefined>(
  value: unknown,
  option: string,
  fallback: F,
): string | F {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') {
    throw new TypeError(`\`${option}\` must be a string, got ${show(value)}`);
  }
  return value;
}

/** One of the listed string literals, or `fallback` when undefined. */
export function oneOfOption<T extends string>(
  value: unknown,
  option: string,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new TypeError(
      `\`${option}\` must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(value)}`,
    );
  }
  return value as T;
}

/** A Clock, or the system clock when undefined. */
export function clockOption(value: unknown, option = 'clock'): Clock {
  if (value === undefined) return systemClock;
  const c = value as Partial<Clock> | null;
  if (
    c === null ||
    typeof c !== 'object' ||
    typeof c.now !== 'function' ||
    typeof c.setTimeout !== 'function' ||
    typeof c.clearTimeout !== 'function'
  ) {
    throw new TypeError(
      `\`${option}\` must be a Clock with now(), setTimeout() and clearTimeout(), got ${show(value)}`,
    );
  }
  return c as Clock;
}

/** Matches an error against a filter; undefined matches everything. */
export type ErrorMatcher = (error: unknown) => boolean;

const MATCH_ALL: ErrorMatcher = () => true;

/** Compiles an ErrorFilter option into one predicate, validating it. */
export function errorFilterOption(value: unknown, option: string): ErrorMatcher {
  if (value === undefined) return MATCH_ALL;
  if (typeof value === 'function') return value as ErrorMatcher;
  if (Array.isArray(value)) {
    value.forEach((cls, i) => {
      if (typeof cls !== 'function') {
        throw new TypeError(
          `\`${option}\` must be an array of error classes or a predicate, got ${show(cls)} at index ${i}`,
        );
      }
    });
    const classes = value.slice() as Array<abstract new (...args: never[]) => unknown>;
    return (error: unknown) => {
      for (const cls of classes) {
        // An error whose prototype cannot be read (a Proxy whose trap throws) is no instance.
        try {
          if (error instanceof cls) return true;
        } catch {}
      }
      return false;
    };
  }
  throw new TypeError(
    `\`${option}\` must be an array of error classes or a predicate, got ${show(value)}`,
  );
}

/** True when the filter is the default, which matches everything. */
export function matchesAll(matcher: ErrorMatcher): boolean {
  return matcher === MATCH_ALL;
}
