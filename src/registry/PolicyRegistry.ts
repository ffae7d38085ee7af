import type { Clock } from '../internal/clock.js';
import {
  booleanOption,
  clockOption,
  didYouMean,
  optionsObject,
  show,
  showInstead,
} from '../internal/validate.js';
import { clip, fail, isOptionError, OptionRangeError, OptionTypeError } from '../optionErrors.js';
import { listen, notify } from '../internal/listeners.js';
import { markRegistry } from '../internal/registries.js';
import { finalizers } from '../internal/weak.js';
import type { PolicyMetrics, StageState } from '../pipeline/metrics.js';
import { Policy } from '../pipeline/Policy.js';
import { stageOf } from '../pipeline/stages.js';
import type { Bulkhead } from '../strategies/bulkhead/Bulkhead.js';
import { BULKHEAD } from '../strategies/bulkhead/kind.js';
import type { CircuitBreaker } from '../strategies/circuit-breaker/CircuitBreaker.js';
import { CIRCUIT_BREAKER } from '../strategies/circuit-breaker/kind.js';
import type { CheckedConstructor, KindDescriptor, OptionValues } from '../strategies/descriptor.js';
import { RATE_LIMITER } from '../strategies/rate-limiter/kind.js';
import type { RateLimiter } from '../strategies/rate-limiter/RateLimiter.js';
import { RETRY } from '../strategies/retry/kind.js';
import type { Retry } from '../strategies/retry/Retry.js';
import { RETRY_BUDGET } from '../strategies/retry-budget/kind.js';
import type { RetryBudget } from '../strategies/retry-budget/RetryBudget.js';
import { TIMEOUT } from '../strategies/timeout/kind.js';
import type { TimeLimiter } from '../strategies/timeout/TimeLimiter.js';
import type { Hedge } from '../strategies/hedge/Hedge.js';
import { HEDGE } from '../strategies/hedge/kind.js';
import type { Chaos } from '../strategies/chaos/Chaos.js';
import { CHAOS } from '../strategies/chaos/kind.js';
import { Generations, handleFor } from './ReloadablePolicy.js';
import { resolvedOptions } from './resolved.js';
import {
  child,
  configName,
  kebab,
  kindNamed,
  knownNames,
  normalizeConfig,
  sharedKinds,
  type ConfigEntry,
  type KindConfig,
  type NormalizedConfig,
  type PrimitiveKind,
  type ResilienceConfig,
  type StageConfig,
  writesKebab,
} from './config.js';

/** The primitive class of each configuration kind. */
export interface PrimitiveByKind {
  readonly 'rate-limiter': RateLimiter;
  readonly bulkhead: Bulkhead;
  readonly 'time-limiter': TimeLimiter;
  readonly 'circuit-breaker': CircuitBreaker;
  readonly 'retry-budget': RetryBudget;
  readonly retry: Retry;
  readonly hedge: Hedge;
  readonly chaos: Chaos<unknown>;
}

