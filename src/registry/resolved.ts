// What `reload` compares to tell whether a primitive's options changed: the values as the
// primitive reads them, not as they are spelled. `max-wait: 1s` and `max-wait: 1000` are one
// setting, and so are `{ max-concurrent: 10 }` and `{}` (10 being the default), so neither
// replaces a primitive (and its state) on reload.
import { toMs } from '../internal/duration.js';
import { isPlainObject } from '../internal/validate.js';

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
 * Options whose value is data handed back to callers (a fallback's `value`, a chaos result's
 * `value`): compared as written, never read as a duration.
 */
const DATA: ReadonlySet<string> = /* @__PURE__ */ new Set(['value']);

/**
 * The defaults each kind's primitive applies to an option left out, by configuration kind: only
 * defaults that are fixed values (one derived from another option, such as a breaker's
 * `minimumCalls`, is compared as given). Durations in milliseconds.
 */
const DEFAULTS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
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
  // Not `backoffType`: given as `exponential`, it is refused beside `jitter: decorrelated`.
  retry: { maxAttempts: 3 },
  hedge: { maxHedges: 1, delay: 2000 },
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
  // A bulkhead's `maxConcurrent` defaults to 10 only without a `limit` (they are one setting).
  if (kind === 'bulkhead' && resolved.limit === undefined && resolved.maxConcurrent === undefined) {
    resolved.maxConcurrent = 10;
  }
  return resolved;
}

function resolveObject(options: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const resolved = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(options)) {
    // An option left undefined is an option left out.
    if (value === undefined) continue;
    resolved[key] = DATA.has(key)
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
