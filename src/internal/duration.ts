import { fail, show } from '../optionErrors.js';

// `validate.ts` and the adapters read these two from here.
export { fail, show };

/**
 * A span of time: a number of milliseconds, or a string of one or more `<number><unit>` parts
 * with units `ms`, `s`, `m`, `h`, `d` (`'250ms'`, `'1.5s'`, `'1m30s'`).
 */
export type Duration = number | string;

// Each unit but `ms` in seconds.
const UNIT_S: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

// One `<number><unit>` part, matched only where `lastIndex` says (sticky).
const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|[smhd])/y;

const DURATION = "a duration (milliseconds or a string like '5s')";
const FINITE = 'a finite duration';

/**
 * @internal Parses a duration for the option named `option`.
 * @param allowInfinity - accept `Infinity` (only `maxWait` does)
 */
export function toMs(value: unknown, option: string, allowInfinity = false): number {
  if (typeof value === 'number') {
    // NaN fails every comparison; `+ 0` reads -0 as 0.
    if (value >= 0 && (value < Infinity || allowInfinity)) return value + 0;
    fail(RangeError, option, value < 0 ? 'a duration >= 0' : value > 0 ? FINITE : DURATION, value);
  }
  if (typeof value !== 'string') fail(TypeError, option, DURATION, value);
  let total = 0;
  // Valid when the parts make up the whole text (not even whitespace around them: `' 5s'` is not
  // a duration). The parts are read one after another, each matched where the last one ended
  // (`PART` is sticky), and the text is refused at the first place no part starts: every match
  // starts at one place, so a long text costs its length. (Searching for the parts anywhere
  // instead retried from every digit of a long run of digits with no unit after it, a time that
  // grew with the square of the length.)
  let at = 0;
  while (at < value.length) {
    PART.lastIndex = at;
    const part = PART.exec(value);
    if (!part) break;
    const [, n, unit] = part as unknown as [string, string, string];
    // Seconds (or minutes, ...) are read as milliseconds by moving the decimal point three
    // places as text, so a decimal reads as written: `'1.005s'` is 1005 (`1.005 * 1000` is
    // 1004.9999999999999), `'2.2d'` 2200 * 86400 (`2.2 * 864e5` is 190080000.00000003).
    const [whole, fraction = ''] = n.split('.') as [string, string?];
    total +=
      unit == 'ms'
        ? +n
        : +`${whole}${fraction.slice(0, 3).padEnd(3, '0')}.${fraction.slice(3)}` * UNIT_S[unit]!;
    at = PART.lastIndex;
  }
  if (!value || at < value.length) {
    fail(TypeError, option, 'a duration such as 250ms, 5s, 1m30s, 2h or 1d', value);
  }
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
