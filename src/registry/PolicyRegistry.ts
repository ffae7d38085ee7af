import type { Clock } from '../internal/clock.js';
import { clockOption, closest, knownKeys, optionsObject, show } from '../internal/validate.js';
import { isOptionError, OptionRangeError, OptionTypeError } from '../optionErrors.js';
import { notify } from '../internal/listeners.js';
import type { PolicyMetrics, StageState } from '../pipeline/metrics.js';
import { Policy } from '../pipeline/Policy.js';
import { stageOf } from '../pipeline/stages.js';
import type { Bulkhead } from '../strategies/bulkhead/Bulkhead.js';
import { BULKHEAD } from '../strategies/bulkhead/kind.js';
import type { CircuitBreaker } from '../strategies/circuit-breaker/CircuitBreaker.js';
import { CIRCUIT_BREAKER } from '../strategies/circuit-breaker/kind.js';
import type { CheckedConstructor, KindDescriptor } from '../strategies/descriptor.js';
import { RATE_LIMITER } from '../strategies/rate-limiter/kind.js';
import type { RateLimiter } from '../strategies/rate-limiter/RateLimiter.js';
import { RETRY } from '../strategies/retry/kind.js';
import type { Retry } from '../strategies/retry/Retry.js';
import { RETRY_BUDGET } from '../strategies/retry-budget/kind.js';
import type { RetryBudget } from '../strategies/retry-budget/RetryBudget.js';
import { TIMEOUT } from '../strategies/timeout/kind.js';
import type { TimeLimiter } from '../strategies/timeout/TimeLimiter.js';
import {
  configName,
  kindNamed,
  normalizeConfig,
  sharedKinds,
  type ConfigEntry,
  type KindConfig,
  type NormalizedConfig,
  type PrimitiveKind,
  type ResilienceConfig,
  type StageConfig,
} from './config.js';

/** The primitive class of each configuration kind. */
export interface PrimitiveByKind {
  readonly 'rate-limiter': RateLimiter;
  readonly bulkhead: Bulkhead;
  readonly 'time-limiter': TimeLimiter;
  readonly 'circuit-breaker': CircuitBreaker;
  readonly 'retry-budget': RetryBudget;
  readonly retry: Retry;
}

/** Options of a {@link PolicyRegistry}. */
export interface PolicyRegistryOptions {
  /**
   * Source of time for every primitive and policy the registry builds (configuration cannot
   * hold a clock).
   * @defaultValue {@link systemClock}
   */
  readonly clock?: Clock;
}

/** A read-only view of what a registry holds, for health checks and instrumentation. */
export interface PolicyRegistrySnapshot {
  /** Every policy by name: configured ones first, in configuration order, then registered ones. */
  readonly policies: ReadonlyMap<string, Policy<unknown, unknown>>;
  /** Every shared primitive built so far, by kind then name (`default` included). */
  readonly primitives: ReadonlyMap<
    PrimitiveKind,
    ReadonlyMap<string, PrimitiveByKind[PrimitiveKind]>
  >;
}

/**
 * A plain, JSON-safe picture of a registry's live state, returned by
 * {@link PolicyRegistry.health}. `JSON.parse(JSON.stringify(health))` deep-equals it.
 */
export interface PolicyRegistryHealth {
  /** Each policy's {@link PolicyMetrics}, by policy name (configured first, then registered). */
  readonly policies: { readonly [name: string]: PolicyMetrics };
  /**
   * Each shared primitive built so far, by configuration kind then name (every kind is present,
   * possibly empty). Each state is shaped like that primitive's entry in `metrics().stages`, so a
   * time-limiter's state has `kind: 'timeout'`, as in a policy.
   */
  readonly primitives: { readonly [K in PrimitiveKind]: { readonly [name: string]: StageState } };
}

const EMPTY_KIND: KindConfig = /* @__PURE__ */ Object.freeze({
  default: undefined,
  named: new Map(),
});

