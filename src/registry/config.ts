// Reads the configuration object (what sits under `resilience:` in YAML or JSON) into a
// normalised, frozen shape: camelCase option keys, every key checked, every error naming the
// full path of the value at fault. Building the primitives is PolicyRegistry's job.
import { didYouMean, isPlainObject, show, showShape } from '../internal/validate.js';
import { OptionTypeError, clip } from '../optionErrors.js';
import type { KindDescriptor } from '../strategies/descriptor.js';
import { KINDS } from '../strategies/index.js';

/** A kind of shared primitive, spelled as in the configuration. */
export type PrimitiveKind =
  | 'rate-limiter'
  | 'bulkhead'
  | 'time-limiter'
  | 'circuit-breaker'
  | 'retry-budget'
  | 'retry'
  | 'hedge'
  | 'chaos';

/** A kind of policy stage in the configuration: a primitive kind (not `retry-budget`) or `fallback`. */
export type ConfigStageKind = Exclude<PrimitiveKind, 'retry-budget'> | 'fallback';

/**
 * The object under the `resilience:` key of a YAML or JSON configuration, as parsed. Keys may be
 * kebab-case (as in the PyFly resilience guide) or camelCase. See
 * {@link PolicyRegistry.fromConfig}, which checks every key and value.
 *
 * Any object but an array, a function, a promise (or another thenable: `fromConfig(loadConfig())`
 * for `fromConfig(await loadConfig())`) or a `Date`: a record, or a configuration typed by an
 * interface of the application's (which has no index signature). A value typed `unknown` (a
 * validator's output) is taken once narrowed: `typeof value === 'object'`.
 */
export type ResilienceConfig =
  | Readonly<Record<string, unknown>>
  // An interface-typed object. `length`, `call`, `then` and `getTime` (no configuration key)
  // keep out arrays, functions, thenables and dates, which the registry refuses at run time.
  | (object & {
      readonly length?: never;
      readonly call?: never;
      readonly then?: never;
      readonly getTime?: never;
    });

/** @internal The kinds with shared instances, in the order the registry builds them. */
export function sharedKinds(): KindDescriptor[] {
  return KINDS.filter((kind) => kind.configKey !== undefined);
}

/** @internal The kind of this configuration name. */
export function kindNamed(name: string): KindDescriptor {
  return KINDS.find((kind) => configName(kind) === name) as KindDescriptor;
}

/** @internal A kind's name in configuration: its section, or its stage kind when it has none. */
export const configName = (kind: KindDescriptor): string => kind.configKey ?? kind.kind;

// Options that exist in code but can never come from configuration: named in a clearer message.
const CODE_ONLY_OPTIONS: readonly string[] = [
  'retryOn',
  'retryOnResult',
  'recordOn',
  'recordOnResult',
  'on',
  'method',
  'onResult',
  'random',
  'clock',
  'store',
  'key',
];

// A keyed stage's own options besides `key`: meaningless without it, so code-only with it.
const KEYED_OPTIONS: readonly string[] = ['maxKeys', 'idleTimeout'];

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
      readonly kind: string;
      readonly path: string;
      /** The shared instance of this name (`default` included). */
      readonly ref: string;
    }
  | {
      readonly kind: string;
      readonly path: string;
      /** Options for a stage of the policy's own (merged over the kind's `default` later). */
      readonly entry: ConfigEntry;
    };

type MutableKind = { default: ConfigEntry | undefined; named: Map<string, ConfigEntry> };

/** @internal The whole configuration, normalised and checked for shape. */
export interface NormalizedConfig {
  /** Every primitive kind, configured or not (an unconfigured kind has no entries). */
  readonly kinds: ReadonlyMap<string, KindConfig>;
  /** Configured policies in order, each an ordered list of stages (outermost first). */
  readonly policies: ReadonlyMap<string, readonly StageConfig[]>;
}

/** @internal camelCase to kebab-case: `maxTokens` -> `max-tokens`. */
export const kebab = (camel: string): string =>
  camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** kebab-case to camelCase: `rate-limiter` -> `rateLimiter`. */
const camel = (kebabCase: string): string =>
  kebabCase.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Every accepted spelling of each kind's name in `names` (kebab-case and camelCase, aliases too),
 * mapped to the kind; then `more`.
 */
function spellings<M extends string>(
  kinds: readonly KindDescriptor[],
  names: (kind: KindDescriptor) => readonly string[],
  more: readonly M[],
): Map<string, KindDescriptor | M> {
  const map = new Map<string, KindDescriptor | M>();
  for (const kind of kinds) {
    for (const name of names(kind)) map.set(name, kind).set(camel(name), kind);
  }
  for (const name of more) map.set(name, name);
  return map;
}

