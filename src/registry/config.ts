// Reads the configuration object (what sits under `resilience:` in YAML or JSON) into a
// normalised, frozen shape: camelCase option keys, every key checked, every error naming the
// full path of the value at fault. Building the primitives is PolicyRegistry's job.
import { toMs } from '../internal/duration.js';
import { closest, show } from '../internal/validate.js';
import { BULKHEAD_OPTIONS } from '../primitives/Bulkhead.js';
import { CIRCUIT_BREAKER_OPTIONS } from '../primitives/CircuitBreaker.js';
import { FALLBACK_OPTIONS } from '../primitives/Fallback.js';
import { RATE_LIMITER_OPTIONS } from '../primitives/RateLimiter.js';
import { RETRY_OPTIONS } from '../primitives/Retry.js';
import { TIME_LIMITER_OPTIONS } from '../primitives/TimeLimiter.js';

/** A kind of shared primitive, spelled as in the configuration. */
export type PrimitiveKind =
  'rate-limiter' | 'bulkhead' | 'time-limiter' | 'circuit-breaker' | 'retry';

/** A kind of policy stage in the configuration: a primitive kind or `fallback`. */
export type ConfigStageKind = PrimitiveKind | 'fallback';

/**
 * The object under the `resilience:` key of a YAML or JSON configuration, as parsed. Keys may be
 * kebab-case (as in the PyFly resilience guide) or camelCase. See
 * {@link PolicyRegistry.fromConfig}.
 */
export type ResilienceConfig = Readonly<Record<string, unknown>>;

/** @internal The primitive kinds, in the order the registry builds them. */
export const PRIMITIVE_KINDS: readonly PrimitiveKind[] = Object.freeze([
  'rate-limiter',
  'bulkhead',
  'time-limiter',
  'circuit-breaker',
  'retry',
]);

// Options that exist in code but can never come from configuration: named in a clearer message.
const CODE_ONLY_OPTIONS: readonly string[] = Object.freeze([
  'retryOn',
  'retryOnResult',
  'recordOn',
  'on',
  'method',
  'random',
  'clock',
  'store',
]);

const dataOnly = (keys: readonly string[]): readonly string[] =>
  Object.freeze(keys.filter((k) => !CODE_ONLY_OPTIONS.includes(k)));

/**
 * @internal The options each kind takes from configuration (camelCase): each primitive's own
 * options, less error filters, result predicates, clocks, stores and random sources, which are
 * code, not data.
 */
const CONFIG_OPTIONS: Readonly<Record<ConfigStageKind, readonly string[]>> = Object.freeze({
  'rate-limiter': /* @__PURE__ */ dataOnly(RATE_LIMITER_OPTIONS),
  bulkhead: /* @__PURE__ */ dataOnly(BULKHEAD_OPTIONS),
  'time-limiter': /* @__PURE__ */ dataOnly(TIME_LIMITER_OPTIONS),
  'circuit-breaker': /* @__PURE__ */ dataOnly(CIRCUIT_BREAKER_OPTIONS),
  retry: /* @__PURE__ */ dataOnly(RETRY_OPTIONS),
  fallback: /* @__PURE__ */ dataOnly(FALLBACK_OPTIONS),
});

/**
 * @internal The defaults for a kind without a `default` entry, the PyFly resilience guide's:
 * rate-limiter max-tokens 10, refill-rate 10; bulkhead max-concurrent 10; time-limiter timeout
 * 30s. The other kinds use their primitive's own defaults.
 */
export const CONFIG_DEFAULTS: Readonly<Record<PrimitiveKind, Readonly<Record<string, unknown>>>> =
  Object.freeze({
    'rate-limiter': Object.freeze({ maxTokens: 10, refillRate: 10 }),
    bulkhead: Object.freeze({ maxConcurrent: 10 }),
    'time-limiter': Object.freeze({ timeout: 30_000 }),
    'circuit-breaker': Object.freeze({}),
    retry: Object.freeze({}),
  });