/**
 * Named, shared primitives and named policies, usually built from a configuration object
 * (the object under `resilience:` in YAML or JSON).
 *
 * - Kinds: `rate-limiter`, `bulkhead`, `time-limiter` (also spelled `timeout`), `circuit-breaker`,
 *   `retry`, each mapping names to options; and `policies`, mapping policy names to ordered stage
 *   lists (outermost first). Keys may be kebab-case or camelCase (`max-tokens` or `maxTokens`).
 * - A kind's `default` entry supplies the defaults of every entry of that kind (named entries and
 *   a policy's inline options are merged over it). Without one, these defaults apply:
 *   rate-limiter max-tokens 10, refill-rate 10; bulkhead max-concurrent 10; time-limiter
 *   timeout 30s; the other kinds use their primitive's defaults.
 * - Durations are numbers (milliseconds) or strings such as `200ms`, `5s`, `1m30s`.
 * - A policy stage is `{ <kind>: options }` (a stage of the policy's own), `{ <kind>: name }`
 *   (the shared instance of that name, which must be configured; `default` always is), or, for a
 *   time-limiter, `{ time-limiter: 3s }`. A fallback exists only inside a policy, as
 *   `{ fallback: { value: ... } }`.
 * - Code cannot come from configuration: error filters (`retryOn`, `recordOn`, `on`),
 *   `retryOnResult`, fallback `method`, `random`, stores and clocks are rejected with a message
 *   saying so. Build such a policy with `Policy.builder()` (it may use the registry's shared
 *   instances) and {@link PolicyRegistry.register | register} it; give a clock to `fromConfig`.
 *
 * Everything is validated, and every primitive and policy built, in `fromConfig`: a bad value
 * throws there, never on first use. Each error names its full path, e.g.
 * ``TypeError: resilience.rate-limiter.payment-api: unknown option `max-tokns` (did you mean `max-tokens`?)``.
 * Keys `__proto__`, `constructor` and `prototype` are rejected anywhere. The configuration
 * object is never modified.
 *
 * @example
 * ```ts
 * import { parse } from 'yaml';
 * const registry = PolicyRegistry.fromConfig(parse(text).resilience);
 * // resilience:
 * //   rate-limiter:
 * //     default:     { max-tokens: 100, refill-rate: 50.0 }
 * //     payment-api: { max-tokens: 10,  refill-rate: 2.0 }
 * //   policies:
 * //     pricing:
 * //       - fallback: { value: null }
 * //       - rate-limiter: payment-api
 * //       - bulkhead: { max-concurrent: 10 }
 * //       - time-limiter: 3s
 * const price = await registry.policy('pricing').execute((ctx) => fetchPrice(id, { signal: ctx.signal }));
 * const limiter = registry.rateLimiter('payment-api'); // the instance the policy shares
 * ```
 */
export class PolicyRegistry {
  readonly #clock: Clock;
  #config: NormalizedConfig | undefined;
  readonly #instances = new Map<KindDescriptor, Map<string, unknown>>();
  readonly #policies = new Map<string, Policy<unknown, unknown>>();
  #registerListeners: ReadonlyArray<(policy: Policy<unknown, unknown>) => void> = [];

  /**
   * An empty registry: shared instances get the configuration defaults; add policies with
   * {@link PolicyRegistry.register}. Use {@link PolicyRegistry.fromConfig} for configuration.
   *
   * @throws TypeError for an unknown option or a clock that is not a Clock
   */
  constructor(options?: PolicyRegistryOptions) {
    const o = optionsObject(options, 'PolicyRegistry');
    knownKeys(o, ['clock'], 'PolicyRegistry');
    this.#clock = clockOption(o.clock);
    for (const kind of sharedKinds()) this.#instances.set(kind, new Map());
  }

  /**
   * Builds a registry from the object under a configuration's `resilience:` key (`null` or
   * `undefined` give an empty registry). Every configured primitive and policy is built here.
   *
   * @throws TypeError or RangeError naming the full path of the first bad key or value
   */
  static fromConfig(
    config: ResilienceConfig | null | undefined,
    options?: PolicyRegistryOptions,
  ): PolicyRegistry {
    const registry = new PolicyRegistry(options);
    registry.#load(normalizeConfig(config));
    return registry;
  }

  /** The shared RateLimiter of this name (one not configured gets the `default` settings). */
  rateLimiter(name: string): RateLimiter {
    return this.#shared(RATE_LIMITER, name);
  }

  /** The shared Bulkhead of this name (one not configured gets the `default` settings). */
  bulkhead(name: string): Bulkhead {
    return this.#shared(BULKHEAD, name);
  }

  /** The shared TimeLimiter of this name (one not configured gets the `default` settings). */
  timeLimiter(name: string): TimeLimiter {
    return this.#shared(TIMEOUT, name);
  }

  /** The shared CircuitBreaker of this name (one not configured gets the `default` settings). */
  circuitBreaker(name: string): CircuitBreaker {
    return this.#shared(CIRCUIT_BREAKER, name);
  }

  /** The shared Retry of this name (one not configured gets the `default` settings). */
  retry(name: string): Retry {
    return this.#shared(RETRY, name);
  }

  /**
   * The shared RetryBudget of this name (one not configured gets the `default` settings): the
   * budget configured retries name in their `budget` option.
   */
  retryBudget(name: string): RetryBudget {
    return this.#shared(RETRY_BUDGET, name);
  }

