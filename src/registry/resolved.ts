// What `reload` compares to tell whether a primitive's options changed: the values as the
// primitive reads them, not as they are spelled. `max-wait: 1s` and `max-wait: 1000` are one
// setting, and so are `{ max-concurrent: 10 }` and `{}` (10 being the default), so neither
// replaces a primitive (and its state) on reload.
import { toMs } from '../internal/duration.js';
import { isPlainObject } from '../internal/validate.js';
import { DATA_OPTIONS } from './config.js';
import { readsAsOne } from '../strategies/circuit-breaker/CircuitBreaker.js';

/**
 * Options read as durations, by name, at any depth (a bulkhead's `limit.window`, a chaos
 * `latency.delay`). A value that is no duration is compared as it is.
 */
const DURATIONS: ReadonlySet<string> = /* @__PURE__ */ new Set([
  'delay',
  'halfOpenWait',
  'maxDelay',
  'maxRecoveryTimeout',
  'maxRetryAfter',
  'maxWait',
  'recoveryTimeout',
  'slowCallDuration',
  'timeout',
  'window',
  'windowDuration',
]);

/**
 * @internal The defaults each kind's primitive applies to an option left out, by configuration
 * kind: the fixed values (one derived from another option, such as a breaker's `minimumCalls`, is
 * filled in by `resolvedOptions`). Durations in milliseconds.
 */
export const DEFAULTS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  'rate-limiter': { maxTokens: 10, refillRate: 10, maxWait: 0 },
  bulkhead: { maxQueue: 0, maxWait: Infinity },
  'time-limiter': { timeout: 30_000, mode: 'aggressive' },
  'circuit-breaker': {
    failureThreshold: 5,
    recoveryTimeout: 30_000,
    recoveryBackoff: 1,
    windowType: 'count',
    windowSize: 10,
    windowDuration: 60_000,
    halfOpenMaxCalls: 1,
    halfOpenWait: 0,
  },
  'retry-budget': { ratio: 0.2, minPerSecond: 10, window: 10_000 },
  // Not `backoff`: given, it is refused beside `jitter: decorrelated` (`backoffType` is left out
  // as `backoff`, so that the default written out and left out compare equal).
  retry: { maxAttempts: 3, delay: 0, jitter: 0 },
  hedge: { maxHedges: 1, delay: 2000 },
  chaos: { enabled: true },
};

/**
 * @internal `options` (camelCase, as configured and merged) as a primitive of the configuration
 * kind `kind` reads them: durations in milliseconds and fixed defaults filled in. Two option sets
 * with deep-equal results build primitives with the same settings.
 */
export function resolvedOptions(
  kind: string,
  options: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const resolved = Object.assign(
    Object.create(null) as Record<string, unknown>,
    DEFAULTS[kind],
    resolveObject(options),
  );
  // Defaults derived from other options, and values the primitive reads as another.
  if (kind === 'bulkhead') {
    // A numeric `limit` and `maxConcurrent` are one setting, 10 when neither is given.
    if (typeof resolved.limit === 'number') {
      resolved.maxConcurrent ??= resolved.limit;
      delete resolved.limit;
    }
    if (resolved.limit === undefined) resolved.maxConcurrent ??= 10;
  } else if (kind === 'circuit-breaker') {
    resolved.maxRecoveryTimeout ??= resolved.recoveryTimeout;
    resolved.minimumCalls ??= resolved.windowType === 'count' ? resolved.windowSize : 10;
    // Read as 1 as the breaker reads it.
    if (readsAsOne(resolved.halfOpenMaxCalls)) resolved.halfOpenMaxCalls = 1;
  } else if (kind === 'retry') {
    if (resolved.maxDelay !== undefined) resolved.maxRetryAfter ??= resolved.maxDelay;
    // Their defaults written out are left out (not filled in: a `backoff` other than 1 is refused
    // beside `jitter: decorrelated`), so `{ jitter: 'decorrelated' }` with or without
    // `backoff: 1` or `backoffType: 'exponential'` compares equal.
    if (resolved.backoff === 1) delete resolved.backoff;
    if (resolved.backoffType === 'exponential') delete resolved.backoffType;
  }
  return resolved;
}

function resolveObject(options: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const resolved = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(options)) {
    // An option left undefined is an option left out.
    if (value === undefined) continue;
    resolved[key] = DATA_OPTIONS.includes(key)
      ? value
      : DURATIONS.has(key)
        ? duration(value)
        : isPlainObject(value)
          ? resolveObject(value)
          : value;
  }
  return resolved;
}

/** A duration in milliseconds, or the value as it is when it is none (its primitive says why). */
function duration(value: unknown): unknown {
  try {
    return toMs(value, 'duration', true);
  } catch {
    return value;
  }
}