const FORBIDDEN_KEYS: readonly string[] = Object.freeze(['__proto__', 'constructor', 'prototype']);

/** @internal One configured set of options, with where it came from. */
export interface ConfigEntry {
  /** Full path of the entry, e.g. `resilience.rate-limiter.payment-api`. */
  readonly path: string;
  /** The options, camelCase keys, as given (not merged with any default). */
  readonly options: Readonly<Record<string, unknown>>;
  /** For each camelCase key given, the key as written (for error paths). */
  readonly spelled: Readonly<Record<string, string>>;
}

/** @internal One kind's configuration: its `default` entry and its named entries. */
export interface KindConfig {
  readonly default: ConfigEntry | undefined;
  readonly named: ReadonlyMap<string, ConfigEntry>;
}

/** @internal One stage of a configured policy. */
export type StageConfig =
  | {
      readonly kind: ConfigStageKind;
      readonly path: string;
      /** The shared instance of this name (`default` included). */
      readonly ref: string;
    }
  | {
      readonly kind: ConfigStageKind;
      readonly path: string;
      /** Options for a stage of the policy's own (merged over the kind's `default` later). */
      readonly entry: ConfigEntry;
    };

/** @internal The whole configuration, normalised and checked for shape. */
export interface NormalizedConfig {
  /** Every primitive kind, configured or not (an unconfigured kind has no entries). */
  readonly kinds: ReadonlyMap<PrimitiveKind, KindConfig>;
  /** Configured policies in order, each an ordered list of stages (outermost first). */
  readonly policies: ReadonlyMap<string, readonly StageConfig[]>;
}

/** camelCase to kebab-case: `maxTokens` -> `max-tokens`. */
function kebab(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** kebab-case to camelCase: `rate-limiter` -> `rateLimiter`. */
function camel(kebabCase: string): string {
  return kebabCase.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Every accepted spelling of each kind (kebab-case and camelCase), mapped to the kind. */
function spellings<K extends string>(
  kinds: readonly K[],
  more: readonly K[],
): ReadonlyMap<string, K> {
  return new Map([...kinds, ...more].flatMap((k) => [[k, k] as const, [camel(k), k] as const]));
}

// Every accepted spelling of each top-level key, mapped to its canonical kebab-case kind.
const TOP_LEVEL = /* @__PURE__ */ spellings<PrimitiveKind | 'policies' | 'fallback'>(
  PRIMITIVE_KINDS,
  ['fallback', 'policies'],
);
const STAGE_KINDS = /* @__PURE__ */ spellings<ConfigStageKind>(PRIMITIVE_KINDS, ['fallback']);

/** @internal `path.key`, or `path["odd key"]` when the key would not read as one segment. */
export function child(path: string, key: string): string {
  return /^[A-Za-z0-9_$-]+$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Shows a received value in a message, telling a plain object from any other kind. */
function shape(value: unknown): string {
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !isPlainObject(value)
  ) {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } }).constructor
      ?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object'
      ? `an instance of ${name}`
      : 'an object with a prototype of its own (only plain objects are read)';
  }
  return show(value);
}

/** Throws when any own key anywhere in `value` is `__proto__`, `constructor` or `prototype`. */
function rejectPrototypeKeys(value: unknown, path: string, seen: Set<object>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, i) => rejectPrototypeKeys(item, `${path}[${i}]`, seen));
    return;
  }
  if (!isPlainObject(value)) return;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.includes(key)) {
      throw new TypeError(`${child(path, key)}: the key \`${key}\` is not allowed`);
    }
    rejectPrototypeKeys(value[key], child(path, key), seen);
  }
}

/** An object of entries; `null` (an empty YAML mapping) reads as empty. */
function objectAt(value: unknown, path: string, what: string): Record<string, unknown> {
  if (value === null || value === undefined) return Object.create(null) as Record<string, unknown>;
  if (!isPlainObject(value)) {
    throw new TypeError(`${path}: must be ${what}, got ${shape(value)}`);
  }
  return value;
}