/** A kind's name and aliases. */
const namesOf = (kind: KindDescriptor): readonly string[] => [
  configName(kind),
  ...(kind.aliases ?? []),
];

/** @internal `path.key`, or `path["odd key"]` when the key would not read as one segment. */
export function child(path: string, key: string): string {
  return /^[A-Za-z0-9_$-]+$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * The one error of a configuration: an OptionTypeError with the message `path: message`, whose
 * `option` is the path of the value at fault (`option`, the entry's own path unless given). A path
 * longer than 1000 characters (a huge key in it) shows its first 1000 in the message.
 */
function fail(
  path: string,
  message: string,
  expected: string,
  received: unknown,
  option = path,
): never {
  throw new OptionTypeError(option, expected, received, {
    message: `${clip(path, 1000)}: ${message}`,
  });
}

/**
 * Refuses a second spelling of one `what` under `path` (`maxAttempts` after `max-attempts`): the
 * error names both and sits at the second.
 */
function twice(path: string, what: string, earlier: string, key: string, value: unknown): never {
  return fail(
    path,
    `\`${earlier}\` and \`${key}\` are the same ${what}; give one`,
    `one spelling of each ${what}`,
    value,
    child(path, key),
  );
}

/**
 * @internal Whether a configuration writes its keys in kebab-case, judged by `key` and the keys
 * `beside` it: kebab-case when any of them has a hyphen; camelCase when one beside it has a
 * capital; else as `key` is written (camelCase only when it has a capital).
 */
export function writesKebab(key: string, beside: Iterable<string>): boolean {
  let capitals = false;
  for (const other of [key, ...beside]) {
    if (other.includes('-')) return true;
    if (other !== key) capitals ||= /[A-Z]/.test(other);
  }
  return !capitals && !/[A-Z]/.test(key);
}

/**
 * `unknown <what> \`key\``, with the nearest of `names` (kebab-case or camelCase) suggested when
 * one is near enough, spelled as the keys `beside` it are (see {@link writesKebab}).
 */
function unknown(
  path: string,
  what: string,
  key: string,
  names: readonly string[],
  beside: Iterable<string>,
  received: unknown,
): never {
  const spell = writesKebab(key, beside) ? (name: string) => kebab(camel(name)) : camel;
  fail(
    path,
    `unknown ${what} \`${clip(key)}\`${didYouMean(key, [...names, ...names.map(spell)], spell)}`,
    `a known ${what}`,
    received,
    child(path, key),
  );
}

/**
 * @internal How deep a configuration may nest objects and arrays, the configuration itself being
 * the first level: deeper is refused, naming the path, before anything reads it.
 */
export const MAX_CONFIG_DEPTH = 100;

/** An object or array of a configuration being walked, and its items still to walk. */
interface Walked {
  readonly value: object;
  readonly path: string;
  readonly level: number;
  readonly items: Array<[key: string | number, item: unknown]>;
}

/**
 * Throws when any own key anywhere in `config` is `__proto__`, `constructor` or `prototype`, or
 * when objects and arrays nest deeper than {@link MAX_CONFIG_DEPTH}. A walk with a stack of its
 * own, not a call per level, so that no depth overflows the call stack: every later walk of the
 * configuration (copying it, comparing it on reload) then goes at most that deep.
 */
function checkShape(config: unknown, root: string): void {
  // Each object or array with the deepest level it was walked at: one reached again deeper (a
  // value shared by two places, as a YAML alias makes) is walked again from there, one inside
  // itself (a loop, which a fallback's `value` may hold) is not.
  const deepest = new Map<object, number>();
  const open = new Set<object>();
  const stack: Walked[] = [];
  const enter = (value: unknown, path: string, level: number): void => {
    if (!(Array.isArray(value) || isPlainObject(value)) || open.has(value)) return;
    if ((deepest.get(value) ?? 0) >= level) return;
    if (level > MAX_CONFIG_DEPTH) {
      fail(
        path,
        `objects and arrays may nest at most ${MAX_CONFIG_DEPTH} levels deep in a configuration; this one is at level ${level}`,
        `a value nested at most ${MAX_CONFIG_DEPTH} levels deep`,
        value,
      );
    }
    deepest.set(value, level);
    open.add(value);
    const items: Walked['items'] = [];
    if (Array.isArray(value)) value.forEach((item, i) => items.push([i, item]));
    else for (const entry of Object.entries(value)) items.push(entry);
    stack.push({ value, path, level, items: items.reverse() });
  };
  enter(config, root, 1);
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    const next = top.items.pop();
    if (!next) {
      open.delete(top.value);
      stack.pop();
      continue;
    }
    const [key, item] = next;
    if (typeof key == 'number') {
      enter(item, `${top.path}[${key}]`, top.level + 1);
      continue;
    }
    if (/^(__proto__|constructor|prototype)$/.test(key)) {
      fail(
        child(top.path, key),
        `the key \`${key}\` is not allowed`,
        'a key other than `__proto__`, `constructor` and `prototype`',
        item,
      );
    }
    enter(item, child(top.path, key), top.level + 1);
  }
}

/** An object of entries; `null` (an empty YAML mapping) reads as empty. */
function objectAt(value: unknown, path: string, what: string): Record<string, unknown> {
  if (value == null) return {};
  return isPlainObject(value)
    ? value
    : fail(path, `must be ${what}, got ${showShape(value)}`, what, value);
}

/** A frozen {@link ConfigEntry}. */
function entry(
  path: string,
  options: Record<string, unknown>,
  spelled: Record<string, string>,
): ConfigEntry {
  return Object.freeze({ path, options: Object.freeze(options), spelled: Object.freeze(spelled) });
}

/**
 * Refuses the option `written` of the entry at `path`, which is code (a function, or an option
 * that goes with one): it `cannot` come from configuration; the policy is built in code
 * (`builder` shows how, if anything) and registered.
 */
function codeOnly(
  path: string,
  written: string,
  cannot: string,
  builder: string,
  expected: string,
  received: unknown,
  at: string,
): never {
  return fail(
    path,
    `the option \`${written}\` ${cannot} (it is code, not data); ` +
      `build that policy with Policy.builder()${builder} and register it`,
    expected,
    received,
    at,
  );
}

/** Reads one options object of `kind` at `path` into a {@link ConfigEntry}. */
function readEntry(kind: KindDescriptor, raw: unknown, path: string): ConfigEntry {
  const source = objectAt(raw, path, `an object of ${configName(kind)} options`);
  const known = kind.configOptions.filter((k) => !CODE_ONLY_OPTIONS.includes(k));
  const spelled = Object.create(null) as Record<string, string>;
  const options = readOptions(source, path, '', spelled, [], (key, canonical) => {
    if (known.includes(canonical)) return;
    // A keyed stage's `max-keys` and `idle-timeout` go with a `key` function, which is code.
    const keyed = kind.keyable === true && KEYED_OPTIONS.includes(canonical);
    if (keyed || CODE_ONLY_OPTIONS.includes(canonical)) {
      codeOnly(
        path,
        key,
        `${keyed ? 'needs a `key` function, which ' : ''}cannot come from configuration`,
        keyed ? ` (\`.${camel(configName(kind))}({ key, ${canonical} })\`)` : '',
        'an option a configuration can set',
        source[key],
        child(path, key),
      );
    }
    unknown(path, 'option', key, known, Object.keys(source), source[key]);
  });
  return entry(path, options, spelled);
}

// Options whose value is data handed back to callers, at any depth (a fallback's `value`, a
// chaos result's `value`): kept as written, keys and all.
/** @internal */
export const DATA_OPTIONS: readonly string[] = ['value'];

/**
 * A frozen copy of an entry's options (`prefix` empty, each key first passed to `check`) or of
 * the option `prefix` in it, whose nested option objects (a bulkhead's `limit`, a snapshot in
 * `initialState`) take kebab-case or camelCase keys as the entry's own options do: each key is
 * turned to camelCase, its spelling recorded in `spelled` under its camelCase path
 * (`limit.minSamples` -> `limit.min-samples`), and a second spelling of one key refused.
 */
function readOptions(
  value: Record<string, unknown>,
  path: string,
  prefix: string,
  spelled: Record<string, string>,
  ancestors: readonly unknown[],
  check?: (key: string, canonical: string) => void,
): Record<string, unknown> {
  const copy = Object.create(null) as Record<string, unknown>;
  const seen = Object.create(null) as Record<string, string>;
  const written = spelled[prefix];
  const inner = prefix === '' ? [] : [...ancestors, value];
  for (const key of Object.keys(value)) {
    const canonical = camel(key);
    const item = value[key];
    check?.(key, canonical);
    const earlier = seen[canonical];
    if (earlier !== undefined) {
      twice(written === undefined ? path : child(path, written), 'option', earlier, key, item);
    }
    seen[canonical] = key;
    const at = written === undefined ? canonical : `${prefix}.${canonical}`;
    const as = (spelled[at] = written === undefined ? key : `${written}.${key}`);
    // An option that takes data or code (a retry's `delay`, a chaos stage's `enabled` or
    // `fault.error`) takes only its data here: a function is code.
    if (typeof item === 'function' && !DATA_OPTIONS.includes(canonical)) {
      codeOnly(
        path,
        as,
        'cannot come from configuration as a function',
        '',
        'data, not a function',
        item,
        `${path}.${as}`,
      );
    }
    // A loop is no option object: the primitive refuses it.
    copy[canonical] =
      DATA_OPTIONS.includes(canonical) || !isPlainObject(item) || inner.includes(item)
        ? frozenCopy(item, new Map())
        : readOptions(item, path, at, spelled, inner);
  }
  return Object.freeze(copy);
}

/**
 * A frozen deep copy of the plain objects and arrays in a configured value (anything else is kept
 * as it is): the registry never shares a container with the configuration it was given, so a
 * caller that changes a configured fallback value cannot change the configuration, a later
 * caller's answer or what `reload` compares.
 */
function frozenCopy(value: unknown, copies: Map<unknown, unknown>): unknown {
  const array = Array.isArray(value);
  if (!array && !isPlainObject(value)) return value;
  const known = copies.get(value);
  if (known !== undefined) return known;
  const copy: Record<string, unknown> | unknown[] = array
    ? []
    : // An object of another realm becomes one of this realm's.
      (Object.create(Object.getPrototypeOf(value) === null ? null : Object.prototype) as Record<
        string,
        unknown
      >);
  copies.set(value, copy);
  for (const [key, item] of Object.entries(value as object)) {
    (copy as Record<string, unknown>)[key] = frozenCopy(item, copies);
  }
  return Object.freeze(copy);
}

/**
 * @internal Checks the shape of a configuration and normalises it. Values (numbers, durations)
 * are checked when the registry builds the primitives, with the same paths.
 *
 * @param root - the path the configuration sits at, for messages
 */
export function normalizeConfig(config: unknown, root = 'resilience'): NormalizedConfig {
  checkShape(config, root);
  const top = objectAt(config, root, 'an object (the settings under `resilience:`)');
  const shared = sharedKinds();
  const kinds = new Map<string, MutableKind>(
    shared.map((kind) => [configName(kind), { default: undefined, named: new Map() }]),
  );
  const topLevel = spellings(KINDS, namesOf, ['policies']);
  const policies = new Map<string, readonly StageConfig[]>();
  const seen = new Map<KindDescriptor | string, string>();
  let policiesKey: string | undefined;

  for (const key of Object.keys(top)) {
    const kind =
      topLevel.get(key) ??
      unknown(root, 'key', key, [...topLevel.keys()], Object.keys(top), top[key]);
    const earlier = seen.get(kind);
    const path = child(root, key);
    if (earlier !== undefined) twice(root, 'key', earlier, key, top[key]);
    seen.set(kind, key);
    if (kind === 'policies') {
      policiesKey = key;
      continue;
    }
    const target = kinds.get(configName(kind));
    if (target === undefined) {
      fail(
        path,
        `a ${configName(kind)} has no shared instances; declare it inside a policy (\`- ${
          kind.inline?.example.slice(1, -1) ?? `${configName(kind)}: {}`
        }\`)`,
        'a stage of a policy, not a top-level key',
        top[key],
      );
    }
    const entries = objectAt(
      top[key],
      path,
      `an object mapping names to ${configName(kind)} options`,
    );
    for (const name of Object.keys(entries)) {
      const read = readEntry(kind, entries[name], child(path, name));
      if (name === 'default') target.default = read;
      else target.named.set(name, read);
    }
  }

  // Policies last, so a policy may name instances configured after it.
  if (policiesKey !== undefined) {
    const path = child(root, policiesKey);
    const stageKinds = spellings(
      KINDS.filter((kind) => kind.stateOnly !== true),
      namesOf,
      [],
    );
    const raw = objectAt(top[policiesKey], path, 'an object mapping policy names to stage lists');
    for (const name of Object.keys(raw)) {
      // As `Policy.builder('')` refuses it.
      if (name === '') {
        fail(
          child(path, name),
          'a policy name must be a non-empty string, got ""',
          'a non-empty string',
          name,
        );
      }
      policies.set(
        name,
        readPolicy(raw[name], child(path, name), kinds, stageKinds, Object.keys(top)),
      );
    }
  }
  return Object.freeze({ kinds, policies });
}

/**
 * Reads the stages of one policy; `sections`, the configuration's top-level keys, tell with its
 * other stages how a stage kind not known would be spelled.
 */
function readPolicy(
  raw: unknown,
  path: string,
  kinds: ReadonlyMap<string, KindConfig>,
  stageKinds: ReadonlyMap<string, KindDescriptor>,
  sections: readonly string[],
): readonly StageConfig[] {
  if (!Array.isArray(raw)) {
    fail(
      path,
      `must be a list of stages, outermost first (e.g. \`- retry: { max-attempts: 3 }\`), got ${show(raw)}`,
      'a list of stages',
      raw,
    );
  }
  return Object.freeze(
    raw.map((item: unknown, i): StageConfig => {
      const at = `${path}[${i}]`;
      const keys = isPlainObject(item) ? Object.keys(item) : [];
      if (keys.length !== 1) {
        fail(
          at,
          `a stage must be an object with exactly one key, its kind (e.g. \`bulkhead: { max-concurrent: 10 }\`), got ${
            isPlainObject(item) ? `${keys.length} keys` : showShape(item)
          }`,
          'an object with exactly one key, its kind',
          item,
        );
      }
      const key = keys[0] as string;
      const stage = (item as Record<string, unknown>)[key];
      const kind =
        stageKinds.get(key) ??
        unknown(at, 'stage kind', key, [...stageKinds.keys()], besideStage(raw, sections), stage);
      return readStage(kind, stage, child(at, key), kinds);
    }),
  );
}

/**
 * @internal The names a reference to a shared instance of the kind `name` may use, for messages:
 * the configured ones, and `default`, which is always known (said so when it is not configured).
 */
export function knownNames(name: string, config: KindConfig): string {
  const named = [...config.named.keys()];
  if (config.default !== undefined)
    return `known ${name} names: ${['default', ...named].join(', ')}`;
  return (
    (named.length === 0
      ? `no ${name} is configured`
      : `configured ${name} names: ${named.join(', ')}`) + '; `default` names the built-in defaults'
  );
}

/** The keys of a policy's stages and the configuration's sections. */
function* besideStage(stages: unknown[], sections: readonly string[]): Iterable<string> {
  for (const stage of stages) if (isPlainObject(stage)) yield* Object.keys(stage);
  yield* sections;
}

function readStage(
  kind: KindDescriptor,
  value: unknown,
  path: string,
  kinds: ReadonlyMap<string, KindConfig>,
): StageConfig {
  const name = configName(kind);
  const config = kinds.get(name);
  const shorthand = kind.shorthand;
  if (config !== undefined) {
    if (typeof value === 'string' && (value === 'default' || config.named.has(value))) {
      return Object.freeze({ kind: name, path, ref: value });
    }
    // `- time-limiter: 3s`: options of the policy's own. Nothing is "spelled", so an error names
    // the stage's path itself.
    const own =
      typeof value === 'string' || typeof value === 'number'
        ? shorthand?.options(value)
        : undefined;
    if (own !== undefined) {
      return Object.freeze({
        kind: name,
        path,
        entry: entry(
          path,
          Object.assign(Object.create(null) as Record<string, unknown>, own),
          Object.create(null) as Record<string, string>,
        ),
      });
    }
    if (typeof value === 'string') {
      const names = ['default', ...config.named.keys()];
      fail(
        path,
        `${show(value)} ${shorthand ? `is neither ${shorthand.what} nor` : 'is not'} a configured ${name}` +
          `${didYouMean(value, names)}; ${knownNames(name, config)}`,
        `${shorthand ? `${shorthand.what} or ` : ''}the name of a configured ${name}`,
        value,
      );
    }
    if (value != null && !isPlainObject(value)) {
      const expected =
        `an object of ${name} options or the name of a configured ${name}` +
        `${shorthand ? ` or ${shorthand.what}` : ''}`;
      fail(path, `must be ${expected}, got ${showShape(value)}`, expected, value);
    }
  }
  const read = readEntry(kind, value, path);
  const inline = kind.inline;
  if (inline !== undefined && !(inline.requires in read.options)) {
    fail(
      path,
      `a ${name} from configuration needs \`${inline.requires}\` (e.g. ${inline.example})`,
      `an object with \`${inline.requires}\``,
      value,
    );
  }
  return Object.freeze({ kind: name, path, entry: read });
}
