import {
  createNoopMeter,
  metrics,
  type Attributes,
  type BatchObservableResult,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type ObservableGauge,
} from '@opentelemetry/api';
// The core only through its entry point: the build turns this into an import of 'bulwark', so
// the adapter shares the core's classes (`instanceof Policy`) instead of bundling a copy, and the
// option errors its checks throw are the core's (`instanceof OptionTypeError` from 'bulwark').
import {
  booleanOption,
  isBulkheadFullError,
  isCircuitOpenError,
  isPolicyRegistry,
  isRateLimitExceededError,
  kindDescriptors,
  OptionTypeError,
  optionsObject,
  Policy,
  type PolicyRegistry,
  showInstead,
  showShape,
  type StageState,
} from '../index.js';

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /**
   * The meter that creates the instruments.
   * @defaultValue `metrics.getMeter('bulwark')` from `@opentelemetry/api`: the meter of the global
   * provider as it is at each measurement, so a provider registered after `instrument` (an SDK
   * started later) gets the data from then on
   */
  readonly meter?: Meter | undefined;
  /**
   * Attributes added to every data point. Bulwark's own attributes (`policy`, `stage`,
   * `outcome`, `reason`, `primitive`) win over ones of the same name here.
   * @defaultValue none
   */
  readonly attributes?: Attributes | undefined;
  /**
   * Adds the attribute `key` (a call's key) to what keyed stages report: `bulwark.rejections`
   * of a keyed circuit breaker, rate limiter or bulkhead, and, for the keys a keyed stage lists
   * as refusing calls (at most 20 per stage), its gauges. To protect metric cardinality, one
   * `instrument` call gives at most 100 distinct keys their own value:
   * later keys are counted under `key: '_other'` and left out of the gauges. A key longer than
   * 256 characters is cut to its first 256 then `…`. Off, keyed stages
   * report no `key` and only the gauge `bulwark.keys`.
   * @defaultValue `false`
   */
  readonly keyAttribute?: boolean | undefined;
}

/** Most distinct values of the `key` attribute one {@link instrument} call reports. */
const MAX_KEY_VALUES = 100;

/** The `key` attribute of keys past {@link MAX_KEY_VALUES}. */
const OTHER_KEY = '_other';

/** Longest `key` attribute value, in UTF-16 code units, before the `…` that marks a cut. */
const MAX_KEY_LENGTH = 256;

/**
 * The `key` attribute value of `key`: the key, or, past {@link MAX_KEY_LENGTH}, its first 256
 * code units (255 when the 256th begins a surrogate pair, never half a character) then `…`. Made
 * anew from those characters: a `slice` of the key would keep all of it in memory (V8's slices
 * share their original's), here and in the SDK's series.
 */