/** Reads one options object of `kind` at `path` into a {@link ConfigEntry}. */
function readEntry(kind: ConfigStageKind, raw: unknown, path: string): ConfigEntry {
  const source = objectAt(raw, path, `an object of ${kind} options`);
  const known = CONFIG_OPTIONS[kind];
  const spellings = known.flatMap((k) => (kebab(k) === k ? [k] : [kebab(k), k]));
  const options = Object.create(null) as Record<string, unknown>;
  const spelled = Object.create(null) as Record<string, string>;
  for (const key of Object.keys(source)) {
    const canonical = camel(key);
    if (!known.includes(canonical)) {
      if (CODE_ONLY_OPTIONS.includes(canonical)) {
        throw new TypeError(
          `${path}: the option \`${key}\` cannot come from configuration (it is code, not data); ` +
            'build that policy with Policy.builder() and register it',
        );
      }
      const hint = closest(key, spellings);
      throw new TypeError(
        `${path}: unknown option \`${key}\`${hint === undefined ? '' : ` (did you mean \`${hint}\`?)`}`,
      );
    }
    const earlier = spelled[canonical];
    if (earlier !== undefined) {
      throw new TypeError(`${path}: \`${earlier}\` and \`${key}\` are the same option; give one`);
    }
    spelled[canonical] = key;
    options[canonical] = source[key];
  }
  return Object.freeze({ path, options: Object.freeze(options), spelled: Object.freeze(spelled) });
}

function unknownKey(path: string, key: string, candidates: readonly string[], what: string): never {
  const hint = closest(key, candidates);
  throw new TypeError(
    `${path}: unknown ${what} \`${key}\`${hint === undefined ? '' : ` (did you mean \`${hint}\`?)`}`,
  );
}

/** @internal Names a kind accepts as references, for messages: `default` first. */
export function knownNames(kind: KindConfig): string[] {
  return ['default', ...[...kind.named.keys()]];
}

/**
 * @internal Checks the shape of a configuration and normalises it. Values (numbers, durations)
 * are checked when the registry builds the primitives, with the same paths.
 *
 * @param root - the path the configuration sits at, for messages
 */
export function normalizeConfig(config: unknown, root = 'resilience'): NormalizedConfig {
  rejectPrototypeKeys(config, root, new Set());
  const top = objectAt(config, root, 'an object (the settings under `resilience:`)');
  const kinds = new Map<
    PrimitiveKind,
    { default: ConfigEntry | undefined; named: Map<string, ConfigEntry> }
  >();
  for (const kind of PRIMITIVE_KINDS) kinds.set(kind, { default: undefined, named: new Map() });
  let policiesKey: string | undefined;
  const seen = new Map<string, string>();

  for (const key of Object.keys(top)) {
    const kind = TOP_LEVEL.get(key);
    if (kind === undefined) unknownKey(root, key, [...TOP_LEVEL.keys()], 'key');
    const earlier = seen.get(kind);
    if (earlier !== undefined) {
      throw new TypeError(`${root}: \`${earlier}\` and \`${key}\` are the same key; give one`);
    }
    seen.set(kind, key);
    const path = child(root, key);
    if (kind === 'fallback') {
      throw new TypeError(
        `${path}: a fallback has no shared instances; declare it inside a policy (\`- fallback: { value: null }\`)`,
      );
    }
    if (kind === 'policies') {
      policiesKey = key;
      continue;
    }
    const target = kinds.get(kind) as {
      default: ConfigEntry | undefined;
      named: Map<string, ConfigEntry>;
    };
    const entries = objectAt(top[key], path, `an object mapping names to ${kind} options`);
    for (const name of Object.keys(entries)) {
      const entry = readEntry(kind, entries[name], child(path, name));
      if (name === 'default') target.default = entry;
      else target.named.set(name, entry);
    }
  }

  const policies = new Map<string, readonly StageConfig[]>();
  if (policiesKey !== undefined) {
    const path = child(root, policiesKey);
    const raw = objectAt(top[policiesKey], path, 'an object mapping policy names to stage lists');
    for (const name of Object.keys(raw)) {
      policies.set(name, readPolicy(raw[name], child(path, name), kinds));
    }
  }
  return Object.freeze({ kinds, policies });
}

