// Reading the snapshots that `toJSON()` gives and `initialState` takes back: the envelope every
// snapshot shares (format, version, the wall-clock instant it was taken) and the checks of its
// fields, each failing with an error that names `initialState`.
import { OptionRangeError, OptionTypeError, show } from '../optionErrors.js';
import { wallNow } from './clock.js';

/** @internal The snapshot version this code writes and reads. */
export const SNAPSHOT_VERSION = 1;

/** @internal The fields of a snapshot, as read. */
export type Fields = Readonly<Record<string, unknown>>;

/**
 * @internal Throws the error of a bad `initialState`: ``TypeError: `initialState` ...``.
 * @param range - a snapshot that is well formed but does not fit (a `RangeError`)
 */
export function refuse(why: string, expected: string, received: unknown, range = false): never {
  throw new (range ? OptionRangeError : OptionTypeError)('initialState', expected, received, {
    message: `\`initialState\` ${why}`,
  });
}

/** @internal `fields[key]` when `test` accepts it; otherwise refuses the snapshot as corrupt. */
export function field(
  fields: Fields,
  key: string,
  test: (value: unknown) => boolean,
  expected: string,
): unknown {
  const value = fields[key];
  if (!test(value))
    refuse(`is corrupt: \`${key}\` must be ${expected}, got ${show(value)}`, expected, value);
  return value;
}

/** @internal A plain object (not null, not an array). */
export const isRecord = (v: unknown): v is Fields =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** @internal A finite number >= 0. */
export const isSpan = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v < Infinity;

/** @internal An integer >= 0. */
export const isCount = (v: unknown): v is number => isSpan(v) && Number.isInteger(v);

/**
 * @internal A snapshot handed from a primitive to the one replacing it in this process (a reload
 * that changed its options, see a kind's `carry`): taken and restored in one turn, so no time has
 * passed, though the wall clock may have moved on a millisecond since `takenAt`. It is dated at
 * the end of time instead, which the reader takes as no time elapsed, as it does a snapshot from a
 * host whose wall clock runs ahead of ours.
 */
export function handOver<S extends { readonly takenAt: number }>(snapshot: S): S {
  return { ...snapshot, takenAt: Number.MAX_VALUE };
}

/**
 * @internal Checks the envelope of a snapshot given as `initialState`, and gives its fields and
 * the wall time elapsed since it was taken (>= 0).
 * @param label - what it must be a snapshot of, for messages (`'CircuitBreaker'`)
 */
export function readEnvelope(
  value: unknown,
  format: string,
  label: string,
): { fields: Fields; elapsedMs: number } {
  const expected = `a ${label} snapshot from toJSON() (format "${format}", version ${SNAPSHOT_VERSION})`;
  if (!isRecord(value)) refuse(`must be ${expected}, got ${show(value)}`, expected, value);
  if (value.format !== format) {
    refuse(`is not ${expected}: its format is ${show(value.format)}`, expected, value.format);
  }
  if (value.version !== SNAPSHOT_VERSION) {
    refuse(
      `is a snapshot of version ${show(value.version)}; this bulwark reads version ${SNAPSHOT_VERSION}`,
      expected,
      value.version,
      true,
    );
  }
  const takenAt = field(
    value,
    'takenAt',
    (v) => typeof v === 'number' && isFinite(v),
    'a finite number',
  ) as number;
  // A snapshot from a host whose wall clock runs ahead of ours: no time has passed either.
  return { fields: value, elapsedMs: Math.max(0, wallNow() - takenAt) };
}