function keyValue(key: string): string {
  if (key.length <= MAX_KEY_LENGTH) return key;
  const last = key.charCodeAt(MAX_KEY_LENGTH - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? MAX_KEY_LENGTH - 1 : MAX_KEY_LENGTH;
  return [...key.slice(0, end), '…'].join('');
}

/** Name, unit and description of every instrument, as docs/OBSERVABILITY.md lists them. */
const METRICS = Object.freeze({
  calls: {
    name: 'bulwark.calls',
    unit: '{call}',
    description:
      'Executions of a policy, by final outcome: success, fallback, rejected or failure.',
  },
  callDuration: {
    name: 'bulwark.call.duration',
    unit: 'ms',
    description: 'Duration of whole executions of a policy, all stages and attempts included.',
  },
  attemptDuration: {
    name: 'bulwark.attempt.duration',
    unit: 'ms',
    description: 'Duration of each call of the guarded function (one per attempt).',
  },
  rejections: {
    name: 'bulwark.rejections',
    unit: '{rejection}',
    description:
      'Calls refused by a rate limiter, a bulkhead or a circuit breaker (or a custom stage refusing as one).',
  },
  retries: {
    name: 'bulwark.retries',
    unit: '{retry}',
    description:
      'Retries due (`retry` events): a wait before the next attempt begun, or a retry skipped at the deadline or by a retry budget.',
  },
  timeouts: {
    name: 'bulwark.timeouts',
    unit: '{timeout}',
    description: 'Deadlines that passed: of timeout stages, or raised by custom stages.',
  },
  fallbacks: {
    name: 'bulwark.fallbacks',
    unit: '{fallback}',
    description:
      'Failures a fallback took over: replaced by its value, or by an error of its method.',
  },
  keys: {
    name: 'bulwark.keys',
    unit: '{key}',
    description: 'Primitives a keyed stage holds, one per key in use.',
  },
  hedges: {
    name: 'bulwark.hedges',
    unit: '{attempt}',
    description: 'Hedged attempts started, by reason: delay or failure.',
  },
  injections: {
    name: 'bulwark.chaos.injections',
    unit: '{injection}',
    description: 'Faults, latency and results injected by chaos stages, by injection.',
  },
});

/**
 * What `showInstead` reads of the PolicyRegistry class to name another copy's registry: its
 * prototype's own member names (a spec holds them to the class). The class itself is not
 * imported, so that a bundle of a policy and `instrument` carries none of the registry's code.
 */
const REGISTRY_SHAPE = {
  prototype: Object.fromEntries(
    [
      'constructor',
      'reload',
      'on',
      'rateLimiter',
      'bulkhead',
      'timeLimiter',
      'circuitBreaker',
      'retry',
      'hedge',
      'chaos',
      'retryBudget',
      'policy',
      'register',
      'onRegister',
      'names',
      'snapshot',
      'health',
    ].map((name) => [name, 0]),
  ),
};

const OPTION_KEYS: readonly string[] = Object.freeze(['meter', 'attributes', 'keyAttribute']);

/**
 * The `key` attribute values of one {@link instrument} call: each key its own (cut past
 * {@link MAX_KEY_LENGTH}, see {@link keyValue}) until {@link MAX_KEY_VALUES} are taken,
 * `undefined` (for gauges) or `'_other'` after.
 */
class KeyValues {
  readonly #seen = new Set<string>();

  /** The key's own value, or undefined once the cap is reached by other keys. */
  own(key: string): string | undefined {
    const value = keyValue(key);
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= MAX_KEY_VALUES) return undefined;
    this.#seen.add(value);
    return value;
  }

  /** The value to count under: the key's own or `'_other'`. */
  counted(key: string): string {
    return this.own(key) ?? OTHER_KEY;
  }
}

/**
 * Records the activity of a policy, or of every policy and shared primitive in a registry, as
 * OpenTelemetry metrics: counters `bulwark.calls` (attribute `outcome`), `bulwark.rejections`
 * (attribute `reason`), `bulwark.retries`, `bulwark.timeouts`, `bulwark.fallbacks`,
 * `bulwark.hedges` (attribute `reason`), `bulwark.chaos.injections` (attribute `injection`); histograms
 * `bulwark.call.duration` and `bulwark.attempt.duration` (ms; an attempt ends when its work
 * settles or when the policy stops waiting for it, a deadline's or an abort's failure then);
 * observable gauges `bulwark.circuit.state`, `bulwark.bulkhead.available`,
 * `bulwark.bulkhead.queued`, `bulwark.bulkhead.limit`, `bulwark.bulkhead.orphaned`,
 * `bulwark.ratelimiter.tokens`, `bulwark.retry.budget.tokens`, `bulwark.hedge.running`,
 * `bulwark.chaos.enabled` and `bulwark.keys`. Every data point has the attribute `policy`;
 * `stage` (the stage kind, a custom stage's for its own refusals and timeouts) is on rejections,
 * retries, timeouts, fallbacks and the gauges. docs/OBSERVABILITY.md lists them all.
 *
 * For a registry, policies {@link PolicyRegistry.register | registered} later are instrumented
 * as they arrive, and the gauges report, at each collection, the stages of every policy it holds
 * (a shared primitive once per policy that uses it; `registry.health()` lists every primitive).
 * A configured policy a reload removes is let go (its listeners removed, nothing of it kept;
 * calls through a handle kept meanwhile are not recorded), and recorded again, in the same
 * series, when a reload configures it again. A policy that nobody instruments pays nothing: the
 * listeners exist only from this call until the returned function is called.
 *
 * A policy is recorded once per meter: a call that reaches a policy an earlier call already
 * records on the same meter (the policy itself, or a registry holding it) adds nothing for it
 * until that earlier call is removed, and then records it with its own options. On different
 * meters, each call records. Without `meter`, a call is on the meter the global provider gives
 * at each measurement (the one `metrics.getMeter('bulwark')` answers), so it and a call given
 * that meter record once; on the API's no-op meter (no provider yet), no call waits.
 *
 * @param target - a built {@link Policy} or a {@link PolicyRegistry}
 * @returns a function that removes this call's instrumentation (unsubscribes its listeners and
 * removes its gauge callback, handing a policy it recorded to another call on the same meter);
 * calling it again does nothing
 * @throws TypeError when `target` is neither; an `OptionTypeError` (from `bulwark`) for an unknown
 *   or ill-typed option
 * @example
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * import { instrument } from 'bulwark/otel';
 *
 * const stop = instrument(registry, {
 *   meter: metrics.getMeter('checkout'),
 *   attributes: { 'service.instance.id': instanceId },
 * });
 * // ... on shutdown:
 * stop();
 * ```
 */
