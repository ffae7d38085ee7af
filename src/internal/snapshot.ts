// Reading the snapshots that `toJSON()` gives and `initialState` takes back: the envelope every
// snapshot shares (format, version, the wall-clock instant it was taken) and the checks of its
// fields, each failing with an error that names `initialState`.
import { OptionRangeError, OptionTypeError, show } from '../optionErrors.js';
import { wallNow } from './clock.js';

/** @internal The snapshot version this code writes and reads. */
export const SNAPSHOT_VERSION = 1;

/** @internal The fields every snapshot has. */
export interface SnapshotEnvelope<F extends string> {
  /** What it is a snapshot of: `'bulwark.circuit-breaker'` or `'bulwark.rate-limiter'`. */
  readonly format: F;
  /** The version of the format (1). A snapshot of another version is refused. */
  readonly version: number;
  /** Wall-clock time it was taken, in milliseconds since the epoch. */
  readonly takenAt: number;
}

/** @internal A snapshot's fields, and the wall time elapsed since it was taken (>= 0). */
export interface ReadSnapshot {
  readonly fields: Readonly<Record<string, unknown>>;
  readonly elapsedMs: number;
}

/**
 * @internal Throws the error of a bad `initialState`: ``TypeError: `initialState` is not ...``.
 * @param type - `RangeError` for a snapshot that is well formed but does not fit, else `TypeError`
 */
export function refuse(
  type: typeof TypeError | typeof RangeError,
  why: string,
  expected: string,
  received: unknown,
): never {
  const ErrorClass = type === RangeError ? OptionRangeError : OptionTypeError;
  throw new ErrorClass('initialState', expected, received, {
    message: `\`initialState\` ${why}; it is refused and nothing of it is used`,
  });
}

/**
 * @internal Checks the envelope of a snapshot given as `initialState`.
 * @param label - what it must be a snapshot of, for messages (`'CircuitBreaker'`)
 */
export function readEnvelope(value: unknown, format: string, label: string): ReadSnapshot {
  const expected = `a ${label} snapshot from toJSON() (format "${format}", version ${SNAPSHOT_VERSION})`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    refuse(TypeError, `must be ${expected}, got ${show(value)}`, expected, value);
  }
  const fields = value as Record<string, unknown>;
  if (fields.format !== format) {
    refuse(
      TypeError,
      `is not ${expected}: its format is ${show(fields.format)}`,
      expected,
      fields.format,
    );
  }
  if (fields.version !== SNAPSHOT_VERSION) {
    refuse(
      RangeError,
      `is a snapshot of version ${show(fields.version)}; this version of bulwark reads version ${SNAPSHOT_VERSION}`,
      expected,
      fields.version,
    );
  }
  const takenAt = fields.takenAt;
  if (typeof takenAt !== 'number' || !Number.isFinite(takenAt)) {
    refuse(
      TypeError,
      `has no valid \`takenAt\` (the wall-clock time it was taken), got ${show(takenAt)}`,
      'a finite number',
      takenAt,
    );
  }
  // A snapshot from a host whose wall clock runs ahead of ours: no time has passed.
  return { fields, elapsedMs: Math.max(0, wallNow() - takenAt) };
}

/** @internal A field that must be a finite number >= 0 (an integer when `integer`). */
export function count(
  fields: Readonly<Record<string, unknown>>,
  key: string,
  integer = false,
): number {
  const value = fields[key];
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (integer && !Number.isInteger(value))
  ) {
    const expected = integer ? 'an integer >= 0' : 'a finite number >= 0';
    refuse(
      TypeError,
      `is corrupt: \`${key}\` must be ${expected}, got ${show(value)}`,
      expected,
      value,
    );
  }
  return value;
}
