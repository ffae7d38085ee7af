/**
 * A span of time: a number of milliseconds, or a string of one or more `<number><unit>` parts
 * with units `ms`, `s`, `m`, `h`, `d` (`'250ms'`, `'1.5s'`, `'1m30s'`).
 */
export type Duration = number | string;

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
});

const WHOLE = /^(?:\d+(?:\.\d+)?|\.\d+)(?:ms|s|m|h|d)(?:(?:\d+(?:\.\d+)?|\.\d+)(?:ms|s|m|h|d))*$/;
const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/g;

// Shows a received value in an error message. Kept in the declarations (no internal tag, which
// `stripInternal` would act on): `validate.ts` re-exports it, and a declaration file cannot
// re-export a name that was stripped.
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * @internal Parses a duration for the option named `option`.
 * @param allowInfinity - accept `Infinity` (only `maxWait` does)
 */
export function toMs(value: unknown, option: string, allowInfinity = false): number {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) {
      throw new RangeError(
        `\`${option}\` must be a duration (milliseconds or a string like '5s'), got NaN`,
      );
    }
    if (value < 0) {
      throw new RangeError(`\`${option}\` must be a duration >= 0, got ${show(value)}`);
    }
    if (value === Infinity && !allowInfinity) {
      throw new RangeError(`\`${option}\` must be a finite duration, got Infinity`);
    }
    return value;
  }
  if (typeof value === 'string') {
    const text = value.trim();
    if (!WHOLE.test(text)) {
      throw new TypeError(
        `\`${option}\` must be a duration such as 250ms, 5s, 1m30s, 2h or 1d, got ${show(value)}`,
      );
    }
    let total = 0;
    for (const match of text.matchAll(PART)) {
      total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    }
    if (!Number.isFinite(total)) {
      throw new RangeError(`\`${option}\` must be a finite duration, got ${show(value)}`);
    }
    return total;
  }
  throw new TypeError(
    `\`${option}\` must be a duration (milliseconds or a string like '5s'), got ${show(value)}`,
  );
}

/**
 * Converts a {@link Duration} to milliseconds.
 *
 * @throws TypeError for a value that is not a duration (`'5 sec'`, `''`, `'5'`)
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