export function instrument(
  target: Policy<unknown, unknown> | PolicyRegistry,
  options?: InstrumentOptions,
): () => void {
  const isPolicy = target instanceof Policy;
  // A registry is known without its class, so that a bundle of a policy and `instrument`
  // carries none of the registry's code.
  if (!isPolicy && !isPolicyRegistry(target)) {
    const asPolicy = showInstead(target, 'Policy', Policy);
    const shown =
      asPolicy === showShape(target)
        ? showInstead(target, 'PolicyRegistry', REGISTRY_SHAPE)
        : asPolicy;
    throw new TypeError(`\`target\` must be a Policy or a PolicyRegistry, got ${shown}`);
  }
  const { meter, base, keyAttribute } = resolveOptions(options);
  const keyValues = keyAttribute ? new KeyValues() : undefined;
  const removers: Array<() => void> = [];

  // This call's claims, by policy: a policy another call already records on this meter is
  // left to it, gauges included, until that call is removed. A policy a reload removes from the
  // registry is let go (see `unwatch`), so nothing here keeps it alive.
  const held = new Map<Policy<unknown, unknown>, Claim>();
  // The meter the claims are on (see `meterKey`).
  let key: object | undefined;
  const waiting = (policy: Policy<unknown, unknown> | undefined): boolean =>
    policy !== undefined && held.get(policy)?.unwatch === undefined;
  let observe: (result: BatchObservableResult) => void;
  if (isPolicy) {
    const policy = target;
    observe = (result) => {
      if (waiting(policy)) return;
      const own = instruments as Instruments;
      for (const state of policy.metrics().stages) {
        own.observe(result, state, stageAttributes(base, policy.name, state));
      }
    };
  } else {
    const registry = target;
    observe = (result) => {
      // Every point names its policy, so shared primitives are reported through the policies
      // that use them (once per policy); registry.health() lists them all on their own.
      const own = instruments as Instruments;
      const health = registry.health();
      // The policies by name only while one of this call's claims waits (rare): a snapshot
      // copies the registry's maps.
      const policies = [...held.values()].some((claim) => claim.unwatch === undefined)
        ? registry.snapshot().policies
        : undefined;
      for (const name of Object.keys(health.policies)) {
        if (policies !== undefined && waiting(policies.get(name))) continue;
        for (const state of health.policies[name]?.stages ?? []) {
          own.observe(result, state, stageAttributes(base, name, state));
        }
      }
    };
  }

  // The instruments of the meter in use, and the global provider they came from. Without a
  // `meter`, the global provider is asked again at each measurement: one registered since (the
  // API answers with a no-op provider until an SDK registers one) gets instruments of its own,
  // and the gauges' callback moves to its meter.
  let instruments: Instruments | undefined;
  let provider: MeterProvider | undefined;
  let removed = false;
  const current = (): Instruments => {
    if (meter === undefined && !removed) {
      const now = metrics.getMeterProvider();
      if (now !== provider) {
        unobserve();
        provider = now;
        instruments = undefined;
      }
    }
    if (instruments === undefined) {
      instruments = new Instruments(
        meter ?? (provider as MeterProvider).getMeter('bulwark'),
        keyValues,
      );
      instruments.meter.addBatchObservableCallback(observe, instruments.gauges);
      // A default meter that changed with the provider: the claims move to the new one, where
      // another call may already record them.
      const was = key;
      key = meterKey(instruments.meter);
      if (was !== undefined && key !== was) {
        for (const [policy, own] of held) {
          release(was, policy, own);
          enqueue(key, policy, own);
        }
      }
    }
    return instruments;
  };
  const unobserve = (): void =>
    instruments?.meter.removeBatchObservableCallback(observe, instruments.gauges);
  current();

  // Each policy's events are recorded once per meter: this call claims them, and records them
  // while its claim is the earliest one left (see `enqueue`). A listener running when its claim
  // has just moved behind another (the provider changed) leaves the event to that one.
  // A policy this call already holds (one a reload brought back before this call heard of its
  // removal) keeps its claim.
  const watch = (policy: Policy<unknown, unknown>): void => {
    if (held.has(policy)) return;
    const own: Claim = {
      watch: () => watchPolicy(policy, recording, keyValues, base),
      unwatch: undefined,
    };
    const recording = (): Instruments | undefined => {
      const now = current();
      return own.unwatch === undefined ? undefined : now;
    };
    held.set(policy, own);
    enqueue(key as object, policy, own);
  };
  // Gives a policy's claim up: its listeners are unsubscribed, and another call on the meter
  // waiting for it records it from now on.
  const unwatch = (policy: Policy<unknown, unknown>, own: Claim): void => {
    held.delete(policy);
    release(key as object, policy, own);
  };
  if (isPolicy) watch(target);
  else {
    for (const policy of target.snapshot().policies.values()) watch(policy);
    removers.push(target.onRegister(watch));
    // A configured policy a reload removes is let go, its listeners and its claim with it (its
    // gauges went with it from the registry): a reload that configures it again brings it back
    // (`onRegister`), and it is recorded from then on. One still in the registry stays (a reload
    // run by a reload listener may have brought it back before this listener heard of its
    // removal).
    removers.push(
      target.on('reload', ({ removed: names }) => {
        if (!names.some((name) => name.startsWith('policies.'))) return;
        const gone = new Set(names);
        const present = target.snapshot().policies;
        for (const [policy, own] of held) {
          if (gone.has(`policies.${policy.name}`) && present.get(policy.name) !== policy) {
            unwatch(policy, own);
          }
        }
      }),
    );
  }
  removers.push(unobserve);

  return () => {
    if (removed) return;
    removed = true;
    for (const [policy, own] of held) unwatch(policy, own);
    for (const remove of removers.splice(0)) remove();
  };
}

