// What the pipeline, the registry, `metrics()`, `health()` and `bulwark/otel` know of a kind of
// stage: all of it is here, so none of them names a kind. Each kind states its descriptor in its
// own folder (strategies/<kind>/kind.ts); strategies/index.ts lists them.
import type { Step } from '../pipeline/engine.js';
import type { StageEnv } from '../pipeline/env.js';
import type { RejectionReason } from '../pipeline/events.js';

/** @internal An OpenTelemetry gauge a kind reports, read from its live state. */
export interface GaugeDescriptor {
  /** Instrument name, e.g. `bulwark.bulkhead.available`. */
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  /** The value in a stage's (or shared primitive's) state, or undefined to report none. */
  read(state: Readonly<Record<string, unknown>>): number | undefined;
}

/**
 * @internal What a policy needs of a kind of stage: its primitive, its step, its description and
 * state. The kind's {@link KindDescriptor} adds what configuration and instrumentation need; a
 * kind states both in its kind.ts, this part apart so that a policy's bundle carries only it.
 *
 * @typeParam P - the primitive (`Retry`, `Bulkhead`, …)
 */
export interface StageDescriptor<P = unknown> {
  /** The stage kind, as in `policy.stages`, events and `metrics().stages`: `'retry'`, `'timeout'`. */
  readonly kind: string;
  /** Name in messages: `'Retry'`, `'TimeLimiter'`. */
  readonly label: string;
  /**
   * The primitive's class: its instances are this kind's primitives. Its constructor checks the
   * options it is given (TypeError/RangeError on bad ones), so it is called as a
   * {@link CheckedConstructor} with any value.
   */
  readonly Primitive: new (options: never) => P;
  /** True when its step numbers attempts (`ctx.attempt`) for the stages inside it. */
  readonly numbersAttempts?: boolean;
  /** The compiled step over `primitive` for one policy. */
  step(primitive: P, env: StageEnv, name: string | undefined): Step;
  /** One line for `policy.describe()`. */
  describe(primitive: P): string;
  /** Live state for `metrics().stages` and `health()`, besides `kind` and `name`. */
  state(primitive: P): Record<string, unknown>;
  /** The `reason` of the `rejected` events its step emits, if it refuses calls. */
  readonly rejection?: RejectionReason;
  /**
   * True for a kind that a policy may keep one instance of per key (`key` in its options). Its
   * instances tell the holder whether they are at rest by their `'bulwark.atRest'()` method, and
   * whether they are in use (never to be dropped) by their `'bulwark.inUse'()` method; one with
   * only the latter is at rest while not in use.
   */
  readonly keyable?: boolean;
  /**
   * Whether `primitive` refuses calls now (an OPEN circuit, an empty bucket, a full bulkhead):
   * the keys a keyed stage's state lists.
   */
  refusing?(primitive: P): boolean;
  /**
   * For a kind a policy may keep one instance of per key: throws (an option error) when
   * `options` hold something only one primitive can use, which the primitives made per key
   * would otherwise all claim (a bulkhead's `AdaptiveLimit`).
   */
  refuseKeyed?(options: Record<string, unknown>): void;
}

/**
 * @internal One kind of stage, whole: its {@link StageDescriptor}, its configuration and its
 * gauges. The registry, `health()` and `bulwark/otel` read these, from the list in
 * strategies/index.ts.
 */
