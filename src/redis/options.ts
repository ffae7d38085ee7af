// Option checks for the Redis stores, through the core's validation helpers so every message has
// the core's shape and errors: "RangeError: `storeTimeout` must be a duration > 0, got 0". They
// come, with the core's classes, through '../index.js', which the build turns into an import of
// 'bulwark': the errors thrown are the core's (`instanceof OptionRangeError` from 'bulwark'), and
// the helpers are not bundled a second time.
import {
  fail,
  integerOption,
  oneOfOption,
  OptionTypeError,
  optionsObject,
  positiveDuration,
  stringOption,
  type Clock,
  type Duration,
} from '../index.js';
import { toRedisAdapter, type RedisClient, type RedisClientAdapter } from './adapter.js';

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
   * Put before every Redis key this store writes. Without `{` or `}`: the stores place the Redis
   * Cluster hash tag in their keys themselves.
   * @defaultValue `'bulwark:'`
   */
  readonly prefix?: string | undefined;
  /**
   * Longest a decision waits for Redis; after it, the call is decided as `onStoreError` says.
   * A finite duration > 0.
   * @defaultValue `'250ms'`
   */
  readonly storeTimeout?: Duration | undefined;
  /**
   * Longest a decision waits for a client still making its first connection (never ready yet:
   * a process starting, the example above using the client right after `new Redis(...)`). Until
   * then commands wait in the client's queue; after it, or as soon as an attempt to connect
   * fails, the call is decided as `onStoreError` says and `storeTimeout` bounds every call again.
   * The default is the store's `storeTimeout`, so a call waits at most one `storeTimeout` while
   * the server cannot be reached, start-up included; a command that gave up waiting for the
   * connection and is answered once the client connects ends the back-off at once, so the store
   * is back on Redis as soon as the client is. Raise it (`'10s'`) to have a starting process
   * share its limits from its first call, at the price of those calls waiting for the
   * connection. Only for a client whose adapter tells a first connection (`connecting`: ioredis
   * and node-redis clients do). A finite duration > 0; less than `storeTimeout` changes nothing.
   * @defaultValue the store's `storeTimeout`
   */
  readonly connectTimeout?: Duration | undefined;
  /**
   * What to do while Redis cannot answer (see {@link StoreErrorMode}).
   * @defaultValue `'local'`
   */
  readonly onStoreError?: StoreErrorMode | undefined;
  /**
   * How many processes share this key, roughly (count each worker thread that makes its own
   * store). With `onStoreError: 'local'`, each process's fallback gets `1 / instances` of the
   * limits (tokens, refill rate, concurrent calls), so the whole fleet stays near the shared
   * limit while Redis is away. An integer >= 1.
   * @defaultValue `1`
   */
  readonly instances?: number | undefined;
}

/** @internal The common options, checked and resolved. */
export interface ResolvedStoreOptions {
  /** The options as given (for a store's own options, and for its per-key views). */
  readonly raw: Record<string, unknown>;
  readonly adapter: RedisClientAdapter;
  readonly key: string;
  readonly prefix: string;
  readonly storeTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly onStoreError: StoreErrorMode;
  readonly instances: number;
}

const DEFAULTS = Object.freeze({
  prefix: 'bulwark:',
  storeTimeoutMs: 250,
  onStoreError: 'local',
  instances: 1,
});

const COMMON_KEYS: readonly string[] = Object.freeze([
  'client',
  'key',
  'prefix',
  'storeTimeout',
  'connectTimeout',
  'onStoreError',
  'instances',
]);

const MODES: readonly StoreErrorMode[] = Object.freeze(['fail-open', 'fail-closed', 'local']);

/** @internal The checked options of a store, and the key of its per-key view if it is one. */
export interface StoreSetup {
  readonly common: ResolvedStoreOptions;
  /** The per-key view's key (`store.forKey(key)`); `undefined` for a store itself. */
  readonly member: string | undefined;
}

// Marks the options a store hands to the constructor of its per-key view: already checked.
const VIEW: unique symbol = Symbol('bulwark.redis.view');

/**
 * A store's `key`: a non-empty string.
 * @throws TypeError for another type, RangeError for the empty string
 */
function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '') {
    fail(key === '' ? RangeError : TypeError, 'key', 'a non-empty string', key);
  }
}

/**
 * @internal The options argument that makes a store's constructor build the per-key view of
 * `member` on the store's checked options (`forKey`), without checking them again.
 * @throws TypeError when `member` is not a string
 */
export function viewOptions<O>(common: ResolvedStoreOptions, member: unknown): O {
  // Any string, '' included: a keyed stage hands its key function's answer here as it is.
  if (typeof member !== 'string') fail(TypeError, 'key', 'a string', member);
  const setup: StoreSetup = { common, member };
  return { [VIEW]: setup } as unknown as O;
}

/**
 * @internal Checks the options every store takes, and the unknown keys against `extraKeys` too.
 * @returns the resolved common options (whose `raw` record holds the store's own options)
 */
export function resolveStoreOptions(
  options: unknown,
  what: string,
  extraKeys: readonly string[] = [],
): StoreSetup {
  if (typeof options === 'object' && options !== null && VIEW in options) {
    return (options as { [VIEW]: StoreSetup })[VIEW];
  }
  // Required here: undefined is not an empty object.
  if (options === undefined) {
    throw new OptionTypeError('options', 'an object', options, {
      message: `${what} options must be an object, got undefined`,
    });
  }
  const known = extraKeys.length === 0 ? COMMON_KEYS : [...COMMON_KEYS, ...extraKeys];
  const raw = optionsObject(options, what, known);
  const adapter = toRedisAdapter(raw.client as RedisClient);
  const key = raw.key;
  assertKey(key);
  // Here null, like undefined, means the default (`?? undefined`), as it always has for `prefix`
  // and `onStoreError`; the core's helpers would reject it.
  const prefix = stringOption(raw.prefix ?? undefined, 'prefix', DEFAULTS.prefix);
  if (/[{}]/.test(prefix)) {
    fail(
      RangeError,
      'prefix',
      "a string without '{' or '}' (Redis Cluster hashes the text in the first braces of a key, and the stores put the key's hash tag there themselves)",
      prefix,
    );
  }
  const storeTimeoutMs = positiveDuration(
    raw.storeTimeout,
    'storeTimeout',
    DEFAULTS.storeTimeoutMs,
  );
  // By default a first connection is waited for as long as one answer: at most one
  // `storeTimeout` while the server cannot be reached, start-up included.
  const connectTimeoutMs = positiveDuration(raw.connectTimeout, 'connectTimeout', storeTimeoutMs);
  const onStoreError = oneOfOption(
    raw.onStoreError ?? undefined,
    'onStoreError',
    MODES,
    DEFAULTS.onStoreError,
  );
  const instances = integerOption(raw.instances, 'instances', 1, DEFAULTS.instances);
  const common: ResolvedStoreOptions = Object.freeze({
    raw,
    adapter,
    key,
    prefix,
    storeTimeoutMs,
    connectTimeoutMs,
    onStoreError,
    instances,
  });
  return { common, member: undefined };
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
