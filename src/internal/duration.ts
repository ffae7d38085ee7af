import { fail, show } from '../optionErrors.js';

// `validate.ts` and the adapters read these two from here.
export { fail, show };

/**
 * A span of time: a number of milliseconds, or a string of one or more `<number><unit>` parts
 * with units `ms`, `s`, `m`, `h`, `d` (`'250ms'`, `'1.5s'`, `'1m30s'`).
 */
export type Duration = number | string;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 };

/** Each unit in milliseconds as `[factor, power]`: `factor * 10 ** power`. */
const UNIT_DIGITS: Readonly<Record<string, readonly [number, number]>> = {
  ms: [1, 0],
  s: [1, 3],
  m: [6, 4],
  h: [36, 5],
  d: [864, 5],
};

const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|[smhd])/g;

const DURATION = "a duration (milliseconds or a string like '5s')";
const FINITE = 'a finite duration';

/**
 * @internal Parses a duration for the option named `option`.
 * @param allowInfinity - accept `Infinity` (only `maxWait` does)
 */
export function toMs(value: unknown, option: string, allowInfinity = false): number {
  if (typeof value === 'number') {
    // NaN fails every comparison.
    if (value >= 0 && (value < Infinity || allowInfinity)) return value;
    fail(RangeError, option, value < 0 ? 'a duration >= 0' : value > 0 ? FINITE : DURATION, value);
  }
  if (typeof value !== 'string') fail(TypeError, option, DURATION, value);
  // The exact value is `digits * 10 ** exponent`: each part's digits without the point, times its
  // unit's factor (`UNIT_DIGITS`), over one power of ten, so a decimal reads as written
  // (`'1.005s'` is 1005, where `1.005 * 1000` is 1004.9999999999999) while those digits make a
  // safe integer; past that (more digits than a number holds) the parts' products are summed.
  let digits = 0;
  let exponent = 0;
  let total = 0;
  // Valid when the parts make up the whole text: nothing is left once they are taken out (not
  // even whitespace around them: `' 5s'` is not a duration).
  if (
    !value ||
    value.replace(PART, (_, n: string, unit: string) => {
      total += +n * UNIT_MS[unit]!;
      const [factor, power] = UNIT_DIGITS[unit]!;
      // Trailing zeros of a fraction say nothing and would only make the digits longer.
      const written = n.includes('.') ? n.replace(/\.?0+$/, '') : n;
      const point = written.indexOf('.');
      let part = +written.replace('.', '') * factor;
      let at = power - (point < 0 ? 0 : written.length - point - 1);
      if (at > 0) {
        part *= 10 ** at;
        at = 0;
      }
      if (at < exponent) {
        digits *= 10 ** (exponent - at);
        exponent = at;
      }
      digits += part * 10 ** (at - exponent);
      return '';
    })
  ) {
    fail(TypeError, option, 'a duration such as 250ms, 5s, 1m30s, 2h or 1d', value);
  }
  // 10 ** 22 is the largest power of ten a number holds exactly.
  if (digits <= Number.MAX_SAFE_INTEGER && exponent >= -22) return digits / 10 ** -exponent;
  if (total < Infinity) return total;
  fail(RangeError, option, FINITE, value);
}

/**
 * Converts a {@link Duration} to milliseconds.
 *
 * @throws TypeError for a value that is not a duration (`'5 sec'`, `''`, `'5'`, `' 5s'`)
 * @throws RangeError for a negative, NaN or infinite number
 * @example
 * ```ts
 * parseDuration('1m30s'); // 90000
 * parseDuration(250);     // 250
 * ```
 */
export function parseDuration(duration: Duration): number {
  return toMs(duration, 'duration');
}

/** @internal Seconds as the timeout message prints them: at least one decimal (`5.0s`, `0.25s`). */
export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  const text = String(seconds);
  return `${Number.isInteger(seconds) ? seconds.toFixed(1) : text}s`;
}