export interface KindDescriptor<P = unknown> extends StageDescriptor<P> {
  /**
   * The configuration section (kebab-case; camelCase is accepted too), also the key of
   * `registry.health().primitives`; undefined for a kind without shared instances (fallback),
   * which exists only inside a configured policy, under {@link StageDescriptor.kind}.
   */
  readonly configKey?: string;
  /** Other accepted spellings of the configuration section and stage key. */
  readonly aliases?: readonly string[];
  /** The options configuration may give (camelCase); code-only ones are refused by name. */
  readonly configOptions: readonly string[];
  /** Defaults under a configuration without a `default` entry for this kind. */
  readonly defaults?: Readonly<Record<string, unknown>>;
  /**
   * Pairs of options (or of some of their values) that cannot go together: the primitive refuses
   * one beside the other, or ignores it (a failure count beside a failure rate). An entry of
   * configuration that sets one of a pair does not inherit the other from the kind's `default`
   * entry (or {@link KindDescriptor.defaults}): its own choice wins. Both set by one entry, or
   * both inherited, they are left to the primitive.
   */
  readonly exclusive?: readonly (readonly [OptionValues, OptionValues])[];
  /**
   * A configured stage given as a scalar that is not an instance name (`- time-limiter: 3s`):
   * its options, or undefined when the scalar is no such value. `what` names it in messages.
   */
  readonly shorthand?: {
    readonly what: string;
    options(value: string | number): Record<string, unknown> | undefined;
  };
  /**
   * For a kind without shared instances: the option a configured stage must give, and an
   * example stage for messages (`fallback: { value: null }`).
   */
  readonly inline?: { readonly requires: string; readonly example: string };
  /** Gauges `bulwark/otel` reports from its state. */
  readonly gauges?: readonly GaugeDescriptor[];
  /**
   * For a kind whose state survives a reload that changes its options: the `initialState` of the
   * primitive built from the new options, which takes over what still applies of `old` (a
   * breaker's open period and, when the window's shape is unchanged, its window; a limiter's
   * tokens): a snapshot of `old`, marked as handed over (`handOver`), fitted to the new
   * `options` (as configured, before `fromConfig`).
   */
  carry?(old: P, options: Readonly<Record<string, unknown>>): unknown;
  /**
   * For a kind whose new object, built on a reload that changed its options, takes over more of
   * the old one once the new configuration is put in place (after every primitive is built, so
   * never for a reload that fails): a bulkhead's calls, a retry budget's spending, a hedge's or
   * chaos stage's counters.
   */
  adopt?(next: P, old: P): void;
  /**
   * For a kind configuration may build only when the registry opts in (fault injection): the
   * registry option that must be `true` (`chaos`), and whether a configured entry's options
   * (merged over the defaults) would make the kind act, which is refused without it.
   */
  readonly optIn?: {
    readonly flag: string;
    active(options: Readonly<Record<string, unknown>>): boolean;
  };
  /**
   * Turns configured values into what the primitive takes, in place (a bulkhead's `limit`
   * options into an AdaptiveLimit); what it throws is reported at the entry's path.
   */
  readonly fromConfig?: (options: Record<string, unknown>) => void;
  /**
   * True for a kind that is shared state, not a stage (a retry budget): configuration has a
   * section of named instances for it, but no policy stage of it.
   */
  readonly stateOnly?: boolean;
  /**
   * Options whose configured value is the name of a shared instance of another kind, by the
   * option (camelCase) and that kind's configuration section: `{ budget: 'retry-budget' }`.
   */
  readonly references?: Readonly<Record<string, string>>;
}

/**
 * @internal Some values of one option (camelCase): any value, or only those in `only`, or any
 * but those in `except` (the value that changes nothing, accepted anywhere).
 */
export interface OptionValues {
  readonly option: string;
  readonly only?: readonly unknown[];
  readonly except?: readonly unknown[];
}

/** @internal A gauge that reports the finite number under `key` in a state. */
export function numberGauge(
  name: string,
  unit: string,
  description: string,
  key: string,
): GaugeDescriptor {
  return {
    name,
    unit,
    description,
    read: (state) => {
      const value = state[key];
      // `Number.isFinite` is true of finite numbers only.
      return Number.isFinite(value) ? (value as number) : undefined;
    },
  };
}

/** @internal A kind's whole descriptor: its stage part and the rest. */
export const kindOf = <P>(
  stage: StageDescriptor<P>,
  rest: Omit<KindDescriptor<P>, keyof StageDescriptor<P>>,
): KindDescriptor<P> => ({ ...stage, ...rest });

/**
 * @internal A {@link StageDescriptor.Primitive} as the pipeline and the registry call it: with
 * options as given (a user's, or read from configuration), which the constructor checks at run
 * time, throwing a TypeError or RangeError that names the bad option. (A type, not a helper, so
 * it costs the bundle nothing.)
 */
export type CheckedConstructor<P> = new (options: unknown) => P;