  /**
   * The policy of this name, configured or registered (the same object on every call). The type
   * arguments are the caller's statement of its result types; they are not checked.
   *
   * @throws Error for an unknown name, listing the known ones
   */
  policy<T = unknown, F = unknown>(name: string): Policy<T, F> {
    const policy = this.#policies.get(name);
    if (policy === undefined) {
      const names = this.names();
      const hint = typeof name === 'string' ? closest(name, names) : undefined;
      throw new Error(
        `Unknown policy ${show(name)}${hint === undefined ? '' : ` (did you mean "${hint}"?)`}; ` +
          (names.length === 0 ? 'no policies are known' : `known policies: ${names.join(', ')}`),
      );
    }
    // `T` and `F` are the caller's word: a policy runs thunks of any result type.
    return policy;
  }

  /**
   * Adds a built policy under its name (`policy.name`).
   *
   * @throws TypeError when `policy` is not a Policy
   * @throws Error when a policy of that name is already known
   */
  register(policy: Policy<unknown, unknown>): this {
    if (!(policy instanceof Policy)) {
      throw new TypeError(`\`policy\` must be a Policy, got ${show(policy)}`);
    }
    if (this.#policies.has(policy.name)) {
      throw new Error(`A policy named "${policy.name}" is already in the registry`);
    }
    this.#policies.set(policy.name, policy);
    // An observer (instrumentation) that throws or rejects must not undo or fail the registration.
    for (const listener of this.#registerListeners) notify(listener, policy);
    return this;
  }

  /**
   * @internal Calls `listener` with every policy {@link PolicyRegistry.register | registered}
   * from now on (configured policies exist before anyone can listen). Returns an unsubscribe
   * function. Used by `bulwark/otel`.
   */
  onRegister(listener: (policy: Policy<unknown, unknown>) => void): () => void {
    this.#registerListeners = [...this.#registerListeners, listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.#registerListeners = this.#registerListeners.filter((l) => l !== listener);
    };
  }

  /** The names of every policy: configured ones in configuration order, then registered ones. */
  names(): string[] {
    return [...this.#policies.keys()];
  }

  /**
   * A read-only view of the policies and the shared primitives built so far (copies: later
   * changes to the registry do not show in it).
   */
  snapshot(): PolicyRegistrySnapshot {
    const primitives = new Map<
      PrimitiveKind,
      ReadonlyMap<string, PrimitiveByKind[PrimitiveKind]>
    >();
    for (const [kind, byName] of this.#instances) {
      primitives.set(configName(kind) as PrimitiveKind, new Map(byName) as never);
    }
    return Object.freeze({ policies: new Map(this.#policies), primitives });
  }

  /**
   * A plain snapshot of every policy's metrics and every shared primitive's live state, for a
   * health endpoint or a log line. It holds only strings, finite numbers, booleans, `null`,
   * arrays and plain objects, so it survives `JSON.stringify` unchanged: a number that is not
   * finite (say, in a custom stage's `state()`) becomes `null`, a bigint becomes its decimal
   * string, functions, symbols and `undefined` are left out, an object with `toJSON` gives what
   * that returns, and a reference back to an enclosing object is left out. Built-in stages and
   * primitives report finite numbers only. A bulkhead's entry includes `orphaned`: calls whose
   * caller was answered (a deadline, an abort) while their work still holds a slot.
   *
   * @example
   * ```ts
   * const health = registry.health();
   * // { policies: { pricing: { calls: 12, successes: 11, ..., stages: [...] } },
   * //   primitives: { 'rate-limiter': { 'payment-api': { kind: 'rate-limiter',
   * //     name: 'payment-api', availableTokens: 7, maxTokens: 10 } }, bulkhead: {}, ... } }
   * response.end(JSON.stringify(health));
   * ```
   */
  health(): PolicyRegistryHealth {
    const policies: Record<string, PolicyMetrics> = {};
    for (const [name, policy] of this.#policies) {
      define(policies, name, toPlain(policy.metrics(), []));
    }
    const primitives = {} as Record<PrimitiveKind, Record<string, StageState>>;
    for (const [kind, byName] of this.#instances) {
      const states: Record<string, StageState> = {};
      for (const [name, instance] of byName) {
        const state = { kind: kind.kind, name, ...kind.state(instance) };
        define(states, name, toPlain(state, []));
      }
      primitives[configName(kind) as PrimitiveKind] = states;
    }
    return { policies, primitives };
  }

  #load(config: NormalizedConfig): void {
    this.#config = config;
    for (const kind of sharedKinds()) {
      const { default: defaults, named } = this.#kind(kind);
      // The default entry first, so that its own errors are reported at its own path.
      if (defaults !== undefined) this.#shared(kind, 'default');
      for (const name of named.keys()) this.#shared(kind, name);
    }
    for (const [name, stages] of config.policies) {
      this.#policies.set(name, this.#buildPolicy(name, stages));
    }
  }

  #kind(kind: KindDescriptor): KindConfig {
    return this.#config?.kinds.get(configName(kind)) ?? EMPTY_KIND;
  }

  #shared<P>(kind: KindDescriptor<P>, name: string): P {
    if (typeof name !== 'string') {
      throw new TypeError(`\`name\` must be a string, got ${show(name)}`);
    }
    let byName = this.#instances.get(kind) as Map<string, P> | undefined;
    if (byName === undefined) {
      byName = new Map();
      this.#instances.set(kind, byName);
    }
    let instance = byName.get(name);
    if (instance === undefined) {
      const config = this.#kind(kind);
      const entry = name === 'default' ? config.default : config.named.get(name);
      instance = this.#build(kind, entry);
      byName.set(name, instance);
    }
    return instance;
  }

  /**
   * A new primitive: the configuration defaults, then the kind's `default` entry, then `entry`
   * merged over them.
   */
  #build<P>(kind: KindDescriptor<P>, entry: ConfigEntry | undefined): P {
    const options = Object.assign(
      Object.create(null) as Record<string, unknown>,
      kind.defaults,
      this.#kind(kind).default?.options,
      entry?.options,
    );
    if (kind.configOptions.includes('clock')) options.clock = this.#clock;
    try {
      kind.fromConfig?.(options);
      for (const [option, section] of Object.entries(kind.references ?? {})) {
        const ref = options[option];
        if (ref !== undefined) options[option] = this.#reference(kindNamed(section), option, ref);
      }
      return new (kind.Primitive as CheckedConstructor<P>)(options);
    } catch (error) {
      throw entry === undefined ? error : atPath(entry, error);
    }
  }