function readPolicy(
  raw: unknown,
  path: string,
  kinds: ReadonlyMap<PrimitiveKind, KindConfig>,
): readonly StageConfig[] {
  if (!Array.isArray(raw)) {
    throw new TypeError(
      `${path}: must be a list of stages, outermost first (e.g. \`- retry: { max-attempts: 3 }\`), got ${show(raw)}`,
    );
  }
  return Object.freeze(
    raw.map((item: unknown, i): StageConfig => {
      const at = `${path}[${i}]`;
      const keys = isPlainObject(item) ? Object.keys(item) : [];
      if (!isPlainObject(item) || keys.length !== 1) {
        throw new TypeError(
          `${at}: a stage must be an object with exactly one key, its kind (e.g. \`bulkhead: { max-concurrent: 10 }\`), got ${
            isPlainObject(item) ? `${keys.length} keys` : shape(item)
          }`,
        );
      }
      const key = keys[0] as string;
      const kind = STAGE_KINDS.get(key);
      if (kind === undefined) unknownKey(at, key, [...STAGE_KINDS.keys()], 'stage kind');
      return readStage(kind, item[key], child(at, key), kinds);
    }),
  );
}

function readStage(
  kind: ConfigStageKind,
  value: unknown,
  path: string,
  kinds: ReadonlyMap<PrimitiveKind, KindConfig>,
): StageConfig {
  if (kind === 'fallback') {
    const entry = readEntry(kind, value, path);
    if (!('value' in entry.options)) {
      throw new TypeError(
        `${path}: a fallback from configuration needs \`value\` (e.g. \`fallback: { value: null }\`)`,
      );
    }
    return Object.freeze({ kind, path, entry });
  }
  const config = kinds.get(kind) as KindConfig;
  if (typeof value === 'string') {
    if (value === 'default' || config.named.has(value))
      return Object.freeze({ kind, path, ref: value });
    if (kind === 'time-limiter' && isDuration(value)) {
      return Object.freeze({ kind, path, entry: shorthandTimeout(value, path) });
    }
    const names = knownNames(config);
    const hint = closest(value, names);
    throw new TypeError(
      `${path}: ${kind === 'time-limiter' ? `${show(value)} is neither a duration nor` : `${show(value)} is not`} ` +
        `a configured ${kind}${hint === undefined ? '' : ` (did you mean \`${hint}\`?)`}; known ${kind} names: ${names.join(', ')}`,
    );
  }
  if (typeof value === 'number' && kind === 'time-limiter') {
    return Object.freeze({ kind, path, entry: shorthandTimeout(value, path) });
  }
  if (value !== null && value !== undefined && !isPlainObject(value)) {
    throw new TypeError(
      `${path}: must be an object of ${kind} options or the name of a configured ${kind}` +
        `${kind === 'time-limiter' ? ' or a duration' : ''}, got ${shape(value)}`,
    );
  }
  return Object.freeze({ kind, path, entry: readEntry(kind, value, path) });
}

function isDuration(value: string): boolean {
  try {
    toMs(value, 'timeout');
    return true;
  } catch {
    return false;
  }
}

// `- time-limiter: 3s`: a timeout of the policy's own. Nothing is "spelled", so an error names
// the stage's path itself.
function shorthandTimeout(timeout: unknown, path: string): ConfigEntry {
  const options = Object.create(null) as Record<string, unknown>;
  options.timeout = timeout;
  return Object.freeze({
    path,
    options: Object.freeze(options),
    spelled: Object.freeze(Object.create(null) as Record<string, string>),
  });
}