/**
 * What a call's claims are keyed by in {@link claims}: the meter it records on (without a
 * `meter`, the one the global provider gives for `'bulwark'`, as `metrics.getMeter('bulwark')`
 * does), or, for the API's no-op meter, a key of its own: nothing recorded there is seen, so a
 * call on it keeps no other waiting (and moves when a provider comes, see `current`).
 */
function meterKey(meter: Meter): object {
  return meter === createNoopMeter() ? {} : meter;
}

/** One {@link instrument} call's claim on recording a policy's events on a meter. */
interface Claim {
  /** Subscribes this call's listeners; returns the function that unsubscribes them. */
  readonly watch: () => () => void;
  /** Set while this claim is the one recording (its listeners' remover). */
  unwatch: (() => void) | undefined;
}

/**
 * By meter (see {@link meterKey}), by policy: the claims of the `instrument` calls in effect, in
 * the order they were made. Only the first records; the others wait their turn.
 */
const claims = new WeakMap<object, WeakMap<Policy<unknown, unknown>, Claim[]>>();

/**
 * Claims the recording of `policy` on the meter `key`: recorded at once when no other claim
 * on that meter holds the policy, else once every earlier one has been {@link release}d, so an
 * execution is counted once on a meter however many `instrument` calls reach its policy.
 */
function enqueue(key: object, policy: Policy<unknown, unknown>, own: Claim): void {
  let byPolicy = claims.get(key);
  if (byPolicy === undefined) claims.set(key, (byPolicy = new WeakMap()));
  let line = byPolicy.get(policy);
  if (line === undefined) byPolicy.set(policy, (line = []));
  line.push(own);
  if (line.length === 1) own.unwatch = own.watch();
}

/** Gives a claim up ({@link enqueue}), handing the recording to the next claim in line (once). */
function release(key: object, policy: Policy<unknown, unknown>, own: Claim): void {
  const byPolicy = claims.get(key);
  const line = byPolicy?.get(policy);
  const at = line?.indexOf(own) ?? -1;
  if (line === undefined || at === -1) return;
  line.splice(at, 1);
  if (own.unwatch !== undefined) {
    own.unwatch();
    own.unwatch = undefined;
    const next = line[0];
    if (next !== undefined) next.unwatch = next.watch();
  }
  if (line.length === 0) byPolicy?.delete(policy);
}

