// Option checks for the Redis stores. The core's validation helpers are internal to the core
// bundle, so this adapter keeps its own small set, with messages of the same shape:
// "RangeError: `storeTimeout` must be a duration > 0, got 0".
import { parseDuration, type Clock, type Duration } from '../index.js';
import { toRedisAdapter, type RedisClient, type RedisClientAdapter } from './adapter.js';
import { show } from './show.js';

/**
 * What a Redis store does when Redis cannot answer (down, slower than `storeTimeout`, or a
 * script error):
 *
 * - `'local'`: decide with an in-process store of the same settings, its limits divided by
 *   `instances`;
 * - `'fail-open'`: let the call through (no limit while Redis is away);
 * - `'fail-closed'`: reject the call with `StoreUnavailableError`.
 */
export type StoreErrorMode = 'fail-open' | 'fail-closed' | 'local';

/** Options shared by every Redis store. */
export interface RedisStoreOptions {
  /**
   * The Redis connection: an `ioredis` client, a connected `redis` (node-redis) client, or a
   * {@link RedisClientAdapter} of your own. Required.
   */
  readonly client: RedisClient;
  /**
   * Name of the shared state: every store (in any process) with the same `prefix` and `key`
   * shares one limit, breaker or bulkhead. A non-empty string. Required.
   */
  readonly key: string;
  /**
   * Put before every Redis key this store writes.
   * @defaultValue `'bulwark:'`
   */
  readonly prefix?: string;
  /**
   * Longest a decision waits for Redis; after it, the call is decided as `onStoreError` says.
   * A finite duration > 0.
   * @defaultValue `'250ms'`
   */
  readonly storeTimeout?: Duration;
  /**
   * What to do while Redis cannot answer (see {@link StoreErrorMode}).
   * @defaultValue `'local'`
   */
  readonly onStoreError?: StoreErrorMode;
  /**
   * How many processes share this key, roughly. With `onStoreError: 'local'`, each process's
   * fallback gets `1 / instances` of the limits (tokens, refill rate, concurrent calls), so the
   * whole fleet stays near the shared limit while Redis is away. An integer >= 1.
   * @defaultValue `1`
   */
  readonly instances?: number;
}

/** @internal The common options, checked and resolved. */
export interface ResolvedStoreOptions {
  readonly adapter: RedisClientAdapter;
  readonly key: string;
  readonly prefix: string;
  readonly storeTimeoutMs: number;
  readonly onStoreError: StoreErrorMode;
  readonly instances: number;
}

const DEFAULTS = Object.freeze({
  prefix: 'bulwark:',
  storeTimeoutMs: 250,
  onStoreError: 'local' as StoreErrorMode,
  instances: 1,
});

const COMMON_KEYS: readonly string[] = Object.freeze([
  'client',
  'key',
  'prefix',
  'storeTimeout',
  'onStoreError',
  'instances',
]);

const MODES: readonly StoreErrorMode[] = Object.freeze(['fail-open', 'fail-closed', 'local']);

/**
 * @internal Checks the options every store takes, and the unknown keys against `extraKeys` too.
 * @returns the resolved common options and the raw record, for the store's own options
 */
export function resolveStoreOptions(
  options: unknown,
  what: string,
  extraKeys: readonly string[] = [],
): { readonly common: ResolvedStoreOptions; readonly raw: Record<string, unknown> } {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${what} options must be an object, got ${show(options)}`);
  }
  const raw = options as Record<string, unknown>;
  const known = extraKeys.length === 0 ? COMMON_KEYS : [...COMMON_KEYS, ...extraKeys];
  for (const name of Object.keys(raw)) {
    if (!known.includes(name)) {
      const hint = closest(name, known);
      throw new TypeError(
        `${what}: unknown option \`${name}\`${hint === undefined ? '' : ` (did you mean \`${hint}\`?)`}`,
      );
    }
  }
  const adapter = toRedisAdapter(raw.client as RedisClient);
  const key = raw.key;
  if (typeof key !== 'string') {
    throw new TypeError(`\`key\` must be a non-empty string, got ${show(key)}`);
  }
  if (key.length === 0) throw new RangeError('`key` must be a non-empty string, got ""');
  const prefix = raw.prefix ?? DEFAULTS.prefix;
  if (typeof prefix !== 'string') {
    throw new TypeError(`\`prefix\` must be a string, got ${show(prefix)}`);
  }
  const storeTimeoutMs = positiveDuration(
    raw.storeTimeout,
    'storeTimeout',
    DEFAULTS.storeTimeoutMs,
  );
  const onStoreError = raw.onStoreError ?? DEFAULTS.onStoreError;
  if (typeof onStoreError !== 'string' || !(MODES as readonly string[]).includes(onStoreError)) {
    throw new TypeError(
      `\`onStoreError\` must be one of ${MODES.map((m) => `'${m}'`).join(', ')}, got ${show(onStoreError)}`,
    );
  }
  const instances = integer(raw.instances, 'instances', 1, DEFAULTS.instances);
  const common: ResolvedStoreOptions = Object.freeze({
    adapter,
    key,
    prefix,
    storeTimeoutMs,
    onStoreError: onStoreError as StoreErrorMode,
    instances,
  });
  return { common, raw };
}

/** @internal A finite duration >= `min` (> 0 when `min` is 0), or `fallback` when undefined. */
export function positiveDuration(
  value: unknown,
  option: string,
  fallback: number,
  min = 0,
): number {
  if (value === undefined) return fallback;
  let ms: number;
  try {
    ms = parseDuration(value as Duration);
  } catch (error) {
    // parseDuration names its argument `duration`; name the option instead.
    const message = (error as Error).message.replace('`duration`', `\`${option}\``);
    throw error instanceof RangeError ? new RangeError(message) : new TypeError(message);
  }
  if (min > 0 ? ms < min : !(ms > 0)) {
    const bound = min > 0 ? `>= ${min}ms` : '> 0';
    throw new RangeError(`\`${option}\` must be a duration ${bound}, got ${show(value)}`);
  }
  return ms;
}

function integer(value: unknown, option: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`\`${option}\` must be an integer >= ${min}, got ${show(value)}`);
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`\`${option}\` must be an integer >= ${min}, got ${show(value)}`);
  }
  return value;
}

// The known option nearest to a misspelt one, when it is near enough to be a typo.
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const a = word.toLowerCase();
  for (const candidate of candidates) {
    const b = candidate.toLowerCase();
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
    const d = prev[b.length] as number;
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** @internal Throws when a store is configured a second time (a store serves one primitive). */
export function assertUnconfigured(
  clock: Clock | undefined,
  store: string,
  primitive: string,
): void {
  if (clock !== undefined) {
    throw new Error(
      `This ${store} already serves a ${primitive}; give each ${primitive} its own store (stores with the same key share state)`,
    );
  }
}