/** Options of a {@link PolicyRegistry}. */
export interface PolicyRegistryOptions {
  /**
   * Source of time for every primitive and policy the registry builds (configuration cannot
   * hold a clock).
   * @defaultValue {@link systemClock}
   */
  readonly clock?: Clock | undefined;
  /**
   * Lets configuration build chaos (fault injection) stages that inject. Without it, a configured
   * `chaos` entry or stage that is not `enabled: false` is refused, naming its path, so a
   * configuration file cannot switch fault injection on in a service that did not ask for it.
   * @defaultValue false
   */
  readonly chaos?: boolean | undefined;
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

/**
 * What a {@link PolicyRegistry.reload} changed, as passed to `reload` listeners. Each entry is
 * `policies.<name>` for a configured policy, or `<kind>.<name>` for a shared primitive
 * (`circuit-breaker.inventory`), kinds spelled as in the configuration.
 */
export interface RegistryReloadEvent {
  /** Configured now and not before. */
  readonly added: readonly string[];
  /** Configured before and not now. */
  readonly removed: readonly string[];
  /**
   * Configured before and now, with other settings: a policy with another stage list or options,
   * or using a shared primitive that changed; a shared primitive with other options (a new object,
   * see {@link PolicyRegistry.reload}). Also a primitive built on demand whose `default` settings
   * changed.
   */
  readonly changed: readonly string[];
}

/** The events of a {@link PolicyRegistry}, by name. */
export interface PolicyRegistryEventMap {
  /** A {@link PolicyRegistry.reload} took effect. */
  reload: RegistryReloadEvent;
}

/** One stage of a configured policy as built: its kind, the shared name it refers to, the primitive. */
interface BuiltStage {
  readonly kind: KindDescriptor;
  readonly ref: string | undefined;
  readonly instance: unknown;
}

/** A configured policy: the handle given out, what is behind it, and the stages it was built from. */
interface Slot {
  readonly handle: Policy<unknown, unknown>;
  readonly generations: Generations;
  stages: readonly BuiltStage[];
}

/** A configuration built but not yet in place: what `reload` swaps in once all of it is built. */
interface Plan {
  readonly config: NormalizedConfig;
  readonly instances: Map<KindDescriptor, Map<string, unknown>>;
  /** The options each new primitive was built from. */
  readonly resolved: Map<object, Readonly<Record<string, unknown>>>;
  /** Each new primitive of a kind that adopts, with its kind and the one it replaces. */
  readonly replaced: Replaced;
  /** Every configured policy, in order, with its new compiled policy (undefined: unchanged). */
  readonly policies: Map<
    string,
    { stages: readonly BuiltStage[]; policy: Policy<unknown, unknown> | undefined }
  >;
  readonly event: RegistryReloadEvent;
}

/** Each new primitive of a kind that adopts (see `KindDescriptor.adopt`): its kind, the old one. */
type Replaced = Map<unknown, readonly [KindDescriptor, unknown]>;

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
 *   timeout 30s; the other kinds use their primitive's defaults. An entry that sets one of two
 *   options that cannot go together does not inherit the other (a bulkhead's `limit` leaves out
 *   a `max-concurrent` in `default`; a retry's `backoff-type: linear` or
 *   `jitter: decorrelated` a `backoff` there; see the README's Configuration section).
 * - Durations are numbers (milliseconds) or strings such as `200ms`, `5s`, `1m30s`.
 * - A policy stage is `{ <kind>: options }` (a stage of the policy's own), `{ <kind>: name }`
 *   (the shared instance of that name, which must be configured; `default` always is), or, for a
 *   time-limiter, `{ time-limiter: 3s }`. A fallback exists only inside a policy, as
 *   `{ fallback: { value: ... } }`.
 * - Code cannot come from configuration: error filters (`retryOn`, `recordOn`, `on`, an adaptive
 *   limit's `recordOn`), `retryOnResult`, fallback `method`, `random`, stores and clocks are
 *   rejected with a message saying so. Build such a policy with `Policy.builder()` (it may use the registry's shared
 *   instances) and {@link PolicyRegistry.register | register} it; give a clock to `fromConfig`.
 * - A circuit breaker or rate limiter may start from a snapshot its `toJSON()` gave (plain JSON)
 *   as `initial-state`, checked as the constructor checks it. On reload, one that exists takes
 *   over its own state instead.
 *
 * Everything is validated, and every primitive and policy built, in `fromConfig`: a bad value
 * throws there, never on first use. Each error names its full path, e.g.
 * ``TypeError: resilience.rate-limiter.payment-api: unknown option `max-tokns` (did you mean `max-tokens`?)``.
 * Keys `__proto__`, `constructor` and `prototype` are rejected anywhere. The configuration
 * object is never modified. {@link PolicyRegistry.reload} replaces the configuration later, all
 * or nothing, keeping the policy objects handed out and the state that still applies.
 *
 * @example
 * ```ts
 * import { parse } from 'yaml';
 * const config = parse(text) as { resilience: ResilienceConfig }; // checked by fromConfig
 * const registry = PolicyRegistry.fromConfig(config.resilience);
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
  readonly #flags: Readonly<Record<string, boolean>>;
  #config: NormalizedConfig | undefined;
  #instances = new Map<KindDescriptor, Map<string, unknown>>();
  // Every policy by name: the handles of configured ones first, then registered ones.
  readonly #policies = new Map<string, Policy<unknown, unknown>>();
  #configured = new Map<string, Slot>();
  /**
   * Configured policies a reload removed, by name, while anyone still holds one: a later reload
   * that configures the name again puts the same handle (its counters, its listeners) back in
   * place. Weak: the registry alone keeps no removed policy alive (names of many deploys or
   * tenants would pile up); a name whose policy was collected is dropped then (see `#collected`).
   * Where the host has no `WeakRef` or `FinalizationRegistry`, none is kept: configuring the name
   * again builds a new one.
   */
  readonly #retired = new Map<string, WeakRef<Policy<unknown, unknown>>>();
  /**
   * Drops the name of a removed policy once it is collected, unless the name moved on (configured
   * again, or its policy removed again since: another reference). No reload reads the other
   * names' references, which would keep their policies alive to the end of the job, and each
   * costs nothing after it.
   */
  readonly #collected = finalizers<readonly [string, WeakRef<Policy<unknown, unknown>>]>(
    ([name, ref]) => {
      if (this.#retired.get(name) === ref) this.#retired.delete(name);
    },
  );
  /**
   * The slot of each policy in `#retired`, by its handle: weakly, so that a removed policy
   * nobody holds any more can be collected, and its name forgotten.
   */
  readonly #retiredSlots = new WeakMap<Policy<unknown, unknown>, Slot>();
  // The options each primitive was built from, to tell on reload whether they changed.
  readonly #resolved = new WeakMap<object, Readonly<Record<string, unknown>>>();
  /** The shared instances a primitive's configured options named (`budget: api`), in order. */
  readonly #referenced = new WeakMap<object, readonly unknown[]>();
  #registerListeners: ReadonlyArray<(policy: Policy<unknown, unknown>) => unknown> = [];
  #reloadListeners: ReadonlyArray<(event: RegistryReloadEvent) => unknown> = [];
  /** Reload events still to be passed on while listeners run (undefined: none running). */
  #announcing: RegistryReloadEvent[] | undefined;

  /**
   * An empty registry: shared instances get the configuration defaults; add policies with
   * {@link PolicyRegistry.register}. Use {@link PolicyRegistry.fromConfig} for configuration.
   *
   * @throws TypeError for an unknown option or a clock that is not a Clock
   */
  constructor(options?: PolicyRegistryOptions) {
    const o = optionsObject(options, 'PolicyRegistry', ['clock', 'chaos']);
    this.#clock = clockOption(o.clock);
    this.#flags = { chaos: booleanOption(o.chaos, 'chaos', false) };
    for (const kind of sharedKinds()) this.#instances.set(kind, new Map());
    markRegistry(this);
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
    registry.#apply(registry.#plan(normalizeConfig(config)));
    return registry;
  }

  /**
   * Replaces the configuration with `config` (the object under `resilience:`, as for
   * {@link PolicyRegistry.fromConfig}), all or nothing: the whole of it is validated, and every
   * primitive and policy it needs built, before anything changes; a bad key or value throws the
   * same error, naming the same path, as `fromConfig` would, and leaves the registry as it was.
   *
   * Then it is swapped in, and `reload` listeners receive what was added, removed and changed:
   *
   * - A policy object handed out earlier by {@link PolicyRegistry.policy} stays valid: calls that
   *   start after the reload run under the new settings; calls in flight finish under the
   *   settings they started with. Its `metrics()` counts every call once, across reloads; its
   *   listeners stay subscribed. A policy no longer configured is dropped from the registry, and
   *   an object handed out for it keeps its last settings; a later reload that configures the
   *   name again while something still holds that object puts it back (reported as added),
   *   under the new settings, its counts and listeners carrying on, its own stages matched to
   *   those it had. The registry alone keeps no removed policy alive: one nothing holds can be
   *   garbage-collected, and its name configured again gets a new policy.
   * - A shared primitive (or a policy's own stage) whose options are unchanged is kept as it is:
   *   the same object, with all its state. Options are compared by value, not by spelling:
   *   `max-wait: 1s` and `1000`, or a default written out and left out, are unchanged. One whose options changed is replaced by a new
   *   object, built with the new options, that takes over the state that still applies: a
   *   circuit breaker keeps its state (an open circuit stays open, for the rest of its open time,
   *   cut to the new `maxRecoveryTimeout`), its run of failures, and its window when the window's
   *   type and size (or duration) are unchanged (else the window starts empty); a rate limiter
   *   keeps its token count (capped at the new `maxTokens`). A breaker's trial calls and a rate
   *   limiter's waiters stay with the old object. A bulkhead's calls go to the new one: those
   *   running on the old one (orphaned ones too) count against the new limit until they end, its
   *   queued callers wait in the new queue first, each with its own deadline and signal, and the
   *   old object admits nothing of its own (it asks the new one); an adaptive limit keeps what it
   *   learned, fitted into its new bounds. A retry budget keeps what its window spent (first
   *   attempts and retries, each placed at the moment the tenth of the old window it fell in
   *   began: a tenth that began before a shorter new `window` drops out), weighed by the new
   *   `ratio` and `minPerSecond`, and its `refused` count. A hedge keeps its `hedges` and `wins`,
   *   a chaos stage its `faults`, `delays` and `results`, as they were at the reload; what the
   *   old one counts later, for calls in flight under the old settings (a hedge's attempts still
   *   running, a budget's refusals), stays on the old object. `registry.circuitBreaker(name)` (and the like) then
   *   return the new object; code holding the old one keeps the old settings (a bulkhead's, over
   *   the new one's slots).
   * - A primitive that was built on demand with the `default` settings is kept, or rebuilt as
   *   above when the `default` settings changed.
   * - A stage of a policy's own is matched to the one before it by kind and position among the
   *   stages of that kind.
   *
   * Policies added with {@link PolicyRegistry.register} are untouched; configuring a policy of
   * the same name is an error.
   *
   * @returns what changed (also passed to `reload` listeners)
   * @throws TypeError or RangeError naming the full path of the first bad key or value
   * @throws Error when a configured policy has the name of a registered one
   * @example
   * ```ts
   * registry.on('reload', ({ added, removed, changed }) => log.info({ added, removed, changed }));
   * try {
   *   registry.reload(parse(text).resilience);
   * } catch (error) {
   *   log.warn({ reloadRefused: String(error) }); // nothing changed
   * }
   * ```
   */
  reload(config: ResilienceConfig | null | undefined): RegistryReloadEvent {
    const plan = this.#plan(normalizeConfig(config));
    this.#apply(plan);
    this.#announce(plan.event);
    return plan.event;
  }

  /**
   * Passes `event` to every `reload` listener, in order: a reload a listener makes is announced
   * once every listener has had the one before it.
   */
  #announce(event: RegistryReloadEvent): void {
    const queue = this.#announcing;
    if (queue !== undefined) {
      queue.push(event);
      return;
    }
    const events = (this.#announcing = [event]);
    // An array's iterator takes in what is pushed while it runs. `notify` never throws: a
    // listener that throws is ignored.
    for (const queued of events) {
      for (const listener of this.#reloadListeners) notify(listener, queued);
    }
    this.#announcing = undefined;
  }

  /**
   * Subscribes to a registry event: `'reload'`, with what a {@link PolicyRegistry.reload}
   * changed. What a listener returns is ignored (it may be `async`); one that throws, or returns
   * a promise that rejects, is ignored too.
   * @returns a function that removes the listener
   * @throws TypeError for an unknown event or a listener that is not a function
   */
  on<E extends keyof PolicyRegistryEventMap>(
    event: E,
    listener: (payload: PolicyRegistryEventMap[E]) => unknown,
  ): () => void {
    if (event !== 'reload') {
      throw new TypeError(`\`event\` must be "reload", got ${show(event)}`);
    }
    return listen(listener, (change) => (this.#reloadListeners = change(this.#reloadListeners)));
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

  /** The shared Hedge of this name (one not configured gets the `default` settings). */
  hedge(name: string): Hedge {
    return this.#shared(HEDGE, name);
  }

  /**
   * The shared Chaos of this name (one not configured gets the `default` settings). Refused, as
   * in configuration, unless the registry was made with `chaos: true` or the settings say
   * `enabled: false`.
   */
  chaos(name: string): Chaos<unknown> {
    return this.#shared(CHAOS, name);
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
   * arguments are the caller's statement of its result types; they are not checked. `F`, what its
   * fallbacks produce, defaults to `T`: `policy<Price>(name)` runs thunks of `Price` and resolves
   * to a `Price`. Without type arguments a call resolves to its thunk's type in the same way
   * (`policy(name).execute(async () => 5)` to a `number`); a configured fallback whose value is of
   * another type is declared with both: `policy<Price, Price | null>(name)`.
   *
   * @throws Error for an unknown name, listing the known ones
   */
  // `F` never for an untyped lookup: the thunk's own type stands for `T`.
  policy<T = unknown, F = unknown extends T ? never : T>(name: string): Policy<T, F> {
    const policy = this.#policies.get(name);
    if (policy === undefined) {
      const names = this.names();
      throw new Error(
        `Unknown policy ${show(name)}${hintOf(name, names)}; ` +
          (names.length === 0 ? 'no policies are known' : `known policies: ${names.join(', ')}`),
      );
    }
    // `T` and `F` are the caller's word: a policy runs thunks of any result type.
    return policy as Policy<T, F>;
  }

  /**
   * Adds a built policy under its name (`policy.name`).
   *
   * @throws TypeError when `policy` is not a Policy
   * @throws Error when a policy of that name is already known
   */
  register(policy: Policy<unknown, unknown>): this {
    if (!(policy instanceof Policy)) {
      fail(
        TypeError,
        'policy',
        'a Policy',
        policy,
        `\`policy\` must be a Policy, got ${showInstead(policy, 'Policy', Policy)}`,
      );
    }
    if (this.#policies.has(policy.name)) {
      throw new Error(`A policy named "${policy.name}" is already in the registry`);
    }
    this.#policies.set(policy.name, policy);
    // The name is taken: a configured policy of that name can never come back.
    this.#forget(policy.name);
    // An observer (instrumentation) that throws or rejects must not undo or fail the registration.
    for (const listener of this.#registerListeners) notify(listener, policy);
    return this;
  }

  /**
   * @internal Calls `listener` with every policy {@link PolicyRegistry.register | registered}
   * from now on, and every configured policy a reload adds, one it brings back included
   * (configured policies exist before
   * anyone can listen). Returns an unsubscribe
   * function. Used by `bulwark/otel`.
   */
  onRegister(listener: (policy: Policy<unknown, unknown>) => unknown): () => void {
    return listen(
      listener,
      (change) => (this.#registerListeners = change(this.#registerListeners)),
    );
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
   * primitives report finite numbers, but for a hedge whose `delay` is `'on-failure'`: its
   * `delayMs`, `Infinity` in `metrics()`, is `null` here. A bulkhead's entry includes
   * `orphaned`: calls whose caller was answered (a deadline, an abort) while their work still
   * holds a slot.
   *
   * @example
   * ```ts
   * const health = registry.health();
   * // { policies: { pricing: { calls: 12, successes: 11, ..., stages: [...] } },
   * //   primitives: { 'rate-limiter': { 'payment-api': { kind: 'rate-limiter',
   * //     name: 'payment-api', availableTokens: 7, maxTokens: 10, queued: 0 } }, bulkhead: {}, ... } }
   * response.end(JSON.stringify(health));
   * ```
   */
  health(): PolicyRegistryHealth {
    return {
      policies: plainBy(this.#policies, (policy) => policy.metrics()),
      primitives: Object.fromEntries(
        Array.from(this.#instances, ([kind, byName]) => [
          configName(kind),
          plainBy(byName, (instance, name) => ({ kind: kind.kind, name, ...kind.state(instance) })),
        ]),
      ),
    } as PolicyRegistryHealth;
  }

  /**
   * Builds everything `config` needs, reusing what has not changed and carrying over the state
   * of what has, without changing the registry: a bad value throws here with nothing done.
   */
  #plan(config: NormalizedConfig): Plan {
    const previous = this.#config;
    const added: string[] = [];
    const removed: string[] = [];
    const changed: string[] = [];
    const instances = new Map<KindDescriptor, Map<string, unknown>>();
    const resolved = new Map<object, Readonly<Record<string, unknown>>>();
    const replaced: Replaced = new Map();
    for (const kind of sharedKinds()) instances.set(kind, new Map());

    const gone = (id: string): void => {
      if (!removed.includes(id)) removed.push(id);
    };
    // What configured options name (`budget: api`) comes from the new configuration too.
    const lookup: Lookup = { config, shared: (kind, name) => shared(kind, name) };
    const shared = (kind: KindDescriptor, name: string): unknown => {
      const byName = instances.get(kind) as Map<string, unknown>;
      let instance = byName.get(name);
      if (instance !== undefined) return instance;
      const entry = entryOf(config, kind, name);
      const old = this.#instances.get(kind)?.get(name);
      instance = this.#renew(
        kind,
        old,
        this.#options(config, kind, entry),
        entry,
        resolved,
        lookup,
        replaced,
      );
      byName.set(name, instance);
      const id = `${configName(kind)}.${name}`;
      const was = entryOf(previous, kind, name);
      if (entry !== undefined && was === undefined) added.push(id);
      // No longer configured, and built again on demand (a policy refers to `default`).
      else if (entry === undefined && was !== undefined) gone(id);
      else if (old !== undefined && instance !== old) changed.push(id);
      return instance;
    };

    for (const kind of sharedKinds()) {
      const { default: defaults, named } = kindOf(config, kind);
      // The default entry first, so that its own errors are reported at its own path.
      if (defaults !== undefined) shared(kind, 'default');
      for (const name of named.keys()) shared(kind, name);
    }
    for (const kind of sharedKinds()) {
      for (const name of this.#instances.get(kind)?.keys() ?? []) {
        if (entryOf(config, kind, name) !== undefined) continue;
        // Configured before and not now: dropped. Built on demand: kept (with today's defaults).
        if (entryOf(previous, kind, name) !== undefined) gone(`${configName(kind)}.${name}`);
        else shared(kind, name);
      }
    }

    const policies: Plan['policies'] = new Map();
    for (const [name, stageConfigs] of config.policies) {
      if (this.#policies.has(name) && !this.#configured.has(name)) {
        throw new Error(
          `${child('resilience.policies', name)}: a policy named "${name}" is already registered; a configured policy needs a name of its own`,
        );
      }
      const was = this.#configured.get(name);
      // One removed by an earlier reload comes back: its own stages are matched as if it stayed.
      const before = (was ?? this.#retiredSlot(name))?.stages;
      const ordinals = new Map<KindDescriptor, number>();
      const stages = stageConfigs.map((stage: StageConfig): BuiltStage => {
        const kind = kindNamed(stage.kind);
        if ('ref' in stage) return { kind, ref: stage.ref, instance: shared(kind, stage.ref) };
        const { entry } = stage as { entry: ConfigEntry };
        // A stage of the policy's own: the one of the same kind at the same position before.
        const ordinal = ordinals.get(kind) ?? 0;
        ordinals.set(kind, ordinal + 1);
        const old = before?.filter((s) => s.kind === kind && s.ref === undefined)[ordinal];
        const options = this.#options(config, kind, entry);
        return {
          kind,
          ref: undefined,
          instance: this.#renew(kind, old?.instance, options, entry, resolved, lookup, replaced),
        };
      });
      const same =
        before !== undefined &&
        before.length === stages.length &&
        before.every((s, i) => {
          const t = stages[i] as BuiltStage;
          return s.kind === t.kind && s.ref === t.ref && s.instance === t.instance;
        });
      if (was === undefined) added.push(`policies.${name}`);
      else if (!same) changed.push(`policies.${name}`);
      policies.set(name, { stages, policy: same ? undefined : this.#compile(name, stages) });
    }
    for (const name of this.#configured.keys()) {
      if (!config.policies.has(name)) removed.push(`policies.${name}`);
    }
    const event = Object.freeze({
      added: Object.freeze(added),
      removed: Object.freeze(removed),
      changed: Object.freeze(changed),
    });
    return { config, instances, resolved, replaced, policies, event };
  }

  /** Forgets the removed policy of the name `name`, if any (see `#retired`). */
  #forget(name: string): void {
    const ref = this.#retired.get(name);
    if (ref === undefined) return;
    this.#retired.delete(name);
    this.#collected?.unregister(ref);
  }

  /** The slot of the configured policy named `name` a reload removed, while its handle lives. */
  #retiredSlot(name: string): Slot | undefined {
    const handle = this.#retired.get(name)?.deref();
    return handle === undefined ? undefined : this.#retiredSlots.get(handle);
  }

  /** Puts a plan in place. Nothing here can fail. */
  #apply(plan: Plan): void {
    this.#config = plan.config;
    this.#instances = plan.instances;
    for (const [instance, options] of plan.resolved) this.#resolved.set(instance, options);
    for (const [next, [kind, old]] of plan.replaced) kind.adopt?.(next, old);
    const registered = [...this.#policies].filter(([name]) => !this.#configured.has(name));
    const configured = new Map<string, Slot>();
    const added: Array<Policy<unknown, unknown>> = [];
    for (const [name, { stages, policy }] of plan.policies) {
      let slot = this.#configured.get(name);
      const revived = slot === undefined ? this.#retiredSlot(name) : undefined;
      if (revived !== undefined) {
        this.#forget(name);
        slot = revived;
        added.push(slot.handle);
      }
      if (slot === undefined) {
        const generations = new Generations(policy as Policy<unknown, unknown>);
        slot = { handle: handleFor(name, generations), generations, stages };
        added.push(slot.handle);
      } else {
        if (policy !== undefined) slot.generations.swap(policy);
        slot.stages = stages;
      }
      configured.set(name, slot);
    }
    for (const [name, slot] of this.#configured) {
      // (A host without `WeakRef` or `FinalizationRegistry` keeps none: see `weak.ts`.)
      if (!configured.has(name) && this.#collected !== null && typeof WeakRef === 'function') {
        const ref = new WeakRef(slot.handle);
        this.#retired.set(name, ref);
        this.#retiredSlots.set(slot.handle, slot);
        this.#collected.register(slot.handle, [name, ref], ref);
      }
    }
    this.#configured = configured;
    this.#policies.clear();
    for (const [name, slot] of configured) this.#policies.set(name, slot.handle);
    for (const [name, policy] of registered) this.#policies.set(name, policy);
    for (const policy of added) {
      for (const listener of this.#registerListeners) notify(listener, policy);
    }
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
      const config = this.#config;
      const entry = entryOf(config, kind, name);
      instance = this.#renew(
        kind,
        undefined,
        this.#options(config, kind, entry),
        entry,
        this.#resolved,
        {
          config,
          shared: (k, n) => this.#shared(k, n),
        },
      ) as P;
      byName.set(name, instance);
    }
    return instance;
  }

  /**
   * The options of a new primitive: the configuration defaults, then the kind's `default` entry,
   * then `entry` merged over them, less what `entry` rules out (see {@link inherited}), and the
   * registry's clock.
   */
  #options(
    config: NormalizedConfig | undefined,
    kind: KindDescriptor,
    entry: ConfigEntry | undefined,
  ): Readonly<Record<string, unknown>> {
    const base = kindOf(config, kind).default;
    const own = entry?.options ?? EMPTY_OPTIONS;
    const options = Object.assign(
      inherited(kind, entry === base ? kind.defaults : { ...kind.defaults, ...base?.options }, own),
      own,
    );
    if (kind.configOptions.includes('clock')) options.clock = this.#clock;
    const optIn = kind.optIn;
    if (optIn !== undefined && this.#flags[optIn.flag] !== true && optIn.active(options)) {
      const path = entry?.path ?? `resilience.${configName(kind)}`;
      throw new OptionTypeError(
        path,
        `\`${optIn.flag}: true\` in the registry's options`,
        entry?.options,
        {
          message:
            `${path}: a ${configName(kind)} stage from configuration is refused unless the registry ` +
            `is made with \`${optIn.flag}: true\` (PolicyRegistry.fromConfig(config, { ${optIn.flag}: true })); ` +
            'set `enabled: false` to keep it configured but off',
        },
      );
    }
    return options;
  }

  /**
   * A new primitive from configured `options` (left as they are: reload compares them), once
   * `fromConfig` has turned configured values into objects and the names of other shared
   * instances (`budget: api`) are resolved through `lookup`.
   */
  #construct<P>(
    kind: KindDescriptor<P>,
    options: Readonly<Record<string, unknown>>,
    entry: ConfigEntry | undefined,
    lookup: Lookup,
  ): P {
    try {
      const built = Object.assign(Object.create(null) as Record<string, unknown>, options);
      kind.fromConfig?.(built);
      const referenced = referencesOf(kind, built, lookup);
      const instance = new (kind.Primitive as CheckedConstructor<P>)(built);
      if (referenced.length > 0) this.#referenced.set(instance as object, referenced);
      return instance;
    } catch (error) {
      throw entry === undefined
        ? error
        : atPath(entry, error, kind.configOptions, kindOf(lookup.config, kind).default);
    }
  }

  /**
   * `old` when it was built from options with the same values (see {@link resolvedOptions});
   * otherwise a new primitive built from
   * `options` that takes over the state of `old` that still applies (see `reload`).
   */
  #renew(
    kind: KindDescriptor,
    old: unknown,
    options: Readonly<Record<string, unknown>>,
    entry: ConfigEntry | undefined,
    resolved: { set(instance: object, options: Readonly<Record<string, unknown>>): unknown },
    lookup: Lookup,
    replaced?: Replaced,
  ): unknown {
    const before = old === undefined ? undefined : this.#resolved.get(old as object);
    if (
      before !== undefined &&
      // The same settings, however spelled (`1s` or `1000`, a default given or left out).
      sameData(
        resolvedOptions(configName(kind), before),
        resolvedOptions(configName(kind), options),
      ) &&
      // A shared instance it names (`budget: api`) that was rebuilt makes it new too.
      sameData(this.#referenced.get(old as object) ?? [], referencesOrNone(kind, options, lookup))
    ) {
      return old;
    }
    // A configured `initial-state` is checked as `fromConfig` would check it, though the state
    // taken over replaces it.
    if (old !== undefined && kind.carry !== undefined && options.initialState !== undefined) {
      this.#construct(kind, options, entry, lookup);
    }
    // Built once, with the state it takes over (a constructor checks the options themselves
    // first, so their errors come first, at their paths).
    const instance = this.#construct(
      kind,
      old === undefined || kind.carry === undefined
        ? options
        : { ...options, initialState: kind.carry(old, options) },
      entry,
      lookup,
    );
    resolved.set(instance as object, options);
    // What it takes over once in place (a bulkhead's calls, a budget's spending, counters).
    if (old !== undefined && kind.adopt !== undefined) replaced?.set(instance, [kind, old]);
    return instance;
  }

  #compile(name: string, stages: readonly BuiltStage[]): Policy<unknown, unknown> {
    const builder = Policy.builder(name).clock(this.#clock);
    for (const { kind, ref, instance } of stages) builder.use(stageOf(kind, instance, ref));
    return builder.build();
  }
}

const EMPTY_OPTIONS: Readonly<Record<string, unknown>> = /* @__PURE__ */ Object.freeze({});

/**
 * A copy of the options an entry inherits (its kind's defaults and `default` entry) without those
 * its `own` options rule out: of each pair in the kind's `exclusive` whose one side `own` sets,
 * the other side inherited is left out (`limit` where the entry gives `maxConcurrent`, `backoff`
 * where it gives `backoffType: 'linear'`), so the entry's own choice wins.
 */
function inherited(
  kind: KindDescriptor,
  options: Readonly<Record<string, unknown>> | undefined,
  own: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const kept = Object.assign(Object.create(null) as Record<string, unknown>, options);
  for (const [one, other] of kind.exclusive ?? []) {
    if (holds(own, one) && holds(options, other)) delete kept[other.option];
    if (holds(own, other) && holds(options, one)) delete kept[one.option];
  }
  return kept;
}

/** Whether `options` give `values.option` one of those values (undefined is no value). */
function holds(
  options: Readonly<Record<string, unknown>> | undefined,
  { option, only, except }: OptionValues,
): boolean {
  const value = options?.[option];
  return (
    value !== undefined &&
    Object.prototype.hasOwnProperty.call(options, option) &&
    (only === undefined || only.includes(value)) &&
    !(except?.includes(value) ?? false)
  );
}

/** Where the names of shared instances in configured options are looked up. */
interface Lookup {
  readonly config: NormalizedConfig | undefined;
  shared(kind: KindDescriptor, name: string): unknown;
}

/**
 * Replaces, in `options`, each configured name of another kind's shared instance (`budget: api`)
 * by that instance, and returns them in order.
 */
function referencesOf(
  kind: KindDescriptor,
  options: Record<string, unknown>,
  lookup: Lookup,
): unknown[] {
  const referenced: unknown[] = [];
  for (const [option, section] of Object.entries(kind.references ?? {})) {
    const name = options[option];
    if (name === undefined) continue;
    options[option] = reference(kindNamed(section), option, name, lookup);
    referenced.push(options[option]);
  }
  return referenced;
}

/** {@link referencesOf} a copy of `options`, or undefined when one is wrong (construction says so). */
function referencesOrNone(
  kind: KindDescriptor,
  options: Readonly<Record<string, unknown>>,
  lookup: Lookup,
): unknown[] | undefined {
  try {
    return referencesOf(kind, { ...options }, lookup);
  } catch {
    return undefined;
  }
}

/** The shared instance a configured option names (`budget: api`), which must be configured. */
function reference(kind: KindDescriptor, option: string, name: unknown, lookup: Lookup): unknown {
  const config = kindOf(lookup.config, kind);
  if (typeof name !== 'string' || (name !== 'default' && !config.named.has(name))) {
    const names = ['default', ...config.named.keys()];
    throw new OptionTypeError(option, `the name of a configured ${configName(kind)}`, name, {
      message: `\`${option}\` must name a configured ${configName(kind)}${hintOf(name, names)}; ${knownNames(configName(kind), config)}; got ${show(name)}`,
    });
  }
  return lookup.shared(kind, name);
}

/** {@link didYouMean} for a name that may not be a string (from JavaScript, or a configuration). */
function hintOf(name: unknown, names: readonly string[]): string {
  return typeof name == 'string' ? didYouMean(name, names) : '';
}

/** A kind's configuration (an empty one when there is none). */
function kindOf(config: NormalizedConfig | undefined, kind: KindDescriptor): KindConfig {
  return config?.kinds.get(configName(kind)) ?? EMPTY_KIND;
}

/** The configured entry of a shared primitive, or undefined when that name is not configured. */
function entryOf(
  config: NormalizedConfig | undefined,
  kind: KindDescriptor,
  name: string,
): ConfigEntry | undefined {
  const k = kindOf(config, kind);
  return name === 'default' ? k.default : k.named.get(name);
}

/**
 * Deep equality of configuration data: plain objects, arrays, and anything else by identity. Two
 * containers compared once are taken as equal when met again inside themselves, so that data
 * that holds itself (a fallback's `value` may) is compared as far as it goes and no further, and
 * data shared by many places is compared once.
 */
function sameData(a: unknown, b: unknown, met = new Map<object, Set<object>>()): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const proto = Object.getPrototypeOf(a) as unknown;
  if (proto !== Object.getPrototypeOf(b)) return false;
  if (!Array.isArray(a) && proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  const withA = met.get(a) ?? met.set(a, new Set()).get(a)!;
  if (withA.has(b)) return true;
  withA.add(b);
  return keys.every(
    (key) =>
      Object.prototype.hasOwnProperty.call(b, key) &&
      sameData((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], met),
  );
}

/** A shared primitive's state, shaped as its stage's entry in `policy.metrics().stages`. */
const MAX_DEPTH = 64;

/**
 * An object with, for each name in `map`, {@link toPlain} of what `read` makes of its value (a
 * name such as `__proto__` is a plain key, as every key {@link toPlain} copies).
 */
function plainBy<V>(
  map: ReadonlyMap<string, V>,
  read: (value: V, name: string) => unknown,
): Record<string, unknown> {
  return Object.fromEntries(
    Array.from(map, ([name, value]) => [name, toPlain(read(value, name), [])]),
  );
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
  const copy: Array<[string, unknown]> = [];
  for (const key of Object.keys(value)) {
    let item: unknown;
    try {
      item = (value as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    const plain = toPlain(item, inner);
    if (plain !== undefined) copy.push([key, plain]);
  }
  return Object.fromEntries(copy);
}

/**
 * A validation error with the entry's path in front: for an option error, the path of the option
 * when the entry sets it; when the kind's `default` entry (`base`) set it instead, the entry's
 * path saying where the value came from (`resilience.circuit-breaker.x (minimum-calls from
 * resilience.circuit-breaker.default)`); else the entry's. The same class and fields, with the
 * option's path (in `base` for a value from there) as `option`, and the options named in the
 * message (the kind's `options`) as the configuration spells them: as written, and in kebab-case
 * when the entries are written so (`max-tokens` for `maxTokens`).
 */
function atPath(
  entry: ConfigEntry,
  error: unknown,
  options: readonly string[],
  base?: ConfigEntry,
): unknown {
  if (!(error instanceof Error)) return error;
  if (isOptionError(error)) {
    const from = base === entry ? undefined : base;
    const own = entry.spelled[error.option];
    const inherited = own === undefined ? from?.spelled[error.option] : undefined;
    const spelled = own ?? inherited;
    const option =
      own !== undefined
        ? `${entry.path}.${own}`
        : inherited !== undefined
          ? `${from?.path}.${inherited}`
          : entry.path;
    const prefix =
      inherited === undefined ? option : `${entry.path} (${inherited} from ${from?.path})`;
    // Every option the message names (this one, one it conflicts with) as written, the entry's
    // spelling first; one written nowhere in kebab-case when the entries are written so.
    const written = Object.assign(
      Object.create(null) as Record<string, string>,
      from?.spelled,
      entry.spelled,
    );
    const kebabCase = Object.values(written).some((key) => key.includes('-'));
    if (kebabCase) for (const name of options) written[name] ??= kebab(name);
    let message = error.message.replace(/`([A-Za-z][A-Za-z.]*)`/g, (quoted, name: string) =>
      written[name] === undefined ? quoted : `\`${written[name]}\``,
    );
    // A nested key the primitive does not know (`limit.min-sample`): named as written above, and
    // the key suggested in full (`limit.min-samples`), spelled as the keys beside it are.
    if (spelled !== undefined && error.expected === 'a known option') {
      const at = spelled.slice(0, spelled.lastIndexOf('.') + 1);
      // The entries' other keys, at any depth, tell how to spell it.
      const beside = Object.values(written)
        .filter((key) => key !== spelled)
        .flatMap((key) => key.split('.'));
      const kebabHint = writesKebab(spelled.slice(at.length), beside);
      message = message.replace(
        /\(did you mean `([A-Za-z]+)`\?\)/,
        (_hint, name: string) => `(did you mean \`${at}${kebabHint ? kebab(name) : name}\`?)`,
      );
    }
    return new (error instanceof RangeError ? OptionRangeError : OptionTypeError)(
      option,
      error.expected,
      error.received,
      { message: `${clip(prefix, 1000)}: ${message}`, cause: error },
    );
  }
  const Class =
    error instanceof RangeError ? RangeError : error instanceof TypeError ? TypeError : Error;
  return new Class(`${clip(entry.path, 1000)}: ${error.message}`, { cause: error });
}