/** The instruments of one {@link instrument} call. */
class Instruments {
  readonly meter: Meter;
  readonly calls: Counter;
  readonly callDuration: Histogram;
  readonly attemptDuration: Histogram;
  readonly rejections: Counter;
  readonly retries: Counter;
  readonly timeouts: Counter;
  readonly fallbacks: Counter;
  readonly keys: ObservableGauge;
  readonly hedges: Counter;
  readonly injections: Counter;
  readonly gauges: ObservableGauge[] = [];
  /** The `key` attribute's values, when asked for (`keyAttribute`). */
  readonly keyValues: KeyValues | undefined;
  /** Each kind's gauges (as its descriptor states them), by stage kind. */
  private readonly byKind = new Map<
    string,
    ReadonlyArray<readonly [ObservableGauge, (state: StageState) => number | undefined]>
  >();

  constructor(meter: Meter, keyValues: KeyValues | undefined) {
    const m = METRICS;
    this.meter = meter;
    this.keyValues = keyValues;
    this.keys = meter.createObservableGauge(m.keys.name, options(m.keys));
    this.gauges.push(this.keys);
    this.calls = meter.createCounter(m.calls.name, options(m.calls));
    this.callDuration = meter.createHistogram(m.callDuration.name, options(m.callDuration));
    this.attemptDuration = meter.createHistogram(
      m.attemptDuration.name,
      options(m.attemptDuration),
    );
    this.rejections = meter.createCounter(m.rejections.name, options(m.rejections));
    this.retries = meter.createCounter(m.retries.name, options(m.retries));
    this.timeouts = meter.createCounter(m.timeouts.name, options(m.timeouts));
    this.fallbacks = meter.createCounter(m.fallbacks.name, options(m.fallbacks));
    this.hedges = meter.createCounter(m.hedges.name, options(m.hedges));
    this.injections = meter.createCounter(m.injections.name, options(m.injections));
    for (const kind of kindDescriptors) {
      const gauges = (kind.gauges ?? []).map((gauge) => {
        const instrument = meter.createObservableGauge(gauge.name, options(gauge));
        this.gauges.push(instrument);
        return [instrument, (state: StageState) => gauge.read(state)] as const;
      });
      if (gauges.length > 0) this.byKind.set(kind.kind, gauges);
    }
  }

  /**
   * Reports one stage's (or shared primitive's) live state to the gauges that fit its kind. A
   * keyed stage reports its number of keys, and, with `keyAttribute`, the state of each key it
   * lists as refusing calls.
   */
  observe(result: BatchObservableResult, state: StageState, attributes: Attributes): void {
    const gauges = this.byKind.get(state.kind) ?? [];
    for (const [gauge, read] of gauges) {
      const value = read(state);
      if (value !== undefined) result.observe(gauge, value, attributes);
    }
    const { keys, refusing } = state;
    if (typeof keys !== 'number' || !Array.isArray(refusing)) return;
    result.observe(this.keys, keys, attributes);
    const keyValues = this.keyValues;
    if (keyValues === undefined) return;
    for (const item of refusing as unknown[]) {
      const keyState = item as StageState & { key?: unknown };
      if (typeof keyState.key !== 'string') continue;
      const key = keyValues.own(keyState.key);
      if (key === undefined) continue;
      const keyed = { ...attributes, key };
      for (const [gauge, read] of gauges) {
        const value = read(keyState);
        if (value !== undefined) result.observe(gauge, value, keyed);
      }
    }
  }
}

/**
 * Subscribes to a policy's events and returns the function that unsubscribes them. Attribute
 * sets are made once per policy (and once per stage kind), so recording allocates nothing.
 */