  /** The shared instance a configured option names (`budget: api`), which must be configured. */
  #reference(kind: KindDescriptor, option: string, name: unknown): unknown {
    const config = this.#kind(kind);
    if (typeof name !== 'string' || (name !== 'default' && !config.named.has(name))) {
      const names = ['default', ...config.named.keys()];
      const hint = typeof name === 'string' ? closest(name, names) : undefined;
      throw new OptionTypeError(option, `the name of a configured ${configName(kind)}`, name, {
        message: `\`${option}\` must name a configured ${configName(kind)}${
          hint === undefined ? '' : ` (did you mean "${hint}"?)`
        }; known: ${names.join(', ')}; got ${show(name)}`,
      });
    }
    return this.#shared(kind, name);
  }

  #buildPolicy(name: string, stages: readonly StageConfig[]): Policy<unknown, unknown> {
    const builder = Policy.builder(name).clock(this.#clock);
    for (const stage of stages) {
      const kind = kindNamed(stage.kind);
      const ref = 'ref' in stage ? stage.ref : undefined;
      const instance =
        ref !== undefined
          ? this.#shared(kind, ref)
          : this.#build(kind, (stage as { entry: ConfigEntry }).entry);
      builder.use(stageOf(kind, instance, ref));
    }
    return builder.build();
  }
}

/** A shared primitive's state, shaped as its stage's entry in `policy.metrics().stages`. */
const MAX_DEPTH = 64;

/** Sets an own enumerable property, so that a name such as `__proto__` stays a plain key. */
function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * A copy of `value` made of JSON's own values only, as `JSON.stringify` would see it, except that
 * bigints become strings and references back to an enclosing object (or anything nested deeper
 * than {@link MAX_DEPTH}) are left out instead of throwing. `undefined` means "leave out".
 */
function toPlain(value: unknown, ancestors: object[]): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return null;
  // A cycle, or a chain of `toJSON` results that never ends, is cut off.
  if (ancestors.length >= MAX_DEPTH || ancestors.includes(value)) return undefined;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    let json: unknown;
    try {
      json = toJSON.call(value);
    } catch {
      return undefined;
    }
    return json === value ? undefined : toPlain(json, [...ancestors, value]);
  }
  const inner = [...ancestors, value];
  if (Array.isArray(value)) {
    return value.map((item) => {
      const plain = toPlain(item, inner);
      return plain === undefined ? null : plain;
    });
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    let item: unknown;
    try {
      item = (value as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    const plain = toPlain(item, inner);
    if (plain !== undefined) define(copy, key, plain);
  }
  return copy;
}

/**
 * A validation error with the entry's path in front: for an option error, the path of the option
 * when the entry sets it (else the entry's), and the same class and fields with that path as
 * `option`.
 */
function atPath(entry: ConfigEntry, error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (isOptionError(error)) {
    const spelled = entry.spelled[error.option];
    const option = spelled === undefined ? entry.path : `${entry.path}.${spelled}`;
    return new (error instanceof RangeError ? OptionRangeError : OptionTypeError)(
      option,
      error.expected,
      error.received,
      { message: `${option}: ${error.message}`, cause: error },
    );
  }
  const Class =
    error instanceof RangeError ? RangeError : error instanceof TypeError ? TypeError : Error;
  return new Class(`${entry.path}: ${error.message}`, { cause: error });
}