function watchPolicy(
  policy: Policy<unknown, unknown>,
  current: () => Instruments | undefined,
  keyValues: KeyValues | undefined,
  base: Attributes,
): () => void {
  const own = (extra: Attributes): Attributes =>
    Object.freeze({ ...base, ...extra, policy: policy.name });
  const success = own({ outcome: 'success' });
  const fallback = own({ outcome: 'fallback' });
  const rejected = own({ outcome: 'rejected' });
  const failure = own({ outcome: 'failure' });
  const byStage = new Map<string, Attributes>();
  const ofStage = (stage: string): Attributes => {
    let attributes = byStage.get(stage);
    if (attributes === undefined) {
      attributes = own({ stage });
      byStage.set(stage, attributes);
    }
    return attributes;
  };
  const byRejection = new Map<string, Attributes>();
  // With `keyAttribute`, at most MAX_KEY_VALUES + 1 keys per stage and reason: a bounded cache.
  const ofRejection = (stage: string, reason: string, callKey: string | undefined): Attributes => {
    const key =
      keyValues === undefined || callKey === undefined ? undefined : keyValues.counted(callKey);
    const id = key === undefined ? `${stage}\n${reason}` : `${stage}\n${reason}\n${key}`;
    let attributes = byRejection.get(id);
    if (attributes === undefined) {
      attributes = own(key === undefined ? { stage, reason } : { stage, reason, key });
      byRejection.set(id, attributes);
    }
    return attributes;
  };
  // Attribute sets of a stage with one more attribute (`reason`, `injection`), made once each.
  const byDetail = new Map<string, Attributes>();
  const ofDetail = (stage: string, key: 'reason' | 'injection', value: string): Attributes => {
    const id = `${stage}\n${key}\n${value}`;
    let attributes = byDetail.get(id);
    if (attributes === undefined) {
      attributes = own({ stage, [key]: value });
      byDetail.set(id, attributes);
    }
    return attributes;
  };
  const unsubscribes = [
    // Every execution records its duration; one that began before this instrumentation
    // (`partial`) records it from the attachment on, a lower bound.
    policy.on('success', (e) => {
      const now = current();
      if (now === undefined) return;
      const attributes = e.fallback ? fallback : success;
      now.calls.add(1, attributes);
      now.callDuration.record(e.durationMs, attributes);
    }),
    policy.on('failure', (e) => {
      const now = current();
      if (now === undefined) return;
      const attributes = isRejection(e.error) ? rejected : failure;
      now.calls.add(1, attributes);
      now.callDuration.record(e.durationMs, attributes);
    }),
    policy.on('attempt', (e) => {
      current()?.attemptDuration.record(e.durationMs, 'error' in e ? failure : success);
    }),
    policy.on('rejected', (e) =>
      current()?.rejections.add(1, ofRejection(e.stage, e.reason, e.key)),
    ),
    // Every `retry` event, a skipped one too (as `metrics().retries` counts it).
    policy.on('retry', (e) => current()?.retries.add(1, ofStage(e.stage))),
    policy.on('timeout', (e) => current()?.timeouts.add(1, ofStage(e.stage))),
    policy.on('fallback', (e) => current()?.fallbacks.add(1, ofStage(e.stage))),
    policy.on('hedge', (e) => current()?.hedges.add(1, ofDetail(e.stage, 'reason', e.reason))),
    policy.on('chaos', (e) =>
      current()?.injections.add(1, ofDetail(e.stage, 'injection', e.injection)),
    ),
  ];
  return () => {
    for (const unsubscribe of unsubscribes) unsubscribe();
  };
}

function stageAttributes(base: Attributes, policy: string, state: StageState): Attributes {
  return { ...base, policy, stage: state.kind, primitive: state.name };
}

/** True for a refusal of bulwark's (the guards never throw, whatever the value). */
function isRejection(error: unknown): boolean {
  return isRateLimitExceededError(error) || isBulkheadFullError(error) || isCircuitOpenError(error);
}

function options(metric: { readonly unit: string; readonly description: string }): {
  unit: string;
  description: string;
} {
  return { unit: metric.unit, description: metric.description };
}

const METER_METHODS: readonly string[] = Object.freeze([
  'createCounter',
  'createHistogram',
  'createObservableGauge',
  'addBatchObservableCallback',
  'removeBatchObservableCallback',
]);

/** Validates the options once, with the core's helpers and message shapes. */
function resolveOptions(options: unknown): {
  meter: Meter | undefined;
  base: Attributes;
  keyAttribute: boolean;
} {
  const o = optionsObject(options, 'instrument', OPTION_KEYS);
  const { meter, attributes } = o;
  const keyAttribute = booleanOption(o.keyAttribute, 'keyAttribute', false);
  if (
    meter !== undefined &&
    (typeof meter !== 'object' ||
      meter === null ||
      METER_METHODS.some((m) => typeof (meter as Record<string, unknown>)[m] !== 'function'))
  ) {
    throw new OptionTypeError('meter', 'an OpenTelemetry Meter', meter);
  }
  if (
    attributes !== undefined &&
    (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes))
  ) {
    throw new OptionTypeError('attributes', 'an object', attributes);
  }
  return {
    meter: meter as Meter | undefined,
    base: Object.freeze({ ...(attributes as Attributes | undefined) }),
    keyAttribute,
  };
}
